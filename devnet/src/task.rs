//! `devnet task`: one task on the running devnet, from creation to a verified result, as
//! the web app does it (every file's hash recomputed, every commitment reopened, nothing
//! taken from the relay on trust). `cargo xtask task …` runs it.

use std::path::Path;
use std::time::Instant;

use ::requester::Seen;
use alloy::primitives::U256;
use alloy::primitives::utils::{format_ether, parse_ether};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use contracts::TaskManager::TaskState;
use verifier::report::{Report, Verdict};

use crate::network::Info;
use crate::requester::{self, FileHost};

/// What to ask for.
#[derive(Debug, Args)]
pub struct TaskCommand {
    #[command(subcommand)]
    kind: Kind,
    /// The fee, in CNX.
    #[arg(long, default_value = "1", global = true)]
    fee: String,
    /// Which of the devnet's funded requester accounts pays (0-based).
    #[arg(long, default_value_t = 0, global = true)]
    account: usize,
    /// Keep the results to the creator and the selected nodes (by default anyone may read
    /// and verify them once accepted).
    #[arg(long, global = true)]
    private: bool,
}

#[derive(Debug, Subcommand)]
enum Kind {
    /// A Stable Diffusion task.
    Sd {
        /// What to draw (Compel weights like `word++` or `(words)1.3` work).
        #[arg(
            long,
            default_value = "a lighthouse on a cliff at dawn, best quality++"
        )]
        prompt: String,
        /// What not to draw.
        #[arg(long, default_value = "blurry, low quality")]
        negative: String,
        /// Denoising steps.
        #[arg(long, default_value_t = 10)]
        steps: u64,
        /// The seed of the latents.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Images to make.
        #[arg(long, default_value_t = 1)]
        images: u64,
        /// Width x height in pixels.
        #[arg(long, default_value = "64x64", value_parser = parse_size)]
        size: (u64, u64),
        /// Classifier-free guidance scale.
        #[arg(long, default_value_t = 5.0)]
        cfg: f64,
        /// The model (a folder name the relay lists).
        #[arg(long, default_value = "sd-tiny")]
        model: String,
    },
    /// An LLM task.
    Llm {
        /// The user's message.
        #[arg(long, default_value = "Tell me about decentralized inference.")]
        prompt: String,
        /// The most tokens to generate.
        #[arg(long, default_value_t = 30)]
        max_tokens: u64,
        /// The model (a folder name the relay lists).
        #[arg(long, default_value = "gpt2-tiny")]
        model: String,
    },
    /// Any task-arguments file (SD, or LLM when it has `messages`).
    Args {
        /// The arguments file (JSON, sent byte for byte).
        file: std::path::PathBuf,
    },
    /// Verify a public task anyone created, with no key: its files from the relay,
    /// checked against the chain (the fee and account options do not apply).
    Verify {
        /// The task id.
        id: U256,
    },
}

fn parse_size(text: &str) -> Result<(u64, u64), String> {
    let (w, h) = text
        .split_once('x')
        .ok_or_else(|| format!("{text:?} is not WIDTHxHEIGHT"))?;
    let number = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("{s:?} is not a number"))
    };
    Ok((number(w)?, number(h)?))
}

impl Kind {
    fn args(&self) -> Result<Vec<u8>> {
        let value = match self {
            Self::Sd {
                prompt,
                negative,
                steps,
                seed,
                images,
                size,
                cfg,
                model,
            } => serde_json::json!({
                "version": "2.5.0",
                "base_model": {"name": model, "variant": null},
                "prompt": prompt,
                "negative_prompt": negative,
                "task_config": {
                    "num_images": images, "seed": seed, "steps": steps, "cfg": cfg,
                    "image_width": size.0, "image_height": size.1, "safety_checker": false
                }
            }),
            Self::Llm {
                prompt,
                max_tokens,
                model,
            } => serde_json::json!({
                "model": model,
                "messages": [{"role": "user", "content": prompt}],
                "generation_config": {"max_new_tokens": max_tokens, "do_sample": false},
                "seed": 0
            }),
            Self::Args { file } => {
                return std::fs::read(file).with_context(|| format!("reading {}", file.display()));
            }
            Self::Verify { .. } => bail!("`verify` creates no task"),
        };
        Ok(serde_json::to_vec_pretty(&value)?)
    }
}

/// Runs `command` against the devnet whose state is in `dir` (its `devnet.json`).
pub fn run(command: &TaskCommand, dir: &Path) -> Result<()> {
    let info = Info::load(dir)?;
    if let Kind::Verify { id } = command.kind {
        return verify_public(&info, id, dir);
    }
    let key = info
        .accounts
        .get(command.account)
        .with_context(|| format!("the devnet has {} requester accounts", info.accounts.len()))?
        .1
        .parse()?;
    let fee = parse_ether(&command.fee).with_context(|| format!("--fee {:?}", command.fee))?;
    let args = command.kind.args()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let requester = requester::connect(&info, key, FileHost::new(dir.join("requests")))?;
        let mut order = requester.order(args, fee).await?;
        order.private = command.private;
        let started = Instant::now();
        let id = requester
            .submit(&order, |step| eprintln!("  {}", step.words()))
            .await
            .map_err(|(_, e)| e)?;
        println!(
            "task {id} created by {} (fee {} CNX)",
            requester.wallet().signer().address(),
            format_ether(fee)
        );
        let task = requester
            .wait(id, 900_000, |seen| {
                let what = match seen {
                    Seen::State(state) => TaskState::name(state).to_owned(),
                    Seen::Steps(steps) => steps.to_string(),
                };
                println!("  {:>6.1} s  {what}", started.elapsed().as_secs_f64());
            })
            .await?;
        if task.state != TaskState::SUCCESS {
            for entry in requester.history(id).await? {
                println!("  {:?}", entry.event);
            }
            bail!("task {id} was aborted");
        }
        let (report, files) = requester.verify(id).await?;
        show(id, &report, &files, dir, started)
    })
}

/// Anyone's check of public task `id`: no key, nothing signed.
fn verify_public(info: &Info, id: U256, dir: &Path) -> Result<()> {
    let reader = ::requester::Reader::new(requester::network(info))?;
    let started = Instant::now();
    tokio::runtime::Runtime::new()?.block_on(async {
        let (report, files) = match reader.verify_public(id).await {
            Err(::requester::Error::Relay(e)) if e.code() == Some("private_results") => {
                bail!("task {id}'s results are private: only its creator and nodes can read them")
            }
            other => other?,
        };
        show(id, &report, &files, dir, started)
    })
}

/// Writes the files into `<dir>/results/<id>/` and prints the verification report; an
/// error unless the files verified.
fn show(
    id: U256,
    report: &Report,
    files: &[(String, Vec<u8>)],
    dir: &Path,
    started: Instant,
) -> Result<()> {
    let out = dir.join("results").join(id.to_string());
    std::fs::create_dir_all(&out)?;
    for (name, bytes) in files {
        std::fs::write(out.join(name), bytes)?;
    }
    println!(
        "  {:>6.1} s  verified: {:?}",
        started.elapsed().as_secs_f64(),
        report.verdict
    );
    for file in &report.files {
        println!(
            "    {}  {}  distances to the nodes' reveals {:?}",
            file.name,
            file.fingerprint.as_deref().unwrap_or("-"),
            file.distances
        );
    }
    for problem in &report.problems {
        println!("    problem: {problem}");
    }
    println!("  files in {}", out.display());
    if report.verdict != Verdict::Verified {
        bail!("task {id}'s results did not verify");
    }
    Ok(())
}
