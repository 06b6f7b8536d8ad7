//! The attacks of the protocol review, each tried on a fresh anvil. Every scenario returns
//! what it measured; `tests/attacks.rs` asserts the attack failed and `benches/attacks.rs`
//! prints one row per attack (what it tried, what it cost the attacker, what it got, what
//! honest parties lost).

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider as _;
use contracts::TaskManager::TaskState;

use super::*;

/// A valid one-image score every honest seat of these scenarios reveals.
const SCORE: [u8; 8] = [0x22, 0x2b, 0x2a, 0xe9, 0x89, 0x36, 0x44, 0xc2];

/// One row of the attack table.
pub(crate) struct Row {
    pub attack: &'static str,
    pub tried: String,
    pub cost: String,
    pub got: String,
    pub honest_lost: String,
}

/// Prints rows as a table.
pub(crate) fn print_rows(rows: &[Row]) {
    for row in rows {
        println!("attack: {}", row.attack);
        println!("  tried:       {}", row.tried);
        println!("  cost:        {}", row.cost);
        println!("  got:         {}", row.got);
        println!("  honest lost: {}", row.honest_lost);
    }
}

/// `wei` as CNX with 4 decimals.
pub(crate) fn cnx_text(wei: U256) -> String {
    let milli = wei / U256::from(10u64).pow(U256::from(14u64));
    let milli: u128 = milli.to();
    format!("{}.{:04} CNX", milli / 10_000, milli % 10_000)
}

async fn tasks_withdrawable(net: &Net, who: Address) -> U256 {
    net.owner
        .tasks
        .withdrawable(who)
        .call()
        .await
        .expect("withdrawable")
}

/// The task ids queued now.
async fn queue(net: &Net) -> Vec<U256> {
    net.owner.tasks.getQueue().call().await.expect("queue")
}

/// A node's stake, bonded or unbonding (a slash below the minimum makes it quit, moving
/// what is left to unbonding: that part is not lost).
async fn stake_of(net: &Net, who: Address) -> U256 {
    let info = node_info(net, who).await;
    info.stake + info.unbondingAmount
}

/// Gas of the settlement calls an honest task makes while the queue is full of tasks no
/// node can start, and what happened to both sides' money.
pub(crate) struct QueueFreeze {
    pub honest_nodes: usize,
    pub queued: usize,
    pub model_ids: usize,
    /// Worst gas per call label over the honest tasks.
    pub worst_gas: BTreeMap<&'static str, u64>,
    pub block_gas_limit: u64,
    /// Gas the attacker spent creating and queueing its tasks.
    pub attacker_gas: u64,
    pub attacker_fees: U256,
    /// Refunded to the attacker once its tasks expired.
    pub attacker_refunded: U256,
    /// Queue length once the tasks expired and the queue was processed.
    pub queue_after_expiry: usize,
    /// Tasks the honest requester created and that succeeded.
    pub honest_succeeded: usize,
    pub honest_tasks: usize,
    /// Stake the nodes that followed the protocol lost.
    pub honest_stake_lost: U256,
}

impl QueueFreeze {
    pub(crate) fn row(&self) -> Row {
        let gas: Vec<String> = self
            .worst_gas
            .iter()
            .map(|(label, gas)| format!("{label} {:.2} M", *gas as f64 / 1e6))
            .collect();
        Row {
            attack: "1. queue that freezes every settlement",
            tried: format!(
                "{} unstartable tasks queued (a version only its paused Sybils claim, {} model ids of 128 B each, best fee per unit) beside {} honest nodes",
                self.queued, self.model_ids, self.honest_nodes
            ),
            cost: format!(
                "{:.1} M gas; {} locked until expiry, then refunded",
                self.attacker_gas as f64 / 1e6,
                cnx_text(self.attacker_fees)
            ),
            got: format!(
                "honest settlement stays bounded: worst {} (block limit {:.0} M); queue {} after expiry",
                gas.join(", "),
                self.block_gas_limit as f64 / 1e6,
                self.queue_after_expiry
            ),
            honest_lost: format!(
                "{} of {} honest tasks succeeded; stake lost {}",
                self.honest_succeeded,
                self.honest_tasks,
                cnx_text(self.honest_stake_lost)
            ),
        }
    }
}

