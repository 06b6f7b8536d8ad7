//! `cargo xtask bench devnet`: wall time from task creation to a verified result on a
//! devnet (release binaries, models preloaded), and the part of it that is not inference.
//!
//! Inference time is what the slowest of the three nodes reports for its run (the nodes
//! run in parallel and all three must commit); everything else is the protocol: two
//! transactions to create and draw, the argument upload, fetching arguments, loading the
//! model, three commitments, three reveals, the upload with the relay's recomputed score,
//! and the requester's download and verification.

use std::time::{Duration, Instant};

use alloy::primitives::utils::parse_ether;
use anyhow::{Context, Result, ensure};
use contracts::TaskManager::TaskState;
use contracts::requests;
use verifier::report::Verdict;

use crate::cmd;
use crate::devnet::{self, Binaries, Devnet, Options};
use crate::requester::Requester;

/// Runs the benchmark: `runs` SD tasks and `runs` LLM tasks, one after another.
pub fn run(runs: usize) -> Result<()> {
    crate::tools::install_all()?;
    crate::contracts::prepare_tests()?;
    let bins = Binaries::build(true)?;
    let mut options = Options::new(cmd::root().join("target/devnet-bench"), bins);
    options.preload = devnet::MODELS.iter().map(|m| m.to_string()).collect();
    options.poll_ms = 100;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let devnet = Devnet::start(options).await?;
        let requester = Requester::new(&devnet.info, devnet.requester(0))?;
        println!(
            "{:<34} {:>10} {:>12} {:>14}",
            "task", "total ms", "inference ms", "not inference"
        );
        for run in 0..runs {
            let args = serde_json::to_vec(&serde_json::json!({
                "version": "2.5.0",
                "base_model": {"name": "sd-tiny", "variant": null},
                "prompt": "a lighthouse on a cliff at dawn, best quality++",
                "negative_prompt": "blurry",
                "task_config": {"num_images": 1, "seed": 100 + run, "steps": 10, "cfg": 5,
                                "image_width": 128, "image_height": 128, "safety_checker": false}
            }))?;
            let request = requests::sd_request(&args, "sd-tiny", 1, 1);
            measure(&devnet, &requester, "SD sd-tiny 128x128, 10 steps", request, &args).await?;
        }
        let (gpu, vram) = requester.llm_group().await?;
        for run in 0..runs {
            let args = serde_json::to_vec(&serde_json::json!({
                "model": "gpt2-tiny",
                "messages": [{"role": "user", "content": format!("Question number {run}: what is a GPU?")}],
                "generation_config": {"max_new_tokens": 32, "do_sample": false}
            }))?;
            let request = requests::llm_request(&args, "gpt2-tiny", &gpu, vram);
            measure(&devnet, &requester, "LLM gpt2-tiny, 32 tokens", request, &args).await?;
        }
        Ok(())
    })
}

async fn measure(
    devnet: &Devnet,
    requester: &Requester,
    label: &str,
    request: contracts::TaskManager::TaskRequest,
    args: &[u8],
) -> Result<()> {
    let started = Instant::now();
    let id = requester.submit(request, args, parse_ether("1")?).await?;
    let finished = requester.wait(id, Duration::from_secs(600), |_| {}).await?;
    ensure!(
        finished.state == TaskState::SUCCESS,
        "task {id} aborted:\n{}",
        devnet.logs()
    );
    let (report, _) = requester.verify(id).await?;
    ensure!(report.verdict == Verdict::Verified, "{:?}", report.problems);
    let total = started.elapsed().as_secs_f64() * 1e3;
    let inference = devnet
        .nodes
        .iter()
        .filter_map(|node| inference_ms(&node.log(), &id.to_string()))
        .max()
        .with_context(|| format!("no node logged its inference time for task {id}"))?;
    println!(
        "{label:<34} {total:>10.0} {inference:>12} {:>14.0}",
        total - inference as f64
    );
    Ok(())
}

/// The `ms=` of a node log's `ran the task` line for `task`.
pub fn inference_ms(log: &str, task: &str) -> Option<u64> {
    let needle = format!("task={task} ");
    log.lines()
        .filter(|line| line.contains("ran the task") && line.contains(&needle))
        .find_map(|line| {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix("ms="))
                .and_then(|ms| ms.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn inference_time_is_read_from_the_node_log() {
        let log = "2026-11-30T03:00:00Z  INFO worker_wasm::node::runner: ran the task task=12 ms=345\n\
                   2026-11-30T03:00:01Z  INFO worker_wasm::node::runner: ran the task task=1 ms=7";
        assert_eq!(super::inference_ms(log, "12"), Some(345));
        assert_eq!(super::inference_ms(log, "1"), Some(7));
        assert_eq!(super::inference_ms(log, "2"), None);
    }
}
