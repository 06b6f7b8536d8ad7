//! Node logic: the chain and relay sides of serving tasks.
//!
//! - [`plan`]: what a node does next about a task, a pure function of the chain's record,
//!   the chain's clock and what the node kept (shared by native and browser nodes).
//! - [`chain`]: the node's contract calls (alloy over HTTP, native and wasm) and the error
//!   codes it reports.
//! - Native only: [`config`] (TOML + `TESSERA_*` variables), [`capability`] (what the node
//!   announces about its hardware, measured), [`models`] (content-checked model folder with
//!   resumable downloads), [`journal`] (outcomes kept until a task is done), [`runner`] (the
//!   serving loop) and [`fault`] (test-only misbehaviour).

pub mod chain;
pub mod plan;

#[cfg(not(target_arch = "wasm32"))]
pub mod capability;
#[cfg(not(target_arch = "wasm32"))]
pub mod config;
#[cfg(not(target_arch = "wasm32"))]
pub mod fault;
#[cfg(not(target_arch = "wasm32"))]
mod fs;
#[cfg(not(target_arch = "wasm32"))]
pub mod journal;
#[cfg(not(target_arch = "wasm32"))]
pub mod models;
#[cfg(not(target_arch = "wasm32"))]
pub mod runner;
