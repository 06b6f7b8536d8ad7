//! Engine benchmarks on the CPU backend: per-step UNet time and whole-task time for the
//! tiny SD checkpoint, and tokens per second for the tiny GPT-2.
//!
//! `cargo bench -p worker-wasm --bench engine` (reference data from `TESSERA_SHARED` or
//! `../shared`). Figures only; nothing here asserts on time.

use std::path::PathBuf;
use std::time::Instant;

use verifier::args::{LlmTaskArgs, SdTaskArgs};
use worker_wasm::device::Backend;
use worker_wasm::llm::{LanguageModel, LlmFiles};
use worker_wasm::sd::{SdFiles, Settings, StableDiffusion};

fn reference(name: &str) -> PathBuf {
    let shared = std::env::var_os("TESSERA_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    shared.join("reference").join(name)
}

fn main() {
    let device = Backend::Cpu.device().expect("cpu backend");

    let files = SdFiles::read_dir(&reference("sd-tiny"), None).expect("sd-tiny");
    let started = Instant::now();
    let pipeline = StableDiffusion::load(&files, &device).expect("sd-tiny loads");
    println!(
        "sd-tiny load: {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let task = std::fs::read(reference("sd-cases/dpm_default/task.json")).expect("task");
    let settings =
        Settings::from_args(&SdTaskArgs::parse(&task).expect("valid task")).expect("supported");
    for run in 0..3 {
        let mut last = Instant::now();
        let mut step_times = Vec::new();
        let started = Instant::now();
        let images = pollster::block_on(pipeline.generate(&settings, |_| {
            step_times.push(last.elapsed().as_secs_f64());
            last = Instant::now();
        }))
        .expect("generation");
        let total = started.elapsed().as_secs_f64();
        step_times.sort_by(f64::total_cmp);
        println!(
            "sd-tiny dpm_default run {run}: {} images x {} steps at {}x{} (cfg {}): task {:.1} ms, \
             median step (UNet x2 + scheduler) {:.2} ms",
            images.len(),
            settings.steps,
            settings.width,
            settings.height,
            settings.cfg,
            total * 1e3,
            step_times[step_times.len() / 2] * 1e3
        );
    }

    let files = LlmFiles::read_dir(&reference("gpt2-tiny")).expect("gpt2-tiny");
    let model = LanguageModel::load(&files, &device).expect("gpt2-tiny loads");
    let args = LlmTaskArgs::parse(
        br#"{"model": "gpt2-tiny", "messages": [{"role": "user", "content": "Tell me a long story."}],
            "generation_config": {"max_new_tokens": 64, "do_sample": false}}"#,
    )
    .expect("valid task");
    for run in 0..3 {
        let started = Instant::now();
        let completion = pollster::block_on(model.generate(&args, |_, _| {})).expect("generation");
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "gpt2-tiny run {run}: {} prompt + {} new tokens in {:.1} ms: {:.0} tokens/s",
            completion.prompt_ids.len(),
            completion.new_ids.len(),
            seconds * 1e3,
            completion.new_ids.len() as f64 / seconds
        );
    }
}
