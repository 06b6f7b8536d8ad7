//! The browser entry: a wasm-bindgen API for the provider's web worker.
//!
//! Model files are handed over as a `Map` from their path inside the model folder
//! (`config.json`, `unet/diffusion_pytorch_model.safetensors`, ...) to a `Uint8Array`;
//! fetching and hash-checking them is the worker's job.

use burn::tensor::Device;
use js_sys::{Array, Map, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::device::Backend;
use crate::llm::{LanguageModel, LlmFiles};
use crate::sd::{SdFiles, Settings, StableDiffusion};
use crate::task::{Task, encode_png, llm_result_file};

/// An engine bound to one compute backend.
#[wasm_bindgen]
pub struct WebEngine {
    device: Device,
}

fn js_error(error: impl std::fmt::Display) -> JsError {
    JsError::new(&error.to_string())
}

struct Files(Map);

impl Files {
    fn bytes(&self, name: &str) -> Option<Vec<u8>> {
        let value = self.0.get(&JsValue::from_str(name));
        value.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec)
    }

    fn required(&self, name: &str) -> Result<Vec<u8>, JsError> {
        self.bytes(name)
            .ok_or_else(|| JsError::new(&format!("model file {name} is missing")))
    }

    fn text(&self, name: &str) -> Result<Option<String>, JsError> {
        self.bytes(name)
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|_| JsError::new(&format!("{name}: not UTF-8")))
            })
            .transpose()
    }

    fn required_text(&self, name: &str) -> Result<String, JsError> {
        self.text(name)?
            .ok_or_else(|| JsError::new(&format!("model file {name} is missing")))
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
        let Task::Llm(args) = Task::parse(task_json.as_bytes()).map_err(js_error)? else {
            return Err(JsError::new("not an LLM task"));
        };
        let files = Files(files);
        let llm_files = LlmFiles {
            config_json: files.required_text("config.json")?,
            weights: files.required("model.safetensors")?,
            tokenizer_json: files.text("tokenizer.json")?,
            vocab_json: files.text("vocab.json")?,
            merges_txt: files.text("merges.txt")?,
            tokenizer_config_json: files.text("tokenizer_config.json")?,
            chat_template_jinja: files.text("chat_template.jinja")?,
            generation_config_json: files.text("generation_config.json")?,
        };
        let model = LanguageModel::load(&llm_files, &self.device).map_err(js_error)?;
        let completion = model.generate(&args, |_, _| {}).await.map_err(js_error)?;
        Ok(llm_result_file(&args.model, &completion))
    }

    /// Runs an SD task; returns one PNG (`Uint8Array`) per image.
    pub async fn run_sd(&self, task_json: String, files: Map) -> Result<Array, JsError> {
        let Task::StableDiffusion(args) = Task::parse(task_json.as_bytes()).map_err(js_error)?
        else {
            return Err(JsError::new("not an SD task"));
        };
        let settings = Settings::from_args(&args).map_err(js_error)?;
        let files = Files(files);
        let sd_files = SdFiles {
            tokenizer_json: files.text("tokenizer/tokenizer.json")?,
            vocab_json: files.text("tokenizer/vocab.json")?,
            merges_txt: files.text("tokenizer/merges.txt")?,
            text_encoder_config: files.required_text("text_encoder/config.json")?,
            text_encoder_weights: files.required("text_encoder/model.safetensors")?,
            unet_config: files.required_text("unet/config.json")?,
            unet_weights: files.required("unet/diffusion_pytorch_model.safetensors")?,
            vae_config: files.required_text("vae/config.json")?,
            vae_weights: files.required("vae/diffusion_pytorch_model.safetensors")?,
            scheduler_config: files.required_text("scheduler/scheduler_config.json")?,
        };
        let pipeline = StableDiffusion::load(&sd_files, &self.device).map_err(js_error)?;
        let images = pipeline
            .generate(&settings, |_| {})
            .await
            .map_err(js_error)?;
        let out = Array::new();
        for image in &images {
            let png = encode_png(image).map_err(js_error)?;
            out.push(&Uint8Array::from(png.as_slice()));
        }
        Ok(out)
    }
}
