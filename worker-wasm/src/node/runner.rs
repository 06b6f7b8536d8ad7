//! The node's loop, native and in a browser tab: follow the chain for the task assigned to
//! this node and carry it through run, commit, reveal and upload, as
//! [`super::plan::next_step`] says; serve on an appeal's jury as
//! [`super::plan::next_jury_step`] says; and appeal when outvoted, since an honest node
//! knows its result is the one it computed. Where it runs (timers, storage, models, engine, reports)
//! is the [`Host`]'s business.
//!
//! Outages are waited out: RPC and relay failures that may pass are retried with backoff,
//! and the task's deadlines (in chain time) bound how long. A task that cannot run here
//! (bad arguments, a model the relay cannot provide, an engine failure) is reported on
//! chain with an error code rather than left to time out.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alloy::primitives::{B256, U256};
use alloy::signers::local::PrivateKeySigner;
use contracts::NodeRegistry::NodeStatus;
use contracts::TaskManager::Task as ChainTask;
use futures::future::{Either, select};
use relay_client::RelayClient;
use web_time::Instant;
use worker_protocol::Activity;

use super::chain::{self, JURY_BIT, NodeChain, error_code};
use super::fault::Fault;
use super::host::{Host, HostError, Outcome, Steps};
use super::plan::{Kept, Step, next_jury_step, next_step};
use super::standing;
use engine::task::Task;

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
    Relay(#[from] relay_client::ClientError),
    /// The host's storage or models failed for good.
    #[error("{0}")]
    Host(#[from] HostError),
    /// The relay took the results but signs no upload receipts, without which the chain
    /// cannot count the upload.
    #[error(
        "the relay accepted task {task}'s results but gave no upload receipt: its operator must configure `receipt_key` (the contract's relaySigner)"
    )]
    NoReceipt {
        /// The task.
        task: U256,
    },
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
    /// The current delay; the next is twice as long (up to 30 s).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Duration::from_secs(30));
        delay
    }
}

/// Asks a serving node to stop: it pauses on chain, finishes the task in hand and returns.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Asks the node to stop.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How the loop behaves, whatever the host.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How often the chain is read while idle or waiting on others.
    pub poll: Duration,
    /// Models fetched and announced before serving.
    pub preload: Vec<String>,
    /// Names the backend in reports.
    pub backend: String,
    /// Test-only misbehaviour.
    pub fault: Fault,
}

/// `future`'s output, or `None` if `limit` passes first.
async fn within<T>(
    host: &impl Host,
    limit: Duration,
    future: impl Future<Output = T>,
) -> Option<T> {
    let future = std::pin::pin!(future);
    let timer = std::pin::pin!(host.sleep(limit));
    match select(future, timer).await {
        Either::Left((value, _)) => Some(value),
        Either::Right(_) => None,
    }
}

/// A running node.
pub struct Node<H> {
    settings: Settings,
    key: PrivateKeySigner,
    chain: NodeChain,
    relay: RelayClient,
    host: H,
    /// Manifest digests the chain registered, by model name: a registration never
    /// changes, so each is read once.
    registered: std::sync::Mutex<std::collections::BTreeMap<String, B256>>,
    /// Appeals this node filed whose jury is not drawn yet.
    appealing: std::sync::Mutex<std::collections::BTreeSet<U256>>,
    /// Jury duties this node could not run (reported, never retried).
    refused_duties: std::sync::Mutex<std::collections::BTreeSet<U256>>,
    /// The standing warnings last reported, so each is said once while it holds.
    standing_said: std::sync::Mutex<Vec<String>>,
}

/// How often a seat tells the relay its step while the engine runs.
pub const STEP_REPORT_INTERVAL: Duration = Duration::from_secs(2);

/// Why a task is run: for a seat, whose steps the requester watches, or for an appeal's
/// jury, after the reveals (when the relay takes no progress).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Seat,
    Juror,
}

