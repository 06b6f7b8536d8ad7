//! `cargo xtask <command>`: Tessera's developer commands.

use anyhow::{Result, bail};

mod contracts;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("contracts") => contracts::run(&args[1..]),
        Some("chain") => contracts::run_chain(&args[1..]),
        Some("test") => bail!("not implemented yet"),
        _ => bail!("usage: cargo xtask test"),
    }
}
