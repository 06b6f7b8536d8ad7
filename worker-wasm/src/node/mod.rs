//! Node logic: the chain and relay sides of serving tasks.
//!
//! - [`plan`]: what a node does next about a task, a pure function of the chain's record,
//!   the chain's clock and what the node kept (shared by native and browser nodes).
//! - [`chain`]: the node's contract calls (alloy over HTTP, native and wasm) and the error
//!   codes it reports.
//! - [`runner`]: the serving loop, native and in a browser, over a [`host::Host`] (timers,
//!   kept outcomes, models, engine, reports); [`fault`]: test-only misbehaviour.
//! - [`standing`]: the warnings an operator must hear before the chain acts (a stake one
//!   missed deadline from the minimum, low health).
//! - Native only: [`native`] (the host on this machine), [`bars`] (progress bars on a
//!   terminal, plain lines elsewhere), [`config`] (TOML + `TESSERA_*`
//!   variables), [`capability`] (what the node announces about its hardware, measured),
//!   [`models`] (content-checked model folder with resumable downloads), [`journal`]
//!   (outcomes kept as files until a task is done). The browser's host is `crate::web`.

pub mod chain;
pub mod fault;
pub mod host;
pub mod plan;
pub mod runner;
pub mod standing;

#[cfg(not(target_arch = "wasm32"))]
pub mod bars;
#[cfg(not(target_arch = "wasm32"))]
pub mod capability;
#[cfg(not(target_arch = "wasm32"))]
pub mod config;
#[cfg(not(target_arch = "wasm32"))]
mod fs;
#[cfg(not(target_arch = "wasm32"))]
pub mod journal;
#[cfg(not(target_arch = "wasm32"))]
pub mod models;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
