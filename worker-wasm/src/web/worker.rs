//! The provider's node worker: the page posts [`Command`]s, the worker answers with
//! [`Event`]s (both `worker_protocol`, through `serde-wasm-bindgen`). Everything heavy
//! (the chain, the relay, the model cache, the engine) happens here, never on the page.
//!
//! The node key is made in the worker and kept in IndexedDB under the chain and registry
//! it serves; the page's wallet only funds it, so serving asks the user for nothing. While
//! it serves, the worker remembers so in IndexedDB: a tab reloaded mid-task starts serving
//! again at once, and the node loop picks the task up where the rules say (the outcome is
//! kept before the commitment is sent).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use contracts::Deployments;
use contracts::NodeRegistry::NodeStatus;
use relay_client::RelayClient;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use worker_protocol::{
    Activity, Backend, CacheView, Command, CommandKind, Event, Network, NodeView,
};

use super::cache::ModelCache;
use super::host::{BrowserHost, fetch_model};
use super::idb::{self, Db};
use super::{js, probe};
use crate::node::chain::NodeChain;
use crate::node::fault::Fault;
use crate::node::runner::{Node, Settings, Stop};

/// Gas the node keeps for itself when it sends its balance on.
const GAS_RESERVE_WEI: u64 = 10_000_000_000_000_000;

/// The network the worker is connected to, with the node key.
#[derive(Clone)]
struct Connected {
    network: Network,
    key: PrivateKeySigner,
    chain: NodeChain,
    relay: RelayClient,
    db: Db,
}

impl Connected {
    /// Where this network's entries live in IndexedDB.
    fn slot(&self, what: &str) -> String {
        slot(&self.network, what)
    }
}

fn slot(network: &Network, what: &str) -> String {
    format!(
        "{what}:{}:{}",
        network.chain_id,
        network.node_registry.to_lowercase()
    )
}

/// What serving was asked for, remembered across reloads.
#[derive(Serialize, Deserialize)]
struct Serving {
    backend: Backend,
    models: Vec<String>,
}

#[derive(Default)]
struct State {
    connected: Option<Connected>,
    serving: Option<Stop>,
}

type Shared = Rc<RefCell<State>>;

/// Posts `event` to the page.
fn post(event: &Event) {
    let Ok(scope) = js_sys::global().dyn_into::<web_sys::DedicatedWorkerGlobalScope>() else {
        return;
    };
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    if let Ok(value) = event.serialize(&serializer) {
        let _ = scope.post_message(&value);
    }
}

fn report(activity: Activity) {
    let cached = matches!(activity, Activity::ModelReady { .. });
    post(&Event::Activity(activity));
    if cached {
        // The page's cache panel follows what was just stored.
        wasm_bindgen_futures::spawn_local(async {
            let _ = cache_info().await;
        });
    }
}

/// Starts the worker: listens for commands and says it is ready.
pub fn start() {
    console_error_panic_hook::set_once();
    let Ok(scope) = js_sys::global().dyn_into::<web_sys::DedicatedWorkerGlobalScope>() else {
        return;
    };
    let state: Shared = Rc::default();
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let state = state.clone();
            match serde_wasm_bindgen::from_value::<Command>(event.data()) {
                Ok(command) => wasm_bindgen_futures::spawn_local(async move {
                    let kind = command.kind();
                    if let Err(message) = handle(&state, command).await {
                        post(&Event::Error {
                            command: kind,
                            message,
                        });
                    }
                }),
                Err(e) => post(&Event::Unreadable {
                    message: format!("the worker does not understand the message: {e}"),
                }),
            }
        });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&Event::Ready);
}

fn text(error: impl std::fmt::Display) -> String {
    error.to_string()
}

fn connected(state: &Shared) -> Result<Connected, String> {
    state
        .borrow()
        .connected
        .clone()
        .ok_or_else(|| "the node worker is not connected to a network yet".into())
}

