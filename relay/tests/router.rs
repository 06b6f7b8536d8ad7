//! The HTTP API without a socket: requests go through `app(state).oneshot(...)` against
//! real SQLite and disk storage, with the chain view fed by events.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use alloy::primitives::{Address, B256, Bytes as ChainBytes};
use alloy::signers::local::PrivateKeySigner;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::chain::files_digest;
use common::{AuthHeaders, RELAY_URL, key, multipart, now, png, png_with_text, sign};
use http_body_util::BodyExt;
use relay::blob::DiskStore;
use relay::chain::{ChainEvent, ChainIndex, TaskId, TaskType};
use relay::config::Limits;
use relay::receipts::Receipts;
use relay::{AppState, app, db};
use relay_api::auth::{self, body_sha256};
use serde_json::Value;
use tower::ServiceExt;

const CHAIN_ID: u64 = 31337;

struct Harness {
    app: Router,
    index: Arc<ChainIndex>,
    state: AppState,
    next_block: std::sync::atomic::AtomicU64,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The error code of a JSON error reply.
    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.json()))
            .to_owned()
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }
}

fn creator() -> PrivateKeySigner {
    key(1)
}
fn node(n: u8) -> PrivateKeySigner {
    key(10 + n)
}
fn stranger() -> PrivateKeySigner {
    key(99)
}
/// The relay's receipt key.
fn receipt_key() -> PrivateKeySigner {
    key(60)
}
const TASK_MANAGER: Address = Address::repeat_byte(0x7a);

impl Harness {
    async fn new() -> Self {
        Self::with_limits(Limits::default()).await
    }

    async fn with_limits(limits: Limits) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DiskStore::open(dir.path().join("blobs")).unwrap();
        Self::assemble(dir, limits, Box::new(blobs)).await
    }

    async fn assemble(
        dir: tempfile::TempDir,
        limits: Limits,
        blobs: Box<dyn relay::blob::BlobStore>,
    ) -> Self {
        let db = db::connect(&format!(
            "sqlite://{}",
            dir.path().join("relay.db").display()
        ))
        .await
        .unwrap();
        let index = Arc::new(ChainIndex::new(CHAIN_ID));
        let state = AppState::new(db, blobs, index.clone(), limits, vec![key(50).address()])
            .with_public_urls([RELAY_URL])
            .unwrap()
            .with_receipts(Some(
                Receipts::new(
                    &receipt_key().to_bytes().to_string(),
                    CHAIN_ID,
                    TASK_MANAGER,
                )
                .unwrap(),
            ));
        Self {
            app: app(state.clone()),
            index,
            state,
            next_block: 1.into(),
            _dir: dir,
        }
    }

    fn events(&self, events: impl IntoIterator<Item = ChainEvent>) {
        let block = self
            .next_block
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.index.apply(block, events);
    }

    /// A task created by `creator()` whose arguments are `args`, with nodes 1..=3.
    fn task(&self, id: u64, kind: TaskType, args: &[u8]) -> TaskId {
        let id = TaskId::from(id);
        self.events([ChainEvent::TaskCreated {
            id,
            kind,
            creator: creator().address(),
            task_hash: B256::from(verifier::commitment::task_hash(args)),
        }]);
        self.events((1..=3).map(|n| ChainEvent::NodeSelected {
            id,
            node: node(n).address(),
        }));
        id
    }

    /// The contract settled on `uploader`'s `score` for the result `files` it committed
    /// to (their digest; `&[]` where no upload is meant to succeed).
    fn reveal(
        &self,
        id: TaskId,
        uploader: &PrivateKeySigner,
        score: Vec<u8>,
        files: &[(String, Vec<u8>)],
    ) {
        self.events([ChainEvent::ResultRevealed {
            id,
            uploader: uploader.address(),
            score: ChainBytes::from(score),
            files_digest: files_digest(files),
        }]);
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    fn request(
        method: &str,
        path: &str,
        auth: Option<&AuthHeaders>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Request<Body> {
        let mut builder = Request::builder().method(method).uri(path);
        for (name, value) in auth.iter().flat_map(|a| a.pairs()) {
            builder = builder.header(name, value);
        }
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        builder.body(Body::from(body)).unwrap()
    }

    /// A request signed now by `signer`.
    async fn signed(
        &self,
        signer: &PrivateKeySigner,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let auth = sign(signer, CHAIN_ID, method, path, body_sha256(&body), now());
        self.send(Self::request(method, path, Some(&auth), content_type, body))
            .await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Self::request("GET", path, None, None, Vec::new()))
            .await
    }
}

const ARGS: &[u8] = br#"{"base_model":"emilianJR/chilloutmix_NiPrunedFp32Fix","prompt":"a lighthouse","task_config":{"num_images":2,"seed":982883}}"#;

/// Arguments of an LLM task.
const LLM_ARGS: &[u8] = br#"{"model": "gpt2-tiny", "messages": [{"role": "user", "content": "What is an LLM?"}], "generation_config": {"max_new_tokens": 20, "do_sample": false}, "seed": 1, "dtype": "float32"}"#;

