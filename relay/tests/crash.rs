//! A relay killed with SIGKILL at arbitrary moments under upload load, then restarted on
//! the same data directory, still has every upload it acknowledged, intact, and serves no
//! half-written file.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::key;
use common::process::{
    Acknowledged, Endpoint, RelayProcess, check_everything, upload_until_refused,
};

const CHAIN_ID: u64 = 31337;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_any_moment_loses_no_acknowledged_upload() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("relay.toml");
    let publisher = key(50);
    std::fs::write(
        &config,
        format!(
            "model_publishers = [\"{}\"]\n[chain]\nchain_id = {CHAIN_ID}\npoll_interval_ms = 200\n",
            publisher.address()
        ),
    )
    .unwrap();

    // path -> (sha256, size) of every acknowledged upload.
    let acknowledged: Acknowledged = Arc::default();
    let client = reqwest::Client::new();
    let mut seq = 0;
    for round in 0..6u64 {
        let relay = start(&data, &config).await;
        let so_far = acknowledged.lock().unwrap().clone();
        check_everything(&client, &relay.base, &so_far).await;

        let mut workers = Vec::new();
        for worker in 0..3u64 {
            workers.push(tokio::spawn(upload_until_refused(
                Endpoint {
                    client: client.clone(),
                    base: relay.base.clone(),
                    chain_id: CHAIN_ID,
                },
                publisher.clone(),
                format!("crash/w{worker}"),
                worker,
                seq,
                acknowledged.clone(),
            )));
        }
        seq += 1_000_000;
        // Kill at a different moment each round, mid-stream.
        tokio::time::sleep(Duration::from_millis(150 + round * 97)).await;
        relay.kill();
        for worker in workers {
            worker.await.unwrap();
        }
    }
    let relay = start(&data, &config).await;
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 6,
        "too few uploads were acknowledged ({}) for the test to mean anything",
        acknowledged.len()
    );
    check_everything(&client, &relay.base, &acknowledged).await;
    // Interrupted uploads left no temporary files once restarted.
    assert_eq!(
        std::fs::read_dir(data.join("blobs/tmp")).unwrap().count(),
        0
    );
    relay.kill();
}

/// The relay on `data_dir`; no chain is needed for model files (the follower retries in the
/// background).
async fn start(data_dir: &std::path::Path, config: &std::path::Path) -> RelayProcess {
    let data = data_dir.to_str().expect("UTF-8 path");
    RelayProcess::start(
        config,
        0,
        &[
            "--data-dir",
            data,
            "--rpc-url",
            "http://127.0.0.1:9",
            "--contract",
            "0x0000000000000000000000000000000000000001",
        ],
        &[],
    )
    .await
}
