//! Paying for a task and handing it to the network: create, reveal, upload.

use std::future::Future;

use alloy::eips::BlockId;
use alloy::network::TransactionBuilder as _;
use alloy::primitives::{B256, Bytes, U256};
use alloy::providers::Provider as _;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::SolCall as _;
use contracts::Revert;
use contracts::TaskManager::{self, TaskManagerErrors, TaskState};
use contracts::requests;
use serde::{Deserialize, Serialize};

use crate::{Call, Error, Order, Requester, Wallet};

/// What the requester needs from where it runs.
pub trait Host {
    /// Resolves after `ms` milliseconds.
    fn sleep(&self, ms: u64) -> impl Future<Output = ()>;

    /// Keeps `pending` durably (it replaces an earlier record of the same task hash): a
    /// paid task whose secret is lost can never be drawn. Called before anything is paid.
    fn keep(&self, pending: &Pending) -> Result<(), String>;

    /// Forgets the record of the task with this hash: it needs nothing more.
    fn forget(&self, task_hash: B256);
}

/// What a requester keeps about a task it created until the arguments are on the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The draw's secret (committed to by hash in `createTask`).
    pub secret: B256,
    /// The argument bytes, as UTF-8 JSON.
    pub args: String,
    /// keccak256 of the arguments.
    pub task_hash: B256,
    /// The task id, once created.
    pub id: Option<U256>,
    /// The creation block, once created.
    pub block: Option<u64>,
    /// Whether the seed was revealed.
    pub revealed: bool,
    /// Whether the results are private ([`Order::private`]); absent from records kept
    /// before there was a choice, which read as public.
    #[serde(default)]
    pub private: bool,
}

/// Where a submission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Checking the balance and simulating `createTask`.
    Checking,
    /// Waiting for the wallet to sign `createTask`.
    Creating,
    /// Waiting for `createTask` to be mined.
    Mining,
    /// Revealing the seed: the contract draws the nodes.
    Revealing,
    /// Uploading the arguments (the wallet signs the relay request).
    Uploading,
}

impl Step {
    /// In words, for people.
    pub fn words(self) -> &'static str {
        match self {
            Self::Checking => "Checking balance and simulating the transaction…",
            Self::Creating => "Confirm the payment in your wallet…",
            Self::Mining => "Waiting for the task to be created on chain…",
            Self::Revealing => "Revealing the seed: the contract draws three nodes…",
            Self::Uploading => "Sending the arguments to the relay (sign the request)…",
        }
    }
}

/// How long to retry a reveal the chain says is too early.
const REVEAL_LIMIT_MS: u64 = 120_000;
/// How long to retry an upload while the relay catches up with the chain.
const UPLOAD_LIMIT_MS: u64 = 60_000;
const POLL_MS: u64 = 300;

impl<W: Wallet, H: Host> Requester<W, H> {
    /// Creates the task, reveals its seed and uploads its arguments. On failure after the
    /// task is on chain the error comes with its id, and [`Requester::finish`] completes it
    /// from the record the host kept.
    pub async fn submit(
        &self,
        order: &Order,
        progress: impl Fn(Step),
    ) -> Result<U256, (Option<U256>, Error)> {
        let fail = |e| (None, e);
        progress(Step::Checking);
        let from = self.wallet.address();
        let balance = self.reader.balance(from).await.map_err(fail)?;
        if balance < order.fee {
            return Err(fail(Error::InsufficientFunds {
                address: from.to_string(),
                balance,
                fee: order.fee,
            }));
        }
        let secret = requests::new_secret();
        let data = TaskManager::createTaskCall {
            request: order.request.clone(),
            seedCommitment: requests::seed_commitment(secret),
        }
        .abi_encode();
        let call = self.prepare(data.into(), order.fee).await.map_err(fail)?;
        let mut pending = Pending {
            secret,
            args: String::from_utf8_lossy(&order.args).into_owned(),
            task_hash: order.task_hash(),
            id: None,
            block: None,
            revealed: false,
            private: order.private,
        };
        // Kept before paying: an interruption between payment and receipt can still find
        // the task.
        self.host.keep(&pending).map_err(|e| fail(Error::Keep(e)))?;
        progress(Step::Creating);
        let hash = match self.wallet.send(call).await {
            Ok(hash) => hash,
            Err(e) => {
                self.host.forget(pending.task_hash);
                return Err(fail(e));
            }
        };
        progress(Step::Mining);
        let receipt = self.receipt(hash).await.map_err(fail)?;
        let created = receipt
            .decoded_log::<TaskManager::TaskCreated>()
            .ok_or_else(|| fail(contracts::Error::MissingEvent("TaskCreated").into()))?;
        let id = created.taskId;
        pending.id = Some(id);
        pending.block = receipt.block_number;
        self.host
            .keep(&pending)
            .map_err(|e| (Some(id), Error::Keep(e)))?;
        self.finish(pending, &progress)
            .await
            .map_err(|e| (Some(id), e))?;
        Ok(id)
    }

