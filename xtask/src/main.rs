//! `cargo xtask <command>`: Tessera's developer commands, in Rust so they run wherever cargo
//! does. Each installs what it needs and skips what is already there. The commands are
//! declared in [`flags`]; the network itself (devnet, requester CLI, browser suites) is the
//! `devnet` crate's, which these commands build and run.

mod app;
mod bench;
mod cmd;
mod engine_bench;
mod flags;
mod fuzz;
mod sdk;
mod test;
mod tidy;
mod tools;

use anyhow::Result;
use clap::Parser;
use flags::{Command, Xtask};

fn main() -> Result<()> {
    let Xtask { command } = Xtask::parse();
    match command {
        Command::Test => test::run_all(),
        Command::Lint => test::lint(),
        Command::Tidy => tidy::check(&tidy::metadata()?).map_err(anyhow::Error::msg),
        Command::Install => tools::install_all(),
        Command::Up { release, args } => app::up(release, &args),
        Command::Task { args } => app::devnet(app::Network::Debug, "task", &args),
        Command::Chain { args } => {
            tools::npm_packages()?;
            app::devnet(app::Network::Debug, "chain", &args)
        }
        Command::Contracts { command } => test::contracts(command),
        Command::App { command } => app::run_command(command),
        Command::Relay { command } => test::relay(command),
        Command::Sdk => sdk::build(sdk::Profile::Release, None).map(drop),
        Command::Bench { names } => bench::run_all(&names),
        Command::Fuzz {
            seconds,
            memory_mb,
            targets,
        } => fuzz::run_all(seconds, memory_mb, &targets),
    }
}
