//! `cargo xtask bench node`: the tiny SD task (sd-tiny, 2 images of 64x64, 6 steps) timed
//! per step and whole, in the browser node's worker (WebGPU and wasm CPU, in headless
//! Chromium) beside the native node (CPU and wgpu) on the same machine. Without a GPU,
//! Chromium's WebGPU is SwiftShader and native wgpu is Mesa's lavapipe, both on the CPU:
//! the figures compare the code paths, not GPUs.

use std::process::Command;

use anyhow::{Context, Result};

use crate::app::{self, Server};
use crate::cmd::{self, cargo};
use crate::devnet::{Binaries, Devnet, Options};

/// The task every run times.
pub fn task_json() -> String {
    serde_json::json!({
        "version": "2.5.0",
        "base_model": {"name": "sd-tiny", "variant": null},
        "prompt": "a lighthouse on a cliff at dawn, best quality++",
        "negative_prompt": "blurry",
        "task_config": {"num_images": 2, "seed": 7, "steps": 6, "cfg": 5,
                        "image_width": 64, "image_height": 64, "safety_checker": false}
    })
    .to_string()
}

/// Which builds to time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builds {
    /// Release: the native node (`--release`, with wgpu) and the `wasm-node` worker, as
    /// providers run them. About an hour of compiling on 2 cores from nothing.
    Release,
    /// The test builds `cargo xtask test` already made: the debug native node (CPU only) and
    /// the `wasm-node-test` worker, both with the engine's kernels optimized and the glue
    /// not. Minutes after a test run; the figures say which builds they are.
    Test,
}

pub fn run(builds: Builds) -> Result<()> {
    let task = task_json();
    let scratch = std::env::temp_dir().join(format!("tessera-node-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let task_file = scratch.join("task.json");
    std::fs::write(&task_file, &task)?;

    let (bins, node, backends, worker) = match builds {
        Builds::Release => {
            // Native: the node binary, release, with wgpu compiled in.
            cmd::run(cargo().args([
                "build",
                "--release",
                "-p",
                "worker-wasm",
                "--features",
                "wgpu",
                "--bin",
                "node",
            ]))?;
            let node = crate::devnet::target_dir().join("release/node");
            (
                Binaries::build(false)?,
                node,
                &["cpu", "wgpu"][..],
                app::NodeWorker::Release,
            )
        }
        Builds::Test => {
            let bins = Binaries::for_tests()?;
            let node = bins.node.clone();
            (bins, node, &["cpu"][..], app::NodeWorker::Test)
        }
    };
    println!("bench: {builds:?} builds");
    for backend in backends {
        println!("bench: native {backend}:");
        let out = cmd::run(
            Command::new(&node)
                .args(["run", "--task"])
                .arg(&task_file)
                .arg("--models")
                .arg(crate::shared_dir().join("reference"))
                .arg("--out")
                .arg(scratch.join(backend))
                .args(["--backend", backend])
                .env("RUST_LOG", "warn"),
        );
        if let Err(e) = out {
            println!("bench: native {backend}: failed: {e:#}");
        }
    }

    // The browser: the worker fetches sd-tiny from a devnet relay (no node needed).
    let dist = app::build()?;
    app::build_node_worker(&dist, worker)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(async {
        let mut options = Options::new(scratch.join("devnet"), bins);
        options.nodes = Vec::new();
        let mut net = Devnet::start(options)
            .await
            .context("starting the devnet")?;
        let server = Server::start(&dist, 0, app::overrides(Some(app::config_json(&net.info))))?;
        let result = cmd::run(
            Command::new("node")
                .arg(app::e2e_dir().join("bench_node.mjs"))
                .env("APP_URL", server.url())
                .env("TASK", &task),
        );
        net.stop();
        result
    });
    let _ = std::fs::remove_dir_all(&scratch);
    result
}
