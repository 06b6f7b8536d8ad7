//! `cargo xtask fuzz`: the coverage-guided fuzz targets of `fuzz/` under AFL++, each for a
//! set time, one after the other, then a table of what each did. Not part of `cargo xtask
//! test`.
//!
//! AFL++ through `cargo afl`, because it builds on stable Rust: its instrumentation is
//! LLVM's SanitizerCoverage through stable `-C passes`/`-C llvm-args` flags, where
//! `cargo fuzz` (libFuzzer) needs nightly's `-Zsanitizer` (fuzz/README.md). The targets
//! live in their own workspace (`fuzz/Cargo.toml`) and build into their own target folder,
//! so the instrumentation never reaches the main workspace's builds.
//!
//! 1. `cargo install cargo-afl` unless it is there, then `cargo afl config --build` (AFL++
//!    compiled from the sources the crate carries) unless that was done;
//! 2. `cargo afl build --release` of every target;
//! 3. each target in turn: `afl-fuzz` for the given seconds on its seed corpus
//!    (`fuzz/corpus/<target>`), within an address-space limit, writing to
//!    `<target dir>/fuzz/out/<target>`;
//! 4. per target: executions, executions a second, edges covered, crashes and hangs with
//!    the paths of the inputs that caused them. Fails if any target crashed or hung.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd::{self, output, run};
use crate::tools;

/// Every fuzz target of `fuzz/`, in the order they run, with what each one fuzzes.
pub(crate) const TARGETS: [(&str, &str); 9] = [
    (
        "phash",
        "verifier::phash: PNG and JPEG decoding, then the pHash",
    ),
    (
        "task_args",
        "verifier::args: SD and LLM task arguments, parsed and validated",
    ),
    (
        "compel",
        "engine::sd::prompt::parse (Compel weights), then CLIP's tokenizer",
    ),
    (
        "tokenizers",
        "engine::tokenizer: byte-level BPE (GPT-2, Qwen2) and CLIP",
    ),
    (
        "chat_template",
        "engine::llm::ChatTemplate: finding and rendering templates",
    ),
    (
        "relay_multipart",
        "relay::http::read_files: result uploads (multipart)",
    ),
    (
        "relay_auth",
        "relay_api::auth: a signed request's headers, signer recovery",
    ),
    (
        "history",
        "contracts::history: TaskManager logs decoded, then settled",
    ),
    (
        "worker_protocol",
        "worker-protocol: the page/worker messages' JSON",
    ),
];

/// The cargo-afl release the targets' `afl` dependency matches.
const CARGO_AFL_VERSION: &str = "0.18.2";

/// Runs `targets` (all when empty) for `seconds` each within `memory_mb` of address space.
pub(crate) fn run_all(seconds: u64, memory_mb: u64, targets: &[String]) -> Result<()> {
    let chosen: Vec<&str> = if targets.is_empty() {
        TARGETS.iter().map(|(name, _)| *name).collect()
    } else {
        targets
            .iter()
            .map(|t| {
                TARGETS
                    .iter()
                    .find(|(name, _)| name == t)
                    .map(|(name, _)| *name)
                    .with_context(|| {
                        let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
                        format!("no fuzz target `{t}`; there are {}", names.join(", "))
                    })
            })
            .collect::<Result<_>>()?
    };
    install()?;
    let fuzz_dir = cmd::root().join("fuzz");
    let target_dir = cmd::target_dir().join("fuzz");
    run(afl(&fuzz_dir)
        .args(["build", "--release"])
        .env("CARGO_TARGET_DIR", &target_dir))?;

    let mut reports = Vec::new();
    for name in chosen {
        let what = TARGETS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, w)| *w);
        eprintln!("fuzzing {name} for {seconds} s: {what}");
        let out = target_dir.join("out").join(name);
        if out.exists() {
            std::fs::remove_dir_all(&out)
                .with_context(|| format!("removing the last run's {}", out.display()))?;
        }
        // afl-fuzz creates its output folder, not the folders above it.
        std::fs::create_dir_all(target_dir.join("out"))?;
        let fuzzer = afl(&fuzz_dir)
            .arg("fuzz")
            .arg("-i")
            .arg(fuzz_dir.join("corpus").join(name))
            .arg("-o")
            .arg(&out)
            .args(["-m", &memory_mb.to_string(), "-t", "2000"])
            .args(["-V", &seconds.to_string(), "--"])
            .arg(target_dir.join("release").join(name))
            // Plain log lines instead of the screen; no pinning to a core on a shared
            // machine; no demands on the CPU governor or on where the kernel sends core
            // dumps (containers rarely let either be changed).
            .env("AFL_NO_UI", "1")
            .env("AFL_NO_AFFINITY", "1")
            .env("AFL_SKIP_CPUFREQ", "1")
            .env("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1")
            .status()
            .with_context(|| format!("starting afl-fuzz for {name}"))?;
        if !fuzzer.success() {
            bail!("afl-fuzz for {name} failed with {fuzzer}");
        }
        reports.push(Report::read(name, &out.join("default"))?);
    }

    println!();
    println!(
        "{:<16} {:>8} {:>12} {:>9} {:>15} {:>7} {:>5}",
        "target", "seconds", "executions", "exec/s", "edges", "crashes", "hangs"
    );
    for r in &reports {
        println!(
            "{:<16} {:>8} {:>12} {:>9.0} {:>15} {:>7} {:>5}",
            r.name,
            r.seconds,
            r.executions,
            r.executions as f64 / r.seconds.max(1) as f64,
            format!("{}/{}", r.edges, r.total_edges),
            r.crashes.len(),
            r.hangs.len(),
        );
    }
    let mut failed = false;
    for r in &reports {
        for path in r.crashes.iter().chain(&r.hangs) {
            println!("{}: {}", r.name, path.display());
            failed = true;
        }
    }
    if failed {
        bail!("the fuzzers found crashes or hangs (inputs listed above)");
    }
    Ok(())
}

