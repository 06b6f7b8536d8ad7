//! Engine benchmarks on the CPU backend: per-step UNet time and whole-task time for Stable
//! Diffusion, tokens per second for GPT-2, load time and peak memory.
//!
//! ```text
//! cargo bench -p engine --bench engine -- [WORKLOAD...] [--models DIR]
//!     [--width N --height N --steps N --images N --runs N --max-new-tokens N]
//! ```
//!
//! Workloads: `sd-tiny` and `gpt2-tiny` (the reference checkpoints, from `TESSERA_SHARED` or
//! `../shared`), `sd15` and `gpt2-small` (random-weight checkpoints of the real sizes in
//! `--models`, written by `examples/random_checkpoint.rs`). With none named, the two tiny
//! ones run. The SD task is the reference `dpm_default` case (DPM-Solver++, cfg 5); the size
//! flags override its resolution, steps and image count. Each workload prints a readable
//! line and a `BENCH {json}` line that `cargo xtask bench engine` reads; peak memory is the
//! process's VmHWM, so it is the workload's own only when the workload runs alone in its
//! process (as `cargo xtask bench engine` runs them). Threads: Burn's rayon pool, sized by
//! `RAYON_NUM_THREADS` (all cores by default). Figures only; nothing asserts on time.

use std::path::{Path, PathBuf};
use std::time::Instant;

use engine::device::Backend;
use engine::llm::{LanguageModel, LlmFiles};
use engine::sd::{SdFiles, Settings, StableDiffusion};
use serde_json::json;
use verifier::args::{LlmTaskArgs, SdTaskArgs};

#[derive(Default)]
struct Options {
    workloads: Vec<String>,
    models: Option<PathBuf>,
    width: Option<usize>,
    height: Option<usize>,
    steps: Option<usize>,
    images: Option<usize>,
    runs: Option<usize>,
    max_new_tokens: Option<usize>,
}

fn parse_args() -> Options {
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |flag: &str| -> Option<usize> {
            let value = args
                .next()
                .unwrap_or_else(|| panic!("{flag} needs a value"));
            Some(value.parse().unwrap_or_else(|_| panic!("{flag} {value:?}")))
        };
        match arg.as_str() {
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            "--models" => {
                options.models = Some(PathBuf::from(args.next().expect("--models needs a value")))
            }
            "--width" => options.width = number("--width"),
            "--height" => options.height = number("--height"),
            "--steps" => options.steps = number("--steps"),
            "--images" => options.images = number("--images"),
            "--runs" => options.runs = number("--runs"),
            "--max-new-tokens" => options.max_new_tokens = number("--max-new-tokens"),
            flag if flag.starts_with("--") => panic!("unknown flag {flag}"),
            workload => options.workloads.push(workload.to_owned()),
        }
    }
    if options.workloads.is_empty() {
        options.workloads = vec!["sd-tiny".into(), "gpt2-tiny".into()];
    }
    options
}

fn main() {
    let options = parse_args();
    let device = Backend::Cpu.device().expect("cpu backend");
    let models = || {
        options
            .models
            .clone()
            .expect("--models DIR is needed for the full-size checkpoints")
    };
    for workload in &options.workloads {
        match workload.as_str() {
            "sd-tiny" => sd(
                workload,
                &locate::shared().join("reference/sd-tiny"),
                &options,
                &device,
            ),
            "sd15" => sd(workload, &models().join("sd15-random"), &options, &device),
            "gpt2-tiny" => llm(
                workload,
                &locate::shared().join("reference/gpt2-tiny"),
                &options,
                &device,
            ),
            "gpt2-small" => llm(
                workload,
                &models().join("gpt2-small-random"),
                &options,
                &device,
            ),
            other => panic!("unknown workload {other:?}: sd-tiny, sd15, gpt2-tiny, gpt2-small"),
        }
    }
}

/// The process's peak resident memory (VmHWM) in MiB, where /proc is available.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn threads() -> String {
    std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all cores".into())
}

