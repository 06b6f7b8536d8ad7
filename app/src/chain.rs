//! Chain reads over JSON-RPC (alloy from wasm): tasks, parameters, histories, nodes,
//! receipts. Nothing here signs.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionReceipt, TransactionRequest};
use alloy::sol_types::SolEvent;
use contracts::history::{self, Entry};
use contracts::{NodeRegistry, TaskManager};

use crate::config::AppConfig;
use crate::error::AppError;
use crate::js::sleep;

/// A read-only provider for the app's chain.
pub fn reader(config: &AppConfig) -> Result<DynProvider, AppError> {
    let url = config
        .rpc_url
        .parse()
        .map_err(|e| AppError::Other(format!("bad RPC URL `{}`: {e}", config.rpc_url)))?;
    Ok(ProviderBuilder::new().connect_http(url).erased())
}

fn rpc(e: impl std::fmt::Display) -> AppError {
    AppError::Rpc(e.to_string())
}

/// `getTask(id)`.
pub async fn task(config: &AppConfig, id: U256) -> Result<TaskManager::Task, AppError> {
    let tasks = TaskManager::new(config.task_manager, reader(config)?);
    tasks
        .getTask(id)
        .call()
        .await
        .map_err(|e| AppError::from(contracts::Error::from(e)))
}

/// The task manager's parameters (`similarityThreshold`, timeouts, …).
pub async fn params(config: &AppConfig) -> Result<TaskManager::Params, AppError> {
    let tasks = TaskManager::new(config.task_manager, reader(config)?);
    tasks.getParams().call().await.map_err(rpc)
}

/// Every event of task `id`, in chain order.
pub async fn task_history(config: &AppConfig, id: U256) -> Result<Vec<Entry>, AppError> {
    let provider = reader(config)?;
    history::task_history(
        &provider,
        config.task_manager,
        config.deployment_block,
        id,
        50_000,
    )
    .await
    .map_err(rpc)
}

/// Task ids created by `creator`.
pub async fn tasks_of(config: &AppConfig, creator: Address) -> Result<Vec<U256>, AppError> {
    let tasks = TaskManager::new(config.task_manager, reader(config)?);
    tasks.getTaskIdsByCreator(creator).call().await.map_err(rpc)
}

/// An account's balance in wei.
pub async fn balance(config: &AppConfig, address: Address) -> Result<U256, AppError> {
    reader(config)?.get_balance(address).await.map_err(rpc)
}

/// Runs a call against the latest state as `from` would send it, so a revert is caught,
/// decoded and explained before the wallet is asked to sign.
pub async fn simulate(
    config: &AppConfig,
    from: Address,
    to: Address,
    data: Bytes,
    value: U256,
) -> Result<(), AppError> {
    let tx = TransactionRequest::default()
        .from(from)
        .to(to)
        .input(data.into())
        .value(value);
    reader(config)?
        .call(tx)
        .await
        .map(drop)
        .map_err(|e| AppError::from(contracts::Error::from(e)))
}

/// Waits for a transaction's receipt (polling), failing if it reverted.
pub async fn receipt(config: &AppConfig, hash: B256) -> Result<TransactionReceipt, AppError> {
    let provider = reader(config)?;
    for _ in 0..600 {
        if let Some(receipt) = provider.get_transaction_receipt(hash).await.map_err(rpc)? {
            if !receipt.status() {
                return Err(AppError::Reverted(format!(
                    "transaction {hash} was mined but failed"
                )));
            }
            return Ok(receipt);
        }
        sleep(300).await;
    }
    Err(AppError::Rpc(format!(
        "transaction {hash} was not mined within 3 minutes"
    )))
}

/// The current block number.
pub async fn block_number(config: &AppConfig) -> Result<u64, AppError> {
    reader(config)?.get_block_number().await.map_err(rpc)
}

/// A node as the registry reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    /// Its address.
    pub address: Address,
    /// What the registry says.
    pub info: NodeRegistry::NodeInfo,
}

/// The network at a glance.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkView {
    /// Active nodes.
    pub nodes: Vec<NodeRow>,
    /// GPU groups.
    pub groups: Vec<NodeRegistry::GpuGroup>,
    /// Staked in total (wei).
    pub staked: U256,
    /// Available nodes.
    pub available: U256,
    /// Tasks created, queued, succeeded, aborted.
    pub tasks: [U256; 4],
    /// The last tasks created: id, type, fee, block, Unix time.
    pub recent: Vec<RecentTask>,
}

/// A task as listed on the network page.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentTask {
    /// Its id.
    pub id: U256,
    /// 0 SD, 1 LLM.
    pub task_type: u8,
    /// Its fee.
    pub fee: U256,
    /// Creation block.
    pub block: u64,
    /// Creation time (Unix seconds), when known.
    pub time: Option<u64>,
    /// Current state.
    pub state: u8,
}

/// Reads nodes, groups, stats and the recent tasks.
pub async fn network(config: &AppConfig, recent: usize) -> Result<NetworkView, AppError> {
    let provider = reader(config)?;
    let registry = NodeRegistry::new(config.node_registry, provider.clone());
    let tasks = TaskManager::new(config.task_manager, provider.clone());
    let addresses = registry.getActiveNodes().call().await.map_err(rpc)?;
    let mut nodes = Vec::with_capacity(addresses.len());
    for address in addresses {
        let info = registry.getNode(address).call().await.map_err(rpc)?;
        nodes.push(NodeRow { address, info });
    }
    let groups = registry.getGpuGroups().call().await.map_err(rpc)?;
    let stats = registry.getStats().call().await.map_err(rpc)?;
    let task_stats = tasks.getStats().call().await.map_err(rpc)?;

    let filter = Filter::new()
        .address(config.task_manager)
        .event_signature(TaskManager::TaskCreated::SIGNATURE_HASH)
        .from_block(config.deployment_block);
    let logs = provider.get_logs(&filter).await.map_err(rpc)?;
    let mut recent_tasks = Vec::new();
    for log in logs.iter().rev().take(recent) {
        let Ok(event) = TaskManager::TaskCreated::decode_log_data(&log.inner.data) else {
            continue;
        };
        let block = log.block_number.unwrap_or_default();
        let time = match log.block_timestamp {
            Some(t) => Some(t),
            None => provider
                .get_block_by_number(block.into())
                .await
                .ok()
                .flatten()
                .map(|b| b.header.timestamp),
        };
        let state = tasks
            .getTask(event.taskId)
            .call()
            .await
            .map(|t| t.state)
            .unwrap_or(0);
        recent_tasks.push(RecentTask {
            id: event.taskId,
            task_type: event.taskType,
            fee: event.fee,
            block,
            time,
            state,
        });
    }
    Ok(NetworkView {
        nodes,
        groups,
        staked: stats.staked,
        available: stats.availableNodes,
        tasks: [
            task_stats.created,
            task_stats.queued,
            task_stats.succeeded,
            task_stats.aborted,
        ],
        recent: recent_tasks,
    })
}

/// The GPU group with the most available nodes: where an LLM task can run.
pub async fn llm_group(config: &AppConfig) -> Result<Option<(String, u64)>, AppError> {
    let registry = NodeRegistry::new(config.node_registry, reader(config)?);
    let groups = registry.getGpuGroups().call().await.map_err(rpc)?;
    Ok(groups
        .into_iter()
        .filter(|g| g.activeNodes >= U256::from(3))
        .max_by_key(|g| g.availableNodes)
        .map(|g| (g.gpuName, g.gpuVram)))
}
