//! Chain reads over JSON-RPC (alloy from wasm): the requester's [`Reader`] for tasks,
//! parameters, histories, balances and receipts, and the network page's view of nodes and
//! tasks. Nothing here signs.

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use contracts::{NodeRegistry, TaskManager};
use requester::Reader;

use crate::config::AppConfig;
use crate::error::AppError;

/// A reader of the app's chain.
pub fn reader(config: &AppConfig) -> Result<Reader, AppError> {
    Ok(Reader::new(config.network())?)
}

fn rpc(e: impl std::fmt::Display) -> AppError {
    AppError::Rpc(e.to_string())
}

/// Task ids created by `creator`.
pub async fn tasks_of(config: &AppConfig, creator: Address) -> Result<Vec<U256>, AppError> {
    let reader = reader(config)?;
    let tasks = TaskManager::new(config.task_manager, reader.provider());
    tasks.getTaskIdsByCreator(creator).call().await.map_err(rpc)
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
    let reader = reader(config)?;
    let provider = reader.provider();
    let registry = NodeRegistry::new(config.node_registry, provider);
    let tasks = TaskManager::new(config.task_manager, provider);
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