fn sd(workload: &str, dir: &Path, options: &Options, device: &burn::tensor::Device) {
    let started = Instant::now();
    let files = SdFiles::read_dir(dir, None)
        .unwrap_or_else(|e| panic!("{workload}: cannot read {}: {e}", dir.display()));
    let pipeline = StableDiffusion::load(&files, device)
        .unwrap_or_else(|e| panic!("{workload}: cannot load: {e}"));
    drop(files);
    let load = started.elapsed().as_secs_f64();
    let task = std::fs::read(locate::shared().join("reference/sd-cases/dpm_default/task.json"))
        .expect("the dpm_default task");
    let mut settings =
        Settings::from_args(&SdTaskArgs::parse(&task).expect("valid task")).expect("supported");
    settings.width = options.width.unwrap_or(settings.width);
    settings.height = options.height.unwrap_or(settings.height);
    settings.steps = options.steps.unwrap_or(settings.steps);
    settings.num_images = options.images.unwrap_or(settings.num_images);
    let runs = options.runs.unwrap_or(3);
    let (mut tasks, mut steps) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let mut last = Instant::now();
        let mut step_times = Vec::new();
        let started = Instant::now();
        let images = pollster::block_on(pipeline.generate(&settings, |_| {
            step_times.push(last.elapsed().as_secs_f64());
            last = Instant::now();
        }))
        .expect("generation");
        let total = started.elapsed().as_secs_f64();
        let step = median(step_times.clone());
        println!(
            "burn {workload} run {run}: {} images x {} steps at {}x{} (cfg {}): task {:.1} ms, \
             median step (UNet x2 + scheduler) {:.2} ms",
            images.len(),
            settings.steps,
            settings.width,
            settings.height,
            settings.cfg,
            total * 1e3,
            step * 1e3
        );
        tasks.push(total);
        steps.extend(step_times);
    }
    report(json!({
        "side": "burn",
        "workload": workload,
        "settings": format!("{}x{}, {} steps, {} image(s), cfg {}, DPM-Solver++",
            settings.width, settings.height, settings.steps, settings.num_images, settings.cfg),
        "threads": threads(),
        "runs": runs,
        "load_s": load,
        "task_s": median(tasks),
        "step_s": median(steps),
        "peak_rss_mib": peak_rss_mib(),
    }));
}

fn llm(workload: &str, dir: &Path, options: &Options, device: &burn::tensor::Device) {
    let started = Instant::now();
    let files = LlmFiles::read_dir(dir)
        .unwrap_or_else(|e| panic!("{workload}: cannot read {}: {e}", dir.display()));
    let model = LanguageModel::load(&files, device)
        .unwrap_or_else(|e| panic!("{workload}: cannot load: {e}"));
    drop(files);
    let load = started.elapsed().as_secs_f64();
    let max_new_tokens = options.max_new_tokens.unwrap_or(64);
    let args = LlmTaskArgs::parse(
        json!({
            "model": workload,
            "messages": [{"role": "user", "content": "Tell me a long story."}],
            "generation_config": {"max_new_tokens": max_new_tokens, "do_sample": false}
        })
        .to_string()
        .as_bytes(),
    )
    .expect("valid task");
    let runs = options.runs.unwrap_or(3);
    let (mut rates, mut tasks, mut prompt, mut new) = (Vec::new(), Vec::new(), 0, 0);
    for run in 0..runs {
        let started = Instant::now();
        let completion = pollster::block_on(model.generate(&args, |_, _| {})).expect("generation");
        let seconds = started.elapsed().as_secs_f64();
        (prompt, new) = (completion.prompt_ids.len(), completion.new_ids.len());
        println!(
            "burn {workload} run {run}: {prompt} prompt + {new} new tokens in {:.1} ms: {:.1} tokens/s",
            seconds * 1e3,
            new as f64 / seconds
        );
        rates.push(new as f64 / seconds);
        tasks.push(seconds);
    }
    report(json!({
        "side": "burn",
        "workload": workload,
        "settings": format!("{prompt} prompt + {new} new tokens, greedy"),
        "threads": threads(),
        "runs": runs,
        "load_s": load,
        "task_s": median(tasks),
        "tokens_per_s": median(rates),
        "peak_rss_mib": peak_rss_mib(),
    }));
}

fn report(value: serde_json::Value) {
    println!("BENCH {value}");
}