/// Attack 1: fill the queue with tasks no free node can start, each naming as many
/// models as allowed, and see what an honest task's settlement costs.
pub(crate) async fn queue_freeze() -> QueueFreeze {
    const HONEST: usize = 150;
    const SYBILS: usize = 5;
    let net = Net::with_accounts(HONEST + SYBILS + 10, |_| {}).await;
    let honest = net.join_nodes(1..HONEST + 1, 400).await;
    let sybils = net.join_nodes(HONEST + 1..HONEST + SYBILS + 1, 400).await;
    for s in &sybils {
        send("updateVersion", s.registry.updateVersion([1, 9, 9]))
            .await
            .expect("updateVersion");
    }
    let attacker = net.accounts[HONEST + SYBILS + 2].clone();
    let requester = net.accounts[HONEST + SYBILS + 3].clone();
    let params = net.owner.tasks.getParams().call().await.expect("params");
    let queue_size = params.maxQueueSize as usize;
    let max_models: usize = net
        .owner
        .tasks
        .MAX_MODEL_IDS()
        .call()
        .await
        .expect("MAX_MODEL_IDS")
        .to();

    let mut request = sd_request(b"unstartable");
    request.version = [1, 9, 9];
    request.modelIds = (0..max_models).map(|i| format!("{i:0>128}")).collect();
    let fee = cnx(1);
    let mut attacker_gas = 0;
    let mut ids = Vec::new();
    for n in 0..queue_size as u64 {
        let receipt = send(
            "attack.createTask",
            attacker
                .tasks
                .createTask(request.clone(), seed_commitment(secret(1000 + n)))
                .value(fee),
        )
        .await
        .expect("create");
        attacker_gas += receipt.gas_used;
        ids.push(
            receipt
                .decoded_log::<contracts::TaskManager::TaskCreated>()
                .expect("TaskCreated")
                .taskId,
        );
    }
    for s in &sybils {
        attacker_gas += send("pause", s.registry.pause())
            .await
            .expect("pause")
            .gas_used;
    }
    for (n, id) in ids.iter().enumerate() {
        attacker_gas += send(
            "attack.revealSeed",
            attacker.tasks.revealSeed(*id, secret(1000 + n as u64)),
        )
        .await
        .expect("reveal")
        .gas_used;
    }
    let queued = queue(&net).await.len();

    // Honest tasks through every settlement path while the queue is full.
    let mut worst: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut note = |label: &'static str, gas: u64| {
        let e = worst.entry(label).or_default();
        *e = (*e).max(gas);
    };
    let stakes_before: Vec<U256> = {
        let mut v = Vec::new();
        for h in &honest {
            v.push(stake_of(&net, h.address).await);
        }
        v
    };
    let mut honest_tasks = 0;
    let mut honest_succeeded = 0;
    // A task that settles and uploads.
    for round in 0..2u64 {
        let id = create(&requester, sd_request(b"{}"), cnx(1), secret(round))
            .await
            .expect("create");
        honest_tasks += 1;
        note(
            "revealSeed",
            send("revealSeed", requester.tasks.revealSeed(id, secret(round)))
                .await
                .expect("reveal seed")
                .gas_used,
        );
        let nodes = seated(&net, id).await;
        for (i, node) in nodes.iter().enumerate() {
            let gas = commit(node, id, &SCORE, nonce(round * 3 + i as u64))
                .await
                .expect("commit")
                .gas_used;
            note("submitCommitment", gas);
        }
        for node in &nodes {
            note(
                "revealResult",
                reveal(node, id, &SCORE).await.expect("reveal").gas_used,
            );
        }
        let t = task(&net, id).await;
        let uploader = &nodes[t.uploaderSeat as usize];
        note(
            "reportResultsUploaded",
            net.upload(uploader, id).await.expect("upload").gas_used,
        );
        if task(&net, id).await.state == TaskState::SUCCESS {
            honest_succeeded += 1;
        }
    }
    // A task two nodes cannot run: the second error aborts it.
    let id = create_and_start(&requester, sd_request(b"{}"), cnx(1), 10).await;
    let nodes = seated(&net, id).await;
    for node in &nodes[..2] {
        let gas = send("reportError", node.tasks.reportError(id, 4))
            .await
            .expect("reportError")
            .gas_used;
        note("reportError", gas);
    }
    // A task left silent past the commit deadline: anyone cancels it (the silent seats are
    // the ones slashed; they are not counted as honest).
    let id = create_and_start(&requester, sd_request(b"{}"), cnx(1), 11).await;
    let silent = seated(&net, id).await;
    net.advance(params.taskTimeout + 1).await;
    note(
        "cancelTask",
        send("cancelTask", requester.tasks.cancelTask(id))
            .await
            .expect("cancel")
            .gas_used,
    );

    // By now the attacker's tasks have expired: settlement and anyone's `processQueue`
    // refund them, a bounded number per call.
    for _ in 0..queue_size {
        if queue(&net).await.is_empty() {
            break;
        }
        let gas = send("processQueue", requester.tasks.processQueue(U256::from(8)))
            .await
            .expect("processQueue")
            .gas_used;
        note("processQueue(8)", gas);
    }
    let queue_after_expiry = queue(&net).await.len();
    let attacker_refunded = tasks_withdrawable(&net, attacker.address).await;

    let mut honest_stake_lost = U256::ZERO;
    for (h, before) in honest.iter().zip(stakes_before) {
        if silent.iter().any(|s| s.address == h.address) {
            continue;
        }
        honest_stake_lost += before - stake_of(&net, h.address).await;
    }
    let block_gas_limit = net
        .owner
        .provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .expect("block")
        .expect("latest block")
        .header
        .gas_limit;
    QueueFreeze {
        honest_nodes: HONEST,
        queued,
        model_ids: max_models,
        worst_gas: worst,
        block_gas_limit,
        attacker_gas,
        attacker_fees: fee * U256::from(queue_size),
        attacker_refunded,
        queue_after_expiry,
        honest_succeeded,
        honest_tasks,
        honest_stake_lost,
    }
}

