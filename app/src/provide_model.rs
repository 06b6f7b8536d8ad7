//! The Provide page's logic without a browser: what the node worker's activities mean in
//! words, which relay models this browser can serve, the stake to offer, what blocks
//! joining, and the running record of a serving session (activity log, task in hand,
//! history). Pure functions, tested natively.

use std::collections::VecDeque;

use alloy::primitives::U256;
use alloy::primitives::utils::parse_ether;
use relay::api::{Layout, ModelListing};
use worker_protocol::{Activity, Backend, Capability, Event, Network, NodeView};

use crate::config::AppConfig;
use crate::model::{cnx, short};

/// Largest model the CPU (wasm) backend is offered: the tiny models only.
pub const CPU_MODEL_LIMIT: u64 = 50 * 1_000_000;

/// What the wallet sends the node key beyond its stake, for the gas of joining, committing
/// and revealing.
pub const GAS_ALLOWANCE_CNX: &str = "1";

/// How many activities the log keeps.
pub const LOG_LEN: usize = 50;

/// The node status of a key that has not joined, or has left.
pub const QUIT: &str = "Quit";

/// What the node worker needs to reach the network the app serves (addresses
/// checksummed).
pub fn network(config: &AppConfig) -> Network {
    Network {
        chain_id: config.chain_id,
        rpc_url: config.rpc_url.clone(),
        relay_url: config.relay_url.clone(),
        node_registry: config.node_registry.to_string(),
        task_manager: config.task_manager.to_string(),
    }
}

/// Bytes in MiB, one decimal (`12.5`).
pub fn mib(bytes: f64) -> String {
    format!("{:.1}", bytes / (1024.0 * 1024.0))
}

/// A duration in words: `850 ms`, `12.3 s`, `2 min 5 s`.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// A decimal amount of wei (as the worker sends it) in CNX; the text itself if it is not
/// a number.
pub fn wei_to_cnx(wei: &str) -> String {
    match wei.trim().parse::<U256>() {
        Ok(amount) => cnx(amount),
        Err(_) => wei.to_owned(),
    }
}

/// A decimal amount of wei; zero when absent or not a number.
pub fn wei(text: &str) -> U256 {
    text.trim().parse().unwrap_or_default()
}

/// The stake the join form offers before the user types one: the network's minimum.
pub fn default_stake(node: &NodeView) -> String {
    wei_to_cnx(&node.min_stake)
}

/// The backend to offer first: WebGPU when the browser has a hardware adapter, otherwise
/// the wasm CPU backend. A software adapter (SwiftShader) emulates the GPU on the CPU far
/// more slowly than the CPU backend computes: `cargo xtask bench node` measured 13.9 s per
/// step of the tiny SD task on SwiftShader against 0.61 s on the wasm CPU backend.
pub fn default_backend(capability: Option<&Capability>) -> Backend {
    match capability.and_then(|c| c.webgpu.as_ref()) {
        Some(adapter) if !adapter.software => Backend::Webgpu,
        _ => Backend::Cpu,
    }
}

/// The backend's name on the page and in `<option value>`.
pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Webgpu => "webgpu",
        Backend::Cpu => "cpu",
    }
}

/// The backend named `name` (`webgpu` or `cpu`).
pub fn parse_backend(name: &str) -> Option<Backend> {
    match name {
        "webgpu" => Some(Backend::Webgpu),
        "cpu" => Some(Backend::Cpu),
        _ => None,
    }
}

/// The kind of task a model serves.
pub fn task_kind(layout: Layout) -> &'static str {
    match layout {
        Layout::DiffusersPipeline => "images (Stable Diffusion)",
        Layout::Transformers => "text (LLM)",
        Layout::Other => "no known task type",
    }
}

/// Whether one of the relay's models can be served from this browser, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFit {
    /// The model's name.
    pub name: String,
    /// Its layout (the task type it serves).
    pub layout: Layout,
    /// Its total bytes.
    pub size: u64,
    /// Its largest file's bytes.
    pub largest_file: u64,
    /// Why it cannot be served here; `None` when it can (or when nothing is known yet).
    pub problem: Option<String>,
}

impl ModelFit {
    /// Whether it can be served here.
    pub fn fits(&self) -> bool {
        self.problem.is_none()
    }
}

