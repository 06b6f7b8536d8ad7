//! Progress the native node shows while it works: on a terminal, one `indicatif` bar per
//! model download (bytes) and per task being run (steps), with the log lines printed above
//! them; anywhere else (a service, a pipe, a test's log file) plain log lines, as before.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use worker_protocol::Activity;

/// The bars of one node process, or none when stderr is not a terminal.
#[derive(Clone, Default)]
pub struct Bars {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    multi: MultiProgress,
    /// Live bars by model name (`d:`) or task id (`t:`).
    live: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    /// Bars on stderr when it is a terminal, otherwise none (plain log lines).
    pub fn for_stderr() -> Self {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            Self::drawing_to(ProgressDrawTarget::stderr())
        } else {
            Self::default()
        }
    }

    /// Bars drawn to `target` (tests draw to a hidden one).
    pub fn drawing_to(target: ProgressDrawTarget) -> Self {
        Self {
            inner: Some(Arc::new(Inner {
                multi: MultiProgress::with_draw_target(target),
                live: Mutex::new(HashMap::new()),
            })),
        }
    }

    /// Whether bars are shown (else the caller logs a line).
    pub fn active(&self) -> bool {
        self.inner.is_some()
    }

    /// Shows what `activity` says about progress on a bar. Returns false when it is not
    /// about progress or no bars are shown: the caller logs it as a line.
    pub fn show(&self, activity: &Activity) -> bool {
        let Some(inner) = &self.inner else {
            return false;
        };
        match activity {
            Activity::Downloading { model, done, total } => {
                let bar = inner.bar(&format!("d:{model}"), *total, || {
                    ProgressStyle::with_template(
                        "{msg:>16} {bar:32} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                    )
                    .expect("a valid template")
                    .progress_chars("=> ")
                });
                bar.set_message(model.clone());
                bar.set_length(*total);
                bar.set_position(*done);
                if done >= total {
                    inner.finish(&format!("d:{model}"));
                }
                true
            }
            Activity::Progress {
                task,
                step,
                steps,
                detail,
            } => {
                let bar = inner.bar(&format!("t:{task}"), u64::from(*steps), || {
                    ProgressStyle::with_template("task {prefix:>6} {bar:32} {pos}/{len} {msg}")
                        .expect("a valid template")
                        .progress_chars("=> ")
                });
                bar.set_prefix(task.clone());
                bar.set_length(u64::from(*steps));
                bar.set_position(u64::from(*step));
                bar.set_message(detail.clone());
                true
            }
            // A task's bar ends with the task's outcome (the line is logged as well).
            Activity::Ran { task, .. } | Activity::Refused { task, .. } => {
                inner.finish(&format!("t:{task}"));
                false
            }
            Activity::ModelReady { model, .. } => {
                inner.finish(&format!("d:{model}"));
                false
            }
            _ => false,
        }
    }

    /// The position and length of the live bar for a task (`t:ID`) or a download
    /// (`d:MODEL`), if one is live.
    pub fn position(&self, key: &str) -> Option<(u64, u64)> {
        let inner = self.inner.as_ref()?;
        let live = inner.live.lock().expect("not poisoned");
        live.get(key)
            .map(|bar| (bar.position(), bar.length().unwrap_or(0)))
    }

    /// A writer for log lines that keeps the bars intact: lines are printed above them.
    pub fn writer(&self) -> LineWriter {
        LineWriter {
            bars: self.clone(),
            buffer: Vec::new(),
        }
    }
}

impl Inner {
    fn bar(&self, key: &str, length: u64, style: impl FnOnce() -> ProgressStyle) -> ProgressBar {
        let mut live = self.live.lock().expect("not poisoned");
        live.entry(key.to_owned())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new(length));
                bar.set_style(style());
                bar
            })
            .clone()
    }

    fn finish(&self, key: &str) {
        if let Some(bar) = self.live.lock().expect("not poisoned").remove(key) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}

/// Writes log output to stderr, above the bars when there are any.
pub struct LineWriter {
    bars: Bars,
    buffer: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let text = std::mem::take(&mut self.buffer);
        match &self.bars.inner {
            Some(inner) => inner.multi.suspend(|| std::io::stderr().write_all(&text)),
            None => std::io::stderr().write_all(&text),
        }
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn downloading(done: u64, total: u64) -> Activity {
        Activity::Downloading {
            model: "sd-tiny".into(),
            done,
            total,
        }
    }

    #[test]
    fn without_a_terminal_everything_is_a_line() {
        let bars = Bars::default();
        assert!(!bars.active());
        assert!(!bars.show(&downloading(1, 2)));
    }

    #[test]
    fn downloads_and_steps_move_bars_that_end_with_their_work() {
        let bars = Bars::drawing_to(ProgressDrawTarget::hidden());
        assert!(bars.show(&downloading(3 << 20, 8 << 20)));
        assert_eq!(bars.position("d:sd-tiny"), Some((3 << 20, 8 << 20)));
        assert!(bars.show(&downloading(8 << 20, 8 << 20)));
        assert_eq!(
            bars.position("d:sd-tiny"),
            None,
            "a finished download's bar is gone"
        );

        let step = |step| Activity::Progress {
            task: "7".into(),
            step,
            steps: 20,
            detail: format!("image 1/1 step {step}/20"),
        };
        assert!(bars.show(&step(4)));
        assert!(bars.show(&step(12)));
        assert_eq!(bars.position("t:7"), Some((12, 20)));
        // The outcome is still logged as a line, and the task's bar ends.
        assert!(!bars.show(&Activity::Ran {
            task: "7".into(),
            ms: 10
        }));
        assert_eq!(bars.position("t:7"), None);
        // Other activity is a line.
        assert!(!bars.show(&Activity::Revealed { task: "7".into() }));
    }
}
