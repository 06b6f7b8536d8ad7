//! Upload receipts: the relay's signature that it holds a task's result files with exactly
//! the digest the chain settled on. `TaskManager.reportResultsUploaded` counts an upload
//! only with one, recovering the signer and comparing it with its `relaySigner`, so an
//! uploader's word alone never pays it or marks a task successful.

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_signer::SignerSync as _;
use alloy_signer_local::PrivateKeySigner;

/// The key receipts are signed with, and what each receipt names besides the task.
#[derive(Clone)]
pub struct Receipts {
    key: PrivateKeySigner,
    chain_id: u64,
    task_manager: Address,
}

/// A receipt key that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("the receipt key is not a 32-byte hex private key")]
pub struct BadReceiptKey;

impl Receipts {
    /// Receipts signed with `key` (hex, with or without `0x`) for the `TaskManager` at
    /// `task_manager` on chain `chain_id`.
    pub fn new(key: &str, chain_id: u64, task_manager: Address) -> Result<Self, BadReceiptKey> {
        let key: PrivateKeySigner = key.trim().parse().map_err(|_| BadReceiptKey)?;
        Ok(Self {
            key,
            chain_id,
            task_manager,
        })
    }

    /// The address the contract must name as `relaySigner`.
    pub fn signer(&self) -> Address {
        self.key.address()
    }

    /// The receipt for task `id`'s files with `files_digest`: 65 bytes `r ‖ s ‖ v`.
    pub fn sign(&self, id: U256, files_digest: B256) -> Bytes {
        let hash = verifier::commitment::upload_receipt_hash(
            self.chain_id,
            &self.task_manager.0.0,
            &id.to_be_bytes::<32>(),
            &files_digest.0,
        );
        let signature = self
            .key
            .sign_message_sync(&hash)
            .expect("secp256k1 signing of 32 bytes does not fail");
        Bytes::from(signature.as_bytes().to_vec())
    }
}

alloy::sol! {
    /// The one view of the `TaskManager` the relay reads: its parameters, for the receipt
    /// key the contract trusts (the `contracts` crate's ABI of `getParams`).
    #[sol(rpc)]
    interface TaskParams {
        struct Params {
            uint64 similarityThreshold;
            uint64 taskTimeout;
            uint64 taskTimeoutPerUnit;
            uint64 revealTimeout;
            uint64 uploadTimeout;
            uint64 seedWindowBlocks;
            uint64 minPoolSize;
            uint64 maxQueueSize;
            uint256 minFeePerUnit;
            uint16 seedPenaltyBps;
            uint16 timeoutSlashBps;
            uint16 dissentSlashBps;
            uint16 withheldSlashBps;
            address treasury;
            address relaySigner;
        }
        function getParams() external view returns (Params memory);
    }
}

/// The receipt key the contract at `task_manager` trusts (`relaySigner`), read through
/// `rpc_url`.
pub async fn chain_signer(rpc_url: &str, task_manager: Address) -> Result<Address, String> {
    let url = rpc_url
        .parse()
        .map_err(|e| format!("RPC URL {rpc_url:?}: {e}"))?;
    let provider = alloy::providers::ProviderBuilder::new().connect_http(url);
    TaskParams::new(task_manager, provider)
        .getParams()
        .call()
        .await
        .map(|p| p.relaySigner)
        .map_err(|e| e.to_string())
}
