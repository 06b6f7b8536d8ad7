//! The web app: its tools (trunk, wasm-opt, the npm packages of the browser tests), the
//! release build into `dist/`, a small static server, the browser tests and the benchmark.
//!
//! `cargo xtask app build | node-worker | serve [--port N] | wasm-test | e2e | provide-e2e |
//! bench`.
//!
//! - trunk 0.21.14 is installed with `cargo install --locked` when missing (0.22 needs a
//!   newer rustc); wasm-opt comes from npm `binaryen@132` (`app/e2e/package.json`), never
//!   Debian's binaryen, whose wasm-opt 108 breaks Leptos at run time.
//! - The e2e run starts a real devnet ([`crate::devnet`]) with the relay's TEST ONLY
//!   tamper switch, serves the build with a `config.json` for it, and drives Debian's
//!   Chromium through npm `playwright-core` (`app/e2e/e2e.mjs`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::json;

use crate::cmd::{self, output, run};
use crate::devnet::{self, Binaries, Devnet, Info, Options};
use crate::tools;

/// The trunk release that builds with Rust 1.95.
pub const TRUNK_VERSION: &str = "0.21.14";

/// The environment variable naming the relay's tamper flag (the relay binary reads it).
pub const TAMPER_ENV: &str = "RELAY_TEST_ONLY_TAMPER_RESULTS_FLAG";

const USAGE: &str = "usage: cargo xtask app build | node-worker | serve [--port N] | wasm-test | e2e | provide-e2e | bench

  build        release build of the app into dist/ (installs trunk and wasm-opt when missing)
  node-worker  build, then add the browser node's worker (Burn + wgpu, slow) to dist/
  serve        build with the node worker, then serve dist/ (uses .devnet/devnet.json for
               config.json when present)
  wasm-test    the app's wasm-bindgen tests in headless Chromium
  e2e          the browser end to end against a fresh devnet (playwright-core, Chromium)
  provide-e2e  the browser light node end to end: a SwiftShader WebGPU tab beside two
               native nodes (the worker's test build; part of `cargo xtask test`)
  bench        wasm size, first render, interactive, and verifying 10 images in the browser";

/// `cargo xtask app …`.
pub fn run_command(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("build") => build().map(drop),
        Some("node-worker") => build_node_worker(&build()?, NodeWorker::Release),
        Some("provide-e2e") => provide_e2e(|_| {}),
        Some("serve") => {
            let port = match (args.get(1).map(String::as_str), args.get(2)) {
                (Some("--port"), Some(port)) => port.parse().context("--port")?,
                _ => 8080,
            };
            let dist = build()?;
            build_node_worker(&dist, NodeWorker::Release)?;
            let config = match Info::load(&cmd::root().join(".devnet")) {
                Ok(info) => Some(config_json(&info)),
                Err(_) => None,
            };
            let server = Server::start(&dist, port, overrides(config))?;
            println!("app: {}", server.url());
            loop {
                std::thread::park();
            }
        }
        Some("wasm-test") => wasm_test(|line| println!("{line}")),
        Some("e2e") => e2e(|_| {}),
        Some("bench") => bench(),
        _ => bail!("{USAGE}"),
    }
}

/// The e2e folder with the npm packages (playwright-core, binaryen).
pub fn e2e_dir() -> PathBuf {
    cmd::root().join("app/e2e")
}

/// `npm ci` in `app/e2e` unless its lock file is already installed.
pub fn npm_packages() -> Result<()> {
    let dir = e2e_dir();
    let installed = dir.join("node_modules/.package-lock.json");
    let fresh = std::fs::read_to_string(&installed)
        .ok()
        .is_some_and(|text| {
            text.contains("\"node_modules/playwright-core\"")
                && text.contains("\"node_modules/binaryen\"")
                && dir.join("node_modules/.bin/wasm-opt").exists()
        });
    if fresh {
        return Ok(());
    }
    run(Command::new("npm").current_dir(&dir).args([
        "ci",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
    ]))
}

/// trunk at [`TRUNK_VERSION`], installed with `cargo install --locked` when missing
/// (see [`tools::cargo_install`]).
pub fn trunk() -> Result<()> {
    let have = output(Command::new("trunk").arg("--version")).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(TRUNK_VERSION) {
        return Ok(());
    }
    // trunk's work is starting cargo, wasm-bindgen and wasm-opt: opt-level 1 is plenty.
    tools::cargo_install(&["trunk", "--version", TRUNK_VERSION, "--locked"], 1)
}

