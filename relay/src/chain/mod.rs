//! What the relay knows about tasks, and where it learns it: the chain's events.
//!
//! Handlers see the chain only through [`TaskChain`]: "what does the chain say about task
//! N?". The implementation the server runs is [`ChainIndex`], an in-memory view built by
//! applying [`ChainEvent`]s in block order; [`follower`] feeds it from a JSON-RPC node.
//! Tests may apply events to a [`ChainIndex`] directly.

pub mod follower;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::RwLock;

use alloy_primitives::{Address, B256, Bytes, U256};
use serde::Serialize;
pub use verifier::args::TaskType;

/// A task's on-chain id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TaskId(pub U256);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for TaskId {
    type Err = String;

    /// Decimal, or hexadecimal with `0x`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parsed = match s.strip_prefix("0x") {
            Some(hex) => U256::from_str_radix(hex, 16),
            None => U256::from_str_radix(s, 10),
        };
        parsed
            .map(Self)
            .map_err(|_| format!("task id `{s}` is not a decimal or 0x-hex 256-bit integer"))
    }
}

impl From<u64> for TaskId {
    fn from(id: u64) -> Self {
        Self(U256::from(id))
    }
}

/// Where a task is in its life, as far as the relay cares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TaskState {
    /// Created; nodes not all drawn yet, or running.
    Running,
    /// Reveals are in and the contract named the node that uploads the results, and the
    /// score those results must hash to.
    Revealed {
        /// The node allowed to upload.
        uploader: Address,
        /// The score it revealed.
        score: Bytes,
    },
    /// Ended without an agreed result.
    Aborted,
}

/// Everything the relay needs to know about one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskView {
    /// The task's id.
    pub id: TaskId,
    /// Its type (which decides how its score is computed).
    #[serde(skip)]
    pub kind: TaskType,
    /// The requester who created (and paid for) it.
    pub creator: Address,
    /// `keccak256` of the task arguments' exact bytes.
    pub task_hash: B256,
    /// The nodes drawn for it so far.
    pub nodes: Vec<Address>,
    /// Its state.
    pub state: TaskState,
}

impl TaskView {
    /// Whether `who` may read the task's arguments and results.
    pub fn is_party(&self, who: Address) -> bool {
        who == self.creator || self.nodes.contains(&who)
    }
}

/// The chain as the relay's handlers see it.
pub trait TaskChain: Send + Sync + 'static {
    /// The chain id (signed into every request).
    fn chain_id(&self) -> u64;
    /// The task with this id, if the chain has it.
    fn task(&self, id: TaskId) -> Option<TaskView>;
    /// The last block whose events are applied, if any.
    fn synced_block(&self) -> Option<u64>;
}

/// A fact learned from the chain's events, in the relay's own terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainEvent {
    /// A task was created.
    TaskCreated {
        /// Its id.
        id: TaskId,
        /// Its kind.
        kind: TaskType,
        /// Its creator.
        creator: Address,
        /// `keccak256` of its arguments.
        task_hash: B256,
    },
    /// A node was drawn for a task.
    NodeSelected {
        /// The task.
        id: TaskId,
        /// The node.
        node: Address,
    },
    /// The contract settled the reveals and named the uploader and its score.
    ResultRevealed {
        /// The task.
        id: TaskId,
        /// The node allowed to upload.
        uploader: Address,
        /// Its revealed score.
        score: Bytes,
    },
    /// The task ended without a result.
    TaskAborted {
        /// The task.
        id: TaskId,
    },
}

/// The chain's tasks, built by applying events in order.
#[derive(Debug)]
pub struct ChainIndex {
    chain_id: u64,
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tasks: HashMap<TaskId, TaskView>,
    synced_block: Option<u64>,
}

impl ChainIndex {
    /// An empty index for `chain_id`.
    pub fn new(chain_id: u64) -> Self {
        Self {
            chain_id,
            inner: RwLock::default(),
        }
    }

