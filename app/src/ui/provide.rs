//! The Provide page (`#/provide`): this browser tab as a node of the network. What the
//! browser can compute with, the node key (kept by the node worker in IndexedDB), staking
//! and joining with the connected wallet's CNX, serving with a live activity log, earnings,
//! and the model cache.
//!
//! The node runs in a web worker ([`crate::node_worker`]) started the first time the page
//! opens and kept for the page's life, so serving goes on while the user looks at other
//! pages. Its state lives in a [`NodeStore`] that the app provides at its root for the
//! same reason.

use std::cell::OnceCell;

use alloy::primitives::{Address, Bytes, U256};
use leptos::prelude::*;
use leptos::task::spawn_local;
use relay::api::ModelListing;
use relay::client::RelayClient;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use worker_protocol::{Backend, Benchmark, CacheView, Capability, Command, Event, NodeView};

use super::Ctx;
use crate::error::AppError;
use crate::model::short;
use crate::node_worker::{LOAD_ERROR, NodeWorker};
use crate::provide_model::{
    CPU_MODEL_LIMIT, GAS_ALLOWANCE_CNX, JoinStep, ModelFit, NodeLog, PHASES, QUIT, activity_data,
    activity_kind, activity_task, answered_by, backend_name, changes_status, check_join,
    default_backend, default_stake, describe, duration, failure, funding_needed, join_words, mib,
    model_fits, network, parse_backend, task_types, wei, wei_to_cnx,
};
use crate::{chain, js};

/// Milliseconds between status refreshes while serving.
const REFRESH_MS: i32 = 10_000;

thread_local! {
    /// The node worker, started once per page load.
    static WORKER: OnceCell<Result<NodeWorker, String>> = const { OnceCell::new() };
}

/// Everything the page knows about the node worker and its node, kept for the page's
/// life (the app provides it at its root).
#[derive(Clone, Copy)]
pub struct NodeStore {
    capability: RwSignal<Option<Capability>>,
    benchmark: RwSignal<Option<Benchmark>>,
    address: RwSignal<Option<String>>,
    node: RwSignal<Option<NodeView>>,
    serving: RwSignal<bool>,
    log: RwSignal<NodeLog>,
    cache: RwSignal<Option<CacheView>>,
    exported: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
    /// Commands sent and not answered yet, by name.
    pending: RwSignal<Vec<String>>,
    join_step: RwSignal<Option<JoinStep>>,
    /// What to start serving with once the join completes.
    start_after_join: RwSignal<Option<(Backend, Vec<String>)>>,
    models: RwSignal<Option<Result<Vec<ModelListing>, String>>>,
    /// The models ticked in the join form.
    chosen: RwSignal<Vec<String>>,
    /// The backend chosen (`None`: the default for this browser).
    backend: RwSignal<Option<Backend>>,
    /// The stake typed, in CNX (`None`: the network's minimum).
    stake: RwSignal<Option<String>>,
    /// Whether to start serving as soon as the node has joined.
    auto_start: RwSignal<bool>,
}

impl Default for NodeStore {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeStore {
    /// A store with nothing known yet. Create it under the app's root owner so that it
    /// outlives the page.
    pub fn new() -> Self {
        Self {
            capability: RwSignal::new(None),
            benchmark: RwSignal::new(None),
            address: RwSignal::new(None),
            node: RwSignal::new(None),
            serving: RwSignal::new(false),
            log: RwSignal::new(NodeLog::default()),
            cache: RwSignal::new(None),
            exported: RwSignal::new(None),
            error: RwSignal::new(None),
            pending: RwSignal::new(Vec::new()),
            join_step: RwSignal::new(None),
            start_after_join: RwSignal::new(None),
            models: RwSignal::new(None),
            chosen: RwSignal::new(Vec::new()),
            backend: RwSignal::new(None),
            stake: RwSignal::new(None),
            auto_start: RwSignal::new(false),
        }
    }

    fn get() -> Self {
        expect_context::<Self>()
    }

    /// Starts the worker unless it was; true when this call started it.
    fn start(self) -> bool {
        WORKER.with(|cell| {
            if cell.get().is_some() {
                return false;
            }
            let started = NodeWorker::start(move |event| self.apply(event));
            let ok = started.is_ok();
            if let Err(e) = &started {
                self.error.set(Some(failure(LOAD_ERROR, e)));
            }
            let _ = cell.set(started);
            if ok {
                self.watch();
            }
            ok
        })
    }

