//! Tessera's web app: create tasks, watch them move through the network, and verify every
//! returned file in the browser against what the nodes committed to on chain.
//!
//! Leptos, client-side rendered, built by trunk from `app/index.html` into `dist/` as two
//! wasm binaries over this library: the page (`src/main.rs`) and a hashing web worker
//! (`src/bin/hash_worker.rs`).
//!
//! The logic without a browser, built and tested natively too:
//! - [`config`]: `config.json`; [`error`]: errors a person can act on; [`chart`]: bar
//!   charts' axes, ticks and hover texts;
//! - [`forms`]: the Create page's forms into task arguments and an order;
//! - [`timeline`]: a task's events in words; [`verify`]: hashing a returned file and what
//!   the checks show; [`format`]: numbers and addresses for people;
//! - [`provide`]: the Provide page's decisions (what fits, joining, activities, the log).
//!
//! In the browser (wasm32): [`wallet`] (EIP-6963 / EIP-1193, the devnet's development
//! wallet), [`chain`] (reads), [`requests`] (the requester's flow over the wallet, with
//! `localStorage`), [`worker`] (typed web workers that queue until ready), [`hashing`] (the
//! hashing worker pool), [`node_worker`] (the browser node's worker), [`ui`] (the pages).

pub mod chart;
pub mod config;
pub mod error;
pub mod format;
pub mod forms;
pub mod provide;
pub mod timeline;
pub mod verify;

#[cfg(target_arch = "wasm32")]
pub mod chain;
#[cfg(target_arch = "wasm32")]
pub mod hashing;
#[cfg(target_arch = "wasm32")]
pub mod js;
#[cfg(target_arch = "wasm32")]
pub mod node_worker;
#[cfg(target_arch = "wasm32")]
pub mod requests;
#[cfg(target_arch = "wasm32")]
#[allow(unreachable_pub)] // leptos' `#[component]` writes `pub` builders on every props struct
pub mod ui;
#[cfg(target_arch = "wasm32")]
pub mod wallet;
#[cfg(target_arch = "wasm32")]
pub mod worker;
