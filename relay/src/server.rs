//! Assembles a running relay from a [`Config`]: storage, chain follower, HTTP server.

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::Address;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::blob::{BlobError, BlobStore, DiskStore, ObjectStoreBlobs};
use crate::chain::ChainIndex;
use crate::chain::follower::{self, FollowError, FollowerConfig};
use crate::config::Config;
use crate::db::{self, Db, DbError};
use crate::http::{AppState, app};
use crate::receipts::Receipts;

/// Why the relay could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data directory cannot be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The database cannot be opened.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The blob store cannot be opened.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// No task contract is configured.
    #[error("no task contract: set chain.contract, or chain.deployments to a deployments file")]
    NoContract,
    /// The deployments file is unusable.
    #[error("deployments file {path}: {reason}")]
    Deployments {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The chain follower failed.
    #[error(transparent)]
    Chain(#[from] FollowError),
    /// A configured public URL is unusable.
    #[error("public_urls: {0}")]
    PublicUrl(String),
    /// The receipt key is unusable.
    #[error("receipt_key: {0}")]
    ReceiptKey(#[from] crate::receipts::BadReceiptKey),
    /// The receipt key is not the one the contract trusts: no upload would ever count.
    #[error(
        "receipt_key signs as {key}, but the task contract's relaySigner is {chain}: the chain would refuse every receipt (set receipt_key to the relaySigner's key, or setParams)"
    )]
    WrongReceiptKey {
        /// The configured key's address.
        key: Address,
        /// The contract's `relaySigner`.
        chain: Address,
    },
    /// Listening or serving failed.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Opens the configured database and blob store (creating the data directory).
pub async fn open_storage(
    config: &Config,
) -> Result<(Box<dyn Db>, Box<dyn BlobStore>), ServerError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| ServerError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let db = db::connect(&config.database_url()).await?;
    let blobs: Box<dyn BlobStore> = match &config.object_store_url {
        Some(url) => Box::new(ObjectStoreBlobs::from_url(url)?),
        None => Box::new(DiskStore::open(config.data_dir.join("blobs"))?),
    };
    Ok((db, blobs))
}

/// The contracts the relay follows and the block to follow them from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractTarget {
    /// The task manager.
    pub tasks: Address,
    /// The appeals contract, whose jurors may read arguments (none: no juror is let in).
    pub appeals: Option<Address>,
    /// The first block that matters.
    pub from_block: u64,
}

/// The contracts' addresses and the block to follow them from: configured, or read from
/// a deployments file as the `contracts` crate writes it (`taskManager`, `appeals`,
/// `deploymentBlock`, `chainId`).
pub fn contract_target(config: &Config) -> Result<ContractTarget, ServerError> {
    if let Some(address) = config.chain.contract {
        return Ok(ContractTarget {
            tasks: address,
            appeals: config.chain.appeals,
            from_block: config.chain.from_block,
        });
    }
    let path = config
        .chain
        .deployments
        .as_ref()
        .ok_or(ServerError::NoContract)?;
    let error = |reason: String| ServerError::Deployments {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| error(e.to_string()))?;
    let field = |name: &str| {
        json.get(name)
            .ok_or_else(|| error(format!("no `{name}` field")))
    };
    let address_of = |name: &str, value: &serde_json::Value| -> Result<Address, ServerError> {
        value
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| error(format!("`{name}` {value} is not an address")))
    };
    let address = address_of("taskManager", field("taskManager")?)?;
    let appeals = match (config.chain.appeals, json.get("appeals")) {
        (Some(configured), _) => Some(configured),
        (None, Some(value)) => Some(address_of("appeals", value)?),
        (None, None) => None,
    };
    let chain_id = field("chainId")?.as_u64();
    if chain_id != Some(config.chain.chain_id) {
        return Err(error(format!(
            "it is for chain {chain_id:?}, the relay is configured for chain {}",
            config.chain.chain_id
        )));
    }
    let deployed = field("deploymentBlock")?
        .as_u64()
        .ok_or_else(|| error("`deploymentBlock` is not a block number".into()))?;
    Ok(ContractTarget {
        tasks: address,
        appeals,
        from_block: deployed.max(config.chain.from_block),
    })
}