    /// Refreshes the node's record while serving, and asks before the tab closes while
    /// the node serves or holds a task.
    fn watch(self) {
        spawn_local(async move {
            loop {
                js::sleep(REFRESH_MS).await;
                if self.serving.get_untracked() {
                    self.send(Command::Status);
                }
            }
        });
        let Some(window) = web_sys::window() else {
            return;
        };
        let guard = Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
            if self.serving.get_untracked() || self.log.with_untracked(|l| l.current.is_some()) {
                event.prevent_default();
                let _ = js_sys::Reflect::set(
                    &event,
                    &"returnValue".into(),
                    &"This tab is serving the network: leaving may cost stake.".into(),
                );
            }
        });
        let _ =
            window.add_event_listener_with_callback("beforeunload", guard.as_ref().unchecked_ref());
        guard.forget();
    }

    /// Sends a command to the worker, noting it as in progress.
    fn send(self, command: Command) {
        let name = command.tag();
        let posted = WORKER.with(|cell| match cell.get() {
            Some(Ok(worker)) => worker.post(&command),
            Some(Err(e)) => Err(e.clone()),
            None => Err("the node worker is not started".into()),
        });
        match posted {
            Ok(()) => self.pending.update(|p| {
                if !p.iter().any(|n| n == name) {
                    p.push(name.to_owned());
                }
            }),
            Err(e) => self.error.set(Some(failure(name, &e))),
        }
    }

    /// Whether `command` was sent and not answered (tracked).
    fn is_pending(self, command: &str) -> bool {
        self.pending.with(|p| p.iter().any(|n| n == command))
    }

    /// The node's status word (tracked), once known.
    fn status(self) -> Option<String> {
        self.node.with(|n| n.as_ref().map(|n| n.status.clone()))
    }

    /// The backend to use (tracked): the chosen one, else this browser's default.
    fn backend(self) -> Backend {
        self.backend
            .get()
            .unwrap_or_else(|| self.capability.with(|c| default_backend(c.as_ref())))
    }

    /// The relay's models judged against this browser (tracked).
    fn fits(self) -> Vec<ModelFit> {
        let backend = self.backend();
        self.models.with(|models| match models {
            Some(Ok(models)) => self
                .capability
                .with(|c| model_fits(models, c.as_ref(), backend)),
            _ => Vec::new(),
        })
    }

    /// Applies one event from the worker.
    fn apply(self, event: Event) {
        let answered = answered_by(&event);
        if !answered.is_empty() {
            self.pending
                .update(|p| p.retain(|n| !answered.contains(&n.as_str())));
        }
        match event {
            Event::Ready => {}
            Event::Key { address } => {
                if self.address.get_untracked().as_ref() != Some(&address) {
                    self.node.set(None);
                    self.exported.set(None);
                }
                self.address.set(Some(address));
            }
            Event::ExportedKey { private_key } => self.exported.set(Some(private_key)),
            Event::Capability(capability) => self.capability.set(Some(capability)),
            Event::Benchmark(benchmark) => self.benchmark.set(Some(benchmark)),
            // Timing one task is for the benchmarks, not this page.
            Event::TaskBench(_) => {}
            Event::Status(view) => {
                if view.status != QUIT && self.join_step.get_untracked() == Some(JoinStep::Joining)
                {
                    self.join_step.set(None);
                    if let Some((backend, models)) = self.start_after_join.get_untracked() {
                        self.start_after_join.set(None);
                        if !self.serving.get_untracked() {
                            self.send(Command::Start { backend, models });
                        }
                    }
                }
                if self.address.get_untracked().is_none() && !view.address.is_empty() {
                    self.address.set(Some(view.address.clone()));
                }
                self.node.set(Some(view));
            }
            Event::Serving { serving } => self.serving.set(serving),
            Event::Activity(activity) => {
                let refresh = changes_status(&activity);
                self.log.update(|log| log.apply(activity, clock()));
                if refresh {
                    self.send(Command::Status);
                }
            }
            Event::Cache(cache) => self.cache.set(Some(cache)),
            Event::Error { command, message } => {
                if command == LOAD_ERROR {
                    // An uncaught error in the worker: its code is no longer running (a
                    // wasm trap leaves the instance unusable), so it serves no more.
                    self.pending.set(Vec::new());
                    self.serving.set(false);
                }
                if command == "join" || command == LOAD_ERROR {
                    self.join_step.set(None);
                    self.start_after_join.set(None);
                }
                self.error.set(Some(failure(&command, &message)));
            }
        }
    }
}

/// The local time, `12:04:59`.
fn clock() -> String {
    js_sys::Date::new_0().to_locale_time_string("en-GB").into()
}

/// Starts the worker (first time: `Init` and `Probe`; later: a status refresh), reads the
/// cache and the relay's models.
fn open(ctx: Ctx, store: NodeStore) {
    let Ok(config) = ctx.config_now() else {
        return;
    };
    if store.start() {
        store.send(Command::Init {
            network: network(&config),
        });
        store.send(Command::Probe);
    } else {
        store.send(Command::Status);
    }
    store.send(Command::CacheInfo);
    spawn_local(async move {
        let listed = match RelayClient::new(&config.relay_url, config.chain_id) {
            Ok(client) => client
                .models()
                .await
                .map_err(|e| AppError::from(e).to_string()),
            Err(e) => Err(e.to_string()),
        };
        store.models.set(Some(listed));
    });
}

