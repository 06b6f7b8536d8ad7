//! The browser node's messages: what the Provide page asks of the node worker
//! ([`Command`]), what the worker answers ([`Event`]), and what a node reports while it
//! serves ([`Activity`], also logged by the native node).
//!
//! Both sides pass these through `serde-wasm-bindgen` as `postMessage` data. Amounts are
//! decimal strings of wei and addresses `0x` hex, so the types stay free of chain crates
//! and exact in JavaScript.

use serde::{Deserialize, Serialize};

/// Where the network is: what the worker needs to reach the chain and the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// The relay's base URL.
    pub relay_url: String,
    /// The `NodeRegistry` contract, `0x` hex.
    pub node_registry: String,
    /// The `TaskManager` contract, `0x` hex.
    pub task_manager: String,
    /// The `Appeals` contract, `0x` hex.
    pub appeals: String,
}

/// The compute a browser node runs the engine on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// WebGPU through Burn's wgpu backend.
    Webgpu,
    /// Burn's CPU backend compiled to wasm (one thread): tiny models only.
    Cpu,
}

impl Backend {
    /// The engine's name for it (`worker_wasm::device::Backend`).
    pub fn engine_name(self) -> &'static str {
        match self {
            Self::Webgpu => "wgpu",
            Self::Cpu => "cpu",
        }
    }
}

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Command {
    /// Connects to `network`, loads the node key from IndexedDB (making one the first
    /// time), and answers [`Event::Key`] then [`Event::Status`].
    Init {
        /// Where the network is.
        network: Network,
    },
    /// Looks at this browser's compute: answers [`Event::Capability`].
    Probe,
    /// Times the engine on `backend`: answers [`Event::Benchmark`].
    Benchmark {
        /// The backend to time.
        backend: Backend,
    },
    /// Reads the node's record on chain: answers [`Event::Status`].
    Status,
    /// Fetches `models` into the cache, then joins the network with `stake_wei` of the
    /// node key's balance (the wallet funded it), announcing this browser's GPU.
    Join {
        /// The stake, in wei.
        stake_wei: String,
        /// The backend the node will serve on (its GPU is announced from it).
        backend: Backend,
        /// The models to fetch and announce.
        models: Vec<String>,
    },
    /// Serves tasks on `backend` until [`Command::Stop`].
    Start {
        /// The backend to serve on.
        backend: Backend,
        /// The models to serve (fetched first when missing).
        models: Vec<String>,
    },
    /// Pauses on chain, finishes the task in hand, and stops serving.
    Stop,
    /// Leaves the network: the stake starts unbonding.
    Quit,
    /// Sends rewards and unbonded stake, then the key's spare balance, to `to`.
    Withdraw {
        /// The receiving address, `0x` hex.
        to: String,
    },
    /// Answers [`Event::ExportedKey`].
    ExportKey,
    /// Deletes the node key from this browser and makes a new one.
    RemoveKey,
    /// Runs `task` (task-arguments JSON) on `backend` with model files from the cache (or
    /// the relay), without the chain: answers [`Event::TaskBench`].
    BenchTask {
        /// The backend to run on.
        backend: Backend,
        /// The task arguments, JSON.
        task: String,
    },
    /// Answers [`Event::Cache`].
    CacheInfo,
    /// Deletes every cached model file.
    ClearCache,
}

/// Which command, without its fields: what [`Event::Error`] names when a command failed.
/// Serialized as the command's own tag (`exportKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CommandKind {
    /// [`Command::Init`].
    Init,
    /// [`Command::Probe`].
    Probe,
    /// [`Command::Benchmark`].
    Benchmark,
    /// [`Command::Status`].
    Status,
    /// [`Command::Join`].
    Join,
    /// [`Command::Start`].
    Start,
    /// [`Command::Stop`].
    Stop,
    /// [`Command::Quit`].
    Quit,
    /// [`Command::Withdraw`].
    Withdraw,
    /// [`Command::ExportKey`].
    ExportKey,
    /// [`Command::RemoveKey`].
    RemoveKey,
    /// [`Command::BenchTask`].
    BenchTask,
    /// [`Command::CacheInfo`].
    CacheInfo,
    /// [`Command::ClearCache`].
    ClearCache,
}

