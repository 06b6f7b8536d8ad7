//! The node's side of the contracts: what it reads and the transactions it sends.
//!
//! Works natively and in a browser (alloy over HTTP); nothing here waits or retries, so
//! each platform's loop decides how.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;
use contracts::Appeals::{self, Appeal, AppealsInstance};
use contracts::NodeRegistry::{self, NodeInfo, NodeRegistryInstance};
use contracts::TaskManager::{self, Task, TaskManagerInstance};
use contracts::{Deployments, Error, send};

/// Codes a node reports with `reportError` (defined with the contracts, which treat
/// `ARGS_UNAVAILABLE` specially).
pub use contracts::error_code;

/// A node's connection to the contracts, signing with its key.
#[derive(Clone)]
pub struct NodeChain {
    me: Address,
    /// The contracts' deployment block: log reads start there.
    deployment_block: u64,
    provider: DynProvider,
    registry: NodeRegistryInstance<DynProvider>,
    tasks: TaskManagerInstance<DynProvider>,
    appeals: AppealsInstance<DynProvider>,
}

/// A juror's registry task id is the task's id with this bit set
/// (`Appeals.JURY_BIT`): a node's `currentTask` tells jury duty from a seat.
pub const JURY_BIT: U256 = U256::from_limbs([0, 0, 0, 1 << 63]);

/// The task a registry task id is about, and whether it is jury duty.
pub fn duty(current: U256) -> (U256, bool) {
    if current.bit(255) {
        (current ^ JURY_BIT, true)
    } else {
        (current, false)
    }
}

impl NodeChain {
    /// Connects to the contracts of `deployments` through `rpc_url`, signing with `key`.
    pub fn connect(rpc_url: Url, deployments: &Deployments, key: PrivateKeySigner) -> Self {
        let me = key.address();
        let provider = contracts::connect(rpc_url, key);
        Self {
            me,
            deployment_block: deployments.deployment_block,
            registry: NodeRegistry::new(deployments.node_registry, provider.clone()),
            tasks: TaskManager::new(deployments.task_manager, provider.clone()),
            appeals: Appeals::new(deployments.appeals, provider.clone()),
            provider,
        }
    }

    /// The node's address.
    pub fn address(&self) -> Address {
        self.me
    }

