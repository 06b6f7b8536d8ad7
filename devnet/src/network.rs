//! The whole network on one machine: anvil with the contracts deployed, the relay with the
//! reference checkpoints imported as models, and native nodes on the CPU backend, each a
//! real process with its own key, stake, model folder and log.
//!
//! `cargo xtask up` runs one for people; the end-to-end tests (`tests/e2e.rs`) start their
//! own, kill nodes, and make one dishonest. Every process started here is killed when the
//! [`Devnet`] is dropped. State lives in one folder, wiped at start: a devnet always starts
//! from a fresh chain. The relay's and the nodes' configuration files are written by
//! serializing the types those programs read them with.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result, bail, ensure};
use contracts::{Deployments, NodeRegistry, Parameters};
use serde::{Deserialize, Serialize};

use worker_wasm::node::fault::Fault;

use crate::requester::{DevRequester, FileHost};

/// The models the devnet's relay serves: folder names under `shared/reference`.
pub const MODELS: [&str; 7] = [
    "sd-tiny",
    "sdxl-tiny",
    "lora-tiny",
    "gpt2-tiny",
    "llama-tiny",
    "qwen2-tiny",
    "qwen3-tiny",
];

/// What to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// State folder (wiped at start).
    pub dir: PathBuf,
    /// The `relay` and `node` binaries.
    pub bins: Binaries,
    /// The reference data folder (`shared/`), whose checkpoints become the relay's models.
    pub shared: PathBuf,
    /// Variables the relay is started with (the e2e sets its TEST ONLY tamper flag).
    pub relay_env: Vec<(String, PathBuf)>,
    /// Anvil's port (0: any free port).
    pub chain_port: u16,
    /// The relay's port (0: any free port).
    pub relay_port: u16,
    /// One entry per node: its test-only misbehaviour (`Fault::None`: honest).
    pub nodes: Vec<Fault>,
    /// Models each node fetches before serving (empty: fetched on first use).
    pub preload: Vec<String>,
    /// Seconds nodes have to commit, then to reveal, then to upload.
    pub timeouts: (u64, u64, u64),
    /// Milliseconds between the nodes' and the relay's polls of the chain.
    pub poll_ms: u64,
}

impl Options {
    /// Three honest nodes, free ports, generous timeouts.
    pub fn new(dir: PathBuf, bins: Binaries) -> Result<Self> {
        Ok(Self {
            dir,
            bins,
            shared: locate::try_shared()?,
            relay_env: Vec::new(),
            chain_port: 0,
            relay_port: 0,
            nodes: vec![Fault::None; 3],
            preload: Vec::new(),
            timeouts: (300, 120, 120),
            poll_ms: 250,
        })
    }
}

/// Where the network's binaries are.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The relay server.
    pub relay: PathBuf,
    /// The node.
    pub node: PathBuf,
}

impl Binaries {
    /// The `relay` and `node` beside this program: cargo puts every binary of a build in
    /// one folder (`target/debug` for the test build `cargo xtask test` makes, where the
    /// end-to-end tests and this program find the binaries of the same build).
    pub fn beside_this_program() -> Result<Self> {
        let exe = std::env::current_exe().context("locating this program")?;
        let mut dir = exe.parent().context("this program has no folder")?;
        // Integration tests run from `target/<profile>/deps`.
        if dir.ends_with("deps") {
            dir = dir.parent().context("deps has no parent")?;
        }
        let bins = Self {
            relay: dir.join("relay"),
            node: dir.join("node"),
        };
        for bin in [&bins.relay, &bins.node] {
            ensure!(
                bin.is_file(),
                "{} is missing: build it with this program (`cargo build -p relay --bin relay \
                 -p worker-wasm --bin node`; `cargo xtask up` and `cargo test --workspace` do)",
                bin.display()
            );
        }
        Ok(bins)
    }
}

/// What a running devnet tells its users (written to `<dir>/devnet.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    /// Chain JSON-RPC.
    pub rpc_url: String,
    /// Chain id.
    pub chain_id: u64,
    /// The relay's base URL.
    pub relay_url: String,
    /// Where the contracts are.
    pub deployments: Deployments,
    /// Funded accounts for requesters: `(address, private key hex)`.
    pub accounts: Vec<(Address, String)>,
    /// The nodes' addresses.
    pub nodes: Vec<Address>,
}

