//! Follows the task contract's events over JSON-RPC and applies them to a [`ChainIndex`].
//!
//! The follower polls `eth_getLogs` in bounded block ranges from the contract's deployment
//! block, stays `confirmations` blocks behind the head, and retries after an RPC error.
//! Only [`decode`] knows the contract's event ABI.
//!
//! **Reorganisations.** The follower remembers the hash of the last block of every range
//! it applied, for the last `reorg_depth` blocks (and the newest one before them). Each
//! poll first checks that the last applied block is still the chain's block at that
//! height; a range is applied only if its last block and the block it builds on kept their
//! hashes while its logs were read. On a mismatch the follower walks back to the newest
//! remembered block the chain still has (a block with the same hash has the same history),
//! rolls the index back to it ([`ChainIndex::rollback_to`]) and follows the new branch
//! from there. A reorganisation deeper than what it remembers is logged as an error and
//! the index is rebuilt from the deployment block; meanwhile the relay knows no task,
//! rather than serving the dropped branch's.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes};
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
        event TaskValidated(uint256 indexed taskId, bytes result, bytes32 filesDigest, address indexed uploader, uint64 uploadDeadline);
        event TaskAborted(uint256 indexed taskId, uint8 reason);
    }

    /// The `Appeals` contract's one event the relay follows: a juror may read the task's
    /// arguments as a seat does.
    interface AppealEvents {
        event JurorSelected(uint256 indexed taskId, address indexed node, uint8 index);
    }
}

