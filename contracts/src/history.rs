//! A task's history, rebuilt from the task manager's logs alone.
//!
//! Every `TaskManager` event about a task carries the task id as its first indexed topic,
//! so one `eth_getLogs` per block range returns a task's whole story: creation, the seed,
//! each selection, commitment, error report and reveal, the outcome, each payment and each
//! seat's end. The app draws its timeline from [`TaskEvent`]s; the requester CLI and the
//! end-to-end tests check payments and slashes with them.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;

use crate::Error;
use crate::TaskManager as Tm;

/// One thing that happened to a task, decoded from a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskEvent {
    /// `createTask`: who asked, for what (by hash), and the fee.
    Created {
        /// The requester.
        creator: Address,
        /// keccak256 of the task arguments.
        task_hash: B256,
        /// 0 SD, 1 LLM.
        task_type: u8,
        /// The fee paid, in wei.
        fee: U256,
        /// Units of work (images).
        size: u64,
    },
    /// The task's requirements.
    Requirements {
        /// Model ids.
        model_ids: Vec<String>,
        /// Minimum VRAM in GB.
        min_vram: u64,
        /// Required GPU name (empty: any).
        gpu_name: String,
        /// Required GPU VRAM.
        gpu_vram: u64,
    },
    /// The requester revealed its secret; the draw's seed is known.
    SeedRevealed {
        /// The seed the nodes were drawn with.
        seed: B256,
    },
    /// Too few eligible nodes were free: the task waits in the queue.
    Queued {
        /// The queue's length after this task joined it.
        queue_length: U256,
    },
    /// A node was drawn for seat `seat`.
    NodeSelected {
        /// The node.
        node: Address,
        /// Its seat, 0..3.
        seat: u8,
    },
    /// The three nodes are drawn; they must commit by `commit_deadline` (Unix seconds).
    Started {
        /// The commit deadline.
        commit_deadline: u64,
    },
    /// A node committed to a score.
    Committed {
        /// The node.
        node: Address,
        /// `keccak256(score || nonce)`.
        commitment: B256,
        /// The nonce it will reveal with.
        nonce: B256,
        /// Order among commitments and error reports, 0-based.
        rank: u8,
    },
    /// A node reported it could not run the task.
    ErrorReported {
        /// The node.
        node: Address,
        /// Its error code.
        code: u32,
        /// Order among commitments and error reports, 0-based.
        rank: u8,
    },
    /// All seats committed or errored (or timed out); reveals are due by the deadline.
    RevealPhaseStarted {
        /// The reveal deadline (Unix seconds).
        reveal_deadline: u64,
    },
    /// A node revealed its score.
    Revealed {
        /// The node.
        node: Address,
        /// The revealed score.
        score: Bytes,
        /// The digest of its result files.
        files_digest: B256,
        /// Order among reveals, 0-based.
        rank: u8,
    },
    /// A majority agreed on `result`; `uploader` must upload the files.
    Validated {
        /// The agreed score.
        result: Bytes,
        /// The digest of the files to upload (the uploader's).
        files_digest: B256,
        /// The node that uploads.
        uploader: Address,
        /// Its deadline (Unix seconds).
        upload_deadline: u64,
    },
    /// The uploader reported the upload: the task succeeded.
    Uploaded {
        /// The uploader.
        uploader: Address,
    },
    /// The task ended without a result (reason: `TaskManager::AbortReason` value).
    Aborted {
        /// Why.
        reason: u8,
    },
    /// A node's part ended (`NodeOutcome` value) with `slashed` wei of stake lost.
    SeatClosed {
        /// The node.
        node: Address,
        /// How its part ended.
        outcome: u8,
        /// Stake lost.
        slashed: U256,
    },
    /// A payment credited out of the fee (`PaymentKind` value).
    Payment {
        /// Who is credited.
        to: Address,
        /// Reward, refund or penalty.
        kind: u8,
        /// How much, in wei.
        amount: U256,
    },
}

