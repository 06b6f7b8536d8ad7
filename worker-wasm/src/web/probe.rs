//! What this browser can compute with: the WebGPU adapter (read through `navigator.gpu`
//! as the page would see it), cores, storage; and a short engine benchmark.

use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_time::Instant;
use worker_protocol::{Adapter, Backend, Benchmark, Capability};

use super::idb::{self, Db};
use super::js;

/// Looks at the adapter, the cores and the storage.
pub(super) async fn capability() -> Result<Capability, String> {
    let scope = js::scope()?;
    let navigator = scope.navigator();
    let mut capability = Capability {
        cores: navigator.hardware_concurrency() as u32,
        ..Capability::default()
    };
    match adapter(&navigator).await {
        Ok(adapter) => capability.webgpu = Some(adapter),
        Err(why) => capability.webgpu_missing = Some(why),
    }
    if let Ok(promise) = navigator.storage().estimate()
        && let Ok(estimate) = js::wait(promise).await
    {
        capability.storage_quota = js::get(&estimate, "quota").as_f64();
        capability.storage_usage = js::get(&estimate, "usage").as_f64();
    }
    if let Ok(db) = Db::open().await {
        capability.write_durability = db.write_durability(idb::OUTCOMES).ok();
    }
    Ok(capability)
}

async fn adapter(navigator: &web_sys::WorkerNavigator) -> Result<Adapter, String> {
    let gpu = js::get(navigator, "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let request: js_sys::Function = js::get(&gpu, "requestAdapter")
        .dyn_into()
        .map_err(|_| "navigator.gpu.requestAdapter is missing")?;
    let promise: Promise = request
        .call0(&gpu)
        .map_err(|e| js::error_text(&e))?
        .dyn_into()
        .map_err(|_| "requestAdapter did not return a promise")?;
    let adapter = js::wait(promise).await.map_err(|e| js::error_text(&e))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err(
            "WebGPU offers no adapter here (GPU blocklisted or disabled; Chromium \
                    without a GPU needs --enable-unsafe-webgpu for its software adapter)"
                .into(),
        );
    }
    let info = js::get(&adapter, "info");
    let text = |name: &str| js::get(&info, name).as_string().unwrap_or_default();
    let name = [
        text("vendor"),
        text("architecture"),
        text("device"),
        text("description"),
    ]
    .into_iter()
    .filter(|part| !part.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    let limits = js::get(&adapter, "limits");
    let limit = |name: &str| js::get(&limits, name).as_f64().unwrap_or(0.0);
    let features: Vec<String> = Array::from(&js::get(&adapter, "features"))
        .iter()
        .filter_map(|f| f.as_string())
        .collect();
    let fallback = |object: &JsValue| {
        Reflect::get(object, &"isFallbackAdapter".into()).is_ok_and(|v| v.is_truthy())
    };
    Ok(Adapter {
        name: if name.is_empty() {
            "unnamed WebGPU adapter".into()
        } else {
            name
        },
        max_binding: limit("maxStorageBufferBindingSize"),
        max_buffer: limit("maxBufferSize"),
        shader_f16: features.iter().any(|f| f == "shader-f16"),
        software: fallback(&adapter)
            || fallback(&info)
            || text("architecture").eq_ignore_ascii_case("swiftshader"),
        features,
    })
}

/// The engine's device for `backend`.
pub(super) async fn device(backend: Backend) -> Result<engine::Device, String> {
    let engine: engine::device::Backend = backend
        .engine_name()
        .parse()
        .map_err(|e: engine::EngineError| e.to_string())?;
    engine.device_async().await.map_err(|e| e.to_string())
}

/// Times matrix products on `backend` ([`engine::timing::matmul`]): up to 2048 on WebGPU,
/// 512 on the wasm CPU backend.
pub(super) async fn benchmark(backend: Backend) -> Result<Benchmark, String> {
    let started = Instant::now();
    let device = device(backend).await?;
    let init_ms = started.elapsed().as_secs_f64() * 1000.0;
    let largest = match backend {
        Backend::Webgpu => 2048,
        Backend::Cpu => 512,
    };
    let timed = engine::timing::matmul(&device, largest)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Benchmark {
        backend,
        init_ms,
        size: timed.size,
        matmul_ms: timed.ms,
        gflops: timed.gflops,
    })
}
