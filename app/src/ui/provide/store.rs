//! The Provide page's state: everything the page knows about the node worker and its node,
//! kept for the page's life (the app provides a [`NodeStore`] at its root, so serving goes
//! on while the user looks at other pages), and the worker it speaks to.

use std::cell::OnceCell;

use leptos::prelude::*;
use leptos::task::spawn_local;
use relay_api::ModelListing;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use worker_protocol::{
    Backend, Benchmark, CacheView, Capability, Command, CommandKind, Event, NodeView,
};

use crate::js;
use crate::node_worker::{self, NodeWorker};
use crate::provide::QUIT;
use crate::provide::activity::{answered_by, changes_status, failure, worker_failure};
use crate::provide::fit::{ModelFit, default_backend, model_fits};
use crate::provide::join::JoinStep;
use crate::provide::log::NodeLog;
use crate::worker::WorkerFailure;

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
    pub(super) capability: RwSignal<Option<Capability>>,
    pub(super) benchmark: RwSignal<Option<Benchmark>>,
    pub(super) address: RwSignal<Option<String>>,
    pub(super) node: RwSignal<Option<NodeView>>,
    pub(super) serving: RwSignal<bool>,
    pub(super) log: RwSignal<NodeLog>,
    pub(super) cache: RwSignal<Option<CacheView>>,
    pub(super) exported: RwSignal<Option<String>>,
    pub(super) error: RwSignal<Option<String>>,
    /// Commands sent and not answered yet.
    pub(super) pending: RwSignal<Vec<CommandKind>>,
    pub(super) join_step: RwSignal<Option<JoinStep>>,
    /// What to start serving with once the join completes.
    pub(super) start_after_join: RwSignal<Option<(Backend, Vec<String>)>>,
    pub(super) models: RwSignal<Option<Result<Vec<ModelListing>, String>>>,
    /// The models ticked in the join form.
    pub(super) chosen: RwSignal<Vec<String>>,
    /// The backend chosen (`None`: the default for this browser).
    pub(super) backend: RwSignal<Option<Backend>>,
    /// The stake typed, in CNX (`None`: the network's minimum).
    pub(super) stake: RwSignal<Option<String>>,
    /// Whether to start serving as soon as the node has joined.
    pub(super) auto_start: RwSignal<bool>,
    /// Whether the browser agreed to keep this site's storage (`None`: not asked yet or
    /// no storage manager).
    pub(super) persistent: RwSignal<Option<bool>>,
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
            persistent: RwSignal::new(None),
        }
    }

    pub(super) fn get() -> Self {
        expect_context::<Self>()
    }

    /// Starts the worker unless it was; true when this call started it.
    pub(super) fn start(self) -> bool {
        WORKER.with(|cell| {
            if cell.get().is_some() {
                return false;
            }
            let started = node_worker::start(move |event| match event {
                Ok(event) => self.apply(event),
                Err(failure) => self.failed(failure),
            });
            let ok = started.is_ok();
            if let Err(e) = &started {
                self.error.set(Some(worker_failure(e)));
            }
            let _ = cell.set(started);
            if ok {
                self.watch();
                spawn_local(async move {
                    let granted = js::persist_storage().await;
                    self.persistent.set(granted);
                });
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
    pub(super) fn send(self, command: Command) {
        let kind = command.kind();
        let posted = WORKER.with(|cell| match cell.get() {
            Some(Ok(worker)) => worker.post(&command),
            Some(Err(e)) => Err(e.clone()),
            None => Err("the node worker is not started".into()),
        });
        match posted {
            Ok(()) => self.pending.update(|p| {
                if !p.contains(&kind) {
                    p.push(kind);
                }
            }),
            Err(e) => self.error.set(Some(failure(kind, &e))),
        }
    }

    /// Whether `command` was sent and not answered (tracked).
    pub(super) fn is_pending(self, command: CommandKind) -> bool {
        self.pending.with(|p| p.contains(&command))
    }

    /// The node's status word (tracked), once known.
    pub(super) fn status(self) -> Option<String> {
        self.node.with(|n| n.as_ref().map(|n| n.status.clone()))
    }

    /// The backend to use (tracked): the chosen one, else this browser's default.
    pub(super) fn backend(self) -> Backend {
        self.backend
            .get()
            .unwrap_or_else(|| self.capability.with(|c| default_backend(c.as_ref())))
    }

    /// The relay's models judged against this browser (tracked).
    pub(super) fn fits(self) -> Vec<ModelFit> {
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
            self.pending.update(|p| p.retain(|n| !answered.contains(n)));
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
                if command == CommandKind::Join {
                    self.join_step.set(None);
                    self.start_after_join.set(None);
                }
                self.error.set(Some(failure(command, &message)));
            }
            Event::Unreadable { message } => self.error.set(Some(message)),
        }
    }

    /// The worker failed rather than answered.
    fn failed(self, failure: WorkerFailure) {
        match failure {
            WorkerFailure::Died(message) => {
                // An uncaught error in the worker (or its script did not load): its code is
                // no longer running (a wasm trap leaves the instance unusable), so it
                // serves no more.
                self.pending.set(Vec::new());
                self.serving.set(false);
                self.join_step.set(None);
                self.start_after_join.set(None);
                self.error.set(Some(worker_failure(&message)));
            }
            WorkerFailure::Unreadable(message) => self.error.set(Some(message)),
        }
    }
}

/// The local time, `12:04:59`.
pub(super) fn clock() -> String {
    js_sys::Date::new_0().to_locale_time_string("en-GB").into()
}
