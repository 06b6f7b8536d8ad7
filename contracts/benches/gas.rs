//! Gas used per contract call over a whole task life cycle on anvil: `cargo bench -p
//! contracts --bench gas`. Prints a table; asserts nothing about the figures.

#[path = "../tests/support/mod.rs"]
mod support;

use alloy::primitives::U256;
use support::*;

const SCORE: [u8; 16] = [
    0x22, 0x2b, 0x2a, 0xe9, 0x89, 0x36, 0x44, 0xc2, 1, 2, 3, 4, 5, 6, 7, 8,
];

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let net = Net::start(|p| {
        p.tasks.minPoolSize = 3;
        p.tasks.maxQueueSize = 4;
    })
    .await;
    // Thirteen nodes: selection walks all available candidates, so this shows its cost at scale.
    net.join_nodes(1..14, 400).await;
    let requester = net.accounts[20].clone();

    for round in 0..3u64 {
        let id = create_and_start(&requester, sd_request(b"{}"), cnx(1), round).await;
        let nodes = seated(&net, id).await;
        for (i, node) in nodes.iter().enumerate() {
            commit(node, id, &SCORE, nonce(round * 3 + i as u64))
                .await
                .expect("commit");
        }
        for node in &nodes {
            reveal(node, id, &SCORE).await.expect("reveal");
        }
        let t = task(&net, id).await;
        let uploader = &nodes[t.uploaderSeat as usize];
        net.upload(uploader, id).await.expect("upload");
        send("TaskManager.withdraw", uploader.tasks.withdraw())
            .await
            .expect("withdraw");
    }

    // Fill every node, queue a task, and let the end of a task start it.
    let mut running = Vec::new();
    for round in 10..13u64 {
        running.push(create_and_start(&requester, sd_request(b"{}"), cnx(1), round).await);
    }
    let queued = create_and_start(&requester, sd_request(b"{}"), cnx(2), 20).await;
    let id = running[0];
    let nodes = seated(&net, id).await;
    for (i, node) in nodes.iter().enumerate() {
        commit(node, id, &SCORE, nonce(100 + i as u64))
            .await
            .expect("commit");
    }
    for node in &nodes {
        reveal(node, id, &SCORE)
            .await
            .expect("reveal (starts the queued task)");
    }
    let t = task(&net, queued).await;
    assert_eq!(t.state, contracts::TaskManager::TaskState::RUNNING);

    // A silent task: cancelled after the timeout, all three nodes slashed.
    net.advance(15 * 60).await;
    send(
        "TaskManager.cancelTask",
        requester.tasks.cancelTask(running[1]),
    )
    .await
    .expect("cancel");

    let available = net
        .owner
        .registry
        .getAvailableNodes()
        .call()
        .await
        .expect("available nodes");
    let node = net.actor(*available.first().expect("an available node"));
    send("NodeRegistry.pause", node.registry.pause())
        .await
        .expect("pause");
    send("NodeRegistry.resume", node.registry.resume())
        .await
        .expect("resume");
    send("NodeRegistry.quit", node.registry.quit())
        .await
        .expect("quit");
    send(
        "TaskManager.processQueue",
        requester.tasks.processQueue(U256::from(2)),
    )
    .await
    .expect("processQueue");

    print_gas_report();
}
