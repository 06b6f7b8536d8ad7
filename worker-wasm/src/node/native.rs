//! The native node's [`Host`]: tokio timers, outcomes in the state directory
//! ([`Journal`]), models in a content-checked folder ([`ModelStore`]), the engine on a
//! blocking thread, and reports as `tracing` lines (progress on [`Bars`] on a terminal).

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{B256, U256};
use engine::Device;
use relay_client::RelayClient;
use web_time::Instant;
use worker_protocol::Activity;

use super::bars::Bars;
use super::host::{Host, HostError, Outcome, Steps};
use super::journal::Journal;
use super::models::ModelStore;
use engine::task::{self, Task};

/// A node on this machine.
pub struct NativeHost {
    relay: RelayClient,
    models: Arc<ModelStore>,
    journal: Journal,
    device: Device,
    bars: Bars,
}

impl NativeHost {
    /// A host keeping outcomes in `journal` and models in `models` (fetched through
    /// `relay`), running the engine on `device`, showing progress on `bars`.
    pub fn new(
        relay: RelayClient,
        models: ModelStore,
        journal: Journal,
        device: Device,
        bars: Bars,
    ) -> Self {
        Self {
            relay,
            models: Arc::new(models),
            journal,
            device,
            bars,
        }
    }

    /// Shows `activity` on a bar, or as a log line when it is not progress or no bars
    /// are shown. Lines are rate-limited by the callers; bars limit their own drawing.
    fn progress(bars: &Bars, activity: &Activity) {
        if !bars.show(activity) {
            log(activity);
        }
    }
}

impl Host for NativeHost {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    fn report(&self, activity: Activity) {
        Self::progress(&self.bars, &activity);
    }

    fn held_models(&self) -> Vec<String> {
        self.models.held()
    }

    async fn ensure_model(&self, name: &str, registered: B256) -> Result<(), HostError> {
        let mut last_logged = Instant::now();
        let bars = self.bars.clone();
        let mut report = |model: &str, done: u64, total: u64| {
            let due = done == total || last_logged.elapsed() > Duration::from_secs(2);
            if bars.active() || due {
                last_logged = Instant::now();
                Self::progress(
                    &bars,
                    &Activity::Downloading {
                        model: model.to_owned(),
                        done,
                        total,
                    },
                );
            }
        };
        match self
            .models
            .ensure(&self.relay, name, registered, &mut report)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(HostError {
                transient: e.is_transient(),
                message: e.to_string(),
            }),
        }
    }

    async fn run_task(
        &self,
        id: U256,
        task: Task,
        steps: &Steps,
    ) -> Result<task::Outcome, engine::EngineError> {
        let folder = self.models.folder(task.model_name());
        let lora = task.lora_model_name().map(|name| self.models.folder(name));
        let device = self.device.clone();
        let bars = self.bars.clone();
        let steps = steps.clone();
        tokio::task::spawn_blocking(move || {
            let mut last = Instant::now();
            let models = task::TaskModels {
                base: folder.as_path(),
                lora: lora.as_deref(),
            };
            pollster::block_on(task::run(&task, models, &device, |p| {
                steps.set(p.done, p.total);
                if bars.active() || last.elapsed() > Duration::from_millis(500) {
                    last = Instant::now();
                    Self::progress(
                        &bars,
                        &Activity::Progress {
                            task: id.to_string(),
                            step: p.done,
                            steps: p.total,
                            detail: p.detail,
                        },
                    );
                }
            }))
        })
        .await
        .map_err(|e| engine::EngineError::Backend(format!("the engine crashed: {e}")))?
    }

    async fn load_outcome(&self, id: U256) -> Option<Outcome> {
        self.journal.load(id)
    }

    async fn save_outcome(&self, id: U256, outcome: &Outcome) -> Result<(), HostError> {
        self.journal
            .save(id, outcome)
            .map_err(|e| HostError::lasting(format!("state: {e}")))
    }

    async fn remove_outcome(&self, id: U256) {
        self.journal.remove(id);
    }

    async fn kept_tasks(&self) -> Vec<U256> {
        self.journal.ids()
    }
}

/// One log line per activity. `ran the task ... ms=` is read by the devnet benchmark.
pub fn log(activity: &Activity) {
    use Activity as A;
    match activity {
        A::Serving { node } => tracing::info!(node = %node, "serving"),
        A::Pausing => tracing::info!("stopping: pausing on chain so no new task is drawn"),
        A::Stopped { reason } => tracing::info!("stopped: {reason}"),
        A::Downloading { model, done, total } => tracing::info!(
            model,
            "downloading: {}/{} MB",
            done >> 20,
            (*total).max(1).div_ceil(1 << 20)
        ),
        A::ModelReady {
            model,
            downloaded,
            cached,
        } => tracing::info!(model = %model, downloaded, cached, "model ready"),
        A::CacheCorrupt { model, path } => {
            tracing::warn!(model = %model, path = %path, "a kept model file was corrupt; fetching it again")
        }
        A::Selected { task } => tracing::info!(task = %task, "selected; fetching the arguments"),
        A::WaitingForArgs { task, reason } => {
            tracing::info!(task = %task, "waiting for the arguments: {reason}")
        }
        A::Running { task, model } => tracing::info!(task = %task, model = %model, "running"),
        A::Progress { task, detail, .. } => tracing::info!(task = %task, "{detail}"),
        A::Ran { task, ms } => tracing::info!(task = %task, ms, "ran the task"),
        A::Refused {
            task,
            code,
            name,
            reason,
        } => tracing::warn!(task = %task, code, "cannot run the task ({name}): {reason}"),
        A::Committed { task, score } => tracing::info!(task = %task, score = %score, "committed"),
        A::Revealed { task } => tracing::info!(task = %task, "revealed"),
        A::Uploaded { task, files } => tracing::info!(task = %task, files, "uploaded the results"),
        A::Cancelled { task } => tracing::info!(task = %task, "moved the task past its deadline"),
        A::Lost { task } => tracing::error!(
            task = %task,
            "this node must act on the task but its record is gone (was the state directory \
             wiped?); the rules will penalize the seat"
        ),
        A::Done { task } => tracing::info!(task = %task, "done with the task"),
        A::Retrying { what, error } => tracing::warn!("{what}: {error}; retrying"),
        A::Warning { message } => tracing::warn!("{message}"),
    }
}