/// `cargo afl` run in `fuzz/`.
fn afl(fuzz_dir: &Path) -> Command {
    let mut cmd = cmd::cargo();
    cmd.arg("afl").current_dir(fuzz_dir);
    cmd
}

/// cargo-afl at [`CARGO_AFL_VERSION`] unless installed, then AFL++ unless built.
fn install() -> Result<()> {
    let installed = output(cmd::cargo().args(["afl", "--version"]));
    if installed.is_none_or(|v| v.split_whitespace().nth(1) != Some(CARGO_AFL_VERSION)) {
        tools::cargo_install(&["cargo-afl", "--version", CARGO_AFL_VERSION, "--locked"])?;
    }
    // `config --build` fails, saying so, when AFL++ was built for this toolchain already.
    let built = cmd::cargo()
        .args(["afl", "config", "--build"])
        .output()
        .context("running `cargo afl config --build`")?;
    let stderr = String::from_utf8_lossy(&built.stderr);
    if !built.status.success() && !stderr.contains("already built") {
        bail!("`cargo afl config --build` failed (it needs make and a C compiler):\n{stderr}");
    }
    Ok(())
}

/// What one target's run did, from AFL++'s `fuzzer_stats` and its output folders.
struct Report {
    name: &'static str,
    seconds: u64,
    executions: u64,
    edges: u64,
    total_edges: u64,
    crashes: Vec<PathBuf>,
    hangs: Vec<PathBuf>,
}

impl Report {
    fn read(name: &'static str, dir: &Path) -> Result<Self> {
        let stats = std::fs::read_to_string(dir.join("fuzzer_stats"))
            .with_context(|| format!("reading {}/fuzzer_stats", dir.display()))?;
        let stat = |key: &str| -> u64 {
            stats
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim() == key)
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(0)
        };
        let inputs = |sub: &str| -> Vec<PathBuf> {
            let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.file_name().is_some_and(|n| n != "README.txt"))
                .collect();
            found.sort();
            found
        };
        Ok(Self {
            name,
            seconds: stat("run_time"),
            executions: stat("execs_done"),
            edges: stat("edges_found"),
            total_edges: stat("total_edges"),
            crashes: inputs("crashes"),
            hangs: inputs("hangs"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_has_a_binary_and_a_seed_corpus() {
        let fuzz = cmd::root().join("fuzz");
        let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
        for (name, _) in TARGETS {
            assert!(
                manifest.contains(&format!("name = \"{name}\"")),
                "fuzz/Cargo.toml has no [[bin]] {name}"
            );
            let seeds = std::fs::read_dir(fuzz.join("corpus").join(name))
                .map(|d| d.count())
                .unwrap_or(0);
            assert!(seeds > 0, "fuzz/corpus/{name} has no seeds");
        }
    }
}