async fn handle(state: &Shared, command: Command) -> Result<(), String> {
    match command {
        Command::Init { network } => {
            let node = connect(network).await?;
            post(&Event::Key {
                address: node.key.address().to_string(),
            });
            state.borrow_mut().connected = Some(node.clone());
            post(&Event::Status(view(&node.chain).await?));
            cache_info().await?;
            let interrupted = node.db.get(idb::KEYS, &node.slot("serving")).await?;
            if let Some(serving) = interrupted.and_then(|v| v.as_string())
                && let Ok(serving) = serde_json::from_str::<Serving>(&serving)
            {
                report(Activity::Warning {
                    message: "this tab was serving when it closed: serving again".into(),
                });
                start_serving(state, serving).await?;
            }
        }
        Command::Probe => post(&Event::Capability(probe::capability().await?)),
        Command::Benchmark { backend } => post(&Event::Benchmark(probe::benchmark(backend).await?)),
        Command::Status => post(&Event::Status(view(&connected(state)?.chain).await?)),
        Command::Join {
            stake_wei,
            backend,
            models,
        } => {
            let node = connected(state)?;
            let stake: U256 = stake_wei
                .parse()
                .map_err(|_| format!("bad stake {stake_wei:?}"))?;
            for model in &models {
                let registered = node.chain.model_manifest(model).await.map_err(text)?;
                if registered.is_zero() {
                    return Err(format!(
                        "model {model:?} is not registered on chain: its weights cannot be checked"
                    ));
                }
                fetch_model(&node.relay, model, Some(registered), &report)
                    .await
                    .map_err(text)?;
            }
            let (gpu_name, gpu_vram) = hardware(backend).await?;
            let mut models = models;
            models.sort();
            node.chain
                .join(&gpu_name, gpu_vram, models, stake)
                .await
                .map_err(text)?;
            post(&Event::Status(view(&node.chain).await?));
        }
        Command::Start { backend, models } => {
            start_serving(state, Serving { backend, models }).await?;
        }
        Command::Stop => {
            let node = connected(state)?;
            node.db.delete(idb::KEYS, &node.slot("serving")).await?;
            match &state.borrow().serving {
                Some(stop) => stop.request(),
                None => post(&Event::Serving { serving: false }),
            }
        }
        Command::Quit => {
            let node = connected(state)?;
            node.chain.quit().await.map_err(text)?;
            post(&Event::Status(view(&node.chain).await?));
        }
        Command::Withdraw { to } => {
            let node = connected(state)?;
            let to: Address = to.parse().map_err(|_| format!("bad address {to:?}"))?;
            node.chain.withdraw().await.map_err(text)?;
            let spare = node
                .chain
                .balance()
                .await
                .map_err(text)?
                .saturating_sub(U256::from(GAS_RESERVE_WEI));
            if !spare.is_zero() {
                node.chain.transfer(to, spare).await.map_err(text)?;
            }
            post(&Event::Status(view(&node.chain).await?));
        }
        Command::ExportKey => {
            let node = connected(state)?;
            post(&Event::ExportedKey {
                private_key: format!("0x{}", alloy::hex::encode(node.key.to_bytes())),
            });
        }
        Command::RemoveKey => {
            let node = connected(state)?;
            if state.borrow().serving.is_some() {
                return Err("stop serving before removing the key".into());
            }
            let info = node.chain.info().await.map_err(text)?;
            if info.status != NodeStatus::QUIT || !info.unbondingAmount.is_zero() {
                return Err("the key still holds stake: quit and withdraw first".into());
            }
            node.db.delete(idb::KEYS, &node.slot("key")).await?;
            let renewed = connect(node.network.clone()).await?;
            post(&Event::Key {
                address: renewed.key.address().to_string(),
            });
            post(&Event::Status(view(&renewed.chain).await?));
            state.borrow_mut().connected = Some(renewed);
        }
        Command::BenchTask { backend, task } => {
            let node = connected(state)?;
            post(&Event::TaskBench(
                bench_task(&node.relay, backend, &task).await?,
            ));
        }
        Command::CacheInfo => cache_info().await?,
        Command::ClearCache => {
            ModelCache::clear().await.map_err(text)?;
            cache_info().await?;
        }
    }
    Ok(())
}

/// Opens the database, loads the key (making one the first time) and connects.
async fn connect(network: Network) -> Result<Connected, String> {
    let db = Db::open().await?;
    let key_slot = slot(&network, "key");
    let key = match db
        .get(idb::KEYS, &key_slot)
        .await?
        .and_then(|v| v.as_string())
    {
        Some(hex) => hex
            .parse::<PrivateKeySigner>()
            .map_err(|e| format!("the node key in IndexedDB is damaged: {e}"))?,
        None => {
            let key = PrivateKeySigner::random();
            let hex = format!("0x{}", alloy::hex::encode(key.to_bytes()));
            db.put(idb::KEYS, &key_slot, &hex.into()).await?;
            key
        }
    };
    let deployments = Deployments {
        chain_id: network.chain_id,
        rpc_url: network.rpc_url.clone(),
        node_registry: network
            .node_registry
            .parse()
            .map_err(|_| "bad NodeRegistry address")?,
        task_manager: network
            .task_manager
            .parse()
            .map_err(|_| "bad TaskManager address")?,
        appeals: network.appeals.parse().map_err(|_| "bad Appeals address")?,
        deployment_block: 0,
        deployer: Address::ZERO,
    };
    let rpc = network
        .rpc_url
        .parse()
        .map_err(|e| format!("bad RPC URL {:?}: {e}", network.rpc_url))?;
    let chain = NodeChain::connect(rpc, &deployments, key.clone());
    let relay = RelayClient::new(&network.relay_url, network.chain_id).map_err(text)?;
    Ok(Connected {
        network,
        key,
        chain,
        relay,
        db,
    })
}

