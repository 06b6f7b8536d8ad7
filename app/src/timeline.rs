//! A task's timeline: its on-chain events in words, and its states.

use contracts::TaskManager::{self, NodeOutcome, PaymentKind, TaskState};
use contracts::history::{Entry, TaskEvent};
use contracts::requests;

use crate::format::{cnx, short};

/// A task state in words for people.
pub fn state_words(state: u8) -> &'static str {
    match state {
        TaskState::WAITING_SEED => "waiting for the requester's seed",
        TaskState::QUEUED => "queued: waiting for free nodes",
        TaskState::RUNNING => "running on three nodes",
        TaskState::REVEALING => "nodes are revealing their results",
        TaskState::VALIDATED => "validated: waiting for the upload",
        TaskState::SUCCESS => "done",
        TaskState::ABORTED => "aborted",
        _ => "unknown",
    }
}

/// How a timeline entry looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Neutral progress.
    Info,
    /// Something good: agreement, success, a reward.
    Good,
    /// Something bad: an error, an abort, a slash.
    Bad,
}

impl Tone {
    /// CSS class.
    pub fn class(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Good => "good",
            Self::Bad => "bad",
        }
    }
}

/// One line of a task's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineItem {
    /// What happened.
    pub title: String,
    /// Details (addresses, amounts).
    pub detail: String,
    /// The block it happened in.
    pub block: u64,
    /// Its look.
    pub tone: Tone,
}

/// A timeline from a task's events (chain order).
pub fn timeline(entries: &[Entry]) -> Vec<TimelineItem> {
    entries
        .iter()
        .filter_map(|entry| {
            let (title, detail, tone) = match &entry.event {
                TaskEvent::Created {
                    creator,
                    fee,
                    size,
                    task_type,
                    ..
                } => (
                    "Task created".to_owned(),
                    format!(
                        "{} task by {}, fee {} CNX, {} unit(s) of work",
                        if *task_type == requests::TASK_TYPE_SD {
                            "Image"
                        } else {
                            "Text"
                        },
                        short(&creator.to_string()),
                        cnx(*fee),
                        size
                    ),
                    Tone::Info,
                ),
                TaskEvent::Requirements { .. } => return None,
                TaskEvent::SeedRevealed { seed } => (
                    "Seed revealed".to_owned(),
                    format!("nodes drawn with seed {}", short(&seed.to_string())),
                    Tone::Info,
                ),
                TaskEvent::Queued { queue_length } => (
                    "Queued".to_owned(),
                    format!("too few free nodes; {queue_length} task(s) in the queue"),
                    Tone::Info,
                ),
                TaskEvent::NodeSelected { node, seat } => (
                    format!("Node selected for seat {seat}"),
                    node.to_string(),
                    Tone::Info,
                ),
                TaskEvent::Started { .. } => (
                    "Nodes at work".to_owned(),
                    "three nodes run the task and must commit to their results".to_owned(),
                    Tone::Info,
                ),
                TaskEvent::Committed {
                    node,
                    commitment,
                    rank,
                    ..
                } => (
                    format!("Commitment #{}", rank + 1),
                    format!(
                        "{} committed {}",
                        short(&node.to_string()),
                        short(&commitment.to_string())
                    ),
                    Tone::Info,
                ),
                TaskEvent::ErrorReported { node, code, .. } => (
                    "Error reported".to_owned(),
                    format!(
                        "{} could not run the task: {} (code {code})",
                        short(&node.to_string()),
                        contracts::error_code::name(*code)
                    ),
                    Tone::Bad,
                ),
                TaskEvent::RevealPhaseStarted { .. } => (
                    "Reveal phase".to_owned(),
                    "all commitments are in; nodes reveal their scores".to_owned(),
                    Tone::Info,
                ),
                TaskEvent::Revealed {
                    node, score, rank, ..
                } => (
                    format!("Reveal #{}", rank + 1),
                    format!(
                        "{} revealed score {}",
                        short(&node.to_string()),
                        short(&score.to_string())
                    ),
                    Tone::Info,
                ),
                TaskEvent::Validated {
                    uploader,
                    result,
                    files_digest,
                    ..
                } => (
                    "Validated".to_owned(),
                    format!(
                        "a majority agreed on {}; {} uploads the files with digest {}",
                        short(&result.to_string()),
                        short(&uploader.to_string()),
                        short(&files_digest.to_string())
                    ),
                    Tone::Good,
                ),
                TaskEvent::Uploaded { uploader } => (
                    "Results uploaded".to_owned(),
                    format!(
                        "the relay's receipt for {}'s upload was reported",
                        short(&uploader.to_string())
                    ),
                    Tone::Good,
                ),
                TaskEvent::Aborted { reason } => (
                    "Aborted".to_owned(),
                    TaskManager::AbortReason::name(*reason).to_owned(),
                    Tone::Bad,
                ),
                TaskEvent::SeatClosed {
                    node,
                    outcome,
                    slashed,
                } => {
                    let bad = !slashed.is_zero();
                    (
                        if bad {
                            "Node slashed".to_owned()
                        } else {
                            "Seat closed".to_owned()
                        },
                        format!(
                            "{}: {}{}",
                            short(&node.to_string()),
                            NodeOutcome::name(*outcome),
                            if bad {
                                format!(", lost {} CNX of stake", cnx(*slashed))
                            } else {
                                String::new()
                            }
                        ),
                        if bad { Tone::Bad } else { Tone::Info },
                    )
                }
                TaskEvent::Payment { to, kind, amount } => (
                    match *kind {
                        PaymentKind::REWARD => "Reward paid".to_owned(),
                        PaymentKind::REFUND => "Refund".to_owned(),
                        _ => "Penalty".to_owned(),
                    },
                    format!("{} CNX to {}", cnx(*amount), short(&to.to_string())),
                    if *kind == PaymentKind::PENALTY {
                        Tone::Bad
                    } else {
                        Tone::Good
                    },
                ),
            };
            Some(TimelineItem {
                title,
                detail,
                block: entry.block,
                tone,
            })
        })
        .collect()
}
