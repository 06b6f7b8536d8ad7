//! The hashes the relay checks, all computed by `verifier`.
//!
//! (The blob stores hash streamed uploads incrementally with `sha2` to name them; that is
//! content addressing, and the same SHA-256.)

use alloy_primitives::B256;

/// SHA-256 of a file or body.
pub fn sha256(bytes: &[u8]) -> B256 {
    B256::from(verifier::score::file_digest(bytes))
}

/// The task hash of argument bytes (Keccak-256), as the contract stores it.
pub fn task_hash(args_json: &[u8]) -> B256 {
    B256::from(verifier::commitment::task_hash(args_json))
}
