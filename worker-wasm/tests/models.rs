//! The node's model store against a real relay (in process, SQLite and files): the review's
//! attack 9. A relay that lists other weights under a model's name is refused, because the
//! chain registered the name's manifest digest; the genuine listing is fetched and checked.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::sync::Arc;

use relay::blob::DiskStore;
use relay::chain::ChainIndex;
use relay::config::Limits;
use relay::{AppState, app, db};
use relay_client::RelayClient;
use worker_wasm::node::models::{ModelError, ModelStore};

const CHAIN_ID: u64 = 31337;

/// A model's files: `(path, bytes)`.
type Files<'a> = &'a [(&'a str, &'a [u8])];

/// A relay holding `models` (name, files) and a client for it.
async fn relay_with(dir: &std::path::Path, models: &[(&str, Files<'_>)]) -> RelayClient {
    let db = db::connect(&format!("sqlite://{}", dir.join("relay.db").display()))
        .await
        .unwrap();
    let blobs = DiskStore::open(dir.join("blobs")).unwrap();
    for (name, files) in models {
        let source = dir.join("source").join(name);
        for (path, bytes) in *files {
            std::fs::create_dir_all(source.join(path).parent().unwrap()).unwrap();
            std::fs::write(source.join(path), bytes).unwrap();
        }
        relay::models::import_dir(&*db, &blobs, name, &source, 1 << 20)
            .await
            .unwrap();
    }
    let state = AppState::new(
        db,
        Box::new(blobs),
        Arc::new(ChainIndex::new(CHAIN_ID)),
        Limits::default(),
        Vec::new(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app(state.with_public_urls([&base]).unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    RelayClient::new(&base, CHAIN_ID).unwrap()
}

#[tokio::test]
async fn a_relay_listing_other_weights_under_a_registered_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let genuine: Files = &[("config.json", b"{}"), ("unet/w.bin", b"genuine")];
    let altered: Files = &[("config.json", b"{}"), ("unet/w.bin", b"backdoor")];
    // The relay lists the altered weights as `sd-tiny`; `sd-tiny-genuine` holds the real ones.
    let relay = relay_with(
        dir.path(),
        &[("sd-tiny", altered), ("sd-tiny-genuine", genuine)],
    )
    .await;
    let listings = relay.models().await.unwrap();
    let registered = listings
        .iter()
        .find(|m| m.name == "sd-tiny-genuine")
        .unwrap()
        .digest();

    let store = ModelStore::new(dir.path().join("node-models"), &BTreeMap::new()).unwrap();
    let mut progress = |_: &str, _: u64, _: u64| {};
    // The chain registered the genuine weights' digest for `sd-tiny`: the relay's listing
    // of other files under it is refused before a byte is fetched.
    let refused = store
        .ensure(&relay, "sd-tiny", registered, &mut progress)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, ModelError::ManifestMismatch { why, .. } if *why == "registered on chain"),
        "{refused}"
    );
    assert!(!store.folder("sd-tiny").join("unet/w.bin").exists());

    // The listing with the registered digest is fetched, and its files are the genuine ones.
    let folder = store
        .ensure(&relay, "sd-tiny-genuine", registered, &mut progress)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(folder.join("unet/w.bin")).unwrap(),
        b"genuine"
    );
}
