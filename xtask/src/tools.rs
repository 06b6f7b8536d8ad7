//! Installing the tools the tests and the devnet need, skipping what is already there.
//!
//! Everything comes from the package registries this project may reach: rustup for the wasm
//! target, crates.io for wasm-bindgen-cli, Debian for Chromium and chromedriver.

use crate::cmd::{self, output, run};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Installs every tool `cargo xtask test` needs.
pub fn install_all() -> Result<()> {
    wasm_target()?;
    wasm_bindgen_cli()?;
    chromium()?;
    Ok(())
}

/// `rustup target add wasm32-unknown-unknown` unless installed.
pub fn wasm_target() -> Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("rustup is needed to add the wasm target")?;
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// The `wasm-bindgen` version in Cargo.lock: the CLI must match it exactly.
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let lock =
        std::fs::read_to_string(cmd::root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'))
        {
            return Ok(version.to_owned());
        }
    }
    bail!("Cargo.lock has no wasm-bindgen package")
}

/// `cargo install wasm-bindgen-cli` at the locked version unless that version is on PATH.
///
/// Not `--locked`: the CLI's own lock file names a dependency version the registry mirror
/// lacks (see DESIGN.md).
pub fn wasm_bindgen_cli() -> Result<()> {
    let version = locked_wasm_bindgen_version()?;
    let have = output(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    let runner =
        output(Command::new("wasm-bindgen-test-runner").arg("--version")).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(version.as_str())
        && runner.split_whitespace().nth(1) == Some(version.as_str())
    {
        return Ok(());
    }
    run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())).args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &version,
        ]),
    )
}

/// Debian's Chromium and chromedriver, unless both are installed.
pub fn chromium() -> Result<()> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    let root = output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    if !root {
        bail!(
            "Chromium and chromedriver are needed for the browser tests: run \
             `sudo apt-get install -y chromium chromium-driver`, then try again"
        );
    }
    run(Command::new("apt-get").args(["update", "-q"]))?;
    run(Command::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-q", "chromium", "chromium-driver"]))
}