    /// The chain's clock: the latest block's timestamp (deadlines are in chain time).
    pub async fn now(&self) -> Result<u64, Error> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?;
        Ok(block.map_or(0, |b| b.header.timestamp))
    }

    /// The latest block's number.
    pub async fn block_number(&self) -> Result<u64, Error> {
        Ok(self.provider.get_block_number().await?)
    }

    /// The chain id the provider is on.
    pub async fn chain_id(&self) -> Result<u64, Error> {
        Ok(self.provider.get_chain_id().await?)
    }

    /// The manifest digest the chain registered for model `name` (zero: none).
    pub async fn model_manifest(&self, name: &str) -> Result<B256, Error> {
        Ok(self.registry.modelManifest(name.to_owned()).call().await?)
    }

    /// This node as the registry sees it.
    pub async fn info(&self) -> Result<NodeInfo, Error> {
        Ok(self.registry.getNode(self.me).call().await?)
    }

    /// A task.
    pub async fn task(&self, id: U256) -> Result<Task, Error> {
        Ok(self.tasks.getTask(id).call().await?)
    }

    /// This node's standing: stake, health, and what the chain's rules would take from it.
    pub async fn standing(&self) -> Result<super::standing::Standing, Error> {
        let info = self.info().await?;
        let registry = self.registry.getParams().call().await?;
        let tasks = self.tasks.getParams().call().await?;
        Ok(super::standing::Standing {
            stake: info.stake,
            min_stake: registry.minStake,
            health: info.health.saturating_to::<u16>(),
            timeout_slash_bps: tasks.timeoutSlashBps,
            withheld_slash_bps: tasks.withheldSlashBps,
        })
    }

    /// What each task meant for this node: rewards, stake lost and how its seat ended, in
    /// chain order, from the task manager's logs.
    pub async fn ledger(&self) -> Result<Vec<contracts::history::LedgerLine>, Error> {
        contracts::history::node_ledger(
            &self.provider,
            *self.tasks.address(),
            self.me,
            self.deployment_block,
            10_000,
        )
        .await
    }

    /// Adds `amount` wei to the node's stake.
    pub async fn add_stake(&self, amount: U256) -> Result<(), Error> {
        send(self.registry.addStake().value(amount)).await.map(drop)
    }

    /// The registry's minimum stake, in wei.
    pub async fn min_stake(&self) -> Result<U256, Error> {
        Ok(self.registry.getParams().call().await?.minStake)
    }

    /// The node's balance, in wei.
    pub async fn balance(&self) -> Result<U256, Error> {
        Ok(self.provider.get_balance(self.me).await?)
    }

    /// Rewards and refunds credited to the node and not yet withdrawn, in wei: the task
    /// manager's and the appeals contract's.
    pub async fn withdrawable(&self) -> Result<U256, Error> {
        let tasks = self.tasks.withdrawable(self.me).call().await?;
        Ok(tasks + self.appeals.claimable(self.me).call().await?)
    }

    /// Task `id`'s appeal (state `NONE` when there is none).
    pub async fn appeal(&self, id: U256) -> Result<Appeal, Error> {
        Ok(self.appeals.getAppeal(id).call().await?)
    }

    /// The node of task `id`'s outvoted seat (zero: none).
    pub async fn dissenter(&self, id: U256) -> Result<Address, Error> {
        Ok(self.appeals.dissenterOf(id).call().await?)
    }

    /// Tasks this node appealed in the last 256 blocks (the longest a jury may take to be
    /// drawn), from the appeals contract's `AppealFiled` logs.
    pub async fn recent_appeals(&self) -> Result<Vec<U256>, Error> {
        use alloy::sol_types::SolEvent as _;
        let latest = self.provider.get_block_number().await?;
        let filter = alloy::rpc::types::Filter::new()
            .address(*self.appeals.address())
            .event_signature(Appeals::AppealFiled::SIGNATURE_HASH)
            .topic2(self.me.into_word())
            .from_block(latest.saturating_sub(256))
            .to_block(latest);
        let logs = self.provider.get_logs(&filter).await?;
        Ok(logs
            .iter()
            .filter_map(|log| Appeals::AppealFiled::decode_log(&log.inner).ok())
            .map(|e| e.taskId)
            .collect())
    }

    /// The bond an appeal of task `id` needs, in wei.
    pub async fn appeal_bond(&self, id: U256) -> Result<U256, Error> {
        Ok(self.appeals.bondFor(id).call().await?)
    }

    /// Appeals task `id` with `bond` wei, committing to `secret`.
    pub async fn file_appeal(&self, id: U256, secret: B256, bond: U256) -> Result<(), Error> {
        let commitment = B256::from(verifier::commitment::keccak256(secret));
        send(self.appeals.appeal(id, commitment).value(bond))
            .await
            .map(drop)
    }

    /// Reveals the appeal's secret and draws its jury; false while too few jurors are free.
    /// Unless `reveal` (the secret is not on chain yet, and revealing it is what keeps the
    /// bond), a call finds out first, so waiting for jurors sends nothing.
    pub async fn draw_jury(&self, id: U256, secret: B256, reveal: bool) -> Result<bool, Error> {
        let call = self.appeals.drawJury(id, secret);
        // Against the pending block, as the transaction will run: a node that joined in
        // the latest block is a candidate there.
        if !reveal && !call.call().block(alloy::eips::BlockId::pending()).await? {
            return Ok(false);
        }
        let receipt = send(call).await?;
        Ok(receipt.decoded_log::<Appeals::JuryStarted>().is_some())
    }

    /// A juror's commitment, as a seat's.
    pub async fn jury_commit(
        &self,
        id: U256,
        score: &[u8],
        files_digest: B256,
        nonce: B256,
    ) -> Result<(), Error> {
        let commitment = commitment(score, files_digest, nonce);
        send(self.appeals.submitJuryCommitment(id, commitment, nonce))
            .await
            .map(drop)
    }

    /// A juror reports that it cannot run the task.
    pub async fn report_jury_error(&self, id: U256, code: u32) -> Result<(), Error> {
        send(self.appeals.reportJuryError(id, code)).await.map(drop)
    }

    /// A juror's reveal.
    pub async fn jury_reveal(
        &self,
        id: U256,
        score: &[u8],
        files_digest: B256,
    ) -> Result<(), Error> {
        send(
            self.appeals
                .revealJuryResult(id, Bytes::copy_from_slice(score), files_digest),
        )
        .await
        .map(drop)
    }

    /// Moves an appeal past a passed deadline.
    pub async fn advance_appeal(&self, id: U256) -> Result<(), Error> {
        send(self.appeals.advance(id)).await.map(drop)
    }

    /// Joins with `stake` wei, announcing the GPU, the version and the models held.
    pub async fn join(
        &self,
        gpu_name: &str,
        gpu_vram: u64,
        models: Vec<String>,
        stake: U256,
    ) -> Result<(), Error> {
        send(
            self.registry
                .join(
                    gpu_name.to_owned(),
                    gpu_vram,
                    contracts::PROTOCOL_VERSION,
                    models,
                )
                .value(stake),
        )
        .await
        .map(drop)
    }

    /// Replaces the list of models the node announces.
    pub async fn update_models(&self, models: Vec<String>) -> Result<(), Error> {
        send(self.registry.updateModels(models)).await.map(drop)
    }

    /// Stops taking tasks (after the current one).
    pub async fn pause(&self) -> Result<(), Error> {
        send(self.registry.pause()).await.map(drop)
    }

    /// Takes tasks again.
    pub async fn resume(&self) -> Result<(), Error> {
        send(self.registry.resume()).await.map(drop)
    }

    /// Leaves the network; the stake unbonds.
    pub async fn quit(&self) -> Result<(), Error> {
        send(self.registry.quit()).await.map(drop)
    }

    /// Withdraws credited rewards from the task manager and the appeals contract and
    /// released stake from the registry; returns how much each paid (rewards, stake; 0
    /// where there was nothing).
    pub async fn withdraw(&self) -> Result<(U256, U256), Error> {
        let before = self.balance().await?;
        let mut paid = (U256::ZERO, U256::ZERO);
        if !self.tasks.withdrawable(self.me).call().await?.is_zero() {
            send(self.tasks.withdraw()).await?;
        }
        if !self.appeals.claimable(self.me).call().await?.is_zero() {
            send(self.appeals.claim()).await?;
        }
        paid.0 = self.balance().await?.saturating_sub(before);
        let before = self.balance().await?;
        match send(self.registry.withdraw()).await {
            Ok(_) => paid.1 = self.balance().await?.saturating_sub(before),
            Err(Error::Reverted(_)) => {}
            Err(e) => return Err(e),
        }
        Ok(paid)
    }

    /// Sends `amount` wei of the node's balance to `to` (a plain transfer).
    pub async fn transfer(&self, to: Address, amount: U256) -> Result<(), Error> {
        use alloy::network::TransactionBuilder;
        let tx = alloy::rpc::types::TransactionRequest::default()
            .with_from(self.me)
            .with_to(to)
            .with_value(amount);
        let receipt = self
            .provider
            .send_transaction(tx)
            .await?
            .get_receipt()
            .await
            .map_err(Error::Pending)?;
        if !receipt.status() {
            return Err(Error::Failed(receipt.transaction_hash));
        }
        Ok(())
    }

    /// Commits to `score` and the result files' digest with `nonce`.
    pub async fn commit(
        &self,
        id: U256,
        score: &[u8],
        files_digest: B256,
        nonce: B256,
    ) -> Result<(), Error> {
        let commitment = commitment(score, files_digest, nonce);
        send(self.tasks.submitCommitment(id, commitment, nonce))
            .await
            .map(drop)
    }

    /// Reports that the task cannot run here.
    pub async fn report_error(&self, id: U256, code: u32) -> Result<(), Error> {
        send(self.tasks.reportError(id, code)).await.map(drop)
    }

    /// Reveals the committed score and files digest.
    pub async fn reveal(&self, id: U256, score: &[u8], files_digest: B256) -> Result<(), Error> {
        send(
            self.tasks
                .revealResult(id, Bytes::copy_from_slice(score), files_digest),
        )
        .await
        .map(drop)
    }

    /// Reports that the result files are on the relay, with the relay's `receipt`.
    pub async fn report_uploaded(&self, id: U256, receipt: Bytes) -> Result<(), Error> {
        send(self.tasks.reportResultsUploaded(id, receipt))
            .await
            .map(drop)
    }

    /// Starts the best queued task if the nodes free before this block can take it; false,
    /// sending nothing, when the queue is empty or a draw would not start anything. The
    /// queue's draw leaves out nodes freed in its own block (its seed is public), so idle
    /// nodes call this rather than waiting for the next settlement.
    pub async fn start_queued(&self) -> Result<bool, Error> {
        if self.tasks.getQueue().call().await?.is_empty() {
            return Ok(false);
        }
        let call = self.tasks.processQueue(U256::ONE);
        if call
            .call()
            .block(alloy::eips::BlockId::pending())
            .await?
            .is_zero()
        {
            return Ok(false);
        }
        let receipt = send(call).await?;
        Ok(receipt.decoded_log::<TaskManager::TaskStarted>().is_some())
    }

    /// Moves a task past a passed deadline.
    pub async fn cancel(&self, id: U256) -> Result<(), Error> {
        send(self.tasks.cancelTask(id)).await.map(drop)
    }
}

/// `keccak256(score ‖ filesDigest ‖ nonce)`: what a seat, and a juror, commits to.
fn commitment(score: &[u8], files_digest: B256, nonce: B256) -> B256 {
    B256::from(verifier::commitment::result_commitment(
        score,
        &files_digest.0,
        &nonce.0,
    ))
}

/// Whether a failed call is worth retrying: the transport failed, not the contract.
pub fn is_transient(error: &Error) -> bool {
    match error {
        Error::Contract(alloy::contract::Error::TransportError(e)) => e.is_transport_error(),
        Error::Pending(_) => true,
        _ => false,
    }
}
