//! The web app's build and the commands that run the network around it.
//!
//! - `build`: trunk's release build of the page and the hashing worker into `dist/`
//!   (trunk 0.21.14 and npm's `binaryen@132` wasm-opt, never Debian's binaryen, whose
//!   wasm-opt 108 breaks Leptos at run time);
//! - the browser node's worker (`worker-wasm`'s `web_node`, Burn + wgpu), built apart from
//!   trunk because it compiles for many minutes, and added to `dist/`;
//! - `up`, `task`, `chain`, the end to ends and the network benchmarks run the `devnet`
//!   binary, which holds the network's logic.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Result;

use crate::cmd::{self, run};
use crate::flags::App;
use crate::tools;

/// `cargo xtask app …`.
pub(crate) fn run_command(command: App) -> Result<()> {
    match command {
        App::Build => build().map(drop),
        App::NodeWorker => build_node_worker(&build()?, NodeWorker::Release),
        App::Serve { port } => {
            let dist = build()?;
            build_node_worker(&dist, NodeWorker::Release)?;
            devnet(
                Network::Debug,
                "serve",
                &[
                    "--dist".into(),
                    dist.into(),
                    "--port".into(),
                    port.to_string().into(),
                ],
            )
        }
        App::WasmTest => crate::test::wasm_tests(|_| {}),
        App::E2e => {
            let dist = build()?;
            crate::sdk::build(crate::sdk::Profile::Test, Some(&dist))?;
            devnet_built(Network::Debug)?;
            run(test_devnet().args(["e2e", "app", "--dist"]).arg(&dist))
        }
        App::ProvideE2e => {
            let dist = build()?;
            build_node_worker(&dist, NodeWorker::Test)?;
            devnet_built(Network::Debug)?;
            run(test_devnet().args(["e2e", "provide", "--dist"]).arg(&dist))
        }
    }
}

/// trunk's release build into `dist/`; returns its path.
pub(crate) fn build() -> Result<PathBuf> {
    tools::install_all()?;
    let dist = cmd::root().join("dist");
    let started = Instant::now();
    run(Command::new("trunk")
        .current_dir(cmd::root())
        .env("PATH", tools::path_with_npm_tools())
        .env("CARGO_TARGET_DIR", cmd::target_dir())
        .args(["build", "--release", "--locked"]))?;
    eprintln!(
        "app: built {} in {:.0} s",
        dist.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(dist)
}

/// `cargo test` of everything the browser links, for wasm32, in one invocation: the
/// verifier, the app, and the node (`worker-wasm` with `wgpu`), whose integration test makes
/// cargo build its binaries, the `web_node` worker among them. One invocation resolves one
/// set of features, so the page's tests and the worker share every dependency they have in
/// common; separate invocations resolved different features and compiled serde, alloy and
/// the rest twice. `--no-run` builds without running.
pub(crate) fn wasm_tests() -> Command {
    let mut test = cmd::cargo();
    test.arg("test")
        .args(tools::BROWSER_PACKAGES)
        .args(["--target", tools::WASM_TARGET])
        // No debug info in the workspace's crates either (dependencies have none): a smaller
        // worker for wasm-bindgen to process.
        .env("CARGO_PROFILE_DEV_DEBUG", "false");
    test
}

/// Which build of the browser node's worker.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NodeWorker {
    /// `wasm-node` (release): what `up` gives providers and the benchmarks time (about 30
    /// minutes to compile on 2 cores).
    Release,
    /// The debug build the wasm tests make ([`wasm_tests`]: the engine's kernels
    /// optimized, the rest not), for the end to end: minutes instead of half an hour.
    Test,
}

/// Adds the browser node's worker to `dist`: `web_node.js` and `web_node_bg.wasm` from
/// wasm-bindgen (no-modules, as trunk makes workers) and the `web_node_loader.js` the
/// Provide page starts.
pub(crate) fn build_node_worker(dist: &Path, which: NodeWorker) -> Result<()> {
    build_node_worker_with(dist, which, run)
}

