//! What the relay knows about tasks, and where it learns it: the chain's events.
//!
//! Handlers see the chain only through [`TaskChain`]: "what does the chain say about task
//! N?". The implementation the server runs is [`ChainIndex`], an in-memory view built by
//! applying [`ChainEvent`]s in block order; [`follower`] feeds it from a JSON-RPC node.
//! Tests may apply events to a [`ChainIndex`] directly.
//!
//! The chain may reorganise: blocks the index applied can be replaced by others. The index
//! keeps an undo record per recent block ([`ChainIndex::rollback_to`] restores exactly the
//! state after an earlier block), and the follower, which remembers the hashes of the
//! blocks it applied, rolls it back to the common ancestor and re-applies the new branch.
//! A task created only in a dropped block disappears; one re-created under the same id
//! with other content replaces it.

pub mod follower;

use std::collections::{HashMap, VecDeque};
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
    /// The reveal the contract settled on, if any; kept when the task is aborted later (an
    /// uploader that missed its deadline), so results accepted for it stay recognisable.
    #[serde(skip)]
    pub reveal: Option<Reveal>,
}

/// A settled reveal: who uploads the results, and the score they must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reveal {
    /// The node allowed to upload.
    pub uploader: Address,
    /// Its revealed score.
    pub score: Bytes,
    /// The digest of its result files ([`verifier::digest::files_digest`]): the exact
    /// bytes the relay accepts.
    pub files_digest: B256,
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
        /// The digest of its result files.
        files_digest: B256,
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
    /// One record per applied block that changed a task, in block order.
    undo: VecDeque<Undo>,
    /// The newest block whose undo record was dropped: the index cannot roll back below it.
    forgotten_through: Option<u64>,
}

/// What one block changed: each task it touched as it was before the block (`None`: the
/// block created it).
#[derive(Debug)]
struct Undo {
    block: u64,
    before: Vec<(TaskId, Option<TaskView>)>,
}

/// Why [`ChainIndex::rollback_to`] could not roll back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot roll the chain index back to block {target}: it no longer remembers what blocks up to {forgotten_through} changed"
)]
pub struct RollbackTooDeep {
    /// The block asked for.
    pub target: u64,
    /// The newest block whose undo record was dropped.
    pub forgotten_through: u64,
}

impl ChainIndex {
    /// An empty index for `chain_id`.
    pub fn new(chain_id: u64) -> Self {
        Self {
            chain_id,
            inner: RwLock::default(),
        }
    }

    /// Applies the events of blocks up to and including `block`, in log order, as if they
    /// were all `block`'s (a rollback undoes them together).
    ///
    /// An event about a task the index never saw created is ignored with a warning: it
    /// can only come from a contract the relay does not follow from its deployment.
    pub fn apply(&self, block: u64, events: impl IntoIterator<Item = ChainEvent>) {
        self.apply_blocks(block, [(block, events.into_iter().collect())]);
    }

    /// Applies the events of each block in `blocks` (ascending, each above the blocks
    /// applied before) and records the index as synced up to `to`, all at once: readers
    /// see the state before or after, never between.
    pub fn apply_blocks(&self, to: u64, blocks: impl IntoIterator<Item = (u64, Vec<ChainEvent>)>) {
        let mut inner = self.write();
        for (block, events) in blocks {
            let mut undo = Undo {
                block,
                before: Vec::new(),
            };
            for event in events {
                inner.apply(event, &mut undo);
            }
            if !undo.before.is_empty() {
                inner.undo.push_back(undo);
            }
        }
        inner.synced_block = Some(to);
    }

