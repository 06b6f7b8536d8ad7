//! The running record of this tab's node: the activity log, the task in hand and its
//! phases, the tasks finished this session, a model download in progress.

use std::collections::VecDeque;

use worker_protocol::Activity;

/// How many activities the log keeps.
pub const LOG_LEN: usize = 50;

/// One line of the activity log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// When it arrived (local time, as the page read its clock).
    pub at: String,
    /// What happened.
    pub activity: Activity,
}

/// A model download in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// The model.
    pub model: String,
    /// Bytes fetched.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

/// The phases of a task in hand, in order, with their names on the page.
pub const PHASES: [(&str, &str); 7] = [
    ("selected", "arguments"),
    ("running", "inference"),
    ("ran", "outcome kept"),
    ("committed", "committed"),
    ("revealed", "revealed"),
    ("uploaded", "uploaded"),
    ("done", "done"),
];

/// The task this node is working on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInHand {
    /// Its id, decimal.
    pub task: String,
    /// The model running it, once known.
    pub model: Option<String>,
    /// Index into [`PHASES`] of the last phase reached.
    pub phase: usize,
    /// Inference steps (or tokens) done.
    pub step: u32,
    /// Inference steps (or tokens) in all; 0 before the first progress.
    pub steps: u32,
    /// The last progress detail.
    pub detail: String,
    /// Inference time, once finished.
    pub ms: Option<u64>,
}

impl TaskInHand {
    fn new(task: &str) -> Self {
        Self {
            task: task.to_owned(),
            model: None,
            phase: 0,
            step: 0,
            steps: 0,
            detail: String::new(),
            ms: None,
        }
    }

    fn reach(&mut self, kind: &str) {
        if let Some(i) = PHASES.iter().position(|(k, _)| *k == kind) {
            self.phase = self.phase.max(i);
        }
    }
}

/// A task this session finished with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTask {
    /// Its id.
    pub task: String,
    /// Inference time, when it ran here.
    pub ms: Option<u64>,
    /// How it ended, in words.
    pub outcome: String,
}

/// The record of this tab's node: the activity log (newest first), the task in hand,
/// the session's finished tasks, a model download in progress.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeLog {
    /// The last [`LOG_LEN`] activities, newest first; consecutive progress of one task
    /// (or download of one model) is one line, updated.
    pub entries: VecDeque<LogEntry>,
    /// The task in hand.
    pub current: Option<TaskInHand>,
    /// Tasks finished this session, newest first.
    pub history: Vec<SessionTask>,
    /// A model download in progress.
    pub downloading: Option<Download>,
}

impl NodeLog {
    /// Records one activity that arrived at `at`.
    pub fn apply(&mut self, activity: Activity, at: String) {
        self.track(&activity);
        let replaces = self.entries.front().is_some_and(|last| {
            matches!(
                (&last.activity, &activity),
                (Activity::Progress { task: a, .. }, Activity::Progress { task: b, .. }) if a == b
            ) || matches!(
                (&last.activity, &activity),
                (Activity::Downloading { model: a, .. }, Activity::Downloading { model: b, .. }) if a == b
            )
        });
        if replaces {
            self.entries.pop_front();
        }
        self.entries.push_front(LogEntry { at, activity });
        self.entries.truncate(LOG_LEN);
    }

    fn task_mut(&mut self, task: &str) -> &mut TaskInHand {
        if self.current.as_ref().is_none_or(|c| c.task != task) {
            self.current = Some(TaskInHand::new(task));
        }
        self.current.get_or_insert_with(|| TaskInHand::new(task))
    }

    fn track(&mut self, activity: &Activity) {
        match activity {
            Activity::Downloading { model, done, total } => {
                self.downloading = Some(Download {
                    model: model.clone(),
                    done: *done,
                    total: *total,
                });
            }
            Activity::ModelReady { .. } | Activity::Stopped { .. } => self.downloading = None,
            Activity::Selected { task } | Activity::WaitingForArgs { task, .. } => {
                self.task_mut(task).reach("selected");
            }
            Activity::Running { task, model } => {
                let current = self.task_mut(task);
                current.model = Some(model.clone());
                current.reach("running");
            }
            Activity::Progress {
                task,
                step,
                steps,
                detail,
            } => {
                let current = self.task_mut(task);
                current.step = *step;
                current.steps = *steps;
                current.detail = detail.clone();
                current.reach("running");
            }
            Activity::Ran { task, ms } => {
                let current = self.task_mut(task);
                current.ms = Some(*ms);
                if current.steps > 0 {
                    current.step = current.steps;
                }
                current.reach("ran");
            }
            Activity::Committed { task, .. } => self.task_mut(task).reach("committed"),
            Activity::Revealed { task } => self.task_mut(task).reach("revealed"),
            Activity::Uploaded { task, .. } => self.task_mut(task).reach("uploaded"),
            Activity::Refused { task, name, .. } => self.finish(task, format!("refused ({name})")),
            Activity::Cancelled { task } => self.finish(task, "cancelled".into()),
            Activity::Lost { task } => self.finish(task, "lost".into()),
            Activity::Done { task } => self.finish(task, "done".into()),
            Activity::Serving { .. }
            | Activity::Pausing
            | Activity::CacheCorrupt { .. }
            | Activity::Retrying { .. }
            | Activity::Warning { .. } => {}
        }
    }