/// Everything the app's build and browser tests need.
pub fn install() -> Result<()> {
    tools::install_all()?;
    npm_packages()?;
    trunk()
}

/// `PATH` with npm's wasm-opt first, so trunk finds the right one and downloads nothing.
fn tool_path() -> std::ffi::OsString {
    let mut paths = vec![e2e_dir().join("node_modules/.bin")];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

/// The release build into `dist/`; returns its path.
pub fn build() -> Result<PathBuf> {
    install()?;
    let dist = cmd::root().join("dist");
    let started = Instant::now();
    run(Command::new("trunk")
        .current_dir(cmd::root())
        .env("PATH", tool_path())
        .env("CARGO_TARGET_DIR", devnet::target_dir())
        .args(["build", "--release", "--locked"]))?;
    eprintln!(
        "app: built {} in {:.0} s",
        dist.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(dist)
}

/// Which build of the browser node's worker: the cargo profile, from the root Cargo.toml.
#[derive(Clone, Copy, Debug)]
pub enum NodeWorker {
    /// `wasm-node`: release, what `up` and `serve` give providers and the benchmarks time
    /// (about 30 minutes to compile on 2 cores, 48 MB of wasm).
    Release,
    /// `wasm-node-test`: the engine's kernels optimized and nothing else, for the end to end
    /// (about 12 minutes, 94 MB of wasm).
    Test,
}

impl NodeWorker {
    fn profile(self) -> &'static str {
        match self {
            Self::Release => "wasm-node",
            Self::Test => "wasm-node-test",
        }
    }
}

/// Adds the browser node's worker (`worker-wasm`'s `web_node`, Burn + wgpu) to `dist`:
/// `web_node.js` and `web_node_bg.wasm` from wasm-bindgen (no-modules, as trunk makes
/// workers) and the `web_node_loader.js` the Provide page starts. Kept out of trunk's
/// build because it compiles for many minutes; `up`, `serve`, the benchmarks and the
/// provide end to end add it.
pub fn build_node_worker(dist: &Path, which: NodeWorker) -> Result<()> {
    let started = Instant::now();
    run(cmd::cargo().args([
        "build",
        "--locked",
        "--profile",
        which.profile(),
        "-p",
        "worker-wasm",
        "--bin",
        "web_node",
        "--features",
        "wgpu",
        "--target",
        tools::WASM_TARGET,
    ]))?;
    let wasm = devnet::target_dir()
        .join(tools::WASM_TARGET)
        .join(which.profile())
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
        "app: the node worker built into {} in {:.0} s",
        dist.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The `config.json` the app reads for a devnet: chain, relay, contracts, and the
/// devnet's funded keys for the development wallet.
pub fn config_json(info: &Info) -> String {
    let accounts: Vec<_> = info
        .accounts
        .iter()
        .map(|(address, key)| json!({"address": address, "key": key}))
        .collect();
    let config = json!({
        "chainId": info.chain_id,
        "chainName": "Tessera devnet",
        "rpcUrl": info.rpc_url,
        "relayUrl": info.relay_url,
        "nodeRegistry": info.deployments.node_registry,
        "taskManager": info.deployments.task_manager,
        "deploymentBlock": info.deployments.deployment_block,
        "devAccounts": accounts,
    });
    serde_json::to_string_pretty(&config).unwrap_or_default()
}

pub fn overrides(config: Option<String>) -> HashMap<String, (Vec<u8>, &'static str)> {
    let mut map = HashMap::new();
    if let Some(config) = config {
        map.insert(
            "/config.json".to_owned(),
            (config.into_bytes(), "application/json"),
        );
    }
    map
}

/// A static file server for `dist/` on 127.0.0.1, with some paths served from memory
/// (`config.json`, benchmark images). It runs until the process ends.
pub struct Server {
    port: u16,
}

impl Server {
    /// Serves `dir` on `port` (0: any free port).
    pub fn start(
        dir: &Path,
        port: u16,
        overrides: HashMap<String, (Vec<u8>, &'static str)>,
    ) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("serving the app on port {port}"))?;
        let port = listener.local_addr()?.port();
        let dir = Arc::new(dir.to_path_buf());
        let overrides = Arc::new(overrides);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let dir = dir.clone();
                let overrides = overrides.clone();
                std::thread::spawn(move || {
                    let _ = serve_one(stream, &dir, &overrides);
                });
            }
        });
        Ok(Self { port })
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

