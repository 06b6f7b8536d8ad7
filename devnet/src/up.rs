//! `devnet up` (behind `cargo xtask up`): the whole network on this machine, until Ctrl-C.
//!
//! Starts anvil with the contracts deployed, the relay with the reference checkpoints as
//! models, N nodes on the CPU backend (funded, staked, models preloaded), writes a
//! `config.json` for this devnet into the web app's build and serves it, and prints where
//! everything is. State lives in one folder (`.devnet/`), wiped at every start: each `up` is
//! a fresh network.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use worker_wasm::node::fault::Fault;

use crate::network::{Binaries, Devnet, MODELS, Options};
use crate::serve::{self, Server};

/// Where the network listens and how big it is.
#[derive(Debug, Args)]
pub struct UpOptions {
    /// Native nodes (with fewer than 3, tasks wait for browser tabs to join from the app's
    /// Provide page).
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Anvil's port.
    #[arg(long, default_value_t = 8545)]
    pub chain_port: u16,
    /// The relay's port.
    #[arg(long, default_value_t = 8600)]
    pub relay_port: u16,
    /// The web app's port.
    #[arg(long, default_value_t = 8080)]
    pub app_port: u16,
    /// The web app's build to serve.
    #[arg(long)]
    pub dist: PathBuf,
}

/// Runs the devnet in `dir` until Ctrl-C or until a node dies.
pub async fn run(options: &UpOptions, dir: PathBuf) -> Result<()> {
    let nodes = options.nodes;
    if nodes < 3 {
        eprintln!(
            "note: every task is run by three nodes; with {nodes} native node(s), tasks wait \
             until browser tabs join from the app's Provide page"
        );
    }
    let mut network = Options::new(dir, Binaries::beside_this_program()?)?;
    network.chain_port = options.chain_port;
    network.relay_port = options.relay_port;
    network.nodes = vec![Fault::None; nodes];
    network.preload = MODELS.iter().map(|m| m.to_string()).collect();
    network.timeouts = (120, 60, 60);
    network.poll_ms = 500;
    eprintln!("up: starting chain, relay and {nodes} nodes (models are fetched from the relay)");
    let mut devnet = Devnet::start(network).await?;
    std::fs::write(
        options.dist.join("config.json"),
        serde_json::to_vec_pretty(&serve::app_config(&devnet.info))?,
    )?;
    let server = Server::start(&options.dist, options.app_port, Default::default())?;
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
        "  contracts NodeRegistry {}  TaskManager {}  Appeals {}",
        info.deployments.node_registry, info.deployments.task_manager, info.deployments.appeals
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