/// What a draw chose when the attacker's Sybils were the only free nodes that match.
pub(crate) struct BusyPool {
    pub sybils: usize,
    pub honest_busy: usize,
    pub min_pool: u64,
    /// The task's state right after the seed was revealed.
    pub state_while_busy: u8,
    /// Seats the Sybils took once the task started.
    pub sybil_seats: usize,
    /// Candidates the draw chose from once it started.
    pub candidates_at_draw: usize,
}

impl BusyPool {
    pub(crate) fn row(&self) -> Row {
        Row {
            attack: "4a. pool minimum counted over busy nodes",
            tried: format!(
                "a task created while {} honest nodes are busy and only the attacker's {} Sybils are free (pool minimum {})",
                self.honest_busy, self.sybils, self.min_pool
            ),
            cost: "one task's fee (paid for work done)".into(),
            got: format!(
                "task {} until {} candidates were free: the Sybils' chance of all three seats fell from 100% to {:.0}% (equal weights: C({},3)/C({},3)); this draw gave them {} of 3",
                if self.state_while_busy == TaskState::QUEUED {
                    "queued"
                } else {
                    "drawn"
                },
                self.min_pool,
                100.0 * choose(self.sybils, 3) / choose(self.candidates_at_draw, 3),
                self.sybils,
                self.candidates_at_draw,
                self.sybil_seats
            ),
            honest_lost: "0".into(),
        }
    }
}

/// `n` choose `k`, as a float.
fn choose(n: usize, k: usize) -> f64 {
    (0..k).map(|i| (n - i) as f64 / (i + 1) as f64).product()
}

