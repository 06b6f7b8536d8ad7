//! `devnet bench node`: the tiny SD task (sd-tiny, 2 images of 64x64, 6 steps) timed per
//! step and whole, by the native node binary beside this program (on each backend asked
//! for) and by the browser node's worker in `dist/` (WebGPU and wasm CPU, in headless
//! Chromium). Without a GPU, Chromium's WebGPU is SwiftShader and native wgpu is Mesa's
//! lavapipe, both on the CPU: the figures compare the code paths, not GPUs.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::network::Binaries;
use crate::scratch;

/// The task every run times.
pub fn task_json() -> String {
    serde_json::json!({
        "version": "2.5.0",
        "base_model": {"name": "sd-tiny", "variant": null},
        "prompt": "a lighthouse on a cliff at dawn, best quality++",
        "negative_prompt": "blurry",
        "task_config": {"num_images": 2, "seed": 7, "steps": 6, "cfg": 5,
                        "image_width": 64, "image_height": 64, "safety_checker": false}
    })
    .to_string()
}

/// Times the task natively on each of `backends`, then in the browser with `dist`'s worker.
pub async fn run(dist: &Path, backends: &[String]) -> Result<()> {
    let task = task_json();
    let scratch = scratch("node-bench-native")?;
    let task_file = scratch.join("task.json");
    std::fs::write(&task_file, &task)?;
    let node = Binaries::beside_this_program()?.node;
    for backend in backends {
        println!("bench: native {backend}:");
        let out = crate::run(
            Command::new(&node)
                .args(["run", "--task"])
                .arg(&task_file)
                .arg("--models")
                .arg(locate::try_shared()?.join("reference"))
                .arg("--out")
                .arg(scratch.join(backend))
                .args(["--backend", backend])
                .env("RUST_LOG", "warn"),
        );
        if let Err(e) = out {
            println!("bench: native {backend}: failed: {e:#}");
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    crate::browser::node_bench(dist, &task).await
}
