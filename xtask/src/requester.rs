//! A requester from the command line: create a task, hand its arguments to the relay, wait
//! for the network, and verify the result as the web app does (every file's hash
//! recomputed, every commitment opened, nothing taken from the relay on trust).
//!
//! `cargo xtask task sd|llm …` drives it against a running devnet; the end-to-end tests
//! use it directly.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256, utils::format_ether};
use alloy::providers::DynProvider;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result, bail};
use contracts::Revert;
use contracts::TaskManager::{
    self, TaskManagerErrors, TaskManagerInstance, TaskRequest, TaskState,
};
use contracts::requests;
use relay::client::RelayClient;
use verifier::report::{self, ChainRecord, Report, SeatRecord};
use verifier::score::ScoreKind;

use crate::devnet::Info;

/// A requester's account on the devnet's chain and relay.
pub struct Requester {
    key: PrivateKeySigner,
    provider: DynProvider,
    tasks: TaskManagerInstance<DynProvider>,
    relay: RelayClient,
    info: Info,
}

/// A task as the requester saw it through.
pub struct Finished {
    /// The task id.
    pub id: U256,
    /// Its final state (`TaskState::SUCCESS` or `ABORTED`).
    pub state: u8,
    /// Seconds from creation to a final state.
    pub seconds: f64,
}

impl Requester {
    /// A requester signing with `key` on the devnet described by `info`.
    pub fn new(info: &Info, key: PrivateKeySigner) -> Result<Self> {
        let provider = contracts::connect(info.rpc_url.parse()?, key.clone());
        Ok(Self {
            tasks: TaskManager::new(info.deployments.task_manager, provider.clone()),
            relay: RelayClient::new(&info.relay_url, info.chain_id)?,
            provider,
            key,
            info: info.clone(),
        })
    }

