//! Checking returned files in the browser: each file hashed (in a web worker) into the
//! network's fingerprint and an independent similarity hash, and what the checks show.

use alloy::primitives::{Address, B256, U256};
use contracts::TaskManager::{self, TaskRequest, TaskState};
use contracts::requests;
use serde_json::Value;
use verifier::score::ScoreKind;

/// One returned file, hashed (in the web worker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHash {
    /// Its name.
    pub name: String,
    /// The network's fingerprint (pHash or SHA-256), or why it has none.
    pub fingerprint: Result<Vec<u8>, String>,
    /// SHA-256 of its bytes.
    pub sha256: [u8; 32],
    /// The independent `image_hasher` similarity hash (`dg:` hex), for images.
    pub similarity: Option<String>,
    /// Microseconds it took.
    pub micros: u64,
}

/// Hashes one returned file: the network's fingerprint and, for images, the independent
/// similarity hash. The web worker runs this.
pub fn hash_file(kind: ScoreKind, name: &str, bytes: &[u8]) -> FileHash {
    let fingerprint = verifier::report::fingerprint(kind, bytes);
    let similarity = match kind {
        ScoreKind::Image => verifier::report::similarity(bytes)
            .ok()
            .map(|h| h.to_string()),
        ScoreKind::Text => None,
    };
    FileHash {
        name: name.to_owned(),
        fingerprint,
        sha256: verifier::digest::sha256(bytes),
        similarity,
        micros: 0,
    }
}

impl FileHash {
    /// The file as the verification report takes it.
    pub fn returned(&self) -> verifier::report::ReturnedFile {
        verifier::report::ReturnedFile {
            name: self.name.clone(),
            fingerprint: self.fingerprint.clone(),
            sha256: self.sha256,
        }
    }
}

/// Bits that differ between two `dg:` similarity hashes, when both parse and match in size.
pub fn similarity_distance(a: &str, b: &str) -> Option<u32> {
    let a = verifier::hex::decode(a.strip_prefix("dg:")?).ok()?;
    let b = verifier::hex::decode(b.strip_prefix("dg:")?).ok()?;
    (a.len() == b.len()).then(|| a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum())
}

/// The text of an LLM result file (`0.json`): each choice's message content.
pub fn llm_text(bytes: &[u8]) -> Result<Vec<String>, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not a result file: {e}"))?;
    let choices = value
        .get("choices")
        .and_then(Value::as_array)
        .ok_or("the result file has no `choices`")?;
    Ok(choices
        .iter()
        .map(|c| {
            c.pointer("/message/content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect())
}

/// A settled SD task whose three seats revealed `scores`, each committed with its nonce
/// and the digest of `files` (the uploader's result files), agreeing on `result`: for
/// tests and previews (the sol! structs have no `Default`).
#[doc(hidden)]
pub fn settled_task(
    scores: [&[u8]; 3],
    nonces: [[u8; 32]; 3],
    nodes: [Address; 3],
    result: &[u8],
    files: &[&[u8]],
) -> TaskManager::Task {
    use alloy::primitives::Bytes;
    let digest = verifier::digest::files_digest_of(files.iter());
    let seat = |i: usize| TaskManager::Seat {
        node: nodes[i],
        status: TaskManager::SeatStatus::REVEALED,
        commitRank: i as u8,
        revealRank: i as u8,
        released: true,
        errorCode: 0,
        commitment: B256::from(verifier::commitment::result_commitment(
            scores[i], &digest, &nonces[i],
        )),
        nonce: B256::from(nonces[i]),
        score: Bytes::copy_from_slice(scores[i]),
        filesDigest: B256::from(digest),
    };
    TaskManager::Task {
        id: U256::from(1),
        state: TaskState::SUCCESS,
        abortReason: 0,
        commits: 3,
        errors: 0,
        reveals: 3,
        uploaderSeat: 0,
        creator: Address::repeat_byte(0xcc),
        createdBlock: 1,
        createdAt: 0,
        startedAt: 0,
        deadline: 0,
        fee: U256::ZERO,
        feeLeft: U256::ZERO,
        seedCommitment: B256::ZERO,
        seed: B256::ZERO,
        gpuId: B256::ZERO,
        request: TaskRequest {
            taskType: requests::TASK_TYPE_SD,
            taskHash: B256::ZERO,
            modelIds: vec!["sd-tiny".into()],
            minVram: 0,
            gpuName: String::new(),
            gpuVram: 0,
            version: [2, 5, 0],
            size: 1,
        },
        seats: [seat(0), seat(1), seat(2)],
        result: Bytes::copy_from_slice(result),
        resultDigest: B256::from(digest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use requester::record::chain_record;
    use verifier::report::{Verdict, assemble};

    fn task_with(scores: [&[u8]; 3], result: &[u8]) -> TaskManager::Task {
        let nonces = [[1; 32], [2; 32], [3; 32]];
        let nodes = [1, 2, 3].map(Address::repeat_byte);
        settled_task(scores, nonces, nodes, result, &[FILE])
    }

    const FILE: &[u8] = b"0.png's bytes";

    fn returned(fingerprint: Vec<u8>) -> verifier::report::ReturnedFile {
        verifier::report::ReturnedFile {
            name: "0.png".into(),
            fingerprint: Ok(fingerprint),
            sha256: verifier::digest::sha256(FILE),
        }
    }

    #[test]
    fn the_chain_record_verifies_matching_files_and_catches_a_swap() {
        let a = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let task = task_with([&a, &a, &a], &a);
        let record = chain_record(&task, 5, contracts::Appeals::AppealState::NONE);
        assert_eq!(record.seats.len(), 3);
        let good = assemble(&record, &[returned(a.to_vec())]);
        assert_eq!(good.verdict, Verdict::Verified, "{:?}", good.problems);
        let swapped = assemble(&record, &[returned(vec![0xff; 8])]);
        assert_eq!(swapped.verdict, Verdict::Failed);
    }

    #[test]
    fn similarity_distances_and_llm_text() {
        assert_eq!(similarity_distance("dg:00ff", "dg:01ff"), Some(1));
        assert_eq!(similarity_distance("dg:00", "dg:0000"), None);
        assert_eq!(
            llm_text(br#"{"choices": [{"message": {"content": "hi"}}]}"#).unwrap(),
            vec!["hi".to_owned()]
        );
    }
}
