//! Tessera's Solidity contracts and their Rust bindings.
//!
//! The Solidity sources live in `src/solidity/`; `cargo xtask contracts build` compiles them
//! with the pinned solcjs into `artifacts/*.json` (ABI, bytecode, deployed bytecode), which
//! are committed and which the [`sol!`](alloy::sol) bindings here are generated from.
//!
//! - [`NodeRegistry`]: stakes, GPU announcements, node states, QoS and weighted selection.
//! - [`TaskManager`]: tasks, randomness, commit/reveal, settlement, slashing, the queue.
//! - [`Appeals`]: an outvoted seat's (or the creator's) appeal to a jury drawn from the
//!   whole pool, whose majority decides; the losing side pays the winners.
//! - [`deploy()`] deploys the three and links them; [`Deployments`] is the file that tells the
//!   relay, the nodes and the app where they are.
//! - [`Error`] and [`Revert`] decode the contracts' custom errors into Rust values.
//! - [`requests`] builds and creates tasks as a requester; [`history`] rebuilds a task's
//!   story from the task manager's logs.
//!
//! The crate builds natively and for `wasm32-unknown-unknown` (providers over HTTP).

pub mod backoff;
mod deploy;
mod deployments;
mod error;
pub mod error_code;
#[cfg(feature = "cli")]
pub mod flags;
pub mod history;
mod provider;
pub mod requests;
mod states;

pub use deploy::{Parameters, deploy};
pub use deployments::{Deployments, DeploymentsError};
pub use error::{Error, Revert, send};
pub use provider::{connect, read_only};
pub use requests::PROTOCOL_VERSION;

/// Generated bindings: `NodeRegistry`, `TaskManager` and `Appeals` modules with their structs, enums,
/// events, errors, and `#[sol(rpc)]` instances (`NodeRegistry::new(address, provider)`).
#[allow(missing_docs)] // generated from the ABI, which carries no documentation
mod bindings {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        NodeRegistry,
        "artifacts/NodeRegistry.json"
    );

    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        TaskManager,
        "artifacts/TaskManager.json"
    );

    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        Appeals,
        "artifacts/Appeals.json"
    );
}

pub use bindings::{Appeals, NodeRegistry, TaskManager};
