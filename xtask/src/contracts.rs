//! `cargo xtask contracts …` and `cargo xtask chain`: compile the Solidity contracts with the
//! pinned solcjs, check the committed artifacts, deploy, and run a local anvil chain.
//!
//! Subcommands:
//! - `contracts build`: compile `contracts/src/solidity/*.sol` into `contracts/artifacts/`.
//! - `contracts check`: compile in memory and fail when the committed artifacts differ.
//! - `contracts prepare`: `npm ci` when needed, then `check` (what the test pipeline runs).
//! - `contracts deploy --rpc URL --key HEX [--out FILE] [deploy options]`: deploy to any chain.
//! - `chain [--port N] [--out FILE] [deploy options]`: start anvil, deploy, write the
//!   deployments file, and keep the chain running until interrupted.

use std::collections::BTreeMap;
use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// Contracts whose artifacts are committed, by source file.
const CONTRACTS: [(&str, &str); 2] = [
    ("NodeRegistry.sol", "NodeRegistry"),
    ("TaskManager.sol", "TaskManager"),
];
/// The EVM version the bytecode targets: supported by anvil and every major EVM chain.
const EVM_VERSION: &str = "cancun";
const OPTIMIZER_RUNS: u64 = 200;
/// Anvil's first default account (a well-known development key, never funded elsewhere).
const ANVIL_KEY_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// Entry point for `cargo xtask contracts <sub> …`.
pub fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("build") => build(),
        Some("check") => check(),
        Some("prepare") => prepare_tests(),
        Some("deploy") => deploy(&args[1..]),
        Some("chain") => chain(&args[1..]),
        _ => bail!(
            "usage: cargo xtask contracts build | check | prepare | deploy --rpc URL --key HEX [--out FILE] [options] | chain [--port N] [--out FILE] [options]"
        ),
    }
}

/// Entry point for `cargo xtask chain …` (same as `contracts chain`).
pub fn run_chain(args: &[String]) -> Result<()> {
    chain(args)
}

/// Installs the pinned npm packages (solc, anvil) when missing or stale, and checks that the
/// committed artifacts match the sources. The test pipeline runs this before `cargo test`.
pub fn prepare_tests() -> Result<()> {
    npm_ci_if_needed()?;
    check()
}

fn contracts_dir() -> PathBuf {
    crate::cmd::root().join("contracts")
}