    /// Restores the state right after `block` was applied, undoing every later block, and
    /// records the index as synced up to `block`. Fails, changing nothing, when a block
    /// after `block` was already forgotten ([`ChainIndex::forget_through`]).
    pub fn rollback_to(&self, block: u64) -> Result<(), RollbackTooDeep> {
        let mut inner = self.write();
        if let Some(forgotten_through) = inner.forgotten_through
            && forgotten_through > block
        {
            return Err(RollbackTooDeep {
                target: block,
                forgotten_through,
            });
        }
        while inner.undo.back().is_some_and(|undo| undo.block > block) {
            let Some(undo) = inner.undo.pop_back() else {
                break;
            };
            // Latest change first, so a task touched twice ends as it was first found.
            for (id, before) in undo.before.into_iter().rev() {
                match before {
                    Some(task) => inner.tasks.insert(id, task),
                    None => inner.tasks.remove(&id),
                };
            }
        }
        if inner.synced_block.is_some_and(|synced| synced > block) {
            inner.synced_block = Some(block);
        }
        Ok(())
    }

    /// Drops the undo records of blocks up to and including `block`: the index will not be
    /// rolled back below it. Bounds the memory the records take.
    pub fn forget_through(&self, block: u64) {
        let mut inner = self.write();
        while inner.undo.front().is_some_and(|undo| undo.block <= block) {
            inner.undo.pop_front();
        }
        inner.forgotten_through = Some(inner.forgotten_through.map_or(block, |f| f.max(block)));
    }

