//! `relay_client::RelayClient` against the real server on a loopback socket (SQLite, disk
//! blobs), with the chain view fed by events: every endpoint the nodes and the app use,
//! and the errors they must tell apart.

mod common;

use std::sync::Arc;

use alloy::primitives::{B256, Bytes, U256};
use common::{key, png};
use relay::blob::DiskStore;
use relay::chain::{ChainEvent, ChainIndex, TaskId, TaskType};
use relay::config::Limits;
use relay::{AppState, app, db};
use relay_client::{ClientError, RelayClient};

const CHAIN_ID: u64 = 31337;

struct Server {
    index: Arc<ChainIndex>,
    client: RelayClient,
    dir: tempfile::TempDir,
}

async fn serve() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = db::connect(&format!(
        "sqlite://{}",
        dir.path().join("relay.db").display()
    ))
    .await
    .unwrap();
    let blobs = DiskStore::open(dir.path().join("blobs")).unwrap();
    let index = Arc::new(ChainIndex::new(CHAIN_ID));
    let state = AppState::new(
        db,
        Box::new(blobs),
        index.clone(),
        Limits::default(),
        vec![key(50).address()],
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app(state.with_public_urls([&base]).unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    Server {
        index,
        client: RelayClient::new(&base, CHAIN_ID).unwrap(),
        dir,
    }
}

fn sd_args() -> Vec<u8> {
    br#"{"version": "2.5.0", "base_model": {"name": "sd-tiny", "variant": null}, "prompt": "a cat", "task_config": {"num_images": 2, "seed": 7}}"#.to_vec()
}

#[tokio::test]
async fn args_and_results_round_trip_through_the_client() {
    let server = serve().await;
    let client = &server.client;
    let (creator, uploader, stranger) = (key(1), key(11), key(99));
    let args = sd_args();
    let id = U256::from(7);

    // The relay has not seen the task yet: a transient refusal the caller retries.
    let early = client
        .put_args(&creator, id, &args, false)
        .await
        .unwrap_err();
    assert_eq!(early.code(), Some("unknown_task"), "{early}");
    assert!(early.is_transient());

    server.index.apply(
        1,
        [
            ChainEvent::TaskCreated {
                id: TaskId(id),
                kind: TaskType::StableDiffusion,
                creator: creator.address(),
                task_hash: B256::from(verifier::commitment::task_hash(&args)),
            },
            ChainEvent::NodeSelected {
                id: TaskId(id),
                node: uploader.address(),
            },
        ],
    );
    let missing = client.get_args(&uploader, id).await.unwrap_err();
    assert_eq!(missing.code(), Some("no_args"));
    assert!(missing.is_transient());

    let receipt = client.put_args(&creator, id, &args, false).await.unwrap();
    assert_eq!(receipt.size, args.len() as u64);
    assert_eq!(client.get_args(&uploader, id).await.unwrap(), args);
    let forbidden = client.get_args(&stranger, id).await.unwrap_err();
    assert_eq!(forbidden.status(), Some(403));
    assert!(!forbidden.is_transient());
    // Other (valid) arguments than the task's hash names.
    let other = String::from_utf8(args.clone())
        .unwrap()
        .replace("a cat", "a dog");
    let tampered = client
        .put_args(&creator, id, other.as_bytes(), false)
        .await
        .unwrap_err();
    assert_eq!(tampered.code(), Some("args_hash_mismatch"), "{tampered}");

    // Progress: the selected node's report, read back by anyone.
    client.put_progress(&uploader, id, 4, 20).await.unwrap();
    let progress = client.progress(id).await.unwrap();
    assert_eq!(progress.task_id, "7");
    assert_eq!(
        progress
            .nodes
            .iter()
            .map(|n| (n.node, n.step, n.steps))
            .collect::<Vec<_>>(),
        vec![(uploader.address(), 4, 20)]
    );
    let not_a_seat = client.put_progress(&stranger, id, 1, 20).await.unwrap_err();
    assert_eq!(not_a_seat.status(), Some(403));

    // Results: refused before the reveal, accepted when they hash to the revealed score.
    let files = vec![
        ("0.png".to_owned(), png(64, 64, 1)),
        ("1.png".to_owned(), png(64, 64, 2)),
    ];
    let not_yet = client
        .upload_results(&uploader, id, &files)
        .await
        .unwrap_err();
    assert_eq!(not_yet.code(), Some("not_revealed"));
    let score: Vec<u8> = files
        .iter()
        .flat_map(|(_, bytes)| verifier::phash::phash_bytes(bytes).unwrap().0.to_be_bytes())
        .collect();
    server.index.apply(
        2,
        [ChainEvent::ResultRevealed {
            id: TaskId(id),
            uploader: uploader.address(),
            score: Bytes::from(score.clone()),
            files_digest: B256::from(verifier::digest::files_digest_of(
                files.iter().map(|(_, b)| b),
            )),
        }],
    );
    let swapped = vec![files[1].clone(), files[0].clone()];
    let swapped: Vec<_> = swapped
        .into_iter()
        .enumerate()
        .map(|(i, (_, bytes))| (format!("{i}.png"), bytes))
        .collect();
    let mismatch = client
        .upload_results(&uploader, id, &swapped)
        .await
        .unwrap_err();
    assert_eq!(mismatch.code(), Some("score_mismatch"), "{mismatch}");

    let view = client.upload_results(&uploader, id, &files).await.unwrap();
    assert_eq!(view.results.score.as_ref(), score.as_slice());
    assert_eq!(view.results.files.len(), 2);
    let listed = client.results(&creator, id).await.unwrap();
    assert_eq!(listed, view);
    for (name, bytes) in &files {
        assert_eq!(
            &client.result_file(&creator, id, name).await.unwrap(),
            bytes
        );
    }
    let nothing = client.result_file(&creator, id, "9.png").await.unwrap_err();
    assert_eq!(nothing.code(), Some("no_such_file"));
}

#[tokio::test]
async fn model_files_download_whole_and_resumed() {
    let server = serve().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), b"{\"n_layer\": 1}").unwrap();
    let weights: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(dir.path().join("model.safetensors"), &weights).unwrap();
    // A second connection to the server's own database and blob directory, as the
    // `relay import-model` command would open them.
    let db = db::connect(&format!(
        "sqlite://{}",
        server.dir.path().join("relay.db").display()
    ))
    .await
    .unwrap();
    let blobs = DiskStore::open(server.dir.path().join("blobs")).unwrap();
    relay::models::import_dir(db.as_ref(), &blobs, "gpt2-tiny", dir.path(), u64::MAX)
        .await
        .unwrap();

    let models = server.client.models().await.unwrap();
    assert_eq!(models.len(), 1);
    let file = models[0]
        .files
        .iter()
        .find(|f| f.path == "model.safetensors")
        .unwrap();
    assert_eq!(file.size, weights.len() as u64);

    assert_eq!(server.client.blob(file.sha256).await.unwrap(), weights);

    let mut resumed = server
        .client
        .fetch_blob(file.sha256, 100_000)
        .await
        .unwrap();
    assert_eq!(
        (resumed.start, resumed.total),
        (100_000, weights.len() as u64)
    );
    let mut tail = Vec::new();
    while let Some(chunk) = resumed.chunk().await.unwrap() {
        tail.extend_from_slice(&chunk);
    }
    assert_eq!(tail, weights[100_000..]);

    let unknown = server.client.blob(B256::repeat_byte(7)).await.unwrap_err();
    assert_eq!(unknown.status(), Some(404), "{unknown}");
}

#[tokio::test]
async fn an_unreachable_relay_is_a_transient_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = RelayClient::new(&format!("http://127.0.0.1:{port}"), CHAIN_ID).unwrap();
    let error = client.health().await.unwrap_err();
    assert!(matches!(error, ClientError::Unreachable { .. }), "{error}");
    assert!(error.is_transient());
}
