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
    cargo_install(&["wasm-bindgen-cli", "--version", &version], 3)
}

/// `cargo install ARGS` with the tool's release profile made quick to compile: no LTO, 16
/// codegen units, no debug info and `opt_level`. A tool's own profile may ask for fat LTO
/// and one codegen unit (trunk does), which on 2 cores turns minutes into a quarter of an
/// hour, and these tools spend their time waiting on cargo or reading small files.
pub fn cargo_install(args: &[&str], opt_level: u8) -> Result<()> {
    run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .arg("install")
            .args(args)
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
            .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", opt_level.to_string())
            // Its own build folder, not the project's cache: nothing there is shared.
            .env_remove("CARGO_TARGET_DIR"),
    )
}

/// Configures a `cargo test`/`cargo bench --target wasm32-unknown-unknown` command to run
/// its wasm in headless Chromium through `wasm-bindgen-test-runner` and chromedriver.
pub fn in_browser(cmd: &mut Command) -> &mut Command {
    cmd.env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
        "wasm-bindgen-test-runner",
    )
    .env("CHROMEDRIVER", CHROMEDRIVER)
    // Seconds for a whole test binary; benchmarks take minutes.
    .env("WASM_BINDGEN_TEST_TIMEOUT", "900")
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
