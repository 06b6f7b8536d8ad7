//! The node worker's events in words: each activity described, its kind and figures for
//! the activity log, the commands an event answers, a failed command as a sentence.

use worker_protocol::{Activity, CommandKind, Event};

use super::QUIT;
use crate::format::{duration, mib, short};

/// A failed command in words.
pub fn failure(command: CommandKind, message: &str) -> String {
    let what = match command {
        CommandKind::Init => "load the node key",
        CommandKind::Probe => "look at this browser's compute",
        CommandKind::Benchmark => "run the benchmark",
        CommandKind::Status => "read the node's record on chain",
        CommandKind::Join => "join the network",
        CommandKind::Start => "start serving",
        CommandKind::Stop => "stop serving",
        CommandKind::Quit => "quit the network",
        CommandKind::Withdraw => "withdraw",
        CommandKind::ExportKey => "export the node key",
        CommandKind::RemoveKey => "remove the node key",
        CommandKind::BenchTask => "time the task",
        CommandKind::CacheInfo => "read the model cache",
        CommandKind::ClearCache => "clear the model cache",
    };
    format!("Could not {what}: {message}")
}

/// The node worker itself failed (it did not load, or threw): its code runs no more.
pub fn worker_failure(message: &str) -> String {
    format!(
        "The node worker failed: {message}. It is not running any more: reload the tab to \
         start it again (a task in hand is then resumed or reported by the rules)."
    )
}

/// The commands an event answers: the page stops showing them as in progress.
pub fn answered_by(event: &Event) -> Vec<CommandKind> {
    use CommandKind as C;
    match event {
        Event::Error { command, .. } => vec![*command],
        Event::Key { .. } => vec![C::Init, C::RemoveKey],
        Event::ExportedKey { .. } => vec![C::ExportKey],
        Event::Capability(_) => vec![C::Probe],
        Event::Benchmark(_) => vec![C::Benchmark],
        Event::TaskBench(_) => vec![C::BenchTask],
        Event::Status(view) if view.status == QUIT => {
            vec![C::Init, C::Status, C::Quit, C::Withdraw, C::RemoveKey]
        }
        Event::Status(_) => vec![C::Init, C::Status, C::Join, C::Quit, C::Withdraw],
        Event::Serving { .. } => vec![C::Start, C::Stop],
        Event::Cache(_) => vec![C::CacheInfo, C::ClearCache],
        Event::Ready | Event::Activity(_) | Event::Unreadable { .. } => Vec::new(),
    }
}

