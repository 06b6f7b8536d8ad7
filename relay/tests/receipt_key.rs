//! A relay whose receipt key is not the contract's `relaySigner` would sign receipts the
//! chain refuses, so no upload would ever count: it refuses to start, naming both keys.

mod common;

use common::chain::Chain;

#[tokio::test(flavor = "multi_thread")]
async fn a_relay_with_a_key_the_contract_does_not_trust_refuses_to_start() {
    let chain = Chain::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = chain.relay_config(&dir.path().join("data"), common::free_port());
    let stranger = alloy::signers::local::PrivateKeySigner::random();
    config.receipt_key = Some(stranger.to_bytes().to_string());
    let started = relay::server::run(config, std::future::pending());
    let error = tokio::time::timeout(std::time::Duration::from_secs(60), started)
        .await
        .expect("the relay must refuse at once, not serve")
        .expect_err("a relay with a stranger's key must not start");
    match error {
        relay::server::ServerError::WrongReceiptKey {
            key,
            chain: trusted,
        } => {
            assert_eq!(key, stranger.address());
            assert_ne!(trusted, key);
        }
        other => panic!("unexpected error: {other}"),
    }
}
