//! The Tessera node: serves the network's tasks with the [`engine`], natively (the `node`
//! binary, for GPU machines) and in a browser tab (the `web_node` worker the app's Provide
//! page starts).
//!
//! - [`node`]: the node's logic, the same on both platforms: what to do next about a task
//!   (`plan`), the contract calls (`chain`), the serving loop (`runner`) over a `Host`; and,
//!   natively, the host on this machine, its configuration, hardware, model folder and
//!   journal.
//! - `cli` (native): the `node` binary's command line.
//! - `web` (wasm32): the browser's host and the node worker that speaks `worker_protocol`
//!   with the page.

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod node;
#[cfg(target_arch = "wasm32")]
pub mod web;