/// [`build_node_worker`], each command run by `run`.
fn build_node_worker_with(
    dist: &Path,
    which: NodeWorker,
    run: impl Fn(&mut Command) -> Result<()>,
) -> Result<()> {
    let started = Instant::now();
    let profile = match which {
        NodeWorker::Release => {
            run(cmd::cargo().args([
                "build",
                "--locked",
                "-p",
                "worker-wasm",
                "--bin",
                "web_node",
                "--features",
                "wgpu",
                "--profile",
                "wasm-node",
                "--target",
                tools::WASM_TARGET,
            ]))?;
            "wasm-node"
        }
        NodeWorker::Test => {
            // A no-op after the wasm tests ran.
            run(wasm_tests().arg("--no-run"))?;
            "debug"
        }
    };
    let wasm = cmd::target_dir()
        .join(tools::WASM_TARGET)
        .join(profile)
        .join("web_node.wasm");
    run(Command::new("wasm-bindgen")
        .args(["--target", "no-modules", "--no-typescript", "--out-dir"])
        .arg(dist)
        .arg(&wasm))?;
    std::fs::write(
        dist.join("web_node_loader.js"),
        "importScripts('./web_node.js');\nwasm_bindgen('./web_node_bg.wasm');\n",
    )?;
    eprintln!(
        "app: the node worker ({which:?}) built into {} in {:.0} s",
        dist.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// How to build the network's binaries (`devnet`, `relay`, `node`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Network {
    /// The debug build (`cargo test --workspace` makes it too, with the features the whole
    /// workspace unifies).
    Debug,
    /// Optimized.
    Release,
    /// Optimized, with the node's wgpu backend compiled in.
    ReleaseWgpu,
}

fn devnet_built(network: Network) -> Result<()> {
    let mut build = cmd::cargo();
    build.args([
        "build",
        "-p",
        "devnet",
        "--bin",
        "devnet",
        "-p",
        "relay",
        "--bin",
        "relay",
        "-p",
        "worker-wasm",
        "--bin",
        "node",
    ]);
    match network {
        Network::Debug => {}
        Network::Release => {
            build.arg("--release");
        }
        Network::ReleaseWgpu => {
            build.args(["--release", "--features", "worker-wasm/wgpu"]);
        }
    }
    run(&mut build)
}

fn devnet_binary(network: Network) -> PathBuf {
    let profile = match network {
        Network::Debug => "debug",
        Network::Release | Network::ReleaseWgpu => "release",
    };
    cmd::target_dir().join(profile).join("devnet")
}

/// The `devnet` binary of the debug build (`cargo test --workspace` made it).
pub(crate) fn test_devnet() -> Command {
    Command::new(devnet_binary(Network::Debug))
}

/// Builds the network's binaries and runs `devnet COMMAND ARGS`.
pub(crate) fn devnet(network: Network, command: &str, args: &[OsString]) -> Result<()> {
    devnet_built(network)?;
    run(Command::new(devnet_binary(network)).arg(command).args(args))
}

/// `cargo xtask up`: the app's build with the node worker, then `devnet up` with it.
///
/// The network and the page come first: the browser node's worker (about half an hour to
/// compile the first time on 2 cores) is built in the background once the network's
/// binaries are, its output in `target/node-worker-build.log`, and added to `dist/` when
/// done; the Provide page says so meanwhile and starts the node when it appears.
pub(crate) fn up(release: bool, args: &[OsString]) -> Result<()> {
    let dist = build()?;
    let network = if release {
        Network::Release
    } else {
        Network::Debug
    };
    devnet_built(network)?;
    let log_path = cmd::root().join("target/node-worker-build.log");
    std::fs::create_dir_all(log_path.parent().expect("in target/"))?;
    eprintln!(
        "app: building the browser node's worker in the background (log: {}); the Provide page starts it when it is ready",
        log_path.display()
    );
    let worker_dist = dist.clone();
    std::thread::spawn(move || {
        let logged = |command: &mut Command| -> Result<()> {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)?;
            command.stdout(log.try_clone()?).stderr(log);
            run(command)
        };
        match build_node_worker_with(&worker_dist, NodeWorker::Release, logged) {
            Ok(()) => {
                eprintln!("app: the browser node's worker is ready: the Provide page starts it")
            }
            Err(e) => eprintln!(
                "app: the browser node's worker did not build ({e:#}); see {}",
                log_path.display()
            ),
        }
    });
    let mut all = vec![OsString::from("--dist"), dist.into_os_string()];
    all.extend_from_slice(args);
    run(Command::new(devnet_binary(network)).arg("up").args(&all))
}
