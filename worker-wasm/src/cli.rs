//! The `node` command line (native only): parses the arguments and runs one command.
//! `src/bin/node.rs` only calls [`run`]; like any binary's body it reports errors with
//! `anyhow`, where the library modules beside it return typed errors.
//!
//! ```text
//! node join [--stake CNX]      stake and announce this machine's hardware and models
//! node run                     serve tasks until Ctrl-C (then finish the task in hand)
//! node status                  the node as the chain sees it
//! node pause | resume | quit   stop taking tasks, take them again, leave (stake unbonds)
//! node withdraw                collect rewards and unbonded stake
//! node key [--new]             the node's address (or make a new key file)
//! node run --task TASK.json --models DIR --out OUTDIR [--backend cpu|wgpu|cuda]
//!                              run one task from files, offline, and print its score
//! ```
//!
//! Settings come from `--config node.toml` and `TESSERA_*` variables (see
//! [`crate::node::config`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::node::bars::Bars;
use crate::node::capability;
use crate::node::chain::NodeChain;
use crate::node::config::NodeConfig;
use crate::node::journal::Journal;
use crate::node::models::ModelStore;
use crate::node::native::NativeHost;
use crate::node::runner::{Node, Settings, Stop};
use crate::node::standing;
use alloy::primitives::{B256, U256, utils::format_ether, utils::parse_ether};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use contracts::Deployments;
use contracts::NodeRegistry::NodeStatus;
use engine::device::Backend;
use engine::task::{self, Task};
use relay_client::RelayClient;
use tracing_subscriber::EnvFilter;

/// A Tessera node: runs Stable Diffusion and LLM tasks for the network.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The node's configuration file (TOML; `TESSERA_*` variables override it).
    #[arg(long, short, global = true, env = "TESSERA_NODE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Stake and join, announcing this machine's GPU (measured) and the models held.
    Join {
        /// Stake in CNX (default: the registry's minimum).
        #[arg(long)]
        stake: Option<String>,
    },
    /// Serve tasks until Ctrl-C; with `--task`, run one task from files instead.
    Run {
        /// Run this task-arguments file offline instead of serving.
        #[arg(long, requires_all = ["models", "out"])]
        task: Option<PathBuf>,
        /// Folder of model folders (with `--task`).
        #[arg(long)]
        models: Option<PathBuf>,
        /// Where to write the result files (with `--task`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Compute backend (default: the configuration's, else the best compiled in).
        #[arg(long)]
        backend: Option<String>,
    },
    /// Show the node as the chain sees it.
    Status,
    /// Stop taking tasks (after the current one).
    Pause,
    /// Take tasks again.
    Resume,
    /// Add CNX to the stake (a margin over the minimum keeps a slash from making the node
    /// quit).
    AddStake {
        /// The amount, in CNX.
        amount: String,
    },
    /// Leave the network; the stake unbonds.
    Quit,
    /// Collect rewards and unbonded stake.
    Withdraw,
    /// Print the node's address, or write a new random key to the key file.
    Key {
        /// Create the key file (refuses to overwrite one).
        #[arg(long)]
        new: bool,
    },
}

/// Runs the command line's command; prints the error chain and fails on error.
pub fn run() -> std::process::ExitCode {
    match main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // Bars for downloads and steps on a terminal; log lines go above them.
    let bars = Bars::for_stderr();
    let lines = bars.clone();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(move || lines.writer())
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = NodeConfig::load(cli.config.as_deref(), |name| std::env::var(name).ok())?;
    if let Command::Run {
        task: Some(task),
        models,
        out,
        backend,
    } = &cli.command
    {
        let backend = match backend {
            Some(name) => name.parse()?,
            None => config.backend,
        };
        return run_offline(
            task,
            models
                .as_deref()
                .context("--models is required with --task")?,
            out.as_deref().context("--out is required with --task")?,
            backend,
            &bars,
        );
    }
    if let Command::Key { new } = &cli.command {
        return key_command(&config, *new);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(online(cli.command, config, bars))
}

fn key_command(config: &NodeConfig, new: bool) -> Result<()> {
    if new {
        if config.key_file.exists() {
            bail!(
                "{} exists; refusing to overwrite a key",
                config.key_file.display()
            );
        }
        let key = PrivateKeySigner::random();
        if let Some(parent) = config.key_file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(
            &config.key_file,
            format!("0x{}\n", alloy::hex::encode(key.to_bytes())),
        )
        .with_context(|| format!("writing {}", config.key_file.display()))?;
        println!("{}", key.address());
        return Ok(());
    }
    println!("{}", load_key(&config.key_file)?.address());
    Ok(())
}

fn load_key(path: &Path) -> Result<PrivateKeySigner> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading the node key {} (make one with `node key --new`)",
            path.display()
        )
    })?;
    let bytes: B256 = text
        .trim()
        .parse()
        .with_context(|| format!("{}: not a 32-byte hex private key", path.display()))?;
    PrivateKeySigner::from_bytes(&bytes)
        .with_context(|| format!("{}: not a valid secp256k1 key", path.display()))
}

