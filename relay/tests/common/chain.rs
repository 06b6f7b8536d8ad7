//! A real chain for the relay's tests: anvil with the contracts deployed, three nodes
//! joined, and a requester; tasks run through their whole life on it.

use std::time::{Duration, Instant};

use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::DynProvider;
use alloy::signers::local::PrivateKeySigner;
use contracts::TaskManager::{self, TaskManagerInstance, TaskRequest};
use contracts::{Deployments, NodeRegistry, Parameters};
use relay_client::ClientError;

use super::png;

/// The model every test task names.
pub(crate) const SD_MODEL: &str = "crynux-network/stable-diffusion-v1-5";

/// SD task arguments with this prompt.
pub(crate) fn args(prompt: &str) -> Vec<u8> {
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
pub(crate) fn results(seed: u32) -> (Vec<(String, Vec<u8>)>, Vec<u8>) {
    let files: Vec<_> = (0..2)
        .map(|i| (format!("{i}.png"), png(64, 64, seed + i)))
        .collect();
    let score = files
        .iter()
        .flat_map(|(_, bytes)| verifier::phash::phash_bytes(bytes).unwrap().0.to_be_bytes())
        .collect();
    (files, score)
}

/// The anvil account whose key the relays sign upload receipts with.
const RECEIPT_KEY: usize = 9;

/// The files digest a node commits to for these result files.
pub(crate) fn files_digest(files: &[(String, Vec<u8>)]) -> B256 {
    B256::from(verifier::digest::files_digest_of(
        files.iter().map(|(_, b)| b),
    ))
}

/// A key and the task contract as it sees it.
pub(crate) struct Account {
    pub(crate) key: PrivateKeySigner,
    pub(crate) tasks: TaskManagerInstance<DynProvider>,
}

/// anvil with the contracts, three joined nodes and a requester.
pub(crate) struct Chain {
    pub(crate) anvil: AnvilInstance,
    pub(crate) deployments: Deployments,
    pub(crate) keys: Vec<PrivateKeySigner>,
    pub(crate) owner: DynProvider,
    pub(crate) nodes: Vec<Account>,
    pub(crate) requester: Account,
}

impl Chain {
    /// Starts anvil, deploys, joins `keys[1..4]` as nodes; `keys[5]` requests.
    pub(crate) async fn start() -> Self {
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
        params.tasks.relaySigner = keys[RECEIPT_KEY].address();
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
        Self {
            anvil,
            deployments,
            keys,
            owner,
            nodes,
            requester,
        }
    }

    /// The key of one of anvil's accounts.
    pub(crate) fn key_of(&self, address: Address) -> PrivateKeySigner {
        self.keys
            .iter()
            .find(|k| k.address() == address)
            .expect("an anvil account")
            .clone()
    }

    /// A relay configuration that follows this chain every 50 ms.
    pub(crate) fn relay_config(
        &self,
        data_dir: &std::path::Path,
        port: u16,
    ) -> relay::config::Config {
        let mut config = relay::config::Config {
            data_dir: data_dir.to_owned(),
            listen: ([127, 0, 0, 1], port).into(),
            ..Default::default()
        };
        config.chain.rpc_url = self.anvil.endpoint();
        config.chain.chain_id = self.deployments.chain_id;
        config.chain.contract = Some(self.deployments.task_manager);
        config.chain.appeals = Some(self.deployments.appeals);
        config.chain.from_block = self.deployments.deployment_block;
        config.chain.poll_interval_ms = 50;
        config.receipt_key = Some(self.keys[RECEIPT_KEY].to_bytes().to_string());
        config
    }

    /// Creates a task, reveals its seed, and has the three nodes commit to and reveal
    /// `score`; returns the task's id and the address the contract named to upload. `n`
    /// makes the secrets and nonces distinct per call.
    pub(crate) async fn run_task(
        &self,
        args: &[u8],
        files: &[(String, Vec<u8>)],
        n: u8,
    ) -> (U256, Address) {
        let score: Vec<u8> = files
            .iter()
            .flat_map(|(_, bytes)| verifier::phash::phash_bytes(bytes).unwrap().0.to_be_bytes())
            .collect();
        let (score, digest) = (&score, files_digest(files));
        let requester = &self.requester;
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
            .map(|seat| {
                self.nodes
                    .iter()
                    .find(|a| a.key.address() == seat.node)
                    .unwrap()
            })
            .collect();
        for (i, node) in seated.iter().enumerate() {
            let nonce = B256::repeat_byte(0x40 + i as u8 + n);
            let commitment = B256::from(verifier::commitment::result_commitment(
                score, &digest.0, &nonce.0,
            ));
            contracts::send(node.tasks.submitCommitment(id, commitment, nonce))
                .await
                .expect("commit");
        }
        for node in &seated {
            contracts::send(
                node.tasks
                    .revealResult(id, Bytes::copy_from_slice(score), digest),
            )
            .await
            .expect("reveal");
        }
        let task = requester.tasks.getTask(id).call().await.expect("getTask");
        (id, task.seats[task.uploaderSeat as usize].node)
    }
}

/// Retries `attempt` (every 50 ms, for up to 20 s) until it returns `Some`.
pub(crate) async fn eventually<T, F: Future<Output = Option<T>>>(
    what: &str,
    attempt: impl Fn() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = attempt().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The relay's error code of a failed client call.
pub(crate) fn code(result: &Result<impl std::fmt::Debug, ClientError>) -> Option<&str> {
    result.as_ref().err().and_then(ClientError::code)
}
