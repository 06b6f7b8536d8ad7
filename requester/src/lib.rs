//! The requester's side of a task, written once for every requester: the web app, the
//! `devnet task` command line and the end-to-end tests.
//!
//! - [`Requester::order`] turns task arguments (any SD or LLM arguments file) into an
//!   [`Order`]: the exact bytes, the on-chain request and the fee.
//! - [`Requester::submit`] pays for it: `createTask` with a fresh secret committed, the secret
//!   revealed in a later block (the draw), the arguments uploaded to the relay, each step
//!   retried while the chain or the relay catches up. What a paid task needs is kept by the
//!   [`Host`] before anything is paid ([`Pending`]), so [`Requester::finish`] completes a task
//!   an interruption left half-submitted.
//! - [`Requester::wait`] follows the task to a final state; [`Reader::chain_record`],
//!   [`Requester::results`] and [`Requester::verify`] check what came back against the
//!   chain, trusting nothing the relay says.
//!
//! Where it runs differs only in its [`Wallet`] (a browser wallet, or a [`LocalWallet`]
//! holding a key) and its [`Host`] (timers, and where a pending task is kept). Reverts are
//! matched by their decoded type ([`contracts::Revert`]), never by text.

mod error;
mod order;
pub mod progress;
pub mod record;
mod submit;
mod wallet;

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider as _};
use contracts::TaskManager::{self, TaskManagerInstance, TaskState};
use relay_client::RelayClient;
use verifier::report::{self, ChainRecord, Report};

pub use error::{Error, WalletError};
pub use order::Order;
pub use progress::Steps;
pub use submit::{Host, Pending, Step};
pub use wallet::{Call, LocalWallet, Wallet};

/// Where the network is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// JSON-RPC endpoint reads go through.
    pub rpc_url: String,
    /// The relay's base URL.
    pub relay_url: String,
    /// The `NodeRegistry` contract.
    pub node_registry: Address,
    /// The `TaskManager` contract.
    pub task_manager: Address,
    /// The `Appeals` contract (a jury may overturn a settled result).
    pub appeals: Address,
    /// The block the contracts were deployed in: log queries start there.
    pub deployment_block: u64,
}

/// What [`Requester::wait`] saw change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The task entered this state.
    State(u8),
    /// Its seats reported these steps.
    Steps(Steps),
}

/// A task as a list of recent tasks shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentTask {
    /// Its id.
    pub id: U256,
    /// 0 SD, 1 LLM.
    pub task_type: u8,
    /// Its fee (wei).
    pub fee: U256,
    /// Creation block.
    pub block: u64,
    /// Creation time (Unix seconds), when the endpoint returned the block.
    pub time: Option<u64>,
    /// Current state (`TaskState`).
    pub state: u8,
}

/// Blocks per `eth_getLogs` query when reading a task's history.
const LOG_RANGE: u64 = 10_000;

/// The network's chain, read: what anyone can see about a task, no wallet needed.
#[derive(Clone)]
pub struct Reader {
    network: Network,
    provider: DynProvider,
    /// The network's relay, for what anyone may read (one client, so polls reuse its
    /// connections).
    relay: RelayClient,
}

impl Reader {
    /// A reader of `network`'s chain over its JSON-RPC endpoint.
    pub fn new(network: Network) -> Result<Self, Error> {
        let url = network
            .rpc_url
            .parse()
            .map_err(|e| Error::BadUrl(format!("RPC URL `{}`: {e}", network.rpc_url)))?;
        Ok(Self {
            provider: contracts::read_only(url),
            relay: RelayClient::new(&network.relay_url, network.chain_id)?,
            network,
        })
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The provider reads go through.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    fn tasks(&self) -> TaskManagerInstance<&DynProvider> {
        TaskManager::new(self.network.task_manager, &self.provider)
    }

    /// `getTask(id)`.
    pub async fn task(&self, id: U256) -> Result<TaskManager::Task, Error> {
        Ok(self
            .tasks()
            .getTask(id)
            .call()
            .await
            .map_err(contracts::Error::from)?)
    }

    /// The task manager's parameters (`similarityThreshold`, timeouts, …).
    pub async fn params(&self) -> Result<TaskManager::Params, Error> {
        Ok(self
            .tasks()
            .getParams()
            .call()
            .await
            .map_err(contracts::Error::from)?)
    }

    /// The `count` tasks created last, newest first, read by id (ids run from 1 to the
    /// number created): no log query, so no endpoint's log-range cap applies.
    pub async fn recent_tasks(&self, count: usize) -> Result<Vec<RecentTask>, Error> {
        let created = self
            .tasks()
            .getStats()
            .call()
            .await
            .map_err(contracts::Error::from)?
            .created;
        let oldest = created.saturating_sub(U256::from(count));
        let mut out = Vec::with_capacity(count);
        let mut id = created;
        while id > oldest {
            let task = self.task(id).await?;
            let time = self
                .provider
                .get_block_by_number(task.createdBlock.into())
                .await
                .map_err(contracts::Error::from)?
                .map(|b| b.header.timestamp);
            out.push(RecentTask {
                id,
                task_type: task.request.taskType,
                fee: task.fee,
                block: task.createdBlock,
                time,
                state: task.state,
            });
            id -= U256::ONE;
        }
        Ok(out)
    }

    /// Anyone's check of a public task, no wallet needed: its result files downloaded
    /// unsigned from the network's relay, then checked against the chain as the creator's
    /// [`Requester::verify`] checks them. A private task's relay answers
    /// `private_results`.
    pub async fn verify_public(&self, id: U256) -> Result<(Report, Vec<(String, Vec<u8>)>), Error> {
        let (_, chain) = self.chain_record(id).await?;
        let files = self.public_results(id, |_, _, _| {}).await?;
        Ok((report_of(&chain, &files), files))
    }

    /// What task `id`'s `seats` seats told the relay of their progress ([`Steps`]): a
    /// node's word, for people; `None` before any seat reported.
    pub async fn steps(&self, id: U256, seats: usize) -> Result<Option<Steps>, Error> {
        Ok(Steps::of(&self.relay.progress(id).await?, seats))
    }

    /// A public task's result files, downloaded unsigned from the network's relay, in its
    /// order; `progress(name, i, n)` is told before each. Nothing is checked here.
    pub async fn public_results(
        &self,
        id: U256,
        mut progress: impl FnMut(&str, usize, usize),
    ) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let listing = self.relay.public_results(id).await?;
        let count = listing.results.files.len();
        let mut files = Vec::with_capacity(count);
        for (i, file) in listing.results.files.iter().enumerate() {
            progress(&file.name, i, count);
            files.push((
                file.name.clone(),
                self.relay.public_result_file(id, &file.name).await?,
            ));
        }
        Ok(files)
    }