/// Judges each of the relay's models against this browser: on WebGPU every file must fit
/// one GPU buffer (`maxBufferSize`), on the CPU backend the whole model must be a tiny one
/// (under [`CPU_MODEL_LIMIT`]); either way it must fit the storage left to this origin.
/// Before the browser was probed (`capability` is `None`) nothing is ruled out.
pub fn model_fits(
    models: &[ModelListing],
    capability: Option<&Capability>,
    backend: Backend,
) -> Vec<ModelFit> {
    models
        .iter()
        .map(|model| {
            let largest_file = model.files.iter().map(|f| f.size).max().unwrap_or(0);
            let size = model.size.max(model.files.iter().map(|f| f.size).sum());
            let problem =
                capability.and_then(|c| fit_problem(model, size, largest_file, c, backend));
            ModelFit {
                name: model.name.clone(),
                layout: model.layout,
                size,
                largest_file,
                problem,
            }
        })
        .collect()
}

fn fit_problem(
    model: &ModelListing,
    size: u64,
    largest_file: u64,
    capability: &Capability,
    backend: Backend,
) -> Option<String> {
    if model.layout == Layout::Other {
        return Some("the engine runs no task of this layout".into());
    }
    match (backend, &capability.webgpu) {
        (Backend::Webgpu, None) => {
            return Some(format!(
                "this browser has no WebGPU ({})",
                capability.webgpu_missing.as_deref().unwrap_or("no adapter")
            ));
        }
        (Backend::Webgpu, Some(adapter)) if largest_file as f64 > adapter.max_buffer => {
            return Some(format!(
                "a file of {} MiB exceeds the GPU's largest buffer ({} MiB)",
                mib(largest_file as f64),
                mib(adapter.max_buffer)
            ));
        }
        (Backend::Cpu, _) if size > CPU_MODEL_LIMIT => {
            return Some(format!(
                "{} MiB is too large for the CPU backend (tiny models under {} MiB only)",
                mib(size as f64),
                mib(CPU_MODEL_LIMIT as f64)
            ));
        }
        _ => {}
    }
    if let Some(quota) = capability.storage_quota {
        let free = (quota - capability.storage_usage.unwrap_or(0.0)).max(0.0);
        if size as f64 > free {
            return Some(format!(
                "{} MiB exceeds the storage left to this site ({} MiB)",
                mib(size as f64),
                mib(free)
            ));
        }
    }
    None
}

/// One task type, and whether this browser can serve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTypeFit {
    /// `images (Stable Diffusion)` or `text (LLM)`.
    pub kind: &'static str,
    /// The relay's models of this type that fit.
    pub models: Vec<String>,
    /// Why none can be served, when none can.
    pub why_not: Option<String>,
}

/// Which task types this browser can serve, given the models' fits.
pub fn task_types(fits: &[ModelFit]) -> Vec<TaskTypeFit> {
    [Layout::DiffusersPipeline, Layout::Transformers]
        .into_iter()
        .map(|layout| {
            let of_kind: Vec<&ModelFit> = fits.iter().filter(|f| f.layout == layout).collect();
            let models: Vec<String> = of_kind
                .iter()
                .filter(|f| f.fits())
                .map(|f| f.name.clone())
                .collect();
            let why_not = if !models.is_empty() {
                None
            } else if of_kind.is_empty() {
                Some("the relay holds no model of this type".to_owned())
            } else {
                Some(
                    of_kind
                        .iter()
                        .filter_map(|f| f.problem.as_ref().map(|p| format!("{}: {p}", f.name)))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            };
            TaskTypeFit {
                kind: task_kind(layout),
                models,
                why_not,
            }
        })
        .collect()
}

/// What keeps "Fund and join" from going ahead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinBlocker {
    /// The node key is not known yet.
    #[error("The node key is not loaded yet.")]
    NoNode,
    /// The node has joined already.
    #[error("This node is {0}, not Quit: it has joined already.")]
    Joined(String),
    /// No model chosen.
    #[error("Choose at least one model to serve.")]
    NoModel,
    /// The stake is not an amount.
    #[error("The stake “{0}” is not an amount of CNX.")]
    BadStake(String),
    /// The stake is under the network's minimum.
    #[error("The stake must be at least {minimum} CNX.")]
    StakeTooLow {
        /// The minimum, in CNX.
        minimum: String,
    },
}

/// Checks the join form; returns the stake in wei.
pub fn check_join(
    node: Option<&NodeView>,
    models: &[String],
    stake: &str,
) -> Result<U256, JoinBlocker> {
    let node = node.ok_or(JoinBlocker::NoNode)?;
    if node.status != QUIT {
        return Err(JoinBlocker::Joined(node.status.clone()));
    }
    if models.is_empty() {
        return Err(JoinBlocker::NoModel);
    }
    let amount =
        parse_ether(stake.trim()).map_err(|_| JoinBlocker::BadStake(stake.trim().to_owned()))?;
    let minimum = wei(&node.min_stake);
    if amount < minimum || amount.is_zero() {
        return Err(JoinBlocker::StakeTooLow {
            minimum: cnx(minimum),
        });
    }
    Ok(amount)
}

