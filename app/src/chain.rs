//! Chain reads over JSON-RPC (alloy from wasm): the requester's [`Reader`] for tasks,
//! parameters, histories, balances and receipts, and the network page's view of nodes and
//! tasks. Nothing here signs.

use alloy::primitives::{Address, U256};
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

pub use requester::RecentTask;

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

    let recent_tasks = reader.recent_tasks(recent).await?;
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