    /// What each task meant for `node`: its reward, the stake it lost and how its seat
    /// ended ([`contracts::history::node_ledger`]), in bounded log ranges.
    pub async fn node_ledger(
        &self,
        node: Address,
    ) -> Result<Vec<contracts::history::LedgerLine>, Error> {
        Ok(contracts::history::node_ledger(
            &self.provider,
            self.network.task_manager,
            node,
            self.network.deployment_block,
            LOG_RANGE,
        )
        .await?)
    }

    /// `node`'s QoS and health after each of its tasks
    /// ([`contracts::history::node_standing`]), in bounded log ranges.
    pub async fn node_standing(
        &self,
        node: Address,
    ) -> Result<Vec<contracts::history::StandingPoint>, Error> {
        Ok(contracts::history::node_standing(
            &self.provider,
            self.network.node_registry,
            node,
            self.network.deployment_block,
            LOG_RANGE,
        )
        .await?)
    }

    /// Every event of task `id`, in chain order: logs from the task's creation block on
    /// (from the deployment block for an id the chain does not know), in bounded ranges.
    pub async fn history(&self, id: U256) -> Result<Vec<contracts::history::Entry>, Error> {
        let created = self.task(id).await.map(|t| t.createdBlock).unwrap_or(0);
        Ok(contracts::history::task_history(
            &self.provider,
            self.network.task_manager,
            created.max(self.network.deployment_block),
            id,
            LOG_RANGE,
        )
        .await?)
    }

    /// The state of task `id`'s appeal (`AppealState::NONE` when it has none).
    pub async fn appeal_state(&self, id: U256) -> Result<u8, Error> {
        Ok(
            contracts::Appeals::new(self.network.appeals, &self.provider)
                .getAppeal(id)
                .call()
                .await
                .map_err(contracts::Error::from)?
                .state,
        )
    }

    /// What the chain says about task `id`, as a verification report needs it.
    pub async fn chain_record(&self, id: U256) -> Result<(TaskManager::Task, ChainRecord), Error> {
        let task = self.task(id).await?;
        let params = self.params().await?;
        let appeal = self.appeal_state(id).await?;
        let record = record::chain_record(&task, params.similarityThreshold, appeal);
        Ok((task, record))
    }

    /// The GPU group (name, VRAM) an LLM task goes to ([`record::llm_group`]): LLM
    /// results must be equal, so all seats share a group.
    pub async fn llm_group(&self) -> Result<Option<(String, u64)>, Error> {
        let registry = contracts::NodeRegistry::new(self.network.node_registry, &self.provider);
        let groups = registry
            .getGpuGroups()
            .call()
            .await
            .map_err(contracts::Error::from)?;
        Ok(record::llm_group(&groups))
    }

    /// An account's balance, in wei.
    pub async fn balance(&self, address: Address) -> Result<U256, Error> {
        Ok(self
            .provider
            .get_balance(address)
            .await
            .map_err(contracts::Error::from)?)
    }

