//! `cargo xtask bench [NAME...]`: benchmarks that print figures. Nothing here asserts a
//! speed; the figures go into issue notes and the README.

use std::process::Command;

use anyhow::{Result, bail};

use crate::app::{self, Network, NodeWorker};
use crate::cmd::{cargo, run};
use crate::tools;

/// Every benchmark: its name and what it measures.
pub(crate) const BENCHES: &[(&str, &str)] = &[
    (
        "phash",
        "perceptual hash, native (criterion): 512/1024 RGB PNG decode+hash, hash only",
    ),
    (
        "phash-wasm",
        "the same as wasm in headless Chromium (a dedicated worker)",
    ),
    (
        "relay",
        "relay load on loopback: signed requests, 512x512 result uploads, downloads; SQLite and PostgreSQL, 1 and 2 instances; 200 junk 64 MiB uploads",
    ),
    (
        "engine",
        "inference engine (Burn CPU) beside PyTorch: SD step/task, GPT-2 tokens/s, peak memory",
    ),
    (
        "app",
        "web app: release wasm size raw/gzip, first render and interactive in Chromium, 10 images verified",
    ),
    (
        "node",
        "browser node vs native: tiny SD task per step and whole, WebGPU and wasm CPU in Chromium, native CPU and wgpu",
    ),
    (
        "node-test",
        "the same with the test builds `cargo xtask test` made (minutes, not an hour; CPU only)",
    ),
    (
        "gas",
        "gas used per contract call over a full task life cycle on anvil",
    ),
    (
        "attacks",
        "the review's attacks on anvil, one row each: tried, cost to the attacker, gain, honest loss",
    ),
    (
        "devnet",
        "task creation to verified result on a devnet, and the part that is not inference",
    ),
];

/// Runs the named benchmarks, or all of them.
pub(crate) fn run_all(names: &[String]) -> Result<()> {
    let selected: Vec<&str> = if names.is_empty() {
        BENCHES.iter().map(|(name, _)| *name).collect()
    } else {
        names.iter().map(String::as_str).collect()
    };
    for name in selected {
        match name {
            "phash" => run(cargo().args(["bench", "-p", "verifier", "--bench", "phash"]))?,
            "phash-wasm" => {
                tools::install_all()?;
                run(tools::in_browser(cargo().args([
                    "bench",
                    "-p",
                    "verifier",
                    "--bench",
                    "phash_wasm",
                    "--target",
                    tools::WASM_TARGET,
                ])))?
            }
            "engine" => crate::engine_bench::run()?,
            "relay" => {
                tools::debian_packages()?;
                // At saturation: SQLite and PostgreSQL with one relay, PostgreSQL with two
                // behind one URL (the first run begins with 200 concurrent 64 MiB junk
                // uploads); then SQLite offered 150 requests a second, for latency below it.
                for (database, instances, junk, rate) in [
                    ("sqlite", "1", "200", "0"),
                    ("postgres", "1", "0", "0"),
                    ("postgres", "2", "0", "0"),
                    ("sqlite", "1", "0", "150"),
                ] {
                    run(cargo()
                        .args(["run", "--release", "-p", "relay", "--example", "load", "--"])
                        .args(["--database", database, "--instances", instances])
                        .args(["--junk", junk, "--rate", rate, "--seconds", "10"]))?;
                }
            }
            "app" => {
                let dist = app::build()?;
                for (name, raw, gz) in wasm_sizes(&dist)? {
                    println!(
                        "bench: {name}: {:.0} kB raw, {:.0} kB gzipped",
                        raw as f64 / 1024.0,
                        gz as f64 / 1024.0
                    );
                }
                app::devnet(
                    Network::Debug,
                    "bench",
                    &["app".into(), "--dist".into(), dist.into()],
                )?
            }
            "gas" | "attacks" => {
                tools::npm_packages()?;
                run(cargo().args(["bench", "-p", "contracts", "--bench", name]))?
            }
            "devnet" => {
                tools::npm_packages()?;
                app::devnet(Network::Release, "bench", &["network".into()])?
            }
            "node" => {
                let dist = app::build()?;
                app::build_node_worker(&dist, NodeWorker::Release)?;
                // The native node with wgpu compiled in, release, as providers run it.
                app::devnet(
                    Network::ReleaseWgpu,
                    "bench",
                    &[
                        "node".into(),
                        "--dist".into(),
                        dist.into(),
                        "--backend".into(),
                        "cpu".into(),
                        "--backend".into(),
                        "wgpu".into(),
                    ],
                )?
            }
            "node-test" => {
                // The test build `cargo xtask test` made (a no-op after it).
                run(cargo().args(["test", "--workspace", "--no-run"]))?;
                let dist = app::build()?;
                app::build_node_worker(&dist, NodeWorker::Test)?;
                run(app::test_devnet()
                    .args(["bench", "node", "--dist"])
                    .arg(&dist))?
            }
            other => bail!(
                "unknown benchmark `{other}`; the benchmarks are: {}",
                BENCHES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    Ok(())
}

/// The wasm files of a build: (name, raw bytes, gzipped bytes).
fn wasm_sizes(dist: &std::path::Path) -> Result<Vec<(String, u64, u64)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dist)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wasm") {
            let gz = Command::new("gzip")
                .args(["-9", "-c"])
                .arg(&path)
                .output()?;
            anyhow::ensure!(gz.status.success(), "gzip failed on {}", path.display());
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((
                name,
                std::fs::metadata(&path)?.len(),
                gz.stdout.len() as u64,
            ));
        }
    }
    out.sort();
    anyhow::ensure!(!out.is_empty(), "no wasm in {}", dist.display());
    Ok(out)
}
