//! The `devnet` command line: every command declared once, here.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// The whole Tessera network on this machine.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    /// The devnet's state folder (default: `.devnet/` in the checkout).
    #[arg(long, global = true)]
    pub dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start chain, contracts, relay and nodes, serve the web app, until Ctrl-C.
    Up(crate::up::UpOptions),
    /// Start anvil with the contracts deployed, until Ctrl-C.
    Chain {
        /// Anvil's port.
        #[arg(long, default_value_t = 8545)]
        port: u16,
        /// Seconds between blocks (default: a block per transaction).
        #[arg(long)]
        block_time: Option<u64>,
        /// The contracts' parameters.
        #[command(flatten)]
        params: contracts::flags::DeployFlags,
    },
    /// Create one task on the running devnet, wait for it and verify its results.
    Task(crate::task::TaskCommand),
    /// Serve a build of the web app with a `config.json` for the running devnet.
    Serve {
        /// The web app's build.
        #[arg(long)]
        dist: PathBuf,
        /// The port.
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// The web app's end-to-end scripts in headless Chromium, each against a fresh devnet.
    E2e {
        /// Which script.
        #[command(subcommand)]
        suite: Suite,
    },
    /// Benchmarks that print figures.
    Bench {
        /// Which benchmark.
        #[command(subcommand)]
        bench: Bench,
    },
}

/// An end-to-end script.
#[derive(Debug, Subcommand)]
pub enum Suite {
    /// The requester's app (`app/e2e/e2e.mjs`), with the relay's TEST ONLY tamper switch.
    App {
        /// The web app's build.
        #[arg(long)]
        dist: PathBuf,
    },
    /// The browser light node (`app/e2e/provide.mjs`): a SwiftShader WebGPU tab beside two
    /// native nodes. The build must include the node worker.
    Provide {
        /// The web app's build, with the node worker.
        #[arg(long)]
        dist: PathBuf,
    },
}

/// A benchmark.
#[derive(Debug, Subcommand)]
pub enum Bench {
    /// Task creation to verified result, and the part that is not inference.
    Network {
        /// Tasks of each kind.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// The tiny SD task per step: the native node on each backend, the browser worker.
    Node {
        /// The web app's build, with the node worker.
        #[arg(long)]
        dist: PathBuf,
        /// Native backends to time.
        #[arg(long = "backend", default_value = "cpu")]
        backends: Vec<String>,
    },
    /// The web app: first render, interactive, ten images verified in the browser.
    App {
        /// The web app's build.
        #[arg(long)]
        dist: PathBuf,
    },
}

/// Runs the command line; errors are printed with their causes.
pub fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let dir = match cli.dir {
        Some(dir) => dir,
        None => locate::workspace_root()?.join(".devnet"),
    };
    let runtime = || tokio::runtime::Runtime::new().context("starting tokio");
    match cli.command {
        Command::Up(options) => runtime()?.block_on(crate::up::run(&options, dir)),
        Command::Chain {
            port,
            block_time,
            params,
        } => runtime()?.block_on(crate::network::chain(port, block_time, &params, &dir)),
        Command::Task(task) => crate::task::run(&task, &dir),
        Command::Serve { dist, port } => {
            let info = crate::network::Info::load(&dir)?;
            let server =
                crate::serve::Server::start(&dist, port, crate::serve::with_config(&info)?)?;
            println!("app: {}", server.url());
            loop {
                std::thread::park();
            }
        }
        Command::E2e { suite } => runtime()?.block_on(async {
            match suite {
                Suite::App { dist } => crate::browser::app_e2e(&dist).await,
                Suite::Provide { dist } => crate::browser::provide_e2e(&dist).await,
            }
        }),
        Command::Bench { bench } => match bench {
            Bench::Network { runs } => runtime()?.block_on(crate::bench::run(runs)),
            Bench::Node { dist, backends } => {
                runtime()?.block_on(crate::node_bench::run(&dist, &backends))
            }
            Bench::App { dist } => crate::browser::app_bench(&dist),
        },
    }
}
