//! Installing what the tests and the devnet need, skipping what is already there.
//!
//! Everything comes from the package registries this project may reach: rustup for the wasm
//! target, crates.io for wasm-bindgen-cli and trunk, Debian for Chromium, chromedriver and
//! PostgreSQL's server, npm for solc, anvil, playwright-core and binaryen's wasm-opt, PyPI
//! for moto's S3-compatible server.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::cmd::{self, output, run};

/// Everything a browser links, as `cargo` package arguments: the verifier, the page and its
/// hashing worker, the node worker (WebGPU through `wgpu`, the feature after these).
pub(crate) const BROWSER_PACKAGES: [&str; 8] = [
    "-p",
    "verifier",
    "-p",
    "app",
    "-p",
    "worker-wasm",
    "--features",
    "worker-wasm/wgpu",
];

pub(crate) const WASM_TARGET: &str = "wasm32-unknown-unknown";
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The trunk release that builds with Rust 1.95 (0.22 needs a newer rustc).
pub(crate) const TRUNK_VERSION: &str = "0.21.14";

/// Installs every tool `cargo xtask test` needs.
pub(crate) fn install_all() -> Result<()> {
    wasm_target()?;
    debian_packages()?;
    npm_packages()?;
    python_packages()?;
    cargo_tools()
}

/// moto's S3-compatible server, at the version the relay's tests were written against.
const MOTO: &str = "moto[server]==5.2.1";

/// Where [`python_packages`] puts `moto_server`; the tests find it through
/// `TESSERA_MOTO_SERVER` (see [`with_test_servers`]).
pub(crate) fn moto_server() -> PathBuf {
    cmd::target_dir().join("tools/python/bin/moto_server")
}

/// A virtual environment under the target folder with moto's server (the relay's
/// two-instance test stores files in it), unless it is there.
pub(crate) fn python_packages() -> Result<()> {
    if moto_server().exists() {
        return Ok(());
    }
    let venv = cmd::target_dir().join("tools/python");
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))
        .context("python3 with the venv module is needed for moto's S3 server")?;
    run(Command::new(venv.join("bin/python")).args(["-m", "pip", "install", "--quiet", MOTO]))
}

/// Names the servers [`install_all`] provides to a test command.
pub(crate) fn with_test_servers(cmd: &mut Command) -> &mut Command {
    cmd.env("TESSERA_MOTO_SERVER", moto_server())
}

/// `rustup target add wasm32-unknown-unknown` unless installed.
pub(crate) fn wasm_target() -> Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("rustup is needed to add the wasm target")?;
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// The `wasm-bindgen` version in Cargo.lock: the CLI must match it exactly.
fn locked_wasm_bindgen_version() -> Result<String> {
    let lock =
        std::fs::read_to_string(cmd::root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'))
        {
            return Ok(version.to_owned());
        }
    }
    bail!("Cargo.lock has no wasm-bindgen package")
}

/// The version a tool prints as the second word of `TOOL --version`.
fn version_of(tool: &str) -> Option<String> {
    output(Command::new(tool).arg("--version"))?
        .split_whitespace()
        .nth(1)
        .map(str::to_owned)
}

/// wasm-bindgen-cli at the locked version and trunk at [`TRUNK_VERSION`], compiled by one
/// `cargo install` each into one shared build folder with one set of release settings, so
/// the dependencies they share are compiled once.
///
/// The settings make them quick to compile: no LTO, 16 codegen units, no debug info,
/// opt-level 1 (trunk asks for fat LTO and one codegen unit, a quarter of an hour on 2
/// cores; both spend their time waiting on cargo, reading files or in wasm-opt). trunk
/// without its default features (the crates.io update check and rustls for downloading
/// tools): it finds wasm-bindgen and wasm-opt on `PATH` and downloads nothing. Not
/// `--locked` for wasm-bindgen-cli: its lock file names a dependency version the registry
/// mirror lacks (DESIGN.md).
pub(crate) fn cargo_tools() -> Result<()> {
    let bindgen = locked_wasm_bindgen_version()?;
    if version_of("wasm-bindgen").as_deref() != Some(&bindgen)
        || version_of("wasm-bindgen-test-runner").as_deref() != Some(&bindgen)
    {
        cargo_install(&["wasm-bindgen-cli", "--version", &bindgen])?;
    }
    if version_of("trunk").as_deref() != Some(TRUNK_VERSION) {
        cargo_install(&[
            "trunk",
            "--version",
            TRUNK_VERSION,
            "--locked",
            "--no-default-features",
        ])?;
    }
    Ok(())
}