/// Starts the node loop; it runs until [`Command::Stop`] or a lasting failure.
async fn start_serving(state: &Shared, serving: Serving) -> Result<(), String> {
    let node = connected(state)?;
    if state.borrow().serving.is_some() {
        return Err("already serving".into());
    }
    let device = probe::device(serving.backend).await?;
    let remembered = serde_json::to_string(&serving).map_err(text)?;
    node.db
        .put(idb::KEYS, &node.slot("serving"), &remembered.into())
        .await?;
    let stop = Stop::default();
    state.borrow_mut().serving = Some(stop.clone());
    post(&Event::Serving { serving: true });
    let settings = Settings {
        poll: Duration::from_millis(1000),
        preload: serving.models,
        backend: serving.backend.engine_name().into(),
        fault: Fault::None,
    };
    let host = BrowserHost::new(node.relay.clone(), node.db.clone(), device, Rc::new(report));
    let chain = node.chain.clone();
    let runner = Node::new(settings, node.key, node.chain, node.relay, host);
    let state = state.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let result = runner.serve(&stop).await;
        state.borrow_mut().serving = None;
        post(&Event::Serving { serving: false });
        if let Err(e) = result {
            post(&Event::Error {
                command: CommandKind::Start,
                message: format!("the node stopped: {e}"),
            });
        }
        if let Ok(view) = view(&chain).await {
            post(&Event::Status(view));
        }
    });
    Ok(())
}

/// What the node announces: the adapter (WebGPU cannot tell VRAM; the most one buffer may
/// hold stands in, at least 1 GB), or the wasm CPU and the device memory.
async fn hardware(backend: Backend) -> Result<(String, u64), String> {
    const GIB: f64 = (1u64 << 30) as f64;
    let capability = probe::capability().await?;
    match (backend, capability.webgpu) {
        (Backend::Webgpu, Some(adapter)) => Ok((
            format!("WebGPU {}", adapter.name),
            ((adapter.max_buffer / GIB).floor() as u64).max(1),
        )),
        (Backend::Webgpu, None) => Err(capability
            .webgpu_missing
            .unwrap_or_else(|| "no WebGPU adapter".into())),
        (Backend::Cpu, _) => {
            let memory = js::get(&js::scope()?.navigator(), "deviceMemory")
                .as_f64()
                .unwrap_or(1.0);
            Ok(("wasm cpu".into(), (memory as u64).max(1)))
        }
    }
}

/// The node's record on chain, for the page.
async fn view(chain: &NodeChain) -> Result<NodeView, String> {
    let info = chain.info().await.map_err(text)?;
    let status = match info.status {
        NodeStatus::QUIT => "Quit",
        NodeStatus::AVAILABLE => "Available",
        NodeStatus::BUSY => "Busy",
        NodeStatus::PENDING_PAUSE => "PendingPause",
        NodeStatus::PENDING_QUIT => "PendingQuit",
        NodeStatus::PAUSED => "Paused",
        _ => "Unknown",
    };
    Ok(NodeView {
        address: chain.address().to_string(),
        status: status.into(),
        stake: info.stake.to_string(),
        balance: chain.balance().await.map_err(text)?.to_string(),
        withdrawable: chain.withdrawable().await.map_err(text)?.to_string(),
        unbonding: info.unbondingAmount.to_string(),
        min_stake: chain.min_stake().await.map_err(text)?.to_string(),
        qos: u32::try_from(info.qosScore).unwrap_or(u32::MAX),
        health: u32::try_from(info.health).unwrap_or(u32::MAX),
        current_task: (!info.currentTask.is_zero()).then(|| info.currentTask.to_string()),
        gpu_name: info.gpuName,
        models: info.modelIds,
    })
}

/// Runs a task off chain and times it.
async fn bench_task(
    relay: &RelayClient,
    backend: Backend,
    task: &str,
) -> Result<worker_protocol::TaskTiming, String> {
    let task = engine::task::Task::parse(task.as_bytes()).map_err(text)?;
    // An off-chain benchmark stakes nothing: the relay's listing is taken as it is.
    let files = fetch_model(relay, task.model_name(), None, &report)
        .await
        .map_err(text)?;
    let lora = match task.lora_model_name() {
        Some(name) => Some(
            fetch_model(relay, name, None, &report)
                .await
                .map_err(text)?,
        ),
        None => None,
    };
    let models = engine::task::TaskModels {
        base: &files,
        lora: lora.as_ref(),
    };
    let device = probe::device(backend).await?;
    let mut clock = engine::timing::StepClock::default();
    engine::task::run(&task, models, &device, |_| clock.step())
        .await
        .map_err(text)?;
    let timing = clock.finish();
    Ok(worker_protocol::TaskTiming {
        backend: backend.engine_name().to_owned(),
        steps: timing.steps,
        first_step_ms: timing.first_step_ms,
        median_step_ms: timing.median_step_ms,
        total_ms: timing.total_ms,
    })
}

async fn cache_info() -> Result<(), String> {
    let stats = ModelCache::open()
        .await
        .map_err(text)?
        .stats()
        .await
        .map_err(text)?;
    let quota = match js::scope()?.navigator().storage().estimate() {
        Ok(promise) => js::wait(promise)
            .await
            .ok()
            .and_then(|e| js::get(&e, "quota").as_f64()),
        Err(_) => None,
    };
    post(&Event::Cache(CacheView {
        files: stats.files,
        bytes: stats.bytes,
        quota,
    }));
    Ok(())
}
