//! The relay binary as a process, and model-file uploads that record what was acknowledged:
//! for the tests that kill relays mid-upload.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::B256;
use alloy::signers::local::PrivateKeySigner;
use relay_api::auth::body_sha256;

use super::{free_port, now, sign_for};

/// Model file path (`model/file`) → (SHA-256, size) of every acknowledged upload.
pub(crate) type Acknowledged = Arc<Mutex<BTreeMap<String, (B256, usize)>>>;

/// A running `relay` binary.
pub(crate) struct RelayProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
}

impl RelayProcess {
    /// Starts `relay --config <config> --listen 127.0.0.1:<port> <args>` with `env` and
    /// waits until it is healthy (`port` 0: a free one).
    pub(crate) async fn start(
        config: &Path,
        port: u16,
        args: &[&str],
        env: &[(&str, String)],
    ) -> Self {
        let port = if port == 0 { free_port() } else { port };
        let mut child = Command::new(env!("CARGO_BIN_EXE_relay"))
            .arg("--config")
            .arg(config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the relay binary");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..400 {
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

    /// SIGKILL, then reap.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("SIGKILL the relay");
        self.child.wait().expect("reap the relay");
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// File contents that differ per (worker, sequence), sizes from 1 KiB to ~1.5 MiB.
pub(crate) fn contents(worker: u64, seq: u64) -> Vec<u8> {
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

/// A relay as a client reaches it: its URL and the chain its signatures are bound to.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
    pub(crate) chain_id: u64,
}

/// Uploads `model/f<seq>.bin` for seq = first, first+1, … to the relay at `endpoint` until
/// one is not acknowledged (the relay was killed), recording each acknowledged one.
pub(crate) async fn upload_until_refused(
    endpoint: Endpoint,
    publisher: PrivateKeySigner,
    model: String,
    worker: u64,
    first: u64,
    acknowledged: Acknowledged,
) {
    for s in first.. {
        let bytes = contents(worker, s);
        let hash = body_sha256(&bytes);
        let path = format!("/v1/models/files?model={model}&path=f{s}.bin");
        let Endpoint {
            client,
            base,
            chain_id,
        } = &endpoint;
        let auth = sign_for(base, &publisher, *chain_id, "PUT", &path, hash, now());
        let mut request = client.put(format!("{base}{path}")).body(bytes.clone());
        for (name, value) in auth.pairs() {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(r) if r.status() == reqwest::StatusCode::CREATED => {
                acknowledged
                    .lock()
                    .unwrap()
                    .insert(format!("{model}/f{s}.bin"), (hash, bytes.len()));
            }
            // Killed mid-request: not acknowledged, so nothing is promised.
            _ => return,
        }
    }
}

/// Every acknowledged upload is listed by the relay at `base` with its hash and size; every
/// listed file (whether or not its acknowledgement arrived) downloads whole and hashes to
/// its name.
pub(crate) async fn check_everything(
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
            "acknowledged {name} was lost (at {base})"
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
        assert_eq!(body.len(), *size, "{name} is truncated (at {base})");
        assert_eq!(body_sha256(&body), *sha, "{name} is corrupt (at {base})");
    }
}
