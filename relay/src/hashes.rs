//! The hashes the relay checks, all computed by `verifier` (the blob stores hash streamed
//! uploads with `verifier::digest::Sha256Stream`).

use alloy_primitives::B256;

/// SHA-256 of a file or body.
pub fn sha256(bytes: &[u8]) -> B256 {
    B256::from(verifier::digest::sha256(bytes))
}

/// The task hash of argument bytes (Keccak-256), as the contract stores it.
pub fn task_hash(args_json: &[u8]) -> B256 {
    B256::from(verifier::commitment::task_hash(args_json))
}
