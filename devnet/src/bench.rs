//! `devnet bench network` (`cargo xtask bench devnet`): wall time from task creation to a
//! verified result on a devnet (the binaries beside this program, models preloaded), and
//! the part of it that is not inference.
//!
//! Inference time is what the slowest of the three nodes reports for its run (the nodes
//! run in parallel and all three must commit); everything else is the protocol: two
//! transactions to create and draw, the argument upload, fetching arguments, loading the
//! model, three commitments, three reveals, the upload with the relay's recomputed score,
//! and the requester's download and verification.

use std::time::Instant;

use alloy::primitives::utils::parse_ether;
use anyhow::{Context, Result, ensure};
use contracts::TaskManager::TaskState;
use verifier::report::Verdict;

use crate::network::{Binaries, Devnet, MODELS, Options};
use crate::requester::DevRequester;

/// Runs the benchmark: `runs` SD tasks and `runs` LLM tasks, one after another.
pub async fn run(runs: usize) -> Result<()> {
    let scratch = crate::scratch("network-bench")?;
    let mut options = Options::new(scratch.join("devnet"), Binaries::beside_this_program()?)?;
    options.preload = MODELS.iter().map(|m| m.to_string()).collect();
    options.poll_ms = 100;
    let devnet = Devnet::start(options).await?;
    let requester = devnet.requester(0)?;
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
        measure(&devnet, &requester, "SD sd-tiny 128x128, 10 steps", args).await?;
    }
    for run in 0..runs {
        let args = serde_json::to_vec(&serde_json::json!({
            "model": "gpt2-tiny",
            "messages": [{"role": "user", "content": format!("Question number {run}: what is a GPU?")}],
            "generation_config": {"max_new_tokens": 32, "do_sample": false}
        }))?;
        measure(&devnet, &requester, "LLM gpt2-tiny, 32 tokens", args).await?;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

async fn measure(
    devnet: &Devnet,
    requester: &DevRequester,
    label: &str,
    args: Vec<u8>,
) -> Result<()> {
    let started = Instant::now();
    let order = requester.order(args, parse_ether("1")?).await?;
    let id = requester.submit(&order, |_| {}).await.map_err(|(_, e)| e)?;
    let task = requester.wait(id, 600_000, |_| {}).await?;
    ensure!(
        task.state == TaskState::SUCCESS,
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
