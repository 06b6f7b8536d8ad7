//! The requester's flow in the browser: [`requester::Requester`] over the connected wallet,
//! with the page's timers and `localStorage` as its [`requester::Host`]. The secret and the
//! arguments of a task are stored before it is paid for and kept until they are no longer
//! needed, so a reload (or a closed tab) never loses a paid task: the Task page offers to
//! finish it ([`requester::Requester::finish`]).

use alloy::primitives::{B256, U256};
use requester::{Pending, Requester};

use crate::config::AppConfig;
use crate::error::AppError;
use crate::js;
use crate::wallet::{OnNetwork, Wallet};

/// The page as a requester's platform: `setTimeout`, and pending tasks in `localStorage`
/// under this deployment's prefix.
pub struct BrowserHost {
    prefix: String,
}

impl BrowserHost {
    /// The host for `config`'s deployment.
    pub fn new(config: &AppConfig) -> Self {
        Self {
            prefix: format!("{}:pending:", config.storage_prefix()),
        }
    }

    fn key(&self, task_hash: B256) -> String {
        format!("{}{task_hash}", self.prefix)
    }

    /// Every task this browser has not finished handing to the network.
    pub fn pending(&self) -> Vec<Pending> {
        js::keys(&self.prefix)
            .into_iter()
            .filter_map(|k| js::load(&k))
            .filter_map(|text| serde_json::from_str(&text).ok())
            .collect()
    }
}

impl requester::Host for BrowserHost {
    async fn sleep(&self, ms: u64) {
        js::sleep(i32::try_from(ms).unwrap_or(i32::MAX)).await;
    }

    fn keep(&self, pending: &Pending) -> Result<(), String> {
        let text = serde_json::to_string(pending).map_err(|e| e.to_string())?;
        if js::save(&self.key(pending.task_hash), &text) {
            Ok(())
        } else {
            Err("the browser refused to store it (private mode or full storage)".into())
        }
    }

    fn forget(&self, task_hash: B256) {
        js::remove(&self.key(task_hash));
    }
}

/// The requester of this page: the connected wallet on the app's network.
pub type PageRequester = Requester<OnNetwork, BrowserHost>;

/// A requester paying with `wallet` on `config`'s network.
pub fn requester(config: &AppConfig, wallet: &Wallet) -> Result<PageRequester, AppError> {
    let wallet = OnNetwork {
        wallet: wallet.clone(),
        config: config.clone(),
    };
    Ok(Requester::new(
        config.network(),
        wallet,
        BrowserHost::new(config),
    )?)
}

/// Every task this browser has not finished handing to the network.
pub fn pending(config: &AppConfig) -> Vec<Pending> {
    BrowserHost::new(config).pending()
}

/// The pending record of task `id`, if this browser holds one.
pub fn pending_for(config: &AppConfig, id: U256) -> Option<Pending> {
    pending(config).into_iter().find(|p| p.id == Some(id))
}

/// Finishes a task this browser created: reveals the seed if the chain still waits for it,
/// then uploads the arguments. Safe to call again.
pub async fn resume(config: &AppConfig, wallet: &Wallet, id: U256) -> Result<(), AppError> {
    let record = pending_for(config, id)
        .ok_or_else(|| AppError::Other(format!("this browser holds no secret for task {id}")))?;
    wallet.ensure_chain(config).await?;
    Ok(requester(config, wallet)?.finish(record, |_| {}).await?)
}