impl Command {
    /// Which command this is.
    pub fn kind(&self) -> CommandKind {
        match self {
            Self::Init { .. } => CommandKind::Init,
            Self::Probe => CommandKind::Probe,
            Self::Benchmark { .. } => CommandKind::Benchmark,
            Self::Status => CommandKind::Status,
            Self::Join { .. } => CommandKind::Join,
            Self::Start { .. } => CommandKind::Start,
            Self::Stop => CommandKind::Stop,
            Self::Quit => CommandKind::Quit,
            Self::Withdraw { .. } => CommandKind::Withdraw,
            Self::ExportKey => CommandKind::ExportKey,
            Self::RemoveKey => CommandKind::RemoveKey,
            Self::BenchTask { .. } => CommandKind::BenchTask,
            Self::CacheInfo => CommandKind::CacheInfo,
            Self::ClearCache => CommandKind::ClearCache,
        }
    }
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    /// The worker's wasm is running and listens.
    Ready,
    /// The node key's address.
    Key {
        /// `0x` hex.
        address: String,
    },
    /// The node key itself, `0x` hex, on request.
    ExportedKey {
        /// `0x` hex.
        private_key: String,
    },
    /// What this browser can compute with.
    Capability(Capability),
    /// A benchmark's figures.
    Benchmark(Benchmark),
    /// A task's timing.
    TaskBench(TaskTiming),
    /// The node as the chain sees it.
    Status(NodeView),
    /// Whether the worker is serving tasks now.
    Serving {
        /// True while serving.
        serving: bool,
    },
    /// Something the node did.
    Activity(Activity),
    /// The model cache.
    Cache(CacheView),
    /// A command failed.
    Error {
        /// The command that failed.
        command: CommandKind,
        /// Why, for people.
        message: String,
    },
    /// The worker could not read a message from the page (it names no command).
    Unreadable {
        /// Why, for people.
        message: String,
    },
}

/// This browser's compute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Capability {
    /// The WebGPU adapter, when there is one.
    pub webgpu: Option<Adapter>,
    /// Why there is none (no `navigator.gpu`, no adapter), when there is none.
    pub webgpu_missing: Option<String>,
    /// Logical cores (`navigator.hardwareConcurrency`).
    pub cores: u32,
    /// Storage the browser grants this origin, in bytes (`navigator.storage.estimate()`).
    pub storage_quota: Option<f64>,
    /// Storage in use, in bytes.
    pub storage_usage: Option<f64>,
    /// The durability the node's IndexedDB writes get (`"strict"`: flushed to disk before
    /// the commit is reported), as the browser reports it.
    #[serde(default)]
    pub write_durability: Option<String>,
}

/// A WebGPU adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Adapter {
    /// The adapter's vendor, architecture and description as the browser tells them.
    pub name: String,
    /// `maxStorageBufferBindingSize`.
    pub max_binding: f64,
    /// `maxBufferSize`.
    pub max_buffer: f64,
    /// Whether `shader-f16` is offered.
    pub shader_f16: bool,
    /// A fallback (software) adapter, such as SwiftShader.
    pub software: bool,
    /// Every feature offered.
    pub features: Vec<String>,
}

/// A benchmark's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Benchmark {
    /// The backend measured.
    pub backend: Backend,
    /// Time to open the device, in milliseconds.
    pub init_ms: f64,
    /// Matrix size `n` of the `n x n` products timed.
    pub size: u32,
    /// Median time of one product, in milliseconds.
    pub matmul_ms: f64,
    /// The rate that gives, in GFLOP/s.
    pub gflops: f64,
}

/// How long a task took, step by step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TaskTiming {
    /// The backend it ran on.
    pub backend: String,
    /// Denoising steps over all images, or tokens.
    pub steps: u32,
    /// From the start to the end of the first step: loading the weights, encoding the
    /// prompt, compiling kernels, and the step itself.
    pub first_step_ms: f64,
    /// The median of the other steps.
    pub median_step_ms: f64,
    /// The whole task, result files included.
    pub total_ms: f64,
}

/// The node as the chain sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NodeView {
    /// The node key's address.
    pub address: String,
    /// `Quit`, `Available`, `Busy`, `PendingPause`, `PendingQuit` or `Paused`.
    pub status: String,
    /// The stake, in wei.
    pub stake: String,
    /// The node key's balance (for gas and stake), in wei.
    pub balance: String,
    /// Rewards and refunds not yet withdrawn, in wei.
    pub withdrawable: String,
    /// Stake unbonding after a quit, in wei.
    pub unbonding: String,
    /// The minimum stake to join, in wei.
    pub min_stake: String,
    /// Long-term QoS, 0..1000.
    pub qos: u32,
    /// Health factor, 0..1000.
    pub health: u32,
    /// The task in hand, decimal, if any.
    pub current_task: Option<String>,
    /// The GPU the node announced.
    pub gpu_name: String,
    /// The models it announced.
    pub models: Vec<String>,
}

/// The model cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CacheView {
    /// Cached files.
    pub files: u32,
    /// Their bytes.
    pub bytes: f64,
    /// Storage the browser grants this origin, in bytes.
    pub quota: Option<f64>,
}