/// Where and how to follow the chain.
#[derive(Debug, Clone)]
pub struct FollowerConfig {
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// The task contract.
    pub contract: Address,
    /// The appeals contract, if any: its jurors are parties of the task they judge.
    pub appeals: Option<Address>,
    /// The block the contract was deployed in (nothing before it matters).
    pub from_block: u64,
    /// Blocks to stay behind the head (0 on a dev chain).
    pub confirmations: u64,
    /// How many blocks back a reorganisation is rolled back block-exactly; a deeper one
    /// rebuilds the index from `from_block`.
    pub reorg_depth: u64,
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
    let source = Rpc {
        provider,
        contracts: std::iter::once(config.contract)
            .chain(config.appeals)
            .collect(),
    };
    let mut follower = Follower::new(&config);
    tracing::info!(
        contract = %config.contract,
        from_block = config.from_block,
        reorg_depth = config.reorg_depth,
        "following chain events"
    );
    loop {
        let caught_up = match follower.poll(&source, &index).await {
            Ok(caught_up) => caught_up,
            Err(e) => {
                tracing::warn!(error = %e, next_block = follower.next, "chain poll failed; retrying");
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

/// What the follower asks of the chain.
trait Source {
    /// The newest block's number.
    async fn head(&self) -> Result<u64, FollowError>;
    /// The hash of the chain's block at `number`, if it has one.
    async fn block_hash(&self, number: u64) -> Result<Option<B256>, FollowError>;
    /// The contract's events in blocks `from..=to`, in log order, each with its block.
    async fn events(&self, from: u64, to: u64) -> Result<Vec<(u64, ChainEvent)>, FollowError>;
}

/// A JSON-RPC node.
struct Rpc<P> {
    provider: P,
    contracts: Vec<Address>,
}

fn rpc_error(e: impl std::fmt::Display) -> FollowError {
    FollowError::Rpc(e.to_string())
}

impl<P: Provider> Source for Rpc<P> {
    async fn head(&self) -> Result<u64, FollowError> {
        self.provider.get_block_number().await.map_err(rpc_error)
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, FollowError> {
        let block = self
            .provider
            .get_block_by_number(number.into())
            .await
            .map_err(rpc_error)?;
        Ok(block.map(|b| b.header.hash))
    }

    async fn events(&self, from: u64, to: u64) -> Result<Vec<(u64, ChainEvent)>, FollowError> {
        let filter = Filter::new()
            .address(self.contracts.clone())
            .from_block(from)
            .to_block(to);
        let logs = self.provider.get_logs(&filter).await.map_err(rpc_error)?;
        Ok(logs
            .iter()
            .filter_map(|log| Some((log.block_number.unwrap_or(to), decode(log)?)))
            .collect())
    }
}

/// The follower's position: the next block to read, and the blocks it applied.
#[derive(Debug)]
struct Follower {
    from_block: u64,
    confirmations: u64,
    max_block_range: u64,
    reorg_depth: u64,
    next: u64,
    /// `(number, hash)` of the last block of each applied range, ascending: those within
    /// `reorg_depth` blocks of the newest, and the newest one below them.
    applied: VecDeque<(u64, B256)>,
}

impl Follower {
    fn new(config: &FollowerConfig) -> Self {
        Self {
            from_block: config.from_block,
            confirmations: config.confirmations,
            max_block_range: config.max_block_range.max(1),
            reorg_depth: config.reorg_depth,
            next: config.from_block,
            applied: VecDeque::new(),
        }
    }

    /// Whether the newest applied block is still the chain's.
    async fn on_chain(&self, source: &impl Source) -> Result<bool, FollowError> {
        match self.applied.back() {
            Some(&(number, hash)) => Ok(source.block_hash(number).await? == Some(hash)),
            None => Ok(true),
        }
    }

    /// Applies one range of blocks, after handling a reorganisation; returns whether the
    /// follower reached the head.
    async fn poll(
        &mut self,
        source: &impl Source,
        index: &ChainIndex,
    ) -> Result<bool, FollowError> {
        if !self.on_chain(source).await? {
            self.reorganise(source, index).await?;
            return Ok(false);
        }
        let head = source.head().await?;
        let Some(safe) = head.checked_sub(self.confirmations) else {
            return Ok(true);
        };
        if self.next > safe {
            return Ok(true);
        }
        let from = self.next;
        let to = safe.min(from + self.max_block_range - 1);
        let Some(tip) = source.block_hash(to).await? else {
            // The chain got shorter since `head`: look again.
            return Ok(false);
        };
        let events = source.events(from, to).await?;
        // Had the chain changed while the logs were read, they could be another branch's.
        if source.block_hash(to).await? != Some(tip) || !self.on_chain(source).await? {
            tracing::debug!(from, to, "chain changed while reading logs; reading again");
            return Ok(false);
        }
        let count = events.len();
        let mut blocks: Vec<(u64, Vec<ChainEvent>)> = Vec::new();
        for (block, event) in events {
            match blocks.last_mut() {
                Some((last, events)) if *last == block => events.push(event),
                _ => blocks.push((block, vec![event])),
            }
        }
        index.apply_blocks(to, blocks);
        tracing::debug!(from, to, events = count, "applied chain events");
        self.next = to + 1;
        self.applied.push_back((to, tip));
        let horizon = to.saturating_sub(self.reorg_depth);
        while self
            .applied
            .get(1)
            .is_some_and(|&(number, _)| number <= horizon)
        {
            self.applied.pop_front();
        }
        if let Some(&(oldest, _)) = self.applied.front() {
            index.forget_through(oldest);
        }
        Ok(to == safe)
    }

    /// The newest applied block is no longer the chain's: rolls back to the newest one that
    /// is, or rebuilds from the start.
    async fn reorganise(
        &mut self,
        source: &impl Source,
        index: &ChainIndex,
    ) -> Result<(), FollowError> {
        let dropped = self.applied.back().map_or(self.from_block, |&(n, _)| n);
        // Nothing changes until the walk is done: an RPC error halfway retries it whole.
        let mut ancestor = None;
        for (position, &(number, hash)) in self.applied.iter().enumerate().rev() {
            if source.block_hash(number).await? == Some(hash) {
                ancestor = Some((position, number));
                break;
            }
        }
        let rolled_back = ancestor.and_then(|(position, number)| match index.rollback_to(number) {
            Ok(()) => Some((position, number)),
            Err(e) => {
                tracing::error!(error = %e, "cannot roll the index back");
                None
            }
        });
        match rolled_back {
            Some((position, number)) => {
                tracing::warn!(
                    dropped_from = number + 1,
                    dropped_through = dropped,
                    "chain reorganisation: rolled the index back to block {number}, following the new branch"
                );
                self.applied.truncate(position + 1);
                self.next = number + 1;
            }
            None => {
                tracing::error!(
                    reorg_depth = self.reorg_depth,
                    dropped_through = dropped,
                    from_block = self.from_block,
                    "chain reorganisation deeper than the blocks the relay remembers: rebuilding the index from the deployment block (tasks are unknown until it catches up)"
                );
                index.reset();
                self.applied.clear();
                self.next = self.from_block;
            }
        }
        Ok(())
    }
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
        AppealEvents::JurorSelected::SIGNATURE_HASH => AppealEvents::JurorSelected::decode_log(&log.inner)
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
                    files_digest: e.filesDigest,
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
            filesDigest: B256::repeat_byte(5),
            uploader: Address::repeat_byte(3),
            uploadDeadline: 100,
        };
        assert_eq!(
            decode(&log(validated.encode_log_data())),
            Some(ChainEvent::ResultRevealed {
                id: TaskId(id),
                uploader: Address::repeat_byte(3),
                score: Bytes::from(vec![9u8; 8]),
                files_digest: B256::repeat_byte(5),
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
        // A juror of an appeal reads the task's arguments as a seat does.
        let juror = AppealEvents::JurorSelected {
            taskId: id,
            node: Address::repeat_byte(6),
            index: 3,
        };
        assert_eq!(
            decode(&log(juror.encode_log_data())),
            Some(ChainEvent::NodeSelected {
                id: TaskId(id),
                node: Address::repeat_byte(6)
            })
        );
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

    use crate::chain::TaskChain as _;
    use std::sync::Mutex;

    /// A chain in memory: per block, the branch it belongs to and its events.
    #[derive(Clone, Default)]
    struct Chain {
        blocks: Vec<(u8, Vec<ChainEvent>)>,
    }

    impl Chain {
        /// `len` empty blocks of branch `branch`.
        fn new(len: u64, branch: u8) -> Self {
            Self {
                blocks: (0..len).map(|_| (branch, Vec::new())).collect(),
            }
        }

        /// Blocks from `at` on replaced by `len - at` blocks of `branch`.
        fn fork(&self, at: u64, len: u64, branch: u8) -> Self {
            let mut forked = self.clone();
            forked.blocks.truncate(at as usize);
            forked
                .blocks
                .extend((at..len).map(|_| (branch, Vec::new())));
            forked
        }

        fn with(mut self, block: u64, event: ChainEvent) -> Self {
            self.blocks[block as usize].1.push(event);
            self
        }
    }

    fn hash(number: u64, branch: u8) -> B256 {
        let mut bytes = [0u8; 32];
        bytes[0] = branch;
        bytes[24..].copy_from_slice(&number.to_be_bytes());
        B256::from(bytes)
    }

    /// A [`Source`] over a [`Chain`] that may switch to another while logs are read.
    struct Fake {
        chain: Mutex<Chain>,
        switch_on_read: Mutex<Option<Chain>>,
    }

    impl Fake {
        fn new(chain: Chain) -> Self {
            Self {
                chain: Mutex::new(chain),
                switch_on_read: Mutex::new(None),
            }
        }

        fn set(&self, chain: Chain) {
            *self.chain.lock().unwrap() = chain;
        }
    }

    impl Source for Fake {
        async fn head(&self) -> Result<u64, FollowError> {
            Ok(self.chain.lock().unwrap().blocks.len() as u64 - 1)
        }

        async fn block_hash(&self, number: u64) -> Result<Option<B256>, FollowError> {
            let chain = self.chain.lock().unwrap();
            Ok(chain
                .blocks
                .get(number as usize)
                .map(|(branch, _)| hash(number, *branch)))
        }

        async fn events(&self, from: u64, to: u64) -> Result<Vec<(u64, ChainEvent)>, FollowError> {
            let mut chain = self.chain.lock().unwrap();
            let events = (from..=to)
                .flat_map(|n| {
                    chain.blocks[n as usize]
                        .1
                        .iter()
                        .map(move |e| (n, e.clone()))
                })
                .collect();
            if let Some(next) = self.switch_on_read.lock().unwrap().take() {
                *chain = next;
            }
            Ok(events)
        }
    }

    fn config(reorg_depth: u64, max_block_range: u64) -> FollowerConfig {
        FollowerConfig {
            rpc_url: String::new(),
            contract: Address::ZERO,
            appeals: None,
            from_block: 1,
            confirmations: 0,
            reorg_depth,
            max_block_range,
            poll_interval: Duration::ZERO,
        }
    }

    fn created(id: u64, hash: u8) -> ChainEvent {
        ChainEvent::TaskCreated {
            id: id.into(),
            kind: TaskType::StableDiffusion,
            creator: Address::repeat_byte(1),
            task_hash: B256::repeat_byte(hash),
        }
    }

    fn selected(id: u64, node: u8) -> ChainEvent {
        ChainEvent::NodeSelected {
            id: id.into(),
            node: Address::repeat_byte(node),
        }
    }

    /// Polls until caught up (at most 100 polls).
    async fn sync(follower: &mut Follower, source: &Fake, index: &ChainIndex) {
        for _ in 0..100 {
            if follower.poll(source, index).await.unwrap() {
                return;
            }
        }
        panic!("the follower never caught up");
    }

    fn task_hash(index: &ChainIndex, id: u64) -> Option<B256> {
        index.task(id.into()).map(|t| t.task_hash)
    }

    #[tokio::test]
    async fn a_reorganisation_is_rolled_back_to_the_common_ancestor() {
        let old = Chain::new(11, 0)
            .with(3, created(1, 0xaa))
            .with(5, created(2, 0xaa))
            .with(7, selected(2, 9));
        let source = Fake::new(old.clone());
        let index = ChainIndex::new(1);
        let mut follower = Follower::new(&config(64, 3));
        sync(&mut follower, &source, &index).await;
        assert_eq!(index.synced_block(), Some(10));
        assert_eq!(index.task(2.into()).unwrap().nodes.len(), 1);

        // Blocks 5.. are replaced: task 2 is created again with other arguments, in block 6.
        let new = old.fork(5, 12, 1).with(6, created(2, 0xbb));
        source.set(new);
        sync(&mut follower, &source, &index).await;
        assert_eq!(index.synced_block(), Some(11));
        assert_eq!(task_hash(&index, 1), Some(B256::repeat_byte(0xaa)));
        assert_eq!(task_hash(&index, 2), Some(B256::repeat_byte(0xbb)));
        assert!(
            index.task(2.into()).unwrap().nodes.is_empty(),
            "the dropped branch's NodeSelected is gone"
        );

        // The chain gets shorter than what was applied: back to block 3, task 2 unknown.
        source.set(Chain::new(4, 0).with(3, created(1, 0xaa)));
        sync(&mut follower, &source, &index).await;
        assert!(index.synced_block().is_some_and(|b| b <= 3));
        assert!(index.task(2.into()).is_none());
        assert_eq!(task_hash(&index, 1), Some(B256::repeat_byte(0xaa)));
    }

    #[tokio::test]
    async fn a_reorganisation_deeper_than_remembered_rebuilds_the_index() {
        let old = Chain::new(30, 0).with(2, created(1, 0xaa));
        let source = Fake::new(old.clone());
        let index = ChainIndex::new(1);
        let mut follower = Follower::new(&config(4, 1));
        sync(&mut follower, &source, &index).await;
        assert!(
            follower.applied.len() <= 6,
            "remembers about reorg_depth blocks: {:?}",
            follower.applied
        );
        assert_eq!(follower.applied.front().unwrap().0, 25);

        source.set(old.fork(2, 31, 1).with(2, created(1, 0xbb)));
        // One poll sees the mismatch: nothing it remembers is on the chain any more, so the
        // index is emptied rather than left serving the dropped branch.
        assert!(!follower.poll(&source, &index).await.unwrap());
        assert_eq!(index.synced_block(), None);
        assert!(index.task(1.into()).is_none());
        sync(&mut follower, &source, &index).await;
        assert_eq!(index.synced_block(), Some(30));
        assert_eq!(task_hash(&index, 1), Some(B256::repeat_byte(0xbb)));
    }

    #[tokio::test]
    async fn logs_read_while_the_chain_changed_are_not_applied() {
        let old = Chain::new(6, 0).with(4, created(1, 0xaa));
        let new = old.fork(3, 6, 1).with(4, created(1, 0xbb));
        let source = Fake::new(old);
        *source.switch_on_read.lock().unwrap() = Some(new);
        let index = ChainIndex::new(1);
        let mut follower = Follower::new(&config(64, 100));
        assert!(!follower.poll(&source, &index).await.unwrap());
        assert_eq!(index.synced_block(), None, "the racing read is dropped");
        sync(&mut follower, &source, &index).await;
        assert_eq!(task_hash(&index, 1), Some(B256::repeat_byte(0xbb)));
    }
}
