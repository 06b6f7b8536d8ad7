//! Tessera's web app: create tasks, watch them move through the network, and verify every
//! returned file in the browser against what the nodes committed to on chain.
//!
//! Leptos, client-side rendered, built by trunk from `app/index.html` into `dist/` as two
//! wasm binaries over this library: the page (`src/main.rs`) and a hashing web worker
//! (`src/bin/hash_worker.rs`).
//!
//! - [`model`], [`provide_model`], [`error`], [`config`]: the logic without a browser
//!   (forms to task arguments, the chain's record for the verification report, the
//!   timeline, the Provide page's activity log and model fits, errors a person can act on,
//!   `config.json`). Built and tested natively too.
//! - `wallet`, `chain`, `flow`, `hashing`, `node_worker`, `ui` (wasm32 only): wallets
//!   (EIP-6963 / EIP-1193, the devnet's development wallet), chain reads over JSON-RPC, the
//!   requester flow, the hashing worker pool, the browser node worker's handle, and the
//!   pages.

pub mod config;
pub mod error;
pub mod model;
pub mod provide_model;

#[cfg(target_arch = "wasm32")]
pub mod chain;
#[cfg(target_arch = "wasm32")]
pub mod flow;
#[cfg(target_arch = "wasm32")]
pub mod hashing;
#[cfg(target_arch = "wasm32")]
pub mod js;
#[cfg(target_arch = "wasm32")]
pub mod node_worker;
#[cfg(target_arch = "wasm32")]
pub mod ui;
#[cfg(target_arch = "wasm32")]
pub mod wallet;
