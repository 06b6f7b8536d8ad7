//! Tessera's requester SDK for JavaScript: the `requester` crate's flow, compiled to
//! WebAssembly and exported with wasm-bindgen, for Node.js programs (bots, bridges) and
//! pages alike. `cargo xtask sdk` builds the npm package (`sdk/pkg/`: `node/` and `web/`
//! builds with their TypeScript types); `sdk/examples/bot.mjs` is a bot using it.
//!
//! ```js
//! import { Tessera } from '@tessera-network/sdk';
//! const network = await (await fetch('https://app.example/config.json')).json();
//! const tessera = new Tessera(network, process.env.TESSERA_KEY);
//! const id = await tessera.createTask(sdArgs, '1'); // any SD or LLM arguments, fee in CNX
//! await tessera.wait(id, 600000, (event) => console.log(event));
//! const report = await tessera.verify(id); // report.verdict === 'verified'
//! ```
//!
//! What the SDK returns was checked as the app checks it: every file hashed here, every
//! commitment reopened against the chain; nothing is taken from the relay on trust. A task
//! being submitted is kept in memory only: a program that stops between `createTask` and
//! the argument upload loses that task's secret (the app keeps it in `localStorage`).

#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use alloy::primitives::utils::parse_ether;
use alloy::primitives::{B256, U256};
use alloy::signers::local::PrivateKeySigner;
use contracts::TaskManager::TaskState;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use requester::{LocalWallet, Network, Pending, Reader, Requester, Seen};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Where a Tessera network is. Any Tessera app's `config.json` has these fields. */
export interface Network {
  chainId: number;
  rpcUrl: string;
  relayUrl: string;
  nodeRegistry: string;
  taskManager: string;
  appeals: string;
  /** The contracts' deployment block: log reads start there. */
  deploymentBlock?: number;
}

/** What `wait` reports as a task moves: a new state, or the steps its nodes report. */
export type TaskEvent =
  | { state: string }
  | { step: number; steps: number; reporting: number; seats: number; text: string };

/** One result file as the relay served it. */
export interface ResultFile {
  name: string;
  bytes: Uint8Array;
}

/** The verification report: every file hashed, every commitment reopened. */
export interface Report {
  verdict: "verified" | "failed" | "incomplete";
  threshold: number;
  files: Array<{ name: string; sha256: string; fingerprint: string | null; error: string | null;
    settled: string | null; matches_settled: boolean; distances: Array<number | null> }>;
  seats: Array<{ node: string; commitment_valid: boolean | null; agrees_with_files: boolean | null;
    max_distance: number | null }>;
  recomputed: string | null;
  bytes_match: boolean | null;
  problems: string[];
}
"#;

/// The network as JavaScript gives it (an app's `config.json`; other fields ignored).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NetworkJs {
    chain_id: u64,
    rpc_url: String,
    relay_url: String,
    node_registry: alloy::primitives::Address,
    task_manager: alloy::primitives::Address,
    appeals: alloy::primitives::Address,
    #[serde(default)]
    deployment_block: u64,
}

fn parse_network(value: JsValue) -> Result<Network, JsError> {
    let js: NetworkJs = serde_wasm_bindgen::from_value(value)
        .map_err(|e| JsError::new(&format!("the network: {e}")))?;
    Ok(Network {
        chain_id: js.chain_id,
        rpc_url: js.rpc_url,
        relay_url: js.relay_url,
        node_registry: js.node_registry,
        task_manager: js.task_manager,
        appeals: js.appeals,
        deployment_block: js.deployment_block,
    })
}