impl TaskEvent {
    /// Decodes a `TaskManager` log; `None` for events that are not about one task.
    pub fn decode(log: &Log) -> Option<Self> {
        let data = &log.inner;
        let topic = *log.topic0()?;
        macro_rules! decode {
            ($event:ty) => {
                <$event>::decode_log_data(&data.data).ok()?
            };
        }
        Some(match topic {
            Tm::TaskCreated::SIGNATURE_HASH => {
                let e = decode!(Tm::TaskCreated);
                Self::Created {
                    creator: e.creator,
                    task_hash: e.taskHash,
                    task_type: e.taskType,
                    fee: e.fee,
                    size: e.size,
                }
            }
            Tm::TaskRequirements::SIGNATURE_HASH => {
                let e = decode!(Tm::TaskRequirements);
                Self::Requirements {
                    model_ids: e.modelIds,
                    min_vram: e.minVram,
                    gpu_name: e.gpuName,
                    gpu_vram: e.gpuVram,
                }
            }
            Tm::SeedRevealed::SIGNATURE_HASH => Self::SeedRevealed {
                seed: decode!(Tm::SeedRevealed).seed,
            },
            Tm::TaskQueued::SIGNATURE_HASH => Self::Queued {
                queue_length: decode!(Tm::TaskQueued).queueLength,
            },
            Tm::NodeSelected::SIGNATURE_HASH => {
                let e = decode!(Tm::NodeSelected);
                Self::NodeSelected {
                    node: e.node,
                    seat: e.seat,
                }
            }
            Tm::TaskStarted::SIGNATURE_HASH => Self::Started {
                commit_deadline: decode!(Tm::TaskStarted).commitDeadline,
            },
            Tm::CommitmentSubmitted::SIGNATURE_HASH => {
                let e = decode!(Tm::CommitmentSubmitted);
                Self::Committed {
                    node: e.node,
                    commitment: e.commitment,
                    nonce: e.nonce,
                    rank: e.rank,
                }
            }
            Tm::ErrorReported::SIGNATURE_HASH => {
                let e = decode!(Tm::ErrorReported);
                Self::ErrorReported {
                    node: e.node,
                    code: e.errorCode,
                    rank: e.rank,
                }
            }
            Tm::RevealPhaseStarted::SIGNATURE_HASH => Self::RevealPhaseStarted {
                reveal_deadline: decode!(Tm::RevealPhaseStarted).revealDeadline,
            },
            Tm::ResultRevealed::SIGNATURE_HASH => {
                let e = decode!(Tm::ResultRevealed);
                Self::Revealed {
                    node: e.node,
                    score: e.score,
                    files_digest: e.filesDigest,
                    rank: e.rank,
                }
            }
            Tm::TaskValidated::SIGNATURE_HASH => {
                let e = decode!(Tm::TaskValidated);
                Self::Validated {
                    result: e.result,
                    files_digest: e.filesDigest,
                    uploader: e.uploader,
                    upload_deadline: e.uploadDeadline,
                }
            }
            Tm::ResultUploaded::SIGNATURE_HASH => Self::Uploaded {
                uploader: decode!(Tm::ResultUploaded).uploader,
            },
            Tm::TaskAborted::SIGNATURE_HASH => Self::Aborted {
                reason: decode!(Tm::TaskAborted).reason,
            },
            Tm::SeatClosed::SIGNATURE_HASH => {
                let e = decode!(Tm::SeatClosed);
                Self::SeatClosed {
                    node: e.node,
                    outcome: e.outcome,
                    slashed: e.slashed,
                }
            }
            Tm::Payment::SIGNATURE_HASH => {
                let e = decode!(Tm::Payment);
                Self::Payment {
                    to: e.to,
                    kind: e.kind,
                    amount: e.amount,
                }
            }
            _ => return None,
        })
    }

    /// The task id a task event's log is about (its first indexed topic).
    pub fn task_id(log: &Log) -> Option<U256> {
        log.topics().get(1).map(|t| U256::from_be_bytes(t.0))
    }
}

