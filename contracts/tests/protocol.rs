//! The contracts on a real anvil chain: the task life cycle with three nodes, every way it
//! can end, the attacks the design defends against, and access control. Each test starts
//! its own anvil. Run with `--nocapture` to see gas per call.

mod support;

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::Provider as _;
use alloy::providers::ext::AnvilApi as _;
use alloy::signers::local::PrivateKeySigner;
use contracts::NodeRegistry::{NodeRegistryErrors as RegErr, NodeStatus};
use contracts::TaskManager::{
    AbortReason, NodeOutcome, PaymentKind, SeatStatus, TaskManagerErrors as TmErr, TaskState,
};
use contracts::{Parameters, Revert};
use support::*;

/// Three or more nodes may serve a task (the default pool minimum is 5).
fn pool3(p: &mut Parameters) {
    p.tasks.minPoolSize = 3;
}

const SCORE_A: [u8; 16] = [
    0x22, 0x2b, 0x2a, 0xe9, 0x89, 0x36, 0x44, 0xc2, 1, 2, 3, 4, 5, 6, 7, 8,
];
/// SCORE_A with 2 bits flipped in the first image: agrees at threshold 5.
const SCORE_A_NEAR: [u8; 16] = [
    0x22, 0x2b, 0x2a, 0xe9, 0x89, 0x27, 0x44, 0xc2, 1, 2, 3, 4, 5, 6, 7, 8,
];
/// SCORE_A with the second image 5 bits away: disagrees at threshold 5.
const SCORE_A_FAR: [u8; 16] = [
    0x22, 0x2b, 0x2a, 0xe9, 0x89, 0x36, 0x44, 0xc2, 1, 2, 3, 4, 5, 6, 7, 0xf7,
];
const SCORE_B: [u8; 16] = [0xff; 16];
const SCORE_C: [u8; 16] = [0x0f; 16];

fn is_tm(revert: &Revert, check: impl FnOnce(&TmErr) -> bool) -> bool {
    matches!(revert, Revert::Tasks(e) if check(e))
}

fn is_reg(revert: &Revert, check: impl FnOnce(&RegErr) -> bool) -> bool {
    matches!(revert, Revert::Registry(e) if check(e))
}

async fn withdrawable(net: &Net, who: Address) -> U256 {
    net.owner.tasks.withdrawable(who).call().await.unwrap()
}

#[tokio::test]
async fn three_agreeing_nodes_settle_pay_and_upload() {
    let net = Net::start(pool3).await;
    let joined = net.join_nodes(1..4, 400).await;
    let requester = net.accounts[10].clone();
    let fee = cnx(5);
    let args = br#"{"prompt":"a lighthouse at dusk","task_config":{"num_images":2}}"#;
    let id = create_and_start(&requester, sd_request(args), fee, 1).await;

    let t = task(&net, id).await;
    assert_eq!(t.state, TaskState::RUNNING);
    assert_eq!(
        t.request.taskHash,
        B256::from(verifier::commitment::task_hash(args))
    );
    let nodes = seated(&net, id).await;
    let mut seated_addrs: Vec<_> = nodes.iter().map(|n| n.address).collect();
    seated_addrs.sort();
    let mut joined_addrs: Vec<_> = joined.iter().map(|n| n.address).collect();
    joined_addrs.sort();
    assert_eq!(seated_addrs, joined_addrs, "all three nodes take a seat");
    for n in &nodes {
        assert_eq!(node_info(&net, n.address).await.status, NodeStatus::BUSY);
    }

    commit_all(
        &nodes,
        id,
        [Some(&SCORE_A), Some(&SCORE_A_NEAR), Some(&SCORE_A)],
    )
    .await;
    assert_eq!(task(&net, id).await.state, TaskState::REVEALING);
    // Reveal in reverse order: commit order 0,1,2 and reveal order 2,1,0 → shares 10+6, 9+9, 6+10.
    reveal(&nodes[2], id, &SCORE_A).await.unwrap();
    reveal(&nodes[1], id, &SCORE_A_NEAR).await.unwrap();
    reveal(&nodes[0], id, &SCORE_A).await.unwrap();

    let t = task(&net, id).await;
    assert_eq!(t.state, TaskState::VALIDATED);
    assert_eq!(
        t.result.as_ref(),
        &SCORE_A,
        "the result is the score agreeing with most, earliest commit"
    );
    assert_eq!(t.uploaderSeat, 0);
    // Non-uploaders are paid and released at once; the uploader waits for its upload.
    assert_eq!(
        withdrawable(&net, nodes[1].address).await,
        fee * U256::from(18) / U256::from(50)
    );
    assert_eq!(
        withdrawable(&net, nodes[2].address).await,
        fee * U256::from(16) / U256::from(50)
    );
    assert_eq!(withdrawable(&net, nodes[0].address).await, U256::ZERO);
    assert_eq!(
        node_info(&net, nodes[0].address).await.status,
        NodeStatus::BUSY
    );
    assert_eq!(
        node_info(&net, nodes[1].address).await.status,
        NodeStatus::AVAILABLE
    );

    let receipt = net.upload(&nodes[0], id).await.unwrap();
    assert!(
        receipt
            .decoded_log::<contracts::TaskManager::ResultUploaded>()
            .is_some()
    );
    let t = task(&net, id).await;
    assert_eq!(t.state, TaskState::SUCCESS);
    assert_eq!(t.feeLeft, U256::ZERO);
    assert_eq!(
        withdrawable(&net, nodes[0].address).await,
        fee * U256::from(16) / U256::from(50)
    );
    assert_eq!(
        withdrawable(&net, requester.address).await,
        U256::ZERO,
        "all of the fee was earned"
    );

    // QoS: finish order by commitment, 10 / 5 / 2 (x100), health stays full.
    for (i, expected) in [(0, 1000u64), (1, 500), (2, 200)] {
        let info = node_info(&net, nodes[i].address).await;
        assert_eq!(info.status, NodeStatus::AVAILABLE);
        assert_eq!(info.qosScore, U256::from(expected));
        assert_eq!(info.health, U256::from(1000));
    }

    // Withdrawing pays the node.
    let before = balance(&net, nodes[1].address).await;
    let receipt = send("TaskManager.withdraw", nodes[1].tasks.withdraw())
        .await
        .unwrap();
    let gas_cost = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    assert_eq!(
        balance(&net, nodes[1].address).await,
        before + fee * U256::from(18) / U256::from(50) - gas_cost
    );
    expect_revert(
        send("TaskManager.withdraw", nodes[1].tasks.withdraw()).await,
        |r| is_tm(r, |e| matches!(e, TmErr::NothingToWithdraw(_))),
    );

    // The views the app and relay need.
    let ids = net
        .owner
        .tasks
        .getTaskIdsByCreator(requester.address)
        .call()
        .await
        .unwrap();
    assert_eq!(ids, vec![id]);
    let seat = net
        .owner
        .tasks
        .seatOf(id, nodes[2].address)
        .call()
        .await
        .unwrap();
    assert_eq!(seat, 2);
    let stats = net.owner.tasks.getStats().call().await.unwrap();
    assert_eq!(
        (stats.created, stats.succeeded, stats.aborted),
        (U256::from(1), U256::from(1), U256::ZERO)
    );
    let groups = net.owner.registry.getGpuGroups().call().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].gpuName, GPU);
    assert_eq!(groups[0].activeNodes, U256::from(3));
    assert_eq!(
        groups[0].gpuId,
        B256::from(verifier::commitment::gpu_id(GPU, VRAM))
    );

    print_gas_report();
}

