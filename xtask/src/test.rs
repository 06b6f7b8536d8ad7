//! `cargo xtask test`: every test of the project, in the order that fails fastest.
//!
//! 1. tools (installed when missing), npm packages, contract artifacts up to date,
//!    PostgreSQL server binaries for the relay's storage tests;
//! 2. formatting;
//! 3. native tests of the whole workspace;
//! 4. wasm tests in headless Chromium (verifier, the app);
//! 5. the app's release build and its end to end in Chromium against a devnet;
//! 6. the browser light node: its worker's test build, and a tab serving on Chromium's
//!    SwiftShader WebGPU beside two native nodes.
//!
//! Ends with one line summing the tests that ran: `N passed, N failed, N skipped`.
//!
//! Clippy is `cargo xtask lint`, not a step here: a lint pass compiles the whole dependency
//! graph a second time (native and wasm32), which on a 2-core CI machine cost more than every
//! test together. Run it before committing.

use crate::cmd::{cargo, run, run_tee};
use crate::{app, contracts, relay, tools};
use anyhow::{Result, bail};
use std::time::Instant;

#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl Tally {
    /// Adds a libtest / wasm-bindgen-test summary line such as
    /// `test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out`.
    fn record(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split([';', '.']) {
            let mut words = part.split_whitespace();
            if let (Some(n), Some(what)) = (words.next(), words.next())
                && let Ok(n) = n.parse::<u64>()
            {
                match what {
                    "passed" => self.passed += n,
                    "failed" => self.failed += n,
                    "ignored" => self.ignored += n,
                    _ => {}
                }
            }
        }
    }
}

pub fn run_all(_args: &[String]) -> Result<()> {
    let start = Instant::now();
    let mut tally = Tally::default();
    let result = pipeline(&mut tally);
    eprintln!("\nxtask test: {:.0} s", start.elapsed().as_secs_f64());
    // The closing line CI reads.
    println!(
        "{} passed, {} failed, {} skipped",
        tally.passed, tally.failed, tally.ignored
    );
    result
}

/// `cargo xtask lint`: formatting and clippy with `-D warnings` on every target, native and
/// wasm32 (the app, the verifier and the browser node worker as the browser links them).
pub fn lint(_args: &[String]) -> Result<()> {
    tools::wasm_target()?;
    step("format");
    format_check()?;
    step("clippy (native)");
    clippy(&[
        "--workspace",
        "--all-targets",
        "--features",
        "contracts/cli",
    ])?;
    step("clippy (wasm32): everything a browser links");
    // Two invocations, not one per crate: each compiles the shared dependencies (alloy,
    // burn) again. The workspace crates they pull in (contracts, relay's client) are linted
    // with them.
    clippy(&[
        "-p",
        "verifier",
        "-p",
        "app",
        "--lib",
        "--bins",
        "--tests",
        "--target",
        tools::WASM_TARGET,
    ])?;
    // The engine and the browser node worker (WebGPU through wgpu).
    clippy(&[
        "-p",
        "worker-wasm",
        "--lib",
        "--bins",
        "--features",
        "wgpu",
        "--target",
        tools::WASM_TARGET,
    ])?;
    step("");
    Ok(())
}

/// `cargo fmt --all --check`: the pipeline's and the lint's first step.
fn format_check() -> Result<()> {
    run(cargo().args(["fmt", "--all", "--", "--check"]))
}

/// `cargo clippy ARGS -- -D warnings`.
fn clippy(args: &[&str]) -> Result<()> {
    run(cargo()
        .arg("clippy")
        .args(args)
        .args(["--", "-D", "warnings"]))
}

/// Prints a step's banner and the time the previous step took, so a CI log shows where
/// the minutes go.
fn step(name: &str) {
    use std::sync::Mutex;
    static LAST: Mutex<Option<(String, Instant)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((previous, started)) = last.take() {
        eprintln!("--- {previous}: {:.0} s", started.elapsed().as_secs_f64());
    }
    if !name.is_empty() {
        eprintln!("\n=== {name} ===");
        *last = Some((name.to_owned(), Instant::now()));
    }
}

fn pipeline(tally: &mut Tally) -> Result<()> {
    step("tools");
    tools::install_all()?;
    app::install()?;

    step("contracts: npm packages and artifact freshness");
    contracts::prepare_tests()?;

    step("relay: PostgreSQL server binaries");
    relay::prepare_tests()?;

    step("format");
    format_check()?;

    step("native tests");
    run_tee(cargo().args(["test", "--workspace"]), |l| tally.record(l))?;

    step("wasm tests in headless Chromium");
    run_tee(
        tools::in_browser(cargo().args(["test", "-p", "verifier", "--target", tools::WASM_TARGET])),
        |l| tally.record(l),
    )?;
    app::wasm_test(|l| tally.record(l))?;

    step("app: release build and end to end in Chromium against a devnet");
    app::e2e(|l| tally.record(l))?;

    step("browser light node: its worker (test build) and its end to end in Chromium");
    app::provide_e2e(|l| tally.record(l))?;

    step("");
    if tally.failed > 0 {
        bail!("{} tests failed", tally.failed);
    }
    if tally.passed == 0 {
        bail!("no test ran");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn tally_reads_libtest_summaries() {
        let mut t = Tally::default();
        t.record("test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        t.record("test result: FAILED. 2 passed; 3 failed; 0 ignored; 0 measured; 0 filtered out");
        t.record("running 5 tests");
        assert_eq!((t.passed, t.failed, t.ignored), (7, 3, 1));
    }
}
