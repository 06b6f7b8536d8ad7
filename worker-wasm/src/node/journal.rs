//! What a node keeps about each task until the task needs nothing more from it: the
//! result files, the score and the commitment's nonce. It is written (synced, then renamed
//! into place) before the commitment is sent, so a node that crashes after committing can
//! still reveal and upload when it restarts.
//!
//! Layout: `<state_dir>/tasks/<id>/` with the files and `outcome.json`.

use std::path::{Path, PathBuf};

use alloy::primitives::{B256, U256};
use serde::{Deserialize, Serialize};

use super::fs::{FsError, create_dirs, write_atomic};

pub use super::host::Outcome;

#[derive(Serialize, Deserialize)]
struct Record {
    score: String,
    nonce: B256,
    files: Vec<String>,
    inference_ms: u64,
}

/// The node's per-task records.
pub struct Journal {
    dir: PathBuf,
}

/// A record that cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The disk failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// A result file name is unsafe as a file name.
    #[error(transparent)]
    Name(#[from] relay_api::NameError),
}

impl Journal {
    /// Records under `<state_dir>/tasks`.
    pub fn new(state_dir: &Path) -> Self {
        Self {
            dir: state_dir.join("tasks"),
        }
    }

    fn task_dir(&self, id: U256) -> PathBuf {
        self.dir.join(id.to_string())
    }

    /// Keeps `outcome` for task `id`, durably, replacing any earlier record.
    pub fn save(&self, id: U256, outcome: &Outcome) -> Result<(), JournalError> {
        let dir = self.task_dir(id);
        create_dirs(&dir)?;
        for (name, bytes) in &outcome.files {
            relay_api::check_name("result file name", name, 64)?;
            write_atomic(&dir.join(name), bytes)?;
        }
        let record = Record {
            score: verifier::hex::encode(&outcome.score),
            nonce: outcome.nonce,
            files: outcome.files.iter().map(|(n, _)| n.clone()).collect(),
            inference_ms: outcome.inference_ms,
        };
        write_atomic(
            &dir.join("outcome.json"),
            &serde_json::to_vec_pretty(&record).expect("plain data"),
        )?;
        Ok(())
    }

    /// The outcome kept for task `id`, if a complete record is there.
    pub fn load(&self, id: U256) -> Option<Outcome> {
        let dir = self.task_dir(id);
        let record: Record =
            serde_json::from_slice(&std::fs::read(dir.join("outcome.json")).ok()?).ok()?;
        let files = record
            .files
            .iter()
            .map(|name| Some((name.clone(), std::fs::read(dir.join(name)).ok()?)))
            .collect::<Option<Vec<_>>>()?;
        Some(Outcome {
            files,
            score: verifier::hex::decode(&record.score).ok()?,
            nonce: record.nonce,
            inference_ms: record.inference_ms,
        })
    }

    /// Forgets task `id`.
    pub fn remove(&self, id: U256) {
        let _ = std::fs::remove_dir_all(self.task_dir(id));
    }

    /// Ids of every task with a record.
    pub fn ids(&self) -> Vec<U256> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_survives_a_restart_and_is_forgotten_when_done() {
        let dir = std::env::temp_dir().join(format!("tessera-journal-{}", std::process::id()));
        let journal = Journal::new(&dir);
        let id = U256::from(42);
        assert_eq!(journal.load(id), None);
        let outcome = Outcome {
            files: vec![("0.png".into(), vec![1, 2, 3]), ("1.png".into(), vec![4])],
            score: vec![9; 16],
            nonce: B256::repeat_byte(7),
            inference_ms: 1234,
        };
        journal.save(id, &outcome).unwrap();
        assert_eq!(Journal::new(&dir).load(id), Some(outcome));
        assert_eq!(journal.ids(), vec![id]);
        // A record whose file went missing is not an outcome.
        std::fs::remove_file(dir.join("tasks/42/1.png")).unwrap();
        assert_eq!(journal.load(id), None);
        journal.remove(id);
        assert!(journal.ids().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