/// The whole history of a task can be rebuilt from the task manager's logs.
#[tokio::test]
async fn events_tell_the_whole_story() {
    use alloy::rpc::types::Filter;
    use alloy::sol_types::SolEvent;
    use contracts::TaskManager as Tm;

    let net = Net::start(pool3).await;
    net.join_nodes(1..4, 400).await;
    let requester = net.accounts[10].clone();
    let id = create_and_start(&requester, sd_request(b"{}"), cnx(1), 1).await;
    let nodes = seated(&net, id).await;
    commit_all(&nodes, id, [Some(&SCORE_A), Some(&SCORE_A), Some(&SCORE_B)]).await;
    reveal_all(&nodes, id, [Some(&SCORE_A), Some(&SCORE_A), Some(&SCORE_B)]).await;
    net.upload(&nodes[0], id).await.unwrap();

    let filter = Filter::new()
        .address(net.deployments.task_manager)
        .from_block(net.deployments.deployment_block)
        .topic1(B256::from(id));
    let logs = net.owner.provider.get_logs(&filter).await.unwrap();
    let names: Vec<&str> = logs
        .iter()
        .map(|log| match log.topic0().copied().unwrap_or_default() {
            t if t == Tm::TaskCreated::SIGNATURE_HASH => "created",
            t if t == Tm::TaskRequirements::SIGNATURE_HASH => "requirements",
            t if t == Tm::SeedRevealed::SIGNATURE_HASH => "seed",
            t if t == Tm::NodeSelected::SIGNATURE_HASH => "selected",
            t if t == Tm::TaskStarted::SIGNATURE_HASH => "started",
            t if t == Tm::CommitmentSubmitted::SIGNATURE_HASH => "commit",
            t if t == Tm::RevealPhaseStarted::SIGNATURE_HASH => "reveal-phase",
            t if t == Tm::ResultRevealed::SIGNATURE_HASH => "reveal",
            t if t == Tm::TaskValidated::SIGNATURE_HASH => "validated",
            t if t == Tm::Payment::SIGNATURE_HASH => "payment",
            t if t == Tm::SeatClosed::SIGNATURE_HASH => "seat-closed",
            t if t == Tm::ResultUploaded::SIGNATURE_HASH => "uploaded",
            _ => "other",
        })
        .collect();
    assert_eq!(
        names,
        [
            "created",
            "requirements",
            "seed",
            "selected",
            "selected",
            "selected",
            "started",
            "commit",
            "commit",
            "commit",
            "reveal-phase",
            "reveal",
            "reveal",
            "reveal",
            "validated",
            "payment",
            "seat-closed",
            "seat-closed",
            "payment",
            "uploaded",
            "payment",
            "seat-closed"
        ]
    );
    // The slash of the odd node is in the log with its amount.
    let closed: Vec<_> = logs
        .iter()
        .filter_map(|l| l.log_decode::<Tm::SeatClosed>().ok())
        .map(|l| l.inner.data)
        .collect();
    let dissent = closed
        .iter()
        .find(|c| c.outcome == NodeOutcome::DISSENT)
        .expect("dissent closed");
    assert_eq!(dissent.node, nodes[2].address);
    assert_eq!(dissent.slashed, cnx(80), "dissentSlashBps 20% of 400 CNX");
    let payments: Vec<_> = logs
        .iter()
        .filter_map(|l| l.log_decode::<Tm::Payment>().ok())
        .map(|l| l.inner.data)
        .collect();
    assert_eq!(
        payments[1].kind,
        PaymentKind::REFUND,
        "the slashed node's share goes back to the creator"
    );
    assert_eq!(payments[1].to, requester.address);
}

#[tokio::test]
async fn dissenting_node_is_slashed_and_its_share_refunded() {
    let net = Net::start(pool3).await;
    net.join_nodes(1..4, 400).await;
    let requester = net.accounts[10].clone();
    let fee = cnx(5);
    let id = create_and_start(&requester, sd_request(b"{}"), fee, 1).await;
    let nodes = seated(&net, id).await;
    let staked_before = net.owner.registry.totalStaked().call().await.unwrap();

    commit_all(
        &nodes,
        id,
        [Some(&SCORE_A), Some(&SCORE_A_FAR), Some(&SCORE_A_NEAR)],
    )
    .await;
    reveal_all(
        &nodes,
        id,
        [Some(&SCORE_A), Some(&SCORE_A_FAR), Some(&SCORE_A_NEAR)],
    )
    .await;

    let t = task(&net, id).await;
    assert_eq!(t.state, TaskState::VALIDATED);
    let odd = node_info(&net, nodes[1].address).await;
    assert_eq!(odd.stake, U256::ZERO, "the odd node keeps no bonded stake");
    assert_eq!(
        odd.unbondingAmount,
        cnx(320),
        "dissentSlashBps 20%: the rest unbonds (an appeal can still reach it)"
    );
    assert_eq!(
        odd.status,
        NodeStatus::QUIT,
        "under the minimum stake it is made to quit"
    );
    assert_eq!(odd.health, U256::from(300));
    assert_eq!(
        net.owner.registry.totalStaked().call().await.unwrap(),
        staked_before - cnx(400)
    );
    assert_eq!(
        net.owner
            .registry
            .withdrawable(net.owner.address)
            .call()
            .await
            .unwrap(),
        cnx(80),
        "to the treasury"
    );
    // Commit ranks 0,1,2 and reveal ranks 0,1,2: winners earn 20/50 and 12/50, the odd
    // node's 18/50 is refunded to the creator at once.
    assert_eq!(
        withdrawable(&net, requester.address).await,
        fee * U256::from(18) / U256::from(50)
    );
    assert_eq!(
        withdrawable(&net, nodes[2].address).await,
        fee * U256::from(12) / U256::from(50)
    );
    net.upload(&nodes[0], id).await.unwrap();
    assert_eq!(
        withdrawable(&net, nodes[0].address).await,
        fee * U256::from(20) / U256::from(50)
    );
}

#[tokio::test]
async fn three_different_results_abort_and_refund() {
    let net = Net::start(pool3).await;
    net.join_nodes(1..4, 400).await;
    let requester = net.accounts[10].clone();
    let fee = cnx(5);
    let id = create_and_start(&requester, sd_request(b"{}"), fee, 1).await;
    let nodes = seated(&net, id).await;
    commit_all(&nodes, id, [Some(&SCORE_A), Some(&SCORE_B), Some(&SCORE_C)]).await;
    reveal_all(&nodes, id, [Some(&SCORE_A), Some(&SCORE_B), Some(&SCORE_C)]).await;

    let t = task(&net, id).await;
    assert_eq!(t.state, TaskState::ABORTED);
    assert_eq!(t.abortReason, AbortReason::NO_MAJORITY);
    assert_eq!(
        withdrawable(&net, requester.address).await,
        fee,
        "full refund"
    );
    for n in &nodes {
        let info = node_info(&net, n.address).await;
        assert_eq!(info.status, NodeStatus::AVAILABLE);
        assert_eq!(
            info.stake,
            cnx(400),
            "nobody can be blamed: nobody is slashed"
        );
        assert_eq!(info.qosScore, U256::ZERO, "an aborted task scores 0");
    }
}

