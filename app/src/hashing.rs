//! Hashing returned files off the main thread: a small pool of web workers (the
//! `hash_worker` binary, built by trunk beside the app) each running
//! [`crate::model::hash_file`]. Files are spread over the workers; each answer comes back
//! as a message and resolves the file's future.
//!
//! Message to a worker: `{id, kind: "image" | "text", name, bytes: Uint8Array}`; answer:
//! `{id, name, fingerprint: Uint8Array | null, error: string | null, similarity: string |
//! null, micros}`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use js_sys::{Object, Reflect, Uint8Array};
use verifier::score::ScoreKind;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::js::{js_error_text, now_ms};
use crate::model::FileHash;

/// Where trunk puts the worker's loader (see `app/index.html`).
pub const WORKER_URL: &str = "./hash_worker_loader.js";

type Waiting = Rc<RefCell<HashMap<u32, oneshot::Sender<Result<JsValue, String>>>>>;

/// Messages posted before a worker's wasm has started would be lost: each worker says
/// `{ready: true}` once it listens, and messages wait here until then.
type Queue = Rc<RefCell<Option<Vec<(JsValue, js_sys::Array)>>>>;

struct Pool {
    workers: Vec<(web_sys::Worker, Queue)>,
    waiting: Waiting,
    next: u32,
}

thread_local! {
    static POOL: RefCell<Option<Pool>> = const { RefCell::new(None) };
}

fn pool_size() -> usize {
    let cores = web_sys::window()
        .map(|w| w.navigator().hardware_concurrency())
        .unwrap_or(1.0) as usize;
    cores.clamp(1, 4)
}

fn start_pool() -> Result<Pool, String> {
    let waiting: Waiting = Rc::default();
    let mut workers = Vec::new();
    for _ in 0..pool_size() {
        let worker = web_sys::Worker::new(WORKER_URL)
            .map_err(|e| format!("cannot start the hashing worker: {}", js_error_text(&e)))?;
        let answers = waiting.clone();
        let queue: Queue = Rc::new(RefCell::new(Some(Vec::new())));
        let flush = (worker.clone(), queue.clone());
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                let data = event.data();
                if Reflect::get(&data, &"ready".into()).is_ok_and(|r| r.is_truthy()) {
                    let (worker, queue) = &flush;
                    for (message, transfer) in queue.borrow_mut().take().unwrap_or_default() {
                        let _ = worker.post_message_with_transfer(&message, &transfer);
                    }
                    return;
                }
                let id = Reflect::get(&data, &"id".into())
                    .ok()
                    .and_then(|v| v.as_f64())
                    .map(|v| v as u32);
                if let Some(sender) = id.and_then(|id| answers.borrow_mut().remove(&id)) {
                    let _ = sender.send(Ok(data));
                }
            },
        );
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        // A worker that fails to load (missing script) fails everything waiting.
        let failed = waiting.clone();
        // A plain `Event` when the script did not load: `ErrorEvent.message` would throw.
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let message = format!(
                "the hashing worker failed: {}",
                crate::js::event_message(&event)
                    .unwrap_or_else(|| "its script did not load".to_owned())
            );
            for (_, sender) in failed.borrow_mut().drain() {
                let _ = sender.send(Err(message.clone()));
            }
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        workers.push((worker, queue));
    }
    Ok(Pool {
        workers,
        waiting,
        next: 0,
    })
}

