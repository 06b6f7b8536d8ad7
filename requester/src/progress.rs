//! A running task's progress as its seats tell the relay: a node's word, shown to people
//! so they see the task move ("step 12/20 on 2 of 3 nodes"), never checked and never
//! part of a verdict.

use std::fmt;

use relay_api::TaskProgress;

/// How far a task's seats say they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps {
    /// The furthest step any seat reported.
    pub step: u32,
    /// Steps in all, as that seat counts them.
    pub steps: u32,
    /// Seats that reported any step.
    pub reporting: usize,
    /// Seats in all.
    pub seats: usize,
}

impl Steps {
    /// The summary of `progress` for a task with `seats` seats; `None` when no seat has
    /// reported yet.
    pub fn of(progress: &TaskProgress, seats: usize) -> Option<Self> {
        let furthest = progress
            .nodes
            .iter()
            .max_by_key(|n| (u64::from(n.step) << 32) / u64::from(n.steps.max(1)))?;
        Some(Self {
            step: furthest.step,
            steps: furthest.steps,
            reporting: progress.nodes.len().min(seats),
            seats,
        })
    }
}

impl fmt::Display for Steps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let node = if self.seats == 1 { "node" } else { "nodes" };
        write!(
            f,
            "step {}/{} on {} of {} {node}",
            self.step, self.steps, self.reporting, self.seats
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Address;
    use relay_api::NodeProgress;

    fn progress(reports: &[(u32, u32)]) -> TaskProgress {
        TaskProgress {
            task_id: "7".into(),
            nodes: reports
                .iter()
                .enumerate()
                .map(|(i, &(step, steps))| NodeProgress {
                    node: Address::repeat_byte(i as u8 + 1),
                    step,
                    steps,
                    updated_at: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn the_furthest_seat_is_shown_with_how_many_report() {
        assert_eq!(Steps::of(&progress(&[]), 3), None);
        let two = Steps::of(&progress(&[(12, 20), (9, 20)]), 3).unwrap();
        assert_eq!(two.to_string(), "step 12/20 on 2 of 3 nodes");
        // Furthest by fraction, not by count: 5 of 6 is further than 12 of 20.
        let mixed = Steps::of(&progress(&[(12, 20), (5, 6), (0, 20)]), 3).unwrap();
        assert_eq!(mixed.to_string(), "step 5/6 on 3 of 3 nodes");
        let single = Steps::of(&progress(&[(1, 4)]), 1).unwrap();
        assert_eq!(single.to_string(), "step 1/4 on 1 of 1 node");
    }
}