struct Connected {
    key: PrivateKeySigner,
    chain: NodeChain,
    relay: RelayClient,
    models: ModelStore,
}

async fn connect(config: &NodeConfig) -> Result<Connected> {
    let deployments = Deployments::load(&config.deployments)?;
    let rpc = config.rpc_url.as_deref().unwrap_or(&deployments.rpc_url);
    let key = load_key(&config.key_file)?;
    let chain = NodeChain::connect(
        rpc.parse().with_context(|| format!("RPC URL {rpc:?}"))?,
        &deployments,
        key.clone(),
    );
    let chain_id = chain
        .chain_id()
        .await
        .with_context(|| format!("reaching the chain at {rpc}"))?;
    if chain_id != deployments.chain_id {
        bail!(
            "{rpc} is chain {chain_id}, but {} is for chain {}",
            config.deployments.display(),
            deployments.chain_id
        );
    }
    let relay = RelayClient::new(&config.relay_url, chain_id)?;
    let models = ModelStore::new(config.model_dir.clone(), &config.pins)?;
    Ok(Connected {
        key,
        chain,
        relay,
        models,
    })
}

async fn online(command: Command, config: NodeConfig, bars: Bars) -> Result<()> {
    let Connected {
        key,
        chain,
        relay,
        models,
    } = connect(&config).await?;
    match command {
        Command::Join { stake } => {
            let capability = capability::detect(config.backend, config.gpu_vram)?;
            let stake = match stake {
                Some(cnx) => parse_ether(&cnx).with_context(|| format!("stake {cnx:?} in CNX"))?,
                None => chain.min_stake().await?,
            };
            let held = models.held();
            chain
                .join(
                    &capability.gpu_name,
                    capability.gpu_vram,
                    held.clone(),
                    stake,
                )
                .await?;
            println!(
                "joined as {} with {} CNX: GPU {:?}, {} GB, models {:?}",
                chain.address(),
                format_ether(stake),
                capability.gpu_name,
                capability.gpu_vram,
                held
            );
        }
        Command::Run { .. } => {
            let device = config.backend.device()?;
            let settings = Settings {
                poll: Duration::from_millis(config.poll_interval_ms),
                preload: config.preload.clone(),
                backend: config.backend.to_string(),
                fault: config.fault,
            };
            let journal = Journal::new(&config.state_dir);
            let host = NativeHost::new(relay.clone(), models, journal, device, bars);
            let node = Node::new(settings, key, chain, relay, host);
            let stop = Stop::default();
            let stopper = stop.clone();
            tokio::spawn(async move {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .expect("SIGTERM handler");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                tracing::info!("stopping after the task in hand (Ctrl-C again to leave at once)");
                stopper.request();
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                tracing::warn!("leaving at once: a task in hand is left to the chain's timeout");
                std::process::exit(130);
            });
            node.serve(&stop).await?;
        }
        Command::Status => status(&chain).await?,
        Command::Pause => {
            chain.pause().await?;
            println!("paused (after the current task, if any)");
        }
        Command::Resume => {
            chain.resume().await?;
            println!("resumed");
        }
        Command::AddStake { amount } => {
            let wei = parse_ether(&amount).with_context(|| format!("amount {amount:?} in CNX"))?;
            chain.add_stake(wei).await?;
            let info = chain.info().await?;
            println!(
                "added {} CNX: the stake is {} CNX",
                format_ether(wei),
                format_ether(info.stake)
            );
        }
        Command::Quit => {
            chain.quit().await?;
            println!("quitting; the stake unbonds, then `node withdraw` collects it");
        }
        Command::Withdraw => {
            let (rewards, stake) = chain.withdraw().await?;
            println!(
                "withdrew {} CNX of rewards and {} CNX of stake",
                format_ether(rewards),
                format_ether(stake)
            );
        }
        Command::Key { .. } => unreachable!("handled offline"),
    }
    Ok(())
}

