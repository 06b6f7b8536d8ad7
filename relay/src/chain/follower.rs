//! Follows the task contract's events over JSON-RPC and applies them to a [`ChainIndex`].
//!
//! The follower polls `eth_getLogs` in bounded block ranges from the contract's deployment
//! block, stays `confirmations` blocks behind the head, and retries after an RPC error.
//! Only [`decode`] knows the contract's event ABI.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, Bytes};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, Log};
use alloy::sol;
use alloy::sol_types::SolEvent;
use tokio::sync::watch;

use super::{ChainEvent, ChainIndex, TaskId, TaskType};

sol! {
    /// The `TaskManager` contract's events the relay follows (the `contracts` crate's ABI).
    interface TaskEvents {
        event TaskCreated(uint256 indexed taskId, address indexed creator, bytes32 indexed taskHash, uint8 taskType, uint256 fee, uint64 size, bytes32 seedCommitment);
        event NodeSelected(uint256 indexed taskId, address indexed node, uint8 seat);
        event TaskValidated(uint256 indexed taskId, bytes result, address indexed uploader, uint64 uploadDeadline);
        event TaskAborted(uint256 indexed taskId, uint8 reason);
    }
}

/// Where and how to follow the chain.
#[derive(Debug, Clone)]
pub struct FollowerConfig {
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// The task contract.
    pub contract: Address,
    /// The block the contract was deployed in (nothing before it matters).
    pub from_block: u64,
    /// Blocks to stay behind the head (0 on a dev chain).
    pub confirmations: u64,
    /// The most blocks one `eth_getLogs` asks for.
    pub max_block_range: u64,
    /// Pause between polls once caught up, and after an error.
    pub poll_interval: Duration,
}

/// Why the follower could not start.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The RPC URL does not parse.
    #[error("RPC URL `{url}` is invalid: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The node answered with another chain id than the relay was configured for.
    #[error("RPC endpoint is on chain {actual}, expected chain {expected}")]
    WrongChain {
        /// Configured chain id.
        expected: u64,
        /// The node's chain id.
        actual: u64,
    },
    /// An RPC call failed.
    #[error("RPC error: {0}")]
    Rpc(String),
}

fn parse_url(url: &str) -> Result<alloy::transports::http::reqwest::Url, FollowError> {
    url.parse().map_err(|e| FollowError::BadUrl {
        url: url.to_owned(),
        reason: format!("{e}"),
    })
}

/// Follows the chain until `shutdown` changes, applying events to `index`.
///
/// Returns an error only for a misconfiguration (bad URL, wrong chain); RPC failures are
/// logged and retried.
pub async fn follow(
    index: Arc<ChainIndex>,
    config: FollowerConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), FollowError> {
    use super::TaskChain as _;

    let provider = ProviderBuilder::new().connect_http(parse_url(&config.rpc_url)?);
    // An unreachable endpoint is retried (the relay keeps serving what it has); an
    // endpoint on another chain is a misconfiguration.
    let actual = loop {
        match provider.get_chain_id().await {
            Ok(id) => break id,
            Err(e) => {
                tracing::warn!(error = %e, rpc = %config.rpc_url, "cannot reach the chain; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(config.poll_interval) => {}
                    _ = shutdown.changed() => return Ok(()),
                }
            }
        }
    };
    if actual != index.chain_id() {
        return Err(FollowError::WrongChain {
            expected: index.chain_id(),
            actual,
        });
    }
    let mut next = config.from_block;
    tracing::info!(contract = %config.contract, from_block = next, "following chain events");
    loop {
        let caught_up = match poll_once(&provider, &index, &config, &mut next).await {
            Ok(caught_up) => caught_up,
            Err(e) => {
                tracing::warn!(error = %e, next_block = next, "chain poll failed; retrying");
                true
            }
        };
        if caught_up {
            tokio::select! {
                _ = tokio::time::sleep(config.poll_interval) => {}
                _ = shutdown.changed() => return Ok(()),
            }
        } else if *shutdown.borrow() {
            return Ok(());
        }
    }
}

/// Applies one range of blocks; returns whether the follower reached the head.
async fn poll_once(
    provider: &impl Provider,
    index: &ChainIndex,
    config: &FollowerConfig,
    next: &mut u64,
) -> Result<bool, FollowError> {
    let head = provider
        .get_block_number()
        .await
        .map_err(|e| FollowError::Rpc(e.to_string()))?;
    let Some(safe) = head.checked_sub(config.confirmations) else {
        return Ok(true);
    };
    if *next > safe {
        return Ok(true);
    }
    let to = safe.min(*next + config.max_block_range.max(1) - 1);
    let filter = Filter::new()
        .address(config.contract)
        .from_block(*next)
        .to_block(to);
    let logs = provider
        .get_logs(&filter)
        .await
        .map_err(|e| FollowError::Rpc(e.to_string()))?;
    let events: Vec<ChainEvent> = logs.iter().filter_map(decode).collect();
    tracing::debug!(
        from = *next,
        to,
        events = events.len(),
        "applied chain events"
    );
    index.apply(to, events);
    *next = to + 1;
    Ok(to == safe)
}

