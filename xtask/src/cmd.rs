//! Running commands: echo them, fail with their exit status, optionally tee their output.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The checkout this command runs in, found at run time ([`locate::workspace_root`]): a
/// binary built in another clone (a shared `CARGO_TARGET_DIR`) must still act on this one.
pub(crate) fn root() -> PathBuf {
    locate::workspace_root().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    })
}

/// The cargo target directory in effect: `$CARGO_TARGET_DIR`, else the checkout's `target/`.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Runs `cmd` with inherited output; errors if it cannot start or exits non-zero.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let line = describe(cmd);
    eprintln!("$ {line}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed with {status}");
    }
    Ok(())
}

/// Runs `cmd`, passing its stdout through line by line while handing each line to
/// `on_line`; stderr is inherited. Errors if it exits non-zero.
pub(crate) fn run_tee(cmd: &mut Command, mut on_line: impl FnMut(&str)) -> Result<()> {
    let line = describe(cmd);
    eprintln!("$ {line}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{line}`"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut out = std::io::stdout().lock();
    for text in BufReader::new(stdout).lines() {
        let text = text.context("reading the command's output")?;
        writeln!(out, "{text}")?;
        on_line(&text);
    }
    drop(out);
    let status = child.wait()?;
    if !status.success() {
        bail!("`{line}` failed with {status}");
    }
    Ok(())
}

/// Captures the stdout of `cmd`, or `None` if it cannot run or fails.
pub(crate) fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `cargo` as invoked by the user (respects `$CARGO`).
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}