/// Refuses a receipt key the contract does not trust; when the chain cannot be read yet,
/// says what the contract must name and goes on (the follower waits for the chain).
async fn check_receipt_key(
    config: &Config,
    contract: Address,
    signer: Address,
) -> Result<(), ServerError> {
    let read = crate::receipts::chain_signer(&config.chain.rpc_url, contract);
    match tokio::time::timeout(Duration::from_secs(10), read).await {
        Ok(Ok(chain)) if chain == signer => {
            tracing::info!(%signer, "signing upload receipts with the contract's relaySigner");
            Ok(())
        }
        Ok(Ok(chain)) => Err(ServerError::WrongReceiptKey { key: signer, chain }),
        Ok(Err(e)) => {
            tracing::warn!(%signer, error = %e, "could not read the contract's relaySigner; receipts count only if it is this address");
            Ok(())
        }
        Err(_) => {
            tracing::warn!(%signer, "the chain did not answer within 10 s; receipts count only if the contract's relaySigner is this address");
            Ok(())
        }
    }
}

/// Runs the relay until `shutdown` completes: follows the chain and serves HTTP.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let target = contract_target(&config)?;
    let contract = target.tasks;
    if target.appeals.is_none() {
        tracing::warn!("no appeals contract configured: jurors cannot read task arguments");
    }
    let (db, blobs) = open_storage(&config).await?;
    let index = Arc::new(ChainIndex::new(config.chain.chain_id));
    let receipts = match &config.receipt_key {
        Some(key) => Some(Receipts::new(key, config.chain.chain_id, contract)?),
        None => {
            tracing::warn!(
                "no receipt key configured: accepted uploads get no receipt, and the chain cannot count them"
            );
            None
        }
    };
    if let Some(r) = &receipts {
        check_receipt_key(&config, contract, r.signer()).await?;
    }
    let state = AppState::new(
        db,
        blobs,
        index.clone(),
        config.limits.clone(),
        config.model_publishers.clone(),
    )
    .with_test_only_tamper_results_flag(config.test_only_tamper_results_flag.clone())
    .with_receipts(receipts);
    if let Some(flag) = &config.test_only_tamper_results_flag {
        tracing::warn!(
            flag = %flag.display(),
            "TEST ONLY fault switch configured: PNG result downloads are altered while this file exists"
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let follower_config = FollowerConfig {
        rpc_url: config.chain.rpc_url.clone(),
        contract,
        appeals: target.appeals,
        from_block: target.from_block,
        confirmations: config.chain.confirmations,
        reorg_depth: config.chain.reorg_depth,
        max_block_range: config.chain.max_block_range,
        poll_interval: Duration::from_millis(config.chain.poll_interval_ms),
    };
    let follower = tokio::spawn(follower::follow(index, follower_config, stop_rx));

    let listen_error = |source| ServerError::Listen {
        addr: config.listen.to_string(),
        source,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(listen_error)?;
    let bound = listener.local_addr().map_err(listen_error)?;
    let public_urls = config.public_urls(bound);
    let state = state
        .with_public_urls(&public_urls)
        .map_err(|e| ServerError::PublicUrl(e.to_string()))?;
    tracing::info!(addr = %bound, ?public_urls, "relay listening");
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .into_future();
    let mut follower = follower;
    tokio::select! {
        result = served => {
            let _ = stop_tx.send(true);
            if let Ok(Err(e)) = follower.await {
                tracing::warn!(error = %e, "chain follower stopped with an error");
            }
            result.map_err(listen_error)
        }
        // The follower ends by itself only on a misconfiguration (wrong chain, bad URL).
        result = &mut follower => match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
            Err(e) => panic!("chain follower panicked: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_comes_from_the_deployments_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deployments.json");
        std::fs::write(
            &path,
            r#"{"chainId": 31337, "rpcUrl": "http://127.0.0.1:8545",
                "nodeRegistry": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                "taskManager": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
                "appeals": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
                "deploymentBlock": 3, "deployer": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"}"#,
        )
        .unwrap();
        let mut config = Config::default();
        assert!(matches!(
            contract_target(&config),
            Err(ServerError::NoContract)
        ));
        config.chain.deployments = Some(path);
        let target = contract_target(&config).unwrap();
        assert_eq!(
            target.tasks.to_string(),
            "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
        );
        assert_eq!(
            target.appeals.map(|a| a.to_string()).as_deref(),
            Some("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0")
        );
        assert_eq!(target.from_block, 3);
        config.chain.chain_id = 1;
        let err = contract_target(&config).unwrap_err().to_string();
        assert!(err.contains("chain Some(31337)"), "{err}");
    }
}