/// What the wallet must send the node key so that it holds `stake` plus the gas
/// allowance; `None` when its `balance` covers it already.
pub fn funding_needed(stake: U256, balance: U256) -> Option<U256> {
    let allowance = parse_ether(GAS_ALLOWANCE_CNX).unwrap_or_default();
    let needed = stake.saturating_add(allowance);
    (balance < needed).then(|| needed - balance)
}

/// Where "Fund and join" stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinStep {
    /// The wallet is sending CNX to the node key.
    Funding,
    /// The worker fetches the models, then joins.
    Joining,
}

/// The join step in words; `downloading` is the model download in progress, if any.
pub fn join_words(step: JoinStep, downloading: Option<&Download>) -> String {
    match (step, downloading) {
        (JoinStep::Funding, _) => "funding the node key from your wallet…".into(),
        (JoinStep::Joining, Some(d)) => format!(
            "downloading models… {} ({} of {} MiB)",
            d.model,
            mib(d.done as f64),
            mib(d.total as f64)
        ),
        (JoinStep::Joining, None) => "joining…".into(),
    }
}

/// A failed command in words: `command` as [`Event::Error`] names it (a command's tag,
/// or `load` / `message` for the worker itself).
pub fn failure(command: &str, message: &str) -> String {
    let what = match command {
        "load" => {
            return format!(
                "The node worker failed: {message}. It is not running any more: reload the \
                 tab to start it again (a task in hand is then resumed or reported by the \
                 rules)."
            );
        }
        "message" | "?" => return message.to_owned(),
        "init" => "load the node key",
        "probe" => "look at this browser's compute",
        "benchmark" => "run the benchmark",
        "status" => "read the node's record on chain",
        "join" => "join the network",
        "start" => "start serving",
        "stop" => "stop serving",
        "quit" => "quit the network",
        "withdraw" => "withdraw",
        "exportKey" => "export the node key",
        "removeKey" => "remove the node key",
        "benchTask" => "time the task",
        "cacheInfo" => "read the model cache",
        "clearCache" => "clear the model cache",
        other => return format!("“{other}” failed: {message}"),
    };
    format!("Could not {what}: {message}")
}

/// The commands an event answers: the page stops showing them as in progress.
pub fn answered_by(event: &Event) -> Vec<&str> {
    match event {
        Event::Error { command, .. } => vec![command.as_str()],
        Event::Key { .. } => vec!["init", "removeKey"],
        Event::ExportedKey { .. } => vec!["exportKey"],
        Event::Capability(_) => vec!["probe"],
        Event::Benchmark(_) => vec!["benchmark"],
        Event::TaskBench(_) => vec!["benchTask"],
        Event::Status(view) if view.status == QUIT => {
            vec!["init", "status", "quit", "withdraw", "removeKey"]
        }
        Event::Status(_) => vec!["init", "status", "join", "quit", "withdraw"],
        Event::Serving { .. } => vec!["start", "stop"],
        Event::Cache(_) => vec!["cacheInfo", "clearCache"],
        Event::Ready | Event::Activity(_) => Vec::new(),
    }
}

