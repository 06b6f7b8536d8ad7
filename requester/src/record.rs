//! The chain's record of a task, read the way every verifier reads it.

use alloy::primitives::Address;
use contracts::TaskManager::{self, TaskState};
use contracts::requests;
use verifier::report::{ChainRecord, SeatRecord};
use verifier::score::ScoreKind;

/// Seats a checked task has: three nodes run it.
pub const SEATS: u64 = 3;

/// The kind of score a task type produces.
pub fn score_kind(task_type: u8) -> ScoreKind {
    if task_type == requests::TASK_TYPE_SD {
        ScoreKind::Image
    } else {
        ScoreKind::Text
    }
}

/// Whether a task state is final (succeeded or aborted).
pub fn is_final(state: u8) -> bool {
    state == TaskState::SUCCESS || state == TaskState::ABORTED
}

/// What the chain says about a task, as the verification report needs it: its kind, the
/// comparison threshold, the settled result, and each drawn seat's commitment, nonce and
/// revealed score. Seats never drawn (the zero address) are left out.
pub fn chain_record(task: &TaskManager::Task, threshold: u64) -> ChainRecord {
    ChainRecord {
        kind: score_kind(task.request.taskType),
        threshold: u32::try_from(threshold).unwrap_or(u32::MAX),
        agreed: (!task.result.is_empty()).then(|| task.result.to_vec()),
        files_digest: (!task.resultDigest.is_zero()).then_some(task.resultDigest.0),
        seats: task
            .seats
            .iter()
            .filter(|seat| seat.node != Address::ZERO)
            .map(|seat| {
                let committed = !seat.commitment.is_zero();
                SeatRecord {
                    node: seat.node.to_string(),
                    commitment: committed.then_some(seat.commitment.0),
                    nonce: committed.then_some(seat.nonce.0),
                    revealed: (!seat.score.is_empty()).then(|| seat.score.to_vec()),
                    files_digest: (!seat.filesDigest.is_zero()).then_some(seat.filesDigest.0),
                }
            })
            .collect(),
    }
}