    /// Moves `task` from hand to the history; a task already there keeps its first
    /// outcome other than `done` (a refusal followed by `done` stays a refusal).
    fn finish(&mut self, task: &str, outcome: String) {
        let held = self.current.take_if(|c| c.task == task).and_then(|c| c.ms);
        if let Some(known) = self.history.iter_mut().find(|h| h.task == task) {
            if known.outcome == "done" {
                known.outcome = outcome;
            }
            known.ms = known.ms.or(held);
            return;
        }
        self.history.insert(
            0,
            SessionTask {
                task: task.to_owned(),
                ms: held,
                outcome,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provide::activity::activity_kind;
    use crate::provide::join::{JoinStep, join_words};

    #[test]
    fn the_log_follows_a_task_from_selection_to_done() {
        let mut log = NodeLog::default();
        let at = || "12:00:00".to_owned();
        log.apply(
            Activity::Downloading {
                model: "sd-tiny".into(),
                done: 1,
                total: 10,
            },
            at(),
        );
        log.apply(
            Activity::Downloading {
                model: "sd-tiny".into(),
                done: 5,
                total: 10,
            },
            at(),
        );
        assert_eq!(log.entries.len(), 1, "one line per download, updated");
        assert_eq!(log.downloading.as_ref().unwrap().done, 5);
        assert_eq!(
            join_words(JoinStep::Joining, log.downloading.as_ref()),
            "downloading models… sd-tiny (0.0 of 0.0 MiB)"
        );
        log.apply(
            Activity::ModelReady {
                model: "sd-tiny".into(),
                downloaded: 10,
                cached: 0,
            },
            at(),
        );
        assert_eq!(log.downloading, None);
        assert_eq!(join_words(JoinStep::Joining, None), "joining…");

        log.apply(Activity::Selected { task: "7".into() }, at());
        log.apply(
            Activity::Running {
                task: "7".into(),
                model: "sd-tiny".into(),
            },
            at(),
        );
        for step in 1..=3 {
            log.apply(
                Activity::Progress {
                    task: "7".into(),
                    step,
                    steps: 6,
                    detail: String::new(),
                },
                at(),
            );
        }
        let current = log.current.as_ref().unwrap();
        assert_eq!((current.step, current.steps, current.phase), (3, 6, 1));
        assert_eq!(activity_kind(&log.entries[0].activity), "progress");
        assert_eq!(log.entries.len(), 5, "progress lines coalesce");
        log.apply(
            Activity::Ran {
                task: "7".into(),
                ms: 900,
            },
            at(),
        );
        log.apply(
            Activity::Committed {
                task: "7".into(),
                score: "0x01".into(),
            },
            at(),
        );
        assert_eq!(log.current.as_ref().unwrap().phase, 3);
        assert_eq!(log.current.as_ref().unwrap().step, 6);
        log.apply(Activity::Revealed { task: "7".into() }, at());
        log.apply(Activity::Done { task: "7".into() }, at());
        assert_eq!(log.current, None);
        assert_eq!(
            log.history,
            [SessionTask {
                task: "7".into(),
                ms: Some(900),
                outcome: "done".into()
            }]
        );
        assert_eq!(activity_kind(&log.entries[0].activity), "done");

        // A refusal then `done` is one history line that says refused.
        log.apply(Activity::Selected { task: "8".into() }, at());
        log.apply(
            Activity::Refused {
                task: "8".into(),
                code: 1,
                name: "TooBig".into(),
                reason: "x".into(),
            },
            at(),
        );
        log.apply(Activity::Done { task: "8".into() }, at());
        assert_eq!(log.history.len(), 2);
        assert_eq!(log.history[0].outcome, "refused (TooBig)");

        for i in 0..100 {
            log.apply(
                Activity::Warning {
                    message: format!("w{i}"),
                },
                at(),
            );
        }
        assert_eq!(log.entries.len(), LOG_LEN);
        assert_eq!(
            log.entries[0].activity,
            Activity::Warning {
                message: "w99".into()
            }
        );
    }
}