impl Info {
    /// Reads `<dir>/devnet.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("devnet.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (is a devnet running? start one with `cargo xtask up`)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

/// A node process.
pub struct NodeProcess {
    /// Its account.
    pub address: Address,
    /// Its folder (config, key, models, state, log).
    pub dir: PathBuf,
    child: Option<Child>,
}

impl NodeProcess {
    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

/// A running devnet; dropping it stops every process it started.
pub struct Devnet {
    /// Chain, relay and accounts.
    pub info: Info,
    /// The nodes.
    pub nodes: Vec<NodeProcess>,
    /// The state folder.
    pub dir: PathBuf,
    relay: Option<Child>,
    anvil: AnvilInstance,
    options: Options,
}

impl Devnet {
    /// Starts chain, contracts, relay and nodes; returns once every node serves.
    pub async fn start(options: Options) -> Result<Self> {
        let dir = options.dir.clone();
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("wiping {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir)?;
        for bin in [&options.bins.relay, &options.bins.node] {
            ensure!(
                bin.is_file(),
                "{} is missing: build it first",
                bin.display()
            );
        }

        let accounts = 4 + options.nodes.len() as u32;
        let mut anvil = Anvil::at(locate::anvil()?).args([
            "--accounts",
            &accounts.to_string(),
            "--balance",
            "100000",
        ]);
        if options.chain_port != 0 {
            anvil = anvil.port(options.chain_port);
        }
        let anvil = anvil
            .try_spawn()
            .context("starting anvil (cargo xtask contracts prepare installs it)")?;
        let rpc_url = anvil.endpoint();
        let keys: Vec<PrivateKeySigner> = anvil
            .keys()
            .iter()
            .map(|k| PrivateKeySigner::from(k.clone()))
            .collect();
        let deployer = keys[0].clone();
        let provider = contracts::connect(anvil.endpoint_url(), deployer.clone());
        // The relay's receipt key, fresh per devnet: the contract counts an upload only with
        // its signature.
        let receipt_key = PrivateKeySigner::random();
        let mut params = Parameters::defaults(deployer.address());
        params.tasks.relaySigner = receipt_key.address();
        params.tasks.minPoolSize = 3;
        params.tasks.taskTimeout = options.timeouts.0;
        params.tasks.revealTimeout = options.timeouts.1;
        params.tasks.uploadTimeout = options.timeouts.2;
        // Long enough for an appeal to reach a loser's stake (the appeals contract checks),
        // short enough to withdraw in a session. A jury of 3 (the smallest) needs 6 nodes.
        params.registry.unbondingDelay = 60 * 60;
        params.appeals.appealWindow = 10 * 60;
        params.appeals.jurySize = 3;
        let deployments = contracts::deploy(provider.clone(), &rpc_url, params)
            .await
            .context("deploying the contracts")?;
        let deployments_path = dir.join("deployments.json");
        deployments.save(&deployments_path)?;

        let relay_port = if options.relay_port == 0 {
            free_port()?
        } else {
            options.relay_port
        };
        let relay_url = format!("http://127.0.0.1:{relay_port}");
        let relay_dir = dir.join("relay");
        std::fs::create_dir_all(&relay_dir)?;
        let relay_config = relay_dir.join("relay.toml");
        let mut config = relay::config::Config {
            data_dir: relay_dir.join("data"),
            listen: ([127, 0, 0, 1], relay_port).into(),
            ..Default::default()
        };
        config.chain.rpc_url = rpc_url.clone();
        config.chain.chain_id = deployments.chain_id;
        config.chain.deployments = Some(deployments_path.clone());
        config.chain.poll_interval_ms = options.poll_ms;
        std::fs::write(&relay_config, toml::to_string(&config)?)?;
        for model in MODELS {
            let source = options.shared.join("reference").join(model);
            ensure!(
                source.is_dir(),
                "{} is missing (the reference checkpoints live in shared/reference)",
                source.display()
            );
            let status = Command::new(&options.bins.relay)
                .arg("--config")
                .arg(&relay_config)
                .args(["import-model", "--name", model])
                .arg(&source)
                .stdout(Stdio::null())
                .env("RUST_LOG", "warn")
                .status()
                .context("importing a model into the relay")?;
            ensure!(
                status.success(),
                "relay import-model {model} failed: {status}"
            );
        }
        let relay = spawn_logged(
            Command::new(&options.bins.relay)
                .arg("--config")
                .arg(&relay_config)
                .envs(options.relay_env.iter().map(|(k, v)| (k, v)))
                .env("RELAY_RECEIPT_KEY", receipt_key.to_bytes().to_string())
                .env("RUST_LOG", "info"),
            &relay_dir.join("relay.log"),
        )?;
        wait_for_port(relay_port, Duration::from_secs(30), "the relay")?;
        // Name each imported model's exact weights on chain: nodes and tabs fetch a model
        // only when the relay's listing has the registered manifest digest.
        let listings = relay_client::RelayClient::new(&relay_url, deployments.chain_id)?
            .models()
            .await
            .context("listing the relay's models")?;
        let registry = contracts::NodeRegistry::new(deployments.node_registry, provider.clone());
        for listing in listings {
            contracts::send(registry.registerModel(listing.name.clone(), listing.digest()))
                .await
                .with_context(|| format!("registering model {}", listing.name))?;
        }

        let node_keys = &keys[1..=options.nodes.len()];
        let requesters = &keys[1 + options.nodes.len()..];
        let mut devnet = Self {
            info: Info {
                rpc_url: rpc_url.clone(),
                chain_id: deployments.chain_id,
                relay_url: relay_url.clone(),
                deployments: deployments.clone(),
                accounts: requesters
                    .iter()
                    .map(|k| {
                        (
                            k.address(),
                            format!("0x{}", alloy::hex::encode(k.to_bytes())),
                        )
                    })
                    .collect(),
                nodes: node_keys.iter().map(PrivateKeySigner::address).collect(),
            },
            nodes: Vec::new(),
            dir: dir.clone(),
            relay: Some(relay),
            anvil,
            options: options.clone(),
        };
        for (i, (key, fault)) in node_keys.iter().zip(&options.nodes).enumerate() {
            let node = devnet.start_node(i, key, *fault)?;
            devnet.nodes.push(node);
        }
        std::fs::write(
            dir.join("devnet.json"),
            serde_json::to_string_pretty(&devnet.info)?,
        )?;
        devnet.wait_until_serving().await?;
        Ok(devnet)
    }

    fn start_node(&self, i: usize, key: &PrivateKeySigner, fault: Fault) -> Result<NodeProcess> {
        let dir = self.dir.join(format!("node-{i}"));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("node.key"),
            format!("0x{}\n", alloy::hex::encode(key.to_bytes())),
        )?;
        let config = worker_wasm::node::config::NodeConfig {
            rpc_url: Some(self.info.rpc_url.clone()),
            relay_url: self.info.relay_url.clone(),
            deployments: PathBuf::from("../deployments.json"),
            backend: engine::device::Backend::Cpu,
            preload: self.options.preload.clone(),
            poll_interval_ms: self.options.poll_ms,
            fault,
            ..Default::default()
        };
        let config = toml::to_string(&config)?;
        std::fs::write(dir.join("node.toml"), config)?;
        let join = Command::new(&self.options.bins.node)
            .arg("--config")
            .arg(dir.join("node.toml"))
            .arg("join")
            .env("RUST_LOG", "warn")
            .output()
            .context("running `node join`")?;
        ensure!(
            join.status.success(),
            "node {i} could not join: {}",
            String::from_utf8_lossy(&join.stderr)
        );
        let mut process = NodeProcess {
            address: key.address(),
            dir,
            child: None,
        };
        self.spawn_node(&mut process)?;
        Ok(process)
    }