/// A decoded event and where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The block it is in.
    pub block: u64,
    /// The block's timestamp, when the node returned it with the log.
    pub timestamp: Option<u64>,
    /// The transaction that emitted it.
    pub transaction: Option<B256>,
    /// The event.
    pub event: TaskEvent,
}

/// Every event about task `id`, in chain order, read from `task_manager`'s logs from
/// `from_block` (the task's creation block, or the deployment block) on, in ranges of at
/// most `max_range` blocks ([`paged_logs`]).
pub async fn task_history<P: Provider>(
    provider: &P,
    task_manager: Address,
    from_block: u64,
    id: U256,
    max_range: u64,
) -> Result<Vec<Entry>, Error> {
    let filter = Filter::new().address(task_manager).topic1(B256::from(id));
    let logs = paged_logs(provider, filter, from_block, max_range).await?;
    Ok(logs.iter().filter_map(entry).collect())
}

/// The logs `filter` matches from `from_block` to the head, in ranges of at most
/// `max_range` blocks. An endpoint that refuses a range (public RPCs cap log queries at a
/// few thousand blocks or results, each with its own error) gets half of it, down to one
/// block, and the smaller range is kept for the rest of the read.
pub async fn paged_logs<P: Provider>(
    provider: &P,
    filter: Filter,
    from_block: u64,
    max_range: u64,
) -> Result<Vec<Log>, Error> {
    let head = provider.get_block_number().await?;
    let mut out = Vec::new();
    let mut start = from_block;
    let mut step = max_range.max(1);
    while start <= head {
        let end = head.min(start.saturating_add(step - 1));
        let range = filter.clone().from_block(start).to_block(end);
        match provider.get_logs(&range).await {
            Ok(logs) => out.extend(logs),
            Err(alloy::transports::RpcError::ErrorResp(_)) if end > start => {
                step = (end - start).div_ceil(2);
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        start = end + 1;
    }
    Ok(out)
}

fn entry(log: &Log) -> Option<Entry> {
    Some(Entry {
        block: log.block_number.unwrap_or_default(),
        timestamp: log.block_timestamp,
        transaction: log.transaction_hash,
        event: TaskEvent::decode(log)?,
    })
}

/// What one task meant for one node's balance: the reward it was credited and the stake
/// it lost, with how its seat ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerLine {
    /// The task.
    pub task: U256,
    /// The block its seat closed in (or of its last payment).
    pub block: u64,
    /// That block's timestamp, when the endpoint returns it with logs.
    pub timestamp: Option<u64>,
    /// Rewards credited for the task, wei.
    pub reward: U256,
    /// Stake lost on the task, wei.
    pub slashed: U256,
    /// How the seat ended (`NodeOutcome` value), once it has.
    pub outcome: Option<u8>,
}

/// `node`'s ledger from the task manager's logs since `from_block`, one line per task, in
/// chain order: rewards from its `Payment`s, losses from its `SeatClosed`s (every event
/// naming a node has it as the second indexed topic). Jury duty is the appeals contract's
/// and is not here.
pub async fn node_ledger<P: Provider>(
    provider: &P,
    task_manager: Address,
    node: Address,
    from_block: u64,
    max_range: u64,
) -> Result<Vec<LedgerLine>, Error> {
    let filter = Filter::new().address(task_manager).topic2(node.into_word());
    let logs = paged_logs(provider, filter, from_block, max_range).await?;
    let mut lines: Vec<LedgerLine> = Vec::new();
    for log in &logs {
        let (Some(task), Some(entry)) = (TaskEvent::task_id(log), entry(log)) else {
            continue;
        };
        let (reward, slashed, outcome) = match entry.event {
            TaskEvent::Payment { to, kind, amount }
                if to == node && kind == Tm::PaymentKind::REWARD =>
            {
                (amount, U256::ZERO, None)
            }
            TaskEvent::SeatClosed {
                node: closed,
                outcome,
                slashed,
            } if closed == node => (U256::ZERO, slashed, Some(outcome)),
            _ => continue,
        };
        let line = match lines.iter_mut().find(|l| l.task == task) {
            Some(line) => line,
            None => {
                lines.push(LedgerLine {
                    task,
                    block: entry.block,
                    timestamp: entry.timestamp,
                    reward: U256::ZERO,
                    slashed: U256::ZERO,
                    outcome: None,
                });
                lines.last_mut().expect("just pushed")
            }
        };
        line.reward += reward;
        line.slashed += slashed;
        line.outcome = outcome.or(line.outcome);
        line.block = line.block.max(entry.block);
        line.timestamp = entry.timestamp.or(line.timestamp);
    }
    Ok(lines)
}

/// A node's QoS score and health right after one of its tasks ended (the registry's
/// `NodeReleased`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandingPoint {
    /// The task (a jury duty's registry id has `Appeals.JURY_BIT` set).
    pub task: U256,
    /// The block.
    pub block: u64,
    /// Its timestamp, when the endpoint returns it with logs.
    pub timestamp: Option<u64>,
    /// How the task ended for the node (`NodeOutcome` value).
    pub outcome: u8,
    /// QoS score after it, hundredths of a point out of 10.
    pub qos: U256,
    /// Health after it, permille.
    pub health: U256,
}