/// Something a node did or is doing; task ids are decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Activity {
    /// Serving tasks.
    Serving {
        /// The node key's address.
        node: String,
    },
    /// Paused on chain so that no new task is drawn (stopping).
    Pausing,
    /// Stopped serving.
    Stopped {
        /// Why, for people.
        reason: String,
    },
    /// A model is being fetched: `done` of `total` bytes.
    Downloading {
        /// The model.
        model: String,
        /// Bytes fetched so far.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
    /// A model is held and checked; `downloaded` bytes came from the relay now, `cached`
    /// bytes were already here.
    ModelReady {
        /// The model.
        model: String,
        /// Bytes fetched from the relay now.
        downloaded: u64,
        /// Bytes already in the cache.
        cached: u64,
    },
    /// A cached file did not match its hash and is fetched again.
    CacheCorrupt {
        /// The model.
        model: String,
        /// The file inside the model.
        path: String,
    },
    /// Selected for a task: fetching its arguments.
    Selected {
        /// The task.
        task: String,
    },
    /// The arguments are not available yet.
    WaitingForArgs {
        /// The task.
        task: String,
        /// What the relay said.
        reason: String,
    },
    /// Inference started.
    Running {
        /// The task.
        task: String,
        /// The model it runs.
        model: String,
    },
    /// Inference progress: a step or a token.
    Progress {
        /// The task.
        task: String,
        /// Steps (or tokens) done.
        step: u32,
        /// Steps (or tokens) in all.
        steps: u32,
        /// Where it is, for people (`image 1/2 step 3/6`).
        detail: String,
    },
    /// Inference finished and the outcome is kept.
    Ran {
        /// The task.
        task: String,
        /// Inference time, in milliseconds.
        ms: u64,
    },
    /// The task cannot run here; reported on chain with `code`.
    Refused {
        /// The task.
        task: String,
        /// The error code reported on chain.
        code: u32,
        /// The code's name.
        name: String,
        /// Why, for people.
        reason: String,
    },
    /// The commitment is on chain.
    Committed {
        /// The task.
        task: String,
        /// The score committed to, `0x` hex.
        score: String,
    },
    /// The score is revealed.
    Revealed {
        /// The task.
        task: String,
    },
    /// The results are on the relay and reported on chain.
    Uploaded {
        /// The task.
        task: String,
        /// Result files uploaded.
        files: u32,
    },
    /// A transaction moved the task past a deadline.
    Cancelled {
        /// The task.
        task: String,
    },
    /// The node had to act but lost what it kept (the rules will penalize the seat).
    Lost {
        /// The task.
        task: String,
    },
    /// The task needs nothing more from this node.
    Done {
        /// The task.
        task: String,
    },
    /// Something failed and is retried.
    Retrying {
        /// What is retried.
        what: String,
        /// The error, for people.
        error: String,
    },
    /// Worth knowing, not fatal.
    Warning {
        /// What happened, for people.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_tagged_for_javascript() {
        let json = serde_json::to_value(Command::Start {
            backend: Backend::Webgpu,
            models: vec!["sd-tiny".into()],
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "start", "backend": "webgpu", "models": ["sd-tiny"]})
        );
        let back: Command = serde_json::from_value(json).unwrap();
        assert!(matches!(
            back,
            Command::Start {
                backend: Backend::Webgpu,
                ..
            }
        ));
    }

    #[test]
    fn command_kinds_serialize_as_the_commands_tags() {
        let commands = [
            Command::Init {
                network: Network {
                    chain_id: 1,
                    rpc_url: String::new(),
                    relay_url: String::new(),
                    node_registry: String::new(),
                    task_manager: String::new(),
                    appeals: String::new(),
                },
            },
            Command::Probe,
            Command::Status,
            Command::Stop,
            Command::Quit,
            Command::ExportKey,
            Command::RemoveKey,
            Command::CacheInfo,
            Command::ClearCache,
            Command::Benchmark {
                backend: Backend::Cpu,
            },
            Command::BenchTask {
                backend: Backend::Cpu,
                task: "{}".into(),
            },
            Command::Withdraw { to: "0x".into() },
            Command::Start {
                backend: Backend::Cpu,
                models: vec![],
            },
            Command::Join {
                stake_wei: "1".into(),
                backend: Backend::Cpu,
                models: vec![],
            },
        ];
        for command in commands {
            let json = serde_json::to_value(&command).unwrap();
            assert_eq!(
                json["type"],
                serde_json::to_value(command.kind()).unwrap(),
                "{command:?}"
            );
        }
    }

    #[test]
    fn activities_round_trip() {
        let activity = Activity::Progress {
            task: "7".into(),
            step: 3,
            steps: 6,
            detail: "image 1/2 step 3/6".into(),
        };
        let json = serde_json::to_string(&Event::Activity(activity.clone())).unwrap();
        assert!(json.contains(r#""type":"activity""#) && json.contains(r#""kind":"progress""#));
        assert_eq!(
            serde_json::from_str::<Event>(&json).unwrap(),
            Event::Activity(activity)
        );
    }
}
