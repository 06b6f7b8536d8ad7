//! Deploying and linking the contracts.

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;

use crate::{Appeals, Deployments, Error, NodeRegistry, TaskManager};

/// Every tunable parameter of the three contracts. [`Parameters::defaults`] gives the values
/// the network runs with; the owner can change them later with `setParams`.
#[derive(Debug, Clone)]
pub struct Parameters {
    /// `NodeRegistry`'s: stakes, unbonding, QoS.
    pub registry: NodeRegistry::Params,
    /// `TaskManager`'s: fees, deadlines, the draw, slashing.
    pub tasks: TaskManager::Params,
    /// `Appeals`': the appeal window, the jury, the bond, the losers' slash.
    pub appeals: Appeals::Params,
}

impl Parameters {
    /// 400 CNX minimum stake, 1 day unbonding, similarity threshold 5, 15 min to commit
    /// plus 2 min per unit of work past the first, 5 min to reveal, 15 min to upload, 64
    /// blocks to reveal the seed, a pool of at least 5 eligible nodes, a queue of 50, a fee
    /// of at least 0.01 CNX per unit of work, the whole fee lost for an unrevealed seed (the
    /// most a re-rolled draw could win back),
    /// 10% of stake lost for silence or a lone error, 20% for an unappealed dissent, 100%
    /// for a withheld reveal; appeals within an hour of the upload deadline to a jury of
    /// 5, with a bond of 40% of the fee per juror (at least 0.05 CNX), each loser losing
    /// 50% of its stake. The treasury also signs upload receipts until `tasks.relaySigner`
    /// is set to the relay's receipt key.
    pub fn defaults(treasury: Address) -> Self {
        Self {
            registry: NodeRegistry::Params {
                minStake: U256::from(400u64) * U256::from(10u64).pow(U256::from(18u64)),
                unbondingDelay: 24 * 60 * 60,
                treasury,
            },
            tasks: TaskManager::Params {
                similarityThreshold: 5,
                taskTimeout: 15 * 60,
                taskTimeoutPerUnit: 2 * 60,
                revealTimeout: 5 * 60,
                uploadTimeout: 15 * 60,
                seedWindowBlocks: 64,
                minPoolSize: 5,
                maxQueueSize: 50,
                minFeePerUnit: U256::from(10u64).pow(U256::from(16u64)),
                seedPenaltyBps: 10_000,
                timeoutSlashBps: 1_000,
                dissentSlashBps: 2_000,
                withheldSlashBps: 10_000,
                treasury,
                relaySigner: treasury,
            },
            appeals: Appeals::Params {
                appealWindow: 60 * 60,
                drawWindowBlocks: 64,
                jurySize: 5,
                minBond: U256::from(5u64) * U256::from(10u64).pow(U256::from(16u64)),
                bondPerJurorBps: 4_000,
                loserSlashBps: 5_000,
            },
        }
    }
}

/// Deploys [`NodeRegistry`], [`TaskManager`] and [`Appeals`] from the provider's default
/// signer, links them (`setTaskManager`, `setAppeals`), and returns where they are. `rpc_url` is recorded as given.
pub async fn deploy<P: Provider>(
    provider: P,
    rpc_url: &str,
    params: Parameters,
) -> Result<Deployments, Error> {
    let chain_id = provider.get_chain_id().await?;
    let first_block = provider.get_block_number().await? + 1;

    let registry = NodeRegistry::deploy(&provider, params.registry).await?;
    let tasks = TaskManager::deploy(&provider, *registry.address(), params.tasks).await?;
    let appeals = Appeals::deploy(
        &provider,
        *registry.address(),
        *tasks.address(),
        params.appeals,
    )
    .await?;
    crate::send(registry.setTaskManager(*tasks.address())).await?;
    crate::send(registry.setAppeals(*appeals.address())).await?;
    let deployer = registry.owner().call().await?;
    Ok(Deployments {
        chain_id,
        rpc_url: rpc_url.to_owned(),
        node_registry: *registry.address(),
        task_manager: *tasks.address(),
        appeals: *appeals.address(),
        deployment_block: first_block,
        deployer,
    })
}
