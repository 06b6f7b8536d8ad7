//! Hashes the chain checks: task hashes, result commitments and GPU ids.
//!
//! All three are Keccak-256 (the EVM's hash, not NIST SHA3-256) over exactly the bytes the
//! contracts hash, so a browser, a node and the chain agree without trusting each other.

use sha3::{Digest as _, Keccak256};

/// A 32-byte hash or nonce.
pub type Bytes32 = [u8; 32];

/// Keccak-256 of `data`.
pub fn keccak256(data: impl AsRef<[u8]>) -> Bytes32 {
    Keccak256::digest(data.as_ref()).into()
}

/// The task hash: Keccak-256 of the task-argument JSON bytes *exactly as sent*.
///
/// The hash is over bytes, never over a re-serialization: `{"a": 1}` and `{"a":1}` are
/// different tasks. Keep the bytes you hashed and send those same bytes to the relay.
pub fn task_hash(args_json: &[u8]) -> Bytes32 {
    keccak256(args_json)
}

/// A node's commitment to its score: `keccak256(abi.encodePacked(bytes score, bytes32 nonce))`,
/// which is Keccak-256 of the score bytes followed by the 32 nonce bytes.
///
/// The nonce must be 32 fresh random bytes per node and task: the contract refuses a nonce
/// another node of the same task already used, so a node cannot copy a commitment.
pub fn commitment(score: &[u8], nonce: &Bytes32) -> Bytes32 {
    let mut hasher = Keccak256::new();
    hasher.update(score);
    hasher.update(nonce);
    hasher.finalize().into()
}

/// Whether `commitment` is the commitment to `score` with `nonce`.
pub fn verify_commitment(score: &[u8], nonce: &Bytes32, commitment: &Bytes32) -> bool {
    self::commitment(score, nonce) == *commitment
}

/// What a Tessera seat commits to: its score and the digest of its result files
/// ([`crate::digest::files_digest`]), `keccak256(abi.encodePacked(bytes score, bytes32
/// filesDigest, bytes32 nonce))`: [`commitment`] over `score ‖ files_digest`. The
/// reference network commits to the score alone, so the relay or the uploader could serve
/// other pixels with the same perceptual hash; the digest binds the bytes.
pub fn result_commitment(score: &[u8], files_digest: &Bytes32, nonce: &Bytes32) -> Bytes32 {
    let mut hasher = Keccak256::new();
    hasher.update(score);
    hasher.update(files_digest);
    hasher.update(nonce);
    hasher.finalize().into()
}

/// The hash the relay signs to acknowledge a task's result files (an upload receipt),
/// and the contract recovers the relay's key from: `keccak256(abi.encodePacked("Tessera
/// upload receipt", uint256 chainId, address taskManager, uint256 taskId, bytes32
/// filesDigest))`, signed as an EIP-191 personal message. `task_id` is the id's 32
/// big-endian bytes.
pub fn upload_receipt_hash(
    chain_id: u64,
    task_manager: &[u8; 20],
    task_id: &Bytes32,
    files_digest: &Bytes32,
) -> Bytes32 {
    let mut chain = [0u8; 32];
    chain[24..].copy_from_slice(&chain_id.to_be_bytes());
    let mut hasher = Keccak256::new();
    hasher.update(b"Tessera upload receipt");
    hasher.update(chain);
    hasher.update(task_manager);
    hasher.update(task_id);
    hasher.update(files_digest);
    hasher.finalize().into()
}

/// The id of a GPU group: `keccak256(abi.encodePacked(string gpuName, uint256 gpuVram))`,
/// that is the UTF-8 name followed by the VRAM in GB as a 32-byte big-endian integer.
pub fn gpu_id(gpu_name: &str, gpu_vram_gb: u64) -> Bytes32 {
    let mut vram = [0u8; 32];
    vram[24..].copy_from_slice(&gpu_vram_gb.to_be_bytes());
    let mut hasher = Keccak256::new();
    hasher.update(gpu_name.as_bytes());
    hasher.update(vram);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex;

    #[test]
    fn keccak_is_not_sha3() {
        // The well-known Keccak-256 of the empty string (NIST SHA3-256 differs).
        assert_eq!(
            hex::encode(keccak256(b"")),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn commitment_binds_score_and_nonce() {
        let nonce = [7u8; 32];
        let c = commitment(&[1, 2, 3, 4, 5, 6, 7, 8], &nonce);
        assert!(verify_commitment(&[1, 2, 3, 4, 5, 6, 7, 8], &nonce, &c));
        assert!(!verify_commitment(&[1, 2, 3, 4, 5, 6, 7, 9], &nonce, &c));
        assert!(!verify_commitment(
            &[1, 2, 3, 4, 5, 6, 7, 8],
            &[8u8; 32],
            &c
        ));
    }
}
