//! The requester of the devnet's command line and tests: [`requester::Requester`] with a
//! local key, tokio's timers, and pending tasks kept as files.

use std::path::PathBuf;

use alloy::primitives::B256;
use alloy::signers::local::PrivateKeySigner;
use anyhow::Result;
use requester::{LocalWallet, Network, Pending, Requester};

use crate::network::Info;

/// A requester on a devnet.
pub type DevRequester = Requester<LocalWallet, FileHost>;

/// The network the devnet `info` describes.
pub fn network(info: &Info) -> Network {
    Network {
        chain_id: info.chain_id,
        rpc_url: info.rpc_url.clone(),
        relay_url: info.relay_url.clone(),
        node_registry: info.deployments.node_registry,
        task_manager: info.deployments.task_manager,
        appeals: info.deployments.appeals,
        deployment_block: info.deployments.deployment_block,
    }
}

/// A requester paying with `key` on the devnet `info` describes.
pub fn connect(info: &Info, key: PrivateKeySigner, host: FileHost) -> Result<DevRequester> {
    let wallet = LocalWallet::new(key, &info.rpc_url)?;
    Ok(Requester::new(network(info), wallet, host)?)
}

/// Tokio's timers, and each pending task kept as `<dir>/<task hash>.json` until its
/// arguments are on the relay.
#[derive(Debug, Clone)]
pub struct FileHost {
    dir: PathBuf,
}

impl FileHost {
    /// Keeps pending tasks in `dir` (made when needed).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path(&self, task_hash: B256) -> PathBuf {
        self.dir.join(format!("{task_hash}.json"))
    }

    /// Every task kept here.
    pub fn pending(&self) -> Vec<Pending> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
            .collect()
    }
}

impl requester::Host for FileHost {
    async fn sleep(&self, ms: u64) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }

    fn keep(&self, pending: &Pending) -> Result<(), String> {
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let path = self.path(pending.task_hash);
            let part = path.with_extension("part");
            let bytes = serde_json::to_vec_pretty(pending).map_err(std::io::Error::other)?;
            std::fs::write(&part, bytes)?;
            std::fs::File::open(&part)?.sync_all()?;
            std::fs::rename(&part, &path)
        };
        write().map_err(|e| format!("writing to {}: {e}", self.dir.display()))
    }

    fn forget(&self, task_hash: B256) {
        let _ = std::fs::remove_file(self.path(task_hash));
    }
}
