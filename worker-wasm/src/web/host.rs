//! The browser's [`Host`]: `setTimeout` timers, outcomes in IndexedDB, models in the Cache
//! API (checked against the relay's SHA-256 on every read, so a corrupted cached file is
//! fetched again), the engine in the worker itself, reports posted to the page.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use alloy::primitives::{B256, U256};
use engine::Device;
use js_sys::Uint8Array;
use relay_api::{MAX_PATH_LEN, check_name};
use relay_client::RelayClient;
use wasm_bindgen::JsCast;
use web_time::Instant;
use worker_protocol::Activity;

use super::cache::{CacheError, ModelCache};
use super::idb::{self, Db};
use super::js;
use crate::node::host::{Host, HostError, Outcome, Steps};
use engine::task::{self, Task};

/// A model's files, checked, in memory.
pub(super) type ModelFiles = Rc<BTreeMap<String, Vec<u8>>>;

/// A node in this browser tab.
pub(super) struct BrowserHost {
    relay: RelayClient,
    db: Db,
    device: Device,
    models: RefCell<BTreeMap<String, ModelFiles>>,
    report: Rc<dyn Fn(Activity)>,
}

fn cache_error(error: CacheError) -> HostError {
    HostError::lasting(error.to_string())
}

fn sha256(bytes: &[u8]) -> B256 {
    B256::from(verifier::digest::sha256(bytes))
}

impl BrowserHost {
    /// A host over the open database, fetching models through `relay` and running the
    /// engine on `device`; activities go to `report`.
    pub(super) fn new(
        relay: RelayClient,
        db: Db,
        device: Device,
        report: Rc<dyn Fn(Activity)>,
    ) -> Self {
        Self {
            relay,
            db,
            device,
            models: RefCell::default(),
            report,
        }
    }
}

/// Makes model `name` intact in the cache and returns its files: cached files are checked
/// against the relay's listing, missing or corrupt ones downloaded (and checked) again.
/// `registered` is the manifest digest the chain registered for the name, which the
/// listing must have; `None` only for an off-chain benchmark, which stakes nothing.
pub(super) async fn fetch_model(
    relay: &RelayClient,
    name: &str,
    registered: Option<B256>,
    report: &dyn Fn(Activity),
) -> Result<BTreeMap<String, Vec<u8>>, HostError> {
    let relay_error = |e: relay_client::ClientError| HostError {
        transient: e.is_transient(),
        message: format!("relay: {e}"),
    };
    let listing = relay
        .models()
        .await
        .map_err(relay_error)?
        .into_iter()
        .find(|m| m.name == name)
        .ok_or_else(|| HostError::lasting(format!("the relay has no model named {name:?}")))?;
    if let Some(registered) = registered
        && listing.digest() != registered
    {
        return Err(HostError::lasting(format!(
            "the relay lists model {name:?} with manifest digest {}, but the chain registered {registered}: refusing it",
            listing.digest()
        )));
    }
    for file in &listing.files {
        check_name("model file path", &file.path, MAX_PATH_LEN)
            .map_err(|e| HostError::lasting(e.to_string()))?;
    }
    let cache = ModelCache::open().await.map_err(cache_error)?;
    let total: u64 = listing.files.iter().map(|f| f.size).sum();
    let (mut done, mut downloaded, mut cached) = (0, 0, 0);
    let mut files = BTreeMap::new();
    for file in &listing.files {
        let mut bytes = cache.get(file.sha256).await.map_err(cache_error)?;
        if let Some(kept) = &bytes
            && (kept.len() as u64 != file.size || sha256(kept) != file.sha256)
        {
            report(Activity::CacheCorrupt {
                model: name.to_owned(),
                path: file.path.clone(),
            });
            cache.delete(file.sha256).await.map_err(cache_error)?;
            bytes = None;
        }
        let bytes = match bytes {
            Some(bytes) => {
                cached += file.size;
                bytes
            }
            None => {
                report(Activity::Downloading {
                    model: name.to_owned(),
                    done,
                    total,
                });
                // `blob` checks the SHA-256 of what arrives.
                let bytes = relay.blob(file.sha256).await.map_err(relay_error)?;
                cache.put(file.sha256, &bytes).await.map_err(cache_error)?;
                downloaded += file.size;
                bytes
            }
        };
        done += file.size;
        files.insert(file.path.clone(), bytes);
    }
    report(Activity::ModelReady {
        model: name.to_owned(),
        downloaded,
        cached,
    });
    Ok(files)
}

impl Host for BrowserHost {
    async fn sleep(&self, duration: Duration) {
        js::sleep(duration).await;
    }

    fn report(&self, activity: Activity) {
        (self.report)(activity);
    }

    fn held_models(&self) -> Vec<String> {
        self.models.borrow().keys().cloned().collect()
    }

    async fn ensure_model(&self, name: &str, registered: B256) -> Result<(), HostError> {
        if self.models.borrow().contains_key(name) {
            return Ok(());
        }
        let files = fetch_model(&self.relay, name, Some(registered), &*self.report).await?;
        self.models
            .borrow_mut()
            .insert(name.to_owned(), Rc::new(files));
        Ok(())
    }

    async fn run_task(
        &self,
        id: U256,
        task: Task,
        steps: &Steps,
    ) -> Result<task::Outcome, engine::EngineError> {
        let (files, lora) = {
            let held = self.models.borrow();
            let loaded = |name: &str| {
                let files = held.get(name).cloned();
                files.ok_or_else(|| {
                    engine::EngineError::InvalidModel(format!("{name} is not loaded"))
                })
            };
            let base = loaded(task.model_name())?;
            (base, task.lora_model_name().map(loaded).transpose()?)
        };
        let models = task::TaskModels {
            base: &*files,
            lora: lora.as_deref(),
        };
        let mut last = Instant::now();
        let task_id = id.to_string();
        task::run(&task, models, &self.device, |p| {
            steps.set(p.done, p.total);
            // Every SD step, and LLM tokens five times a second.
            if p.done == p.total || p.total <= 200 || last.elapsed() > Duration::from_millis(200) {
                last = Instant::now();
                (self.report)(Activity::Progress {
                    task: task_id.clone(),
                    step: p.done,
                    steps: p.total,
                    detail: p.detail,
                });
            }
        })
        .await
    }

    async fn load_outcome(&self, id: U256) -> Option<Outcome> {
        let value = self.db.get(idb::OUTCOMES, &id.to_string()).await.ok()??;
        let bytes = value.dyn_into::<Uint8Array>().ok()?.to_vec();
        Outcome::from_record(&bytes)
    }

    async fn save_outcome(&self, id: U256, outcome: &Outcome) -> Result<(), HostError> {
        let record = Uint8Array::from(outcome.to_record().as_slice());
        self.db
            .put(idb::OUTCOMES, &id.to_string(), &record)
            .await
            .map_err(|e| HostError::lasting(format!("keeping the outcome in IndexedDB: {e}")))
    }

    async fn remove_outcome(&self, id: U256) {
        let _ = self.db.delete(idb::OUTCOMES, &id.to_string()).await;
    }

    async fn kept_tasks(&self) -> Vec<U256> {
        self.db
            .keys(idb::OUTCOMES)
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|k| k.parse().ok())
            .collect()
    }
}
