//! Small bridges to the worker's JavaScript globals.

use std::time::Duration;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// `setTimeout`, global in pages and workers alike.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, millis: i32) -> JsValue;
}

/// Waits `duration` without blocking the worker's event loop.
pub(super) async fn sleep(duration: Duration) {
    let millis = duration.as_millis().min(i32::MAX as u128) as i32;
    let promise = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, millis);
    });
    let _ = JsFuture::from(promise).await;
}

/// The worker's global scope.
pub(super) fn scope() -> Result<web_sys::WorkerGlobalScope, String> {
    js_sys::global()
        .dyn_into::<web_sys::WorkerGlobalScope>()
        .map_err(|_| "the browser node runs only in a web worker".to_owned())
}

/// A JavaScript error as text: its `name: message`, or whatever it prints as.
pub(super) fn error_text(error: &JsValue) -> String {
    if let Some(text) = error.as_string() {
        return text;
    }
    let field = |name: &str| {
        Reflect::get(error, &name.into())
            .ok()
            .and_then(|v| v.as_string())
    };
    match (field("name"), field("message")) {
        (Some(name), Some(message)) => format!("{name}: {message}"),
        (None, Some(message)) => message,
        _ => format!("{error:?}"),
    }
}

/// The `name` of a JavaScript error (`QuotaExceededError`, ...).
pub(super) fn error_name(error: &JsValue) -> Option<String> {
    Reflect::get(error, &"name".into())
        .ok()
        .and_then(|v| v.as_string())
}

/// Awaits a promise, the rejection as text.
pub(super) async fn wait(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

/// `object[name]`, or `undefined`.
pub(super) fn get(object: &JsValue, name: &str) -> JsValue {
    Reflect::get(object, &name.into()).unwrap_or(JsValue::UNDEFINED)
}