#[tokio::test]
async fn two_error_reports_abort_and_a_lone_error_is_penalized() {
    let net = Net::start(pool3).await;
    net.join_nodes(1..4, 400).await;
    let requester = net.accounts[10].clone();
    let fee = cnx(2);
    let id = create_and_start(&requester, sd_request(b"{}"), fee, 1).await;
    let nodes = seated(&net, id).await;
    commit(&nodes[0], id, &SCORE_A, nonce(0)).await.unwrap();
    send("TaskManager.reportError", nodes[1].tasks.reportError(id, 1))
        .await
        .unwrap();
    assert_eq!(task(&net, id).await.state, TaskState::RUNNING);
    send("TaskManager.reportError", nodes[2].tasks.reportError(id, 2))
        .await
        .unwrap();
    let t = task(&net, id).await;
    assert_eq!(t.state, TaskState::ABORTED);
    assert_eq!(t.abortReason, AbortReason::TOO_MANY_ERRORS);
    assert_eq!(t.seats[1].status, SeatStatus::ERRORED);
    assert_eq!(t.seats[1].errorCode, 1);
    assert_eq!(withdrawable(&net, requester.address).await, fee);
    for n in &nodes {
        assert_eq!(node_info(&net, n.address).await.stake, cnx(400));
    }

    // A lone error while the two others agree costs timeoutSlashBps (10%) and health.
    let id = create_and_start(&requester, sd_request(b"{}"), fee, 2).await;
    let nodes = seated(&net, id).await;
    send("TaskManager.reportError", nodes[0].tasks.reportError(id, 7))
        .await
        .unwrap();
    commit_all(&nodes, id, [None, Some(&SCORE_A), Some(&SCORE_A)]).await;
    reveal_all(&nodes, id, [None, Some(&SCORE_A), Some(&SCORE_A)]).await;
    let t = task(&net, id).await;
    assert_eq!(t.state, TaskState::VALIDATED);
    let info = node_info(&net, nodes[0].address).await;
    assert_eq!(
        info.stake,
        U256::ZERO,
        "400 less 10% is under the minimum: all of it unbonds"
    );
    assert_eq!(info.health, U256::from(300));
    assert_eq!(
        info.status,
        NodeStatus::QUIT,
        "under the minimum stake after the slash: made to quit"
    );
    assert_eq!(info.unbondingAmount, cnx(360));
}

/// Better than the reference (1): silence past the timeout costs stake and health, and a
/// node that commits then withholds its reveal loses as much as a dissenter.
#[tokio::test]
async fn silent_and_withholding_nodes_are_penalized() {
    let net = Net::start(|p| {
        p.tasks.minPoolSize = 3;
        p.tasks.timeoutSlashBps = 2_500;
    })
    .await;
    net.join_nodes(1..4, 800).await;
    let requester = net.accounts[10].clone();
    let fee = cnx(3);
    let id = create_and_start(&requester, sd_request(b"{}"), fee, 1).await;
    let nodes = seated(&net, id).await;
    commit_all(&nodes, id, [Some(&SCORE_A), Some(&SCORE_A), None]).await;

    // Before the deadline nobody can cancel.
    expect_revert(
        send("TaskManager.cancelTask", requester.tasks.cancelTask(id)).await,
        |r| is_tm(r, |e| matches!(e, TmErr::DeadlineNotReached(_))),
    );
    net.advance(15 * 60).await;
    // After it, the silent node can no longer commit.
    expect_revert(commit(&nodes[2], id, &SCORE_A, nonce(2)).await, |r| {
        is_tm(r, |e| matches!(e, TmErr::DeadlinePassed(_)))
    });
    // Anyone may move the task on; the silent node is slashed 25% and its health cut.
    send(
        "TaskManager.cancelTask",
        net.accounts[20].tasks.cancelTask(id),
    )
    .await
    .unwrap();
    let silent = node_info(&net, nodes[2].address).await;
    assert_eq!(silent.stake, cnx(600));
    assert_eq!(silent.health, U256::from(300));
    assert_eq!(
        silent.status,
        NodeStatus::AVAILABLE,
        "600 CNX is still above the minimum"
    );
    assert!(
        silent.weight < node_info(&net, nodes[0].address).await.weight,
        "less likely to be drawn"
    );
    let t = task(&net, id).await;
    assert_eq!(
        t.state,
        TaskState::REVEALING,
        "the two committed nodes go on"
    );
    assert_eq!(t.seats[2].status, SeatStatus::TIMED_OUT);

    reveal_all(&nodes, id, [Some(&SCORE_A), Some(&SCORE_A), None]).await;
    assert_eq!(task(&net, id).await.state, TaskState::VALIDATED);
    net.upload(&nodes[0], id).await.unwrap();
    // Health recovers with success.
    let id2 = create_and_start(&requester, sd_request(b"{}"), fee, 2).await;
    let nodes2 = seated(&net, id2).await;
    commit_all(
        &nodes2,
        id2,
        [Some(&SCORE_A), Some(&SCORE_A), Some(&SCORE_A)],
    )
    .await;
    reveal_all(
        &nodes2,
        id2,
        [Some(&SCORE_A), Some(&SCORE_A), Some(&SCORE_A)],
    )
    .await;
    let up = nodes2[task(&net, id2).await.uploaderSeat as usize].clone();
    net.upload(&up, id2).await.unwrap();
    assert_eq!(
        node_info(&net, nodes[2].address).await.health,
        U256::from(450)
    );

    // Commit, then withhold the reveal once the others' reveals show you are outnumbered.
    let id3 = create_and_start(&requester, sd_request(b"{}"), fee, 3).await;
    let nodes3 = seated(&net, id3).await;
    commit_all(
        &nodes3,
        id3,
        [Some(&SCORE_A), Some(&SCORE_A), Some(&SCORE_B)],
    )
    .await;
    reveal_all(&nodes3, id3, [Some(&SCORE_A), Some(&SCORE_A), None]).await;
    net.advance(5 * 60).await;
    let stake_before = node_info(&net, nodes3[2].address).await.stake;
    assert!(stake_before > U256::ZERO);
    send("TaskManager.cancelTask", requester.tasks.cancelTask(id3))
        .await
        .unwrap();
    let withheld = node_info(&net, nodes3[2].address).await;
    assert_eq!(
        withheld.stake,
        U256::ZERO,
        "withholding costs as much as dissent"
    );
    assert_eq!(task(&net, id3).await.seats[2].status, SeatStatus::WITHHELD);
    assert_eq!(task(&net, id3).await.state, TaskState::VALIDATED);

    // An uploader that never reports loses its held share (back to the creator) and health,
    // not stake: on chain it looks the same as a relay refusing its upload.
    let up3 = nodes3[task(&net, id3).await.uploaderSeat as usize].clone();
    let stake_up = node_info(&net, up3.address).await.stake;
    let refunded_before = withdrawable(&net, requester.address).await;
    net.advance(15 * 60).await;
    send("TaskManager.cancelTask", requester.tasks.cancelTask(id3))
        .await
        .unwrap();
    let t3 = task(&net, id3).await;
    assert_eq!(t3.state, TaskState::ABORTED);
    assert_eq!(t3.abortReason, AbortReason::UPLOAD_MISSED);
    let up3_after = node_info(&net, up3.address).await;
    assert_eq!(up3_after.stake, stake_up);
    assert!(up3_after.health < U256::from(1000));
    assert!(withdrawable(&net, requester.address).await > refunded_before);
}

