//! The native node's loop: follow the chain for the task assigned to this node and carry
//! it through run, commit, reveal and upload, as [`super::plan::next_step`] says.
//!
//! Outages are waited out: RPC and relay failures that may pass are retried with backoff,
//! and the task's deadlines (in chain time) bound how long. A task that cannot run here
//! (bad arguments, a model the relay cannot provide, an engine failure) is reported on
//! chain with an error code rather than left to time out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use alloy::signers::local::PrivateKeySigner;
use burn::tensor::Device;
use contracts::NodeRegistry::NodeStatus;
use contracts::TaskManager::Task as ChainTask;
use relay::client::RelayClient;
use tokio::sync::watch;

use super::chain::{self, NodeChain, error_code};
use super::config::{Fault, NodeConfig};
use super::journal::{Journal, Outcome};
use super::models::ModelStore;
use super::plan::{Kept, Step, next_step};
use crate::task::{self, Task};

/// Why the node stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The node's account has not joined.
    #[error("{0} has not joined the network: run `node join` first")]
    NotJoined(alloy::primitives::Address),
    /// A contract call failed for good.
    #[error("chain: {0}")]
    Chain(#[from] contracts::Error),
    /// The relay failed for good.
    #[error("relay: {0}")]
    Relay(#[from] relay::client::ClientError),
    /// The model folder failed.
    #[error("models: {0}")]
    Models(#[from] super::models::ModelError),
    /// The task record could not be written.
    #[error("state: {0}")]
    Journal(#[from] super::journal::JournalError),
}

/// Exponential backoff from half a second to half a minute.
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            next: Duration::from_millis(500),
        }
    }
}

impl Backoff {
    /// Waits the current delay, then doubles it (up to 30 s).
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(Duration::from_secs(30));
    }
}

/// Retries `call` while its error is transient.
async fn retry<T, E: std::fmt::Display>(
    what: &str,
    transient: impl Fn(&E) -> bool,
    mut call: impl AsyncFnMut() -> Result<T, E>,
) -> Result<T, E> {
    let mut backoff = Backoff::default();
    loop {
        match call().await {
            Err(e) if transient(&e) => {
                tracing::warn!("{what}: {e}; retrying");
                backoff.wait().await;
            }
            other => return other,
        }
    }
}

async fn chain_retry<T>(
    what: &str,
    call: impl AsyncFnMut() -> Result<T, contracts::Error>,
) -> Result<T, contracts::Error> {
    retry(what, chain::is_transient, call).await
}

/// A running node.
pub struct Node {
    config: NodeConfig,
    key: PrivateKeySigner,
    chain: NodeChain,
    relay: RelayClient,
    models: Arc<ModelStore>,
    journal: Journal,
    device: Device,
}

/// How a task attempt ended when it did not produce an outcome.
struct Refusal {
    code: u32,
    reason: String,
}

impl Node {
    /// Assembles a node from its parts.
    pub fn new(
        config: NodeConfig,
        key: PrivateKeySigner,
        chain: NodeChain,
        relay: RelayClient,
        models: ModelStore,
        device: Device,
    ) -> Self {
        let journal = Journal::new(&config.state_dir);
        Self {
            config,
            key,
            chain,
            relay,
            models: Arc::new(models),
            journal,
            device,
        }
    }

    fn poll(&self) -> Duration {
        Duration::from_millis(self.config.poll_interval_ms.max(50))
    }