/// What a seat last told the relay of one task's steps.
#[derive(Default)]
struct StepsReported {
    sent: std::cell::Cell<Option<(u32, u32)>>,
    /// The relay refused a report: not asked again for this task (outages are retried).
    failed: std::cell::Cell<bool>,
}

/// How a task attempt ended when it did not produce an outcome.
struct Refusal {
    code: u32,
    reason: String,
}

impl<H: Host> Node<H> {
    /// Assembles a node from its parts.
    pub fn new(
        settings: Settings,
        key: PrivateKeySigner,
        chain: NodeChain,
        relay: RelayClient,
        host: H,
    ) -> Self {
        Self {
            settings,
            key,
            chain,
            relay,
            host,
            registered: Default::default(),
            refused_duties: Default::default(),
            appealing: Default::default(),
            standing_said: Default::default(),
        }
    }

    fn poll(&self) -> Duration {
        self.settings.poll.max(Duration::from_millis(50))
    }

    async fn pause_a_poll(&self) {
        self.host.sleep(self.poll()).await;
    }

    /// Retries `call` while its error is transient, reporting each retry.
    async fn retry<T, E: std::fmt::Display>(
        &self,
        what: &str,
        transient: impl Fn(&E) -> bool,
        mut call: impl AsyncFnMut() -> Result<T, E>,
    ) -> Result<T, E> {
        let mut backoff = Backoff::default();
        loop {
            match call().await {
                Err(e) if transient(&e) => {
                    self.host.report(Activity::Retrying {
                        what: what.to_owned(),
                        error: e.to_string(),
                    });
                    self.host.sleep(backoff.next_delay()).await;
                }
                other => return other,
            }
        }
    }

    async fn chain_retry<T>(
        &self,
        what: &str,
        call: impl AsyncFnMut() -> Result<T, contracts::Error>,
    ) -> Result<T, contracts::Error> {
        self.retry(what, chain::is_transient, call).await
    }

    /// Serves until `stop` is requested: then pauses on chain so no new task is drawn,
    /// finishes the task in hand, and returns.
    pub async fn serve(&self, stop: &Stop) -> Result<(), NodeError> {
        let me = self.chain.address();
        let info = self
            .chain_retry("reading the node", async || self.chain.info().await)
            .await?;
        if info.status == NodeStatus::QUIT {
            return Err(NodeError::NotJoined(me));
        }
        if info.status == NodeStatus::PAUSED && !stop.requested() {
            self.host.report(Activity::Warning {
                message: "resuming after a pause".into(),
            });
            self.chain_retry("resuming", async || self.chain.resume().await)
                .await?;
        }
        self.preload(&info.modelIds).await?;
        self.forget_finished().await;
        // Appeals filed before a restart whose jury is not drawn yet (a jury must be drawn
        // within 256 blocks of filing, so the recent logs hold them all).
        let filed = self
            .chain_retry("reading this node's appeals", async || {
                self.chain.recent_appeals().await
            })
            .await?;
        self.appealing.lock().expect("not poisoned").extend(filed);
        self.host.report(Activity::Serving {
            node: me.to_string(),
        });
        self.check_standing().await;

        let mut pausing = false;
        let mut busy = false;
        loop {
            if stop.requested() && !pausing {
                pausing = true;
                self.pause_for_shutdown().await;
            }
            let read = self.chain_retry("reading the node", async || self.chain.info().await);
            let info = if pausing {
                match within(&self.host, Duration::from_secs(60), read).await {
                    Some(info) => info?,
                    None => {
                        self.host.report(Activity::Stopped {
                            reason: "the chain has been unreachable for a minute".into(),
                        });
                        return Ok(());
                    }
                }
            } else {
                read.await?
            };
            if info.currentTask.is_zero() {
                if std::mem::take(&mut busy) {
                    self.check_standing().await;
                }
                self.advance_appeals().await?;
                if !pausing {
                    self.start_queued().await?;
                }
            } else {
                busy = true;
                match chain::duty(info.currentTask) {
                    (id, true) => self.judge(id).await?,
                    (id, false) => {
                        self.drive(id).await?;
                        self.appeal_if_outvoted(id).await?;
                    }
                }
                continue;
            }
            if pausing {
                let left = self.appealing.lock().expect("not poisoned").clone();
                if !left.is_empty() {
                    self.host.report(Activity::Warning {
                        message: format!(
                            "stopping with appeals whose jury is not drawn yet ({left:?}): run the node again soon, or an appeal whose secret was never revealed forfeits its bond"
                        ),
                    });
                }
                self.host.report(Activity::Stopped {
                    reason: "asked to stop; no task in hand".into(),
                });
                return Ok(());
            }
            self.pause_a_poll().await;
        }
    }

