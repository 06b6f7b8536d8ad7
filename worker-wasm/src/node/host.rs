//! What the node's loop ([`super::runner`]) needs from the place it runs in, so that one
//! loop serves natively and in a browser tab.
//!
//! | | native ([`super::native::NativeHost`]) | browser (`crate::web::host`) |
//! |---|---|---|
//! | timers | tokio | `setTimeout` |
//! | kept outcomes | files, synced then renamed | IndexedDB |
//! | models | a content-checked folder | the Cache API, hash-checked |
//! | engine | a blocking thread | the worker itself (async GPU reads) |
//! | reports | `tracing` lines | `postMessage` to the page |

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alloy::primitives::{B256, U256};
use serde::{Deserialize, Serialize};
use worker_protocol::Activity;

use engine::task::Task;

/// A task's outcome as the node computed it: kept before the commitment is sent, so that
/// a node restarted after committing can still reveal and upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Result files in score order.
    pub files: Vec<(String, Vec<u8>)>,
    /// The score.
    pub score: Vec<u8>,
    /// The commitment's nonce.
    pub nonce: B256,
    /// How long inference took, in milliseconds.
    pub inference_ms: u64,
}

impl Outcome {
    /// The digest of the result files, committed to and revealed beside the score.
    pub fn files_digest(&self) -> B256 {
        B256::from(verifier::digest::files_digest_of(
            self.files.iter().map(|(_, bytes)| bytes),
        ))
    }
}

/// An outcome as one self-contained record (JSON, files in hex): how a browser keeps it.
#[derive(Serialize, Deserialize)]
struct Record {
    score: String,
    nonce: B256,
    inference_ms: u64,
    files: Vec<(String, String)>,
}

impl Outcome {
    /// The outcome as one record.
    pub fn to_record(&self) -> Vec<u8> {
        let record = Record {
            score: verifier::hex::encode(&self.score),
            nonce: self.nonce,
            inference_ms: self.inference_ms,
            files: self
                .files
                .iter()
                .map(|(name, bytes)| (name.clone(), verifier::hex::encode(bytes)))
                .collect(),
        };
        serde_json::to_vec(&record).expect("plain data")
    }

    /// Reads a record written by [`Outcome::to_record`]; `None` when it is damaged.
    pub fn from_record(bytes: &[u8]) -> Option<Self> {
        let record: Record = serde_json::from_slice(bytes).ok()?;
        let files = record
            .files
            .into_iter()
            .map(|(name, hex)| Some((name, verifier::hex::decode(&hex).ok()?)))
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            files,
            score: verifier::hex::decode(&record.score).ok()?,
            nonce: record.nonce,
            inference_ms: record.inference_ms,
        })
    }
}

/// How far the engine is with the task being run: set by the host's progress callback
/// (on whatever thread runs the engine), read by the runner, which tells the relay.
#[derive(Debug, Clone, Default)]
pub struct Steps(Arc<AtomicU64>);

impl Steps {
    /// `step` of `steps` are done.
    pub fn set(&self, step: u32, steps: u32) {
        self.0
            .store(u64::from(steps) << 32 | u64::from(step), Ordering::Relaxed);
    }

    /// `(step, steps)` as last set; `None` before the first step of a task with any.
    pub fn get(&self) -> Option<(u32, u32)> {
        let packed = self.0.load(Ordering::Relaxed);
        let steps = (packed >> 32) as u32;
        (steps > 0).then_some((packed as u32, steps))
    }
}

/// A failure of the host's storage or models, and whether waiting may cure it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HostError {
    /// What failed, for people.
    pub message: String,
    /// Whether it may pass (a relay outage) rather than stay (a full disk, a model the
    /// relay does not have).
    pub transient: bool,
}

impl HostError {
    /// A failure that waiting will not cure.
    pub fn lasting(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: false,
        }
    }

    /// A failure that may pass.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: true,
        }
    }
}

/// The place a node runs in. Futures are awaited where they are made, never sent to
/// another thread (the browser's are not `Send`), hence plain `async fn`.
#[allow(
    async_fn_in_trait,
    reason = "awaited in place on one thread; never boxed or sent"
)]
pub trait Host {
    /// Waits `duration`.
    async fn sleep(&self, duration: Duration);

    /// Tells the operator what the node is doing.
    fn report(&self, activity: Activity);

    /// Names of the models held and checked, sorted.
    fn held_models(&self) -> Vec<String>;

    /// Makes model `name` available and intact, fetching what is missing or corrupt from
    /// the relay (reporting progress), and remembers it as held. The relay's listing must
    /// have the manifest digest `registered` (the chain's for the name), else it is refused.
    async fn ensure_model(&self, name: &str, registered: B256) -> Result<(), HostError>;

    /// Runs `task` (whose model was ensured) on the engine, keeping `steps` up to date;
    /// `id` labels progress reports.
    async fn run_task(
        &self,
        id: U256,
        task: Task,
        steps: &Steps,
    ) -> Result<engine::task::Outcome, engine::EngineError>;

    /// The outcome kept for task `id`, if a complete record is there.
    async fn load_outcome(&self, id: U256) -> Option<Outcome>;

    /// Keeps `outcome` for task `id` durably before anything is sent about it.
    async fn save_outcome(&self, id: U256, outcome: &Outcome) -> Result<(), HostError>;

    /// Forgets task `id`.
    async fn remove_outcome(&self, id: U256);

    /// Ids of every task with a kept outcome.
    async fn kept_tasks(&self) -> Vec<U256>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_back_as_set() {
        let steps = Steps::default();
        assert_eq!(steps.get(), None);
        steps.clone().set(3, 20);
        assert_eq!(steps.get(), Some((3, 20)));
        steps.set(u32::MAX, u32::MAX);
        assert_eq!(steps.get(), Some((u32::MAX, u32::MAX)));
        steps.set(0, 0);
        assert_eq!(steps.get(), None);
    }

    #[test]
    fn an_outcome_record_round_trips_and_damage_is_refused() {
        let outcome = Outcome {
            files: vec![("0.png".into(), vec![1, 2, 3]), ("1.png".into(), vec![])],
            score: vec![9; 16],
            nonce: B256::repeat_byte(7),
            inference_ms: 1234,
        };
        let record = outcome.to_record();
        assert_eq!(Outcome::from_record(&record), Some(outcome));
        assert_eq!(Outcome::from_record(&record[..record.len() - 2]), None);
        let bad_hex = String::from_utf8(record)
            .unwrap()
            .replace("010203", "01020z");
        assert_eq!(Outcome::from_record(bad_hex.as_bytes()), None);
    }
}
