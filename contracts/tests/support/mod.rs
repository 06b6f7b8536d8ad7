#![allow(
    dead_code,
    reason = "shared by the tests and the gas benchmark, each using a part"
)]

//! Test support: a fresh anvil per test, the contracts deployed on it, and actors (the
//! owner, requesters, nodes) each with its own signing provider.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use contracts::Appeals::AppealsInstance;
use contracts::NodeRegistry::NodeRegistryInstance;
use contracts::TaskManager::{TaskManagerInstance, TaskRequest};
use contracts::{Appeals, Deployments, Error, NodeRegistry, Parameters, Revert, TaskManager};

pub(crate) mod attacks;

pub(crate) const GPU: &str = "NVIDIA GeForce RTX 4090";
pub(crate) const VRAM: u64 = 24;
pub(crate) const SD_MODEL: &str = "crynux-network/stable-diffusion-v1-5";

/// `n` whole CNX in wei.
pub(crate) fn cnx(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

fn anvil_binary() -> PathBuf {
    locate::anvil().unwrap_or_else(|e| panic!("{e}"))
}

/// Gas used per labelled call, over the whole test binary, for the gas report.
static GAS: Mutex<BTreeMap<String, (u64, u64, u64)>> = Mutex::new(BTreeMap::new());

fn record_gas(label: &str, gas: u64) {
    let mut table = GAS.lock().unwrap();
    let entry = table.entry(label.to_owned()).or_insert((u64::MAX, 0, 0));
    entry.0 = entry.0.min(gas);
    entry.1 = entry.1.max(gas);
    entry.2 += 1;
}

/// Prints min/max gas per call recorded so far.
pub(crate) fn print_gas_report() {
    let table = GAS.lock().unwrap();
    println!(
        "{:<34} {:>10} {:>10} {:>6}",
        "gas per call", "min", "max", "calls"
    );
    for (label, (min, max, n)) in table.iter() {
        println!("{label:<34} {min:>10} {max:>10} {n:>6}");
    }
}

/// Sends a call, records its gas under `label`, returns the receipt or the decoded error.
pub(crate) async fn send<P: Provider, D: CallDecoder>(
    label: &str,
    call: CallBuilder<P, D>,
) -> Result<TransactionReceipt, Error> {
    let receipt = contracts::send(call).await?;
    record_gas(label, receipt.gas_used);
    Ok(receipt)
}

/// Asserts that `result` is a revert with a decoded error matching `check`.
#[track_caller]
pub(crate) fn expect_revert<T: std::fmt::Debug>(
    result: Result<T, Error>,
    check: impl FnOnce(&Revert) -> bool,
) {
    match result {
        Err(Error::Reverted(revert)) => assert!(check(&revert), "unexpected revert: {revert}"),
        other => panic!("expected a revert, got {other:?}"),
    }
}

/// An account with its own signing provider and contract handles.
#[derive(Clone)]
pub(crate) struct Actor {
    pub address: Address,
    pub provider: DynProvider,
    pub registry: NodeRegistryInstance<DynProvider>,
    pub tasks: TaskManagerInstance<DynProvider>,
    pub appeals: AppealsInstance<DynProvider>,
}

/// A running anvil with the contracts deployed.
pub(crate) struct Net {
    /// Kept for its lifetime: dropping it kills this test's anvil.
    _anvil: AnvilInstance,
    pub deployments: Deployments,
    /// The relay's receipt key (`relaySigner`): signs [`Net::receipt`]s.
    pub relay: PrivateKeySigner,
    pub owner: Actor,
    /// Accounts 1..: free for tests to use as requesters or nodes.
    pub accounts: Vec<Actor>,
}

impl Net {
    /// Starts anvil (30 accounts), deploys with the default parameters changed by `tweak`.
    pub(crate) async fn start(tweak: impl FnOnce(&mut Parameters)) -> Self {
        Self::with_accounts(30, tweak).await
    }

    /// [`Net::start`] with `accounts` funded accounts (the owner is the first).
    pub(crate) async fn with_accounts(
        accounts: usize,
        tweak: impl FnOnce(&mut Parameters),
    ) -> Self {
        let anvil = Anvil::at(anvil_binary())
            .args(["--accounts", &accounts.to_string()])
            .spawn();
        let url = anvil.endpoint_url();
        let actors: Vec<(Address, DynProvider)> = anvil
            .keys()
            .iter()
            .map(|key| {
                let signer = PrivateKeySigner::from(key.clone());
                let address = signer.address();
                let provider = contracts::connect(url.clone(), signer);
                // anvil mines each transaction at once: look for receipts every 10 ms, not
                // alloy's 250 ms for local nodes.
                provider
                    .client()
                    .set_poll_interval(std::time::Duration::from_millis(10));
                (address, provider)
            })
            .collect();

        let (owner_address, owner_provider) = actors[0].clone();
        let relay = PrivateKeySigner::random();
        let mut params = Parameters::defaults(owner_address);
        params.tasks.relaySigner = relay.address();
        tweak(&mut params);
        let deployments = contracts::deploy(owner_provider.clone(), &anvil.endpoint(), params)
            .await
            .expect("deploy");

        let make = |(address, provider): (Address, DynProvider)| Actor {
            address,
            registry: NodeRegistry::new(deployments.node_registry, provider.clone()),
            tasks: TaskManager::new(deployments.task_manager, provider.clone()),
            appeals: Appeals::new(deployments.appeals, provider.clone()),
            provider,
        };
        let owner = make((owner_address, owner_provider));
        let accounts = actors.into_iter().skip(1).map(make).collect();
        Self {
            _anvil: anvil,
            deployments,
            relay,
            owner,
            accounts,
        }
    }

    /// Joins accounts `range` as nodes with the default GPU and `stake` CNX.
    pub(crate) async fn join_nodes(&self, range: std::ops::Range<usize>, stake: u64) -> Vec<Actor> {
        let mut nodes = Vec::new();
        for i in range {
            let node = self.accounts[i].clone();
            join(&node, GPU, VRAM, stake).await.expect("join");
            nodes.push(node);
        }
        nodes
    }

    /// Moves the chain's clock forward and mines a block.
    pub(crate) async fn advance(&self, seconds: u64) {
        self.owner
            .provider
            .anvil_increase_time(seconds)
            .await
            .expect("increase time");
        self.owner.provider.evm_mine(None).await.expect("mine");
    }

    /// Mines `blocks` empty blocks.
    pub(crate) async fn mine(&self, blocks: u64) {
        self.owner
            .provider
            .anvil_mine(Some(blocks), None)
            .await
            .expect("mine");
    }

    /// The relay's upload receipt for a validated task: its signature over the task's
    /// settled files digest, as the relay gives it once it holds those files.
    pub(crate) async fn receipt(&self, id: U256) -> Bytes {
        let digest = task(self, id).await.resultDigest;
        self.receipt_for(&self.relay, id, digest)
    }

    /// `node` reports task `id`'s upload with the relay's receipt ([`Net::receipt`]).
    pub(crate) async fn upload(&self, node: &Actor, id: U256) -> Result<TransactionReceipt, Error> {
        let receipt = self.receipt(id).await;
        send(
            "TaskManager.reportResultsUploaded",
            node.tasks.reportResultsUploaded(id, receipt),
        )
        .await
    }

    /// A receipt `signer` makes for task `id` and `digest` (the real relay's or a forgery).
    pub(crate) fn receipt_for(&self, signer: &PrivateKeySigner, id: U256, digest: B256) -> Bytes {
        use alloy::signers::SignerSync as _;
        let hash = verifier::commitment::upload_receipt_hash(
            self.deployments.chain_id,
            &self.deployments.task_manager.0.0,
            &id.to_be_bytes::<32>(),
            &digest.0,
        );
        let signature = signer.sign_message_sync(&hash).expect("sign");
        Bytes::from(signature.as_bytes().to_vec())
    }

    /// Finds the actor with this address.
    pub(crate) fn actor(&self, address: Address) -> Actor {
        self.accounts
            .iter()
            .find(|a| a.address == address)
            .cloned()
            .expect("known actor")
    }
}

pub(crate) async fn join(
    node: &Actor,
    gpu: &str,
    vram: u64,
    stake: u64,
) -> Result<TransactionReceipt, Error> {
    send(
        "NodeRegistry.join",
        node.registry
            .join(gpu.to_owned(), vram, [1, 0, 0], vec![SD_MODEL.to_owned()])
            .value(cnx(stake)),
    )
    .await
}

/// An SD task request for one image on any GPU with at least 8 GB.
pub(crate) fn sd_request(args: &[u8]) -> TaskRequest {
    TaskRequest {
        taskType: 0,
        taskHash: B256::from(verifier::commitment::task_hash(args)),
        modelIds: vec![SD_MODEL.to_owned()],
        minVram: 8,
        gpuName: String::new(),
        gpuVram: 0,
        version: [1, 0, 0],
        size: 1,
    }
}

/// A requester's secret for task number `n` of a test.
pub(crate) fn secret(n: u64) -> B256 {
    keccak256(format!("requester secret {n}"))
}

/// Creates a task and returns its id (the seed is not revealed yet).
pub(crate) async fn create(
    requester: &Actor,
    request: TaskRequest,
    fee: U256,
    secret: B256,
) -> Result<U256, Error> {
    let receipt = send(
        "TaskManager.createTask",
        requester
            .tasks
            .createTask(request, seed_commitment(secret))
            .value(fee),
    )
    .await?;
    let created = receipt
        .decoded_log::<TaskManager::TaskCreated>()
        .expect("TaskCreated event");
    Ok(created.taskId)
}

/// Creates a task and reveals its seed in the next block; returns its id.
pub(crate) async fn create_and_start(
    requester: &Actor,
    request: TaskRequest,
    fee: U256,
    n: u64,
) -> U256 {
    let id = create(requester, request, fee, secret(n))
        .await
        .expect("createTask");
    send(
        "TaskManager.revealSeed",
        requester.tasks.revealSeed(id, secret(n)),
    )
    .await
    .expect("revealSeed");
    id
}

pub(crate) async fn task(net: &Net, id: U256) -> TaskManager::Task {
    net.owner.tasks.getTask(id).call().await.expect("getTask")
}

pub(crate) async fn node_info(net: &Net, node: Address) -> NodeRegistry::NodeInfo {
    net.owner
        .registry
        .getNode(node)
        .call()
        .await
        .expect("getNode")
}

/// The three actors seated on a task, in seat order.
pub(crate) async fn seated(net: &Net, id: U256) -> [Actor; 3] {
    let t = task(net, id).await;
    t.seats.map(|s| net.actor(s.node))
}

/// The digest of the result files a test node "produced" for `score`: the files digest of
/// one file whose bytes are the score (any deterministic stand-in works for the chain).
pub(crate) fn files_digest(score: &[u8]) -> B256 {
    B256::from(verifier::digest::files_digest(&[verifier::digest::sha256(
        score,
    )]))
}

/// `keccak256(abi.encodePacked(score, filesDigest, nonce))`, a seat's commitment, as the
/// `verifier` crate (what nodes and browsers use) computes it.
pub(crate) fn commitment(score: &[u8], nonce: B256) -> B256 {
    B256::from(verifier::commitment::result_commitment(
        score,
        &files_digest(score).0,
        &nonce.0,
    ))
}

/// The requester's seed commitment: `keccak256(secret)`.
pub(crate) fn seed_commitment(secret: B256) -> B256 {
    B256::from(verifier::commitment::keccak256(secret))
}

pub(crate) fn nonce(tag: u64) -> B256 {
    keccak256(format!("nonce {tag}"))
}

pub(crate) async fn commit(
    node: &Actor,
    id: U256,
    score: &[u8],
    nonce: B256,
) -> Result<TransactionReceipt, Error> {
    send(
        "TaskManager.submitCommitment",
        node.tasks
            .submitCommitment(id, commitment(score, nonce), nonce),
    )
    .await
}

pub(crate) async fn reveal(
    node: &Actor,
    id: U256,
    score: &[u8],
) -> Result<TransactionReceipt, Error> {
    send(
        "TaskManager.revealResult",
        node.tasks
            .revealResult(id, Bytes::copy_from_slice(score), files_digest(score)),
    )
    .await
}

/// Native balance of an account.
pub(crate) async fn balance(net: &Net, who: Address) -> U256 {
    net.owner.provider.get_balance(who).await.expect("balance")
}

/// Commits `scores[i]` for seat `i` (None: the seat stays silent) in seat order.
pub(crate) async fn commit_all(nodes: &[Actor; 3], id: U256, scores: [Option<&[u8]>; 3]) {
    for (i, score) in scores.iter().enumerate() {
        if let Some(score) = score {
            commit(&nodes[i], id, score, nonce(i as u64))
                .await
                .expect("commit");
        }
    }
}

/// Reveals `scores[i]` for seat `i` (None: the seat does not reveal) in seat order.
pub(crate) async fn reveal_all(nodes: &[Actor; 3], id: U256, scores: [Option<&[u8]>; 3]) {
    for (i, score) in scores.iter().enumerate() {
        if let Some(score) = score {
            reveal(&nodes[i], id, score).await.expect("reveal");
        }
    }
}

/// `appellant` appeals task `id` with the bond the contract asks, committing to `secret`.
pub(crate) async fn appeal(
    net: &Net,
    appellant: &Actor,
    id: U256,
    secret: B256,
) -> Result<U256, Error> {
    let bond = net.owner.appeals.bondFor(id).call().await.expect("bondFor");
    send(
        "Appeals.appeal",
        appellant
            .appeals
            .appeal(id, seed_commitment(secret))
            .value(bond),
    )
    .await?;
    Ok(bond)
}

/// `who` reveals the appellant's secret and draws the jury; true when it was drawn.
pub(crate) async fn draw_jury(who: &Actor, id: U256, secret: B256) -> Result<bool, Error> {
    let receipt = send("Appeals.drawJury", who.appeals.drawJury(id, secret)).await?;
    Ok(receipt.decoded_log::<Appeals::JuryStarted>().is_some())
}

pub(crate) async fn appeal_of(net: &Net, id: U256) -> Appeals::Appeal {
    net.owner
        .appeals
        .getAppeal(id)
        .call()
        .await
        .expect("getAppeal")
}

/// The actors drawn as jurors of task `id`'s appeal, in draw order.
pub(crate) async fn jurors(net: &Net, id: U256) -> Vec<Actor> {
    appeal_of(net, id)
        .await
        .jurors
        .iter()
        .map(|j| net.actor(j.node))
        .collect()
}

/// Jurors commit `scores[i]` (None: silent), nonces distinct from the seats'.
pub(crate) async fn jury_commit_all(jurors: &[Actor], id: U256, scores: &[Option<&[u8]>]) {
    for (i, (juror, score)) in jurors.iter().zip(scores).enumerate() {
        if let Some(score) = score {
            let nonce = nonce(100 + i as u64);
            send(
                "Appeals.submitJuryCommitment",
                juror
                    .appeals
                    .submitJuryCommitment(id, commitment(score, nonce), nonce),
            )
            .await
            .expect("jury commit");
        }
    }
}

/// Jurors reveal `scores[i]` (None: no reveal).
pub(crate) async fn jury_reveal_all(jurors: &[Actor], id: U256, scores: &[Option<&[u8]>]) {
    for (juror, score) in jurors.iter().zip(scores) {
        if let Some(score) = score {
            send(
                "Appeals.revealJuryResult",
                juror.appeals.revealJuryResult(
                    id,
                    Bytes::copy_from_slice(score),
                    files_digest(score),
                ),
            )
            .await
            .expect("jury reveal");
        }
    }
}

/// What the appeals contract credited to `who`.
pub(crate) async fn claimable(net: &Net, who: Address) -> U256 {
    net.owner
        .appeals
        .claimable(who)
        .call()
        .await
        .expect("claimable")
}
