//! `tessera-deploy --rpc URL --key HEX [--out FILE] [options]`: deploys Tessera's contracts
//! to any EVM chain and writes the deployments file. `cargo xtask chain` runs it against a
//! fresh anvil.
//!
//! Options (defaults in `contracts::Parameters::defaults`): `--min-stake CNX`,
//! `--min-pool N`, `--threshold BITS`, `--task-timeout S`, `--reveal-timeout S`,
//! `--upload-timeout S`, `--seed-window BLOCKS`, `--queue N`, `--unbonding S`,
//! `--treasury ADDRESS`.

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result, bail};
use contracts::Parameters;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut rpc = None;
    let mut key = None;
    let mut out = None;
    let mut overrides = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--rpc" => rpc = Some(value.clone()),
            "--key" => key = Some(value.clone()),
            "--out" => out = Some(value.clone()),
            _ => overrides.push((flag.clone(), value.clone())),
        }
    }
    let rpc = rpc.context("--rpc URL is required")?;
    let signer: PrivateKeySigner = key
        .context("--key HEX is required")?
        .parse()
        .context("--key is not a private key")?;
    let deployer = signer.address();

    let mut params = Parameters::defaults(deployer);
    for (flag, value) in overrides {
        apply(&mut params, &flag, &value).with_context(|| format!("{flag} {value}"))?;
    }

    let provider = contracts::connect(rpc.parse().context("--rpc is not a URL")?, signer);
    let deployments = contracts::deploy(provider, &rpc, params.clone()).await?;
    let json = deployments.to_json();
    match out {
        Some(path) => {
            deployments.save(&path)?;
            eprintln!(
                "deployed: registry {} task manager {} -> {path}",
                deployments.node_registry, deployments.task_manager
            );
        }
        None => print!("{json}"),
    }
    eprintln!(
        "parameters: min stake {} wei, min pool {}, threshold {}, task timeout {} s",
        params.registry.minStake,
        params.tasks.minPoolSize,
        params.tasks.similarityThreshold,
        params.tasks.taskTimeout
    );
    Ok(())
}

fn apply(p: &mut Parameters, flag: &str, value: &str) -> Result<()> {
    let n = || value.parse::<u64>().context("not a whole number");
    match flag {
        "--min-stake" => {
            p.registry.minStake = U256::from(n()?) * U256::from(10u64).pow(U256::from(18u64))
        }
        "--unbonding" => p.registry.unbondingDelay = n()?,
        "--min-pool" => p.tasks.minPoolSize = n()?,
        "--threshold" => p.tasks.similarityThreshold = n()?,
        "--task-timeout" => p.tasks.taskTimeout = n()?,
        "--reveal-timeout" => p.tasks.revealTimeout = n()?,
        "--upload-timeout" => p.tasks.uploadTimeout = n()?,
        "--seed-window" => p.tasks.seedWindowBlocks = n()?,
        "--queue" => p.tasks.maxQueueSize = n()?,
        "--treasury" => {
            let a: Address = value.parse().context("not an address")?;
            p.registry.treasury = a;
            p.tasks.treasury = a;
        }
        _ => bail!("unknown option {flag}"),
    }
    Ok(())
}