/// The Provide page.
#[component]
pub fn ProvidePage() -> impl IntoView {
    let ctx = Ctx::get();
    let store = NodeStore::get();
    open(ctx, store);
    view! {
        <div class="provide">
            <section class="card">
                <h1>"Provide compute"</h1>
                <p class="hint">
                    "Turn this tab into a node of the network: it stakes CNX, runs the tasks it is "
                    "drawn for on this browser's GPU (or CPU for the tiny models), commits to the "
                    "result on chain and earns the fee. The node has its own key, kept in this "
                    "browser; your wallet only funds it."
                </p>
                {move || store.error.get().map(|error| view! {
                    <p class="banner bad" role="alert">
                        <span data-testid="provide-error">{error}</span>
                        <button class="link" on:click=move |_| store.error.set(None)>"Dismiss"</button>
                    </p>
                })}
            </section>
            <BrowserCard/>
            <KeyCard/>
            {move || (store.status().as_deref() == Some(QUIT)).then(|| view! { <JoinCard/> })}
            <ServeCard/>
            <EarningsCard/>
            <CacheCard/>
        </div>
    }
}

/// This browser's compute, the benchmark, and what it can serve.
#[component]
fn BrowserCard() -> impl IntoView {
    let store = NodeStore::get();
    let capability = move || match store.capability.get() {
        None => view! {
            <p class="loading"><span class="spinner"></span>"Looking at this browser's compute…"</p>
        }
        .into_any(),
        Some(c) => {
            let adapter_rows = match c.webgpu.clone() {
                Some(a) => view! {
                    <dt>"WebGPU adapter"</dt>
                    <dd><span data-testid="adapter-name">{a.name.clone()}</span>
                        {a.software.then(|| view! { " " <span class="badge bad">"software"</span> })}</dd>
                    <dt>"Largest storage binding"</dt>
                    <dd data-testid="max-binding">{mib(a.max_binding)} " MiB"</dd>
                    <dt>"Largest buffer"</dt>
                    <dd data-testid="max-buffer">{mib(a.max_buffer)} " MiB"</dd>
                    <dt>"shader-f16"</dt><dd>{if a.shader_f16 { "yes" } else { "no" }}</dd>
                    <dt>"Software adapter"</dt>
                    <dd>{if a.software { "yes: emulated on the CPU, slower here than the CPU backend" } else { "no" }}</dd>
                }
                .into_any(),
                None => view! {
                    <dt>"WebGPU adapter"</dt>
                    <dd><span data-testid="adapter-name">"none"</span></dd>
                    <dt>"Why"</dt>
                    <dd data-testid="webgpu-missing">
                        {c.webgpu_missing.clone().unwrap_or_else(|| "the browser offers no adapter".into())}
                        ". The CPU (wasm) fallback serves the tiny models only (under "
                        {mib(CPU_MODEL_LIMIT as f64)} " MiB)."
                    </dd>
                }
                .into_any(),
            };
            let storage = match (c.storage_usage, c.storage_quota) {
                (Some(used), Some(quota)) => {
                    format!("{} MiB used of {} MiB", mib(used), mib(quota))
                }
                (None, Some(quota)) => format!("{} MiB granted", mib(quota)),
                _ => "unknown".to_owned(),
            };
            view! {
                <dl class="summary">
                    {adapter_rows}
                    <dt>"CPU cores"</dt><dd>{c.cores}</dd>
                    <dt>"Storage for this site"</dt><dd>{storage}</dd>
                </dl>
            }
            .into_any()
        }
    };
    let task_types_view = move || match store.models.get() {
        None => view! { <p class="hint">"Reading the relay's models…"</p> }.into_any(),
        Some(Err(e)) => {
            view! { <p class="error">"The relay's models could not be read: " {e}</p> }.into_any()
        }
        Some(Ok(_)) => {
            let fits = store.fits();
            let known = store.capability.with(Option::is_some);
            let backend = store.backend();
            view! {
                    <h3>"What it can serve (" {backend_name(backend)} ")"</h3>
                    <ul class="task-types" data-testid="task-types">
                        {task_types(&fits).into_iter().map(|t| {
                            let ok = t.why_not.is_none();
                            view! {
                                <li class:ok=ok class:bad=!ok>
                                    <strong>{t.kind}</strong> ": "
                                    {match t.why_not {
                                        None => format!("yes, with {}", t.models.join(", ")),
                                        Some(why) => format!("no — {why}"),
                                    }}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    {(!known).then(|| view! { <p class="hint">"Sizes are checked once the browser is probed."</p> })}
                    <div class="scroll">
                        <table>
                            <thead><tr><th>"Model"</th><th>"Task"</th><th>"Size"</th><th>"Largest file"</th><th>"Here"</th></tr></thead>
                            <tbody>
                                {fits.into_iter().map(|f| {
                                    let ok = f.fits();
                                    view! {
                                        <tr data-model=f.name.clone()>
                                            <td>{f.name.clone()}</td>
                                            <td>{crate::provide_model::task_kind(f.layout)}</td>
                                            <td>{mib(f.size as f64)} " MiB"</td>
                                            <td>{mib(f.largest_file as f64)} " MiB"</td>
                                            <td class:ok=ok class:bad=!ok>
                                                {f.problem.unwrap_or_else(|| "fits".into())}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
        }
    };
    view! {
        <section class="card">
            <h2>"This browser"</h2>
            {capability}
            <div class="actions">
                <button data-testid="benchmark-button"
                        disabled=move || store.is_pending("benchmark")
                        on:click=move |_| {
                            let backend = store.backend.get_untracked().unwrap_or_else(|| {
                                store.capability.with_untracked(|c| default_backend(c.as_ref()))
                            });
                            store.benchmark.set(None);
                            store.send(Command::Benchmark { backend });
                        }>
                    {move || format!("Run benchmark ({})", backend_name(store.backend()))}
                </button>
                {move || store.is_pending("benchmark").then(|| view! {
                    <span class="progress"><span class="spinner"></span>"Timing the engine…"</span>
                })}
                {move || store.benchmark.get().map(|b| view! {
                    <span data-testid="benchmark-result" data-backend=backend_name(b.backend)
                          data-gflops=format!("{:.2}", b.gflops)>
                        {format!(
                            "{}: device ready in {:.0} ms; one {n}×{n} product in {:.1} ms: {:.2} GFLOP/s",
                            backend_name(b.backend), b.init_ms, b.matmul_ms, b.gflops, n = b.size
                        )}
                    </span>
                })}
            </div>
            {task_types_view}
        </section>
    }
}

/// The node key and the node's record on chain.
#[component]
fn KeyCard() -> impl IntoView {
    let store = NodeStore::get();
    let export_asked = RwSignal::new(false);
    let remove_asked = RwSignal::new(false);
    let address = move || match store.address.get() {
        Some(address) => view! { <code data-testid="node-address">{address}</code> }.into_any(),
        None if store.is_pending("init") => view! {
            <span class="loading"><span class="spinner"></span>"Loading the node key…"</span>
        }
        .into_any(),
        None => view! { <span class="hint">"No node key yet."</span> }.into_any(),
    };
    let record = move || {
        store.node.get().map(|n| {
            let task = n.current_task.clone().filter(|t| !t.is_empty() && t != "0");
            view! {
                <dl class="summary" data-testid="node-record">
                    <dt>"Status"</dt><dd><strong data-testid="node-status">{n.status.clone()}</strong></dd>
                    <dt>"Stake"</dt><dd data-testid="node-stake">{wei_to_cnx(&n.stake)} " CNX"</dd>
                    <dt>"Balance (gas and stake)"</dt><dd data-testid="node-balance">{wei_to_cnx(&n.balance)} " CNX"</dd>
                    <dt>"Withdrawable"</dt><dd>{wei_to_cnx(&n.withdrawable)} " CNX"</dd>
                    <dt>"Unbonding"</dt><dd>{wei_to_cnx(&n.unbonding)} " CNX"</dd>
                    <dt>"QoS"</dt><dd>{n.qos} " / 1000"</dd>
                    <dt>"Health"</dt><dd>{format!("{:.1}%", f64::from(n.health) / 10.0)}</dd>
                    <dt>"Task in hand"</dt>
                    <dd>{match task {
                        Some(t) => view! { <a href=format!("#/task/{t}")>"#" {t.clone()}</a> }.into_any(),
                        None => view! { "none" }.into_any(),
                    }}</dd>
                    <dt>"GPU announced"</dt><dd>{if n.gpu_name.is_empty() { "—".to_owned() } else { n.gpu_name.clone() }}</dd>
                    <dt>"Models announced"</dt><dd>{if n.models.is_empty() { "—".to_owned() } else { n.models.join(", ") }}</dd>
                </dl>
            }
        })
    };
    let removable = move || store.status().as_deref() == Some(QUIT) && !store.serving.get();
    view! {
        <section class="card">
            <h2>"Node key"
                <button class="link" disabled=move || store.is_pending("status")
                        on:click=move |_| store.send(Command::Status)>"Refresh"</button>
            </h2>
            <p>"Node address: " {address}</p>
            {record}
            <div class="actions">
                <button data-testid="export-key-button" disabled=move || store.address.with(Option::is_none)
                        on:click=move |_| {
                            store.exported.set(None);
                            export_asked.set(true);
                        }>"Export key"</button>
                <button data-testid="remove-key-button" disabled=move || !removable()
                        title="Only a node that has quit (status Quit) can drop its key"
                        on:click=move |_| remove_asked.set(true)>"Remove key"</button>
            </div>
            {move || export_asked.get().then(|| view! {
                <div class="confirm" data-testid="export-confirm">
                    <p class="error"><strong>"Anyone who sees this key controls the node, its stake "
                        "and its earnings."</strong>" Show it only to copy it somewhere safe (to move the node "
                        "to another browser or to the native node)."</p>
                    {move || match store.exported.get() {
                        Some(key) => view! {
                            <code class="secret" data-testid="exported-key">{key}</code>
                            <button on:click=move |_| { store.exported.set(None); export_asked.set(false); }>"Hide"</button>
                        }.into_any(),
                        None => view! {
                            <button data-testid="export-confirm-button" disabled=move || store.is_pending("exportKey")
                                    on:click=move |_| store.send(Command::ExportKey)>"Show the key"</button>
                            <button class="link" on:click=move |_| export_asked.set(false)>"Cancel"</button>
                        }.into_any(),
                    }}
                </div>
            })}
            {move || remove_asked.get().then(|| {
                let (balance, withdrawable, unbonding) = store.node.with(|n| n.as_ref().map(|n| {
                    (wei_to_cnx(&n.balance), wei_to_cnx(&n.withdrawable), wei_to_cnx(&n.unbonding))
                }).unwrap_or_default());
                view! {
                    <div class="confirm" data-testid="remove-confirm">
                        <p class="error"><strong>"The key is deleted from this browser and a new one is made."</strong>
                            " Whatever it still holds is lost unless you exported it first: balance "
                            {balance} " CNX, withdrawable " {withdrawable} " CNX, unbonding " {unbonding} " CNX."</p>
                        <button data-testid="remove-confirm-button" disabled=move || store.is_pending("removeKey")
                                on:click=move |_| { store.send(Command::RemoveKey); remove_asked.set(false); }>
                            "Delete the node key"</button>
                        <button class="link" on:click=move |_| remove_asked.set(false)>"Cancel"</button>
                    </div>
                }
            })}
        </section>
    }
}

/// Stake and join (shown while the node has not joined).
#[component]
fn JoinCard() -> impl IntoView {
    let ctx = Ctx::get();
    let store = NodeStore::get();
    let stake_text = move || {
        store.stake.get().unwrap_or_else(|| {
            store
                .node
                .with(|n| n.as_ref().map(default_stake).unwrap_or_default())
        })
    };
    let checked = move || {
        let stake = stake_text();
        store.node.with(|n| {
            store
                .chosen
                .with(|chosen| check_join(n.as_ref(), chosen, &stake))
        })
    };
    let join = move |_| {
        let stake = match checked() {
            Ok(stake) => stake,
            Err(e) => {
                store.error.set(Some(e.to_string()));
                return;
            }
        };
        let backend = store.backend.get_untracked().unwrap_or_else(|| {
            store
                .capability
                .with_untracked(|c| default_backend(c.as_ref()))
        });
        let models = store.chosen.get_untracked();
        store.error.set(None);
        store.join_step.set(Some(JoinStep::Funding));
        spawn_local(async move {
            if let Err(e) = fund_and_join(ctx, store, stake, backend, models).await {
                store.join_step.set(None);
                store.start_after_join.set(None);
                if matches!(e, AppError::WrongChain { .. }) {
                    ctx.notice.set(Some(e.clone()));
                }
                store.error.set(Some(e.to_string()));
            }
        });
    };
    let funding = move || {
        let stake = checked().ok()?;
        let balance = store.node.with(|n| n.as_ref().map(|n| wei(&n.balance)))?;
        Some(match funding_needed(stake, balance) {
            Some(top_up) => format!(
                "Your wallet sends {} CNX to the node key: the stake, and {GAS_ALLOWANCE_CNX} CNX \
                 for the gas of joining, committing and revealing (less what the key holds).",
                crate::model::cnx(top_up)
            ),
            None => "The node key holds enough already: your wallet is not asked for anything."
                .to_owned(),
        })
    };
    let webgpu_known_missing = move || {
        store
            .capability
            .with(|c| c.as_ref().is_some_and(|c| c.webgpu.is_none()))
    };
    view! {
        <section class="card">
            <h2>"Stake and join"</h2>
            <div class="banner info penalty" data-testid="penalty">
                <p><strong>"Serving is a promise."</strong>" A node drawn for a task that does not commit "
                   "its result before the deadline loses 10% of its stake, and its health drops (so "
                   "it is drawn less). Closing this tab while it serves can therefore cost stake. "
                   "The Stop button is safe: it pauses the node on chain first, so no new task is "
                   "drawn, and finishes the task in hand. Reloading the tab in the middle of a task "
                   "resumes it (the outcome is kept in this browser) if it is back before the "
                   "deadline."</p>
            </div>
            <fieldset class="models">
                <legend>"Models to serve"</legend>
                {move || {
                    let fits = store.fits();
                    if fits.is_empty() {
                        return view! { <p class="hint">"No models listed by the relay yet."</p> }.into_any();
                    }
                    fits.into_iter().map(|f| {
                        let name = f.name.clone();
                        let toggle = name.clone();
                        let is_chosen = name.clone();
                        view! {
                            <label class="field check">
                                <input type="checkbox" data-testid="model-choice" value=name.clone()
                                       disabled={!f.fits()}
                                       prop:checked=move || store.chosen.with(|c| c.contains(&is_chosen))
                                       on:change=move |ev| {
                                           let on = event_target_checked(&ev);
                                           store.chosen.update(|c| {
                                               c.retain(|m| *m != toggle);
                                               if on { c.push(toggle.clone()); }
                                           });
                                       }/>
                                <span>
                                    <strong>{name}</strong> " — " {crate::provide_model::task_kind(f.layout)} ", "
                                    {mib(f.size as f64)} " MiB"
                                    {f.problem.map(|p| view! { <small class="error">" (" {p} ")"</small> })}
                                </span>
                            </label>
                        }
                    }).collect_view().into_any()
                }}
            </fieldset>
            <div class="form-grid">
                <label class="field">
                    <span>"Backend"</span>
                    <select data-testid="backend-choice" name="backend"
                            on:change=move |ev| store.backend.set(parse_backend(&event_target_value(&ev)))>
                        <option value="webgpu" disabled=webgpu_known_missing
                                selected=move || store.backend() == Backend::Webgpu>"WebGPU"</option>
                        <option value="cpu" selected=move || store.backend() == Backend::Cpu>"CPU (tiny models)"</option>
                    </select>
                </label>
                <label class="field">
                    <span>"Stake (CNX)"</span>
                    <input type="text" name="stake" data-testid="stake-input" inputmode="decimal"
                           prop:value=stake_text
                           on:input=move |ev| store.stake.set(Some(event_target_value(&ev)))/>
                    <small class="hint">{move || store.node.with(|n| n.as_ref().map(|n| {
                        format!("at least {} CNX", wei_to_cnx(&n.min_stake))
                    }))}</small>
                </label>
                <label class="field check wide">
                    <input type="checkbox" data-testid="start-after-join"
                           prop:checked=move || store.auto_start.get()
                           on:change=move |ev| store.auto_start.set(event_target_checked(&ev))/>
                    <span>"Start serving as soon as the node has joined"</span>
                </label>
            </div>
            <p class="hint">{funding}</p>
            <div class="actions">
                <button class="primary" data-testid="join-button"
                        disabled=move || checked().is_err() || store.join_step.get().is_some()
                        on:click=join>"Fund and join"</button>
                {move || store.join_step.get().map(|step| {
                    let words = store.log.with(|l| join_words(step, l.downloading.as_ref()));
                    view! { <span class="progress" data-testid="join-progress"><span class="spinner"></span>{words}</span> }
                })}
                {move || match (store.join_step.get(), checked()) {
                    (None, Err(e)) => Some(view! { <span class="hint" data-testid="join-blocker">{e.to_string()}</span> }),
                    _ => None,
                }}
            </div>
        </section>
    }
}

/// Funds the node key from the wallet when it holds less than `stake` and gas, then asks
/// the worker to join.
async fn fund_and_join(
    ctx: Ctx,
    store: NodeStore,
    stake: U256,
    backend: Backend,
    models: Vec<String>,
) -> Result<(), AppError> {
    let config = ctx.config_now()?;
    let node: Address = store
        .address
        .get_untracked()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| AppError::Other("The node key is not loaded yet.".into()))?;
    let balance = chain::balance(&config, node).await?;
    if let Some(top_up) = funding_needed(stake, balance) {
        let wallet = ctx.wallet_now()?;
        wallet.ensure_chain(&config).await?;
        let hash = wallet
            .send_transaction(&config, node, Bytes::new(), top_up, None)
            .await?;
        chain::receipt(&config, hash).await?;
    }
    store.start_after_join.set(
        store
            .auto_start
            .get_untracked()
            .then(|| (backend, models.clone())),
    );
    store.join_step.set(Some(JoinStep::Joining));
    store.send(Command::Join {
        stake_wei: stake.to_string(),
        backend,
        models,
    });
    Ok(())
}

/// Serving: start and stop, the task in hand, the activity log, the session's tasks.
#[component]
fn ServeCard() -> impl IntoView {
    let store = NodeStore::get();
    let joined = move || store.status().is_some_and(|s| s != QUIT);
    let start = move |_| {
        let backend = store.backend.get_untracked().unwrap_or_else(|| {
            store
                .capability
                .with_untracked(|c| default_backend(c.as_ref()))
        });
        let announced = store
            .node
            .with_untracked(|n| n.as_ref().map(|n| n.models.clone()).unwrap_or_default());
        let models = if announced.is_empty() {
            store.chosen.get_untracked()
        } else {
            announced
        };
        store.error.set(None);
        store.send(Command::Start { backend, models });
    };
    let task_in_hand = move || match store.log.with(|l| l.current.clone()) {
        None => view! { <p class="hint" data-testid="no-task">"No task in hand."</p> }.into_any(),
        Some(t) => {
            let steps = t.steps.max(1);
            let words = if t.steps == 0 {
                "waiting for the first step".to_owned()
            } else if t.detail.is_empty() {
                format!("step {} of {}", t.step, t.steps)
            } else {
                format!("step {} of {} ({})", t.step, t.steps, t.detail)
            };
            view! {
                <div class="timeline task-in-hand" data-task=t.task.clone()>
                    <p>
                        <a href=format!("#/task/{}", t.task)>"Task #" {t.task.clone()}</a>
                        {t.model.clone().map(|m| view! { " on " <strong>{m}</strong> })}
                        {t.ms.map(|ms| format!(" — inference took {}", duration(ms)))}
                    </p>
                    <progress data-testid="task-progress" data-task=t.task.clone()
                              max=steps.to_string() value=t.step.min(steps).to_string()></progress>
                    <span class="hint">{words}</span>
                    <ol class="phases">
                        {PHASES.iter().enumerate().map(|(i, (kind, label))| view! {
                            <li data-phase=*kind class:done={i <= t.phase} class:current={i == t.phase}>{*label}</li>
                        }).collect_view()}
                    </ol>
                </div>
            }
            .into_any()
        }
    };
    let download = move || {
        store.log.with(|l| l.downloading.clone()).map(|d| {
            view! {
                <p class="download">
                    "Downloading " {d.model.clone()} ": " {mib(d.done as f64)} " of " {mib(d.total as f64)} " MiB "
                    <progress max=d.total.max(1).to_string() value=d.done.min(d.total).to_string()></progress>
                </p>
            }
        })
    };
    view! {
        <section class="card">
            <h2>"Serve"</h2>
            <div class="actions">
                <span>"This tab is "
                    <strong data-testid="serving-state" class:ok=move || store.serving.get()>
                        {move || if store.serving.get() { "serving" } else { "stopped" }}
                    </strong>
                </span>
                <button class="primary" data-testid="start-button"
                        disabled=move || store.serving.get() || !joined() || store.is_pending("start")
                        on:click=start>"Start serving"</button>
                <button data-testid="stop-button"
                        disabled=move || !store.serving.get() || store.is_pending("stop")
                        on:click=move |_| store.send(Command::Stop)>"Stop"</button>
                {move || store.is_pending("stop").then(|| view! {
                    <span class="progress"><span class="spinner"></span>
                        "Stopping: pausing on chain, then finishing the task in hand…"</span>
                })}
            </div>
            {move || (!joined() && !store.serving.get()).then(|| view! {
                <p class="hint">"Join the network first (above) to serve."</p>
            })}
            {move || (joined() && !store.serving.get() && store.status().as_deref() != Some("Paused")).then(|| view! {
                <p class="banner bad" data-testid="not-serving-warning">
                    "The node is on the network but this tab is not serving: a task drawn now "
                    "would go unanswered and cost stake. Start serving (or quit)."
                </p>
            })}
            {move || store.serving.get().then(|| view! {
                <p class="hint">"Keep this tab open while it serves; press Stop before closing it."</p>
            })}
            {download}
            <h3>"Task in hand"</h3>
            {task_in_hand}
            <h3>"Activity"</h3>
            <ol class="activity" data-testid="activity-log">
                {move || store.log.with(|l| l.entries.iter().map(|entry| {
                    let kind = activity_kind(&entry.activity);
                    let task = activity_task(&entry.activity).unwrap_or_default().to_owned();
                    let bad = matches!(kind, "lost" | "refused" | "cancelled" | "retrying" | "warning" | "cacheCorrupt");
                    let good = matches!(kind, "done" | "committed" | "revealed" | "uploaded" | "modelReady");
                    let data = activity_data(&entry.activity);
                    view! {
                        <li data-kind=kind data-task=task class:bad=bad class:good=good
                            data-model=data.model data-ms=data.ms data-downloaded=data.downloaded
                            data-cached=data.cached data-done=data.done data-total=data.total
                            data-step=data.step data-steps=data.steps>
                            <time>{entry.at.clone()}</time>
                            <span>{describe(&entry.activity)}</span>
                        </li>
                    }
                }).collect_view())}
            </ol>
            {move || store.log.with(|l| l.entries.is_empty()).then(|| view! {
                <p class="hint">"Nothing yet."</p>
            })}
            <h3>"This session"</h3>
            {move || {
                let history = store.log.with(|l| l.history.clone());
                if history.is_empty() {
                    return view! { <p class="hint">"No task finished yet."</p> }.into_any();
                }
                view! {
                    <div class="scroll">
                        <table data-testid="session-history">
                            <thead><tr><th>"Task"</th><th>"Inference"</th><th>"Outcome"</th></tr></thead>
                            <tbody>
                                {history.into_iter().map(|h| view! {
                                    <tr data-task=h.task.clone()>
                                        <td><a href=format!("#/task/{}", h.task)>"#" {h.task.clone()}</a></td>
                                        <td>{h.ms.map(duration).unwrap_or_else(|| "—".into())}</td>
                                        <td>{h.outcome}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}
        </section>
    }
}

/// Earnings: withdraw to the wallet, quit the network.
#[component]
fn EarningsCard() -> impl IntoView {
    let ctx = Ctx::get();
    let store = NodeStore::get();
    let quit_asked = RwSignal::new(false);
    let withdraw = move |_| match ctx.wallet_now() {
        Ok(wallet) => {
            store.error.set(None);
            store.send(Command::Withdraw {
                to: wallet.address().to_string(),
            });
        }
        Err(e) => store.error.set(Some(e.to_string())),
    };
    let amounts = move || {
        store.node.get().map(|n| {
            view! {
                <dl class="summary">
                    <dt>"Withdrawable"</dt><dd data-testid="node-withdrawable">{wei_to_cnx(&n.withdrawable)} " CNX"</dd>
                    <dt>"Unbonding"</dt><dd>{wei_to_cnx(&n.unbonding)} " CNX"</dd>
                    <dt>"Spare balance"</dt><dd>{wei_to_cnx(&n.balance)} " CNX"</dd>
                </dl>
            }
        })
    };
    let can_quit = move || store.status().is_some_and(|s| s != QUIT);
    view! {
        <section class="card">
            <h2>"Earnings"</h2>
            {amounts}
            <p class="hint">"Withdrawing sends the rewards and unbonded stake, then the node key's spare "
               "balance, to your wallet"
               {move || ctx.wallet.get().map(|w| format!(" ({})", short(&w.address().to_string())))}
               "."</p>
            <div class="actions">
                <button data-testid="withdraw-button"
                        disabled=move || store.address.with(Option::is_none) || store.is_pending("withdraw")
                        on:click=withdraw>"Withdraw to my wallet"</button>
                <button data-testid="quit-button" disabled=move || !can_quit() || store.is_pending("quit")
                        on:click=move |_| quit_asked.set(true)>"Quit the network"</button>
            </div>
            {move || quit_asked.get().then(|| view! {
                <div class="confirm" data-testid="quit-confirm">
                    <p>"Quitting leaves the network: the node is drawn for no new task and its stake "
                       "starts unbonding; withdraw it once unbonded."</p>
                    <button data-testid="quit-confirm-button"
                            on:click=move |_| { store.send(Command::Quit); quit_asked.set(false); }>"Quit"</button>
                    <button class="link" on:click=move |_| quit_asked.set(false)>"Cancel"</button>
                </div>
            })}
        </section>
    }
}

/// The model cache.
#[component]
fn CacheCard() -> impl IntoView {
    let store = NodeStore::get();
    let busy = move || {
        store.serving.get() || store.join_step.get().is_some() || store.is_pending("clearCache")
    };
    view! {
        <section class="card">
            <h2>"Model cache"
                <button class="link" on:click=move |_| store.send(Command::CacheInfo)>"Refresh"</button>
            </h2>
            <p data-testid="cache-info">
                {move || match store.cache.get() {
                    None => "Reading the cache…".to_owned(),
                    Some(c) => format!(
                        "{} file(s), {} MiB{}",
                        c.files,
                        mib(c.bytes),
                        c.quota.map(|q| format!(" (this site may store {} MiB)", mib(q))).unwrap_or_default()
                    ),
                }}
            </p>
            <div class="actions">
                <button data-testid="clear-cache-button" disabled=busy
                        title="Not while serving or joining"
                        on:click=move |_| store.send(Command::ClearCache)>"Clear cache"</button>
                <span class="hint">"Models are fetched again (and checked) when next needed."</span>
            </div>
        </section>
    }
}