/// Attack 4a: wait until the honest nodes are busy, then create a task only the
/// attacker's free Sybils can take at once.
pub(crate) async fn busy_pool() -> BusyPool {
    const HONEST: usize = 6;
    const SYBILS: usize = 3;
    let net = Net::start(|_| {}).await;
    // Honest nodes run a newer version than the Sybils, so filler tasks asking for it
    // occupy only honest nodes.
    let honest = net.join_nodes(1..HONEST + 1, 400).await;
    for h in &honest {
        send("updateVersion", h.registry.updateVersion([1, 1, 0]))
            .await
            .expect("updateVersion");
    }
    let sybils = net.join_nodes(HONEST + 1..HONEST + SYBILS + 1, 400).await;
    let owner = &net.owner;
    let mut params = owner.tasks.getParams().call().await.expect("params");
    let min_pool = params.minPoolSize;
    // Two filler tasks take all six honest nodes (with the pool minimum lowered for them
    // only: this is the state a busy network is in, not a step of the attack).
    params.minPoolSize = 3;
    send("setParams", owner.tasks.setParams(params.clone()))
        .await
        .expect("setParams");
    let filler_requester = net.accounts[20].clone();
    let mut filler = sd_request(b"filler");
    filler.version = [1, 1, 0];
    let mut fillers = Vec::new();
    for n in 0..2u64 {
        fillers.push(create_and_start(&filler_requester, filler.clone(), cnx(1), 100 + n).await);
    }
    params.minPoolSize = min_pool;
    send("setParams", owner.tasks.setParams(params))
        .await
        .expect("setParams");

    let attacker = net.accounts[21].clone();
    let id = create_and_start(&attacker, sd_request(b"{}"), cnx(1), 1).await;
    let state_while_busy = task(&net, id).await.state;

    // The fillers end; their nodes come back, and the queued task is drawn as soon as
    // enough are free: right after the call that started it, the draw's candidates were
    // the free nodes plus the three it took (every node matches the attacker's task).
    let mut candidates_at_draw = 0;
    let mut step = async |receipt: alloy::rpc::types::TransactionReceipt| {
        assert!(receipt.status());
        if candidates_at_draw == 0 && task(&net, id).await.state == TaskState::RUNNING {
            let free: usize = net
                .owner
                .registry
                .availableCount()
                .call()
                .await
                .expect("availableCount")
                .to();
            candidates_at_draw = free + 3;
        }
    };
    for (k, f) in fillers.iter().enumerate() {
        let nodes = seated(&net, *f).await;
        for (i, node) in nodes.iter().enumerate() {
            step(
                commit(node, *f, &SCORE, nonce(50 + k as u64 * 3 + i as u64))
                    .await
                    .expect("commit"),
            )
            .await;
        }
        for node in &nodes {
            step(reveal(node, *f, &SCORE).await.expect("reveal")).await;
        }
        let t = task(&net, *f).await;
        step(
            net.upload(&nodes[t.uploaderSeat as usize], *f)
                .await
                .expect("upload"),
        )
        .await;
    }
    let t = task(&net, id).await;
    let sybil_seats = t
        .seats
        .iter()
        .filter(|s| sybils.iter().any(|y| y.address == s.node))
        .count();
    BusyPool {
        sybils: SYBILS,
        honest_busy: HONEST,
        min_pool,
        state_while_busy,
        sybil_seats,
        candidates_at_draw,
    }
}

/// What a lying uploader got, and what the requester kept.
pub(crate) struct LyingUploader {
    /// Reports refused: the uploader's own word, its own signature as a "receipt".
    pub refused: usize,
    pub tries: usize,
    /// Reward the uploader was paid for the task.
    pub uploader_reward: U256,
    /// Stake it lost when the upload deadline passed.
    pub uploader_slashed: U256,
    /// The uploader's share, refunded to the requester.
    pub requester_refund: U256,
    pub fee: U256,
    pub final_state: u8,
}

impl LyingUploader {
    pub(crate) fn row(&self) -> Row {
        Row {
            attack: "6. upload report taken on trust",
            tried: "the designated uploader reports the upload without uploading: with no receipt, then with one signed by a key not the relay's".into(),
            cost: format!("{} of stake slashed at the upload deadline", cnx_text(self.uploader_slashed)),
            got: format!(
                "{} of {} reports refused; reward {}; task ends aborted (state {})",
                self.refused,
                self.tries,
                cnx_text(self.uploader_reward),
                self.final_state
            ),
            honest_lost: format!(
                "0: the requester is refunded the uploader's share ({} of a {} fee)",
                cnx_text(self.requester_refund),
                cnx_text(self.fee)
            ),
        }
    }
}