#[tokio::test(flavor = "multi_thread")]
async fn arguments_round_trip_for_the_creator_and_the_task_nodes() {
    let h = Harness::new().await;
    let id = h.task(7, TaskType::StableDiffusion, ARGS);
    let path = format!("/v1/tasks/{id}/args");

    let put = h
        .signed(&creator(), "PUT", &path, None, ARGS.to_vec())
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{:?}", put.json());
    assert_eq!(put.json()["size"], ARGS.len());
    // Idempotent: the same bytes again are fine.
    let again = h
        .signed(&creator(), "PUT", &path, None, ARGS.to_vec())
        .await;
    assert_eq!(again.status, StatusCode::OK);

    for reader in [creator(), node(1), node(3)] {
        let got = h.signed(&reader, "GET", &path, None, Vec::new()).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.body.as_ref(), ARGS);
        assert_eq!(got.header(header::CONTENT_TYPE), "application/json");
    }
    let denied = h.signed(&stranger(), "GET", &path, None, Vec::new()).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(
        denied.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("neither the creator")
    );

    // The task id may be written in hex too.
    let hex = h
        .signed(&node(2), "GET", "/v1/tasks/0x7/args", None, Vec::new())
        .await;
    assert_eq!(hex.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_arguments_are_refused_with_a_reason_and_leave_nothing() {
    let limits = Limits {
        max_args_bytes: 1024,
        ..Limits::default()
    };
    let h = Harness::with_limits(limits).await;
    let id = h.task(1, TaskType::StableDiffusion, ARGS);
    let path = format!("/v1/tasks/{id}/args");

    let other = String::from_utf8(ARGS.to_vec())
        .unwrap()
        .replace("lighthouse", "harbour")
        .into_bytes();
    let mismatch = h.signed(&creator(), "PUT", &path, None, other).await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(mismatch.code(), "args_hash_mismatch");

    let malformed = h
        .signed(&creator(), "PUT", &path, None, b"{\"prompt\": ".to_vec())
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.code(), "malformed_json");
    let not_object = h
        .signed(&creator(), "PUT", &path, None, b"[1,2]".to_vec())
        .await;
    assert_eq!(not_object.code(), "malformed_json");
    let out_of_range = String::from_utf8(ARGS.to_vec())
        .unwrap()
        .replace("\"num_images\":2", "\"num_images\":50");
    let invalid = h
        .signed(&creator(), "PUT", &path, None, out_of_range.into_bytes())
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.code(), "invalid_args");
    assert!(
        invalid.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("num_images"),
        "{}",
        invalid.json()
    );

    let by_node = h.signed(&node(1), "PUT", &path, None, ARGS.to_vec()).await;
    assert_eq!(by_node.status, StatusCode::FORBIDDEN);

    let big = format!("{{\"prompt\":\"{}\"}}", "a".repeat(2000));
    let too_big = h
        .signed(&creator(), "PUT", &path, None, big.into_bytes())
        .await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        too_big.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1024")
    );

    let unknown = h
        .signed(&creator(), "PUT", "/v1/tasks/999/args", None, ARGS.to_vec())
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.code(), "unknown_task");

    let bad_id = h
        .signed(
            &creator(),
            "PUT",
            "/v1/tasks/seven/args",
            None,
            ARGS.to_vec(),
        )
        .await;
    assert_eq!(bad_id.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_id.code(), "bad_task_id");

    // Nothing was stored by any of those.
    let get = h.signed(&creator(), "GET", &path, None, Vec::new()).await;
    assert_eq!(get.status, StatusCode::NOT_FOUND);
    assert_eq!(get.code(), "no_args");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_expired_and_replayed_signatures_are_refused() {
    let h = Harness::new().await;
    let id = h.task(3, TaskType::StableDiffusion, ARGS);
    let path = format!("/v1/tasks/{id}/args");
    let body = ARGS.to_vec();
    let put =
        |auth: &AuthHeaders, body: Vec<u8>| Harness::request("PUT", &path, Some(auth), None, body);

    let unsigned = h
        .send(Harness::request("PUT", &path, None, None, body.clone()))
        .await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unsigned.code(), "missing_auth");

    let old = sign(
        &creator(),
        CHAIN_ID,
        "PUT",
        &path,
        body_sha256(&body),
        now() - 3600,
    );
    let expired = h.send(put(&old, body.clone())).await;
    assert_eq!(expired.code(), "expired_signature");
    let future = sign(
        &creator(),
        CHAIN_ID,
        "PUT",
        &path,
        body_sha256(&body),
        now() + 3600,
    );
    assert_eq!(
        h.send(put(&future, body.clone())).await.code(),
        "expired_signature"
    );

    // Signed over other bytes than those sent.
    let tampered = sign(
        &creator(),
        CHAIN_ID,
        "PUT",
        &path,
        body_sha256(b"{}"),
        now(),
    );
    let reply = h.send(put(&tampered, body.clone())).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.code(), "body_hash_mismatch");
    // ... nor with the header changed to the sent bytes' hash: the signature covers it.
    let mut rehashed = sign(
        &creator(),
        CHAIN_ID,
        "PUT",
        &path,
        body_sha256(b"{}"),
        now(),
    );
    rehashed.body_sha256 = body_sha256(&body);
    assert_eq!(
        h.send(put(&rehashed, body.clone())).await.code(),
        "bad_signature"
    );

    // Signed for another relay: refused as such, or (the header changed to this relay's
    // name) as a bad signature. Domain separation makes one relay's signatures useless at
    // another.
    let elsewhere = common::sign_for(
        "https://other-relay.example",
        &creator(),
        CHAIN_ID,
        "PUT",
        &path,
        body_sha256(&body),
        now(),
    );
    let reply = h.send(put(&elsewhere, body.clone())).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "wrong_relay");
    let mut relabelled = elsewhere;
    relabelled.relay = auth::origin(RELAY_URL).unwrap();
    assert_eq!(
        h.send(put(&relabelled, body.clone())).await.code(),
        "bad_signature"
    );

    // Signed for another chain, another method, another path.
    for (chain, method, signed_path) in [
        (1, "PUT", path.as_str()),
        (CHAIN_ID, "POST", path.as_str()),
        (CHAIN_ID, "PUT", "/v1/tasks/4/args"),
    ] {
        let auth = sign(
            &creator(),
            chain,
            method,
            signed_path,
            body_sha256(&body),
            now(),
        );
        assert_eq!(
            h.send(put(&auth, body.clone())).await.code(),
            "bad_signature"
        );
    }

    // Someone else's signature under the creator's address.
    let mut forged = sign(
        &stranger(),
        CHAIN_ID,
        "PUT",
        &path,
        body_sha256(&body),
        now(),
    );
    forged.address = creator().address();
    let reply = h.send(put(&forged, body.clone())).await;
    assert_eq!(reply.code(), "bad_signature");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&stranger().address().to_string())
    );

    let mut garbled = sign(
        &creator(),
        CHAIN_ID,
        "PUT",
        &path,
        body_sha256(&body),
        now(),
    );
    garbled.signature = "0x1234".into();
    assert_eq!(
        h.send(put(&garbled, body.clone())).await.code(),
        "malformed_auth"
    );

    // A valid request works once; its replay is refused.
    let good = sign(
        &creator(),
        CHAIN_ID,
        "PUT",
        &path,
        body_sha256(&body),
        now(),
    );
    assert_eq!(
        h.send(put(&good, body.clone())).await.status,
        StatusCode::CREATED
    );
    let replay = h.send(put(&good, body.clone())).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.code(), "replayed_nonce");
}

fn llm_file(text: &str) -> Vec<u8> {
    format!(
        "{{\"model\": \"gpt2\", \"choices\": [{{\"finish_reason\": \"stop\", \"message\": {{\"role\": \"assistant\", \"content\": \"{text}\"}}, \"index\": 0}}]}}"
    )
    .into_bytes()
}

fn llm_score(files: &[Vec<u8>]) -> Vec<u8> {
    files.iter().flat_map(|f| body_sha256(f).0).collect()
}

