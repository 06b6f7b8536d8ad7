//! `cargo xtask bench engine`: the inference engine (Burn, CPU backend) beside PyTorch eager
//! (diffusers + compel, transformers) on the same checkpoints, settings, machine and thread
//! count, one workload per process so each peak-memory figure is that workload's own.
//!
//! Prepares what is missing and skips what is present: the random-weight SD 1.5 and GPT-2
//! small checkpoints (`engine/examples/random_checkpoint.rs`) and a Python virtual
//! environment with the PyTorch packages, both under `<target>/bench/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::cmd::{self, cargo};

/// The PyTorch side's packages, at the versions that produced `shared/reference` (PyPI's
/// default torch wheel carries CUDA libraries, about 6 GB installed, and runs on the CPU).
const PYTHON_PACKAGES: &[&str] = &[
    "torch==2.15.0",
    "diffusers==0.42.1",
    "transformers==5.24.0",
    "compel==2.5.1",
    "safetensors==0.8.0",
    "accelerate==1.15.0",
];

/// A workload: its name (as both bench programs know it) and the settings both sides get.
struct Workload {
    name: &'static str,
    args: &'static [&'static str],
}

const WORKLOADS: &[Workload] = &[
    // The reference `dpm_default` task as it is: 2 images x 10 steps at 64x64.
    Workload {
        name: "sd-tiny",
        args: &["--runs", "3"],
    },
    // SD 1.5 size: one 256x256 image (32x32 latents), 3 DPM-Solver++ steps, cfg 5.
    Workload {
        name: "sd15",
        args: &[
            "--width", "256", "--height", "256", "--steps", "3", "--images", "1", "--runs", "1",
        ],
    },
    Workload {
        name: "gpt2-tiny",
        args: &["--max-new-tokens", "64", "--runs", "3"],
    },
    Workload {
        name: "gpt2-small",
        args: &["--max-new-tokens", "64", "--runs", "3"],
    },
];

/// The random-weight checkpoints: folder name under `models/` and the tool's kind.
const CHECKPOINTS: &[(&str, &str)] =
    &[("sd15-random", "sd15"), ("gpt2-small-random", "gpt2-small")];

pub(crate) fn run() -> Result<()> {
    // Fails early, with the reason, when the reference data is absent (the tiny workloads
    // and the SD 1.5 checkpoint's tokenizer come from it).
    locate::try_shared()?;
    let dir = cmd::target_dir().join("bench");
    let models = dir.join("models");
    checkpoints(&models)?;
    let python = venv(&dir.join("venv"))?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    cmd::run(cargo().args(["bench", "-p", "engine", "--bench", "engine", "--no-run"]))?;

    let mut results: BTreeMap<(&str, &str), Value> = BTreeMap::new();
    let mut loads = Vec::new();
    for workload in WORKLOADS {
        let models = models.to_str().context("non-UTF-8 target path")?;
        let mut burn = cargo();
        burn.args(["bench", "-p", "engine", "--bench", "engine", "--"])
            .arg(workload.name)
            .args(["--models", models])
            .args(workload.args)
            .env("RAYON_NUM_THREADS", threads.to_string());
        let mut torch = Command::new(&python);
        torch
            .current_dir(cmd::root())
            .arg("engine/tools/bench_torch.py")
            .arg(workload.name)
            .args(["--models", models, "--threads", &threads.to_string()])
            .args(workload.args);
        for (side, command) in [("burn", &mut burn), ("torch", &mut torch)] {
            let before = load_average();
            let mut line = None;
            cmd::run_tee(command, |text| {
                if let Some(json) = text.strip_prefix("BENCH ") {
                    line = serde_json::from_str::<Value>(json).ok();
                }
            })?;
            let value = line.with_context(|| format!("{side} {}: no BENCH line", workload.name))?;
            loads.push(format!(
                "{side} {}: load average {before} before, {} after",
                workload.name,
                load_average()
            ));
            results.insert((workload.name, side), value);
        }
    }
    print_table(&results, threads, &loads);
    Ok(())
}

/// Writes each random-weight checkpoint that is missing (into a temporary folder, renamed
/// when complete, so a present folder is a whole one).
fn checkpoints(models: &Path) -> Result<()> {
    for (name, kind) in CHECKPOINTS {
        let folder = models.join(name);
        if folder.is_dir() {
            eprintln!("{}: present", folder.display());
            continue;
        }
        let partial = models.join(format!("{name}.partial"));
        if partial.exists() {
            std::fs::remove_dir_all(&partial)
                .with_context(|| format!("removing {}", partial.display()))?;
        }
        cmd::run(
            cargo()
                .args([
                    "run",
                    "--release",
                    "-p",
                    "engine",
                    "--example",
                    "random_checkpoint",
                    "--",
                    kind,
                ])
                .arg(&partial),
        )?;
        std::fs::rename(&partial, &folder)
            .with_context(|| format!("renaming {} to {}", partial.display(), folder.display()))?;
    }
    Ok(())
}

/// A virtual environment with the PyTorch side's packages; returns its python.
fn venv(dir: &Path) -> Result<PathBuf> {
    let python = dir.join("bin/python");
    if !python.exists() {
        cmd::run(Command::new("python3").args(["-m", "venv"]).arg(dir))
            .context("python3 with the venv module is needed for the PyTorch side")?;
    }
    let imports = "import torch, diffusers, transformers, compel, safetensors";
    let ready = Command::new(&python)
        .args(["-c", imports])
        .output()
        .is_ok_and(|out| out.status.success());
    if ready {
        eprintln!("{}: PyTorch packages present", dir.display());
    } else {
        cmd::run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet"])
                .args(PYTHON_PACKAGES),
        )?;
    }
    Ok(python)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// The figures compared: JSON key, label, unit scale.
const FIGURES: &[(&str, &str, f64)] = &[
    ("step_s", "median step, ms", 1e3),
    ("task_s", "task, ms", 1e3),
    ("tokens_per_s", "tokens/s", 1.0),
    ("load_s", "load, s", 1.0),
    ("peak_rss_mib", "peak RSS, MiB", 1.0),
];

fn print_table(results: &BTreeMap<(&str, &str), Value>, threads: usize, loads: &[String]) {
    println!(
        "\nengine benchmark, CPU, {threads} threads on each side (Burn/PyTorch: below 1 is \
         faster for times and memory, above 1 for tokens/s)\n"
    );
    println!(
        "{:<11} {:<18} {:>12} {:>12} {:>11}",
        "workload", "figure", "burn", "pytorch", "burn/torch"
    );
    for workload in WORKLOADS {
        let (Some(burn), Some(torch)) = (
            results.get(&(workload.name, "burn")),
            results.get(&(workload.name, "torch")),
        ) else {
            continue;
        };
        for (key, label, scale) in FIGURES {
            let (Some(b), Some(t)) = (burn[key].as_f64(), torch[key].as_f64()) else {
                continue;
            };
            println!(
                "{:<11} {:<18} {:>12.2} {:>12.2} {:>11.2}",
                workload.name,
                label,
                b * scale,
                t * scale,
                b / t
            );
        }
        println!(
            "{:<11} settings: {}",
            "",
            burn["settings"].as_str().unwrap_or("?")
        );
        if burn["settings"] != torch["settings"] {
            println!(
                "{:<11} (pytorch: {})",
                "",
                torch["settings"].as_str().unwrap_or("?")
            );
        }
    }
    if let Some(versions) = results
        .values()
        .find_map(|value| value["versions"].as_str())
    {
        println!("\npytorch side: {versions}");
    }
    println!("machine load:");
    for line in loads {
        println!("  {line}");
    }
}
