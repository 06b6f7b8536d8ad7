//! The browser node: a dedicated web worker (the `web_node` binary of `worker-wasm`, built
//! beside the app with a loader shim) that holds the node key, runs the engine and talks to
//! the chain and the relay. The Provide page speaks to it only in `worker_protocol`
//! messages: [`Command`]s go in, [`Event`]s come out, through a [`WorkerHandle`] that
//! queues commands until [`Event::Ready`].

use worker_protocol::{Command, Event};

use crate::worker::{WorkerFailure, WorkerHandle};

/// Where the node worker's loader is served.
pub const WORKER_URL: &str = "./web_node_loader.js";

/// A started node worker.
pub type NodeWorker = WorkerHandle<Command, Event>;

/// Starts the node worker; `on_event` receives every event it sends and its failures.
pub fn start(
    on_event: impl Fn(Result<Event, WorkerFailure>) + 'static,
) -> Result<NodeWorker, String> {
    WorkerHandle::start(WORKER_URL, |event| *event == Event::Ready, on_event)
}
