//! The relay follows a chain reorganisation: on anvil, a task is created, its arguments and
//! results accepted; then the chain is reverted to before the task and a different task is
//! created under the same id (other arguments, other result). The relay, run as the binary
//! runs it (`relay::server::run`), must drop the old branch: the old arguments and results
//! are no longer served, and the new task's are accepted.

mod common;

use alloy::providers::ext::AnvilApi as _;
use common::chain::{Chain, args, code, eventually, results};
use relay_client::RelayClient;

#[tokio::test(flavor = "multi_thread")]
async fn the_relay_follows_a_reorganisation_that_replaces_a_task() {
    let chain = Chain::start().await;
    let owner = &chain.owner;
    let deployments = &chain.deployments;

    // The relay, as its binary runs it, polling every 50 ms.
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let config = chain.relay_config(&dir.path().join("data"), port);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(relay::server::run(config, async {
        let _ = stopped.await;
    }));
    let client = &RelayClient::new(&format!("http://127.0.0.1:{port}"), deployments.chain_id)
        .expect("client");

    // The old branch: task 1 with arguments A, results A accepted.
    let snapshot = owner.anvil_snapshot().await.expect("snapshot");
    let (old_args, (old_files, old_score)) = (&args("a cat"), results(1));
    let (old_files, old_score) = (&old_files, &old_score);
    let (id, old_uploader) = chain.run_task(old_args, old_files, 1).await;
    let creator = &chain.requester.key;
    eventually("the relay takes task 1's arguments", || async move {
        client.put_args(creator, id, old_args, false).await.ok()
    })
    .await;
    let old_uploader = &chain.key_of(old_uploader);
    eventually("the relay takes task 1's results", || async move {
        client
            .upload_results(old_uploader, id, old_files)
            .await
            .ok()
    })
    .await;
    assert_eq!(&client.get_args(creator, id).await.unwrap(), old_args);
    assert_eq!(
        client
            .results(creator, id)
            .await
            .unwrap()
            .results
            .score
            .to_vec(),
        *old_score
    );

    // The reorganisation: back to before the task, and task 1 is created again with
    // arguments B, and settles on results B.
    assert!(owner.anvil_revert(snapshot).await.expect("revert"));
    let (new_args, (new_files, new_score)) = (&args("a dog"), results(5));
    let (new_files, new_score) = (&new_files, &new_score);
    let (new_id, new_uploader) = chain.run_task(new_args, new_files, 2).await;
    assert_eq!(new_id, id, "the new branch reuses the id");
    owner.anvil_mine(Some(3), None).await.expect("mine");

    // The relay drops the old branch: its arguments and results are not served... Between
    // the rollback and applying the new branch's blocks the task is unknown for a moment
    // (a loaded machine shows it); the relay is done once it knows the new task.
    let args_now = eventually("the old arguments are no longer served", || async move {
        let got = client.get_args(creator, id).await;
        (got.as_ref().ok() != Some(old_args) && code(&got) != Some("unknown_task")).then_some(got)
    })
    .await;
    assert_eq!(code(&args_now), Some("no_args"), "{args_now:?}");
    let results_now = eventually("the old results are no longer served", || async move {
        let got = client.results(creator, id).await;
        (got.as_ref()
            .map_or(true, |view| *view.results.score != **old_score)
            && code(&got) != Some("unknown_task"))
        .then_some(got)
    })
    .await;
    assert_eq!(code(&results_now), Some("no_results"), "{results_now:?}");
    assert_eq!(
        code(&client.result_file(creator, id, "0.png").await),
        Some("no_results")
    );

    // ... the old arguments are refused for the new task, the new ones accepted...
    let refused = client.put_args(creator, id, old_args, false).await;
    assert_eq!(code(&refused), Some("args_hash_mismatch"), "{refused:?}");
    client
        .put_args(creator, id, new_args, false)
        .await
        .expect("the new arguments replace the stale ones");
    assert_eq!(&client.get_args(creator, id).await.unwrap(), new_args);

    // ... and so are the new results, from the uploader the new branch named.
    let new_uploader = &chain.key_of(new_uploader);
    let view = eventually("the relay takes the new results", || async move {
        client
            .upload_results(new_uploader, id, new_files)
            .await
            .ok()
    })
    .await;
    assert_eq!(view.results.score.to_vec(), *new_score);
    assert_eq!(client.results(creator, id).await.unwrap(), view);
    assert_eq!(
        client.result_file(creator, id, "1.png").await.unwrap(),
        new_files[1].1
    );

    let _ = stop.send(());
    server.await.unwrap().expect("the relay stops cleanly");
}