    fn spawn_node(&self, node: &mut NodeProcess) -> Result<()> {
        let child = spawn_logged(
            Command::new(&self.options.bins.node)
                .arg("--config")
                .arg(node.dir.join("node.toml"))
                .arg("run")
                .env("RUST_LOG", "info"),
            &node.dir.join("node.log"),
        )?;
        node.child = Some(child);
        Ok(())
    }

    /// Waits until every node has announced the preloaded models (or, without preloading,
    /// until the nodes are up), and every node process is still running.
    async fn wait_until_serving(&mut self) -> Result<()> {
        let registry = NodeRegistry::new(self.info.deployments.node_registry, self.provider());
        let started = Instant::now();
        loop {
            let mut ready = 0;
            for node in &mut self.nodes {
                if !node.is_running() {
                    bail!("a node exited during start-up; its log:\n{}", node.log());
                }
                let info = registry.getNode(node.address).call().await?;
                let models_ok = self
                    .options
                    .preload
                    .iter()
                    .all(|m| info.modelIds.contains(m));
                if models_ok && node.log().contains("serving") {
                    ready += 1;
                }
            }
            if ready == self.nodes.len() {
                return Ok(());
            }
            ensure!(
                started.elapsed() < Duration::from_secs(300),
                "the nodes did not start serving within 5 minutes"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A provider signing with the deployer's key (for time travel and reads).
    pub fn provider(&self) -> DynProvider {
        let key = PrivateKeySigner::from(self.anvil.keys()[0].clone());
        contracts::connect(self.anvil.endpoint_url(), key)
    }

    /// Requester `i`'s key.
    pub fn requester_key(&self, i: usize) -> PrivateKeySigner {
        self.info.accounts[i]
            .1
            .parse()
            .expect("the devnet wrote a valid key")
    }

    /// A requester paying with requester account `i`, keeping its pending tasks under
    /// `<dir>/requests/`.
    pub fn requester(&self, i: usize) -> Result<DevRequester> {
        crate::requester::connect(
            &self.info,
            self.requester_key(i),
            FileHost::new(self.dir.join("requests")),
        )
    }

    /// Starts more nodes, one per fault, each with a fresh funded key, and waits until they
    /// serve.
    pub async fn add_nodes(&mut self, faults: &[Fault]) -> Result<()> {
        let provider = self.provider();
        for fault in faults {
            let key = PrivateKeySigner::random();
            use alloy::network::TransactionBuilder as _;
            let fund = alloy::rpc::types::TransactionRequest::default()
                .with_to(key.address())
                .with_value(U256::from(1_000u64) * U256::from(10u64).pow(U256::from(18u64)));
            let receipt = provider.send_transaction(fund).await?.get_receipt().await?;
            ensure!(receipt.status(), "funding a new node failed");
            let i = self.nodes.len();
            let node = self.start_node(i, &key, *fault)?;
            self.nodes.push(node);
            self.info.nodes.push(key.address());
        }
        self.wait_until_serving().await
    }

    /// Kills node `i` with SIGKILL, as a crash or a pulled plug would.
    pub fn kill_node(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Moves the chain's clock forward by `seconds` and mines a block.
    pub async fn advance_time(&self, seconds: u64) -> Result<()> {
        let provider = self.provider();
        provider
            .raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (seconds,))
            .await?;
        provider
            .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
            .await?;
        Ok(())
    }

    /// A node's stake now, in wei.
    pub async fn stake(&self, node: Address) -> Result<U256> {
        let registry = NodeRegistry::new(self.info.deployments.node_registry, self.provider());
        Ok(registry.getNode(node).call().await?.stake)
    }

    /// Every node's log, for a failing test's message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for (i, node) in self.nodes.iter().enumerate() {
            out.push_str(&format!(
                "----- node {i} ({}) -----\n{}\n",
                node.address,
                node.log()
            ));
        }
        out.push_str(&format!(
            "----- relay -----\n{}\n",
            std::fs::read_to_string(self.dir.join("relay/relay.log")).unwrap_or_default()
        ));
        out
    }

    /// Stops the nodes gracefully (SIGTERM: each finishes the task in hand), then the
    /// relay and the chain.
    pub fn stop(&mut self) {
        for node in &mut self.nodes {
            if let Some(child) = &node.child {
                let _ = Command::new("kill").arg(child.id().to_string()).status();
            }
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if let Some(mut relay) = self.relay.take() {
            let _ = relay.kill();
            let _ = relay.wait();
        }
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if let Some(mut relay) = self.relay.take() {
            let _ = relay.kill();
            let _ = relay.wait();
        }
    }
}

fn spawn_logged(cmd: &mut Command, log: &Path) -> Result<Child> {
    let file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    cmd.env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .with_context(|| format!("starting {:?}", cmd.get_program()))
}

/// A port nothing listens on now.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn wait_for_port(port: u16, limit: Duration, what: &str) -> Result<()> {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        ensure!(
            started.elapsed() < limit,
            "{what} did not listen on port {port} within {} s",
            limit.as_secs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// `devnet chain`: anvil on `port` (a block every `block_time` seconds, or one per
/// transaction) with the contracts deployed with `params`, the deployments file written to
/// `<dir>/deployments.json`; runs until Ctrl-C.
pub async fn chain(
    port: u16,
    block_time: Option<u64>,
    params: &contracts::flags::DeployFlags,
    dir: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut anvil = Anvil::at(locate::anvil()?).port(port);
    if let Some(seconds) = block_time {
        anvil = anvil.block_time(seconds);
    }
    let anvil = anvil.try_spawn().context("starting anvil")?;
    let deployer = PrivateKeySigner::from(anvil.keys()[0].clone());
    let provider = contracts::connect(anvil.endpoint_url(), deployer.clone());
    let deployments = contracts::deploy(
        provider,
        &anvil.endpoint(),
        params.parameters(deployer.address()),
    )
    .await
    .context("deploying the contracts")?;
    let path = dir.join("deployments.json");
    deployments.save(&path)?;
    eprintln!(
        "chain: anvil at {}, deployments in {}; Ctrl-C to stop",
        anvil.endpoint(),
        path.display()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
