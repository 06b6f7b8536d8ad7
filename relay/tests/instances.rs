//! Two relay processes on one PostgreSQL database and one S3-compatible store (moto), as
//! behind a load balancer, following one anvil chain: a client alternating between them
//! sees the same arguments, results and models; a request accepted by one is a replay at
//! the other; killing one mid-upload loses nothing either acknowledged.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::chain::{Chain, args, code, eventually, results};
use common::moto::Moto;
use common::process::{
    Acknowledged, Endpoint, RelayProcess, check_everything, upload_until_refused,
};
use common::testpg::TestPostgres;
use common::{free_port, key, now, sign_for};
use relay_api::auth::body_sha256;
use relay_client::RelayClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_on_one_database_and_store_agree() {
    let (postgres, moto, chain) = tokio::join!(
        TestPostgres::start(),
        Moto::start("tessera"),
        Chain::start()
    );
    let database_url = postgres.fresh_database().await;
    let chain_id = chain.deployments.chain_id;
    let publisher = key(50);
    let dir = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port()];
    let urls = ports.map(|p| format!("http://127.0.0.1:{p}"));
    let config_path = |i: usize| dir.path().join(format!("relay-{i}.toml"));
    for (i, &port) in ports.iter().enumerate() {
        let mut config = chain.relay_config(&dir.path().join(format!("data-{i}")), port);
        config.database_url = Some(database_url.clone());
        config.object_store_url = Some(moto.url());
        config.public_urls = urls.to_vec();
        config.model_publishers = vec![publisher.address()];
        std::fs::write(config_path(i), toml::to_string(&config).unwrap()).unwrap();
    }
    let start = |i: usize| {
        let (config, env) = (config_path(i), moto.env());
        async move { RelayProcess::start(&config, ports[i], &[], &env).await }
    };
    let mut relays = [Some(start(0).await), Some(start(1).await)];
    let clients = urls
        .clone()
        .map(|url| RelayClient::new(&url, chain_id).unwrap());
    let [a, b] = &clients;

    // A task's arguments stored through one are served by the other, to the same people.
    let creator = &chain.requester.key;
    let task_args = &args("two relays");
    let (files, score) = results(3);
    let (files, score) = (&files, &score);
    let (id, uploader) = chain.run_task(task_args, files, 1).await;
    eventually(
        "relay A has seen the task and takes its arguments",
        || async move { a.put_args(creator, id, task_args, false).await.ok() },
    )
    .await;
    let from_b = eventually("relay B serves the arguments", || async move {
        b.get_args(creator, id).await.ok()
    })
    .await;
    assert_eq!(&from_b, task_args);
    assert_eq!(
        code(&b.get_args(&key(99), id).await),
        Some("forbidden"),
        "B lets a stranger read what A stored"
    );

    // Results uploaded to B are listed and served by A, byte for byte; a second upload at
    // A is refused as already there.
    let uploader = &chain.key_of(uploader);
    let accepted = eventually("relay B takes the results", || async move {
        b.upload_results(uploader, id, files).await.ok()
    })
    .await;
    assert_eq!(accepted.results.score.to_vec(), *score);
    assert_eq!(a.results(creator, id).await.unwrap(), accepted);
    for (name, bytes) in files {
        assert_eq!(&a.result_file(creator, id, name).await.unwrap(), bytes);
    }
    assert_eq!(
        code(&a.upload_results(uploader, id, files).await),
        Some("results_exist")
    );
    // The files are in the shared bucket, not on either relay's disk.
    assert!(moto.count("blobs/").await >= 3, "nothing was stored in S3");

    // A request accepted by A is a replay at B (and at A), for as long as it is valid.
    let path = format!("/v1/tasks/{id}/args");
    let auth = sign_for(
        &urls[0],
        creator,
        chain_id,
        "GET",
        &path,
        body_sha256(b""),
        now(),
    );
    let http = reqwest::Client::new();
    let send = |base: &str| {
        let mut request = http.get(format!("{base}{path}"));
        for (name, value) in auth.pairs() {
            request = request.header(name, value);
        }
        request.send()
    };
    assert_eq!(send(&urls[0]).await.unwrap().status(), 200);
    for base in [&urls[1], &urls[0]] {
        let replay = send(base).await.unwrap();
        assert_eq!(replay.status(), 401, "a replay at {base} was accepted");
        let body: serde_json::Value = replay.json().await.unwrap();
        assert_eq!(body["error"]["code"], "replayed_nonce");
    }
    // A restarted instance (its memory gone) still refuses it.
    relays[1].take().unwrap().kill();
    relays[1] = Some(start(1).await);
    assert_eq!(send(&urls[1]).await.unwrap().status(), 401);

    // Model files: uploads to A while A is killed mid-stream; everything either relay
    // acknowledged is listed and served whole by B, and by A once it is back.
    let acknowledged: Acknowledged = Arc::default();
    for round in 0..3u64 {
        let target = (round % 2) as usize;
        let base = urls[target].clone();
        let workers: Vec<_> = (0..2u64)
            .map(|worker| {
                tokio::spawn(upload_until_refused(
                    Endpoint {
                        client: http.clone(),
                        base: base.clone(),
                        chain_id,
                    },
                    publisher.clone(),
                    format!("shared/w{worker}"),
                    worker,
                    round * 1_000_000,
                    acknowledged.clone(),
                ))
            })
            .collect();
        // Kill once this round has had a few acknowledged, mid-stream of the next ones.
        let before = acknowledged.lock().unwrap().len();
        eventually("uploads are acknowledged", || async {
            (acknowledged.lock().unwrap().len() >= before + 2).then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(30 + round * 40)).await;
        relays[target].take().unwrap().kill();
        for worker in workers {
            worker.await.unwrap();
        }
        let survivor = &urls[1 - target];
        let so_far = acknowledged.lock().unwrap().clone();
        check_everything(&http, survivor, &so_far).await;
        relays[target] = Some(start(target).await);
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 4,
        "too few uploads were acknowledged ({}) for the test to mean anything",
        acknowledged.len()
    );
    for url in &urls {
        check_everything(&http, url, &acknowledged).await;
    }
}
