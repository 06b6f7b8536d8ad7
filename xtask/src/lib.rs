//! Tessera's developer commands as a library: the `xtask` binary is a thin command line
//! over these modules, and the end-to-end tests (`tests/devnet.rs`) start devnets and
//! drive requesters with them.

pub mod app;
pub mod bench;
pub mod cmd;
pub mod contracts;
pub mod devnet;
pub mod engine_bench;
pub mod network_bench;
pub mod node_bench;
pub mod relay;
pub mod requester;
pub mod test;
pub mod tools;
pub mod up;

use std::path::PathBuf;

/// The reference data folder: `$TESSERA_SHARED`, or `shared/` beside the workspace.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("TESSERA_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| cmd::root().join("../shared"))
}