fn npm_ci_if_needed() -> Result<()> {
    let dir = contracts_dir();
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules/.package-lock.json");
    let fresh = match (fs::metadata(&lock), fs::metadata(&installed)) {
        (Ok(l), Ok(i)) => i.modified()? >= l.modified()? && anvil_binary().is_ok(),
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    eprintln!("contracts: npm ci (solc, @foundry-rs/anvil)");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .context("running `npm ci` in contracts/ (is npm installed?)")?;
    ensure!(
        status.success(),
        "`npm ci` in contracts/ failed with {status}"
    );
    anvil_binary().map(|_| ())
}

/// The native anvil binary npm installed (the `.bin/anvil` shim is a node script that
/// would outlive a kill; the platform package holds the real binary).
pub fn anvil_binary() -> Result<PathBuf> {
    let scope = contracts_dir().join("node_modules/@foundry-rs");
    let entries = fs::read_dir(&scope).with_context(|| {
        format!(
            "{} is missing: run `cargo xtask test` or `npm ci` in contracts/",
            scope.display()
        )
    })?;
    for entry in entries {
        let entry = entry?;
        // Platform packages are named `anvil-<os>-<arch>`.
        if entry.file_name().to_string_lossy().starts_with("anvil-") {
            let bin = entry.path().join("bin/anvil");
            if bin.is_file() {
                return Ok(bin);
            }
        }
    }
    bail!(
        "no anvil binary under {}: run `npm ci` in contracts/",
        scope.display()
    )
}

// ------------------------------------------------------------------ compile

/// Compiles every contract and returns `artifact file name -> pretty JSON text`.
fn compile() -> Result<BTreeMap<String, String>> {
    let dir = contracts_dir();
    let src_dir = dir.join("src/solidity");
    let mut sources = serde_json::Map::new();
    let mut source_hash = Sha256::new();
    let mut names: Vec<_> = fs::read_dir(&src_dir)
        .with_context(|| format!("reading {}", src_dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for path in names
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sol"))
    {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .context("non UTF-8 source name")?;
        let content =
            fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        source_hash.update(source_digest_entry(name, &content));
        sources.insert(name.to_owned(), json!({ "content": content }));
    }
    let input = json!({
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "optimizer": { "enabled": true, "runs": OPTIMIZER_RUNS },
            "viaIR": true,
            "evmVersion": EVM_VERSION,
            "outputSelection": { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } }
        }
    });

    let output = run_solc(&dir, &input.to_string())?;
    let mut fatal = Vec::new();
    for err in output["errors"].as_array().into_iter().flatten() {
        let msg = err["formattedMessage"].as_str().unwrap_or_default();
        if err["severity"] == "error" {
            fatal.push(msg.to_owned());
        } else {
            eprintln!("{msg}");
        }
    }
    ensure!(fatal.is_empty(), "solc errors:\n{}", fatal.join("\n"));

    let source_hash = format!("0x{}", hex(&source_hash.finalize()));
    let version = output["solcVersion"]
        .as_str()
        .context("solc version")?
        .to_owned();
    let mut artifacts = BTreeMap::new();
    for (file, name) in CONTRACTS {
        let c = &output["contracts"][file][name];
        ensure!(c.is_object(), "solc produced no contract {name} in {file}");
        let bytecode = c["evm"]["bytecode"]["object"]
            .as_str()
            .context("bytecode")?;
        let deployed = c["evm"]["deployedBytecode"]["object"]
            .as_str()
            .context("deployedBytecode")?;
        let size = deployed.len() / 2;
        ensure!(
            size <= 24_576,
            "{name}: deployed code is {size} bytes, over the 24,576-byte limit (EIP-170)"
        );
        let artifact = json!({
            "contractName": name,
            "sourceHash": source_hash,
            "compiler": { "version": version, "evmVersion": EVM_VERSION, "optimizerRuns": OPTIMIZER_RUNS, "viaIR": true },
            "abi": c["abi"],
            "bytecode": format!("0x{bytecode}"),
            "deployedBytecode": format!("0x{deployed}"),
        });
        let mut text = serde_json::to_string_pretty(&sorted_keys(artifact))?;
        text.push('\n');
        artifacts.insert(format!("{name}.json"), text);
        eprintln!("contracts: {name}: {size} bytes deployed");
    }
    Ok(artifacts)
}

/// Compiles a standard-JSON input with the npm `solc` package (solcjs). The compiler runs in
/// a node script that writes its output to a file: piping `solcjs --standard-json` loses
/// output past 64 KiB when node exits.
fn run_solc(dir: &Path, input: &str) -> Result<Value> {
    ensure!(
        dir.join("node_modules/solc").is_dir(),
        "{} is missing: run `cargo xtask contracts prepare` (or `npm ci` in contracts/)",
        dir.join("node_modules/solc").display()
    );
    let tmp = std::env::temp_dir().join(format!("tessera-solc-{}", std::process::id()));
    fs::create_dir_all(&tmp)?;
    let (in_path, out_path) = (tmp.join("input.json"), tmp.join("output.json"));
    fs::write(&in_path, input)?;
    const SCRIPT: &str = "const solc = require('solc'); const fs = require('fs'); \
        const out = JSON.parse(solc.compile(fs.readFileSync(process.argv[1], 'utf8'))); \
        out.solcVersion = solc.version(); fs.writeFileSync(process.argv[2], JSON.stringify(out));";
    let status = Command::new("node")
        .args(["-e", SCRIPT])
        .arg(&in_path)
        .arg(&out_path)
        .current_dir(dir)
        .status()
        .context("running node (is Node.js installed?)")?;
    ensure!(status.success(), "solc (node) failed with {status}");
    let text = fs::read_to_string(&out_path).context("reading solc output")?;
    fs::remove_dir_all(&tmp)?;
    serde_json::from_str(&text).context("parsing solc output")
}

/// One source's part of an artifact's `sourceHash`: SHA-256 over, for every `.sol` file in
/// name order, `name NUL content NUL`. The contracts crate's tests recompute it, so a plain
/// `cargo test` fails too when the sources changed without a rebuild.
fn source_digest_entry(name: &str, content: &str) -> Vec<u8> {
    [name.as_bytes(), &[0], content.as_bytes(), &[0]].concat()
}

/// The value with every object's keys in sorted order, so that an artifact's text does not
/// depend on whether some crate in the build enabled serde_json's `preserve_order`.
fn sorted_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted_keys).collect()),
        other => other,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn build() -> Result<()> {
    let dir = contracts_dir().join("artifacts");
    fs::create_dir_all(&dir)?;
    for (file, text) in compile()? {
        fs::write(dir.join(&file), text).with_context(|| format!("writing artifacts/{file}"))?;
    }
    eprintln!("contracts: artifacts written to {}", dir.display());
    Ok(())
}

