//! A relay killed with SIGKILL at arbitrary moments under upload load, then restarted on
//! the same data directory, still has every upload it acknowledged, intact, and serves no
//! half-written file.

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::B256;
use common::{key, now, sign_for};
use relay_api::auth::{self, body_sha256};

const CHAIN_ID: u64 = 31337;

struct Relay {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Relay {
    async fn start(data_dir: &std::path::Path, config: &std::path::Path) -> Self {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_relay"))
            .arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            // No chain is needed for model files; the follower retries in the background.
            .args(["--rpc-url", "http://127.0.0.1:9"])
            .args(["--contract", "0x0000000000000000000000000000000000000001"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the relay binary");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = client.get(format!("{base}/health")).send().await
                && r.status().is_success()
            {
                return Self { child, base };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("relay did not become healthy");
    }

    fn kill(mut self) {
        self.child.kill().expect("SIGKILL the relay");
        self.child.wait().expect("reap the relay");
    }
}

/// File contents that differ per (worker, sequence), sizes from 1 KiB to ~1.5 MiB.
fn contents(worker: u64, seq: u64) -> Vec<u8> {
    let size = 1024 + ((worker * 7919 + seq * 104_729) % 1_500_000) as usize;
    let mut state = worker.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seq;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

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
    let acknowledged: Arc<Mutex<BTreeMap<String, (B256, usize)>>> = Arc::default();
    let client = reqwest::Client::new();
    let mut seq = 0;
    for round in 0..6u64 {
        let relay = Relay::start(&data, &config).await;
        let so_far = acknowledged.lock().unwrap().clone();
        check_everything(&client, &relay.base, &so_far).await;

        let mut workers = Vec::new();
        for worker in 0..3u64 {
            let base = relay.base.clone();
            let client = client.clone();
            let publisher = publisher.clone();
            let acknowledged = acknowledged.clone();
            let first = seq;
            workers.push(tokio::spawn(async move {
                for s in first.. {
                    let bytes = contents(worker, s);
                    let hash = body_sha256(&bytes);
                    let path = format!("/v1/models/files?model=crash/w{worker}&path=f{s}.bin");
                    let auth = sign_for(&base, &publisher, CHAIN_ID, "PUT", &path, hash, now());
                    let mut request = client.put(format!("{base}{path}")).body(bytes.clone());
                    for (name, value) in auth.pairs() {
                        request = request.header(name, value);
                    }
                    request = request.header(auth::BODY_SHA256_HEADER, hash.to_string());
                    match request.send().await {
                        Ok(r) if r.status() == reqwest::StatusCode::CREATED => {
                            acknowledged
                                .lock()
                                .unwrap()
                                .insert(format!("crash/w{worker}/f{s}.bin"), (hash, bytes.len()));
                        }
                        // Killed mid-request: not acknowledged, so nothing is promised.
                        _ => return,
                    }
                }
            }));
        }
        seq += 1_000_000;
        // Kill at a different moment each round, mid-stream.
        tokio::time::sleep(Duration::from_millis(150 + round * 97)).await;
        relay.kill();
        for worker in workers {
            worker.await.unwrap();
        }
    }
    let relay = Relay::start(&data, &config).await;
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

/// Every acknowledged upload is listed with its hash and size; every listed file (whether
/// or not its acknowledgement arrived) downloads whole and hashes to its name.
async fn check_everything(
    client: &reqwest::Client,
    base: &str,
    acknowledged: &BTreeMap<String, (B256, usize)>,
) {
    let listing: serde_json::Value = client
        .get(format!("{base}/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut listed = BTreeMap::new();
    for model in listing["models"].as_array().unwrap() {
        for file in model["files"].as_array().unwrap() {
            let name = format!(
                "{}/{}",
                model["name"].as_str().unwrap(),
                file["path"].as_str().unwrap()
            );
            let sha: B256 = file["sha256"].as_str().unwrap().parse().unwrap();
            listed.insert(name, (sha, file["size"].as_u64().unwrap() as usize));
        }
    }
    for (name, expected) in acknowledged {
        assert_eq!(
            listed.get(name),
            Some(expected),
            "acknowledged {name} was lost"
        );
    }
    for (name, (sha, size)) in &listed {
        let body = client
            .get(format!("{base}/v1/blobs/{sha:x}"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(body.len(), *size, "{name} is truncated");
        assert_eq!(body_sha256(&body), *sha, "{name} is corrupt");
    }
}
