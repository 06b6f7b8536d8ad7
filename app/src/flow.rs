//! The requester's flow in the browser: `createTask` with a fresh secret, `revealSeed` in a
//! later block, then the arguments to the relay signed by the wallet. The secret and the
//! arguments are kept in `localStorage` until they are no longer needed, so a reload (or a
//! closed tab) never loses a paid task: [`resume`] picks it up where it stopped.

use alloy::primitives::{B256, U256};
use alloy::sol_types::SolCall;
use contracts::TaskManager::{self, TaskState};
use contracts::requests;
use relay::client::RelayClient;
use serde::{Deserialize, Serialize};

use crate::chain;
use crate::config::AppConfig;
use crate::error::AppError;
use crate::js::{self, sleep};
use crate::model::{Built, cnx};
use crate::wallet::Wallet;

/// Gas for `revealSeed`, sent without estimation: estimating in the creation block would
/// see `SeedTooEarly`. The draw walks the node list; this covers hundreds of nodes.
const REVEAL_GAS: u64 = 3_000_000;

/// What the browser keeps about a task it created until its arguments are on the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The draw's secret (committed to by hash in `createTask`).
    pub secret: B256,
    /// The argument bytes, as UTF-8 JSON.
    pub args: String,
    /// keccak256 of the arguments.
    pub task_hash: B256,
    /// The task id, once created.
    pub id: Option<U256>,
    /// The creation block, once created.
    pub block: Option<u64>,
    /// Whether the seed was revealed.
    pub revealed: bool,
}

fn key(config: &AppConfig, task_hash: B256) -> String {
    format!("{}:pending:{task_hash}", config.storage_prefix())
}

fn store(config: &AppConfig, pending: &Pending) -> Result<(), AppError> {
    let text = serde_json::to_string(pending).unwrap_or_default();
    if js::save(&key(config, pending.task_hash), &text) {
        Ok(())
    } else {
        Err(AppError::Other(
            "the browser refused to store the task's secret (private mode or full storage); \
             nothing was sent"
                .into(),
        ))
    }
}

/// Every task this browser has not finished handing to the network.
pub fn pending(config: &AppConfig) -> Vec<Pending> {
    js::keys(&format!("{}:pending:", config.storage_prefix()))
        .into_iter()
        .filter_map(|k| js::load(&k))
        .filter_map(|text| serde_json::from_str(&text).ok())
        .collect()
}

/// The pending record of task `id`, if this browser holds one.
pub fn pending_for(config: &AppConfig, id: U256) -> Option<Pending> {
    pending(config).into_iter().find(|p| p.id == Some(id))
}

/// Where a submission stands, for the progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Checking balance and simulating.
    Checking,
    /// Waiting for the wallet to sign `createTask`.
    Creating,
    /// Waiting for `createTask` to be mined.
    Mining,
    /// Revealing the seed.
    Revealing,
    /// Uploading the arguments (the wallet signs the relay request).
    Uploading,
}

impl Step {
    /// In words.
    pub fn words(self) -> &'static str {
        match self {
            Self::Checking => "Checking balance and simulating the transaction…",
            Self::Creating => "Confirm the payment in your wallet…",
            Self::Mining => "Waiting for the task to be created on chain…",
            Self::Revealing => "Revealing the seed: the contract draws three nodes…",
            Self::Uploading => "Sending the arguments to the relay (sign the request)…",
        }
    }
}