/// Attack 6: the uploader claims the upload without giving the relay the files.
pub(crate) async fn lying_uploader() -> LyingUploader {
    let net = Net::start(|p| p.tasks.minPoolSize = 3).await;
    let nodes = net.join_nodes(1..4, 400).await;
    let requester = net.accounts[10].clone();
    let fee = cnx(1);
    let id = create_and_start(&requester, sd_request(b"{}"), fee, 1).await;
    let seated = seated(&net, id).await;
    let all = [Some(&SCORE[..]); 3];
    commit_all(&seated, id, all).await;
    reveal_all(&seated, id, all).await;
    let t = task(&net, id).await;
    let uploader = seated[t.uploaderSeat as usize].clone();
    assert!(nodes.iter().any(|n| n.address == uploader.address));
    // Any key but the relay's, as an uploader forging a receipt would use.
    let forged_key = alloy::signers::local::PrivateKeySigner::random();
    let before_reward = tasks_withdrawable(&net, uploader.address).await;
    let before_stake = stake_of(&net, uploader.address).await;
    let attempts = [
        alloy::primitives::Bytes::new(),
        net.receipt_for(&forged_key, id, t.resultDigest),
    ];
    let mut refused = 0;
    for receipt in attempts.iter().cloned() {
        if send("upload", uploader.tasks.reportResultsUploaded(id, receipt))
            .await
            .is_err()
        {
            refused += 1;
        }
    }
    let refund_before = tasks_withdrawable(&net, requester.address).await;
    let params = net.owner.tasks.getParams().call().await.expect("params");
    net.advance(params.uploadTimeout + 1).await;
    send("cancel", requester.tasks.cancelTask(id))
        .await
        .expect("cancel after the upload deadline");
    LyingUploader {
        refused,
        tries: attempts.len(),
        uploader_reward: tasks_withdrawable(&net, uploader.address).await - before_reward,
        uploader_slashed: before_stake - stake_of(&net, uploader.address).await,
        requester_refund: tasks_withdrawable(&net, requester.address).await - refund_before,
        fee,
        final_state: task(&net, id).await.state,
    }
}

/// What a task that pays less than the fee floor for its declared work got.
pub(crate) struct Underpaid {
    pub units: u64,
    pub offered: U256,
    pub floor: U256,
    pub refused: bool,
}

impl Underpaid {
    pub(crate) fn row(&self) -> Row {
        Row {
            attack: "7. work the fee does not pay for",
            tried: format!(
                "a task of {} units of work (10 images of 2048x2048, 100+100 steps) offering {}",
                self.units,
                cnx_text(self.offered)
            ),
            cost: "nothing (refused before any node is drawn)".into(),
            got: format!(
                "{} (floor {}); declaring fewer units than the arguments hold is refused by every honest seat alike",
                if self.refused {
                    "refused with FeeTooLow"
                } else {
                    "ACCEPTED"
                },
                cnx_text(self.floor)
            ),
            honest_lost: "0".into(),
        }
    }
}

/// Attack 7: the largest task the argument caps allow, for a token fee.
pub(crate) async fn underpaid() -> Underpaid {
    let net = Net::start(|p| p.tasks.minPoolSize = 3).await;
    net.join_nodes(1..4, 400).await;
    let requester = net.accounts[10].clone();
    let args = br#"{"version": "2.5.0", "base_model": {"name": "m"}, "prompt": "p", "task_config": {"num_images": 10, "image_width": 2048, "image_height": 2048, "steps": 100}, "refiner": {"model": "r", "steps": 100}}"#;
    let parsed = verifier::args::SdTaskArgs::parse(args).expect("valid arguments");
    let request = contracts::requests::sd_request(args, &parsed, 8);
    let params = net.owner.tasks.getParams().call().await.expect("params");
    let floor = params.minFeePerUnit * U256::from(request.size);
    let offered = cnx(1);
    let refused = matches!(
        create(&requester, request.clone(), offered, secret(1)).await,
        Err(contracts::Error::Reverted(contracts::Revert::Tasks(
            contracts::TaskManager::TaskManagerErrors::FeeTooLow(_)
        )))
    );
    Underpaid {
        units: request.size,
        offered,
        floor,
        refused,
    }
}

