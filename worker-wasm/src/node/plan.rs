//! What a node does next about a task: a pure function of the task as the chain has it,
//! the chain's clock, and what the node has kept locally.
//!
//! Every node (native or in a browser tab) asks [`next_step`] after each change it sees,
//! so a node restarted in the middle of a task picks up exactly where the rules say: it
//! commits what it computed before the crash, reveals what it committed, uploads what it
//! must, and helps move a task past a deadline that others let pass.

use alloy::primitives::Address;
use contracts::Appeals::{Appeal, AppealState, JurorStatus};
use contracts::TaskManager::{SeatStatus, Task, TaskState};

/// What the node has kept about a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Nothing: the task has not been run here (or its record was lost).
    Nothing,
    /// The result files, score and commitment nonce, written before committing.
    Outcome,
}

/// The node's next action for a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Fetch the arguments and models, run the task, keep the outcome.
    Run,
    /// Submit the commitment of the kept outcome.
    Commit,
    /// Reveal the kept score.
    Reveal,
    /// Upload the kept files to the relay, then report the upload on chain.
    Upload,
    /// The phase's deadline has passed: call `cancelTask` (a jury: `advance`) to move it on.
    Cancel,
    /// Nothing to do until the chain changes (others must act first).
    Wait,
    /// The node must act but has lost what it kept (its state directory was wiped): it
    /// cannot reveal or upload, and will be penalized by the rules.
    Lost,
    /// The task needs nothing more from this node.
    Done,
}

/// Decides the node's next step for `task` at chain time `now`.
pub fn next_step(task: &Task, me: Address, now: u64, kept: Kept) -> Step {
    let seat = task.seats.iter().position(|s| s.node == me);
    let status = seat.map(|i| task.seats[i].status);
    let past_deadline = now >= task.deadline;
    match task.state {
        TaskState::RUNNING => match status {
            Some(SeatStatus::SELECTED) if past_deadline => Step::Cancel,
            Some(SeatStatus::SELECTED) if kept == Kept::Outcome => Step::Commit,
            Some(SeatStatus::SELECTED) => Step::Run,
            _ if past_deadline => Step::Cancel,
            _ => Step::Wait,
        },
        TaskState::REVEALING => match status {
            Some(SeatStatus::COMMITTED) if past_deadline => Step::Cancel,
            Some(SeatStatus::COMMITTED) if kept == Kept::Outcome => Step::Reveal,
            Some(SeatStatus::COMMITTED) => Step::Lost,
            _ if past_deadline => Step::Cancel,
            _ => Step::Wait,
        },
        TaskState::VALIDATED => {
            let uploader = task
                .seats
                .get(usize::from(task.uploaderSeat))
                .map(|s| s.node);
            if uploader == Some(me) {
                // The contract takes the report until someone cancels, even late.
                if kept == Kept::Outcome {
                    Step::Upload
                } else {
                    Step::Lost
                }
            } else if past_deadline {
                Step::Cancel
            } else {
                Step::Done
            }
        }
        TaskState::WAITING_SEED | TaskState::QUEUED => Step::Wait,
        _ => Step::Done,
    }
}