pub(crate) fn cargo_install(args: &[&str]) -> Result<()> {
    run(cmd::cargo()
        .arg("install")
        .args(args)
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .env("CARGO_TARGET_DIR", cmd::target_dir().join("tools")))
}

/// Configures a `cargo test`/`cargo bench --target wasm32-unknown-unknown` command to run
/// its wasm in headless Chromium through `wasm-bindgen-test-runner` and chromedriver.
pub(crate) fn in_browser(cmd: &mut Command) -> &mut Command {
    cmd.env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
        "wasm-bindgen-test-runner",
    )
    .env("CHROMEDRIVER", CHROMEDRIVER)
    // Seconds for a whole test binary; benchmarks take minutes.
    .env("WASM_BINDGEN_TEST_TIMEOUT", "900")
}

/// Debian's Chromium and chromedriver (the browser tests) and PostgreSQL's server (the
/// relay's tests start their own cluster with it), in one `apt-get` run when any is
/// missing.
pub(crate) fn debian_packages() -> Result<()> {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        missing.extend(["chromium", "chromium-driver"]);
    }
    if std::env::var_os("TESSERA_TEST_PG_URL").is_none() && postgres_bin_dir().is_none() {
        missing.push("postgresql");
    }
    // `durable`'s test reads the system calls of a durable write.
    if !Path::new("/usr/bin/strace").exists() {
        missing.push("strace");
    }
    if missing.is_empty() {
        return Ok(());
    }
    let root = output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    if !root {
        bail!(
            "the tests need Debian's {}: run `sudo apt-get install -y {}`, then try again",
            missing.join(", "),
            missing.join(" ")
        );
    }
    let apt = |args: &[&str]| {
        run(Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(args))
    };
    apt(&["update", "-q"])?;
    apt(&[
        &["install", "-y", "-q", "--no-install-recommends"],
        &missing[..],
    ]
    .concat())?;
    ensure!(
        std::env::var_os("TESSERA_TEST_PG_URL").is_some() || postgres_bin_dir().is_some(),
        "postgresql installed, but no /usr/lib/postgresql/<version>/bin/initdb found"
    );
    Ok(())
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb`.
pub(crate) fn postgres_bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// The npm packages, each folder's `npm ci` run unless its lock file is installed:
/// `contracts/` (solc, anvil) and `app/e2e/` (playwright-core, binaryen's wasm-opt).
pub(crate) fn npm_packages() -> Result<()> {
    for dir in ["contracts", "app/e2e"] {
        let dir = cmd::root().join(dir);
        let (lock, installed) = (
            dir.join("package-lock.json"),
            dir.join("node_modules/.package-lock.json"),
        );
        let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&installed)) {
            (Ok(l), Ok(i)) => i.modified()? >= l.modified()?,
            _ => false,
        };
        if !fresh {
            // Install scripts stay off: anvil's binary comes in its platform package.
            run(Command::new("npm").current_dir(&dir).args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
            ]))
            .with_context(|| format!("`npm ci` in {} (is npm installed?)", dir.display()))?;
        }
    }
    locate::anvil()?;
    Ok(())
}

/// `PATH` with npm's wasm-opt first, so trunk finds the right one and downloads nothing.
pub(crate) fn path_with_npm_tools() -> std::ffi::OsString {
    let mut paths = vec![cmd::root().join("app/e2e/node_modules/.bin")];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_default()
}