fn serve_one(
    stream: TcpStream,
    dir: &Path,
    overrides: &HashMap<String, (Vec<u8>, &'static str)>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let mut stream = stream;
    let respond = |stream: &mut TcpStream, status: &str, kind: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
             Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        if method != "HEAD" {
            stream.write_all(body)?;
        }
        stream.flush()
    };
    if method != "GET" && method != "HEAD" {
        return respond(&mut stream, "405 Method Not Allowed", "text/plain", b"");
    }
    if let Some((body, kind)) = overrides.get(path) {
        return respond(&mut stream, "200 OK", kind, body);
    }
    let relative = path.trim_start_matches('/');
    if relative.split('/').any(|s| s == "..") {
        return respond(&mut stream, "400 Bad Request", "text/plain", b"bad path");
    }
    let file = if relative.is_empty() {
        dir.join("index.html")
    } else {
        dir.join(relative)
    };
    match std::fs::read(&file) {
        Ok(body) => respond(&mut stream, "200 OK", content_type(&file), &body),
        Err(_) => respond(&mut stream, "404 Not Found", "text/plain", b"not found"),
    }
}

/// The app's wasm-bindgen tests in headless Chromium; `on_line` sees each output line.
pub fn wasm_test(on_line: impl FnMut(&str)) -> Result<()> {
    tools::install_all()?;
    cmd::run_tee(
        tools::in_browser(cmd::cargo().args(["test", "-p", "app", "--target", tools::WASM_TARGET])),
        on_line,
    )
}

/// The browser end to end. Re-runs itself with the relay's tamper flag in its environment
/// (the devnet's relay inherits it), starts a devnet, serves the build and runs
/// `app/e2e/e2e.mjs`; `on_line` sees each output line of the browser run.
pub fn e2e(mut on_line: impl FnMut(&str)) -> Result<()> {
    let scratch = std::env::temp_dir().join(format!("tessera-app-e2e-{}", std::process::id()));
    let flag = match std::env::var_os(TAMPER_ENV) {
        Some(flag) => PathBuf::from(flag),
        None => {
            // The relay reads the flag's path from its environment at start: hand it to a
            // child xtask (setting this process's environment would need `unsafe`).
            std::fs::create_dir_all(&scratch)?;
            let flag = scratch.join("tamper.flag");
            let result = cmd::run_tee(
                // Through cargo, not `current_exe()`: inside `cargo xtask test` the workspace
                // test build may have replaced this very binary.
                cmd::cargo()
                    .args(["run", "--quiet", "-p", "xtask", "--", "app", "e2e"])
                    .env(TAMPER_ENV, &flag),
                on_line,
            );
            let _ = std::fs::remove_dir_all(&scratch);
            return result;
        }
    };
    let _ = std::fs::remove_file(&flag);
    let dist = build()?;
    crate::contracts::prepare_tests()?;
    let bins = Binaries::for_tests()?;
    let artifacts = devnet::target_dir().join("app-e2e");
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts)?;

    let runtime = tokio::runtime::Runtime::new()?;
    // The web app against three native nodes.
    let mut options = Options::new(scratch.join("devnet"), bins.clone());
    options.preload = devnet::MODELS.iter().map(|m| m.to_string()).collect();
    let suite = Suite {
        script: "e2e.mjs",
        env: vec![("TAMPER_FLAG", flag.clone().into_os_string())],
        artifacts: &artifacts,
        dist: &dist,
    };
    let app = runtime.block_on(suite.run(options, &mut on_line));
    let _ = std::fs::remove_file(&flag);
    eprintln!("app e2e: screenshots in {}", artifacts.display());
    app?;
    // On failure the devnet's folder stays for its logs.
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// The browser light node end to end (`app/e2e/provide.mjs`): a SwiftShader WebGPU tab
/// beside two native nodes, with the test build of the node worker ([`NodeWorker::Test`]).
pub fn provide_e2e(mut on_line: impl FnMut(&str)) -> Result<()> {
    let scratch = std::env::temp_dir().join(format!("tessera-provide-e2e-{}", std::process::id()));
    let dist = build()?;
    build_node_worker(&dist, NodeWorker::Test)?;
    crate::contracts::prepare_tests()?;
    let bins = Binaries::for_tests()?;
    let artifacts = devnet::target_dir().join("app-e2e");
    std::fs::create_dir_all(&artifacts)?;
    // Inference on a software adapter is slow: the deadlines are generous.
    let mut options = Options::new(scratch.join("devnet"), bins);
    options.nodes = vec![None, None];
    options.preload = vec!["sd-tiny".into()];
    options.timeouts = (900, 300, 300);
    let suite = Suite {
        script: "provide.mjs",
        env: vec![("TASK_TIMEOUT_MS", "1500000".into())],
        artifacts: &artifacts,
        dist: &dist,
    };
    let result = tokio::runtime::Runtime::new()?.block_on(suite.run(options, &mut on_line));
    eprintln!("provide e2e: screenshots in {}", artifacts.display());
    result?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// One browser script against a fresh devnet.
struct Suite<'a> {
    script: &'static str,
    env: Vec<(&'static str, std::ffi::OsString)>,
    artifacts: &'a Path,
    dist: &'a Path,
}

impl Suite<'_> {
    async fn run(self, options: Options, on_line: &mut impl FnMut(&str)) -> Result<()> {
        let mut net = Devnet::start(options)
            .await
            .context("starting the devnet")?;
        let server = Server::start(self.dist, 0, overrides(Some(config_json(&net.info))))?;
        eprintln!(
            "app e2e ({}): app at {}, devnet in {}",
            self.script,
            server.url(),
            net.dir.display()
        );
        let mut node = Command::new("node");
        node.current_dir(cmd::root())
            .arg(e2e_dir().join(self.script))
            .env("APP_URL", server.url())
            .env("ARTIFACTS", self.artifacts)
            .envs(self.env);
        let result = cmd::run_tee(&mut node, |line| on_line(line));
        if result.is_err() {
            eprintln!("{}", net.logs());
        }
        net.stop();
        result
    }
}