    /// Applies the events of blocks up to and including `block`, in log order.
    ///
    /// An event about a task the index never saw created is ignored with a warning: it
    /// can only come from a contract the relay does not follow from its deployment.
    pub fn apply(&self, block: u64, events: impl IntoIterator<Item = ChainEvent>) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        for event in events {
            inner.apply(event);
        }
        inner.synced_block = Some(block);
    }
}

impl Inner {
    fn apply(&mut self, event: ChainEvent) {
        match event {
            ChainEvent::TaskCreated {
                id,
                kind,
                creator,
                task_hash,
            } => {
                // A task is created once; should its event be seen again, keep the first.
                self.tasks.entry(id).or_insert_with(|| TaskView {
                    id,
                    kind,
                    creator,
                    task_hash,
                    nodes: Vec::new(),
                    state: TaskState::Running,
                });
            }
            ChainEvent::NodeSelected { id, node } => {
                if let Some(task) = self.task_mut(id, "NodeSelected")
                    && !task.nodes.contains(&node)
                {
                    task.nodes.push(node);
                }
            }
            ChainEvent::ResultRevealed {
                id,
                uploader,
                score,
            } => {
                if let Some(task) = self.task_mut(id, "ResultRevealed") {
                    task.state = TaskState::Revealed { uploader, score };
                }
            }
            ChainEvent::TaskAborted { id } => {
                if let Some(task) = self.task_mut(id, "TaskAborted") {
                    task.state = TaskState::Aborted;
                }
            }
        }
    }

    fn task_mut(&mut self, id: TaskId, event: &str) -> Option<&mut TaskView> {
        let task = self.tasks.get_mut(&id);
        if task.is_none() {
            tracing::warn!(task = %id, event, "event for a task never created; ignored");
        }
        task
    }
}

impl TaskChain for ChainIndex {
    fn chain_id(&self) -> u64 {
        self.chain_id
    }

    fn task(&self, id: TaskId) -> Option<TaskView> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.tasks.get(&id).cloned()
    }

    fn synced_block(&self) -> Option<u64> {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .synced_block
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(id: u64) -> ChainEvent {
        ChainEvent::TaskCreated {
            id: id.into(),
            kind: TaskType::StableDiffusion,
            creator: Address::repeat_byte(1),
            task_hash: B256::repeat_byte(2),
        }
    }

    #[test]
    fn task_ids_parse_decimal_and_hex() {
        assert_eq!("42".parse::<TaskId>().unwrap(), TaskId::from(42));
        assert_eq!("0x2a".parse::<TaskId>().unwrap(), TaskId::from(42));
        assert!("forty-two".parse::<TaskId>().is_err());
        assert!("-1".parse::<TaskId>().is_err());
    }

    #[test]
    fn events_build_the_task_view() {
        let index = ChainIndex::new(1);
        assert_eq!(index.synced_block(), None);
        let node = Address::repeat_byte(9);
        index.apply(
            5,
            [
                created(7),
                ChainEvent::NodeSelected { id: 7.into(), node },
                ChainEvent::NodeSelected { id: 7.into(), node },
            ],
        );
        let task = index.task(7.into()).unwrap();
        assert_eq!(task.nodes, vec![node]);
        assert_eq!(task.state, TaskState::Running);
        assert!(task.is_party(node) && task.is_party(Address::repeat_byte(1)));
        assert!(!task.is_party(Address::repeat_byte(3)));
        assert_eq!(index.synced_block(), Some(5));

        index.apply(
            6,
            [ChainEvent::ResultRevealed {
                id: 7.into(),
                uploader: node,
                score: Bytes::from(vec![1; 8]),
            }],
        );
        assert!(matches!(
            index.task(7.into()).unwrap().state,
            TaskState::Revealed { uploader, .. } if uploader == node
        ));
        index.apply(7, [ChainEvent::TaskAborted { id: 8.into() }]);
        assert!(index.task(8.into()).is_none());
    }
}