/// Creates the task, reveals its seed and uploads its arguments. Returns its id once the
/// task is on chain even if a later step fails (then [`resume`] finishes it).
pub async fn submit(
    config: &AppConfig,
    wallet: &Wallet,
    built: &Built,
    progress: impl Fn(Step),
) -> Result<U256, (Option<U256>, AppError)> {
    let fail = |e| (None, e);
    progress(Step::Checking);
    wallet.ensure_chain(config).await.map_err(fail)?;
    let from = wallet.address();
    let balance = chain::balance(config, from).await.map_err(fail)?;
    if balance < built.fee {
        return Err(fail(AppError::InsufficientFunds {
            address: from.to_string(),
            balance: cnx(balance),
            needed: cnx(built.fee),
        }));
    }
    let secret = requests::new_secret();
    let data = TaskManager::createTaskCall {
        request: built.request.clone(),
        seedCommitment: requests::seed_commitment(secret),
    }
    .abi_encode();
    chain::simulate(
        config,
        from,
        config.task_manager,
        data.clone().into(),
        built.fee,
    )
    .await
    .map_err(fail)?;
    let mut record = Pending {
        secret,
        args: String::from_utf8_lossy(&built.args).into_owned(),
        task_hash: built.task_hash(),
        id: None,
        block: None,
        revealed: false,
    };
    // Saved before paying: a reload between payment and receipt can still find the task.
    store(config, &record).map_err(fail)?;
    progress(Step::Creating);
    let sent = wallet
        .send_transaction(config, config.task_manager, data.into(), built.fee, None)
        .await;
    let hash = match sent {
        Ok(hash) => hash,
        Err(e) => {
            js::remove(&key(config, record.task_hash));
            return Err(fail(e));
        }
    };
    progress(Step::Mining);
    let receipt = chain::receipt(config, hash).await.map_err(fail)?;
    let created = receipt
        .decoded_log::<TaskManager::TaskCreated>()
        .ok_or_else(|| {
            fail(AppError::Other(
                "the receipt has no TaskCreated event".into(),
            ))
        })?;
    let id = created.taskId;
    record.id = Some(id);
    record.block = receipt.block_number;
    store(config, &record).map_err(|e| (Some(id), e))?;
    finish(config, wallet, record, &progress)
        .await
        .map_err(|e| (Some(id), e))?;
    Ok(id)
}

/// Finishes a task this browser created: reveals the seed if the chain still waits for it,
/// then uploads the arguments. Safe to call again.
pub async fn resume(config: &AppConfig, wallet: &Wallet, id: U256) -> Result<(), AppError> {
    let record = pending_for(config, id)
        .ok_or_else(|| AppError::Other(format!("this browser holds no secret for task {id}")))?;
    finish(config, wallet, record, &|_| {}).await
}

async fn finish(
    config: &AppConfig,
    wallet: &Wallet,
    mut record: Pending,
    progress: &impl Fn(Step),
) -> Result<(), AppError> {
    let id = record
        .id
        .ok_or_else(|| AppError::Other("the task was never created".into()))?;
    let task = chain::task(config, id).await?;
    if task.creator != wallet.address() {
        return Err(AppError::Other(format!(
            "task {id} was created by {}; connect that account to finish it",
            task.creator
        )));
    }
    if task.state == TaskState::WAITING_SEED {
        progress(Step::Revealing);
        reveal(config, wallet, id, record.secret, record.block.unwrap_or(0)).await?;
    }
    record.revealed = true;
    store(config, &record)?;
    if task.state == TaskState::ABORTED {
        js::remove(&key(config, record.task_hash));
        return Ok(());
    }
    progress(Step::Uploading);
    let relay = RelayClient::new(&config.relay_url, config.chain_id)?;
    let mut tries = 0;
    loop {
        match relay.put_args(wallet, id, record.args.as_bytes()).await {
            Ok(_) => break,
            // The relay may not have seen the task yet; it follows the chain.
            Err(e) if e.is_transient() && tries < 150 => {
                tries += 1;
                sleep(400).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    js::remove(&key(config, record.task_hash));
    Ok(())
}

async fn reveal(
    config: &AppConfig,
    wallet: &Wallet,
    id: U256,
    secret: B256,
    created_block: u64,
) -> Result<(), AppError> {
    let data = TaskManager::revealSeedCall { taskId: id, secret }.abi_encode();
    // Simulate once the chain has a block after the creation block (on a chain with a
    // block time); on an automining devnet no block may come until we send, and a
    // transaction sent now lands in a later block anyway.
    for _ in 0..10 {
        if chain::block_number(config).await? > created_block {
            break;
        }
        sleep(300).await;
    }
    match chain::simulate(
        config,
        wallet.address(),
        config.task_manager,
        data.clone().into(),
        U256::ZERO,
    )
    .await
    {
        Ok(()) => {}
        Err(AppError::Reverted(reason)) if reason.contains("can be revealed from block") => {}
        Err(e) => return Err(e),
    }
    let hash = wallet
        .send_transaction(
            config,
            config.task_manager,
            data.into(),
            U256::ZERO,
            Some(REVEAL_GAS),
        )
        .await?;
    chain::receipt(config, hash).await.map(drop)
}