/// Ten 512x512 RGB PNGs from the shared phash vectors, as returned images to verify.
fn bench_images() -> Result<Vec<Vec<u8>>> {
    let dir = crate::shared_dir().join("vectors/phash/images");
    let names = [
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
    ];
    names
        .iter()
        .map(|name| {
            let path = dir.join(name);
            std::fs::read(&path)
                .with_context(|| format!("{} (the shared reference data)", path.display()))
        })
        .collect()
}

fn gzip_size(path: &Path) -> Result<u64> {
    let out = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .context("running gzip")?;
    ensure!(out.status.success(), "gzip failed on {}", path.display());
    Ok(out.stdout.len() as u64)
}

/// The wasm files of a build: (name, raw bytes, gzipped bytes).
pub fn wasm_sizes(dist: &Path) -> Result<Vec<(String, u64, u64)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dist)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wasm") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((name, std::fs::metadata(&path)?.len(), gzip_size(&path)?));
        }
    }
    out.sort();
    ensure!(!out.is_empty(), "no wasm in {}", dist.display());
    Ok(out)
}

/// `cargo xtask bench app`.
pub fn bench() -> Result<()> {
    let dist = build()?;
    for (name, raw, gz) in wasm_sizes(&dist)? {
        let role = if name.starts_with("hash_worker") {
            "hashing worker"
        } else if name.starts_with("web_node") {
            "node worker (Burn + wgpu, not wasm-opt'ed)"
        } else {
            "app"
        };
        println!(
            "bench: {role} wasm {name}: {:.0} kB raw, {:.0} kB gzipped",
            raw as f64 / 1024.0,
            gz as f64 / 1024.0
        );
    }
    // No chain is needed to render or to hash: the config points at closed ports.
    let config = json!({
        "chainId": 31337, "rpcUrl": "http://127.0.0.1:9", "relayUrl": "http://127.0.0.1:9",
        "nodeRegistry": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "taskManager": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
        "devAccounts": [{"address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            "key": "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"}]
    });
    let mut files = overrides(Some(config.to_string()));
    for (i, png) in bench_images()?.into_iter().enumerate() {
        files.insert(format!("/bench/{i}.png"), (png, "image/png"));
    }
    let server = Server::start(&dist, 0, files)?;
    run(Command::new("node")
        .arg(e2e_dir().join("bench.mjs"))
        .env("APP_URL", server.url()))
}
