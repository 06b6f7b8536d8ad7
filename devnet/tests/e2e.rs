//! End to end: the whole network on this machine (anvil, the contracts, the relay, native
//! node processes on the CPU backend) carrying real tasks from creation to a verified
//! result, with a node killed mid-task and a dishonest node among honest ones.
//!
//! The relay and node binaries are those `cargo test --workspace` builds beside this test.
//! Each test starts its own devnet in a temporary folder; the chain's clock is moved forward
//! instead of waiting out deadlines.

use std::time::{Duration, Instant};

use alloy::primitives::{U256, utils::parse_ether};
use contracts::TaskManager::{NodeOutcome, TaskState};
use contracts::history::{Settlement, TaskEvent};
use devnet::network::{Binaries, Devnet, Options};
use devnet::requester::DevRequester;
use verifier::report::Verdict;
use worker_wasm::node::fault::Fault;

/// The tests take turns: each network runs three node processes, and on a two-core machine
/// four networks at once would only make every deadline a race.
async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

async fn devnet(name: &str, faults: Vec<Fault>) -> Devnet {
    let dir = devnet::scratch(&format!("e2e-{name}")).unwrap();
    let bins = Binaries::beside_this_program().expect("the test build's relay and node");
    let mut options = Options::new(dir, bins).unwrap();
    options.nodes = faults;
    Devnet::start(options).await.expect("devnet starts")
}

/// Orders and pays for a task, returning its id.
async fn submit(requester: &DevRequester, args: Vec<u8>, fee: &str) -> U256 {
    let order = requester
        .order(args, parse_ether(fee).unwrap())
        .await
        .unwrap();
    requester
        .submit(&order, |_| {})
        .await
        .map_err(|(_, e)| e)
        .unwrap()
}

fn sd_args(images: u32, seed: u64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "version": "2.5.0",
        "base_model": {"name": "sd-tiny", "variant": null},
        "prompt": "a lighthouse on a cliff at dawn, best quality++, (dramatic sky)1.2",
        "negative_prompt": "blurry, low quality---",
        "task_config": {
            "num_images": images, "seed": seed, "steps": 6, "cfg": 5,
            "image_width": 64, "image_height": 64, "safety_checker": false
        }
    }))
    .unwrap()
}