    /// Finishes a task this requester created: reveals the seed if the chain still waits
    /// for it, then uploads the arguments, and forgets the record. Safe to call again.
    pub async fn finish(&self, mut pending: Pending, progress: impl Fn(Step)) -> Result<(), Error> {
        let id = pending
            .id
            .ok_or_else(|| Error::Keep("the task was never created (no id was kept)".into()))?;
        let task = self.reader.task(id).await?;
        if task.creator != self.wallet.address() {
            return Err(Error::NotCreator {
                id,
                creator: task.creator,
            });
        }
        if task.state == TaskState::WAITING_SEED {
            progress(Step::Revealing);
            self.reveal(id, pending.secret, pending.block.unwrap_or(0))
                .await?;
        }
        pending.revealed = true;
        self.host.keep(&pending).map_err(Error::Keep)?;
        if task.state == TaskState::ABORTED {
            self.host.forget(pending.task_hash);
            return Ok(());
        }
        progress(Step::Uploading);
        let mut waited = 0;
        loop {
            match self
                .reader
                .relay
                .put_args(&self.wallet, id, pending.args.as_bytes(), pending.private)
                .await
            {
                Ok(_) => break,
                // The relay follows the chain and may not have seen the task yet.
                Err(e) if e.is_transient() && waited < UPLOAD_LIMIT_MS => {
                    self.host.sleep(POLL_MS).await;
                    waited += POLL_MS;
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.host.forget(pending.task_hash);
        Ok(())
    }

    /// Sends `revealSeed`, which must land in a block after the creation block: on a chain
    /// with a block time that means waiting for one; a chain that still says
    /// `SeedTooEarly` is asked again until [`REVEAL_LIMIT_MS`].
    async fn reveal(&self, id: U256, secret: B256, created_block: u64) -> Result<(), Error> {
        let data: Bytes = TaskManager::revealSeedCall { taskId: id, secret }
            .abi_encode()
            .into();
        // On an automining devnet no block comes until something is sent, and a
        // transaction sent now lands in a later block anyway: wait only a little.
        for _ in 0..10 {
            if self.reader.block_number().await? > created_block {
                break;
            }
            self.host.sleep(POLL_MS).await;
        }
        let mut waited = 0;
        let call = loop {
            match self.prepare(data.clone(), U256::ZERO).await {
                Ok(call) => break call,
                Err(e)
                    if matches!(
                        e.revert(),
                        Some(Revert::Tasks(TaskManagerErrors::SeedTooEarly(_)))
                    ) && waited < REVEAL_LIMIT_MS =>
                {
                    self.host.sleep(POLL_MS).await;
                    waited += POLL_MS;
                }
                Err(e) => return Err(e),
            }
        };
        let hash = self.wallet.send(call).await?;
        self.receipt(hash).await.map(drop)
    }

    /// Simulates a call to the task manager against the pending block, as a wallet would
    /// send it, so that a revert is decoded and explained before anything is signed; the
    /// gas limit is the estimate and half again (the state may move before the call lands:
    /// a draw walks more nodes, a reveal settles), gas not used is not charged.
    async fn prepare(&self, data: Bytes, value: U256) -> Result<Call, Error> {
        let to = self.reader.network().task_manager;
        let tx = TransactionRequest::default()
            .with_from(self.wallet.address())
            .with_to(to)
            .with_input(data.clone())
            .with_value(value);
        let estimate = self
            .reader
            .provider()
            .estimate_gas(tx)
            .block(BlockId::pending())
            .await
            .map_err(contracts::Error::from)?;
        Ok(Call {
            to,
            data,
            value,
            gas: Some(estimate.saturating_add(estimate / 2)),
        })
    }

    /// Waits for a transaction's receipt; a mined but reverted transaction is an error.
    pub async fn receipt(&self, hash: B256) -> Result<TransactionReceipt, Error> {
        self.reader.receipt(hash, &self.host).await
    }
}