fn error(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

fn task_id(id: &str) -> Result<U256, JsValue> {
    id.trim()
        .parse()
        .map_err(|_| error(format!("`{id}` is not a task id")))
}

/// Resolves after `ms` milliseconds, with the global `setTimeout` (a page, a worker or
/// Node.js).
async fn sleep(ms: u64) {
    let promise = Promise::new(&mut |resolve, _| {
        let timer = Reflect::get(&js_sys::global(), &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        match timer {
            Some(set_timeout) => {
                let _ = set_timeout.call2(&JsValue::NULL, &resolve, &JsValue::from_f64(ms as f64));
            }
            None => {
                let _ = resolve.call0(&JsValue::NULL);
            }
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Timers, and tasks being submitted kept in memory.
#[derive(Default)]
struct MemoryHost {
    pending: RefCell<HashMap<B256, Pending>>,
}

impl requester::Host for MemoryHost {
    async fn sleep(&self, ms: u64) {
        sleep(ms).await;
    }

    fn keep(&self, pending: &Pending) -> Result<(), String> {
        self.pending
            .borrow_mut()
            .insert(pending.task_hash, pending.clone());
        Ok(())
    }

    fn forget(&self, task_hash: B256) {
        self.pending.borrow_mut().remove(&task_hash);
    }
}

/// A `wait` event as JavaScript sees it.
#[derive(Serialize)]
#[serde(untagged)]
enum Event {
    State {
        state: &'static str,
    },
    Steps {
        step: u32,
        steps: u32,
        reporting: usize,
        seats: usize,
        text: String,
    },
}

fn to_js(value: &impl Serialize) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(error)
}

/// A requester on a Tessera network, paying and signing with a private key.
#[wasm_bindgen]
pub struct Tessera {
    requester: Rc<Requester<LocalWallet, MemoryHost>>,
}

#[wasm_bindgen]
impl Tessera {
    /// A requester on `network` (an app's `config.json`) paying with `privateKey`
    /// (`0x` + 64 hex digits).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "Network")] network: JsValue,
        #[wasm_bindgen(js_name = privateKey)] private_key: &str,
    ) -> Result<Tessera, JsError> {
        let network = parse_network(network)?;
        let signer: PrivateKeySigner = private_key
            .trim()
            .parse()
            .map_err(|e| JsError::new(&format!("the private key: {e}")))?;
        let wallet =
            LocalWallet::new(signer, &network.rpc_url).map_err(|e| JsError::new(&e.to_string()))?;
        let requester = Requester::new(network, wallet, MemoryHost::default())
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Self {
            requester: Rc::new(requester),
        })
    }

    /// The paying account's address.
    #[wasm_bindgen(getter)]
    pub fn address(&self) -> String {
        self.requester.wallet().signer().address().to_string()
    }

    /// Creates a task from its arguments (an object, or the exact JSON text to send: SD
    /// arguments, or LLM ones with `messages`) paying `feeCnx` CNX: `createTask`, the seed
    /// revealed in a later block, the arguments uploaded. Resolves to the task id. With
    /// `privateResults`, only the creator and the task's nodes may read the results.
    #[wasm_bindgen(js_name = createTask, unchecked_return_type = "Promise<string>")]
    pub fn create_task(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object | string")] args: JsValue,
        #[wasm_bindgen(js_name = feeCnx)] fee_cnx: String,
        #[wasm_bindgen(js_name = privateResults)] private_results: Option<bool>,
    ) -> Promise {
        let requester = self.requester.clone();
        future_to_promise(async move {
            let text = match args.as_string() {
                Some(text) => text,
                None => js_sys::JSON::stringify(&args)
                    .map_err(|_| error("the arguments are neither JSON text nor an object"))?
                    .into(),
            };
            let fee =
                parse_ether(&fee_cnx).map_err(|e| error(format!("fee `{fee_cnx}` in CNX: {e}")))?;
            let mut order = requester
                .order(text.into_bytes(), fee)
                .await
                .map_err(error)?;
            order.private = private_results.unwrap_or(false);
            let id = requester
                .submit(&order, |_| {})
                .await
                .map_err(|(_, e)| error(e))?;
            Ok(JsValue::from_str(&id.to_string()))
        })
    }

    /// Waits until task `id` succeeds or aborts (at most `timeoutMs`, default 15 minutes),
    /// telling `onEvent` each state and the steps its nodes report. Resolves to the final
    /// state's name (`SUCCESS` or `ABORTED`).
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn wait(
        &self,
        id: String,
        #[wasm_bindgen(js_name = timeoutMs)] timeout_ms: Option<f64>,
        #[wasm_bindgen(js_name = onEvent, unchecked_param_type = "(event: TaskEvent) => void")]
        on_event: Option<Function>,
    ) -> Promise {
        let requester = self.requester.clone();
        future_to_promise(async move {
            let id = task_id(&id)?;
            let limit = timeout_ms.unwrap_or(900_000.0).max(0.0) as u64;
            let task = requester
                .wait(id, limit, |seen| {
                    let event = match seen {
                        Seen::State(state) => Event::State {
                            state: TaskState::name(state),
                        },
                        Seen::Steps(s) => Event::Steps {
                            step: s.step,
                            steps: s.steps,
                            reporting: s.reporting,
                            seats: s.seats,
                            text: s.to_string(),
                        },
                    };
                    if let (Some(callback), Ok(value)) = (&on_event, to_js(&event)) {
                        let _ = callback.call1(&JsValue::NULL, &value);
                    }
                })
                .await
                .map_err(error)?;
            Ok(JsValue::from_str(TaskState::name(task.state)))
        })
    }

    /// Task `id`'s result files as the relay serves them (signed by this key), unchecked:
    /// see `verify`.
    #[wasm_bindgen(unchecked_return_type = "Promise<ResultFile[]>")]
    pub fn results(&self, id: String) -> Promise {
        let requester = self.requester.clone();
        future_to_promise(async move {
            let id = task_id(&id)?;
            let files = requester.results(id, |_, _, _| {}).await.map_err(error)?;
            Ok(files_to_js(&files).into())
        })
    }

    /// Downloads task `id`'s results and checks them against the chain; resolves to the
    /// report and the files (`{ report, files }`).
    #[wasm_bindgen(unchecked_return_type = "Promise<{ report: Report; files: ResultFile[] }>")]
    pub fn verify(&self, id: String) -> Promise {
        let requester = self.requester.clone();
        future_to_promise(async move {
            let id = task_id(&id)?;
            let (report, files) = requester.verify(id).await.map_err(error)?;
            checked(&report, &files)
        })
    }
}

/// Anyone's check of a public task, with no key: its files from the relay, unsigned,
/// checked against the chain. Resolves to `{ report, files }`; a private task's relay
/// refuses (`private_results`).
#[wasm_bindgen(js_name = verifyPublic, unchecked_return_type = "Promise<{ report: Report; files: ResultFile[] }>")]
pub fn verify_public(
    #[wasm_bindgen(unchecked_param_type = "Network")] network: JsValue,
    id: String,
) -> Promise {
    future_to_promise(async move {
        let reader = Reader::new(parse_network(network).map_err(JsValue::from)?).map_err(error)?;
        let (report, files) = reader.verify_public(task_id(&id)?).await.map_err(error)?;
        checked(&report, &files)
    })
}

fn files_to_js(files: &[(String, Vec<u8>)]) -> Array {
    files
        .iter()
        .map(|(name, bytes)| {
            let file = Object::new();
            let _ = Reflect::set(&file, &"name".into(), &name.into());
            let _ = Reflect::set(&file, &"bytes".into(), &Uint8Array::from(bytes.as_slice()));
            JsValue::from(file)
        })
        .collect()
}

fn checked(
    report: &verifier::report::Report,
    files: &[(String, Vec<u8>)],
) -> Result<JsValue, JsValue> {
    let out = Object::new();
    Reflect::set(&out, &"report".into(), &to_js(report)?)?;
    Reflect::set(&out, &"files".into(), &files_to_js(files))?;
    Ok(out.into())
}
