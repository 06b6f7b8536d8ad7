//! `tessera-deploy`: deploys Tessera's contracts to any EVM chain and writes the deployments
//! file. `devnet chain` does the same against a fresh anvil.

use std::path::PathBuf;

use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result};
use clap::Parser;
use contracts::flags::DeployFlags;

/// Deploys the NodeRegistry, TaskManager and Appeals contracts and links them.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The chain's JSON-RPC endpoint.
    #[arg(long)]
    rpc: String,
    /// The deployer's private key, `0x` hex (it owns both contracts).
    #[arg(long, env = "TESSERA_DEPLOYER_KEY", hide_env_values = true)]
    key: String,
    /// Where to write the deployments file (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    params: DeployFlags,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let signer: PrivateKeySigner = cli.key.parse().context("--key is not a private key")?;
    let params = cli.params.parameters(signer.address());
    let provider = contracts::connect(cli.rpc.parse().context("--rpc is not a URL")?, signer);
    let deployments = contracts::deploy(provider, &cli.rpc, params.clone()).await?;
    match &cli.out {
        Some(path) => {
            deployments.save(path)?;
            eprintln!(
                "deployed: registry {} task manager {} appeals {} -> {}",
                deployments.node_registry,
                deployments.task_manager,
                deployments.appeals,
                path.display()
            );
        }
        None => print!("{}", deployments.to_json()),
    }
    eprintln!(
        "parameters: min stake {} wei, min pool {}, threshold {}, task timeout {} s + {} s per unit, min fee {} wei per unit",
        params.registry.minStake,
        params.tasks.minPoolSize,
        params.tasks.similarityThreshold,
        params.tasks.taskTimeout,
        params.tasks.taskTimeoutPerUnit,
        params.tasks.minFeePerUnit
    );
    Ok(())
}
