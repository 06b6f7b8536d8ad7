//! The web app in headless Chromium against a devnet: the browser end to end
//! (`app/e2e/e2e.mjs`), the browser light node's (`app/e2e/provide.mjs`) and the
//! benchmarks (`bench.mjs`, `bench_node.mjs`), each a node script driving Debian's Chromium
//! through npm `playwright-core` against the build in `dist/`, served here.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use worker_wasm::node::fault::Fault;

use crate::network::{Binaries, Devnet, MODELS, Options};
use crate::scratch;
use crate::serve::{self, Overrides, Server};

/// The variable naming the relay's TEST ONLY tamper flag file (the relay binary reads it).
pub const TAMPER_ENV: &str = "RELAY_TEST_ONLY_TAMPER_RESULTS_FLAG";

/// `app/e2e`: the node scripts and their npm packages.
pub fn e2e_dir() -> Result<PathBuf> {
    Ok(locate::workspace_root()?.join("app/e2e"))
}

/// One browser script against a fresh devnet.
struct Suite<'a> {
    script: &'static str,
    env: Vec<(&'static str, OsString)>,
    dist: &'a Path,
}

impl Suite<'_> {
    async fn run(self, options: Options) -> Result<()> {
        let artifacts = artifacts_dir()?;
        let mut net = Devnet::start(options)
            .await
            .context("starting the devnet")?;
        let server = Server::start(self.dist, 0, serve::with_config(&net.info)?)?;
        eprintln!(
            "browser ({}): app at {}, devnet in {}, screenshots in {}",
            self.script,
            server.url(),
            net.dir.display(),
            artifacts.display()
        );
        let mut node = Command::new("node");
        node.current_dir(locate::workspace_root()?)
            .arg(e2e_dir()?.join(self.script))
            .env("APP_URL", server.url())
            .env("ARTIFACTS", &artifacts)
            .envs(self.env);
        let result = crate::run(&mut node);
        if result.is_err() {
            eprintln!("{}", net.logs());
        }
        net.stop();
        result
    }
}

/// Where the scripts put their screenshots: `$ARTIFACTS`, or `target/app-e2e`.
fn artifacts_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os("ARTIFACTS") {
        Some(dir) => PathBuf::from(dir),
        None => locate::workspace_root()?.join("target/app-e2e"),
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The browser end to end: three native nodes, the relay with its TEST ONLY tamper switch
/// (so the script can show a swapped image turning the verdict red), the build in `dist`.
pub async fn app_e2e(dist: &Path) -> Result<()> {
    let scratch = scratch("app-e2e")?;
    let flag = scratch.join("tamper.flag");
    let mut options = Options::new(scratch.join("devnet"), Binaries::beside_this_program()?)?;
    options.preload = MODELS.iter().map(|m| m.to_string()).collect();
    options.relay_env = vec![(TAMPER_ENV.to_owned(), flag.clone())];
    let suite = Suite {
        script: "e2e.mjs",
        env: vec![("TAMPER_FLAG", flag.into_os_string())],
        dist,
    };
    suite.run(options).await?;
    // On failure the scratch folder stays for its logs.
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// The browser light node end to end: a SwiftShader WebGPU tab (the worker must already
/// be in `dist`) beside two native nodes.
pub async fn provide_e2e(dist: &Path) -> Result<()> {
    let scratch = scratch("provide-e2e")?;
    let mut options = Options::new(scratch.join("devnet"), Binaries::beside_this_program()?)?;
    options.nodes = vec![Fault::None; 2];
    options.preload = vec!["sd-tiny".into()];
    // Inference on a software adapter is slow: the deadlines are generous.
    options.timeouts = (900, 300, 300);
    let suite = Suite {
        script: "provide.mjs",
        env: vec![("TASK_TIMEOUT_MS", "1500000".into())],
        dist,
    };
    suite.run(options).await?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// Ten 512x512 RGB PNGs from the shared pHash vectors, as returned images to verify.
fn bench_images() -> Result<Vec<Vec<u8>>> {
    let dir = locate::try_shared()?.join("vectors/phash/images");
    [
        "edge_checker64_512.png",
        "edge_hgrad512.png",
        "edge_lcgnoise512.png",
        "edge_lcgnoise512_px.png",
        "edge_modpattern512.png",
        "edge_rgbgrad512.png",
        "edge_vgrad512.png",
        "edge_lr_black_white.png",
        "edge_tb_white_black.png",
        "edge_grey128_512.png",
    ]
    .iter()
    .map(|name| {
        let path = dir.join(name);
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    })
    .collect()
}

/// `bench app`: first render, interactive, and verifying ten returned 512x512 images in
/// the browser (`bench.mjs`). No chain is needed to render or to hash: the config points
/// at closed ports.
pub fn app_bench(dist: &Path) -> Result<()> {
    let config = app::config::AppConfig {
        chain_id: 31337,
        chain_name: "Tessera devnet".into(),
        rpc_url: "http://127.0.0.1:9".into(),
        relay_url: "http://127.0.0.1:9".into(),
        node_registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3".parse()?,
        task_manager: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512".parse()?,
        appeals: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0".parse()?,
        deployment_block: 0,
        dev_accounts: vec![app::config::DevAccount {
            address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".parse()?,
            key: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d".into(),
        }],
    };
    let mut files = Overrides::new();
    files.insert(
        "/config.json".into(),
        (serde_json::to_vec(&config)?, "application/json"),
    );
    for (i, png) in bench_images()?.into_iter().enumerate() {
        files.insert(format!("/bench/{i}.png"), (png, "image/png"));
    }
    let server = Server::start(dist, 0, files)?;
    crate::run(
        Command::new("node")
            .arg(e2e_dir()?.join("bench.mjs"))
            .env("APP_URL", server.url()),
    )
}

/// `bench node`, the browser's part: the worker in `dist` fetches sd-tiny from a devnet
/// relay (no node is needed) and times `task` on WebGPU and on the wasm CPU backend
/// (`bench_node.mjs`).
pub async fn node_bench(dist: &Path, task: &str) -> Result<()> {
    let scratch = scratch("node-bench")?;
    let mut options = Options::new(scratch.join("devnet"), Binaries::beside_this_program()?)?;
    options.nodes = Vec::new();
    let mut net = Devnet::start(options)
        .await
        .context("starting the devnet")?;
    let server = Server::start(dist, 0, serve::with_config(&net.info)?)?;
    let result = crate::run(
        Command::new("node")
            .arg(e2e_dir()?.join("bench_node.mjs"))
            .env("APP_URL", server.url())
            .env("TASK", task),
    );
    net.stop();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}