    /// Waits for a transaction's receipt, polling with `host`'s timer; a mined but
    /// reverted transaction is an error.
    pub async fn receipt(
        &self,
        hash: alloy::primitives::B256,
        host: &impl Host,
    ) -> Result<alloy::rpc::types::TransactionReceipt, Error> {
        const POLL_MS: u64 = 300;
        const LIMIT_MS: u64 = 180_000;
        let mut waited = 0;
        loop {
            if let Some(receipt) = self
                .provider
                .get_transaction_receipt(hash)
                .await
                .map_err(contracts::Error::from)?
            {
                if !receipt.status() {
                    return Err(Error::Failed(hash));
                }
                return Ok(receipt);
            }
            if waited >= LIMIT_MS {
                return Err(Error::TimedOut(format!(
                    "transaction {hash} was not mined within {} s",
                    LIMIT_MS / 1000
                )));
            }
            host.sleep(POLL_MS).await;
            waited += POLL_MS;
        }
    }

    /// The latest block's number.
    pub async fn block_number(&self) -> Result<u64, Error> {
        Ok(self
            .provider
            .get_block_number()
            .await
            .map_err(contracts::Error::from)?)
    }
}

/// A requester: a wallet on a network, on some platform.
pub struct Requester<W, H> {
    reader: Reader,
    wallet: W,
    host: H,
}

impl<W: Wallet, H: Host> Requester<W, H> {
    /// A requester paying and signing with `wallet` on `network`.
    pub fn new(network: Network, wallet: W, host: H) -> Result<Self, Error> {
        Ok(Self {
            reader: Reader::new(network)?,
            wallet,
            host,
        })
    }

    /// The chain, read.
    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    /// The wallet.
    pub fn wallet(&self) -> &W {
        &self.wallet
    }

    /// The platform.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// The relay's client.
    pub fn relay(&self) -> &RelayClient {
        &self.reader.relay
    }

    /// Polls task `id` until it succeeds or aborts, telling `on_change` each state it sees
    /// and, while its seats run it, each step they report; [`Error::TimedOut`] after
    /// `limit_ms`.
    pub async fn wait(
        &self,
        id: U256,
        limit_ms: u64,
        mut on_change: impl FnMut(Seen),
    ) -> Result<TaskManager::Task, Error> {
        const POLL_MS: u64 = 200;
        /// Progress is read every fifth poll.
        const PROGRESS_EVERY: u64 = 5;
        let mut last = None;
        let mut last_steps = None;
        let mut waited = 0;
        loop {
            let task = self.reader.task(id).await?;
            if last != Some(task.state) {
                last = Some(task.state);
                on_change(Seen::State(task.state));
            }
            if task.state == TaskState::RUNNING
                && (waited / POLL_MS).is_multiple_of(PROGRESS_EVERY)
                && let Ok(Some(steps)) = self.reader.steps(id, task.seats.len()).await
                && last_steps != Some(steps)
            {
                last_steps = Some(steps);
                on_change(Seen::Steps(steps));
            }
            if record::is_final(task.state) {
                return Ok(task);
            }
            if waited >= limit_ms {
                return Err(Error::TimedOut(format!(
                    "task {id} is still {} after {} s",
                    TaskState::name(task.state),
                    limit_ms / 1000
                )));
            }
            self.host.sleep(POLL_MS).await;
            waited += POLL_MS;
        }
    }

    /// The task's result files as the relay serves them (the requests signed by the
    /// wallet), in the relay's order; `progress(name, i, n)` is told before each download.
    /// Nothing here is checked yet: see [`Requester::verify`].
    pub async fn results(
        &self,
        id: U256,
        mut progress: impl FnMut(&str, usize, usize),
    ) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let listing = self.reader.relay.results(&self.wallet, id).await?;
        let count = listing.results.files.len();
        let mut files = Vec::with_capacity(count);
        for (i, file) in listing.results.files.iter().enumerate() {
            progress(&file.name, i, count);
            let bytes = self
                .reader
                .relay
                .result_file(&self.wallet, id, &file.name)
                .await?;
            files.push((file.name.clone(), bytes));
        }
        Ok(files)
    }

    /// Downloads task `id`'s results and checks each file against the chain: its hash
    /// recomputed here, every commitment reopened. Returns the report and the files. (The
    /// app hashes in web workers instead: it calls [`Reader::chain_record`] and
    /// [`Requester::results`] and assembles the report itself.)
    pub async fn verify(&self, id: U256) -> Result<(Report, Vec<(String, Vec<u8>)>), Error> {
        let (_, chain) = self.reader.chain_record(id).await?;
        let files = self.results(id, |_, _, _| {}).await?;
        Ok((report_of(&chain, &files), files))
    }

    /// The history of task `id` ([`Reader::history`]).
    pub async fn history(&self, id: U256) -> Result<Vec<contracts::history::Entry>, Error> {
        self.reader.history(id).await
    }
}

/// The verification report of `files` against the chain's record of their task.
fn report_of(chain: &ChainRecord, files: &[(String, Vec<u8>)]) -> Report {
    let hashed: Vec<_> = files
        .iter()
        .map(|(name, bytes)| report::ReturnedFile::hash(chain.kind, name, bytes))
        .collect();
    report::assemble(chain, &hashed)
}