    /// The requester's address.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// Creates the task paying `fee`, reveals the draw's secret in the next block, and
    /// uploads the arguments (waiting for the relay to see the task). Returns its id.
    pub async fn submit(&self, request: TaskRequest, args: &[u8], fee: U256) -> Result<U256> {
        ensure_hash(&request, args)?;
        let secret = requests::new_secret();
        let created = requests::create_task(&self.tasks, request, fee, secret)
            .await
            .context("createTask")?;
        // The seed may only be revealed in a later block than the creation block. Nodes
        // estimate against the pending block, which is later; a chain that estimates against
        // the latest one says `SeedTooEarly`, and then the next block is awaited.
        let waited = Instant::now();
        loop {
            match requests::reveal_seed(&self.tasks, created.id, secret).await {
                Ok(()) => break,
                Err(e)
                    if matches!(
                        e.revert(),
                        Some(Revert::Tasks(TaskManagerErrors::SeedTooEarly(_)))
                    ) && waited.elapsed() < Duration::from_secs(120) =>
                {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e).context("revealSeed"),
            }
        }
        let started = Instant::now();
        loop {
            match self.relay.put_args(&self.key, created.id, args).await {
                Ok(_) => break,
                Err(e) if e.is_transient() && started.elapsed() < Duration::from_secs(60) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e).context("uploading the arguments to the relay"),
            }
        }
        Ok(created.id)
    }

    /// Polls the task until it succeeds or aborts, reporting each state change through
    /// `on_state`; fails after `limit`.
    pub async fn wait(
        &self,
        id: U256,
        limit: Duration,
        mut on_state: impl FnMut(u8),
    ) -> Result<Finished> {
        let started = Instant::now();
        let mut last = u8::MAX;
        loop {
            let task = self.tasks.getTask(id).call().await?;
            if task.state != last {
                last = task.state;
                on_state(last);
            }
            if task.state == TaskState::SUCCESS || task.state == TaskState::ABORTED {
                return Ok(Finished {
                    id,
                    state: task.state,
                    seconds: started.elapsed().as_secs_f64(),
                });
            }
            if started.elapsed() > limit {
                bail!(
                    "task {id} is still {} after {} s",
                    TaskState::name(task.state),
                    limit.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Downloads the task's result files from the relay and checks them against the
    /// chain. Returns the report and the files.
    pub async fn verify(&self, id: U256) -> Result<(Report, Vec<(String, Vec<u8>)>)> {
        let task = self.tasks.getTask(id).call().await?;
        let params = self.tasks.getParams().call().await?;
        let kind = if task.request.taskType == requests::TASK_TYPE_SD {
            ScoreKind::Image
        } else {
            ScoreKind::Text
        };
        let chain = ChainRecord {
            kind,
            threshold: params.similarityThreshold as u32,
            agreed: (!task.result.is_empty()).then(|| task.result.to_vec()),
            seats: task
                .seats
                .iter()
                .map(|seat| {
                    let committed = !seat.commitment.is_zero();
                    SeatRecord {
                        node: seat.node.to_string(),
                        commitment: committed.then_some(seat.commitment.0),
                        nonce: committed.then_some(seat.nonce.0),
                        revealed: (!seat.score.is_empty()).then(|| seat.score.to_vec()),
                    }
                })
                .collect(),
        };
        let listing = self
            .relay
            .results(&self.key, id)
            .await
            .context("listing the results")?;
        let mut files = Vec::new();
        for file in &listing.results.files {
            let bytes = self
                .relay
                .result_file(&self.key, id, &file.name)
                .await
                .with_context(|| format!("downloading {}", file.name))?;
            files.push((file.name.clone(), bytes));
        }
        let prints: Vec<_> = files
            .iter()
            .map(|(name, bytes)| (name.clone(), report::fingerprint(kind, bytes)))
            .collect();
        Ok((report::assemble(&chain, &prints), files))
    }

    /// The task's history from the chain's logs.
    pub async fn history(&self, id: U256) -> Result<Vec<contracts::history::Entry>> {
        Ok(contracts::history::task_history(
            &self.provider,
            self.info.deployments.task_manager,
            self.info.deployments.deployment_block,
            id,
            10_000,
        )
        .await?)
    }

    /// The GPU group (name, VRAM) with the most available nodes: where an LLM task can run.
    pub async fn llm_group(&self) -> Result<(String, u64)> {
        let registry =
            contracts::NodeRegistry::new(self.info.deployments.node_registry, &self.provider);
        let groups = registry.getGpuGroups().call().await?;
        groups
            .into_iter()
            .max_by_key(|g| g.availableNodes)
            .map(|g| (g.gpuName, g.gpuVram))
            .context("no node has joined")
    }
}

fn ensure_hash(request: &TaskRequest, args: &[u8]) -> Result<()> {
    if request.taskHash != requests::task_hash(args) {
        bail!("the request's task hash is not the arguments' keccak256");
    }
    Ok(())
}

/// `cargo xtask task sd|llm [options]`: one task on the running devnet, verified.
pub fn run(args: &[String]) -> Result<()> {
    const USAGE: &str = "usage: cargo xtask task sd [--prompt TEXT] [--negative TEXT] [--steps N] \
        [--seed N] [--images N] [--size WxH] [--cfg X] [--model NAME] [--fee CNX] [--account I]\n\
        \x20      cargo xtask task llm [--prompt TEXT] [--max-tokens N] [--model NAME] [--fee CNX] [--account I]\n\
        \x20      cargo xtask task args FILE.json [--fee CNX] [--account I]   (any task arguments)";
    let Some((kind, rest)) = args.split_first() else {
        bail!("{USAGE}")
    };
    let mut opts = std::collections::BTreeMap::new();
    let mut file = None;
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        if let Some(name) = flag.strip_prefix("--") {
            let value = it
                .next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
            opts.insert(name.to_owned(), value.clone());
        } else if kind == "args" && file.is_none() {
            file = Some(flag.clone());
        } else {
            bail!("unexpected argument {flag:?}\n{USAGE}");
        }
    }
    let get = |name: &str, default: &str| opts.get(name).cloned().unwrap_or_else(|| default.into());
    let info = Info::load(&crate::cmd::root().join(".devnet"))?;
    let account: usize = get("account", "0").parse().context("--account")?;
    let key: PrivateKeySigner = info
        .accounts
        .get(account)
        .with_context(|| format!("the devnet has {} requester accounts", info.accounts.len()))?
        .1
        .parse()?;
    let fee = alloy::primitives::utils::parse_ether(&get("fee", "1")).context("--fee")?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let requester = Requester::new(&info, key)?;
        let (args, request) = match kind.as_str() {
            "sd" => {
                let (w, h) = get("size", "64x64")
                    .split_once('x')
                    .map(|(w, h)| (w.to_owned(), h.to_owned()))
                    .context("--size is WIDTHxHEIGHT")?;
                let images: u64 = get("images", "1").parse().context("--images")?;
                let args = serde_json::json!({
                    "version": "2.5.0",
                    "base_model": {"name": get("model", "sd-tiny"), "variant": null},
                    "prompt": get("prompt", "a lighthouse on a cliff at dawn, best quality++"),
                    "negative_prompt": get("negative", "blurry, low quality"),
                    "task_config": {
                        "num_images": images,
                        "seed": get("seed", "42").parse::<u64>().context("--seed")?,
                        "steps": get("steps", "10").parse::<u64>().context("--steps")?,
                        "cfg": get("cfg", "5").parse::<f64>().context("--cfg")?,
                        "image_width": w.parse::<u64>().context("--size")?,
                        "image_height": h.parse::<u64>().context("--size")?,
                        "safety_checker": false
                    }
                });
                let bytes = serde_json::to_vec_pretty(&args)?;
                verifier::args::SdTaskArgs::parse(&bytes)?;
                let request = requests::sd_request(&bytes, &get("model", "sd-tiny"), images, 1);
                (bytes, request)
            }
            "llm" => {
                let args = serde_json::json!({
                    "model": get("model", "gpt2-tiny"),
                    "messages": [{"role": "user", "content": get("prompt", "Tell me about decentralized inference.")}],
                    "generation_config": {
                        "max_new_tokens": get("max-tokens", "30").parse::<u64>().context("--max-tokens")?,
                        "do_sample": false
                    },
                    "seed": 0
                });
                let bytes = serde_json::to_vec_pretty(&args)?;
                verifier::args::LlmTaskArgs::parse(&bytes)?;
                let (gpu, vram) = requester.llm_group().await?;
                let request = requests::llm_request(&bytes, &get("model", "gpt2-tiny"), &gpu, vram);
                (bytes, request)
            }
            "args" => {
                let path = file.context("task args needs a FILE.json")?;
                let bytes = std::fs::read(&path).with_context(|| format!("reading {path}"))?;
                let value: serde_json::Value = serde_json::from_slice(&bytes)?;
                if value.get("messages").is_some() {
                    let args = verifier::args::LlmTaskArgs::parse(&bytes)?;
                    let (gpu, vram) = requester.llm_group().await?;
                    let request = requests::llm_request(&bytes, &args.model, &gpu, vram);
                    (bytes, request)
                } else {
                    let args = verifier::args::SdTaskArgs::parse(&bytes)?;
                    let request = requests::sd_request(
                        &bytes,
                        &args.base_model.name,
                        u64::try_from(args.task_config.num_images).unwrap_or(1),
                        1,
                    );
                    (bytes, request)
                }
            }
            other => bail!("unknown task kind {other:?}\n{USAGE}"),
        };
        let started = Instant::now();
        let id = requester.submit(request, &args, fee).await?;
        println!("task {id} created by {} (fee {} CNX)", requester.address(), format_ether(fee));
        let finished = requester
            .wait(id, Duration::from_secs(900), |state| {
                println!("  {:>6.1} s  {}", started.elapsed().as_secs_f64(), TaskState::name(state));
            })
            .await?;
        if finished.state != TaskState::SUCCESS {
            for entry in requester.history(id).await? {
                println!("  {:?}", entry.event);
            }
            bail!("task {id} was aborted");
        }
        let (report, files) = requester.verify(id).await?;
        let out = crate::cmd::root().join(".devnet/results").join(id.to_string());
        std::fs::create_dir_all(&out)?;
        for (name, bytes) in &files {
            std::fs::write(out.join(name), bytes)?;
        }
        println!("  {:>6.1} s  verified: {:?}", started.elapsed().as_secs_f64(), report.verdict);
        for file in &report.files {
            println!(
                "    {}  {}  distances to the nodes' reveals {:?}",
                file.name,
                file.fingerprint.as_deref().unwrap_or("-"),
                file.distances
            );
        }
        for problem in &report.problems {
            println!("    problem: {problem}");
        }
        println!("  files in {}", out.display());
        if report.verdict != report::Verdict::Verified {
            bail!("task {id}'s results did not verify");
        }
        Ok(())
    })
}
