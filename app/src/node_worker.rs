//! The browser node: a dedicated web worker (the `web_node` binary of `worker-wasm`, built
//! by trunk beside the app with a loader shim) that holds the node key, runs the engine and
//! talks to the chain and the relay. The Provide page speaks to it only in
//! `worker_protocol` messages: [`Command`]s go in, [`Event`]s come out, both passed through
//! `serde-wasm-bindgen` as plain JavaScript values.
//!
//! The worker says [`Event::Ready`] once its wasm listens; commands posted before that are
//! queued here and sent then. A worker that fails to load (or throws) is reported as an
//! [`Event::Error`] whose `command` is [`LOAD_ERROR`].

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use worker_protocol::{Command, Event};

use crate::js::js_error_text;

/// Where trunk puts the node worker's loader.
pub const WORKER_URL: &str = "./web_node_loader.js";

/// The `command` of the [`Event::Error`] reporting that the worker failed to load or
/// threw.
pub const LOAD_ERROR: &str = "load";

/// The `command` of the [`Event::Error`] reporting a message from the worker that is not
/// an [`Event`].
pub const MESSAGE_ERROR: &str = "message";

/// Messages waiting for [`Event::Ready`]; `None` once it came.
type Queue = Rc<RefCell<Option<Vec<JsValue>>>>;

/// A started node worker. Cloning shares it.
#[derive(Clone)]
pub struct NodeWorker {
    worker: web_sys::Worker,
    queue: Queue,
}

impl NodeWorker {
    /// Starts the worker; `on_event` receives every event it sends, [`Event::Ready`]
    /// included, and the load failures described in the module docs. The worker and its
    /// handlers live as long as the page.
    pub fn start(on_event: impl Fn(Event) + 'static) -> Result<Self, String> {
        let worker = web_sys::Worker::new(WORKER_URL)
            .map_err(|e| format!("cannot start the node worker: {}", js_error_text(&e)))?;
        let on_event = Rc::new(on_event);
        let queue: Queue = Rc::new(RefCell::new(Some(Vec::new())));

        let deliver = on_event.clone();
        let flush = (worker.clone(), queue.clone());
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |message: web_sys::MessageEvent| {
                let event = decode(&message.data());
                if event == Event::Ready {
                    let (worker, queue) = &flush;
                    let waiting = queue.borrow_mut().take().unwrap_or_default();
                    for value in waiting {
                        if let Err(e) = worker.post_message(&value) {
                            deliver(Event::Error {
                                command: MESSAGE_ERROR.into(),
                                message: format!(
                                    "could not send a queued command: {}",
                                    js_error_text(&e)
                                ),
                            });
                        }
                    }
                }
                deliver(event);
            },
        );
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let deliver = on_event.clone();
        // A script that fails to load fires a plain `Event`, an uncaught exception an
        // `ErrorEvent`: read `message` without assuming which.
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let message = crate::js::event_message(&event).unwrap_or_else(|| {
                format!("its script did not load (is {WORKER_URL} served beside the page?)")
            });
            deliver(Event::Error {
                command: LOAD_ERROR.into(),
                message,
            });
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();

        let deliver = on_event;
        let on_message_error =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_: web_sys::MessageEvent| {
                deliver(Event::Error {
                    command: MESSAGE_ERROR.into(),
                    message: "the node worker sent a message the page cannot receive".into(),
                });
            });
        worker.set_onmessageerror(Some(on_message_error.as_ref().unchecked_ref()));
        on_message_error.forget();

        Ok(Self { worker, queue })
    }

    /// Sends a command, or queues it until the worker is ready.
    pub fn post(&self, command: &Command) -> Result<(), String> {
        let value = command
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(|e| format!("cannot encode the command: {e}"))?;
        if let Some(waiting) = self.queue.borrow_mut().as_mut() {
            waiting.push(value);
            return Ok(());
        }
        self.worker
            .post_message(&value)
            .map_err(|e| format!("cannot send to the node worker: {}", js_error_text(&e)))
    }
}

/// A message from the worker as an [`Event`]; one that is not becomes an error event.
fn decode(data: &JsValue) -> Event {
    serde_wasm_bindgen::from_value::<Event>(data.clone()).unwrap_or_else(|e| Event::Error {
        command: MESSAGE_ERROR.into(),
        message: format!("the node worker sent a message the page cannot read: {e}"),
    })
}
