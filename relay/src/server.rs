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

/// The task contract's address: configured, or read from the deployments file, which
/// names it `TaskManager` either at the top level or under `contracts`, as a string or
/// an object with an `address`.
pub fn contract_address(config: &Config) -> Result<Address, ServerError> {
    if let Some(address) = config.chain.contract {
        return Ok(address);
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
    let entry = json
        .get("contracts")
        .unwrap_or(&json)
        .get("TaskManager")
        .ok_or_else(|| error("no `TaskManager` entry".into()))?;
    let address = entry.get("address").unwrap_or(entry);
    address
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| error(format!("`TaskManager` address {address} is not an address")))
}

/// Runs the relay until `shutdown` completes: follows the chain and serves HTTP.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let contract = contract_address(&config)?;
    let (db, blobs) = open_storage(&config).await?;
    let index = Arc::new(ChainIndex::new(config.chain.chain_id));
    let state = AppState::new(
        db,
        blobs,
        index.clone(),
        config.limits.clone(),
        config.model_publishers.clone(),
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let follower_config = FollowerConfig {
        rpc_url: config.chain.rpc_url.clone(),
        contract,
        from_block: config.chain.from_block,
        confirmations: config.chain.confirmations,
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
    tracing::info!(addr = %listener.local_addr().map_err(listen_error)?, "relay listening");
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
