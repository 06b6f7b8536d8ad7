//! The browser side: the node worker and a plain engine API.
//!
//! - [`worker`]: the provider's node worker (the `web_node` binary): typed messages from
//!   the page (`worker_protocol`), the node loop of [`crate::node::runner`] over a browser
//!   host (IndexedDB for the key and kept outcomes, the Cache API for models, the engine on
//!   WebGPU or the wasm CPU backend).
//! - [`WebEngine`]: the engine alone for JavaScript callers; model files are handed over as
//!   a `Map` from their path inside the model folder (`config.json`,
//!   `unet/diffusion_pytorch_model.safetensors`, ...) to a `Uint8Array`.

use burn::tensor::Device;
use js_sys::{Array, Map, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::device::Backend;
use crate::files::ModelFiles;
use crate::task::Task;

mod cache;
mod host;
mod idb;
mod js;
mod probe;
pub mod worker;

/// An engine bound to one compute backend.
#[wasm_bindgen]
pub struct WebEngine {
    device: Device,
}

fn js_error(error: impl std::fmt::Display) -> JsError {
    JsError::new(&error.to_string())
}

/// Model files handed over by JavaScript, by path.
struct Files(Map);

impl ModelFiles for Files {
    fn read(&self, path: &str) -> crate::Result<Option<Vec<u8>>> {
        let value = self.0.get(&JsValue::from_str(path));
        Ok(value.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec))
    }
}

#[wasm_bindgen]
impl WebEngine {
    /// Starts the engine on `backend` (`wgpu` for WebGPU, or `cpu`).
    pub async fn create(backend: String) -> Result<WebEngine, JsError> {
        console_error_panic_hook::set_once();
        let backend: Backend = backend.parse().map_err(js_error)?;
        let device = backend.device_async().await.map_err(js_error)?;
        Ok(Self { device })
    }

    /// Runs an LLM task; returns the bytes of `0.json`.
    pub async fn run_llm(&self, task_json: String, files: Map) -> Result<Vec<u8>, JsError> {
        let task = Task::parse(task_json.as_bytes()).map_err(js_error)?;
        if !matches!(task, Task::Llm(_)) {
            return Err(JsError::new("not an LLM task"));
        }
        let outcome = crate::task::run(&task, &Files(files), &self.device, |_| {})
            .await
            .map_err(js_error)?;
        Ok(outcome
            .files
            .into_iter()
            .next()
            .map(|(_, bytes)| bytes)
            .unwrap_or_default())
    }

    /// Runs an SD task; returns one PNG (`Uint8Array`) per image.
    pub async fn run_sd(&self, task_json: String, files: Map) -> Result<Array, JsError> {
        let task = Task::parse(task_json.as_bytes()).map_err(js_error)?;
        if !matches!(task, Task::StableDiffusion(_)) {
            return Err(JsError::new("not an SD task"));
        }
        let outcome = crate::task::run(&task, &Files(files), &self.device, |_| {})
            .await
            .map_err(js_error)?;
        let out = Array::new();
        for (_, png) in &outcome.files {
            out.push(&Uint8Array::from(png.as_slice()));
        }
        Ok(out)
    }
}