/// `node`'s QoS and health after each task, in chain order, from the registry's
/// `NodeReleased` logs since `from_block` (paged as [`paged_logs`]).
pub async fn node_standing<P: Provider>(
    provider: &P,
    registry: Address,
    node: Address,
    from_block: u64,
    max_range: u64,
) -> Result<Vec<StandingPoint>, Error> {
    use crate::NodeRegistry::NodeReleased;
    let filter = Filter::new()
        .address(registry)
        .event_signature(NodeReleased::SIGNATURE_HASH)
        .topic1(node.into_word());
    let logs = paged_logs(provider, filter, from_block, max_range).await?;
    Ok(logs
        .iter()
        .filter_map(|log| {
            let e = NodeReleased::decode_log_data(&log.inner.data).ok()?;
            Some(StandingPoint {
                task: e.taskId,
                block: log.block_number.unwrap_or_default(),
                timestamp: log.block_timestamp,
                outcome: e.outcome,
                qos: e.qosScore,
                health: e.health,
            })
        })
        .collect())
}

/// Stake lost, reward earned and refunds, summed per address over a history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settlement {
    /// `(node, wei)` rewards, in payment order.
    pub rewards: Vec<(Address, U256)>,
    /// `(to, wei)` refunds to the creator.
    pub refunds: Vec<(Address, U256)>,
    /// `(node, outcome, wei slashed)` per closed seat.
    pub seats: Vec<(Address, u8, U256)>,
}

impl Settlement {
    /// Sums a history's payments and closed seats.
    pub fn of(entries: &[Entry]) -> Self {
        let mut out = Self::default();
        for entry in entries {
            match &entry.event {
                TaskEvent::Payment { to, kind, amount } if *kind == Tm::PaymentKind::REWARD => {
                    out.rewards.push((*to, *amount));
                }
                TaskEvent::Payment { to, kind, amount } if *kind == Tm::PaymentKind::REFUND => {
                    out.refunds.push((*to, *amount));
                }
                TaskEvent::SeatClosed {
                    node,
                    outcome,
                    slashed,
                } => out.seats.push((*node, *outcome, *slashed)),
                _ => {}
            }
        }
        out
    }

    /// Total rewards paid to `node`.
    pub fn reward_of(&self, node: Address) -> U256 {
        self.rewards
            .iter()
            .filter(|(to, _)| *to == node)
            .map(|(_, amount)| *amount)
            .sum()
    }

    /// Stake `node` lost on this task.
    pub fn slashed(&self, node: Address) -> U256 {
        self.seats
            .iter()
            .filter(|(n, _, _)| *n == node)
            .map(|(_, _, s)| *s)
            .sum()
    }
}