    /// Forgets everything: no task, no block applied (before rebuilding from the start).
    pub fn reset(&self) {
        *self.write() = Inner::default();
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn apply(&mut self, event: ChainEvent, undo: &mut Undo) {
        match event {
            ChainEvent::TaskCreated {
                id,
                kind,
                creator,
                task_hash,
            } => {
                // A task is created once (a reorganisation rolls the index back before the
                // new branch creates it again); should its event be seen twice, keep the first.
                if let Some(task) = self.tasks.get(&id) {
                    if task.task_hash != task_hash || task.creator != creator {
                        tracing::warn!(task = %id, "a second TaskCreated with other content; ignored");
                    }
                    return;
                }
                undo.before.push((id, None));
                self.tasks.insert(
                    id,
                    TaskView {
                        id,
                        kind,
                        creator,
                        task_hash,
                        nodes: Vec::new(),
                        state: TaskState::Running,
                        reveal: None,
                    },
                );
            }
            ChainEvent::NodeSelected { id, node } => {
                if let Some(task) = Self::task_mut(&mut self.tasks, undo, id, "NodeSelected")
                    && !task.nodes.contains(&node)
                {
                    task.nodes.push(node);
                }
            }
            ChainEvent::ResultRevealed {
                id,
                uploader,
                score,
                files_digest,
            } => {
                if let Some(task) = Self::task_mut(&mut self.tasks, undo, id, "ResultRevealed") {
                    task.reveal = Some(Reveal {
                        uploader,
                        score: score.clone(),
                        files_digest,
                    });
                    task.state = TaskState::Revealed { uploader, score };
                }
            }
            ChainEvent::TaskAborted { id } => {
                if let Some(task) = Self::task_mut(&mut self.tasks, undo, id, "TaskAborted") {
                    task.state = TaskState::Aborted;
                }
            }
        }
    }

    /// The task to change, its current state saved in `undo` first.
    fn task_mut<'a>(
        tasks: &'a mut HashMap<TaskId, TaskView>,
        undo: &mut Undo,
        id: TaskId,
        event: &str,
    ) -> Option<&'a mut TaskView> {
        let task = tasks.get_mut(&id);
        match &task {
            None => tracing::warn!(task = %id, event, "event for a task never created; ignored"),
            Some(task) => undo.before.push((id, Some((*task).clone()))),
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
                files_digest: B256::ZERO,
            }],
        );
        assert!(matches!(
            index.task(7.into()).unwrap().state,
            TaskState::Revealed { uploader, .. } if uploader == node
        ));
        index.apply(7, [ChainEvent::TaskAborted { id: 8.into() }]);
        assert!(index.task(8.into()).is_none());
    }

    fn created_with(id: u64, hash: u8) -> ChainEvent {
        ChainEvent::TaskCreated {
            id: id.into(),
            kind: TaskType::StableDiffusion,
            creator: Address::repeat_byte(1),
            task_hash: B256::repeat_byte(hash),
        }
    }

    #[test]
    fn rollback_restores_the_state_after_a_block() {
        let index = ChainIndex::new(1);
        let node = Address::repeat_byte(9);
        index.apply_blocks(
            10,
            [
                (3, vec![created(7)]),
                (5, vec![ChainEvent::NodeSelected { id: 7.into(), node }]),
            ],
        );
        let after_5 = index.task(7.into()).unwrap();
        index.apply_blocks(
            12,
            [
                (
                    11,
                    vec![
                        created(8),
                        ChainEvent::NodeSelected {
                            id: 7.into(),
                            node: Address::repeat_byte(10),
                        },
                        ChainEvent::ResultRevealed {
                            id: 7.into(),
                            uploader: node,
                            score: Bytes::from(vec![1; 8]),
                            files_digest: B256::ZERO,
                        },
                    ],
                ),
                (12, vec![ChainEvent::TaskAborted { id: 7.into() }]),
            ],
        );
        assert_eq!(index.task(7.into()).unwrap().state, TaskState::Aborted);
        assert!(index.task(7.into()).unwrap().reveal.is_some());

        index.rollback_to(11).unwrap();
        assert_eq!(index.synced_block(), Some(11));
        assert!(matches!(
            index.task(7.into()).unwrap().state,
            TaskState::Revealed { .. }
        ));
        index.rollback_to(10).unwrap();
        assert_eq!(index.synced_block(), Some(10));
        assert_eq!(index.task(7.into()).unwrap(), after_5);
        assert!(index.task(8.into()).is_none(), "created in a dropped block");
        index.rollback_to(4).unwrap();
        assert!(index.task(7.into()).unwrap().nodes.is_empty());
        index.rollback_to(2).unwrap();
        assert!(index.task(7.into()).is_none());
        assert_eq!(index.synced_block(), Some(2));
        // Rolling "back" to a later block changes nothing.
        index.rollback_to(20).unwrap();
        assert_eq!(index.synced_block(), Some(2));
    }

    #[test]
    fn a_task_recreated_in_the_new_branch_replaces_the_old_one() {
        let index = ChainIndex::new(1);
        index.apply_blocks(4, [(2, vec![created_with(1, 0xaa)])]);
        // Without a rollback, a second creation is ignored: the first is kept.
        index.apply_blocks(5, [(5, vec![created_with(1, 0xbb)])]);
        assert_eq!(
            index.task(1.into()).unwrap().task_hash,
            B256::repeat_byte(0xaa)
        );
        // The reorganisation drops block 2; the new branch creates task 1 in block 3.
        index.rollback_to(1).unwrap();
        assert!(index.task(1.into()).is_none());
        index.apply_blocks(4, [(3, vec![created_with(1, 0xbb)])]);
        assert_eq!(
            index.task(1.into()).unwrap().task_hash,
            B256::repeat_byte(0xbb)
        );
    }

    #[test]
    fn forgotten_blocks_cannot_be_rolled_back() {
        let index = ChainIndex::new(1);
        index.apply_blocks(3, [(1, vec![created(1)]), (3, vec![created(3)])]);
        index.apply_blocks(6, [(6, vec![created(6)])]);
        index.forget_through(3);
        assert_eq!(
            index.rollback_to(2),
            Err(RollbackTooDeep {
                target: 2,
                forgotten_through: 3
            })
        );
        assert!(
            index.task(6.into()).is_some(),
            "a refused rollback changes nothing"
        );
        index.rollback_to(3).unwrap();
        assert!(index.task(6.into()).is_none());
        assert!(index.task(3.into()).is_some() && index.task(1.into()).is_some());

        index.reset();
        assert_eq!(index.synced_block(), None);
        assert!(index.task(1.into()).is_none());
        index.rollback_to(0).unwrap();
    }
}