/// Decides a juror's next step for `appeal` at chain time `now`: run the task, commit,
/// reveal, move a passed deadline on, as a seat does (there is no upload).
pub fn next_jury_step(appeal: &Appeal, me: Address, now: u64, kept: Kept) -> Step {
    let status = appeal
        .jurors
        .iter()
        .find(|j| j.node == me)
        .map(|j| j.status);
    let past_deadline = now >= appeal.deadline;
    match appeal.state {
        AppealState::JUDGING => match status {
            Some(JurorStatus::SELECTED) if past_deadline => Step::Cancel,
            Some(JurorStatus::SELECTED) if kept == Kept::Outcome => Step::Commit,
            Some(JurorStatus::SELECTED) => Step::Run,
            _ if past_deadline => Step::Cancel,
            _ => Step::Wait,
        },
        AppealState::REVEALING => match status {
            Some(JurorStatus::COMMITTED) if past_deadline => Step::Cancel,
            Some(JurorStatus::COMMITTED) if kept == Kept::Outcome => Step::Reveal,
            Some(JurorStatus::COMMITTED) => Step::Lost,
            _ if past_deadline => Step::Cancel,
            _ => Step::Wait,
        },
        _ => Step::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::U256;
    use contracts::TaskManager::Seat;

    fn node(n: u8) -> Address {
        Address::repeat_byte(n)
    }

    fn seat(n: u8, status: u8) -> Seat {
        Seat {
            node: node(n),
            status,
            commitRank: 0,
            revealRank: 0,
            released: false,
            errorCode: 0,
            commitment: Default::default(),
            nonce: Default::default(),
            score: Default::default(),
            filesDigest: Default::default(),
        }
    }

    fn task(state: u8, statuses: [u8; 3], deadline: u64) -> Task {
        Task {
            id: U256::from(1),
            state,
            abortReason: 0,
            commits: 0,
            errors: 0,
            reveals: 0,
            uploaderSeat: 1,
            creator: node(9),
            createdBlock: 1,
            createdAt: 1,
            startedAt: 1,
            deadline,
            fee: U256::from(1),
            feeLeft: U256::from(1),
            seedCommitment: Default::default(),
            seed: Default::default(),
            gpuId: Default::default(),
            request: contracts::TaskManager::TaskRequest {
                taskType: contracts::requests::TASK_TYPE_SD,
                taskHash: Default::default(),
                modelIds: vec!["sd-tiny".into()],
                minVram: 1,
                gpuName: String::new(),
                gpuVram: 0,
                version: contracts::requests::PROTOCOL_VERSION,
                size: 1,
            },
            seats: [
                seat(1, statuses[0]),
                seat(2, statuses[1]),
                seat(3, statuses[2]),
            ],
            result: Default::default(),
            resultDigest: Default::default(),
        }
    }

    use SeatStatus as S;
    use TaskState as T;

    #[test]
    fn a_selected_node_runs_then_commits_before_the_deadline() {
        let t = task(T::RUNNING, [S::SELECTED, S::COMMITTED, S::SELECTED], 100);
        assert_eq!(next_step(&t, node(1), 50, Kept::Nothing), Step::Run);
        assert_eq!(next_step(&t, node(1), 50, Kept::Outcome), Step::Commit);
        assert_eq!(next_step(&t, node(2), 50, Kept::Outcome), Step::Wait);
        // Past the deadline, anyone moves the task on; the silent seat is penalized.
        assert_eq!(next_step(&t, node(1), 100, Kept::Outcome), Step::Cancel);
        assert_eq!(next_step(&t, node(2), 100, Kept::Outcome), Step::Cancel);
    }

    #[test]
    fn a_committed_node_reveals_what_it_kept() {
        let t = task(T::REVEALING, [S::COMMITTED, S::REVEALED, S::ERRORED], 100);
        assert_eq!(next_step(&t, node(1), 50, Kept::Outcome), Step::Reveal);
        assert_eq!(next_step(&t, node(1), 50, Kept::Nothing), Step::Lost);
        assert_eq!(next_step(&t, node(2), 50, Kept::Outcome), Step::Wait);
        assert_eq!(next_step(&t, node(2), 100, Kept::Outcome), Step::Cancel);
    }

    #[test]
    fn only_the_uploader_uploads() {
        let t = task(T::VALIDATED, [S::REVEALED, S::REVEALED, S::REVEALED], 100);
        assert_eq!(next_step(&t, node(2), 50, Kept::Outcome), Step::Upload);
        assert_eq!(next_step(&t, node(2), 500, Kept::Outcome), Step::Upload);
        assert_eq!(next_step(&t, node(2), 50, Kept::Nothing), Step::Lost);
        assert_eq!(next_step(&t, node(1), 50, Kept::Outcome), Step::Done);
        assert_eq!(next_step(&t, node(1), 100, Kept::Outcome), Step::Cancel);
    }

    #[test]
    fn ended_tasks_need_nothing() {
        for state in [T::SUCCESS, T::ABORTED] {
            let t = task(state, [S::REVEALED, S::REVEALED, S::TIMED_OUT], 100);
            assert_eq!(next_step(&t, node(3), 500, Kept::Outcome), Step::Done);
        }
    }

    fn appeal(state: u8, statuses: &[u8], deadline: u64) -> Appeal {
        Appeal {
            state,
            dissenter: 2,
            commits: 0,
            errors: 0,
            reveals: 0,
            majorityVotes: 0,
            dissentVotes: 0,
            appellant: node(3),
            filedBlock: 1,
            deadline,
            bond: U256::from(1),
            secretCommitment: Default::default(),
            seed: Default::default(),
            pot: U256::ZERO,
            jurors: statuses
                .iter()
                .enumerate()
                .map(|(i, status)| contracts::Appeals::Juror {
                    node: node(10 + i as u8),
                    status: *status,
                    vote: 0,
                    commitRank: 0,
                    commitment: Default::default(),
                    nonce: Default::default(),
                    score: Default::default(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_juror_runs_commits_and_reveals_like_a_seat() {
        use AppealState as A;
        use JurorStatus as J;
        let a = appeal(A::JUDGING, &[J::SELECTED, J::COMMITTED, J::SELECTED], 100);
        assert_eq!(next_jury_step(&a, node(10), 50, Kept::Nothing), Step::Run);
        assert_eq!(
            next_jury_step(&a, node(10), 50, Kept::Outcome),
            Step::Commit
        );
        assert_eq!(next_jury_step(&a, node(11), 50, Kept::Outcome), Step::Wait);
        assert_eq!(
            next_jury_step(&a, node(11), 100, Kept::Outcome),
            Step::Cancel
        );
        let a = appeal(
            A::REVEALING,
            &[J::COMMITTED, J::REVEALED, J::TIMED_OUT],
            100,
        );
        assert_eq!(
            next_jury_step(&a, node(10), 50, Kept::Outcome),
            Step::Reveal
        );
        assert_eq!(next_jury_step(&a, node(10), 50, Kept::Nothing), Step::Lost);
        assert_eq!(next_jury_step(&a, node(11), 50, Kept::Outcome), Step::Wait);
        assert_eq!(
            next_jury_step(&a, node(12), 100, Kept::Nothing),
            Step::Cancel
        );
        for state in [A::OVERTURNED, A::UPHELD, A::VOID, A::DRAWING] {
            let a = appeal(state, &[J::REVEALED], 100);
            assert_eq!(next_jury_step(&a, node(10), 50, Kept::Outcome), Step::Done);
        }
    }
}
