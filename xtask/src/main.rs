//! `cargo xtask <command>`: Tessera's developer commands, in Rust so they run wherever cargo
//! does. Each command installs what it needs and skips what is already there.

use anyhow::{Result, bail};
use xtask::{app, bench, contracts, relay, requester, test, tools, up};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test      install what the tests need, then run every test (format, native, wasm in
            Chromium, the app and the browser node end to end)
  lint      formatting and clippy (-D warnings), native and wasm32
  bench     run the benchmarks and print their figures (`bench --help` for the list)
  install   install the tools only (wasm target, wasm-bindgen-cli, Chromium + chromedriver)
  contracts build | check | prepare | deploy: compile the Solidity contracts offline,
            check the committed artifacts, deploy to a chain (`contracts --help`)
  chain     start a local anvil chain with the contracts deployed (`chain --help`)
  relay     prepare | test | bench: the relay's PostgreSQL prerequisites, tests, load benchmark
  app       build | serve | wasm-test | e2e | bench: the web app (`app --help`)
  up        start the whole network on this machine: chain, contracts, relay, three nodes,
            and the web app (`up --help`)
  task      sd | llm | args FILE: create a task on the running devnet, wait, verify
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("contracts") => contracts::run(rest),
        Some("chain") => contracts::run_chain(rest),
        Some("relay") => relay::run(rest),
        Some("test") => test::run_all(rest),
        Some("lint") => test::lint(rest),
        Some("bench") => bench::run(rest),
        Some("install") => tools::install_all(),
        Some("up") => up::run(rest),
        Some("app") => app::run_command(rest),
        Some("task") => requester::run(rest),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command `{other}`\n\n{USAGE}"),
        None => bail!("no command given\n\n{USAGE}"),
    }
}
