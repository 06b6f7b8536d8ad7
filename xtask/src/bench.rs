//! `cargo xtask bench [NAME...]`: benchmarks that print figures. Nothing here asserts a speed;
//! the figures go into issue notes and ARCHITECTURE.md.

use crate::cmd::{self, cargo};
use crate::{contracts, tools};
use anyhow::{Result, bail};

const BENCHES: &[(&str, &str)] = &[
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
        "relay load on loopback: argument upload, 512x512 result upload, result download",
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
        "devnet",
        "task creation to verified result on a devnet, and the part that is not inference",
    ),
];

pub fn run(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: cargo xtask bench [NAME...]   (all when none is named)\n");
        for (name, what) in BENCHES {
            println!("  {name:<11} {what}");
        }
        return Ok(());
    }
    let selected: Vec<&str> = if args.is_empty() {
        BENCHES.iter().map(|(name, _)| *name).collect()
    } else {
        args.iter().map(String::as_str).collect()
    };
    for name in selected {
        match name {
            "phash" => cmd::run(cargo().args(["bench", "-p", "verifier", "--bench", "phash"]))?,
            "phash-wasm" => {
                tools::install_all()?;
                cmd::run(tools::in_browser(cargo().args([
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
            "relay" => crate::relay::run(&["bench".to_owned()])?,
            "app" => crate::app::bench()?,
            "gas" => {
                contracts::prepare_tests()?;
                cmd::run(cargo().args(["bench", "-p", "contracts", "--bench", "gas"]))?
            }
            "devnet" => crate::network_bench::run(3)?,
            "node" => crate::node_bench::run(crate::node_bench::Builds::Release)?,
            "node-test" => crate::node_bench::run(crate::node_bench::Builds::Test)?,
            other => bail!("unknown benchmark `{other}`; `cargo xtask bench --help` lists them"),
        }
    }
    Ok(())
}