/// Hands one file to a worker of the pool; returns its answer's receiver.
fn dispatch(
    kind: ScoreKind,
    name: &str,
    bytes: &[u8],
) -> Result<oneshot::Receiver<Result<JsValue, String>>, String> {
    POOL.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(start_pool()?);
        }
        let pool = slot.as_mut().ok_or("no hashing pool")?;
        let id = pool.next;
        pool.next = pool.next.wrapping_add(1);
        let (sender, receiver) = oneshot::channel();
        pool.waiting.borrow_mut().insert(id, sender);
        let message = Object::new();
        let _ = Reflect::set(&message, &"id".into(), &id.into());
        let kind = match kind {
            ScoreKind::Image => "image",
            ScoreKind::Text => "text",
        };
        let _ = Reflect::set(&message, &"kind".into(), &kind.into());
        let _ = Reflect::set(&message, &"name".into(), &name.into());
        let array = Uint8Array::from(bytes);
        let _ = Reflect::set(&message, &"bytes".into(), &array);
        let (worker, queue) = &pool.workers[id as usize % pool.workers.len()];
        let transfer = js_sys::Array::of1(&array.buffer());
        match queue.borrow_mut().as_mut() {
            Some(waiting) => waiting.push((message.into(), transfer)),
            None => worker
                .post_message_with_transfer(&message, &transfer)
                .map_err(|e| js_error_text(&e))?,
        }
        Ok(receiver)
    })
}

fn read_answer(name: &str, data: &JsValue) -> FileHash {
    let get = |key: &str| Reflect::get(data, &key.into()).unwrap_or(JsValue::NULL);
    let fingerprint = match get("fingerprint").dyn_into::<Uint8Array>() {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(_) => Err(get("error")
            .as_string()
            .unwrap_or_else(|| "the worker returned no hash".into())),
    };
    FileHash {
        name: name.to_owned(),
        fingerprint,
        similarity: get("similarity").as_string(),
        micros: get("micros").as_f64().unwrap_or(0.0) as u64,
    }
}

/// Hashes `files` in the worker pool, in parallel; returns them in order with the
/// wall-clock milliseconds the whole batch took.
pub async fn hash_files(
    kind: ScoreKind,
    files: &[(String, Vec<u8>)],
) -> Result<(Vec<FileHash>, f64), String> {
    let started = now_ms();
    let mut receivers = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        receivers.push((name.clone(), dispatch(kind, name, bytes)?));
    }
    let mut out = Vec::with_capacity(files.len());
    for (name, receiver) in receivers {
        let answer = receiver
            .await
            .map_err(|_| "the hashing worker went away".to_owned())??;
        out.push(read_answer(&name, &answer));
    }
    Ok((out, now_ms() - started))
}

/// The worker's side: answers one message (see the module docs).
pub fn answer(data: &JsValue) -> JsValue {
    let get = |key: &str| Reflect::get(data, &key.into()).unwrap_or(JsValue::NULL);
    let started = now_in_worker();
    let kind = if get("kind").as_string().as_deref() == Some("text") {
        ScoreKind::Text
    } else {
        ScoreKind::Image
    };
    let name = get("name").as_string().unwrap_or_default();
    let bytes = get("bytes")
        .dyn_into::<Uint8Array>()
        .map(|a| a.to_vec())
        .unwrap_or_default();
    let hashed = crate::model::hash_file(kind, &name, &bytes);
    let reply = Object::new();
    let _ = Reflect::set(&reply, &"id".into(), &get("id"));
    let _ = Reflect::set(&reply, &"name".into(), &name.into());
    match hashed.fingerprint {
        Ok(print) => {
            let _ = Reflect::set(&reply, &"fingerprint".into(), &Uint8Array::from(&print[..]));
        }
        Err(e) => {
            let _ = Reflect::set(&reply, &"error".into(), &e.into());
        }
    }
    if let Some(similarity) = hashed.similarity {
        let _ = Reflect::set(&reply, &"similarity".into(), &similarity.into());
    }
    let micros = ((now_in_worker() - started) * 1000.0).max(0.0);
    let _ = Reflect::set(&reply, &"micros".into(), &micros.into());
    reply.into()
}

fn now_in_worker() -> f64 {
    js_sys::global()
        .dyn_into::<web_sys::WorkerGlobalScope>()
        .ok()
        .and_then(|scope| scope.performance())
        .map_or(0.0, |p| p.now())
}
