//! The chain's record of a task, read the way every verifier reads it.

use alloy::primitives::{Address, U256};
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

/// The GPU group (name, VRAM) for an LLM task: among groups with enough joined nodes to
/// fill the seats, the one whose nodes stake the most (the capital colluders in it must
/// risk), then the one with more free nodes. Never the one with most names: names are
/// free, so five Sybils under any GPU name would otherwise take every LLM task.
pub fn llm_group(groups: &[contracts::NodeRegistry::GpuGroup]) -> Option<(String, u64)> {
    groups
        .iter()
        .filter(|g| g.activeNodes >= U256::from(SEATS))
        .max_by_key(|g| (g.stake, g.availableNodes))
        .map(|g| (g.gpuName.clone(), g.gpuVram))
}

/// Whether a task state is final (succeeded or aborted).
pub fn is_final(state: u8) -> bool {
    state == TaskState::SUCCESS || state == TaskState::ABORTED
}

/// What the chain says about a task, as the verification report needs it: its kind, the
/// comparison threshold, the settled result, and each drawn seat's commitment, nonce and
/// revealed score. Seats never drawn (the zero address) are left out.
pub fn chain_record(task: &TaskManager::Task, threshold: u64, appeal_state: u8) -> ChainRecord {
    ChainRecord {
        overturned: appeal_state == contracts::Appeals::AppealState::OVERTURNED,
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::B256;
    use contracts::NodeRegistry::GpuGroup;

    fn group(name: &str, active: u64, available: u64, stake_cnx: u64) -> GpuGroup {
        GpuGroup {
            gpuId: B256::ZERO,
            gpuName: name.into(),
            gpuVram: 24,
            activeNodes: U256::from(active),
            availableNodes: U256::from(available),
            stake: U256::from(stake_cnx) * U256::from(10u64).pow(U256::from(18u64)),
        }
    }

    /// The review's attack 4: five Sybils at the minimum stake under a made-up GPU name
    /// no longer outrank three honest nodes that stake more, whatever their count.
    #[test]
    fn llm_tasks_go_to_the_group_with_most_stake_not_most_names() {
        let groups = [
            group("Sybil GPU", 5, 5, 5 * 400),
            group("NVIDIA GeForce RTX 4090", 3, 3, 3 * 1000),
            group("too small", 2, 2, 100_000),
        ];
        assert_eq!(
            llm_group(&groups),
            Some(("NVIDIA GeForce RTX 4090".to_owned(), 24))
        );
        // Equal stake: more free nodes win.
        let tied = [group("a", 3, 1, 1200), group("b", 4, 3, 1200)];
        assert_eq!(llm_group(&tied).unwrap().0, "b");
        assert_eq!(llm_group(&[]), None);
    }
}
