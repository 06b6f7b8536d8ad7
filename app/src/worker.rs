//! A web worker that speaks typed messages: what the page sends it (`In`) and what it answers
//! (`Out`), both plain serde types passed through `serde-wasm-bindgen` as JavaScript values.
//! Messages posted before the worker's wasm listens would be lost, so the handle queues them
//! until the worker says it is ready (an `Out` for which `is_ready` holds) and sends them
//! then. The node worker and the hashing workers both go through it.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::js::js_error_text;

/// Why a worker's message did not arrive as an `Out`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerFailure {
    /// The script did not load, or the worker threw: its code runs no more.
    Died(String),
    /// A message that is not an `Out`, or that the page could not receive.
    Unreadable(String),
}

/// Messages waiting for the worker to be ready; `None` once it is.
type Queue = Rc<RefCell<Option<Vec<JsValue>>>>;

/// A started worker. Cloning shares it.
pub struct WorkerHandle<In, Out> {
    worker: web_sys::Worker,
    queue: Queue,
    types: PhantomData<fn(In) -> Out>,
}

impl<In, Out> Clone for WorkerHandle<In, Out> {
    fn clone(&self) -> Self {
        Self {
            worker: self.worker.clone(),
            queue: self.queue.clone(),
            types: PhantomData,
        }
    }
}

impl<In: Serialize, Out: DeserializeOwned + 'static> WorkerHandle<In, Out> {
    /// Starts the worker at `url`. `on_message` receives every message it sends (the ready
    /// one included) and its failures; `is_ready` tells the message that says it listens.
    /// The worker and its handlers live as long as the page.
    pub fn start(
        url: &str,
        is_ready: fn(&Out) -> bool,
        on_message: impl Fn(Result<Out, WorkerFailure>) + 'static,
    ) -> Result<Self, String> {
        let worker = web_sys::Worker::new(url)
            .map_err(|e| format!("cannot start the worker {url}: {}", js_error_text(&e)))?;
        let on_message = Rc::new(on_message);
        let queue: Queue = Rc::new(RefCell::new(Some(Vec::new())));

        let deliver = on_message.clone();
        let (flush_to, waiting) = (worker.clone(), queue.clone());
        let on_data = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |message: web_sys::MessageEvent| {
                let decoded = serde_wasm_bindgen::from_value::<Out>(message.data())
                    .map_err(|e| WorkerFailure::Unreadable(format!("unreadable message: {e}")));
                if decoded.as_ref().is_ok_and(is_ready) {
                    for value in waiting.borrow_mut().take().unwrap_or_default() {
                        if let Err(e) = flush_to.post_message(&value) {
                            deliver(Err(WorkerFailure::Unreadable(format!(
                                "could not send a queued message: {}",
                                js_error_text(&e)
                            ))));
                        }
                    }
                }
                deliver(decoded);
            },
        );
        worker.set_onmessage(Some(on_data.as_ref().unchecked_ref()));
        on_data.forget();

        let deliver = on_message.clone();
        let script = url.to_owned();
        // A script that fails to load fires a plain `Event`, an uncaught exception an
        // `ErrorEvent`: read `message` without assuming which.
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let message = crate::js::event_message(&event).unwrap_or_else(|| {
                format!("its script did not load (is {script} served beside the page?)")
            });
            deliver(Err(WorkerFailure::Died(message)));
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();

        let deliver = on_message;
        let on_message_error =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_: web_sys::MessageEvent| {
                deliver(Err(WorkerFailure::Unreadable(
                    "the worker sent a message the page cannot receive".into(),
                )));
            });
        worker.set_onmessageerror(Some(on_message_error.as_ref().unchecked_ref()));
        on_message_error.forget();

        Ok(Self {
            worker,
            queue,
            types: PhantomData,
        })
    }

    /// Sends a message, or queues it until the worker is ready.
    pub fn post(&self, message: &In) -> Result<(), String> {
        let value = message
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(|e| format!("cannot encode the message: {e}"))?;
        if let Some(waiting) = self.queue.borrow_mut().as_mut() {
            waiting.push(value);
            return Ok(());
        }
        self.worker
            .post_message(&value)
            .map_err(|e| format!("cannot send to the worker: {}", js_error_text(&e)))
    }
}

/// The worker's side: its global scope, posting `Out`s and listening for typed messages.
pub struct Scope<Out> {
    scope: web_sys::DedicatedWorkerGlobalScope,
    types: PhantomData<fn(Out)>,
}

impl<Out> Clone for Scope<Out> {
    fn clone(&self) -> Self {
        Self {
            scope: self.scope.clone(),
            types: PhantomData,
        }
    }
}

impl<Out: Serialize> Scope<Out> {
    /// This worker's scope; `None` outside a dedicated worker.
    pub fn get() -> Option<Self> {
        let scope = js_sys::global()
            .dyn_into::<web_sys::DedicatedWorkerGlobalScope>()
            .ok()?;
        Some(Self {
            scope,
            types: PhantomData,
        })
    }

    /// Posts a message to the page.
    pub fn post(&self, out: &Out) {
        if let Ok(value) = out.serialize(&serde_wasm_bindgen::Serializer::json_compatible()) {
            let _ = self.scope.post_message(&value);
        }
    }

    /// Hands every message from the page to `handle`, decoded as an `In` (or why not).
    pub fn listen<In: DeserializeOwned + 'static>(
        &self,
        handle: impl Fn(Result<In, String>) + 'static,
    ) {
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                handle(
                    serde_wasm_bindgen::from_value::<In>(event.data())
                        .map_err(|e| format!("unreadable message: {e}")),
                );
            },
        );
        self.scope
            .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
    }
}