fn named(files: &[Vec<u8>], extension: &str) -> Vec<(String, Vec<u8>)> {
    files
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("{i}.{extension}"), f.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn results_are_accepted_only_from_the_uploader_with_the_revealed_score() {
    let h = Harness::new().await;
    let id = h.task(11, TaskType::Llm, ARGS);
    let path = format!("/v1/tasks/{id}/results");
    let files = vec![llm_file("hello"), llm_file("world")];
    let (content_type, body) = multipart(&named(&files, "json"));

    let early = h
        .signed(&node(2), "POST", &path, Some(&content_type), body.clone())
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert_eq!(early.code(), "not_revealed");

    h.reveal(id, &node(2), llm_score(&files), &named(&files, "json"));
    let wrong_node = h
        .signed(&node(1), "POST", &path, Some(&content_type), body.clone())
        .await;
    assert_eq!(wrong_node.status, StatusCode::FORBIDDEN);

    // Same count, other bytes: the score differs.
    let (ct_bad, bad) = multipart(&named(&[llm_file("hello"), llm_file("w0rld")], "json"));
    let mismatch = h.signed(&node(2), "POST", &path, Some(&ct_bad), bad).await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(mismatch.code(), "score_mismatch");

    let listing = h.signed(&creator(), "GET", &path, None, Vec::new()).await;
    assert_eq!(
        listing.code(),
        "no_results",
        "a refused upload left a record"
    );

    let accepted = h
        .signed(&node(2), "POST", &path, Some(&content_type), body.clone())
        .await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.json());

    let twice = h
        .signed(&node(2), "POST", &path, Some(&content_type), body)
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(twice.code(), "results_exist");

    let listing = h.signed(&node(3), "GET", &path, None, Vec::new()).await;
    assert_eq!(listing.status, StatusCode::OK);
    let listed = listing.json();
    assert_eq!(listed["files"][1]["name"], "1.json");
    assert_eq!(listed["files"][1]["size"], files[1].len());
    assert_eq!(
        listed["uploader"],
        node(2).address().to_string().to_lowercase()
    );

    let file_path = format!("{path}/1.json");
    let file = h
        .signed(&creator(), "GET", &file_path, None, Vec::new())
        .await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body.as_ref(), files[1].as_slice());
    assert_eq!(file.header(header::CONTENT_TYPE), "application/json");
    assert_eq!(
        file.header(header::CACHE_CONTROL),
        "private, max-age=31536000, immutable"
    );
    let etag = file.header(header::ETAG).to_owned();
    assert_eq!(
        etag,
        format!("\"{}\"", alloy::hex::encode(body_sha256(&files[1])))
    );

    let denied = h
        .signed(&stranger(), "GET", &file_path, None, Vec::new())
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let missing = h
        .signed(
            &creator(),
            "GET",
            &format!("{path}/7.json"),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(missing.code(), "no_such_file");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_result_uploads_get_a_4xx_and_leave_nothing() {
    let limits = Limits {
        max_result_files: 3,
        max_result_file_bytes: 4096,
        max_image_side: 256,
        ..Limits::default()
    };
    let h = Harness::with_limits(limits).await;
    let id = h.task(12, TaskType::StableDiffusion, ARGS);
    h.reveal(id, &node(1), vec![0x11; 16], &[]);
    let path = format!("/v1/tasks/{id}/results");
    let uploader = node(1);
    let small_png = png(32, 32, 1);

    type Files = Vec<(String, Vec<u8>)>;
    let cases: Vec<(Files, StatusCode, &str)> = vec![
        (
            vec![
                ("0.png".into(), small_png.clone()),
                ("1.png".into(), b"\x89PNG\r\n\x1a\nnot really".to_vec()),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "corrupt_png",
        ),
        (
            vec![
                ("0.png".into(), small_png.clone()),
                ("1.png".into(), png(300, 10, 2)),
            ],
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            vec![
                ("0.png".into(), small_png.clone()),
                ("one.png".into(), small_png.clone()),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_file_name",
        ),
        (
            vec![("0.png".into(), small_png.clone())],
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_file_count",
        ),
        (
            (0..4)
                .map(|i| (format!("{i}.png"), small_png.clone()))
                .collect(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            vec![
                ("0.png".into(), vec![0u8; 5000]),
                ("1.png".into(), small_png.clone()),
            ],
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
    ];
    for (i, (files, status, code)) in cases.into_iter().enumerate() {
        let (ct, body) = multipart(&files);
        let reply = h.signed(&uploader, "POST", &path, Some(&ct), body).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (status, code),
            "case {i}: {}",
            reply.json()
        );
    }

    let not_multipart = h
        .signed(
            &node(1),
            "POST",
            &path,
            Some("application/json"),
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(not_multipart.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let truncated = h
        .signed(
            &node(1),
            "POST",
            &path,
            Some("multipart/form-data; boundary=xyz"),
            b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"0.png\"\r\n\r\nabc".to_vec(),
        )
        .await;
    assert_eq!(
        truncated.status,
        StatusCode::BAD_REQUEST,
        "{}",
        truncated.json()
    );

    let listing = h.signed(&creator(), "GET", &path, None, Vec::new()).await;
    assert_eq!(listing.code(), "no_results");
    let metrics = String::from_utf8(h.get("/metrics").await.body.to_vec()).unwrap();
    assert!(
        metrics.contains("relay_results_accepted_total 0"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn aborted_tasks_take_no_results() {
    let h = Harness::new().await;
    let id = h.task(13, TaskType::Llm, ARGS);
    h.events([ChainEvent::TaskAborted { id }]);
    let (ct, body) = multipart(&named(&[llm_file("x")], "json"));
    let reply = h
        .signed(
            &node(1),
            "POST",
            &format!("/v1/tasks/{id}/results"),
            Some(&ct),
            body,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.code(), "task_aborted");
}

fn sd_tiny() -> PathBuf {
    locate::reference("sd-tiny")
}

#[tokio::test(flavor = "multi_thread")]
async fn models_are_listed_and_served_by_hash_with_ranges() {
    let h = Harness::new().await;
    let dir = tempfile::tempdir().unwrap();
    // A small model in the transformers layout, written here so the test needs no fixture.
    let weights: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 253) as u8).collect();
    std::fs::write(dir.path().join("config.json"), br#"{"model_type":"gpt2"}"#).unwrap();
    std::fs::write(dir.path().join("model.safetensors"), &weights).unwrap();
    std::fs::create_dir(dir.path().join("extra")).unwrap();
    std::fs::write(dir.path().join("extra/merges.txt"), b"#version: 0.2\n").unwrap();

    let db = db::connect(&format!(
        "sqlite://{}",
        h._dir.path().join("relay.db").display()
    ))
    .await
    .unwrap();
    let blobs = DiskStore::open(h._dir.path().join("blobs")).unwrap();
    relay::models::import_dir(db.as_ref(), &blobs, "tiny/gpt2", dir.path(), 1 << 30)
        .await
        .unwrap();
    relay::models::import_dir(db.as_ref(), &blobs, "tiny/sd", &sd_tiny(), 1 << 30)
        .await
        .unwrap();

    let listing = h.get("/v1/models").await;
    assert_eq!(listing.status, StatusCode::OK);
    let models = listing.json()["models"].as_array().unwrap().clone();
    let gpt2 = &models[0];
    assert_eq!(gpt2["name"], "tiny/gpt2");
    assert_eq!(gpt2["layout"], "transformers");
    let paths: Vec<&str> = gpt2["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["config.json", "extra/merges.txt", "model.safetensors"]
    );
    let weights_entry = &gpt2["files"][2];
    assert_eq!(weights_entry["size"], weights.len());
    let sha = weights_entry["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha, body_sha256(&weights).to_string());
    assert_eq!(models[1]["layout"], "diffusers_pipeline");
    assert!(
        models[1]["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "unet/diffusion_pytorch_model.safetensors")
    );

    let blob_path = format!("/v1/blobs/{sha}");
    let full = h.get(&blob_path).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.body.as_ref(), weights.as_slice());
    assert_eq!(full.header(header::ACCEPT_RANGES), "bytes");
    assert_eq!(
        full.header(header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );

    let ranged = |range: &'static str| {
        Request::get(&blob_path)
            .header(header::RANGE, range)
            .body(Body::empty())
            .unwrap()
    };
    let part = h.send(ranged("bytes=1000-1999")).await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body.as_ref(), &weights[1000..2000]);
    assert_eq!(
        part.header(header::CONTENT_RANGE),
        format!("bytes 1000-1999/{}", weights.len())
    );
    let tail = h.send(ranged("bytes=299990-")).await;
    assert_eq!(tail.body.as_ref(), &weights[299_990..]);
    let past = h.send(ranged("bytes=400000-")).await;
    assert_eq!(past.status, StatusCode::RANGE_NOT_SATISFIABLE);

    let etag = full.header(header::ETAG).to_owned();
    let cached = h
        .send(
            Request::get(&blob_path)
                .header(header::IF_NONE_MATCH, etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);

    assert_eq!(
        h.get(&format!("/v1/blobs/{}", "00".repeat(32)))
            .await
            .code(),
        "no_such_blob"
    );
    assert_eq!(h.get("/v1/blobs/xyz").await.code(), "bad_hash");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_publishers_upload_model_files_and_the_body_must_match_its_hash() {
    let h = Harness::new().await;
    let publisher = key(50);
    let data = b"model weights".to_vec();
    let path = "/v1/models/files?model=tiny/gpt2&path=model.safetensors";
    let upload = |signer: &PrivateKeySigner, declared: B256, body: Vec<u8>| {
        let auth = sign(signer, CHAIN_ID, "PUT", path, declared, now());
        let mut request = Harness::request("PUT", path, Some(&auth), None, body);
        request.headers_mut().insert(
            auth::BODY_SHA256_HEADER,
            declared.to_string().parse().unwrap(),
        );
        h.send(request)
    };

    let outsider = upload(&stranger(), body_sha256(&data), data.clone()).await;
    assert_eq!(outsider.status, StatusCode::FORBIDDEN);
    let lying = upload(&publisher, body_sha256(b"other"), data.clone()).await;
    assert_eq!(lying.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(lying.code(), "body_hash_mismatch");
    assert!(
        h.get("/v1/models").await.json()["models"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let ok = upload(&publisher, body_sha256(&data), data.clone()).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.json());
    let fetched = h.get(&format!("/v1/blobs/{:x}", body_sha256(&data))).await;
    assert_eq!(fetched.body.as_ref(), data.as_slice());

    let bad_path = "/v1/models/files?model=tiny/gpt2&path=../../etc/passwd";
    let auth = sign(
        &publisher,
        CHAIN_ID,
        "PUT",
        bad_path,
        body_sha256(&data),
        now(),
    );
    let mut request = Harness::request("PUT", bad_path, Some(&auth), None, data.clone());
    request.headers_mut().insert(
        auth::BODY_SHA256_HEADER,
        body_sha256(&data).to_string().parse().unwrap(),
    );
    assert_eq!(h.send(request).await.code(), "bad_model_name");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_metrics_and_unknown_routes() {
    let h = Harness::new().await;
    let health = h.get("/health").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(health.json()["synced_block"], Value::Null);
    h.task(1, TaskType::Llm, ARGS);
    assert_eq!(h.get("/health").await.json()["synced_block"], 2);

    let metrics = h.get("/metrics").await;
    let text = String::from_utf8(metrics.body.to_vec()).unwrap();
    assert!(
        text.contains(
            "relay_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"
        ),
        "{text}"
    );
    assert!(text.contains("relay_chain_synced_block 2"));

    let missing = h.get("/v2/nothing").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "no_route");
    let _ = h.state.metrics();
    let _ = Address::ZERO;
}

#[tokio::test(flavor = "multi_thread")]
async fn reference_images_are_accepted_against_their_reference_phashes() {
    let case = locate::reference("sd-cases/dpm_default");
    let tsv = std::fs::read_to_string(case.join("phash.tsv")).expect("shared reference case");
    let mut files = Vec::new();
    let mut score = Vec::new();
    for line in tsv.lines() {
        let (name, hash) = line.split_once('\t').unwrap();
        files.push((name.to_owned(), std::fs::read(case.join(name)).unwrap()));
        let hash = u64::from_str_radix(hash.trim().trim_start_matches("0x"), 16).unwrap();
        score.extend_from_slice(&hash.to_be_bytes());
    }
    let h = Harness::new().await;
    let id = h.task(21, TaskType::StableDiffusion, ARGS);
    // One bit off in the last image: refused.
    let mut off = score.clone();
    *off.last_mut().unwrap() ^= 1;
    h.reveal(id, &node(3), off, &files);
    let path = format!("/v1/tasks/{id}/results");
    let (ct, body) = multipart(&files);
    let refused = h
        .signed(&node(3), "POST", &path, Some(&ct), body.clone())
        .await;
    assert_eq!(refused.code(), "score_mismatch");

    let id = h.task(22, TaskType::StableDiffusion, ARGS);
    h.reveal(id, &node(3), score, &files);
    let path = format!("/v1/tasks/{id}/results");
    let accepted = h.signed(&node(3), "POST", &path, Some(&ct), body).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.json());
    let png = h
        .signed(
            &creator(),
            "GET",
            &format!("{path}/1.png"),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(png.header(header::CONTENT_TYPE), "image/png");
    assert_eq!(png.body.as_ref(), files[1].1.as_slice());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_object_store_backend_serves_the_same_api() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = relay::blob::ObjectStoreBlobs::from_url("memory:///relay").unwrap();
    let h = Harness::assemble(dir, Limits::default(), Box::new(blobs)).await;
    let args = LLM_ARGS;
    let id = h.task(31, TaskType::Llm, args);
    let path = format!("/v1/tasks/{id}/args");
    let put = h
        .signed(&creator(), "PUT", &path, None, args.to_vec())
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{}", put.json());
    let got = h.signed(&node(1), "GET", &path, None, Vec::new()).await;
    assert_eq!(got.body.as_ref(), args);

    let files = vec![llm_file(&"long answer ".repeat(200_000))];
    h.reveal(id, &node(1), llm_score(&files), &named(&files, "json"));
    let (ct, body) = multipart(&named(&files, "json"));
    let results = format!("/v1/tasks/{id}/results");
    let accepted = h.signed(&node(1), "POST", &results, Some(&ct), body).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.json());
    // Larger than the one-read threshold: streamed from the object store.
    let file = h
        .signed(
            &creator(),
            "GET",
            &format!("{results}/0.json"),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body.as_ref(), files[0].as_slice());
}

/// The TEST ONLY fault switch: while its flag file exists, PNG result downloads are an
/// altered image (another pHash), so clients' verification can be tested against a
/// dishonest relay; without the file, or unconfigured, the stored bytes are served.
#[tokio::test(flavor = "multi_thread")]
async fn the_test_only_tamper_switch_alters_png_downloads_while_its_flag_exists() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("tamper.flag");
    let blobs = DiskStore::open(dir.path().join("blobs")).unwrap();
    let mut h = Harness::assemble(dir, Limits::default(), Box::new(blobs)).await;
    let state = AppState::new(
        db::connect(&format!(
            "sqlite://{}",
            h._dir.path().join("tampering.db").display()
        ))
        .await
        .unwrap(),
        Box::new(DiskStore::open(h._dir.path().join("tampering-blobs")).unwrap()),
        h.index.clone(),
        Limits::default(),
        Vec::new(),
    )
    .with_public_urls([RELAY_URL])
    .unwrap()
    .with_test_only_tamper_results_flag(Some(flag.clone()));
    h.app = app(state);

    let image = png(64, 48, 5);
    let hash = verifier::phash::phash_bytes(&image).unwrap().0;
    let id = h.task(31, TaskType::StableDiffusion, ARGS);
    h.reveal(
        id,
        &node(1),
        hash.to_be_bytes().to_vec(),
        &[("0.png".to_owned(), image.clone())],
    );
    let path = format!("/v1/tasks/{id}/results");
    let (ct, body) = multipart(&[("0.png".to_owned(), image.clone())]);
    let accepted = h.signed(&node(1), "POST", &path, Some(&ct), body).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.json());

    let file = format!("{path}/0.png");
    let honest = h.signed(&creator(), "GET", &file, None, Vec::new()).await;
    assert_eq!(honest.body.as_ref(), image.as_slice());

    std::fs::write(&flag, b"on").unwrap();
    let altered = h.signed(&creator(), "GET", &file, None, Vec::new()).await;
    assert_eq!(altered.status, StatusCode::OK);
    assert_eq!(altered.header(header::CONTENT_TYPE), "image/png");
    assert_ne!(altered.body.as_ref(), image.as_slice());
    let altered_hash = verifier::phash::phash_bytes(&altered.body).unwrap().0;
    assert!(
        (altered_hash ^ hash).count_ones() >= 16,
        "the altered image must be far from the original: {altered_hash:x} vs {hash:x}"
    );
    // The listing is untouched: only the bytes lie.
    let listing = h.signed(&creator(), "GET", &path, None, Vec::new()).await;
    assert_eq!(listing.status, StatusCode::OK);

    std::fs::remove_file(&flag).unwrap();
    let again = h.signed(&creator(), "GET", &file, None, Vec::new()).await;
    assert_eq!(again.body.as_ref(), image.as_slice());
}

/// A body that records whether anyone polled it, and never ends: what a 64 MiB junk upload
/// looks like to a relay that waits for it.
fn watched_body() -> (Body, Arc<std::sync::atomic::AtomicBool>) {
    let polled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = polled.clone();
    let stream = futures_util::stream::poll_fn(move |_| {
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        std::task::Poll::<Option<Result<Bytes, std::io::Error>>>::Pending
    });
    (Body::from_stream(stream), polled)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_is_read_only_from_a_signer_entitled_to_send_it() {
    let h = Harness::new().await;
    let id = h.task(41, TaskType::StableDiffusion, ARGS);
    h.reveal(id, &node(1), vec![0x11; 8], &[]);
    let results = format!("/v1/tasks/{id}/results");
    let args = format!("/v1/tasks/{id}/args");
    let junk_hash = body_sha256(&vec![0u8; 64 << 20]);
    for (signer, method, path, code) in [
        (stranger(), "POST", &results, "forbidden"),
        (node(2), "POST", &results, "forbidden"),
        (node(1), "PUT", &args, "forbidden"),
    ] {
        let auth = sign(&signer, CHAIN_ID, method, path, junk_hash, now());
        let (body, polled) = watched_body();
        let mut request = Harness::request(method, path, Some(&auth), None, Vec::new());
        *request.body_mut() = body;
        let reply = tokio::time::timeout(std::time::Duration::from_secs(10), h.send(request))
            .await
            .expect("the relay answered without waiting for the body");
        assert_eq!(
            reply.code(),
            code,
            "{method} {path} by {}",
            signer.address()
        );
        assert!(
            !polled.load(std::sync::atomic::Ordering::SeqCst),
            "the relay read a body before checking {} may send it",
            signer.address()
        );
    }
    // Unsigned, or signed badly: not read either.
    let (body, polled) = watched_body();
    let mut request = Harness::request("POST", &results, None, None, Vec::new());
    *request.body_mut() = body;
    assert_eq!(h.send(request).await.code(), "missing_auth");
    assert!(!polled.load(std::sync::atomic::Ordering::SeqCst));
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_in_progress_are_bounded_per_signer_and_in_total() {
    let limits = Limits {
        max_uploads_per_signer: 1,
        max_buffered_upload_bytes: 3 << 20,
        ..Limits::default()
    };
    let h = Harness::with_limits(limits).await;
    let slow_upload = |signer: PrivateKeySigner, id: TaskId, length: usize| {
        let path = format!("/v1/tasks/{id}/results");
        let auth = sign(&signer, CHAIN_ID, "POST", &path, B256::ZERO, now());
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let mut request = Harness::request("POST", &path, Some(&auth), None, Vec::new());
        *request.body_mut() = Body::from_stream(tokio_stream_from(rx));
        request
            .headers_mut()
            .insert(header::CONTENT_LENGTH, length.into());
        (request, tx)
    };
    let mut ids = Vec::new();
    for n in 0..3u8 {
        let id = h.task(50 + u64::from(n), TaskType::StableDiffusion, ARGS);
        h.reveal(id, &node(n + 1), vec![0x11; 8], &[]);
        ids.push(id);
    }
    // Node 1 starts a 2 MiB upload and stalls.
    let (first, hold) = slow_upload(node(1), ids[0], 2 << 20);
    let app = h.app.clone();
    let pending = tokio::spawn(async move { app.oneshot(first).await.unwrap() });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // A second upload by the same node waits its turn: 429 with Retry-After.
    let (second, _tx) = slow_upload(node(1), ids[0], 1000);
    let reply = h.send(second).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.header(header::RETRY_AFTER), "1");
    // Another node's 2 MiB upload would pass the 3 MiB held in total: 503.
    let (third, _tx) = slow_upload(node(2), ids[1], 2 << 20);
    let reply = h.send(third).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.code(), "busy");
    // A small one fits beside it.
    let small = png(8, 8, 1);
    let (ct, body) = multipart(&[("0.png".to_owned(), small)]);
    let reply = h
        .signed(
            &node(3),
            "POST",
            &format!("/v1/tasks/{}/results", ids[2]),
            Some(&ct),
            body,
        )
        .await;
    assert_eq!(reply.code(), "score_mismatch", "{}", reply.json());
    // Once the stalled upload ends (its client gone), its slot is free again.
    drop(hold);
    let _ = pending.await.unwrap();
    let (ct, body) = multipart(&[("0.png".to_owned(), png(8, 8, 1))]);
    let reply = h
        .signed(
            &node(1),
            "POST",
            &format!("/v1/tasks/{}/results", ids[0]),
            Some(&ct),
            body,
        )
        .await;
    assert_eq!(reply.code(), "score_mismatch", "{}", reply.json());
}

/// The receiving half of a channel as a body stream.
fn tokio_stream_from(
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

/// The review's attack 5: the uploader (or anyone in between) sends other bytes with the
/// same pixels, so the same perceptual hash and score. The relay accepts only the bytes
/// whose digest the uploader committed to, and its receipt signs exactly that digest.
#[tokio::test(flavor = "multi_thread")]
async fn only_the_committed_bytes_are_accepted_and_receipted() {
    let h = Harness::new().await;
    let image = png(64, 48, 5);
    let lookalike = png_with_text(64, 48, 5, Some("other bytes, same pixels"));
    assert_ne!(image, lookalike);
    let hash = verifier::phash::phash_bytes(&image).unwrap().0;
    assert_eq!(verifier::phash::phash_bytes(&lookalike).unwrap().0, hash);
    let committed = vec![("0.png".to_owned(), image)];
    let id = h.task(61, TaskType::StableDiffusion, ARGS);
    h.reveal(id, &node(1), hash.to_be_bytes().to_vec(), &committed);
    let path = format!("/v1/tasks/{id}/results");

    let (ct, body) = multipart(&[("0.png".to_owned(), lookalike)]);
    let refused = h.signed(&node(1), "POST", &path, Some(&ct), body).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.code(), "digest_mismatch");

    let (ct, body) = multipart(&committed);
    let accepted = h.signed(&node(1), "POST", &path, Some(&ct), body).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.json());
    // The receipt: the relay key's EIP-191 signature over this task's committed digest,
    // what the contract checks; the listing gives the same one.
    let view: relay_api::ResultsView = serde_json::from_value(accepted.json()).unwrap();
    let receipt = view.receipt.expect("a receipt");
    let signature = alloy::primitives::Signature::from_raw(&receipt).unwrap();
    let expected = verifier::commitment::upload_receipt_hash(
        CHAIN_ID,
        &TASK_MANAGER.0.0,
        &id.0.to_be_bytes::<32>(),
        &files_digest(&committed).0,
    );
    let signer = signature.recover_address_from_msg(expected).unwrap();
    assert_eq!(signer, receipt_key().address());
    let listed = h.signed(&creator(), "GET", &path, None, Vec::new()).await;
    let listed: relay_api::ResultsView = serde_json::from_value(listed.json()).unwrap();
    assert_eq!(listed.receipt.as_ref(), Some(&receipt));
}

/// A task's results are public unless its creator made them private when storing the
/// arguments: anyone reads a public task's results, with no signature; a private task's
/// stay with its creator and selected nodes; the choice does not change afterwards.
#[tokio::test(flavor = "multi_thread")]
async fn results_are_public_unless_the_creator_made_them_private() {
    let h = Harness::new().await;
    let files = vec![llm_file("hello")];
    let (content_type, body) = multipart(&named(&files, "json"));
    let mut tasks = Vec::new();
    for (n, query) in [(31, ""), (32, "?visibility=private")] {
        let id = h.task(n, TaskType::Llm, LLM_ARGS);
        let args = format!("/v1/tasks/{id}/args{query}");
        let stored = h
            .signed(&creator(), "PUT", &args, None, LLM_ARGS.to_vec())
            .await;
        assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.json());
        h.reveal(id, &node(2), llm_score(&files), &named(&files, "json"));
        let results = format!("/v1/tasks/{id}/results");
        let accepted = h
            .signed(
                &node(2),
                "POST",
                &results,
                Some(&content_type),
                body.clone(),
            )
            .await;
        assert_eq!(accepted.status, StatusCode::CREATED);
        tasks.push(id);
    }
    let (public, private) = (tasks[0], tasks[1]);

    // Public: anyone, signed or not, lists and downloads.
    let listing = h.get(&format!("/v1/tasks/{public}/results")).await;
    assert_eq!(listing.status, StatusCode::OK, "{}", listing.json());
    assert_eq!(listing.json()["files"][0]["name"], "0.json");
    let file = h.get(&format!("/v1/tasks/{public}/results/0.json")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body.as_ref(), files[0].as_slice());
    let path = format!("/v1/tasks/{public}/results");
    let signed = h.signed(&stranger(), "GET", &path, None, Vec::new()).await;
    assert_eq!(signed.status, StatusCode::OK);
    // A bad signature is still refused, public or not.
    let auth = sign(
        &stranger(),
        CHAIN_ID + 1,
        "GET",
        &path,
        body_sha256(b""),
        now(),
    );
    let forged = Harness::request("GET", &path, Some(&auth), None, Vec::new());
    assert_eq!(h.send(forged).await.status, StatusCode::UNAUTHORIZED);

    // Private: nobody but the parties.
    for path in [
        format!("/v1/tasks/{private}/results"),
        format!("/v1/tasks/{private}/results/0.json"),
    ] {
        let anonymous = h.get(&path).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        assert_eq!(anonymous.code(), "private_results");
        let stranger = h.signed(&stranger(), "GET", &path, None, Vec::new()).await;
        assert_eq!(stranger.status, StatusCode::FORBIDDEN);
        for party in [creator(), node(1)] {
            let read = h.signed(&party, "GET", &path, None, Vec::new()).await;
            assert_eq!(read.status, StatusCode::OK);
        }
    }

    // The choice is made once.
    let flip = format!("/v1/tasks/{private}/args?visibility=public");
    let refused = h
        .signed(&creator(), "PUT", &flip, None, LLM_ARGS.to_vec())
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.code(), "visibility_fixed");
    let bad = format!("/v1/tasks/{private}/args?visibility=everyone");
    let refused = h
        .signed(&creator(), "PUT", &bad, None, LLM_ARGS.to_vec())
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.code(), "bad_query");
    assert_eq!(
        h.get(&format!("/v1/tasks/{private}/results")).await.status,
        StatusCode::UNAUTHORIZED,
        "still private"
    );
}

/// Progress: only a node selected now may report, only while the task runs, only reports
/// that can be true; anyone reads the latest report of each node selected now.
#[tokio::test(flavor = "multi_thread")]
async fn progress_is_reported_by_selected_nodes_while_the_task_runs() {
    let h = Harness::new().await;
    let id = h.task(31, TaskType::Llm, LLM_ARGS);
    let path = format!("/v1/tasks/{id}/progress");
    let report = |signer, body: &[u8]| {
        let body = body.to_vec();
        let path = path.clone();
        let h = &h;
        async move { h.signed(&signer, "PUT", &path, None, body).await }
    };
    let read = || async { h.get(&path).await };
    let empty = read().await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.json()["nodes"], serde_json::json!([]));
    assert_eq!(empty.header(header::CACHE_CONTROL), "no-store");

    for (signer, body) in [
        (node(1), &br#"{"step":3,"steps":20}"#[..]),
        (node(2), br#"{"step":1,"steps":20}"#),
        (node(1), br#"{"step":7,"steps":20}"#),
    ] {
        let reply = report(signer, body).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    }
    for (signer, body, status, code) in [
        (
            stranger(),
            &br#"{"step":1,"steps":20}"#[..],
            403,
            "forbidden",
        ),
        (creator(), br#"{"step":1,"steps":20}"#, 403, "forbidden"),
        (
            node(3),
            br#"{"step":21,"steps":20}"#,
            422,
            "invalid_progress",
        ),
        (node(3), br#"{"step":0,"steps":0}"#, 422, "invalid_progress"),
        (
            node(3),
            br#"{"step":1,"steps":2000000}"#,
            422,
            "invalid_progress",
        ),
        (node(3), br#"{"step":-1,"steps":20}"#, 400, "malformed_json"),
        (
            node(3),
            br#"{"step":1,"steps":20,"eta":5}"#,
            400,
            "malformed_json",
        ),
        (node(3), &[b' '; 2000], 413, "too_large"),
    ] {
        let reply = report(signer, body).await;
        assert_eq!(reply.status.as_u16(), status, "{:?}", reply.body);
        assert_eq!(reply.json()["error"]["code"], code);
    }
    let seen = read().await.json();
    let rows: Vec<_> = seen["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["node"].as_str().unwrap().parse::<Address>().unwrap(),
                n["step"].as_u64().unwrap(),
                n["steps"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut expected = vec![(node(1).address(), 7, 20), (node(2).address(), 1, 20)];
    expected.sort_by_key(|(a, ..)| a.to_string().to_lowercase());
    assert_eq!(rows, expected);

    // A node that is no longer selected (a reorganisation) is not shown; once the reveals
    // are in, reports are refused.
    let created = h.next_block.load(std::sync::atomic::Ordering::Relaxed) - 2;
    h.index.rollback_to(created).unwrap();
    h.events([1, 4].map(|n| ChainEvent::NodeSelected {
        id,
        node: node(n).address(),
    }));
    let after = read().await.json();
    assert_eq!(after["nodes"].as_array().unwrap().len(), 1, "{after}");
    h.reveal(id, &node(1), vec![0; 32], &[]);
    let late = report(node(1), br#"{"step":20,"steps":20}"#).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(late.json()["error"]["code"], "task_not_running");
    let unknown = h.get("/v1/tasks/404/progress").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

/// The OpenAPI document at `/openapi.json` says what the handlers do: a tour of every
/// documented operation (successes and refusals) answers only with documented statuses,
/// every JSON answer fits its documented schema, and nothing documented goes untried.
#[tokio::test(flavor = "multi_thread")]
async fn every_answer_is_what_the_openapi_document_says() {
    let h = Harness::new().await;
    let doc = h.get("/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = doc.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut checker = openapi::Checker::new(&doc);

    checker.check("get", "/health", &h.get("/health").await);
    checker.check("get", "/metrics", &h.get("/metrics").await);

    let id = h.task(21, TaskType::Llm, LLM_ARGS);
    let args = format!("/v1/tasks/{id}/args");
    let template = "/v1/tasks/{task}/args";
    for (signer, method, body) in [
        (stranger(), "PUT", LLM_ARGS.to_vec()),
        (creator(), "PUT", b"{}".to_vec()),
        (creator(), "PUT", LLM_ARGS.to_vec()),
        (creator(), "PUT", LLM_ARGS.to_vec()),
        (node(1), "GET", Vec::new()),
        (stranger(), "GET", Vec::new()),
    ] {
        let reply = h.signed(&signer, method, &args, None, body).await;
        checker.check(&method.to_lowercase(), template, &reply);
    }
    checker.check("get", template, &h.get(&args).await);
    let unknown = h
        .signed(&creator(), "GET", "/v1/tasks/999/args", None, Vec::new())
        .await;
    checker.check("get", template, &unknown);

    let progress = format!("/v1/tasks/{id}/progress");
    let template = "/v1/tasks/{task}/progress";
    for (signer, body) in [
        (node(1), br#"{"step":3,"steps":20}"#.to_vec()),
        (stranger(), br#"{"step":3,"steps":20}"#.to_vec()),
        (node(1), br#"{"step":"x"}"#.to_vec()),
        (node(1), br#"{"step":30,"steps":20}"#.to_vec()),
    ] {
        let reply = h.signed(&signer, "PUT", &progress, None, body).await;
        checker.check("put", template, &reply);
    }
    checker.check("get", template, &h.get(&progress).await);
    checker.check("get", template, &h.get("/v1/tasks/998/progress").await);

    let results = format!("/v1/tasks/{id}/results");
    let template = "/v1/tasks/{task}/results";
    let files = vec![llm_file("hello")];
    let (content_type, body) = multipart(&named(&files, "json"));
    let early = h
        .signed(
            &node(2),
            "POST",
            &results,
            Some(&content_type),
            body.clone(),
        )
        .await;
    checker.check("post", template, &early);
    checker.check(
        "get",
        template,
        &h.signed(&creator(), "GET", &results, None, Vec::new())
            .await,
    );
    h.reveal(id, &node(2), llm_score(&files), &named(&files, "json"));
    for body in [b"not multipart".to_vec(), body.clone(), body] {
        let reply = h
            .signed(&node(2), "POST", &results, Some(&content_type), body)
            .await;
        checker.check("post", template, &reply);
    }
    checker.check(
        "get",
        template,
        &h.signed(&node(3), "GET", &results, None, Vec::new()).await,
    );
    checker.check("get", template, &h.get(&results).await);

    let template = "/v1/tasks/{task}/results/{name}";
    for name in ["0.json", "5.json"] {
        let path = format!("{results}/{name}");
        let reply = h.signed(&creator(), "GET", &path, None, Vec::new()).await;
        checker.check("get", template, &reply);
    }
    let path = format!("{results}/0.json");
    checker.check(
        "get",
        template,
        &h.signed(&stranger(), "GET", &path, None, Vec::new()).await,
    );

    let data = b"model weights".to_vec();
    let upload_path = "/v1/models/files?model=tiny/gpt2&path=model.safetensors";
    for (signer, declared) in [
        (stranger(), body_sha256(&data)),
        (key(50), body_sha256(b"other")),
        (key(50), body_sha256(&data)),
    ] {
        let auth = sign(&signer, CHAIN_ID, "PUT", upload_path, declared, now());
        let mut request = Harness::request("PUT", upload_path, Some(&auth), None, data.clone());
        request.headers_mut().insert(
            auth::BODY_SHA256_HEADER,
            declared.to_string().parse().unwrap(),
        );
        checker.check("put", "/v1/models/files", &h.send(request).await);
    }
    checker.check("get", "/v1/models", &h.get("/v1/models").await);
    let template = "/v1/blobs/{sha256}";
    let blob = format!("/v1/blobs/{}", body_sha256(&data));
    checker.check("get", template, &h.get(&blob).await);
    checker.check("get", template, &h.get("/v1/blobs/xyz").await);
    let missing = format!("/v1/blobs/{}", B256::repeat_byte(7));
    checker.check("get", template, &h.get(&missing).await);
    let mut ranged = Harness::request("GET", &blob, None, None, Vec::new());
    ranged
        .headers_mut()
        .insert(header::RANGE, "bytes=0-4".parse().unwrap());
    checker.check("get", template, &h.send(ranged).await);

    checker.assert_everything_tried();
    for (method, path, status) in [
        ("put", "/v1/tasks/{task}/args", 201),
        ("put", "/v1/tasks/{task}/args", 200),
        ("put", "/v1/tasks/{task}/args", 403),
        ("get", "/v1/tasks/{task}/args", 200),
        ("post", "/v1/tasks/{task}/results", 201),
        ("post", "/v1/tasks/{task}/results", 409),
        ("get", "/v1/tasks/{task}/results", 200),
        ("get", "/v1/tasks/{task}/results/{name}", 200),
        ("get", "/v1/tasks/{task}/results/{name}", 404),
        ("put", "/v1/tasks/{task}/progress", 204),
        ("put", "/v1/tasks/{task}/progress", 422),
        ("get", "/v1/tasks/{task}/progress", 200),
        ("put", "/v1/models/files", 201),
        ("get", "/v1/blobs/{sha256}", 206),
        ("get", "/v1/blobs/{sha256}", 400),
    ] {
        checker.assert_seen(method, path, status);
    }
}

/// A checker of answers against an OpenAPI 3.1 document, for the part of JSON Schema that
/// utoipa writes (`$ref`, `allOf`/`oneOf`/`anyOf`, `type`, `enum`, `pattern`, `required`,
/// `properties`, `items`).
mod openapi {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::Reply;

    pub(super) struct Checker<'a> {
        doc: &'a Value,
        untried: BTreeSet<(String, String)>,
        seen: BTreeSet<(String, String, u16)>,
    }

    impl<'a> Checker<'a> {
        pub(super) fn new(doc: &'a Value) -> Self {
            let mut untried = BTreeSet::new();
            for (path, item) in doc["paths"].as_object().expect("paths") {
                for method in item.as_object().expect("path item").keys() {
                    untried.insert((method.clone(), path.clone()));
                }
            }
            Self {
                doc,
                untried,
                seen: BTreeSet::new(),
            }
        }

        /// Checks `reply` against operation `method` `path` (a template of the document).
        #[track_caller]
        pub(super) fn check(&mut self, method: &str, path: &str, reply: &Reply) {
            let operation = &self.doc["paths"][path][method];
            assert!(operation.is_object(), "{method} {path} is not documented");
            self.untried.remove(&(method.to_owned(), path.to_owned()));
            self.seen
                .insert((method.to_owned(), path.to_owned(), reply.status.as_u16()));
            let status = reply.status.as_str();
            let response = &operation["responses"][status];
            assert!(
                response.is_object(),
                "{method} {path} answered {status}, which it does not document: {}",
                String::from_utf8_lossy(&reply.body)
            );
            let Some(schema) = response["content"]["application/json"].get("schema") else {
                return;
            };
            let is_json = reply
                .headers
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            assert!(is_json, "{method} {path} {status}: documented as JSON");
            let body: Value = serde_json::from_slice(&reply.body).expect("JSON body");
            if let Err(e) = self.fits(schema, &body, "$", true) {
                panic!("{method} {path} {status}: {e}\nbody: {body}");
            }
        }

        /// Asserts that `method` `path` answered `status` at least once.
        #[track_caller]
        pub(super) fn assert_seen(&self, method: &str, path: &str, status: u16) {
            assert!(
                self.seen
                    .contains(&(method.to_owned(), path.to_owned(), status)),
                "{method} {path} never answered {status}: {:?}",
                self.seen
            );
        }

        pub(super) fn assert_everything_tried(&self) {
            assert!(
                self.untried.is_empty(),
                "documented but never tried: {:?}",
                self.untried
            );
        }

        fn resolve(&self, schema: &'a Value) -> &'a Value {
            match schema["$ref"].as_str() {
                Some(reference) => {
                    let name = reference.trim_start_matches("#/components/schemas/");
                    self.resolve(&self.doc["components"]["schemas"][name])
                }
                None => schema,
            }
        }

        /// Every property an object schema documents, its `allOf` parts' included.
        fn properties(&self, schema: &'a Value) -> BTreeSet<String> {
            let schema = self.resolve(schema);
            let mut names: BTreeSet<String> = schema["properties"]
                .as_object()
                .into_iter()
                .flat_map(|p| p.keys().cloned())
                .collect();
            for part in schema["allOf"].as_array().into_iter().flatten() {
                names.extend(self.properties(part));
            }
            names
        }

        /// Whether `value` fits `schema`; `closed`: also that an object has no property
        /// the schema does not document (utoipa documents every field of the wire types,
        /// so one more is a field the document forgot).
        fn fits(
            &self,
            schema: &'a Value,
            value: &Value,
            at: &str,
            closed: bool,
        ) -> Result<(), String> {
            let schema = self.resolve(schema);
            if closed
                && value.is_object()
                && (schema["properties"].is_object() || schema["allOf"].is_array())
            {
                let documented = self.properties(schema);
                let object = value.as_object().expect("an object");
                if let Some(extra) = object.keys().find(|k| !documented.contains(*k)) {
                    return Err(format!("{at}: `{extra}` is not documented"));
                }
            }
            for all in schema["allOf"].as_array().into_iter().flatten() {
                self.fits(all, value, at, false)?;
            }
            for key in ["oneOf", "anyOf"] {
                if let Some(options) = schema[key].as_array()
                    && !options
                        .iter()
                        .any(|o| self.fits(o, value, at, closed).is_ok())
                {
                    return Err(format!("{at}: {value} fits none of {key}"));
                }
            }
            if let Some(allowed) = schema["enum"].as_array()
                && !allowed.contains(value)
            {
                return Err(format!("{at}: {value} is not one of {allowed:?}"));
            }
            let types: Vec<&str> = match &schema["type"] {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !types.is_empty() && !types.iter().any(|t| is_type(value, t)) {
                return Err(format!("{at}: {value} is not {types:?}"));
            }
            if let (Some(pattern), Some(text)) = (schema["pattern"].as_str(), value.as_str()) {
                let re = regex::Regex::new(pattern).map_err(|e| e.to_string())?;
                if !re.is_match(text) {
                    return Err(format!("{at}: {text:?} does not match {pattern}"));
                }
            }
            if let Some(object) = value.as_object() {
                for required in schema["required"].as_array().into_iter().flatten() {
                    let name = required.as_str().unwrap_or_default();
                    if !object.contains_key(name) {
                        return Err(format!("{at}: required `{name}` missing"));
                    }
                }
                if let Some(properties) = schema["properties"].as_object() {
                    for (name, property) in properties {
                        if let Some(v) = object.get(name) {
                            self.fits(property, v, &format!("{at}.{name}"), true)?;
                        }
                    }
                }
            }
            if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
                for (i, item) in array.iter().enumerate() {
                    self.fits(items, item, &format!("{at}[{i}]"), true)?;
                }
            }
            Ok(())
        }
    }

    fn is_type(value: &Value, t: &str) -> bool {
        match t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        }
    }
}