/// The GPU groups as a requester sees them when Sybils claim a GPU name of their own.
pub(crate) struct SybilGroup {
    /// (name, joined nodes, stake) per group, in the registry's order.
    pub groups: Vec<(String, u64, U256)>,
    /// The Sybil group's stake after one Sybil quit.
    pub sybil_stake_after_quit: U256,
}

impl SybilGroup {
    pub(crate) fn row(&self) -> Row {
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|(name, n, stake)| format!("{name}: {n} nodes, {}", cnx_text(*stake)))
            .collect();
        Row {
            attack: "4b. steering LLM tasks to a self-declared group",
            tried: "five Sybils at the minimum stake announce a GPU name of their own beside three honest nodes".into(),
            cost: "5 x the minimum stake".into(),
            got: format!(
                "groups report their stake ({}); requesters pick the most-staked group (requester::record::llm_group), not the most names",
                groups.join("; ")
            ),
            honest_lost: "0".into(),
        }
    }
}

/// Attack 4b: more names under a made-up GPU, less stake.
pub(crate) async fn sybil_group() -> SybilGroup {
    let net = Net::start(|_| {}).await;
    for i in 1..4 {
        join(&net.accounts[i], GPU, VRAM, 1000).await.expect("join");
    }
    for i in 4..9 {
        join(&net.accounts[i], "Sybil GPU", VRAM, 400)
            .await
            .expect("join");
    }
    send(
        "addStake",
        net.accounts[1].registry.addStake().value(cnx(50)),
    )
    .await
    .expect("addStake");
    let read = async || {
        net.owner
            .registry
            .getGpuGroups()
            .call()
            .await
            .expect("groups")
            .into_iter()
            .map(|g| (g.gpuName, g.activeNodes.to::<u64>(), g.stake))
            .collect::<Vec<_>>()
    };
    let groups = read().await;
    send("quit", net.accounts[4].registry.quit())
        .await
        .expect("quit");
    let sybil_stake_after_quit = read()
        .await
        .into_iter()
        .find(|(name, _, _)| name == "Sybil GPU")
        .map(|(_, _, stake)| stake)
        .unwrap_or_default();
    SybilGroup {
        groups,
        sybil_stake_after_quit,
    }
}

/// A seat the arguments were withheld from, beside two that ran the task.
pub(crate) struct Withheld {
    pub stake_lost: U256,
    pub reward: U256,
    pub others_paid: bool,
    pub state: u8,
    /// What the same lone report costs with another error code (an engine failure).
    pub engine_error_slash: U256,
}

impl Withheld {
    pub(crate) fn row(&self) -> Row {
        Row {
            attack: "8. arguments withheld from one seat",
            tried: "the relay (or requester) serves the arguments to two seats and not the third, which reports them unavailable".into(),
            cost: "nothing".into(),
            got: format!(
                "the task settles on the two (state {}); the third loses its reward only ({} reward), not stake (an engine-failure report alone costs {})",
                self.state,
                cnx_text(self.reward),
                cnx_text(self.engine_error_slash)
            ),
            honest_lost: format!("stake {}; the task's reward for that seat", cnx_text(self.stake_lost)),
        }
    }
}

async fn lone_error(code: u32, n: u64) -> (Net, Actor, U256, bool, u8) {
    let net = Net::start(|p| p.tasks.minPoolSize = 3).await;
    net.join_nodes(1..4, 400).await;
    let requester = net.accounts[10].clone();
    let id = create_and_start(&requester, sd_request(b"{}"), cnx(1), n).await;
    let seated = seated(&net, id).await;
    let victim = seated[2].clone();
    let before = stake_of(&net, victim.address).await;
    send("reportError", victim.tasks.reportError(id, code))
        .await
        .expect("reportError");
    let two = [Some(&SCORE[..]), Some(&SCORE[..]), None];
    commit_all(&seated, id, two).await;
    reveal_all(&seated, id, two).await;
    let lost = before - stake_of(&net, victim.address).await;
    let t = task(&net, id).await;
    let others_paid = tasks_withdrawable(&net, seated[1].address).await > U256::ZERO
        || tasks_withdrawable(&net, seated[0].address).await > U256::ZERO;
    (net, victim, lost, others_paid, t.state)
}

