//! `cargo xtask <command>`: Tessera's developer commands.

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => bail!("not implemented yet"),
        _ => bail!("usage: cargo xtask test"),
    }
}