/// A task with too few free nodes waits in a bounded queue ordered by fee per unit; the
/// cheapest is evicted when it is full, and queued tasks start as nodes free up.
#[tokio::test]
async fn queueing_and_eviction() {
    let net = Net::start(|p| {
        p.tasks.minPoolSize = 3;
        p.tasks.maxQueueSize = 2;
    })
    .await;
    net.join_nodes(1..4, 400).await;
    let requester = net.accounts[10].clone();
    let other = net.accounts[11].clone();
    let running = create_and_start(&requester, sd_request(b"{}"), cnx(1), 1).await;

    // All three nodes busy: tasks queue. Fee per unit: b = 1/1, c = 4/2 = 2, d = 9/3 = 3.
    let mut req = sd_request(b"b");
    let b = create_and_start(&requester, req.clone(), cnx(1), 2).await;
    req.size = 2;
    let c = create_and_start(&other, req.clone(), cnx(4), 3).await;
    assert_eq!(task(&net, b).await.state, TaskState::QUEUED);
    assert_eq!(task(&net, c).await.state, TaskState::QUEUED);
    req.size = 3;
    let d = create_and_start(&requester, req.clone(), cnx(9), 4).await;
    let tb = task(&net, b).await;
    assert_eq!(
        (tb.state, tb.abortReason),
        (TaskState::ABORTED, AbortReason::EVICTED),
        "cheapest evicted"
    );
    assert_eq!(
        withdrawable(&net, requester.address).await,
        cnx(1),
        "evicted task refunded"
    );
    assert_eq!(task(&net, d).await.state, TaskState::QUEUED);
    // A task cheaper per unit than everything queued is refused a place, and refunded.
    req.size = 10;
    let e = create_and_start(&other, req.clone(), cnx(1), 5).await;
    let te = task(&net, e).await;
    assert_eq!(
        (te.state, te.abortReason),
        (TaskState::ABORTED, AbortReason::QUEUE_FULL)
    );
    assert_eq!(withdrawable(&net, other.address).await, cnx(1));
    let mut queue = net.owner.tasks.getQueue().call().await.unwrap();
    queue.sort();
    assert_eq!(queue, vec![c, d]);

    // The running task ends (two nodes freed at validation, the third after the upload):
    // the best queued task (d) starts.
    let nodes = seated(&net, running).await;
    commit_all(
        &nodes,
        running,
        [Some(&SCORE_A), Some(&SCORE_A), Some(&SCORE_A)],
    )
    .await;
    reveal_all(
        &nodes,
        running,
        [Some(&SCORE_A), Some(&SCORE_A), Some(&SCORE_A)],
    )
    .await;
    assert_eq!(
        task(&net, d).await.state,
        TaskState::QUEUED,
        "two free nodes are not enough"
    );
    net.upload(&nodes[0], running).await.unwrap();
    // The upload frees the third node, but a queued task's seed is public: its draw takes
    // only nodes free before the block it runs in, so the next block's `processQueue`
    // (anyone's, an idle node's) starts it.
    assert_eq!(
        task(&net, d).await.state,
        TaskState::QUEUED,
        "a node freed in the draw's block is not a candidate"
    );
    send(
        "TaskManager.processQueue",
        net.accounts[20].tasks.processQueue(U256::from(1)),
    )
    .await
    .unwrap();
    assert_eq!(task(&net, d).await.state, TaskState::RUNNING);
    assert_eq!(task(&net, c).await.state, TaskState::QUEUED);

    // A queued task expires after the task timeout: before, only its creator may withdraw
    // it; after, anyone may end it, and its creator is refunded in full.
    expect_revert(send("cancel", requester.tasks.cancelTask(c)).await, |r| {
        is_tm(r, |e| matches!(e, TmErr::DeadlineNotReached(_)))
    });
    net.advance(15 * 60).await;
    send("TaskManager.cancelTask", requester.tasks.cancelTask(c))
        .await
        .unwrap();
    let tc = task(&net, c).await;
    assert_eq!(
        (tc.state, tc.abortReason),
        (TaskState::ABORTED, AbortReason::QUEUE_TIMEOUT)
    );
    assert_eq!(withdrawable(&net, other.address).await, cnx(5));
    assert!(net.owner.tasks.getQueue().call().await.unwrap().is_empty());
}

#[tokio::test]
async fn nonce_reuse_and_double_commit_are_refused() {
    let net = Net::start(pool3).await;
    net.join_nodes(1..4, 400).await;
    let requester = net.accounts[10].clone();
    let id = create_and_start(&requester, sd_request(b"{}"), cnx(1), 1).await;
    let nodes = seated(&net, id).await;
    commit(&nodes[0], id, &SCORE_A, nonce(0)).await.unwrap();
    // Copying another node's nonce (and so its commitment) is refused.
    expect_revert(commit(&nodes[1], id, &SCORE_A, nonce(0)).await, |r| {
        is_tm(
            r,
            |e| matches!(e, TmErr::NonceReused(x) if x.nonce == nonce(0)),
        )
    });
    expect_revert(commit(&nodes[0], id, &SCORE_A, nonce(9)).await, |r| {
        is_tm(
            r,
            |e| matches!(e, TmErr::AlreadySubmitted(x) if x.status == SeatStatus::COMMITTED),
        )
    });
    expect_revert(
        send(
            "commit",
            nodes[1].tasks.submitCommitment(id, B256::ZERO, nonce(1)),
        )
        .await,
        |r| is_tm(r, |e| matches!(e, TmErr::InvalidCommitment(_))),
    );
    commit(&nodes[1], id, &SCORE_A, nonce(1)).await.unwrap();
}

#[tokio::test]
async fn reveals_must_match_commitments_and_be_valid_scores() {
    let net = Net::start(pool3).await;
    net.join_nodes(1..4, 400).await;
    let requester = net.accounts[10].clone();
    let id = create_and_start(&requester, sd_request(b"{}"), cnx(1), 1).await;
    let nodes = seated(&net, id).await;
    // Revealing before all commitments are in is refused.
    commit(&nodes[0], id, &SCORE_A, nonce(0)).await.unwrap();
    expect_revert(reveal(&nodes[0], id, &SCORE_A).await, |r| {
        is_tm(
            r,
            |e| matches!(e, TmErr::WrongState(x) if x.state == TaskState::RUNNING),
        )
    });
    commit(&nodes[1], id, &SCORE_A, nonce(1)).await.unwrap();
    let bad: [&[u8]; 3] = [&[], &[1, 2, 3, 4, 5, 6, 7], &[0; 16]];
    commit(&nodes[2], id, bad[2], nonce(2)).await.unwrap();

    expect_revert(reveal(&nodes[0], id, &SCORE_B).await, |r| {
        is_tm(
            r,
            |e| matches!(e, TmErr::CommitmentMismatch(x) if x.node == nodes[0].address),
        )
    });
    for (score, reason) in bad
        .iter()
        .zip(["empty", "length not a multiple of 8", "all zero"])
    {
        expect_revert(reveal(&nodes[2], id, score).await, |r| {
            is_tm(
                r,
                |e| matches!(e, TmErr::InvalidScore(x) if x.reason == reason),
            )
        });
    }
    reveal(&nodes[0], id, &SCORE_A).await.unwrap();
    expect_revert(reveal(&nodes[0], id, &SCORE_A).await, |r| {
        is_tm(
            r,
            |e| matches!(e, TmErr::AlreadySubmitted(x) if x.status == SeatStatus::REVEALED),
        )
    });
}