/// Waits for the task to end, failing with every process's log if it does not; returns
/// the seconds it took.
async fn finish(net: &Devnet, requester: &DevRequester, id: U256) -> f64 {
    let started = Instant::now();
    match requester.wait(id, 600_000, |_| {}).await {
        Ok(task) => {
            assert_eq!(
                task.state,
                TaskState::SUCCESS,
                "task {id} aborted\n{}",
                net.logs()
            );
            started.elapsed().as_secs_f64()
        }
        Err(e) => panic!("{e}\n{}", net.logs()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sd_task_runs_from_creation_to_verified_result() {
    let _turn = one_at_a_time().await;
    let net = devnet("sd", vec![Fault::None; 3]).await;
    let requester = net.requester(0).unwrap();
    let fee = parse_ether("2").unwrap();
    let started = Instant::now();
    let id = submit(&requester, sd_args(2, 982_884), "2").await;
    let seconds = finish(&net, &requester, id).await;

    // The files on the relay hash to what the three nodes revealed, and every commitment
    // opens.
    let (report, files) = requester.verify(id).await.unwrap();
    let total_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(report.verdict, Verdict::Verified, "{:?}", report.problems);
    assert_eq!(files.len(), 2);
    assert_eq!(report.seats.len(), 3);
    for seat in &report.seats {
        assert_eq!(seat.commitment_valid, Some(true));
        assert_eq!(seat.agrees_with_files, Some(true));
        assert_eq!(seat.max_distance, Some(0), "honest CPU nodes agree exactly");
    }

    // Fees were paid: all three agreeing nodes earned a reward, nobody was slashed, and
    // rewards plus refunds add up to the fee.
    let history = requester.history(id).await.unwrap();
    let settlement = Settlement::of(&history);
    for node in &net.info.nodes {
        assert!(
            settlement.reward_of(*node) > U256::ZERO,
            "node {node} earned nothing: {settlement:?}"
        );
        assert_eq!(settlement.slashed(*node), U256::ZERO);
    }
    let paid: U256 = settlement
        .rewards
        .iter()
        .chain(&settlement.refunds)
        .map(|(_, amount)| *amount)
        .sum();
    assert_eq!(paid, fee);
    // Each seat told the relay its steps as it ran, the last report when it finished.
    let progress = requester.relay().progress(id).await.unwrap();
    let mut reporting: Vec<_> = progress.nodes.iter().map(|n| n.node).collect();
    reporting.sort();
    let mut seats = net.info.nodes.clone();
    seats.sort();
    assert_eq!(reporting, seats, "{progress:?}");
    assert!(
        progress
            .nodes
            .iter()
            .all(|n| n.step == n.steps && n.steps > 0),
        "{progress:?}"
    );
    let steps = requester.reader().steps(id, 3).await.unwrap().unwrap();
    assert_eq!((steps.reporting, steps.step), (3, steps.steps), "{steps}");
    // Anyone verifies it with no key: its results are public, read unsigned.
    let (public, public_files) = requester.reader().verify_public(id).await.unwrap();
    assert_eq!(public.verdict, Verdict::Verified, "{:?}", public.problems);
    assert_eq!(public_files, files);

    // A private task's results stay with its creator and seats.
    let mut order = requester
        .order(sd_args(1, 7), parse_ether("1").unwrap())
        .await
        .unwrap();
    order.private = true;
    let private = requester
        .submit(&order, |_| {})
        .await
        .map_err(|(_, e)| e)
        .unwrap();
    finish(&net, &requester, private).await;
    let (report, _) = requester.verify(private).await.unwrap();
    assert_eq!(report.verdict, Verdict::Verified, "{:?}", report.problems);
    let refused = requester.reader().verify_public(private).await.unwrap_err();
    assert!(refused.to_string().contains("private"), "{refused}");

    let inference_ms = net
        .nodes
        .iter()
        .filter_map(|node| devnet::bench::inference_ms(&node.log(), &id.to_string()))
        .max()
        .expect("the nodes log their inference time");
    println!(
        "bench: SD task (2 images, 6 steps, 64x64, debug build) created to verified in \
         {total_ms:.0} ms ({seconds:.1} s waiting on chain): inference {inference_ms} ms, \
         the rest {:.0} ms",
        total_ms - inference_ms as f64
    );
}

/// All three nodes busy: a second task queues. Its seed is public by then, so its draw
/// takes only nodes free before the drawing block, and the settlement that frees the last
/// node cannot start it; an idle node's `processQueue` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_queued_behind_another_is_started_by_an_idle_node() {
    let _turn = one_at_a_time().await;
    let net = devnet("queue", vec![Fault::None; 3]).await;
    let requester = net.requester(0).unwrap();
    // Three images keep the first task running while the second is created.
    let first = submit(&requester, sd_args(3, 1), "1").await;
    let second = submit(&requester, sd_args(1, 2), "1").await;
    let history = requester.history(second).await.unwrap();
    assert!(
        history
            .iter()
            .any(|e| matches!(e.event, TaskEvent::Queued { .. })),
        "the second task queued: {history:?}"
    );
    finish(&net, &requester, first).await;
    finish(&net, &requester, second).await;
    for id in [first, second] {
        let (report, _) = requester.verify(id).await.unwrap();
        assert_eq!(report.verdict, Verdict::Verified, "{:?}", report.problems);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_task_is_penalized_and_the_task_settles() {
    let _turn = one_at_a_time().await;
    let mut net = devnet("kill", vec![Fault::None; 3]).await;
    let requester = net.requester(0).unwrap();
    let id = submit(&requester, sd_args(1, 7), "1").await;
    // All three nodes are seated (the pool is exactly three); kill one before it can
    // commit. Killing at selection is "mid-task": it has its seat and owes a commitment.
    let victim = 2;
    let victim_address = net.nodes[victim].address;
    net.kill_node(victim);
    let stake_before = net.stake(victim_address).await.unwrap();

    // The two others commit; the dead node never does. Nothing waits 5 minutes: move the
    // chain's clock past the commit deadline; the live nodes cancel the stalled phase
    // themselves, reveal, and the task settles.
    let tasks = contracts::TaskManager::new(net.info.deployments.task_manager, net.provider());
    let waited = Instant::now();
    loop {
        let task = tasks.getTask(id).call().await.unwrap();
        if task.commits == 2 {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(300),
            "the live nodes did not commit\n{}",
            net.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    net.advance_time(301).await.unwrap();
    finish(&net, &requester, id).await;

    let history = requester.history(id).await.unwrap();
    let closed = history.iter().find_map(|e| match &e.event {
        TaskEvent::SeatClosed {
            node,
            outcome,
            slashed,
        } if *node == victim_address => Some((*outcome, *slashed)),
        _ => None,
    });
    let (outcome, slashed) = closed.expect("the silent seat was closed");
    assert_eq!(outcome, NodeOutcome::TIMEOUT);
    assert!(slashed > U256::ZERO);
    // What is left of its stake stays its own: still staked or, once below the minimum
    // (400 - 10 % here), kicked and unbonding.
    let registry = contracts::NodeRegistry::new(net.info.deployments.node_registry, net.provider());
    let after = registry.getNode(victim_address).call().await.unwrap();
    assert_eq!(after.stake + after.unbondingAmount, stake_before - slashed);
    if stake_before - slashed < parse_ether("400").unwrap() {
        assert_eq!(after.status, contracts::NodeRegistry::NodeStatus::QUIT);
    }
    let (report, _) = requester.verify(id).await.unwrap();
    assert_eq!(report.verdict, Verdict::Verified, "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dishonest_node_is_outvoted_and_slashed() {
    let _turn = one_at_a_time().await;
    let net = devnet("cheat", vec![Fault::None, Fault::AlterImage, Fault::None]).await;
    let cheater = net.nodes[1].address;
    let stake_before = net.stake(cheater).await.unwrap();
    let requester = net.requester(0).unwrap();
    let id = submit(&requester, sd_args(1, 1234), "1").await;
    finish(&net, &requester, id).await;

    let settlement = Settlement::of(&requester.history(id).await.unwrap());
    let (_, outcome, slashed) = settlement
        .seats
        .iter()
        .find(|(node, _, _)| *node == cheater)
        .copied()
        .expect("the cheater's seat closed");
    assert_eq!(outcome, NodeOutcome::DISSENT);
    assert_eq!(
        slashed,
        stake_before / U256::from(5),
        "an unappealed dissent costs a fifth of the stake"
    );
    assert_eq!(settlement.reward_of(cheater), U256::ZERO);
    let (report, _) = requester.verify(id).await.unwrap();
    assert_eq!(report.verdict, Verdict::Verified, "{:?}", report.problems);
    let cheater_check = report
        .seats
        .iter()
        .find(|s| s.node == cheater.to_string())
        .unwrap();
    assert_eq!(cheater_check.agrees_with_files, Some(false));
    assert!(cheater_check.max_distance.unwrap() >= report.threshold);

    // Its operator hears what the fault did to its standing, once the node is idle again.
    let warned = "health is 30% after recent faults";
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while !net.nodes[1].log().contains(warned) && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        net.nodes[1].log().contains(warned),
        "{}",
        net.nodes[1].log()
    );
    assert!(
        !net.nodes[0].log().contains("health is"),
        "{}",
        net.nodes[0].log()
    );

    // Each node's ledger from the logs: the honest ones earned on the task, the cheater
    // lost a fifth of its stake and earned nothing.
    let provider = contracts::read_only(net.info.rpc_url.parse().unwrap());
    let ledger = |node| {
        contracts::history::node_ledger(
            &provider,
            net.info.deployments.task_manager,
            node,
            net.info.deployments.deployment_block,
            1_000,
        )
    };
    let cheated = ledger(cheater).await.unwrap();
    assert_eq!(cheated.len(), 1, "{cheated:?}");
    assert_eq!(cheated[0].task, id);
    assert_eq!(cheated[0].outcome, Some(NodeOutcome::DISSENT));
    assert_eq!(
        (cheated[0].reward, cheated[0].slashed),
        (U256::ZERO, slashed)
    );
    let honest = ledger(net.nodes[0].address).await.unwrap();
    assert_eq!(honest.len(), 1, "{honest:?}");
    assert_eq!(honest[0].reward, settlement.reward_of(net.nodes[0].address));
    assert!(honest[0].reward > U256::ZERO && honest[0].slashed.is_zero());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_task_runs_with_the_tiny_qwen3() {
    let _turn = one_at_a_time().await;
    let net = devnet("llm", vec![Fault::None; 3]).await;
    let requester = net.requester(0).unwrap();
    // The first Qwen3 case of the reference: a reference worker's 0.json for these
    // arguments is in llm-cases.json.
    let cases = locate::json("llm-cases.json");
    let case = cases
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["arch"] == "qwen3")
        .expect("a qwen3 case");
    let args = serde_json::to_vec(&case["task"]).unwrap();
    let id = submit(&requester, args, "5").await;
    finish(&net, &requester, id).await;
    let (report, files) = requester.verify(id).await.unwrap();
    assert_eq!(report.verdict, Verdict::Verified, "{:?}", report.problems);
    assert_eq!(files[0].0, "0.json");
    assert_eq!(
        String::from_utf8(files[0].1.clone()).unwrap(),
        case["result_json"].as_str().unwrap(),
        "the nodes' 0.json is byte for byte what a reference worker writes"
    );
}

/// The review's attack 7, on real nodes: a task declaring less work than its arguments ask
/// for (so a lower fee floor and a shorter deadline) is refused by every honest seat
/// alike before running; two error reports abort it, and nobody loses stake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_declaring_less_work_than_it_asks_is_refused_at_no_ones_cost() {
    let _turn = one_at_a_time().await;
    let net = devnet("size", vec![Fault::None, Fault::None, Fault::None]).await;
    let requester = net.requester(0).unwrap();
    let mut stakes = Vec::new();
    for node in &net.nodes {
        stakes.push(net.stake(node.address).await.unwrap());
    }
    let mut order = requester
        .order(sd_args(2, 99), parse_ether("1").unwrap())
        .await
        .unwrap();
    assert_eq!(
        order.request.size, 2,
        "two 64x64 images at 6 steps: two units"
    );
    order.request.size = 1;
    let id = requester
        .submit(&order, |_| {})
        .await
        .map_err(|(_, e)| e)
        .unwrap();
    let task = requester
        .wait(id, 600_000, |_| {})
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", net.logs()));
    assert_eq!(task.state, TaskState::ABORTED, "{}", net.logs());
    assert_eq!(
        task.abortReason,
        contracts::TaskManager::AbortReason::TOO_MANY_ERRORS
    );
    for (node, before) in net.nodes.iter().zip(stakes) {
        assert_eq!(
            net.stake(node.address).await.unwrap(),
            before,
            "no stake lost"
        );
    }
}

/// Two colluding seats outvote the honest third; it appeals by itself, three more nodes
/// come up, serve as its jury (reading the arguments from the relay as seats do), and the
/// jury overturns: the colluders lose half their stake and the result no longer verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_colluding_pair_loses_to_the_honest_nodes_appeal() {
    use contracts::Appeals::AppealState;
    let _turn = one_at_a_time().await;
    let mut net = devnet(
        "appeal",
        vec![Fault::AlterImage, Fault::AlterImage, Fault::None],
    )
    .await;
    let honest = net.nodes[2].address;
    let colluders = [net.nodes[0].address, net.nodes[1].address];
    let requester = net.requester(0).unwrap();
    let id = submit(&requester, sd_args(1, 77), "1").await;
    finish(&net, &requester, id).await;
    let registry = contracts::NodeRegistry::new(net.info.deployments.node_registry, net.provider());
    let held = async |node| {
        let info = registry.getNode(node).call().await.unwrap();
        info.stake + info.unbondingAmount
    };
    let before = [held(colluders[0]).await, held(colluders[1]).await];

    // The honest seat, outvoted, appeals on its own; a jury of 3 needs free nodes that
    // are not seats of the task.
    let appeals = contracts::Appeals::new(net.info.deployments.appeals, net.provider());
    let waited = Instant::now();
    while appeals.getAppeal(id).call().await.unwrap().state == AppealState::NONE {
        assert!(
            waited.elapsed() < Duration::from_secs(120),
            "the outvoted node did not appeal\n{}",
            net.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    net.add_nodes(&[Fault::None; 3]).await.unwrap();
    let appeal = loop {
        let appeal = appeals.getAppeal(id).call().await.unwrap();
        if appeal.state >= AppealState::OVERTURNED {
            break appeal;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(600),
            "the appeal was not decided (state {})\n{}",
            AppealState::name(appeal.state),
            net.logs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(appeal.state, AppealState::OVERTURNED, "{}", net.logs());
    assert_eq!(appeal.appellant, honest);
    assert_eq!(
        appeal.dissentVotes, 3,
        "every juror sided with the honest seat"
    );
    for (i, node) in colluders.iter().enumerate() {
        assert_eq!(
            held(*node).await,
            before[i] / U256::from(2),
            "a colluder loses half its stake"
        );
    }
    assert!(
        appeals.claimable(honest).call().await.unwrap() > appeal.bond,
        "the honest node gets its bond and its slash back"
    );
    let (report, _) = requester.verify(id).await.unwrap();
    assert_eq!(report.verdict, Verdict::Failed);
    assert!(
        report.problems.iter().any(|p| p.contains("jury")),
        "{:?}",
        report.problems
    );
}
