//! Deployment parameters as command-line flags (feature `cli`), for `tessera-deploy` and
//! `devnet chain`: every flag overrides one of [`Parameters::defaults`].

use alloy::primitives::{Address, U256};

use crate::Parameters;

/// Overrides of the contracts' parameters.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DeployFlags {
    /// Minimum stake to join, in whole CNX.
    #[arg(long)]
    pub min_stake: Option<u64>,
    /// Seconds a quitting node's stake stays bonded.
    #[arg(long)]
    pub unbonding: Option<u64>,
    /// Eligible nodes a task must have to be created.
    #[arg(long)]
    pub min_pool: Option<u64>,
    /// Bits two image hashes may differ in and still agree.
    #[arg(long)]
    pub threshold: Option<u64>,
    /// Seconds the seats have to commit to a task of one unit of work.
    #[arg(long)]
    pub task_timeout: Option<u64>,
    /// Seconds more to commit per unit of work past the first.
    #[arg(long)]
    pub task_timeout_per_unit: Option<u64>,
    /// Smallest fee per unit of work, in wei.
    #[arg(long)]
    pub min_fee_per_unit: Option<U256>,
    /// Seconds the seats have to reveal.
    #[arg(long)]
    pub reveal_timeout: Option<u64>,
    /// Seconds the uploader has to upload.
    #[arg(long)]
    pub upload_timeout: Option<u64>,
    /// Blocks the requester has to reveal the seed.
    #[arg(long)]
    pub seed_window: Option<u64>,
    /// Tasks the queue holds.
    #[arg(long)]
    pub queue: Option<u64>,
    /// Where protocol fees and penalties go (default: the deployer).
    #[arg(long)]
    pub treasury: Option<Address>,
    /// The relay's receipt key, whose signature proves an upload (default: the treasury).
    #[arg(long)]
    pub relay_signer: Option<Address>,
}

impl DeployFlags {
    /// The defaults with these overrides, for a deployment by `deployer`.
    pub fn parameters(&self, deployer: Address) -> Parameters {
        let mut p = Parameters::defaults(self.treasury.unwrap_or(deployer));
        if let Some(cnx) = self.min_stake {
            p.registry.minStake = U256::from(cnx) * U256::from(10u64).pow(U256::from(18u64));
        }
        let set = |field: &mut u64, value: Option<u64>| {
            if let Some(value) = value {
                *field = value;
            }
        };
        set(&mut p.registry.unbondingDelay, self.unbonding);
        set(&mut p.tasks.minPoolSize, self.min_pool);
        set(&mut p.tasks.similarityThreshold, self.threshold);
        set(&mut p.tasks.taskTimeout, self.task_timeout);
        set(&mut p.tasks.taskTimeoutPerUnit, self.task_timeout_per_unit);
        if let Some(wei) = self.min_fee_per_unit {
            p.tasks.minFeePerUnit = wei;
        }
        set(&mut p.tasks.revealTimeout, self.reveal_timeout);
        set(&mut p.tasks.uploadTimeout, self.upload_timeout);
        set(&mut p.tasks.seedWindowBlocks, self.seed_window);
        set(&mut p.tasks.maxQueueSize, self.queue);
        if let Some(signer) = self.relay_signer {
            p.tasks.relaySigner = signer;
        }
        p
    }
}