    /// Reports the standing warnings ([`standing::warnings`]) not reported since they last
    /// began to hold. A failed read is passed over: the next look tries again.
    async fn check_standing(&self) {
        let Ok(standing) = self.chain.standing().await else {
            return;
        };
        let now = standing::warnings(&standing);
        let mut said = self.standing_said.lock().expect("not poisoned");
        for message in now.iter().filter(|w| !said.contains(w)) {
            self.host.report(Activity::Warning {
                message: message.clone(),
            });
        }
        *said = now;
    }

    async fn pause_for_shutdown(&self) {
        self.host.report(Activity::Pausing);
        // Bounded: a node asked to stop while the chain is unreachable must still stop.
        let pause = self.chain_retry("pausing", async || self.chain.pause().await);
        let warning = match within(&self.host, Duration::from_secs(60), pause).await {
            Some(Ok(())) => return,
            Some(Err(e)) => format!("could not pause: {e}"),
            None => "could not pause within a minute; stopping unpaused".into(),
        };
        self.host.report(Activity::Warning { message: warning });
    }

    /// Fetches the preloaded models and announces what is held if it changed.
    async fn preload(&self, announced: &[String]) -> Result<(), NodeError> {
        for name in &self.settings.preload {
            self.ensure_model(name).await?;
        }
        let held = self.host.held_models();
        let mut sorted = announced.to_vec();
        sorted.sort();
        if held != sorted {
            self.host.report(Activity::Warning {
                message: format!("announcing the models held: {held:?}"),
            });
            self.chain_retry("updating models", async || {
                self.chain.update_models(held.clone()).await
            })
            .await?;
        }
        Ok(())
    }

    /// Makes model `name` available, as the chain registered it: a model with no
    /// registered manifest is refused (a relay could list anything under its name).
    async fn ensure_model(&self, name: &str) -> Result<(), HostError> {
        let known = self
            .registered
            .lock()
            .expect("not poisoned")
            .get(name)
            .copied();
        let registered = match known {
            Some(digest) => digest,
            None => self.registration(name).await?,
        };
        self.retry(
            &format!("fetching model {name}"),
            |e: &HostError| e.transient,
            async || self.host.ensure_model(name, registered).await,
        )
        .await
    }

    /// Reads model `name`'s registered manifest digest from the chain and remembers it.
    async fn registration(&self, name: &str) -> Result<B256, HostError> {
        let registered = self
            .retry(
                &format!("reading model {name}'s registration"),
                chain::is_transient,
                async || self.chain.model_manifest(name).await,
            )
            .await
            .map_err(|e| HostError::lasting(format!("reading model {name}'s registration: {e}")))?;
        if registered.is_zero() {
            return Err(HostError::lasting(format!(
                "model {name:?} is not registered on chain (NodeRegistry.registerModel): its weights cannot be checked"
            )));
        }
        self.registered
            .lock()
            .expect("not poisoned")
            .insert(name.to_owned(), registered);
        Ok(registered)
    }

    /// Drops records of tasks that need nothing more from this node.
    async fn forget_finished(&self) {
        let me = self.chain.address();
        for id in self.host.kept_tasks().await {
            let Ok(now) = self.chain.now().await else {
                continue;
            };
            let step = match chain::duty(id) {
                (task, true) => match self.chain.appeal(task).await {
                    Ok(appeal) => next_jury_step(&appeal, me, now, Kept::Outcome),
                    Err(_) => continue,
                },
                (task, false) => match self.chain.task(task).await {
                    Ok(task) => next_step(&task, me, now, Kept::Outcome),
                    Err(_) => continue,
                },
            };
            if step == Step::Done {
                self.host.remove_outcome(id).await;
            }
        }
    }