/// An activity's kind as serialized (`modelReady`), for `data-kind`.
pub fn activity_kind(activity: &Activity) -> String {
    serde_json::to_value(activity)
        .ok()
        .and_then(|v| v["kind"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// How an activity reads in the log: good news, bad news, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mood {
    /// A step done: a commitment, a reveal, an upload, a model ready, a task done.
    Good,
    /// Something went wrong or is retried.
    Bad,
    /// Neither.
    Plain,
}

/// How `activity` reads in the log.
pub fn mood(activity: &Activity) -> Mood {
    match activity {
        Activity::Lost { .. }
        | Activity::Refused { .. }
        | Activity::Cancelled { .. }
        | Activity::Retrying { .. }
        | Activity::Warning { .. }
        | Activity::CacheCorrupt { .. } => Mood::Bad,
        Activity::Done { .. }
        | Activity::Committed { .. }
        | Activity::Revealed { .. }
        | Activity::Uploaded { .. }
        | Activity::ModelReady { .. } => Mood::Good,
        _ => Mood::Plain,
    }
}

/// The task an activity is about, if any.
pub fn activity_task(activity: &Activity) -> Option<&str> {
    match activity {
        Activity::Selected { task }
        | Activity::WaitingForArgs { task, .. }
        | Activity::Running { task, .. }
        | Activity::Progress { task, .. }
        | Activity::Ran { task, .. }
        | Activity::Refused { task, .. }
        | Activity::Committed { task, .. }
        | Activity::Revealed { task }
        | Activity::Uploaded { task, .. }
        | Activity::Cancelled { task }
        | Activity::Lost { task }
        | Activity::Done { task } => Some(task),
        _ => None,
    }
}

/// An activity's figures, for `data-` attributes of its log line (`data-ms` of `ran`,
/// `data-downloaded` of `modelReady`, …): decimal text, `None` where the kind has none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActivityData {
    /// The model it concerns.
    pub model: Option<String>,
    /// Inference milliseconds (`ran`).
    pub ms: Option<String>,
    /// Bytes fetched from the relay (`modelReady`).
    pub downloaded: Option<String>,
    /// Bytes found in the cache (`modelReady`).
    pub cached: Option<String>,
    /// Bytes fetched so far (`downloading`).
    pub done: Option<String>,
    /// Bytes in all (`downloading`).
    pub total: Option<String>,
    /// Step reached (`progress`).
    pub step: Option<String>,
    /// Steps in all (`progress`).
    pub steps: Option<String>,
}

/// The figures of an activity (see [`ActivityData`]).
pub fn activity_data(activity: &Activity) -> ActivityData {
    let text = |n: &dyn ToString| Some(n.to_string());
    match activity {
        Activity::Ran { ms, .. } => ActivityData {
            ms: text(ms),
            ..ActivityData::default()
        },
        Activity::ModelReady {
            model,
            downloaded,
            cached,
        } => ActivityData {
            model: Some(model.clone()),
            downloaded: text(downloaded),
            cached: text(cached),
            ..ActivityData::default()
        },
        Activity::Downloading { model, done, total } => ActivityData {
            model: Some(model.clone()),
            done: text(done),
            total: text(total),
            ..ActivityData::default()
        },
        Activity::Progress { step, steps, .. } => ActivityData {
            step: text(step),
            steps: text(steps),
            ..ActivityData::default()
        },
        Activity::Running { model, .. } | Activity::CacheCorrupt { model, .. } => ActivityData {
            model: Some(model.clone()),
            ..ActivityData::default()
        },
        _ => ActivityData::default(),
    }
}

/// Whether the node's record on chain has probably changed, so the page should ask for
/// [`Command::Status`] again.
pub fn changes_status(activity: &Activity) -> bool {
    matches!(
        activity,
        Activity::Serving { .. }
            | Activity::Stopped { .. }
            | Activity::Selected { .. }
            | Activity::Refused { .. }
            | Activity::Committed { .. }
            | Activity::Revealed { .. }
            | Activity::Uploaded { .. }
            | Activity::Cancelled { .. }
            | Activity::Lost { .. }
            | Activity::Done { .. }
    )
}

/// An activity in plain words.
pub fn describe(activity: &Activity) -> String {
    match activity {
        Activity::Serving { node } => format!("Serving tasks as node {}.", short(node)),
        Activity::Pausing => {
            "Pausing on chain so that no new task is drawn; the task in hand is finished first."
                .into()
        }
        Activity::Stopped { reason } if reason.is_empty() => "Stopped serving.".into(),
        Activity::Stopped { reason } => format!("Stopped serving: {reason}."),
        Activity::Downloading { model, done, total } => {
            let percent = if *total > 0 {
                (*done as f64 / *total as f64 * 100.0).min(100.0)
            } else {
                0.0
            };
            format!(
                "Downloading {model}: {} of {} MiB ({percent:.0}%).",
                mib(*done as f64),
                mib(*total as f64)
            )
        }
        Activity::ModelReady {
            model,
            downloaded,
            cached,
        } => format!(
            "{model} is ready: {} MiB downloaded, {} MiB from the cache, every file checked.",
            mib(*downloaded as f64),
            mib(*cached as f64)
        ),
        Activity::CacheCorrupt { model, path } => {
            format!("A cached file of {model} ({path}) did not match its hash; fetching it again.")
        }
        Activity::Selected { task } => {
            format!("Selected for task #{task}: fetching its arguments.")
        }
        Activity::WaitingForArgs { task, reason } => {
            format!("Task #{task}: waiting for its arguments ({reason}).")
        }
        Activity::Running { task, model } => format!("Task #{task}: running {model}."),
        Activity::Progress {
            task,
            step,
            steps,
            detail,
        } => {
            if detail.is_empty() {
                format!("Task #{task}: step {step} of {steps}.")
            } else {
                format!("Task #{task}: step {step} of {steps} ({detail}).")
            }
        }
        Activity::Ran { task, ms } => {
            format!("Task #{task}: inference finished in {}.", duration(*ms))
        }
        Activity::Refused {
            task,
            code,
            name,
            reason,
        } => format!(
            "Task #{task} cannot run here ({name}, code {code}): {reason}. Reported on chain."
        ),
        Activity::Committed { task, score } => format!(
            "Task #{task}: commitment to score {} sent to the chain.",
            short(score)
        ),
        Activity::Revealed { task } => format!("Task #{task}: score revealed."),
        Activity::Uploaded { task, files } => {
            format!("Task #{task}: {files} result file(s) uploaded to the relay.")
        }
        Activity::Cancelled { task } => {
            format!("Task #{task} passed a deadline and was moved on.")
        }
        Activity::Lost { task } => format!(
            "Task #{task}: the kept outcome was lost, so this seat could not act (it will be \
             penalized)."
        ),
        Activity::Done { task } => format!("Task #{task} needs nothing more from this node."),
        Activity::Retrying { what, error } => format!("Retrying {what}: {error}."),
        Activity::Warning { message } => message.clone(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::provide::join::tests::quit_node;
    use worker_protocol::NodeView;

    pub(crate) fn every_activity() -> Vec<Activity> {
        let task = || "7".to_owned();
        vec![
            Activity::Serving {
                node: "0xabcdef0123456789abcdef0123456789abcdef01".into(),
            },
            Activity::Pausing,
            Activity::Stopped {
                reason: "asked".into(),
            },
            Activity::Downloading {
                model: "sd-tiny".into(),
                done: 1 << 20,
                total: 4 << 20,
            },
            Activity::ModelReady {
                model: "sd-tiny".into(),
                downloaded: 4 << 20,
                cached: 0,
            },
            Activity::CacheCorrupt {
                model: "sd-tiny".into(),
                path: "unet/x".into(),
            },
            Activity::Selected { task: task() },
            Activity::WaitingForArgs {
                task: task(),
                reason: "404".into(),
            },
            Activity::Running {
                task: task(),
                model: "sd-tiny".into(),
            },
            Activity::Progress {
                task: task(),
                step: 3,
                steps: 6,
                detail: "image 1/2".into(),
            },
            Activity::Ran {
                task: task(),
                ms: 1500,
            },
            Activity::Refused {
                task: task(),
                code: 2,
                name: "ModelTooLarge".into(),
                reason: "no".into(),
            },
            Activity::Committed {
                task: task(),
                score: "0x00ff00ff00ff00ff00ff".into(),
            },
            Activity::Revealed { task: task() },
            Activity::Uploaded {
                task: task(),
                files: 2,
            },
            Activity::Cancelled { task: task() },
            Activity::Lost { task: task() },
            Activity::Done { task: task() },
            Activity::Retrying {
                what: "commit".into(),
                error: "nonce".into(),
            },
            Activity::Warning {
                message: "the relay is slow".into(),
            },
        ]
    }

    #[test]
    fn activity_kinds_and_tasks_match_the_wire_format() {
        for activity in every_activity() {
            let json = serde_json::to_value(&activity).unwrap();
            assert!(!activity_kind(&activity).is_empty(), "{activity:?}");
            assert_eq!(
                json.get("task").and_then(|t| t.as_str()),
                activity_task(&activity),
                "{activity:?}"
            );
            let words = describe(&activity);
            assert!(words.len() > 5 && !words.contains("{"), "{words}");
        }
        assert_eq!(
            describe(&Activity::Downloading {
                model: "m".into(),
                done: 1 << 20,
                total: 4 << 20
            }),
            "Downloading m: 1.0 of 4.0 MiB (25%)."
        );
        let ready = activity_data(&Activity::ModelReady {
            model: "sd-tiny".into(),
            downloaded: 0,
            cached: 4096,
        });
        assert_eq!(ready.downloaded.as_deref(), Some("0"));
        assert_eq!(ready.cached.as_deref(), Some("4096"));
        assert_eq!(ready.model.as_deref(), Some("sd-tiny"));
        let ran = activity_data(&Activity::Ran {
            task: "9".into(),
            ms: 1234,
        });
        assert_eq!(ran.ms.as_deref(), Some("1234"));
        assert_eq!(ran.downloaded, None);
        assert_eq!(activity_data(&Activity::Pausing), ActivityData::default());
        assert_eq!(
            describe(&Activity::Ran {
                task: "9".into(),
                ms: 12_345
            }),
            "Task #9: inference finished in 12.3 s."
        );
    }

    #[test]
    fn losses_are_bad_news_and_finished_steps_good() {
        assert_eq!(mood(&Activity::Lost { task: "1".into() }), Mood::Bad);
        assert_eq!(mood(&Activity::Done { task: "1".into() }), Mood::Good);
        assert_eq!(mood(&Activity::Pausing), Mood::Plain);
    }

    #[test]
    fn failures_read_as_sentences() {
        assert_eq!(
            failure(CommandKind::Join, "insufficient funds"),
            "Could not join the network: insufficient funds"
        );
        assert!(worker_failure("404").starts_with("The node worker failed: 404. "));
        assert!(worker_failure("404").contains("reload the tab"));
    }

    #[test]
    fn answers_clear_what_they_answer() {
        let joined = Event::Status(NodeView {
            status: "Available".into(),
            ..NodeView::default()
        });
        assert!(answered_by(&joined).contains(&CommandKind::Join));
        // A Quit status right after Join was sent is the old record, not the answer.
        assert!(!answered_by(&Event::Status(quit_node())).contains(&CommandKind::Join));
        assert!(answered_by(&Event::Status(quit_node())).contains(&CommandKind::Quit));
        let failed = Event::Error {
            command: CommandKind::Join,
            message: "no funds".into(),
        };
        assert_eq!(answered_by(&failed), [CommandKind::Join]);
        assert!(answered_by(&Event::Serving { serving: false }).contains(&CommandKind::Stop));
        assert!(answered_by(&Event::Ready).is_empty());
    }
}
