//! `cargo xtask test`: every test of the project, in the order that fails fastest, and
//! `cargo xtask lint`.
//!
//! 1. tools (installed when missing);
//! 2. formatting;
//! 3. native tests of the whole workspace: unit and integration tests, the dependency rules
//!    ([`crate::tidy`]), the contracts' artifacts against solc, anvil, PostgreSQL and the
//!    devnet end to end;
//! 4. wasm tests in headless Chromium (the verifier, the app, the node worker); the same
//!    build writes the browser node's worker, `web_node.wasm`;
//! 5. the app's release build and its end to end in Chromium against a devnet;
//! 6. the browser light node: a tab serving with that worker on Chromium's SwiftShader
//!    WebGPU beside two native nodes.
//!
//! The end-to-end steps run the `devnet` binary that step 3 built, and the wasm steps share
//! one wasm32 build: nothing is compiled twice with other features.
//!
//! Ends with one line summing the tests that ran: `N passed, N failed, N skipped`.
//!
//! Clippy is `cargo xtask lint`, not a step here: a lint pass compiles the whole dependency
//! graph a second time (native and wasm32), which on a 2-core CI machine costs more than
//! every test together. Run it before committing.

use std::time::Instant;

use anyhow::{Result, bail};

use crate::cmd::{cargo, run, run_tee};
use crate::flags::{Contracts, Relay};
use crate::{app, tools};

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

/// `cargo xtask test`.
pub(crate) fn run_all() -> Result<()> {
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

    step("format");
    format_check()?;

    step("native tests");
    run_tee(
        tools::with_test_servers(cargo().args(["test", "--workspace"])),
        |l| tally.record(l),
    )?;

    step("wasm tests in headless Chromium");
    wasm_tests(|l| tally.record(l))?;

    step("app: release build and end to end in Chromium against a devnet (the SDK's too)");
    let dist = app::build()?;
    crate::sdk::build(crate::sdk::Profile::Test, Some(&dist))?;
    run_tee(
        app::test_devnet().args(["e2e", "app", "--dist"]).arg(&dist),
        |l| tally.record(l),
    )?;

    step("browser light node: its worker (test build) and its end to end in Chromium");
    app::build_node_worker(&dist, app::NodeWorker::Test)?;
    run_tee(
        app::test_devnet()
            .args(["e2e", "provide", "--dist"])
            .arg(&dist),
        |l| tally.record(l),
    )?;

    step("");
    if tally.failed > 0 {
        bail!("{} tests failed", tally.failed);
    }
    if tally.passed == 0 {
        bail!("no test ran");
    }
    Ok(())
}

/// The wasm-bindgen tests in headless Chromium (the verifier's and the app's; the node
/// worker's crate has none), in the one wasm32 build that also makes the node worker's test
/// build ([`app::wasm_tests`]).
pub(crate) fn wasm_tests(on_line: impl FnMut(&str)) -> Result<()> {
    tools::install_all()?;
    run_tee(tools::in_browser(&mut app::wasm_tests()), on_line)
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

/// `cargo xtask lint`: formatting and clippy with `-D warnings` on every target, native and
/// wasm32 (the app, the verifier and the browser node worker as the browser links them).
pub(crate) fn lint() -> Result<()> {
    tools::wasm_target()?;
    step("format");
    format_check()?;
    step("clippy (native)");
    clippy(&["--workspace", "--all-targets"])?;
    step("clippy (wasm32): everything a browser links");
    // One invocation: the page, the hashing worker and the node worker (WebGPU through
    // wgpu) with the features the wasm tests and the worker's build use together.
    let mut wasm = tools::BROWSER_PACKAGES.to_vec();
    wasm.extend(["--lib", "--bins", "--tests", "--target", tools::WASM_TARGET]);
    clippy(&wasm)?;
    step("clippy (wasm32): the requester SDK");
    clippy(&["-p", "tessera-sdk", "--lib", "--target", tools::WASM_TARGET])?;
    step("");
    Ok(())
}

/// `cargo xtask contracts build | check`: the contracts' artifacts test, which rewrites
/// stale artifacts (and fails then).
pub(crate) fn contracts(command: Contracts) -> Result<()> {
    tools::npm_packages()?;
    let artifacts = || {
        let mut test = cargo();
        test.args(["test", "-p", "contracts", "--test", "artifacts"]);
        test
    };
    if let Contracts::Build = command {
        // Rewrites whatever is stale, failing if anything was; the run below checks.
        artifacts().status()?;
    }
    run(&mut artifacts())
}

/// `cargo xtask relay prepare | test`.
pub(crate) fn relay(command: Relay) -> Result<()> {
    tools::debian_packages()?;
    tools::python_packages()?;
    match command {
        Relay::Prepare => Ok(()),
        Relay::Test => run(tools::with_test_servers(
            cargo().args(["test", "-p", "relay"]),
        )),
    }
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
