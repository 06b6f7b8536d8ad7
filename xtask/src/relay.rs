//! `cargo xtask relay …`: the relay's developer commands.
//!
//! - `prepare`: install what the relay's tests need (PostgreSQL server binaries; the
//!   tests start their own throwaway cluster with them).
//! - `test`: `prepare`, then `cargo test -p relay`.
//! - `bench [ARGS]`: the loopback load benchmark,
//!   `cargo run --release -p relay --example load -- ARGS`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use std::process::Command;

use crate::cmd::{cargo, run as run_cmd};
use crate::tools::postgres_bin_dir;

/// Entry point for `cargo xtask relay ARGS`.
pub fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("prepare") => prepare_tests(),
        Some("test") => {
            prepare_tests()?;
            run_cmd(cargo().args(["test", "-p", "relay"]))
        }
        Some("bench") => run_cmd(
            cargo()
                .args(["run", "--release", "-p", "relay", "--example", "load", "--"])
                .args(&args[1..]),
        ),
        _ => bail!(
            "usage: cargo xtask relay prepare | test | bench [--requests N] [--seconds S] [--concurrency C]"
        ),
    }
}

/// Makes sure the PostgreSQL server binaries (`initdb`, `pg_ctl`) are installed, with
/// Debian's `postgresql` package if they are not. The relay's tests start their own
/// cluster from them (or use `TESSERA_TEST_PG_URL` when set).
pub fn prepare_tests() -> Result<()> {
    if std::env::var_os("TESSERA_TEST_PG_URL").is_some() {
        return Ok(());
    }
    if let Some(bin) = postgres_bin_dir() {
        eprintln!("relay: PostgreSQL server binaries in {}", bin.display());
        return Ok(());
    }
    eprintln!("relay: installing PostgreSQL (Debian package `postgresql`)");
    run_cmd(
        Command::new("apt-get")
            .args(["update", "-q"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .context("apt-get update")?;
    run_cmd(
        Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                "postgresql",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .context("apt-get install postgresql")?;
    match postgres_bin_dir() {
        Some(bin) => {
            eprintln!("relay: PostgreSQL installed in {}", bin.display());
            Ok(())
        }
        None => {
            bail!("postgresql installed, but no /usr/lib/postgresql/<version>/bin/initdb found")
        }
    }
}