    /// Serves until `shutdown` turns true: then pauses on chain so no new task is drawn,
    /// finishes the task in hand, and returns.
    pub async fn serve(&self, mut shutdown: watch::Receiver<bool>) -> Result<(), NodeError> {
        let me = self.chain.address();
        let info = chain_retry("reading the node", async || self.chain.info().await).await?;
        if info.status == NodeStatus::QUIT {
            return Err(NodeError::NotJoined(me));
        }
        if info.status == NodeStatus::PAUSED {
            tracing::info!("resuming after a pause");
            chain_retry("resuming", async || self.chain.resume().await).await?;
        }
        self.preload(&info.modelIds).await?;
        self.forget_finished().await;
        tracing::info!(node = %me, "serving");

        let mut pausing = false;
        loop {
            if *shutdown.borrow() && !pausing {
                pausing = true;
                self.pause_for_shutdown().await;
            }
            let read = chain_retry("reading the node", async || self.chain.info().await);
            let info = if pausing {
                match tokio::time::timeout(Duration::from_secs(60), read).await {
                    Ok(info) => info?,
                    Err(_) => {
                        tracing::warn!("stopping: the chain has been unreachable for a minute");
                        return Ok(());
                    }
                }
            } else {
                read.await?
            };
            if !info.currentTask.is_zero() {
                self.drive(info.currentTask).await?;
                continue;
            }
            if pausing {
                tracing::info!("no task in hand; stopping");
                return Ok(());
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll()) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn pause_for_shutdown(&self) {
        tracing::info!("stopping: pausing on chain so no new task is drawn");
        // Bounded: a node asked to stop while the chain is unreachable must still stop.
        let pause = chain_retry("pausing", async || self.chain.pause().await);
        match tokio::time::timeout(Duration::from_secs(60), pause).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("could not pause: {e}"),
            Err(_) => tracing::warn!("could not pause within a minute; stopping unpaused"),
        }
    }

    /// Fetches the preloaded models and announces what is held if it changed.
    async fn preload(&self, announced: &[String]) -> Result<(), NodeError> {
        for name in &self.config.preload {
            self.ensure_model(name).await?;
        }
        let held = self.models.held();
        let mut sorted = announced.to_vec();
        sorted.sort();
        if held != sorted {
            tracing::info!(?held, "announcing the models held");
            let held = held.clone();
            chain_retry("updating models", async || {
                self.chain.update_models(held.clone()).await
            })
            .await?;
        }
        Ok(())
    }

    async fn ensure_model(
        &self,
        name: &str,
    ) -> Result<std::path::PathBuf, super::models::ModelError> {
        let mut last_logged = Instant::now();
        let mut report = |model: &str, done: u64, total: u64| {
            if done == total || last_logged.elapsed() > Duration::from_secs(2) {
                last_logged = Instant::now();
                tracing::info!(
                    model,
                    "downloading: {}/{} MB",
                    done >> 20,
                    total.max(1).div_ceil(1 << 20)
                );
            }
        };
        let mut backoff = Backoff::default();
        loop {
            match self.models.ensure(&self.relay, name, &mut report).await {
                Err(e) if e.is_transient() => {
                    tracing::warn!(model = name, "{e}; retrying");
                    backoff.wait().await;
                }
                other => return other,
            }
        }
    }

    /// Drops records of tasks that need nothing more from this node.
    async fn forget_finished(&self) {
        let me = self.chain.address();
        for id in self.journal.ids() {
            let (Ok(task), Ok(now)) = (self.chain.task(id).await, self.chain.now().await) else {
                continue;
            };
            let kept = Kept::Outcome;
            if next_step(&task, me, now, kept) == Step::Done {
                self.journal.remove(id);
            }
        }
    }

    /// Carries task `id` through the steps the rules ask of this node.
    async fn drive(&self, id: U256) -> Result<(), NodeError> {
        let me = self.chain.address();
        loop {
            let task = chain_retry("reading the task", async || self.chain.task(id).await).await?;
            let now = chain_retry("reading the clock", async || self.chain.now().await).await?;
            let outcome = self.journal.load(id);
            let kept = if outcome.is_some() {
                Kept::Outcome
            } else {
                Kept::Nothing
            };
            let step = next_step(&task, me, now, kept);
            tracing::debug!(task = %id, ?step, state = task.state, "next step");
            match (step, outcome) {
                (Step::Run, _) => self.run(id, &task, now).await?,
                (Step::Commit, Some(outcome)) => {
                    self.send("commit", id, async || {
                        self.chain.commit(id, &outcome.score, outcome.nonce).await
                    })
                    .await?;
                    tracing::info!(task = %id, score = verifier::hex::encode(&outcome.score), "committed");
                }
                (Step::Reveal, Some(outcome)) => {
                    self.send("reveal", id, async || {
                        self.chain.reveal(id, &outcome.score).await
                    })
                    .await?;
                    tracing::info!(task = %id, "revealed");
                }
                (Step::Upload, Some(outcome)) => self.upload(id, &outcome).await?,
                (Step::Cancel, _) => {
                    self.send("cancel", id, async || self.chain.cancel(id).await)
                        .await?;
                    tracing::info!(task = %id, "moved the task past its deadline");
                }
                (Step::Wait, _) => tokio::time::sleep(self.poll()).await,
                (Step::Lost, _) => {
                    tracing::error!(
                        task = %id,
                        "this node must act on the task but its record is gone (was the state \
                         directory wiped?); the rules will penalize the seat"
                    );
                    return Ok(());
                }
                (Step::Done, _) => {
                    self.journal.remove(id);
                    tracing::info!(task = %id, "done with the task");
                    return Ok(());
                }
                (Step::Commit | Step::Reveal | Step::Upload, None) => {
                    unreachable!("plan asks for kept outcomes only when there is one")
                }
            }
            // Stop driving once the registry has released this node from the task (the
            // uploader stays until its report).
            let info = chain_retry("reading the node", async || self.chain.info().await).await?;
            if info.currentTask != id {
                let task =
                    chain_retry("reading the task", async || self.chain.task(id).await).await?;
                let now = chain_retry("reading the clock", async || self.chain.now().await).await?;
                if next_step(&task, me, now, Kept::Outcome) == Step::Done {
                    self.journal.remove(id);
                }
                return Ok(());
            }
        }
    }

    /// Sends a transaction about a task; a revert means the chain moved on meanwhile (a
    /// deadline passed, another node cancelled first), which the next look at the task
    /// sorts out, so it is logged, not fatal.
    async fn send(
        &self,
        what: &str,
        id: U256,
        call: impl AsyncFnMut() -> Result<(), contracts::Error>,
    ) -> Result<(), NodeError> {
        match chain_retry(what, call).await {
            Ok(()) => Ok(()),
            Err(contracts::Error::Reverted(revert)) => {
                tracing::warn!(task = %id, "{what} refused: {revert}");
                tokio::time::sleep(self.poll()).await;
                Ok(())
            }
            // Mined but failed: the state moved between the estimate and the block. The
            // plan is made again from the chain, which retries the step if it is still due.
            Err(e @ contracts::Error::Failed(_)) => {
                tracing::warn!(task = %id, "{what} failed on chain: {e}; planning again");
                tokio::time::sleep(self.poll()).await;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Runs the task and keeps its outcome, or reports why it cannot run.
    async fn run(&self, id: U256, task: &ChainTask, now: u64) -> Result<(), NodeError> {
        match self.attempt(id, task, now).await {
            Ok(outcome) => {
                self.journal.save(id, &outcome)?;
                tracing::info!(task = %id, ms = outcome.inference_ms, "ran the task");
                Ok(())
            }
            Err(refusal) => {
                tracing::warn!(
                    task = %id,
                    code = refusal.code,
                    "cannot run the task ({}): {}",
                    error_code::name(refusal.code),
                    refusal.reason
                );
                self.send("report an error", id, async || {
                    self.chain.report_error(id, refusal.code).await
                })
                .await
            }
        }
    }

    async fn attempt(&self, id: U256, task: &ChainTask, now: u64) -> Result<Outcome, Refusal> {
        let refuse = |code, reason: String| Refusal { code, reason };
        tracing::info!(task = %id, "selected; fetching the arguments");
        let args = self.fetch_args(id, task, now).await?;
        let parsed = Task::parse(&args).map_err(|e| refuse(error_code::BAD_ARGS, e.to_string()))?;
        let expected_type = match parsed {
            Task::StableDiffusion(_) => contracts::requests::TASK_TYPE_SD,
            Task::Llm(_) => contracts::requests::TASK_TYPE_LLM,
        };
        if task.request.taskType != expected_type {
            return Err(refuse(
                error_code::BAD_ARGS,
                format!(
                    "the arguments describe task type {expected_type}, the chain says {}",
                    task.request.taskType
                ),
            ));
        }
        let folder = self
            .ensure_model(parsed.model_name())
            .await
            .map_err(|e| refuse(error_code::MODEL_UNAVAILABLE, e.to_string()))?;

        tracing::info!(task = %id, model = parsed.model_name(), backend = %self.config.backend, "running");
        let started = Instant::now();
        let device = self.device.clone();
        let task_id = id;
        let result = tokio::task::spawn_blocking(move || {
            let mut last = Instant::now();
            pollster::block_on(task::run(&parsed, &folder, &device, |line| {
                if last.elapsed() > Duration::from_millis(500) {
                    last = Instant::now();
                    tracing::info!(task = %task_id, "{line}");
                }
            }))
        })
        .await
        .map_err(|e| {
            refuse(
                error_code::ENGINE_FAILED,
                format!("the engine crashed: {e}"),
            )
        })?;
        let mut outcome = result.map_err(|e| {
            let code = match e {
                crate::EngineError::InvalidArgument { .. } => error_code::UNSUPPORTED,
                _ => error_code::ENGINE_FAILED,
            };
            refuse(code, e.to_string())
        })?;
        if self.config.fault == Fault::AlterImage {
            tracing::warn!(task = %id, "fault injection: altering the images");
            outcome = super::fault::alter_images(outcome)
                .map_err(|e| refuse(error_code::ENGINE_FAILED, e))?;
        }
        let kind = match expected_type {
            contracts::requests::TASK_TYPE_SD => verifier::score::ScoreKind::Image,
            _ => verifier::score::ScoreKind::Text,
        };
        verifier::score::validate(&outcome.score, kind)
            .map_err(|e| refuse(error_code::BAD_OUTPUT, e.to_string()))?;
        Ok(Outcome {
            files: outcome.files,
            score: outcome.score,
            nonce: B256::random(),
            inference_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// The task's arguments from the relay, checked against the on-chain hash. The
    /// requester uploads them after creating the task, so a missing upload is waited for,
    /// until a quarter of the commit window is left.
    ///
    /// Every relay answer short of matching bytes is waited out, not only outages: the
    /// chain, not the relay, says this node holds a seat, and the relay's view of the chain
    /// lags (right after the draw it refuses a node it has not seen selected yet). An error
    /// reported for the relay's sake would cost an honest node its stake.
    async fn fetch_args(&self, id: U256, task: &ChainTask, now: u64) -> Result<Vec<u8>, Refusal> {
        let refuse = |reason: String| Refusal {
            code: error_code::BAD_ARGS,
            reason,
        };
        let window = task.deadline.saturating_sub(now);
        let give_up = Instant::now() + Duration::from_secs(window - window / 4);
        let mut backoff = Backoff::default();
        loop {
            let error = match self.relay.get_args(&self.key, id).await {
                Ok(args) => {
                    let hash = contracts::requests::task_hash(&args);
                    if hash == task.request.taskHash {
                        return Ok(args);
                    }
                    format!(
                        "the relay served arguments hashing to {hash}, the task's hash is {}",
                        task.request.taskHash
                    )
                }
                Err(e) => e.to_string(),
            };
            if Instant::now() >= give_up {
                return Err(refuse(format!("no usable arguments in time: {error}")));
            }
            tracing::info!(task = %id, "waiting for the arguments: {error}");
            backoff.wait().await;
        }
    }

    /// Uploads the kept files (the relay recomputes their score) and reports it on chain.
    async fn upload(&self, id: U256, outcome: &Outcome) -> Result<(), NodeError> {
        let uploaded = retry(
            "uploading results",
            |e: &relay::client::ClientError| e.is_transient(),
            async || {
                self.relay
                    .upload_results(&self.key, id, &outcome.files)
                    .await
            },
        )
        .await;
        match uploaded {
            Ok(_) => {
                tracing::info!(task = %id, files = outcome.files.len(), "uploaded the results")
            }
            Err(e) if e.code() == Some("results_exist") => {
                tracing::info!(task = %id, "the relay already has the results")
            }
            Err(e) => return Err(e.into()),
        }
        self.send("report the upload", id, async || {
            self.chain.report_uploaded(id).await
        })
        .await
    }
}