    /// Task `id` and the chain's clock, outages waited out.
    async fn task_and_clock(&self, id: U256) -> Result<(ChainTask, u64), contracts::Error> {
        let task = self
            .chain_retry("reading the task", async || self.chain.task(id).await)
            .await?;
        let now = self
            .chain_retry("reading the clock", async || self.chain.now().await)
            .await?;
        Ok((task, now))
    }

    /// Carries task `id` through the steps the rules ask of this node.
    async fn drive(&self, id: U256) -> Result<(), NodeError> {
        let me = self.chain.address();
        let task_id = id.to_string();
        loop {
            let (task, now) = self.task_and_clock(id).await?;
            let outcome = self.host.load_outcome(id).await;
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
                    let digest = outcome.files_digest();
                    let commit = async || {
                        self.chain
                            .commit(id, &outcome.score, digest, outcome.nonce)
                            .await
                    };
                    if self.send("commit", id, commit).await? {
                        self.host.report(Activity::Committed {
                            task: task_id.clone(),
                            score: verifier::hex::encode(&outcome.score),
                        });
                    }
                }
                (Step::Reveal, Some(outcome)) => {
                    let digest = outcome.files_digest();
                    let reveal = async || self.chain.reveal(id, &outcome.score, digest).await;
                    if self.send("reveal", id, reveal).await? {
                        self.host.report(Activity::Revealed {
                            task: task_id.clone(),
                        });
                    }
                }
                (Step::Upload, Some(outcome)) => self.upload(id, &outcome).await?,
                (Step::Cancel, _) => {
                    if self
                        .send("cancel", id, async || self.chain.cancel(id).await)
                        .await?
                    {
                        self.host.report(Activity::Cancelled {
                            task: task_id.clone(),
                        });
                    }
                }
                (Step::Wait, _) => self.pause_a_poll().await,
                (Step::Lost, _) => {
                    self.host.report(Activity::Lost { task: task_id });
                    return Ok(());
                }
                (Step::Done, _) => {
                    self.host.remove_outcome(id).await;
                    self.host.report(Activity::Done { task: task_id });
                    return Ok(());
                }
                (Step::Commit | Step::Reveal | Step::Upload, None) => {
                    unreachable!("plan asks for kept outcomes only when there is one")
                }
            }
            // Stop driving once the registry has released this node from the task (the
            // uploader stays until its report).
            let info = self
                .chain_retry("reading the node", async || self.chain.info().await)
                .await?;
            if info.currentTask != id {
                let (task, now) = self.task_and_clock(id).await?;
                if next_step(&task, me, now, Kept::Outcome) == Step::Done {
                    self.host.remove_outcome(id).await;
                    self.host.report(Activity::Done { task: task_id });
                }
                return Ok(());
            }
        }
    }

    /// Sends a transaction about a task; a revert means the chain moved on meanwhile (a
    /// deadline passed, another node cancelled first), which the next look at the task
    /// sorts out, so it is reported, not fatal. `Ok(true)` when the transaction took
    /// effect, `Ok(false)` when it did not (the caller reports success only on `true`).
    async fn send(
        &self,
        what: &str,
        id: U256,
        call: impl AsyncFnMut() -> Result<(), contracts::Error>,
    ) -> Result<bool, NodeError> {
        let message = match self.chain_retry(what, call).await {
            Ok(()) => return Ok(true),
            Err(contracts::Error::Reverted(revert)) => {
                format!("task {id}: {what} refused: {revert}")
            }
            // Mined but failed: the state moved between the estimate and the block. The
            // plan is made again from the chain, which retries the step if it is still due.
            Err(e @ contracts::Error::Failed(_)) => {
                format!("task {id}: {what} failed on chain: {e}; planning again")
            }
            Err(e) => return Err(e.into()),
        };
        self.host.report(Activity::Warning { message });
        self.pause_a_poll().await;
        Ok(false)
    }

    /// Runs the task and keeps its outcome, or reports why it cannot run.
    async fn run(&self, id: U256, task: &ChainTask, now: u64) -> Result<(), NodeError> {
        match self.attempt(id, task, now, task.deadline, Role::Seat).await {
            Ok(outcome) => {
                self.host.save_outcome(id, &outcome).await?;
                self.host.report(Activity::Ran {
                    task: id.to_string(),
                    ms: outcome.inference_ms,
                });
                Ok(())
            }
            Err(refusal) => {
                self.host.report(Activity::Refused {
                    task: id.to_string(),
                    code: refusal.code,
                    name: error_code::name(refusal.code).to_owned(),
                    reason: refusal.reason.clone(),
                });
                // Not reported again when it did not take: the next look at the task decides.
                self.send("report an error", id, async || {
                    self.chain.report_error(id, refusal.code).await
                })
                .await
                .map(drop)
            }
        }
    }

    /// Fetches the arguments and models and runs task `id`, before `deadline` (chain time),
    /// in `role`.
    async fn attempt(
        &self,
        id: U256,
        task: &ChainTask,
        now: u64,
        deadline: u64,
        role: Role,
    ) -> Result<Outcome, Refusal> {
        let refuse = |code, reason: String| Refusal { code, reason };
        self.host.report(Activity::Selected {
            task: id.to_string(),
        });
        let args = self.fetch_args(id, task, now, deadline).await?;
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
        // The declared size sets the fee floor and the deadline: a task declaring less work
        // than its arguments ask for is refused by every honest seat alike (two errors
        // abort it, so refusing costs no one stake).
        let units = parsed.work_units();
        if task.request.size != units {
            return Err(refuse(
                error_code::BAD_ARGS,
                format!(
                    "the arguments are {units} units of work, the task declares {}",
                    task.request.size
                ),
            ));
        }
        let model = parsed.model_name().to_owned();
        // The base model, then any LoRA's model.
        for name in parsed.model_names() {
            self.ensure_model(name)
                .await
                .map_err(|e| refuse(error_code::MODEL_UNAVAILABLE, e.to_string()))?;
        }

        self.host.report(Activity::Running {
            task: id.to_string(),
            model: format!("{model} on {}", self.settings.backend),
        });
        let started = Instant::now();
        let steps = Steps::default();
        let reported = StepsReported::default();
        let run = std::pin::pin!(self.host.run_task(id, parsed, &steps));
        let result = match role {
            Role::Juror => run.await,
            Role::Seat => {
                let report = std::pin::pin!(self.report_steps(id, &steps, &reported));
                let result = match select(run, report).await {
                    Either::Left((result, _)) => result,
                    Either::Right((never, _)) => match never {},
                };
                self.send_steps(id, &steps, &reported).await;
                result
            }
        };
        let mut outcome = result.map_err(|e| {
            let code = match e {
                engine::EngineError::InvalidArgument { .. } => error_code::UNSUPPORTED,
                _ => error_code::ENGINE_FAILED,
            };
            refuse(code, e.to_string())
        })?;
        if self.settings.fault == Fault::AlterImage {
            self.host.report(Activity::Warning {
                message: format!("task {id}: fault injection: altering the images"),
            });
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

    /// Tells the relay how far the engine is with task `id` every
    /// [`STEP_REPORT_INTERVAL`] while it runs: the requester's view of the task moving.
    async fn report_steps(
        &self,
        id: U256,
        steps: &Steps,
        reported: &StepsReported,
    ) -> std::convert::Infallible {
        loop {
            self.host.sleep(STEP_REPORT_INTERVAL).await;
            self.send_steps(id, steps, reported).await;
        }
    }

    /// Sends `steps` to the relay if they moved since the last report. A hint for the
    /// requester that nothing depends on: a refusal is reported once and that task's
    /// steps are not sent again; an outage is not reported.
    async fn send_steps(&self, id: U256, steps: &Steps, reported: &StepsReported) {
        let Some((step, total)) = steps.get() else {
            return;
        };
        if reported.sent.get() == Some((step, total)) || reported.failed.get() {
            return;
        }
        match self.relay.put_progress(&self.key, id, step, total).await {
            Ok(()) => reported.sent.set(Some((step, total))),
            // An outage: the next report may get through.
            Err(e) if e.is_transient() => {}
            Err(e) => {
                reported.failed.set(true);
                self.host.report(Activity::Warning {
                    message: format!(
                        "task {id}: the relay did not take this node's progress ({e}); the requester will not see its steps"
                    ),
                });
            }
        }
    }

    /// The task's arguments from the relay, checked against the on-chain hash. The
    /// requester uploads them after creating the task, so a missing upload is waited for,
    /// until a quarter of the commit window is left.
    ///
    /// Every relay answer short of matching bytes is waited out, not only outages: the
    /// chain, not the relay, says this node holds a seat, and the relay's view of the chain
    /// lags (right after the draw it refuses a node it has not seen selected yet). An error
    /// reported for the relay's sake would cost an honest node its stake.
    async fn fetch_args(
        &self,
        id: U256,
        task: &ChainTask,
        now: u64,
        deadline: u64,
    ) -> Result<Vec<u8>, Refusal> {
        let refuse = |reason: String| Refusal {
            code: error_code::ARGS_UNAVAILABLE,
            reason,
        };
        let window = deadline.saturating_sub(now);
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
            self.host.report(Activity::WaitingForArgs {
                task: id.to_string(),
                reason: error,
            });
            self.host.sleep(backoff.next_delay()).await;
        }
    }

    /// Serves on task `id`'s jury: runs the task as a seat would and commits and reveals
    /// to the appeals contract, until the registry releases this node. Kept outcomes are
    /// stored under the juror's registry id, apart from any seat's.
    async fn judge(&self, id: U256) -> Result<(), NodeError> {
        let me = self.chain.address();
        let case = id | JURY_BIT;
        let label = format!("{id} (jury)");
        loop {
            let appeal = self
                .chain_retry("reading the appeal", async || self.chain.appeal(id).await)
                .await?;
            let now = self
                .chain_retry("reading the clock", async || self.chain.now().await)
                .await?;
            let outcome = self.host.load_outcome(case).await;
            let kept = if outcome.is_some() {
                Kept::Outcome
            } else {
                Kept::Nothing
            };
            let mut step = next_jury_step(&appeal, me, now, kept);
            let refused = self
                .refused_duties
                .lock()
                .expect("not poisoned")
                .contains(&case);
            if step == Step::Run && refused {
                step = Step::Wait;
            }
            tracing::debug!(task = %id, ?step, state = appeal.state, "next jury step");
            match (step, outcome) {
                (Step::Run, _) => {
                    let task = self
                        .chain_retry("reading the task", async || self.chain.task(id).await)
                        .await?;
                    match self
                        .attempt(id, &task, now, appeal.deadline, Role::Juror)
                        .await
                    {
                        Ok(outcome) => {
                            self.host.save_outcome(case, &outcome).await?;
                            self.host.report(Activity::Ran {
                                task: label.clone(),
                                ms: outcome.inference_ms,
                            });
                        }
                        Err(refusal) => {
                            // Reported as a seat would (arguments unavailable costs nothing);
                            // not tried again should the report not take.
                            self.host.report(Activity::Refused {
                                task: label.clone(),
                                code: refusal.code,
                                name: error_code::name(refusal.code).to_owned(),
                                reason: refusal.reason,
                            });
                            self.refused_duties
                                .lock()
                                .expect("not poisoned")
                                .insert(case);
                            self.send("report a jury error", id, async || {
                                self.chain.report_jury_error(id, refusal.code).await
                            })
                            .await?;
                        }
                    }
                }
                (Step::Commit, Some(outcome)) => {
                    let digest = outcome.files_digest();
                    let commit = async || {
                        self.chain
                            .jury_commit(id, &outcome.score, digest, outcome.nonce)
                            .await
                    };
                    if self.send("jury commit", id, commit).await? {
                        self.host.report(Activity::Committed {
                            task: label.clone(),
                            score: verifier::hex::encode(&outcome.score),
                        });
                    }
                }
                (Step::Reveal, Some(outcome)) => {
                    let digest = outcome.files_digest();
                    let reveal = async || self.chain.jury_reveal(id, &outcome.score, digest).await;
                    if self.send("jury reveal", id, reveal).await? {
                        self.host.report(Activity::Revealed {
                            task: label.clone(),
                        });
                    }
                }
                (Step::Cancel, _) => {
                    self.send("advance the appeal", id, async || {
                        self.chain.advance_appeal(id).await
                    })
                    .await?;
                }
                (Step::Wait, _) => self.pause_a_poll().await,
                (Step::Lost, _) => {
                    self.host.report(Activity::Lost { task: label });
                    return Ok(());
                }
                (Step::Done, _) => {
                    self.host.remove_outcome(case).await;
                    self.host.report(Activity::Done { task: label });
                    return Ok(());
                }
                (Step::Commit | Step::Reveal, None) | (Step::Upload, _) => {
                    unreachable!(
                        "the jury plan asks for kept outcomes only when there is one, and never for an upload"
                    )
                }
            }
            let info = self
                .chain_retry("reading the node", async || self.chain.info().await)
                .await?;
            if info.currentTask != case {
                self.host.remove_outcome(case).await;
                self.host.report(Activity::Done { task: label });
                return Ok(());
            }
        }
    }

    /// The secret this node commits to when appealing task `id`: derived from its key
    /// (deterministic signatures), so a restart can still reveal it, and unknowable to
    /// anyone else before it is revealed.
    fn appeal_secret(&self, id: U256) -> B256 {
        use alloy::signers::SignerSync as _;
        let mut message = b"Tessera appeal secret".to_vec();
        message.extend_from_slice(&id.to_be_bytes::<32>());
        let hash = B256::from(verifier::commitment::keccak256(&message));
        let signature = self.key.sign_hash_sync(&hash).expect("a local key signs");
        B256::from(verifier::commitment::keccak256(signature.as_bytes()))
    }

    /// When this node was the outvoted seat of task `id`, appeals to a jury (an honest
    /// node knows its result is the one it computed); [`Self::advance_appeals`] draws it.
    /// A node deliberately faulty for tests does not. Nothing here is fatal: a lost race
    /// or a bond it cannot pay is reported and the node goes on serving.
    async fn appeal_if_outvoted(&self, id: U256) -> Result<(), NodeError> {
        if self.settings.fault != Fault::None {
            return Ok(());
        }
        let me = self.chain.address();
        let dissenter = self
            .chain_retry("reading the task's dissenter", async || {
                self.chain.dissenter(id).await
            })
            .await?;
        if dissenter != me {
            return Ok(());
        }
        let secret = self.appeal_secret(id);
        let appeal = self
            .chain_retry("reading the appeal", async || self.chain.appeal(id).await)
            .await?;
        if appeal.state == contracts::Appeals::AppealState::NONE {
            let bond = self
                .chain_retry("reading the bond", async || {
                    self.chain.appeal_bond(id).await
                })
                .await?;
            let balance = self
                .chain_retry("reading the balance", async || self.chain.balance().await)
                .await?;
            if balance < bond {
                self.host.report(Activity::Warning {
                    message: format!(
                        "task {id}: outvoted, but the appeal bond of {bond} wei exceeds the balance of {balance} wei; not appealing"
                    ),
                });
                return Ok(());
            }
            let file = async || self.chain.file_appeal(id, secret, bond).await;
            if !self.send("appeal", id, file).await? {
                return Ok(());
            }
            self.host.report(Activity::Warning {
                message: format!(
                    "task {id}: outvoted by the other two seats; appealed to a jury with a bond of {bond} wei"
                ),
            });
        }
        self.appealing.lock().expect("not poisoned").insert(id);
        Ok(())
    }

    /// Moves this node's appeals on, one step each: reveal the secret and draw the jury
    /// from the block after filing; retry the draw while too few jurors are free; end the
    /// appeal once its window has passed. Repeated by the serving loop between tasks.
    async fn advance_appeals(&self) -> Result<(), NodeError> {
        let pending: Vec<U256> = self
            .appealing
            .lock()
            .expect("not poisoned")
            .iter()
            .copied()
            .collect();
        for id in pending {
            if self.advance_appeal(id).await? {
                self.appealing.lock().expect("not poisoned").remove(&id);
            }
        }
        Ok(())
    }

    /// One step of appeal `id`; true when this node has nothing more to do for it.
    async fn advance_appeal(&self, id: U256) -> Result<bool, NodeError> {
        use contracts::Appeals::AppealState;
        let appeal = self
            .chain_retry("reading the appeal", async || self.chain.appeal(id).await)
            .await?;
        if appeal.state != AppealState::DRAWING || appeal.appellant != self.chain.address() {
            return Ok(true);
        }
        let block = self
            .chain_retry("reading the block", async || {
                self.chain.block_number().await
            })
            .await?;
        if block > appeal.deadline {
            self.send("end the appeal", id, async || {
                self.chain.advance_appeal(id).await
            })
            .await?;
            return Ok(true);
        }
        if block <= appeal.filedBlock {
            return Ok(false);
        }
        // The first draw is sent whether or not jurors are free: it reveals the secret, so
        // the appeal can no longer be forfeited (at worst it is void, the bond refunded).
        let secret = self.appeal_secret(id);
        let reveal = appeal.seed.is_zero();
        let draw = self
            .chain_retry("drawing the jury", async || {
                self.chain.draw_jury(id, secret, reveal).await
            })
            .await;
        match draw {
            Ok(true) => {
                self.host.report(Activity::Warning {
                    message: format!("task {id}: the appeal's jury is drawn"),
                });
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(contracts::Error::Reverted(revert)) => {
                self.host.report(Activity::Warning {
                    message: format!("task {id}: drawing the jury refused: {revert}"),
                });
                Ok(true)
            }
            // Mined but failed: the pool moved between the estimate and the block.
            Err(contracts::Error::Failed(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Starts a queued task the free nodes can take (this node among them, perhaps). A
    /// refusal or a lost race with another node is no error: the next poll looks again.
    async fn start_queued(&self) -> Result<(), NodeError> {
        match self
            .chain_retry("starting a queued task", async || {
                self.chain.start_queued().await
            })
            .await
        {
            Ok(_) | Err(contracts::Error::Reverted(_) | contracts::Error::Failed(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Uploads the kept files (the relay recomputes their score) and reports it on chain.
    async fn upload(&self, id: U256, outcome: &Outcome) -> Result<(), NodeError> {
        let uploaded = self
            .retry(
                "uploading results",
                |e: &relay_client::ClientError| e.is_transient(),
                async || {
                    self.relay
                        .upload_results(&self.key, id, &outcome.files)
                        .await
                },
            )
            .await;
        let view = match uploaded {
            Ok(view) => view,
            // Accepted before (this node restarted after uploading): the listing carries
            // the same receipt.
            Err(e) if e.code() == Some("results_exist") => {
                self.retry(
                    "reading the receipt",
                    |e: &relay_client::ClientError| e.is_transient(),
                    async || self.relay.results(&self.key, id).await,
                )
                .await?
            }
            Err(e) => return Err(e.into()),
        };
        let Some(receipt) = view.receipt else {
            return Err(NodeError::NoReceipt { task: id });
        };
        let report = async || self.chain.report_uploaded(id, receipt.clone()).await;
        if self.send("report the upload", id, report).await? {
            self.host.report(Activity::Uploaded {
                task: id.to_string(),
                files: outcome.files.len() as u32,
            });
        }
        Ok(())
    }
}
