//! `cargo xtask up`: the whole network on this machine, until Ctrl-C.
//!
//! Installs what is missing, builds the relay and node binaries, starts anvil with the
//! contracts deployed, the relay with the reference checkpoints as models, three nodes on
//! the CPU backend (funded, staked, models preloaded), builds the web app (release, trunk)
//! and serves it with a `config.json` for this devnet, and prints where everything is.
//! State lives in `.devnet/`, wiped at every start: each `up` is a fresh network.

use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::devnet::{self, Binaries, Devnet, Options};
use crate::{app, cmd, contracts, tools};

const USAGE: &str = "usage: cargo xtask up [--release] [--chain-port N] [--relay-port N] [--nodes N] [--app-port N]

Starts anvil (default port 8545) with the contracts deployed, the relay (default port 8600)
with the reference checkpoints sd-tiny and gpt2-tiny as models, and N nodes (default 3) on
the CPU backend (with fewer than 3, tasks wait for browser tabs to join from the app's
Provide page); builds the web app into dist/ and serves it (default port 8080) with a
config.json for this devnet. State goes to .devnet/ and is wiped at every start. Ctrl-C
stops it all. Open the app's URL, or in another terminal: cargo xtask task sd --prompt \"a red fox\"";

/// Entry point.
pub fn run(args: &[String]) -> Result<()> {
    let mut release = false;
    let mut chain_port = 8545;
    let mut relay_port = 8600;
    let mut nodes = 3;
    let mut app_port = 8080;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--release" => release = true,
            "--chain-port" => chain_port = value()?.parse().context("--chain-port")?,
            "--relay-port" => relay_port = value()?.parse().context("--relay-port")?,
            "--nodes" => nodes = value()?.parse().context("--nodes")?,
            "--app-port" => app_port = value()?.parse().context("--app-port")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if nodes < 3 {
        eprintln!(
            "note: every task is run by three nodes; with {nodes} native node(s), tasks wait \
             until browser tabs join from the app's Provide page"
        );
    }
    tools::install_all()?;
    contracts::prepare_tests()?;
    let dist = app::build()?;
    app::build_node_worker(&dist, app::NodeWorker::Release)?;
    let bins = Binaries::build(release)?;
    let mut options = Options::new(cmd::root().join(".devnet"), bins);
    options.chain_port = chain_port;
    options.relay_port = relay_port;
    options.nodes = vec![None; nodes];
    options.preload = devnet::MODELS.iter().map(|m| m.to_string()).collect();
    options.timeouts = (120, 60, 60);
    options.poll_ms = 500;

    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        eprintln!(
            "up: starting chain, relay and {nodes} nodes (models are fetched from the relay)"
        );
        let mut devnet = Devnet::start(options).await?;
        let config = app::config_json(&devnet.info);
        std::fs::write(dist.join("config.json"), &config)?;
        let server = app::Server::start(&dist, app_port, Default::default())?;
        print_info(&devnet, &server.url());
        let stopped = tokio::select! {
            _ = tokio::signal::ctrl_c() => None,
            exit = watch_processes(&mut devnet) => Some(exit),
        };
        eprintln!("up: stopping (nodes finish the task in hand)");
        devnet.stop();
        match stopped {
            Some(reason) => bail!("{reason}"),
            None => Ok(()),
        }
    })
}

/// Returns when a node process dies on its own.
async fn watch_processes(devnet: &mut Devnet) -> String {
    loop {
        for (i, node) in devnet.nodes.iter_mut().enumerate() {
            if !node.is_running() {
                return format!(
                    "node {i} exited; its log is {}",
                    node.dir.join("node.log").display()
                );
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn print_info(devnet: &Devnet, app_url: &str) {
    let info = &devnet.info;
    println!();
    println!("Tessera devnet is up.");
    println!("  app      {app_url}/  (open it; connect “Use development wallet (devnet key)”,");
    println!(
        "           or add chain id {} at {} to a browser wallet)",
        info.chain_id, info.rpc_url
    );
    println!("  chain    {} (chain id {})", info.rpc_url, info.chain_id);
    println!("  relay    {}", info.relay_url);
    println!(
        "  contracts NodeRegistry {}  TaskManager {}",
        info.deployments.node_registry, info.deployments.task_manager
    );
    for (i, node) in devnet.nodes.iter().enumerate() {
        println!(
            "  node {i}   {}  log {}",
            node.address,
            node.dir.join("node.log").display()
        );
    }
    println!("  accounts for requesters (devnet keys, funded with 100000 CNX each):");
    for (address, key) in &info.accounts {
        println!("    {address}  {key}");
    }
    println!();
    println!("Try: cargo xtask task sd --prompt \"a red fox in the snow\"");
    println!("     cargo xtask task llm --prompt \"What is a GPU?\"");
    println!("Ctrl-C stops everything.");
}