fn check() -> Result<()> {
    let dir = contracts_dir().join("artifacts");
    let mut stale = Vec::new();
    for (file, text) in compile()? {
        let committed = fs::read_to_string(dir.join(&file)).unwrap_or_default();
        if committed != text {
            stale.push(file);
        }
    }
    ensure!(
        stale.is_empty(),
        "contracts/artifacts is stale ({}): the Solidity sources changed; run `cargo xtask contracts build` and commit the artifacts",
        stale.join(", ")
    );
    eprintln!("contracts: committed artifacts match the sources");
    Ok(())
}

// ------------------------------------------------------------------ deploy and chain

/// Runs the `tessera-deploy` binary of the contracts crate with these arguments.
fn deploy(args: &[String]) -> Result<()> {
    let status = Command::new(env!("CARGO"))
        .args([
            "run",
            "--quiet",
            "-p",
            "contracts",
            "--features",
            "cli",
            "--bin",
            "tessera-deploy",
            "--",
        ])
        .args(args)
        .status()
        .context("running cargo")?;
    ensure!(status.success(), "deployment failed ({status})");
    Ok(())
}

struct Anvil(Child);

impl Drop for Anvil {
    fn drop(&mut self) {
        // Only the anvil process this command started.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chain(args: &[String]) -> Result<()> {
    let mut port = 8545u16;
    let mut out = crate::cmd::root().join(".devnet/deployments.json");
    let mut block_time = None;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--port" => {
                port = it
                    .next()
                    .context("--port needs a value")?
                    .parse()
                    .context("--port")?
            }
            "--out" => out = it.next().context("--out needs a value")?.into(),
            "--block-time" => {
                block_time = Some(it.next().context("--block-time needs a value")?.clone())
            }
            _ => rest.push(arg.clone()),
        }
    }
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    npm_ci_if_needed()?;
    let anvil_bin = anvil_binary()?;
    let mut cmd = Command::new(&anvil_bin);
    cmd.args([
        "--port",
        &port.to_string(),
        "--host",
        "127.0.0.1",
        "--silent",
    ]);
    if let Some(bt) = &block_time {
        cmd.args(["--block-time", bt]);
    }
    let anvil = Anvil(
        cmd.spawn()
            .with_context(|| format!("starting {}", anvil_bin.display()))?,
    );
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        ensure!(
            started.elapsed() < Duration::from_secs(20),
            "anvil did not listen on port {port} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let rpc = format!("http://127.0.0.1:{port}");
    let mut deploy_args = vec![
        "--rpc".to_owned(),
        rpc.clone(),
        "--key".to_owned(),
        ANVIL_KEY_0.to_owned(),
    ];
    deploy_args.extend(["--out".to_owned(), out.display().to_string()]);
    deploy_args.extend(rest);
    deploy(&deploy_args)?;
    eprintln!(
        "chain: anvil at {rpc}, deployments in {}; Ctrl-C to stop",
        out.display()
    );
    let mut anvil = anvil;
    let status = anvil.0.wait()?;
    bail!("anvil exited: {status}")
}
