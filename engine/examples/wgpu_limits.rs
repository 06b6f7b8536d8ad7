//! Checks SD 1.5-sized weights against WebGPU's buffer limits on the native wgpu backend
//! (e.g. Mesa's lavapipe):
//!
//! 1. opens the engine's wgpu device and prints the limits the adapter offers and the
//!    device got (Burn requests the adapter's maximum);
//! 2. opens a second device with WebGPU's *default* buffer limits (128 MiB per binding,
//!    256 MiB per buffer: what a browser device gets when it asks for nothing), shows that a 152 MB
//!    table in one tensor fails there, and loads and runs the SD 1.5 text encoder (and,
//!    given `--all`, the UNet and VAE decoder) and GPT-2 small on it, comparing with the CPU.
//!
//! ```text
//! cargo run --release -p engine --no-default-features --features cpu,wgpu \
//!     --example wgpu_limits -- MODELS_DIR [--all]
//! ```
//! `MODELS_DIR` holds `sd15-random/` and `gpt2-small-random/` (`examples/random_checkpoint.rs`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::wgpu::{WgpuSetup, wgpu};
use burn::tensor::{Device, Tensor, TensorData};
use engine::device::{self, Backend};
use engine::llm::{LanguageModel, LlmFiles};
use engine::sd::text_encoder::{ClipTextConfig, ClipTextEncoder};
use engine::sd::unet::{Unet, UnetConfig};
use engine::sd::vae::{VaeConfig, VaeDecoder};
use engine::weights::SafetensorsFile;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let models = PathBuf::from(
        args.first()
            .context("usage: wgpu_limits MODELS_DIR [--all]")?,
    );
    let all = args.iter().any(|a| a == "--all");

    let engine = Backend::Wgpu.device()?;
    let limits = device::wgpu_limits().context("the wgpu device's limits")?;
    println!("engine wgpu device: {limits:?}");
    Tensor::<1>::ones([4], &engine).into_data();

    let limited = pollster::block_on(default_limits_device())?;
    let cpu = Backend::Cpu.device()?;

    // One tensor the size of SD 1.5's CLIP token table.
    let result = std::panic::catch_unwind(|| {
        let values = vec![0.5f32; 49408 * 768];
        Tensor::<2>::from_data(TensorData::new(values, [49408, 768]), &limited)
            .sum()
            .into_scalar::<f32>()
    });
    match result {
        Ok(sum) => println!("one 49408x768 f32 tensor on the default-limits device: ok ({sum})"),
        Err(panic) => println!(
            "one 49408x768 f32 tensor on the default-limits device: FAILS ({})",
            panic_message(&panic)
        ),
    }

    let sd = models.join("sd15-random");
    let clip_config = ClipTextConfig::parse(&read_text(&sd.join("text_encoder/config.json"))?)?;
    let clip_weights = SafetensorsFile::open(&sd.join("text_encoder/model.safetensors"))?;
    let ids: Vec<Vec<u32>> = vec![(0..77).map(|i| (i * 641) % 49408).collect()];
    let mut outputs = Vec::new();
    for (name, device) in [("cpu", &cpu), ("default-limits wgpu", &limited)] {
        let encoder = ClipTextEncoder::load(clip_config.clone(), &clip_weights, None, device)?;
        let hidden = encoder.forward(&ids, None)?;
        let values: Vec<f32> = hidden
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        println!("SD 1.5 text encoder on {name}: {} values", values.len());
        outputs.push(values);
    }
    println!(
        "SD 1.5 text encoder, wgpu vs cpu: max abs difference {:.2e}",
        max_difference(&outputs[0], &outputs[1])
    );
    drop(clip_weights);

    if all {
        let unet = SafetensorsFile::open(&sd.join("unet/diffusion_pytorch_model.safetensors"))?;
        let config = UnetConfig::parse(&read_text(&sd.join("unet/config.json"))?)?;
        Unet::load(config, &unet, None, &limited)?;
        println!("SD 1.5 UNet loaded on the default-limits device");
        drop(unet);
        let vae = SafetensorsFile::open(&sd.join("vae/diffusion_pytorch_model.safetensors"))?;
        let config = VaeConfig::parse(&read_text(&sd.join("vae/config.json"))?)?;
        VaeDecoder::load(config, &vae, &limited)?;
        println!("SD 1.5 VAE decoder loaded on the default-limits device");
    }

    let files = LlmFiles::read_dir(&models.join("gpt2-small-random"))?;
    let task = verifier::args::LlmTaskArgs::parse(
        br#"{"model": "gpt2-small", "messages": [{"role": "user", "content": "Hello"}],
            "generation_config": {"max_new_tokens": 4, "do_sample": false}}"#,
    )?;
    let mut completions = Vec::new();
    for (name, device) in [("cpu", &cpu), ("default-limits wgpu", &limited)] {
        let model = LanguageModel::load(&files, device)?;
        let completion = pollster::block_on(model.generate(&task, |_, _| {}))?;
        println!("GPT-2 small on {name}: new ids {:?}", completion.new_ids);
        completions.push(completion);
    }
    println!(
        "GPT-2 small, wgpu vs cpu: same ids {}, prompt logits max abs difference {:.2e}",
        completions[0].new_ids == completions[1].new_ids,
        max_difference(&completions[0].prompt_logits, &completions[1].prompt_logits)
    );
    if completions[0].new_ids != completions[1].new_ids {
        bail!("GPT-2 small differs between the CPU and the default-limits wgpu device");
    }
    Ok(())
}

/// A wgpu device with WebGPU's default limits, registered with Burn.
async fn default_limits_device() -> Result<Device> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions::default())
        .await
        .context("no wgpu adapter")?;
    let defaults = wgpu::Limits::default();
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("webgpu-default-limits"),
            required_features: adapter
                .features()
                .difference(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS),
            // The adapter's limits except the two buffer sizes, at WebGPU's defaults (the
            // runtime sizes workgroups from the adapter's limits).
            required_limits: wgpu::Limits {
                max_storage_buffer_binding_size: defaults.max_storage_buffer_binding_size,
                max_buffer_size: defaults.max_buffer_size,
                ..adapter.limits()
            },
            ..Default::default()
        })
        .await
        .context("requesting a device with the default limits")?;
    let limits = device.limits();
    println!(
        "default-limits device: binding {} MiB, buffer {} MiB",
        limits.max_storage_buffer_binding_size >> 20,
        limits.max_buffer_size >> 20
    );
    let backend = adapter.get_info().backend;
    Device::wgpu_options()
        .setup(WgpuSetup {
            instance,
            adapter,
            device,
            queue,
            backend,
        })
        .init()
        .map_err(|e| anyhow::anyhow!("registering the default-limits device: {e:?}"))
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}
