//! Small browser helpers: timers, the clock, local storage.

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// Waits `ms` milliseconds without blocking the page.
pub async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _reject| {
        let scheduled = web_sys::window()
            .map(|w| w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms));
        if !matches!(scheduled, Some(Ok(_))) {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Milliseconds since the page started (`performance.now()`).
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Asks the browser to keep this site's storage under pressure
/// (`navigator.storage.persist()`): the node worker's IndexedDB holds the nonces of its
/// commitments, and a browser that evicts it would leave the node unable to reveal.
/// `Some(granted)`, or `None` where the browser offers no storage manager.
pub async fn persist_storage() -> Option<bool> {
    let promise = web_sys::window()?.navigator().storage().persist().ok()?;
    JsFuture::from(promise).await.ok()?.as_bool()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// A value from `localStorage`.
pub fn load(key: &str) -> Option<String> {
    storage()?.get_item(key).ok()?
}

/// Stores a value in `localStorage`; false when the browser refuses (private mode, full).
pub fn save(key: &str, value: &str) -> bool {
    storage().is_some_and(|s| s.set_item(key, value).is_ok())
}

/// Removes a `localStorage` entry.
pub fn remove(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}

/// Every `localStorage` key starting with `prefix`.
pub fn keys(prefix: &str) -> Vec<String> {
    let Some(s) = storage() else {
        return Vec::new();
    };
    let n = s.length().unwrap_or(0);
    (0..n)
        .filter_map(|i| s.key(i).ok().flatten())
        .filter(|k| k.starts_with(prefix))
        .collect()
}

/// A JavaScript error's message (or its text).
pub fn js_error_text(value: &JsValue) -> String {
    js_sys::Reflect::get(value, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

/// The `message` of a worker's `error` event, if it has one: a script that fails to load
/// fires a plain `Event` (no message), an uncaught exception an `ErrorEvent`.
pub fn event_message(event: &JsValue) -> Option<String> {
    js_sys::Reflect::get(event, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .filter(|m| !m.is_empty())
}
