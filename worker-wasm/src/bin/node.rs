//! `node`: runs one Tessera task natively and prints its score.
//!
//! ```text
//! node run --task TASK.json --models DIR --out OUTDIR [--backend cpu|wgpu|cuda]
//! ```
//!
//! The task's `base_model` (SD) or `model` (LLM) names a folder under `--models`. Images
//! are written as `0.png`, `1.png`, ...; LLM results as `0.json`. Progress goes to stderr;
//! the last line of stdout is the score as `0x...`.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    match native::main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    use anyhow::{Context, Result, bail};
    use worker_wasm::device::Backend;
    use worker_wasm::task::{self, Task};

    const USAGE: &str =
        "usage: node run --task TASK.json --models DIR --out OUTDIR [--backend cpu|wgpu|cuda]";

    struct RunArgs {
        task: PathBuf,
        models: PathBuf,
        out: PathBuf,
        backend: Backend,
    }

    fn parse_args(args: &[String]) -> Result<RunArgs> {
        let Some((command, rest)) = args.split_first() else {
            bail!("{USAGE}")
        };
        if command != "run" {
            bail!("unknown command {command:?}\n{USAGE}");
        }
        let (mut task, mut models, mut out, mut backend) = (None, None, None, Backend::default());
        let mut iter = rest.iter();
        while let Some(flag) = iter.next() {
            let mut value = || {
                iter.next()
                    .with_context(|| format!("{flag} needs a value\n{USAGE}"))
            };
            match flag.as_str() {
                "--task" => task = Some(PathBuf::from(value()?)),
                "--models" => models = Some(PathBuf::from(value()?)),
                "--out" => out = Some(PathBuf::from(value()?)),
                "--backend" => backend = value()?.parse()?,
                other => bail!("unknown argument {other:?}\n{USAGE}"),
            }
        }
        Ok(RunArgs {
            task: task.with_context(|| format!("--task is required\n{USAGE}"))?,
            models: models.with_context(|| format!("--models is required\n{USAGE}"))?,
            out: out.with_context(|| format!("--out is required\n{USAGE}"))?,
            backend,
        })
    }

    pub fn main() -> Result<()> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args
            .iter()
            .any(|a| matches!(a.as_str(), "-h" | "--help" | "help"))
        {
            println!("{USAGE}");
            return Ok(());
        }
        let args = parse_args(&args)?;
        let json = std::fs::read(&args.task)
            .with_context(|| format!("cannot read task file {}", args.task.display()))?;
        let task =
            Task::parse(&json).with_context(|| format!("task file {}", args.task.display()))?;
        let model_dir = model_folder(&args.models, task.model_name())?;
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("cannot create {}", args.out.display()))?;
        let device = args.backend.device()?;
        eprintln!("loading {} on {}", model_dir.display(), args.backend);
        if let Some(limits) = worker_wasm::device::wgpu_limits() {
            eprintln!(
                "wgpu buffer limits: binding {} MiB, buffer {} MiB (adapter offers {} / {} MiB)",
                limits.max_storage_buffer_binding_size >> 20,
                limits.max_buffer_size >> 20,
                limits.adapter_max_storage_buffer_binding_size >> 20,
                limits.adapter_max_buffer_size >> 20
            );
        }
        let started = Instant::now();
        let outcome = pollster::block_on(task::run(&task, &model_dir, &device, |line| {
            eprintln!("{line}")
        }))?;
        for (name, bytes) in &outcome.files {
            let path = args.out.join(name);
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
        println!("{}", outcome.score_hex());
        Ok(())
    }

    fn model_folder(models: &Path, name: &str) -> Result<PathBuf> {
        if name.is_empty() || name.split(['/', '\\']).any(|part| part == "..") {
            bail!("model name {name:?} is not a valid folder name");
        }
        let candidates = [models.join(name), models.join(name.replace('/', "--"))];
        candidates
            .iter()
            .find(|path| path.is_dir())
            .cloned()
            .with_context(|| format!("model {name:?} not found under {}", models.display()))
    }
}