/// The relay's view of one contract log (`None` for events it does not need).
pub fn decode(log: &Log) -> Option<ChainEvent> {
    let topic = log.topic0()?;
    let decoded = match *topic {
        TaskEvents::TaskCreated::SIGNATURE_HASH => {
            TaskEvents::TaskCreated::decode_log(&log.inner).map(|e| {
                let id = TaskId(e.taskId);
                match TaskType::try_from(e.taskType) {
                    Ok(kind) => Some(ChainEvent::TaskCreated {
                        id,
                        kind,
                        creator: e.creator,
                        task_hash: e.taskHash,
                    }),
                    Err(error) => {
                        tracing::warn!(task = %id, %error, "task of a type the relay cannot serve; ignored");
                        None
                    }
                }
            })
        }
        TaskEvents::NodeSelected::SIGNATURE_HASH => TaskEvents::NodeSelected::decode_log(&log.inner)
            .map(|e| {
                Some(ChainEvent::NodeSelected {
                    id: TaskId(e.taskId),
                    node: e.node,
                })
            }),
        TaskEvents::TaskValidated::SIGNATURE_HASH => {
            TaskEvents::TaskValidated::decode_log(&log.inner).map(|e| {
                Some(ChainEvent::ResultRevealed {
                    id: TaskId(e.taskId),
                    uploader: e.uploader,
                    score: Bytes::from(e.result.to_vec()),
                })
            })
        }
        TaskEvents::TaskAborted::SIGNATURE_HASH => TaskEvents::TaskAborted::decode_log(&log.inner)
            .map(|e| Some(ChainEvent::TaskAborted { id: TaskId(e.taskId) })),
        _ => return None,
    };
    decoded
        .map_err(|e| {
            tracing::warn!(error = %e, tx = ?log.transaction_hash, "undecodable task event; ignored");
        })
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{B256, U256};
    use alloy::rpc::types::Log;

    fn log(data: alloy::primitives::LogData) -> Log {
        Log {
            inner: alloy::primitives::Log {
                address: Address::repeat_byte(0xcc),
                data,
            },
            ..Log::default()
        }
    }

    #[test]
    fn contract_events_become_chain_events() {
        let id = U256::from(5);
        let creator = Address::repeat_byte(1);
        let created = TaskEvents::TaskCreated {
            taskId: id,
            creator,
            taskHash: B256::repeat_byte(2),
            taskType: 1,
            fee: U256::from(10),
            size: 1,
            seedCommitment: B256::ZERO,
        };
        assert_eq!(
            decode(&log(created.encode_log_data())),
            Some(ChainEvent::TaskCreated {
                id: TaskId(id),
                kind: TaskType::Llm,
                creator,
                task_hash: B256::repeat_byte(2),
            })
        );
        let unknown_type = TaskEvents::TaskCreated {
            taskType: 7,
            ..created
        };
        assert_eq!(decode(&log(unknown_type.encode_log_data())), None);

        let validated = TaskEvents::TaskValidated {
            taskId: id,
            result: vec![9u8; 8].into(),
            uploader: Address::repeat_byte(3),
            uploadDeadline: 100,
        };
        assert_eq!(
            decode(&log(validated.encode_log_data())),
            Some(ChainEvent::ResultRevealed {
                id: TaskId(id),
                uploader: Address::repeat_byte(3),
                score: Bytes::from(vec![9u8; 8]),
            })
        );
        let selected = TaskEvents::NodeSelected {
            taskId: id,
            node: Address::repeat_byte(4),
            seat: 0,
        };
        assert!(matches!(
            decode(&log(selected.encode_log_data())),
            Some(ChainEvent::NodeSelected { .. })
        ));
        let aborted = TaskEvents::TaskAborted {
            taskId: id,
            reason: 1,
        };
        assert_eq!(
            decode(&log(aborted.encode_log_data())),
            Some(ChainEvent::TaskAborted { id: TaskId(id) })
        );
        // A log of another event, or garbage, is no event.
        let mut other = log(aborted.encode_log_data());
        other.inner.data = alloy::primitives::LogData::new_unchecked(
            vec![B256::repeat_byte(7)],
            Default::default(),
        );
        assert_eq!(decode(&other), None);
    }
}
