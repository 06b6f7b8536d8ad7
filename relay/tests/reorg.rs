//! The relay follows a chain reorganisation: on anvil, a task is created, its arguments and
//! results accepted; then the chain is reverted to before the task and a different task is
//! created under the same id (other arguments, other result). The relay, run as the binary
//! runs it (`relay::server::run`), must drop the old branch: the old arguments and results
//! are no longer served, and the new task's are accepted.

mod common;

use std::time::{Duration, Instant};

use alloy::node_bindings::Anvil;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::DynProvider;
use alloy::providers::ext::AnvilApi as _;
use alloy::signers::local::PrivateKeySigner;
use common::png;
use contracts::TaskManager::{self, TaskManagerInstance, TaskRequest};
use contracts::{NodeRegistry, Parameters};
use relay_client::{ClientError, RelayClient};

const SD_MODEL: &str = "crynux-network/stable-diffusion-v1-5";

fn args(prompt: &str) -> Vec<u8> {
    format!(r#"{{"version": "2.5.0", "base_model": {{"name": "sd-tiny", "variant": null}}, "prompt": "{prompt}", "task_config": {{"num_images": 2, "seed": 7}}}}"#).into_bytes()
}

fn request(args: &[u8]) -> TaskRequest {
    TaskRequest {
        taskType: 0,
        taskHash: B256::from(verifier::commitment::task_hash(args)),
        modelIds: vec![SD_MODEL.to_owned()],
        minVram: 8,
        gpuName: String::new(),
        gpuVram: 0,
        version: [1, 0, 0],
        size: 1,
    }
}

/// Two result images and the score they hash to.
fn results(seed: u32) -> (Vec<(String, Vec<u8>)>, Vec<u8>) {
    let files: Vec<_> = (0..2)
        .map(|i| (format!("{i}.png"), png(64, 64, seed + i)))
        .collect();
    let score = files
        .iter()
        .flat_map(|(_, bytes)| verifier::phash::phash_bytes(bytes).unwrap().0.to_be_bytes())
        .collect();
    (files, score)
}

struct Account {
    key: PrivateKeySigner,
    tasks: TaskManagerInstance<DynProvider>,
}

/// Creates a task, reveals its seed, and has the three nodes commit to and reveal `score`;
/// returns the task's id and the address the contract named to upload.
async fn run_task(
    requester: &Account,
    nodes: &[Account],
    args: &[u8],
    score: &[u8],
    n: u8,
) -> (U256, Address) {
    let secret = B256::repeat_byte(n);
    let receipt = contracts::send(
        requester
            .tasks
            .createTask(
                request(args),
                B256::from(verifier::commitment::keccak256(secret)),
            )
            .value(U256::from(10u64).pow(U256::from(18u64))),
    )
    .await
    .expect("createTask");
    let id = receipt
        .decoded_log::<TaskManager::TaskCreated>()
        .expect("TaskCreated")
        .taskId;
    contracts::send(requester.tasks.revealSeed(id, secret))
        .await
        .expect("revealSeed");
    let task = requester.tasks.getTask(id).call().await.expect("getTask");
    let seated: Vec<&Account> = task
        .seats
        .iter()
        .map(|seat| nodes.iter().find(|a| a.key.address() == seat.node).unwrap())
        .collect();
    for (i, node) in seated.iter().enumerate() {
        let nonce = B256::repeat_byte(0x40 + i as u8 + n);
        let commitment = B256::from(verifier::commitment::commitment(score, &nonce.0));
        contracts::send(node.tasks.submitCommitment(id, commitment, nonce))
            .await
            .expect("commit");
    }
    for node in &seated {
        contracts::send(node.tasks.revealResult(id, Bytes::copy_from_slice(score)))
            .await
            .expect("reveal");
    }
    let task = requester.tasks.getTask(id).call().await.expect("getTask");
    (id, task.seats[task.uploaderSeat as usize].node)
}

/// Retries `attempt` (every 50 ms, for up to 20 s) until it returns `Some`.
async fn eventually<T, F: Future<Output = Option<T>>>(what: &str, attempt: impl Fn() -> F) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = attempt().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn code(result: &Result<impl std::fmt::Debug, ClientError>) -> Option<&str> {
    result.as_ref().err().and_then(ClientError::code)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_relay_follows_a_reorganisation_that_replaces_a_task() {
    let anvil = Anvil::at(locate::anvil().unwrap_or_else(|e| panic!("{e}"))).spawn();
    let url = anvil.endpoint_url();
    let keys: Vec<PrivateKeySigner> = anvil
        .keys()
        .iter()
        .map(|k| PrivateKeySigner::from(k.clone()))
        .collect();
    let provider = |key: &PrivateKeySigner| contracts::connect(url.clone(), key.clone());
    let owner = provider(&keys[0]);
    let mut params = Parameters::defaults(keys[0].address());
    params.tasks.minPoolSize = 3;
    let deployments = contracts::deploy(owner.clone(), &anvil.endpoint(), params)
        .await
        .expect("deploy");
    let account = |key: &PrivateKeySigner| Account {
        key: key.clone(),
        tasks: TaskManager::new(deployments.task_manager, provider(key)),
    };
    let nodes: Vec<Account> = keys[1..4].iter().map(account).collect();
    for node in &keys[1..4] {
        let registry = NodeRegistry::new(deployments.node_registry, provider(node));
        contracts::send(
            registry
                .join(
                    "NVIDIA GeForce RTX 4090".into(),
                    24,
                    [1, 0, 0],
                    vec![SD_MODEL.into()],
                )
                .value(U256::from(400u64) * U256::from(10u64).pow(U256::from(18u64))),
        )
        .await
        .expect("join");
    }
    let requester = account(&keys[5]);

    // The relay, as its binary runs it, polling every 50 ms.
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = relay::config::Config {
        data_dir: dir.path().join("data"),
        listen: ([127, 0, 0, 1], port).into(),
        ..Default::default()
    };
    config.chain.rpc_url = anvil.endpoint();
    config.chain.chain_id = deployments.chain_id;
    config.chain.contract = Some(deployments.task_manager);
    config.chain.from_block = deployments.deployment_block;
    config.chain.poll_interval_ms = 50;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(relay::server::run(config, async {
        let _ = stopped.await;
    }));
    let client = &RelayClient::new(&format!("http://127.0.0.1:{port}"), deployments.chain_id)
        .expect("client");
    let uploader_key = |address: Address| {
        keys.iter()
            .find(|k| k.address() == address)
            .unwrap()
            .clone()
    };

    // The old branch: task 1 with arguments A, results A accepted.
    let snapshot = owner.anvil_snapshot().await.expect("snapshot");
    let (old_args, (old_files, old_score)) = (&args("a cat"), results(1));
    let (old_files, old_score) = (&old_files, &old_score);
    let (id, old_uploader) = run_task(&requester, &nodes, old_args, old_score, 1).await;
    let creator = &requester.key;
    eventually("the relay takes task 1's arguments", || async move {
        client.put_args(creator, id, old_args).await.ok()
    })
    .await;
    let old_uploader = &uploader_key(old_uploader);
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
    let (new_id, new_uploader) = run_task(&requester, &nodes, new_args, new_score, 2).await;
    assert_eq!(new_id, id, "the new branch reuses the id");
    owner.anvil_mine(Some(3), None).await.expect("mine");

    // The relay drops the old branch: its arguments and results are not served...
    let args_now = eventually("the old arguments are no longer served", || async move {
        let got = client.get_args(creator, id).await;
        (got.as_ref().ok() != Some(old_args)).then_some(got)
    })
    .await;
    assert_eq!(code(&args_now), Some("no_args"), "{args_now:?}");
    let results_now = eventually("the old results are no longer served", || async move {
        let got = client.results(creator, id).await;
        got.as_ref()
            .map_or(true, |view| *view.results.score != **old_score)
            .then_some(got)
    })
    .await;
    assert_eq!(code(&results_now), Some("no_results"), "{results_now:?}");
    assert_eq!(
        code(&client.result_file(creator, id, "0.png").await),
        Some("no_results")
    );

    // ... the old arguments are refused for the new task, the new ones accepted...
    let refused = client.put_args(creator, id, old_args).await;
    assert_eq!(code(&refused), Some("args_hash_mismatch"), "{refused:?}");
    client
        .put_args(creator, id, new_args)
        .await
        .expect("the new arguments replace the stale ones");
    assert_eq!(&client.get_args(creator, id).await.unwrap(), new_args);

    // ... and so are the new results, from the uploader the new branch named.
    let new_uploader = &uploader_key(new_uploader);
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
