//! Hashing returned files off the main thread: a small pool of web workers (the
//! `hash_worker` binary, built by trunk beside the app), each running
//! [`crate::verify::hash_file`]. Files are spread over the workers; each answer resolves the
//! file's future. The messages are [`HashRequest`] and [`HashReply`], through
//! [`WorkerHandle`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use serde::{Deserialize, Serialize};
use verifier::score::ScoreKind;

use crate::js::now_ms;
use crate::verify::FileHash;
use crate::worker::{WorkerFailure, WorkerHandle};

/// Where trunk puts the worker's loader (see `app/index.html`).
pub const WORKER_URL: &str = "./hash_worker_loader.js";

/// Page → hashing worker: one file to hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashRequest {
    /// Matches the reply to the request.
    pub id: u32,
    /// Image (pHash) or text (SHA-256).
    pub kind: Kind,
    /// The file's name.
    pub name: String,
    /// Its bytes (a `Uint8Array` on the wire).
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

/// What kind of file: [`ScoreKind`] on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An image: the network's pHash.
    Image,
    /// A text result file: SHA-256.
    Text,
}

impl From<ScoreKind> for Kind {
    fn from(kind: ScoreKind) -> Self {
        match kind {
            ScoreKind::Image => Self::Image,
            ScoreKind::Text => Self::Text,
        }
    }
}

impl From<Kind> for ScoreKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Image => Self::Image,
            Kind::Text => Self::Text,
        }
    }
}

/// Hashing worker → page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum HashReply {
    /// The worker listens.
    Ready,
    /// A file's hashes.
    Hashed {
        /// The request's id.
        id: u32,
        /// The network's fingerprint (`Uint8Array`), or why it has none.
        #[serde(with = "fingerprint")]
        fingerprint: Result<Vec<u8>, String>,
        /// The independent similarity hash, for images.
        similarity: Option<String>,
        /// Microseconds the worker spent.
        micros: u64,
    },
    /// A message the worker could not read.
    Unreadable {
        /// Why.
        message: String,
    },
}

/// A fingerprint or its error, as `{ok: Uint8Array}` / `{err: "…"}`.
mod fingerprint {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Wire {
        Ok(#[serde(with = "serde_bytes")] Vec<u8>),
        Err(String),
    }

    pub(super) fn serialize<S: Serializer>(
        value: &Result<Vec<u8>, String>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Ok(bytes) => Wire::Ok(bytes.clone()),
            Err(e) => Wire::Err(e.clone()),
        }
        .serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Result<Vec<u8>, String>, D::Error> {
        Ok(match Wire::deserialize(d)? {
            Wire::Ok(bytes) => Ok(bytes),
            Wire::Err(e) => Err(e),
        })
    }
}

type Answer = Result<HashReply, String>;
type Waiting = Rc<RefCell<HashMap<u32, oneshot::Sender<Answer>>>>;

struct Pool {
    workers: Vec<WorkerHandle<HashRequest, HashReply>>,
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
        let answers = waiting.clone();
        let worker = WorkerHandle::start(
            WORKER_URL,
            |reply| *reply == HashReply::Ready,
            move |reply| match reply {
                Ok(HashReply::Hashed { id, .. }) => {
                    if let Some(sender) = answers.borrow_mut().remove(&id) {
                        let _ = sender.send(reply.map_err(|_| String::new()));
                    }
                }
                Ok(HashReply::Ready) => {}
                Ok(HashReply::Unreadable { message }) | Err(WorkerFailure::Unreadable(message)) => {
                    web_sys::console::warn_1(&format!("hashing worker: {message}").into());
                }
                // A worker that died fails everything waiting.
                Err(WorkerFailure::Died(message)) => {
                    for (_, sender) in answers.borrow_mut().drain() {
                        let _ = sender.send(Err(format!("the hashing worker failed: {message}")));
                    }
                }
            },
        )?;
        workers.push(worker);
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
) -> Result<oneshot::Receiver<Answer>, String> {
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
        let request = HashRequest {
            id,
            kind: kind.into(),
            name: name.to_owned(),
            bytes: bytes.to_vec(),
        };
        pool.workers[id as usize % pool.workers.len()].post(&request)?;
        Ok(receiver)
    })
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
        receivers.push((name.clone(), bytes, dispatch(kind, name, bytes)?));
    }
    let mut out = Vec::with_capacity(files.len());
    for (name, bytes, receiver) in receivers {
        let answer = receiver
            .await
            .map_err(|_| "the hashing worker went away".to_owned())??;
        if let HashReply::Hashed {
            fingerprint,
            similarity,
            micros,
            ..
        } = answer
        {
            out.push(FileHash {
                name,
                fingerprint,
                // SHA-256 is fast: taken here while the workers do the perceptual hashes.
                sha256: verifier::digest::sha256(bytes),
                similarity,
                micros,
            });
        }
    }
    Ok((out, now_ms() - started))
}

/// The worker's side: answers one request.
pub fn answer(request: HashRequest) -> HashReply {
    let started = now_in_worker();
    let hashed = crate::verify::hash_file(request.kind.into(), &request.name, &request.bytes);
    HashReply::Hashed {
        id: request.id,
        fingerprint: hashed.fingerprint,
        similarity: hashed.similarity,
        micros: ((now_in_worker() - started) * 1000.0).max(0.0) as u64,
    }
}

fn now_in_worker() -> f64 {
    use wasm_bindgen::JsCast;
    js_sys::global()
        .dyn_into::<web_sys::WorkerGlobalScope>()
        .ok()
        .and_then(|scope| scope.performance())
        .map_or(0.0, |p| p.now())
}