async fn status(chain: &NodeChain) -> Result<()> {
    let info = chain.info().await?;
    println!("node        {}", chain.address());
    println!("status      {}", NodeStatus::name(info.status));
    println!("stake       {} CNX", format_ether(info.stake));
    println!("gpu         {} ({} GB)", info.gpuName, info.gpuVram);
    println!("models      {}", info.modelIds.join(", "));
    println!(
        "qos         {:.2} of 10, health {:.0}%",
        info.qosScore.to::<u64>() as f64 / 100.0,
        info.health.to::<u64>() as f64 / 10.0
    );
    println!(
        "task        {}",
        if info.currentTask == U256::ZERO {
            "none".to_owned()
        } else {
            info.currentTask.to_string()
        }
    );
    println!(
        "withdrawable {} CNX of rewards",
        format_ether(chain.withdrawable().await?)
    );
    if !info.unbondingAmount.is_zero() {
        println!(
            "unbonding   {} CNX until {}",
            format_ether(info.unbondingAmount),
            info.unbondingUntil
        );
    }
    println!("balance     {} CNX", format_ether(chain.balance().await?));
    for warning in standing::warnings(&chain.standing().await?) {
        println!("warning     {warning}");
    }
    let ledger = chain.ledger().await?;
    let earned: U256 = ledger.iter().map(|l| l.reward).sum();
    let lost: U256 = ledger.iter().map(|l| l.slashed).sum();
    println!(
        "tasks       {} settled: {} CNX earned, {} CNX of stake lost",
        ledger.len(),
        format_ether(earned),
        format_ether(lost)
    );
    for line in ledger.iter().rev().take(10) {
        let outcome = line
            .outcome
            .map_or("open", contracts::TaskManager::NodeOutcome::name);
        println!(
            "  task {:<6} {:<10} +{} CNX{}",
            line.task,
            outcome,
            format_ether(line.reward),
            if line.slashed.is_zero() {
                String::new()
            } else {
                format!("  -{} CNX stake", format_ether(line.slashed))
            }
        );
    }
    Ok(())
}

fn run_offline(
    task_path: &Path,
    models: &Path,
    out: &Path,
    backend: Backend,
    bars: &Bars,
) -> Result<()> {
    let json = std::fs::read(task_path)
        .with_context(|| format!("cannot read task file {}", task_path.display()))?;
    let task = Task::parse(&json).with_context(|| format!("task file {}", task_path.display()))?;
    let model_dir = model_folder(models, task.model_name())?;
    let lora_dir = task
        .lora_model_name()
        .map(|name| model_folder(models, name))
        .transpose()?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let device = backend.device()?;
    eprintln!("loading {} on {backend}", model_dir.display());
    if let Some(limits) = engine::device::wgpu_limits() {
        eprintln!(
            "wgpu buffer limits: binding {} MiB, buffer {} MiB (adapter offers {} / {} MiB)",
            limits.max_storage_buffer_binding_size >> 20,
            limits.max_buffer_size >> 20,
            limits.adapter_max_storage_buffer_binding_size >> 20,
            limits.adapter_max_buffer_size >> 20
        );
    }
    let mut clock = engine::timing::StepClock::default();
    let task_models = task::TaskModels {
        base: model_dir.as_path(),
        lora: lora_dir.as_deref(),
    };
    let outcome = pollster::block_on(task::run(&task, task_models, &device, |p| {
        clock.step();
        let step = worker_protocol::Activity::Progress {
            task: "offline".into(),
            step: p.done,
            steps: p.total,
            detail: p.detail.clone(),
        };
        if !bars.show(&step) {
            eprintln!("{}", p.detail)
        }
    }));
    bars.show(&worker_protocol::Activity::Ran {
        task: "offline".into(),
        ms: 0,
    });
    let outcome = outcome?;
    for (name, bytes) in &outcome.files {
        let path = out.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    let timing = clock.finish();
    eprintln!(
        "done in {:.1} s: {} steps, the first (loading, prompt, kernels) {:.0} ms, then \
         {:.0} ms each (median)",
        timing.total_ms / 1000.0,
        timing.steps,
        timing.first_step_ms,
        timing.median_step_ms
    );
    println!("{}", outcome.score_hex());
    Ok(())
}

fn model_folder(models: &Path, name: &str) -> Result<PathBuf> {
    if name.is_empty() || name.split(['/', '\\']).any(|part| part == "..") {
        bail!("model name {name:?} is not a valid folder name");
    }
    let candidates = [
        models.join(name),
        models.join(relay_api::model_folder_name(name)),
    ];
    candidates
        .iter()
        .find(|path| path.is_dir())
        .cloned()
        .with_context(|| format!("model {name:?} not found under {}", models.display()))
}