/// An activity's kind as serialized (`modelReady`), for `data-kind`.
pub fn activity_kind(activity: &Activity) -> &'static str {
    match activity {
        Activity::Serving { .. } => "serving",
        Activity::Pausing => "pausing",
        Activity::Stopped { .. } => "stopped",
        Activity::Downloading { .. } => "downloading",
        Activity::ModelReady { .. } => "modelReady",
        Activity::CacheCorrupt { .. } => "cacheCorrupt",
        Activity::Selected { .. } => "selected",
        Activity::WaitingForArgs { .. } => "waitingForArgs",
        Activity::Running { .. } => "running",
        Activity::Progress { .. } => "progress",
        Activity::Ran { .. } => "ran",
        Activity::Refused { .. } => "refused",
        Activity::Committed { .. } => "committed",
        Activity::Revealed { .. } => "revealed",
        Activity::Uploaded { .. } => "uploaded",
        Activity::Cancelled { .. } => "cancelled",
        Activity::Lost { .. } => "lost",
        Activity::Done { .. } => "done",
        Activity::Retrying { .. } => "retrying",
        Activity::Warning { .. } => "warning",
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
    use alloy::primitives::B256;
    use relay::api::ModelFile;
    use worker_protocol::Adapter;

    fn listing(name: &str, layout: Layout, files: &[u64]) -> ModelListing {
        ModelListing {
            name: name.into(),
            layout,
            size: files.iter().sum(),
            files: files
                .iter()
                .enumerate()
                .map(|(i, size)| ModelFile {
                    path: format!("f{i}"),
                    sha256: B256::ZERO,
                    size: *size,
                })
                .collect(),
        }
    }

    fn gpu(max_buffer: f64) -> Capability {
        Capability {
            webgpu: Some(Adapter {
                name: "Test GPU".into(),
                max_binding: max_buffer,
                max_buffer,
                ..Adapter::default()
            }),
            cores: 8,
            storage_quota: Some(10e9),
            storage_usage: Some(0.0),
            ..Capability::default()
        }
    }

    const MB: u64 = 1_000_000;

    #[test]
    fn models_fit_by_buffer_size_on_webgpu_and_by_total_size_on_cpu() {
        let models = [
            listing("sd-tiny", Layout::DiffusersPipeline, &[3 * MB, 2 * MB]),
            listing("sd-1.5", Layout::DiffusersPipeline, &[3400 * MB, 500 * MB]),
            listing("gpt2-tiny", Layout::Transformers, &[MB]),
            listing("gpt2", Layout::Transformers, &[30 * MB, 30 * MB]),
        ];
        let fits = model_fits(&models, Some(&gpu(2e9)), Backend::Webgpu);
        let ok: Vec<_> = fits
            .iter()
            .filter(|f| f.fits())
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(ok, ["sd-tiny", "gpt2-tiny", "gpt2"]);
        let big = fits.iter().find(|f| f.name == "sd-1.5").unwrap();
        assert!(
            big.problem.as_ref().unwrap().contains("largest buffer"),
            "{big:?}"
        );
        assert_eq!(big.largest_file, 3400 * MB);

        let cpu = Capability {
            webgpu_missing: Some("navigator.gpu is undefined".into()),
            cores: 2,
            ..Capability::default()
        };
        let fits = model_fits(&models, Some(&cpu), Backend::Cpu);
        let ok: Vec<_> = fits
            .iter()
            .filter(|f| f.fits())
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            ok,
            ["sd-tiny", "gpt2-tiny"],
            "60 MB of gpt2 is over the CPU limit"
        );
        let on_gpu = model_fits(&models, Some(&cpu), Backend::Webgpu);
        assert!(
            on_gpu
                .iter()
                .all(|f| f.problem.as_ref().unwrap().contains("navigator.gpu"))
        );

        // Storage: a model larger than what is left of the quota does not fit.
        let mut full = gpu(2e9);
        full.storage_quota = Some(10.0 * MB as f64);
        full.storage_usage = Some(6.0 * MB as f64);
        let fits = model_fits(&models, Some(&full), Backend::Webgpu);
        assert!(
            fits[0].problem.as_ref().unwrap().contains("storage"),
            "{:?}",
            fits[0]
        );
        assert!(fits[2].fits());

        // Nothing known yet: nothing ruled out.
        assert!(
            model_fits(&models, None, Backend::Cpu)
                .iter()
                .all(ModelFit::fits)
        );
    }

    #[test]
    fn task_types_say_why_not() {
        let models = [
            listing("sd-1.5", Layout::DiffusersPipeline, &[3400 * MB]),
            listing("gpt2-tiny", Layout::Transformers, &[MB]),
        ];
        let types = task_types(&model_fits(&models, Some(&gpu(1e9)), Backend::Webgpu));
        assert_eq!(types.len(), 2);
        assert!(types[0].models.is_empty());
        assert!(
            types[0].why_not.as_ref().unwrap().starts_with("sd-1.5: "),
            "{types:?}"
        );
        assert_eq!(types[1].models, ["gpt2-tiny"]);
        assert_eq!(types[1].why_not, None);
        let none = task_types(&[]);
        assert!(none[0].why_not.as_ref().unwrap().contains("no model"));
    }

    fn quit_node() -> NodeView {
        NodeView {
            address: "0x1111111111111111111111111111111111111111".into(),
            status: QUIT.into(),
            min_stake: "400000000000000000000".into(),
            balance: "0".into(),
            ..NodeView::default()
        }
    }

    #[test]
    fn joining_needs_a_quit_node_a_model_and_the_minimum_stake() {
        let node = quit_node();
        assert_eq!(default_stake(&node), "400");
        let models = vec!["sd-tiny".to_owned()];
        assert_eq!(
            check_join(Some(&node), &models, "400").unwrap(),
            parse_ether("400").unwrap()
        );
        assert_eq!(check_join(None, &models, "400"), Err(JoinBlocker::NoNode));
        assert_eq!(
            check_join(Some(&node), &[], "400"),
            Err(JoinBlocker::NoModel)
        );
        assert_eq!(
            check_join(Some(&node), &models, "lots"),
            Err(JoinBlocker::BadStake("lots".into()))
        );
        let low = check_join(Some(&node), &models, "399.9").unwrap_err();
        assert_eq!(low.to_string(), "The stake must be at least 400 CNX.");
        let joined = NodeView {
            status: "Available".into(),
            ..node
        };
        assert!(matches!(
            check_join(Some(&joined), &models, "400"),
            Err(JoinBlocker::Joined(s)) if s == "Available"
        ));
    }

    #[test]
    fn funding_tops_the_key_up_to_stake_plus_gas() {
        let stake = parse_ether("400").unwrap();
        assert_eq!(
            funding_needed(stake, U256::ZERO),
            Some(parse_ether("401").unwrap())
        );
        assert_eq!(
            funding_needed(stake, parse_ether("100.5").unwrap()),
            Some(parse_ether("300.5").unwrap())
        );
        assert_eq!(funding_needed(stake, parse_ether("401").unwrap()), None);
        assert_eq!(funding_needed(stake, parse_ether("1000").unwrap()), None);
    }

    fn every_activity() -> Vec<Activity> {
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
            assert_eq!(json["kind"], activity_kind(&activity), "{activity:?}");
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
    fn backend_names_match_the_wire_format() {
        for name in ["webgpu", "cpu"] {
            let backend = parse_backend(name).unwrap();
            assert_eq!(backend_name(backend), name);
            assert_eq!(serde_json::to_value(backend).unwrap(), name);
        }
        assert_eq!(parse_backend("gpu"), None);
    }

    #[test]
    fn the_worker_is_told_the_apps_network_and_failures_read_as_sentences() {
        let config = AppConfig::parse(
            r#"{"chainId": 31337, "rpcUrl": "http://127.0.0.1:8545",
                "relayUrl": "http://127.0.0.1:8600",
                "nodeRegistry": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "taskManager": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"}"#,
        )
        .unwrap();
        let network = network(&config);
        assert_eq!(network.chain_id, 31337);
        assert_eq!(network.relay_url, "http://127.0.0.1:8600");
        assert_eq!(
            network.node_registry,
            "0x5FbDB2315678afecb367f032d93F642f64180aa3"
        );
        assert_eq!(
            network.task_manager,
            "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
        );
        assert_eq!(
            failure("join", "insufficient funds"),
            "Could not join the network: insufficient funds"
        );
        assert!(failure("load", "404").starts_with("The node worker failed: 404. "));
        assert!(failure("load", "404").contains("reload the tab"));
        assert_eq!(failure("fly", "no"), "“fly” failed: no");
    }

    #[test]
    fn answers_clear_what_they_answer() {
        let joined = Event::Status(NodeView {
            status: "Available".into(),
            ..NodeView::default()
        });
        assert!(answered_by(&joined).contains(&"join"));
        // A Quit status right after Join was sent is the old record, not the answer.
        assert!(!answered_by(&Event::Status(quit_node())).contains(&"join"));
        assert!(answered_by(&Event::Status(quit_node())).contains(&"quit"));
        let failed = Event::Error {
            command: "join".into(),
            message: "no funds".into(),
        };
        assert_eq!(answered_by(&failed), ["join"]);
        assert!(answered_by(&Event::Serving { serving: false }).contains(&"stop"));
        assert!(answered_by(&Event::Ready).is_empty());
    }

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

    #[test]
    fn amounts_and_durations_read_well() {
        assert_eq!(wei_to_cnx("1500000000000000000"), "1.5");
        assert_eq!(wei_to_cnx("0"), "0");
        assert_eq!(wei_to_cnx("n/a"), "n/a");
        assert_eq!(wei(""), U256::ZERO);
        assert_eq!(mib(1024.0 * 1024.0 * 2.5), "2.5");
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(125_000), "2 min 5 s");
        let mut cap = gpu(1e9);
        assert_eq!(default_backend(Some(&cap)), Backend::Webgpu);
        assert_eq!(default_backend(None), Backend::Cpu);
        if let Some(adapter) = cap.webgpu.as_mut() {
            adapter.software = true;
        }
        assert_eq!(default_backend(Some(&cap)), Backend::Cpu);
    }
}