/// LLM tasks compare by equality, need a named GPU, and take 32 bytes per result file.
#[tokio::test]
async fn llm_tasks_compare_exactly_on_one_gpu() {
    let net = Net::start(pool3).await;
    net.join_nodes(1..4, 400).await;
    join(&net.accounts[4], "NVIDIA RTX A4000", 16, 400)
        .await
        .unwrap();
    let requester = net.accounts[10].clone();
    let mut req = sd_request(br#"{"model":"gpt2"}"#);
    req.taskType = 1;
    expect_revert(
        create(&requester, req.clone(), cnx(1), secret(1)).await,
        |r| {
            is_tm(
                r,
                |e| matches!(e, TmErr::InvalidTask(x) if x.field == "gpuName"),
            )
        },
    );
    req.gpuName = GPU.to_owned();
    req.gpuVram = VRAM;
    let id = create_and_start(&requester, req, cnx(1), 1).await;
    let nodes = seated(&net, id).await;
    assert!(
        nodes.iter().all(|n| n.address != net.accounts[4].address),
        "only the named GPU"
    );
    let a = keccak256(b"0.json bytes").0;
    let mut b = a;
    b[31] ^= 1; // one bit: any difference is a disagreement for LLM results
    expect_revert(
        async {
            commit(&nodes[0], id, &a[..8], nonce(0)).await.unwrap();
            commit_all(&nodes, id, [None, Some(&a), Some(&b)]).await;
            reveal(&nodes[0], id, &a[..8]).await
        }
        .await,
        |r| {
            is_tm(
                r,
                |e| matches!(e, TmErr::InvalidScore(x) if x.reason == "length not a multiple of 32"),
            )
        },
    );
    reveal_all(&nodes, id, [None, Some(&a), Some(&b)]).await;
    net.advance(5 * 60).await;
    send("cancel", requester.tasks.cancelTask(id))
        .await
        .unwrap();
    let t = task(&net, id).await;
    assert_eq!(
        (t.state, t.abortReason),
        (TaskState::ABORTED, AbortReason::NO_MAJORITY)
    );
    // The contract's comparison rule, directly.
    let tm = &net.owner.tasks;
    assert!(
        !tm.scoresAgree(1, Bytes::from(a), Bytes::from(b))
            .call()
            .await
            .unwrap()
    );
    assert!(
        tm.scoresAgree(1, Bytes::from(a), Bytes::from(a))
            .call()
            .await
            .unwrap()
    );
}

/// The SD rule against the shared protocol vectors: per 8-byte block, fewer than
/// `threshold` differing bits.
#[tokio::test]
async fn sd_comparison_matches_the_protocol_vectors() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vectors/protocol/vectors.json"
    ))
    .or_else(|_| std::fs::read_to_string("/work/shared/vectors/protocol/vectors.json"))
    .expect("shared/vectors/protocol/vectors.json");
    let vectors: serde_json::Value = serde_json::from_str(&text).unwrap();
    let net = Net::start(|p| p.tasks.similarityThreshold = 5).await;
    let mut checked = 0;
    for threshold in [5u64, 24] {
        let mut params = net.owner.tasks.getParams().call().await.unwrap();
        params.similarityThreshold = threshold;
        send("TaskManager.setParams", net.owner.tasks.setParams(params))
            .await
            .unwrap();
        for case in vectors["compare"].as_array().unwrap() {
            if case["threshold"].as_u64() != Some(threshold)
                || case.get("equal").is_none_or(|e| !e.is_boolean())
            {
                continue;
            }
            let a: Bytes = case["a"].as_str().unwrap().parse().unwrap();
            let b: Bytes = case["b"].as_str().unwrap().parse().unwrap();
            let agree = net
                .owner
                .tasks
                .scoresAgree(0, a.clone(), b.clone())
                .call()
                .await
                .unwrap();
            assert_eq!(
                agree,
                case["equal"].as_bool().unwrap(),
                "{a} vs {b} at {threshold}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "checked {checked} vectors");
}

/// Better than the reference (2): the requester commits to a secret; the draw uses it with
/// the hash of the creation block, which did not exist when the secret was fixed.
#[tokio::test]
async fn selection_randomness_cannot_be_steered() {
    let net = Net::start(|p| {
        p.tasks.minPoolSize = 3;
        p.tasks.seedWindowBlocks = 10;
    })
    .await;
    net.join_nodes(1..7, 400).await;
    let requester = net.accounts[10].clone();

    // Not in the creation block: the block's hash is unknown inside it.
    net.owner.provider.anvil_set_auto_mine(false).await.unwrap();
    let create_tx = requester
        .tasks
        .createTask(sd_request(b"{}"), seed_commitment(secret(1)))
        .value(cnx(1));
    let pending_create = create_tx.send().await.unwrap();
    let reveal_tx = requester
        .tasks
        .revealSeed(U256::from(1), secret(1))
        .gas(1_000_000);
    let pending_reveal = reveal_tx.send().await.unwrap();
    net.owner.provider.evm_mine(None).await.unwrap();
    net.owner.provider.anvil_set_auto_mine(true).await.unwrap();
    assert!(pending_create.get_receipt().await.unwrap().status());
    let failed = pending_reveal.get_receipt().await.unwrap();
    assert!(!failed.status(), "a reveal in the creation block fails");
    let id = U256::from(1);
    // The same call simulated at the creation block reports the reason.
    let err = requester
        .tasks
        .revealSeed(id, secret(1))
        .block(failed.block_number.unwrap().into())
        .call()
        .await
        .unwrap_err();
    let err = contracts::Error::from(err);
    assert!(
        is_tm(err.revert().unwrap(), |e| matches!(
            e,
            TmErr::SeedTooEarly(_)
        )),
        "{err}"
    );

    // A wrong secret is refused.
    expect_revert(
        send("reveal", requester.tasks.revealSeed(id, secret(2))).await,
        |r| is_tm(r, |e| matches!(e, TmErr::WrongSecret(_))),
    );
    // The right one, later: seed = keccak(secret, blockhash(creation block), id).
    let receipt = send(
        "TaskManager.revealSeed",
        requester.tasks.revealSeed(id, secret(1)),
    )
    .await
    .unwrap();
    let revealed = receipt
        .decoded_log::<contracts::TaskManager::SeedRevealed>()
        .unwrap();
    let t = task(&net, id).await;
    let creation = net
        .owner
        .provider
        .get_block_by_number(t.createdBlock.into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revealed.blockHash, creation.header.hash);
    let expected = keccak256(
        [
            secret(1).as_slice(),
            creation.header.hash.as_slice(),
            &id.to_be_bytes::<32>(),
        ]
        .concat(),
    );
    assert_eq!(t.seed, expected);

    // The same secret in another block gives another seed: the block, not the requester,
    // decides the draw.
    let id2 = create_and_start(&requester, sd_request(b"{}"), cnx(1), 1).await;
    let t2 = task(&net, id2).await;
    assert_ne!(t2.seed, t.seed);

    // Withholding the secret is not free: after the window the task is cancelled and the
    // requester loses the whole fee, the most a re-rolled draw could give back.
    let id3 = create(&requester, sd_request(b"{}"), cnx(10), secret(3))
        .await
        .unwrap();
    expect_revert(
        send("cancel", net.accounts[20].tasks.cancelTask(id3)).await,
        |r| is_tm(r, |e| matches!(e, TmErr::DeadlineNotReached(_))),
    );
    net.mine(10).await;
    expect_revert(
        send("reveal", requester.tasks.revealSeed(id3, secret(3))).await,
        |r| is_tm(r, |e| matches!(e, TmErr::SeedWindowClosed(_))),
    );
    let before = withdrawable(&net, requester.address).await;
    send(
        "TaskManager.cancelTask",
        net.accounts[20].tasks.cancelTask(id3),
    )
    .await
    .unwrap();
    let t3 = task(&net, id3).await;
    assert_eq!(
        (t3.state, t3.abortReason),
        (TaskState::ABORTED, AbortReason::SEED_NOT_REVEALED)
    );
    assert_eq!(withdrawable(&net, requester.address).await, before);
    assert_eq!(
        withdrawable(&net, net.owner.address).await,
        cnx(10),
        "penalty to the treasury"
    );
}

/// Better than the reference (3): a filter that leaves too small a pool is refused.
#[tokio::test]
async fn requester_cannot_steer_a_task_to_a_small_group() {
    let net = Net::start(|_| {}).await; // default pool minimum: 5
    net.join_nodes(1..6, 400).await; // five honest 24 GB nodes
    // The requester's own three nodes claim 80 GB.
    for i in 6..9 {
        join(&net.accounts[i], "NVIDIA H100 80GB HBM3", 80, 400)
            .await
            .unwrap();
    }
    let requester = net.accounts[10].clone();
    let mut req = sd_request(b"{}");
    req.minVram = 80;
    expect_revert(
        create(&requester, req.clone(), cnx(1), secret(1)).await,
        |r| {
            is_tm(
                r,
                |e| matches!(e, TmErr::PoolTooSmall(x) if x.eligible == U256::from(3) && x.minimum == U256::from(5)),
            )
        },
    );
    req.minVram = 0;
    req.gpuName = "NVIDIA H100 80GB HBM3".to_owned();
    req.gpuVram = 80;
    expect_revert(
        create(&requester, req.clone(), cnx(1), secret(1)).await,
        |r| {
            is_tm(
                r,
                |e| matches!(e, TmErr::PoolTooSmall(x) if x.eligible == U256::from(3)),
            )
        },
    );
    // A version only the requester's nodes claim narrows the pool just the same.
    let mut req = sd_request(b"{}");
    for i in 6..9 {
        send(
            "updateVersion",
            net.accounts[i].registry.updateVersion([1, 9, 0]),
        )
        .await
        .unwrap();
    }
    req.version = [1, 9, 0];
    expect_revert(
        create(&requester, req.clone(), cnx(1), secret(1)).await,
        |r| {
            is_tm(
                r,
                |e| matches!(e, TmErr::PoolTooSmall(x) if x.eligible == U256::from(3)),
            )
        },
    );
    // The unfiltered task is accepted: eight nodes qualify.
    req.version = [1, 0, 0];
    create(&requester, req.clone(), cnx(1), secret(1))
        .await
        .unwrap();
    // Paused nodes do not count: with four of the five honest nodes paused, a 24 GB filter
    // leaves one honest node and the three 80 GB ones... still four, under five.
    for i in 1..5 {
        send("pause", net.accounts[i].registry.pause())
            .await
            .unwrap();
    }
    expect_revert(
        create(&requester, req.clone(), cnx(1), secret(2)).await,
        |r| {
            is_tm(
                r,
                |e| matches!(e, TmErr::PoolTooSmall(x) if x.eligible == U256::from(4)),
            )
        },
    );
}

/// Better than the reference (4): one address never takes two seats of a task, and a
/// requester's own node is never drawn for its task.
#[tokio::test]
async fn one_address_never_takes_two_seats() {
    let net = Net::start(pool3).await;
    net.join_nodes(1..5, 400).await;
    // The requester is itself a node: only the three others can serve it.
    let requester = net.accounts[1].clone();
    for round in 0..4u64 {
        let id = create_and_start(&requester, sd_request(b"{}"), cnx(1), round).await;
        let t = task(&net, id).await;
        let seats: Vec<Address> = t.seats.iter().map(|s| s.node).collect();
        assert!(
            !seats.contains(&requester.address),
            "round {round}: the requester's node was drawn"
        );
        assert!(
            seats[0] != seats[1] && seats[1] != seats[2] && seats[0] != seats[2],
            "round {round}: {seats:?}"
        );
        let nodes = seated(&net, id).await;
        commit_all(&nodes, id, [Some(&SCORE_A), Some(&SCORE_A), Some(&SCORE_A)]).await;
        reveal_all(&nodes, id, [Some(&SCORE_A), Some(&SCORE_A), Some(&SCORE_A)]).await;
        let t = task(&net, id).await;
        net.upload(&nodes[t.uploaderSeat as usize], id)
            .await
            .unwrap();
    }
    // With the requester's node excluded only three remain; with one of them paused the
    // pool is too small.
    send("pause", net.accounts[2].registry.pause())
        .await
        .unwrap();
    expect_revert(
        create(&requester, sd_request(b"{}"), cnx(1), secret(9)).await,
        |r| {
            is_tm(
                r,
                |e| matches!(e, TmErr::PoolTooSmall(x) if x.eligible == U256::from(2)),
            )
        },
    );
}

#[tokio::test]
async fn pause_and_quit_while_busy_take_effect_after_the_task() {
    let net = Net::start(pool3).await;
    net.join_nodes(1..4, 400).await;
    let requester = net.accounts[10].clone();
    let id = create_and_start(&requester, sd_request(b"{}"), cnx(1), 1).await;
    let nodes = seated(&net, id).await;
    send("NodeRegistry.pause", nodes[1].registry.pause())
        .await
        .unwrap();
    send("NodeRegistry.quit", nodes[2].registry.quit())
        .await
        .unwrap();
    assert_eq!(
        node_info(&net, nodes[1].address).await.status,
        NodeStatus::PENDING_PAUSE
    );
    assert_eq!(
        node_info(&net, nodes[2].address).await.status,
        NodeStatus::PENDING_QUIT
    );
    // Still on the task: they must finish it.
    commit_all(&nodes, id, [Some(&SCORE_A), Some(&SCORE_A), Some(&SCORE_A)]).await;
    reveal_all(&nodes, id, [Some(&SCORE_A), Some(&SCORE_A), Some(&SCORE_A)]).await;
    assert_eq!(
        node_info(&net, nodes[1].address).await.status,
        NodeStatus::PAUSED
    );
    let quitter = node_info(&net, nodes[2].address).await;
    assert_eq!(quitter.status, NodeStatus::QUIT);
    assert_eq!(quitter.stake, U256::ZERO);
    assert_eq!(quitter.unbondingAmount, cnx(400));

    // The stake unbonds for a day.
    expect_revert(send("withdraw", nodes[2].registry.withdraw()).await, |r| {
        is_reg(r, |e| matches!(e, RegErr::StillUnbonding(_)))
    });
    net.advance(24 * 60 * 60).await;
    let before = balance(&net, nodes[2].address).await;
    let receipt = send("NodeRegistry.withdraw", nodes[2].registry.withdraw())
        .await
        .unwrap();
    let gas_cost = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    assert_eq!(
        balance(&net, nodes[2].address).await,
        before + cnx(400) - gas_cost
    );

    // Resume after pause, pause when available, quit when paused.
    send("NodeRegistry.resume", nodes[1].registry.resume())
        .await
        .unwrap();
    assert_eq!(
        node_info(&net, nodes[1].address).await.status,
        NodeStatus::AVAILABLE
    );
    send("NodeRegistry.pause", nodes[1].registry.pause())
        .await
        .unwrap();
    send("NodeRegistry.quit", nodes[1].registry.quit())
        .await
        .unwrap();
    assert_eq!(
        node_info(&net, nodes[1].address).await.status,
        NodeStatus::QUIT
    );
    // Stake can be topped up, and the model list replaced.
    send(
        "NodeRegistry.addStake",
        nodes[0].registry.addStake().value(cnx(100)),
    )
    .await
    .unwrap();
    assert_eq!(node_info(&net, nodes[0].address).await.stake, cnx(500));
    let models = vec!["gpt2".to_owned(), SD_MODEL.to_owned()];
    send(
        "NodeRegistry.updateModels",
        nodes[0].registry.updateModels(models.clone()),
    )
    .await
    .unwrap();
    assert_eq!(node_info(&net, nodes[0].address).await.modelIds, models);
    expect_revert(
        send(
            "addStake",
            net.accounts[20].registry.addStake().value(cnx(1)),
        )
        .await,
        |r| is_reg(r, |e| matches!(e, RegErr::WrongStatus(_))),
    );
    // A node can join again after quitting.
    join(&nodes[2], GPU, VRAM, 500).await.unwrap();
    assert_eq!(node_info(&net, nodes[2].address).await.stake, cnx(500));
}

#[tokio::test]
async fn every_access_rule_holds() {
    let net = Net::start(pool3).await;
    net.join_nodes(1..4, 400).await;
    let stranger = net.accounts[20].clone();
    let requester = net.accounts[10].clone();

    // Owner-only administration.
    let rp = net.owner.registry.getParams().call().await.unwrap();
    expect_revert(
        send("setParams", stranger.registry.setParams(rp.clone())).await,
        |r| {
            is_reg(
                r,
                |e| matches!(e, RegErr::NotRegistryOwner(x) if x.caller == stranger.address),
            )
        },
    );
    let tp = net.owner.tasks.getParams().call().await.unwrap();
    expect_revert(
        send("setParams", stranger.tasks.setParams(tp.clone())).await,
        |r| is_tm(r, |e| matches!(e, TmErr::NotOwner(_))),
    );
    expect_revert(
        send(
            "transferOwnership",
            stranger.tasks.transferOwnership(stranger.address),
        )
        .await,
        |r| is_tm(r, |e| matches!(e, TmErr::NotOwner(_))),
    );
    expect_revert(
        send(
            "transferOwnership",
            stranger.registry.transferOwnership(stranger.address),
        )
        .await,
        |r| is_reg(r, |e| matches!(e, RegErr::NotRegistryOwner(_))),
    );
    // The task manager is set once, even by the owner.
    expect_revert(
        send(
            "setTaskManager",
            net.owner.registry.setTaskManager(stranger.address),
        )
        .await,
        |r| is_reg(r, |e| matches!(e, RegErr::TaskManagerAlreadySet(_))),
    );
    // Bad parameters are refused by name.
    let mut bad = tp.clone();
    bad.minPoolSize = 2;
    expect_revert(
        send("setParams", net.owner.tasks.setParams(bad)).await,
        |r| {
            is_tm(
                r,
                |e| matches!(e, TmErr::InvalidParameter(x) if x.name == "minPoolSize"),
            )
        },
    );

    // Only the task manager draws, releases and slashes.
    let filter = contracts::NodeRegistry::NodeFilter {
        minVram: 0,
        gpuId: B256::ZERO,
        version: [1, 0, 0],
        creator: stranger.address,
        modelHashes: vec![],
    };
    expect_revert(
        send(
            "selectNodes",
            stranger.registry.selectNodes(
                filter,
                B256::ZERO,
                U256::from(1),
                U256::from(3),
                U256::from(1),
            ),
        )
        .await,
        |r| is_reg(r, |e| matches!(e, RegErr::NotTaskManager(_))),
    );
    expect_revert(
        send(
            "releaseNode",
            stranger.registry.releaseNode(
                net.accounts[1].address,
                U256::from(1),
                3,
                U256::ZERO,
                U256::from(10_000),
            ),
        )
        .await,
        |r| is_reg(r, |e| matches!(e, RegErr::NotTaskManager(_))),
    );

    // Node rules: minimum stake, GPU announced, one registration, status checks.
    expect_revert(join(&stranger, GPU, VRAM, 399).await, |r| {
        is_reg(
            r,
            |e| matches!(e, RegErr::StakeTooLow(x) if x.minimum == cnx(400)),
        )
    });
    expect_revert(join(&stranger, "", VRAM, 400).await, |r| {
        is_reg(r, |e| matches!(e, RegErr::InvalidGpu(_)))
    });
    expect_revert(join(&net.accounts[1], GPU, VRAM, 400).await, |r| {
        is_reg(
            r,
            |e| matches!(e, RegErr::WrongStatus(x) if x.status == NodeStatus::AVAILABLE),
        )
    });
    expect_revert(send("pause", stranger.registry.pause()).await, |r| {
        is_reg(
            r,
            |e| matches!(e, RegErr::WrongStatus(x) if x.status == NodeStatus::QUIT),
        )
    });
    expect_revert(
        send("resume", net.accounts[1].registry.resume()).await,
        |r| is_reg(r, |e| matches!(e, RegErr::WrongStatus(_))),
    );
    expect_revert(send("withdraw", stranger.registry.withdraw()).await, |r| {
        is_reg(r, |e| matches!(e, RegErr::NoStakeToWithdraw(_)))
    });

    // Task rules: only seated nodes commit, report errors and reveal; only the uploader
    // reports the upload; requests are validated field by field.
    let mut req = sd_request(b"{}");
    req.taskHash = B256::ZERO;
    expect_revert(create(&requester, req, cnx(1), secret(1)).await, |r| {
        is_tm(
            r,
            |e| matches!(e, TmErr::InvalidTask(x) if x.field == "taskHash"),
        )
    });
    // The fee floor: 0.01 CNX per unit of work, checked against the declared size.
    expect_revert(
        create(&requester, sd_request(b"{}"), U256::ZERO, secret(1)).await,
        |r| is_tm(r, |e| matches!(e, TmErr::FeeTooLow(x) if x.fee.is_zero())),
    );
    let mut req = sd_request(b"{}");
    req.size = 3;
    let floor = cnx(3) / U256::from(100);
    expect_revert(
        create(&requester, req.clone(), floor - U256::from(1), secret(1)).await,
        |r| {
            is_tm(
                r,
                |e| matches!(e, TmErr::FeeTooLow(x) if x.minimum == floor),
            )
        },
    );
    // At most 8 model ids of at most 128 bytes: each draw re-checks them per candidate.
    req.modelIds = (0..9).map(|i| format!("model-{i}")).collect();
    expect_revert(
        create(&requester, req.clone(), cnx(1), secret(1)).await,
        |r| {
            is_tm(
                r,
                |e| matches!(e, TmErr::InvalidTask(x) if x.field == "modelIds"),
            )
        },
    );
    req.modelIds = vec!["m".repeat(129)];
    expect_revert(
        create(&requester, req.clone(), cnx(1), secret(1)).await,
        |r| {
            is_tm(
                r,
                |e| matches!(e, TmErr::InvalidTask(x) if x.field == "modelIds"),
            )
        },
    );
    // A node announces at most 64.
    let many: Vec<String> = (0..65).map(|i| format!("model-{i}")).collect();
    expect_revert(
        send("updateModels", net.accounts[1].registry.updateModels(many)).await,
        |r| {
            is_reg(
                r,
                |e| matches!(e, RegErr::InvalidModelId(x) if x.index == U256::from(64)),
            )
        },
    );
    let mut req = sd_request(b"{}");
    req.taskType = 2;
    expect_revert(create(&requester, req, cnx(1), secret(1)).await, |r| {
        is_tm(
            r,
            |e| matches!(e, TmErr::InvalidTask(x) if x.field == "taskType"),
        )
    });
    expect_revert(
        send(
            "getTask",
            stranger.tasks.revealSeed(U256::from(99), secret(1)),
        )
        .await,
        |r| is_tm(r, |e| matches!(e, TmErr::UnknownTask(_))),
    );

    let id = create_and_start(&requester, sd_request(b"{}"), cnx(1), 1).await;
    expect_revert(commit(&stranger, id, &SCORE_A, nonce(5)).await, |r| {
        is_tm(
            r,
            |e| matches!(e, TmErr::NotSelected(x) if x.caller == stranger.address),
        )
    });
    expect_revert(
        send("reportError", requester.tasks.reportError(id, 1)).await,
        |r| is_tm(r, |e| matches!(e, TmErr::NotSelected(_))),
    );
    let nodes = seated(&net, id).await;
    commit_all(&nodes, id, [Some(&SCORE_A), Some(&SCORE_A), Some(&SCORE_A)]).await;
    expect_revert(reveal(&stranger, id, &SCORE_A).await, |r| {
        is_tm(r, |e| matches!(e, TmErr::NotSelected(_)))
    });
    reveal_all(&nodes, id, [Some(&SCORE_A), Some(&SCORE_A), Some(&SCORE_A)]).await;
    let t = task(&net, id).await;
    // The review's attack 6: an upload counts only with the relay's receipt for exactly the
    // settled digest. The uploader's word, a receipt signed by another key, for other
    // files, for another task, or malformed, are all refused.
    let uploader = &nodes[t.uploaderSeat as usize];
    let forger = PrivateKeySigner::random();
    for receipt in [
        Bytes::new(),
        Bytes::from(vec![0u8; 65]),
        net.receipt_for(&forger, id, t.resultDigest),
        net.receipt_for(&net.relay, id, B256::repeat_byte(7)),
        net.receipt_for(&net.relay, id + U256::from(1), t.resultDigest),
    ] {
        expect_revert(
            send("upload", uploader.tasks.reportResultsUploaded(id, receipt)).await,
            |r| is_tm(r, |e| matches!(e, TmErr::InvalidReceipt(_))),
        );
    }
    // A valid receipt counts whoever reports it (here the requester, for a silent
    // uploader); the uploader is paid all the same.
    let before = withdrawable(&net, uploader.address).await;
    net.upload(&requester, id).await.unwrap();
    assert!(withdrawable(&net, uploader.address).await > before);
    // A finished task cannot be cancelled or revealed again.
    expect_revert(send("cancel", requester.tasks.cancelTask(id)).await, |r| {
        is_tm(
            r,
            |e| matches!(e, TmErr::WrongState(x) if x.state == TaskState::SUCCESS),
        )
    });
    expect_revert(
        send("revealSeed", requester.tasks.revealSeed(id, secret(1))).await,
        |r| is_tm(r, |e| matches!(e, TmErr::WrongState(_))),
    );
    // Chain-level check the relay relies on: the error decodes to a readable reason.
    let err = create(
        &requester,
        {
            let mut r = sd_request(b"{}");
            r.minVram = 1000;
            r
        },
        cnx(1),
        secret(2),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "transaction reverted: TaskManager: PoolTooSmall(PoolTooSmall { eligible: 0, minimum: 3 })"
    );
}

/// Models are named on chain by their manifest digest, once, by the owner (attack 9: a
/// relay could otherwise serve every node the same altered weights).
#[tokio::test]
async fn models_are_registered_once_by_their_manifest() {
    let net = Net::start(|_| {}).await;
    let manifest = B256::repeat_byte(0x5a);
    let stranger = &net.accounts[3];
    expect_revert(
        send(
            "registerModel",
            stranger.registry.registerModel("sd-tiny".into(), manifest),
        )
        .await,
        |r| is_reg(r, |e| matches!(e, RegErr::NotRegistryOwner(_))),
    );
    let owner = &net.owner;
    for (name, digest) in [
        ("", manifest),
        (&"m".repeat(129)[..], manifest),
        ("sd-tiny", B256::ZERO),
    ] {
        expect_revert(
            send(
                "registerModel",
                owner.registry.registerModel(name.into(), digest),
            )
            .await,
            |r| is_reg(r, |e| matches!(e, RegErr::InvalidRegistryParameter(_))),
        );
    }
    send(
        "NodeRegistry.registerModel",
        owner.registry.registerModel("sd-tiny".into(), manifest),
    )
    .await
    .unwrap();
    let read = owner
        .registry
        .modelManifest("sd-tiny".into())
        .call()
        .await
        .unwrap();
    assert_eq!(read, manifest);
    assert_eq!(
        owner
            .registry
            .modelManifest("sd-tiny-2".into())
            .call()
            .await
            .unwrap(),
        B256::ZERO
    );
    // A name never changes its weights, not even by the owner.
    expect_revert(
        send(
            "registerModel",
            owner
                .registry
                .registerModel("sd-tiny".into(), B256::repeat_byte(1)),
        )
        .await,
        |r| {
            is_reg(
                r,
                |e| matches!(e, RegErr::ModelAlreadyRegistered(x) if x.manifest == manifest),
            )
        },
    );
}
