//! The whole Tessera network on one machine, for people (`cargo xtask up`) and for the
//! end-to-end tests: anvil with the contracts deployed, the relay with the reference
//! checkpoints as models, native node processes, the web app's build served beside them,
//! and a requester driving tasks through it all.
//!
//! - [`network`]: start a devnet ([`network::Devnet`]), kill a node, move the chain's clock.
//! - [`requester`]: the requester core ([`requester::Requester`]) with a local key.
//! - [`task`]: `devnet task`, one task from the command line, verified.
//! - [`serve`]: the app's build on a local port with a `config.json` for the devnet.
//! - [`browser`]: the app's end-to-end scripts and benchmarks in headless Chromium.
//! - [`up`], [`bench`], [`node_bench`]: `devnet up`, `devnet bench network|node`.
//! - [`cli`]: the `devnet` command line.
//!
//! A tool crate: errors are `anyhow`'s, and nothing else in the workspace depends on it.

pub mod bench;
pub mod browser;
pub mod cli;
pub mod network;
pub mod node_bench;
pub mod requester;
pub mod serve;
pub mod task;
pub mod up;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// A fresh scratch folder under the system's temporary folder, unique to this process.
pub fn scratch(name: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tessera-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Runs `cmd` with inherited output; errors if it cannot start or exits non-zero.
pub fn run(cmd: &mut Command) -> Result<()> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let status = cmd
        .status()
        .with_context(|| format!("could not start {program}"))?;
    if !status.success() {
        bail!("{program} failed with {status}");
    }
    Ok(())
}
