//! The worker's IndexedDB database `tessera-node`: the node key (store `keys`) and the
//! outcomes kept until their task is done (store `outcomes`). Writes resolve when their
//! transaction has committed, with `durability: "strict"` (the browser flushes to disk
//! before reporting the commit, not only to the OS cache), so an outcome survives an OS
//! crash or power cut once its commitment can be sent.

use js_sys::{Array, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbRequest, IdbTransaction, IdbTransactionMode};

use super::js;

const NAME: &str = "tessera-node";
const VERSION: u32 = 1;
/// The node key, under the chain id and registry it serves.
pub(super) const KEYS: &str = "keys";
/// Kept outcomes, by task id.
pub(super) const OUTCOMES: &str = "outcomes";

/// The open database.
#[derive(Clone)]
pub(super) struct Db(IdbDatabase);

/// Waits for a request's result.
async fn request_done(request: &IdbRequest) -> Result<JsValue, String> {
    let promise = Promise::new(&mut |resolve, reject| {
        let on_success = request.clone();
        let success = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &on_success.result().unwrap_or_default());
        });
        let on_error = request.clone();
        let failure = Closure::once_into_js(move || {
            let message = on_error
                .error()
                .ok()
                .flatten()
                .map(|e| format!("{}: {}", e.name(), e.message()))
                .unwrap_or_else(|| "IndexedDB request failed".into());
            let _ = reject.call1(&JsValue::NULL, &message.into());
        });
        request.set_onsuccess(Some(success.unchecked_ref()));
        request.set_onerror(Some(failure.unchecked_ref()));
    });
    js::wait(promise).await.map_err(|e| js::error_text(&e))
}

/// Waits until a transaction has committed.
async fn committed(transaction: &IdbTransaction) -> Result<(), String> {
    let promise = Promise::new(&mut |resolve, reject| {
        let complete = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let failed = transaction.clone();
        let failure = Closure::once_into_js(move || {
            let message = failed
                .error()
                .map(|e| format!("{}: {}", e.name(), e.message()))
                .unwrap_or_else(|| "IndexedDB transaction aborted".into());
            let _ = reject.call1(&JsValue::NULL, &message.into());
        });
        transaction.set_oncomplete(Some(complete.unchecked_ref()));
        // A failed write aborts its transaction: `abort` always follows `error`.
        transaction.set_onabort(Some(failure.unchecked_ref()));
    });
    js::wait(promise)
        .await
        .map(drop)
        .map_err(|e| js::error_text(&e))
}

impl Db {
    /// Opens (creating on first use) the node's database.
    pub(super) async fn open() -> Result<Self, String> {
        let factory = js::scope()?
            .indexed_db()
            .map_err(|e| js::error_text(&e))?
            .ok_or("this browser offers no IndexedDB (private mode?)")?;
        let request = factory
            .open_with_u32(NAME, VERSION)
            .map_err(|e| js::error_text(&e))?;
        let upgrading = request.clone();
        let upgrade = Closure::<dyn FnMut()>::new(move || {
            if let Ok(db) = upgrading.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
                for store in [KEYS, OUTCOMES] {
                    if !db.object_store_names().contains(store) {
                        let _ = db.create_object_store(store);
                    }
                }
            }
        });
        request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        let db = request_done(&request).await?;
        drop(upgrade);
        Ok(Self(db.unchecked_into()))
    }

    fn transaction(&self, store: &str, mode: IdbTransactionMode) -> Result<IdbTransaction, String> {
        if mode == IdbTransactionMode::Readonly {
            return self
                .0
                .transaction_with_str_and_mode(store, mode)
                .map_err(|e| js::error_text(&e));
        }
        // `db.transaction(store, "readwrite", {durability: "strict"})`, called through
        // Reflect: web-sys offers the options only behind `web_sys_unstable_apis`.
        let options = js_sys::Object::new();
        js_sys::Reflect::set(&options, &"durability".into(), &"strict".into())
            .map_err(|e| js::error_text(&e))?;
        let transaction: js_sys::Function = js_sys::Reflect::get(&self.0, &"transaction".into())
            .map_err(|e| js::error_text(&e))?
            .unchecked_into();
        let mode = JsValue::from_str(match mode {
            IdbTransactionMode::Versionchange => "versionchange",
            _ => "readwrite",
        });
        transaction
            .call3(&self.0, &store.into(), &mode, &options)
            .map(|t| t.unchecked_into())
            .map_err(|e| js::error_text(&e))
    }

    /// The durability the browser gives a read-write transaction here (`"strict"` where it
    /// honours the option; older browsers report `"default"` or nothing).
    pub(super) fn write_durability(&self, store: &str) -> Result<String, String> {
        let transaction = self.transaction(store, IdbTransactionMode::Readwrite)?;
        let durability = js_sys::Reflect::get(&transaction, &"durability".into())
            .ok()
            .and_then(|d| d.as_string())
            .unwrap_or_else(|| "unknown".into());
        transaction.abort().map_err(|e| js::error_text(&e))?;
        Ok(durability)
    }

    /// The value under `key`, if any.
    pub(super) async fn get(&self, store: &str, key: &str) -> Result<Option<JsValue>, String> {
        let transaction = self.transaction(store, IdbTransactionMode::Readonly)?;
        let request = transaction
            .object_store(store)
            .and_then(|s| s.get(&key.into()))
            .map_err(|e| js::error_text(&e))?;
        let value = request_done(&request).await?;
        Ok((!value.is_undefined()).then_some(value))
    }

    /// Stores `value` under `key`; returns once committed.
    pub(super) async fn put(&self, store: &str, key: &str, value: &JsValue) -> Result<(), String> {
        let transaction = self.transaction(store, IdbTransactionMode::Readwrite)?;
        transaction
            .object_store(store)
            .and_then(|s| s.put_with_key(value, &key.into()))
            .map_err(|e| js::error_text(&e))?;
        committed(&transaction).await
    }

    /// Deletes `key`; returns once committed.
    pub(super) async fn delete(&self, store: &str, key: &str) -> Result<(), String> {
        let transaction = self.transaction(store, IdbTransactionMode::Readwrite)?;
        transaction
            .object_store(store)
            .and_then(|s| s.delete(&key.into()))
            .map_err(|e| js::error_text(&e))?;
        committed(&transaction).await
    }

    /// Every key of `store`.
    pub(super) async fn keys(&self, store: &str) -> Result<Vec<String>, String> {
        let transaction = self.transaction(store, IdbTransactionMode::Readonly)?;
        let request = transaction
            .object_store(store)
            .and_then(|s| s.get_all_keys())
            .map_err(|e| js::error_text(&e))?;
        let keys: Array = request_done(&request).await?.unchecked_into();
        Ok(keys.iter().filter_map(|k| k.as_string()).collect())
    }
}