/// Attack 8: keep the arguments from one seat so that it cannot run the task.
pub(crate) async fn withheld_args() -> Withheld {
    let code: u32 = {
        let net = Net::start(|_| {}).await;
        net.owner
            .tasks
            .ERROR_ARGS_UNAVAILABLE()
            .call()
            .await
            .expect("ERROR_ARGS_UNAVAILABLE")
    };
    assert_eq!(
        code,
        contracts::error_code::ARGS_UNAVAILABLE,
        "the nodes' code is the contract's"
    );
    let (net, victim, stake_lost, others_paid, state) = lone_error(code, 1).await;
    let reward = tasks_withdrawable(&net, victim.address).await;
    let (_, _, engine_error_slash, _, _) = lone_error(4, 2).await;
    Withheld {
        stake_lost,
        reward,
        others_paid,
        state,
        engine_error_slash,
    }
}

/// Two colluding seats against an honest third: **not defended yet** (no appeal).
pub(crate) struct ColludingPair {
    pub fee: U256,
    pub colluders_reward: U256,
    pub honest_slashed: U256,
    pub honest_kicked: bool,
}

impl ColludingPair {
    pub(crate) fn row(&self) -> Row {
        // Share w of the selection weight: exactly two of three seats with probability about
        // 3w²(1−w); each such task costs the honest seat its whole stake.
        let ev: Vec<String> = [0.10f64, 0.20, 1.0 / 3.0]
            .iter()
            .map(|w| {
                let p = 3.0 * w * w * (1.0 - w);
                let stake: f64 = cnx_text(self.honest_slashed)
                    .trim_end_matches(" CNX")
                    .parse()
                    .unwrap_or(0.0);
                format!(
                    "w = {:.0}%: p = {:.1}%, {:.1} CNX",
                    w * 100.0,
                    p * 100.0,
                    p * stake
                )
            })
            .collect();
        Row {
            attack: "2. two colluders eject the honest third (NOT DEFENDED YET: no appeal)",
            tried: "two seats commit the same made-up score; the third runs the task honestly"
                .into(),
            cost: "nothing".into(),
            got: format!(
                "{} of a {} fee; the honest seat is slashed and {}",
                cnx_text(self.colluders_reward),
                cnx_text(self.fee),
                if self.honest_kicked {
                    "kicked"
                } else {
                    "stays"
                }
            ),
            honest_lost: format!(
                "{} of stake; expected per task for colluders holding weight w (computed): {}",
                cnx_text(self.honest_slashed),
                ev.join("; ")
            ),
        }
    }
}

/// Attack 2, as it still works: two of three seats agree on a lie.
pub(crate) async fn colluding_pair() -> ColludingPair {
    let net = Net::start(|p| p.tasks.minPoolSize = 3).await;
    net.join_nodes(1..4, 400).await;
    let requester = net.accounts[10].clone();
    let fee = cnx(1);
    let id = create_and_start(&requester, sd_request(b"{}"), fee, 1).await;
    let seated = seated(&net, id).await;
    let lie = [0xffu8; 8];
    let honest = seated[2].clone();
    let before = stake_of(&net, honest.address).await;
    let scores = [Some(&lie[..]), Some(&lie[..]), Some(&SCORE[..])];
    commit_all(&seated, id, scores).await;
    reveal_all(&seated, id, scores).await;
    let t = task(&net, id).await;
    let uploader = &seated[t.uploaderSeat as usize];
    net.upload(uploader, id).await.expect("upload");
    let mut colluders_reward = U256::ZERO;
    for node in &seated[..2] {
        colluders_reward += tasks_withdrawable(&net, node.address).await;
    }
    ColludingPair {
        fee,
        colluders_reward,
        honest_slashed: before - stake_of(&net, honest.address).await,
        honest_kicked: node_info(&net, honest.address).await.status == 0,
    }
}
