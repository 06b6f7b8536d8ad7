//! `cargo xtask sdk`: the requester SDK's npm package (`sdk/`), built with wasm-bindgen into
//! `sdk/pkg/`: `node/` (CommonJS, for Node.js) and `web/` (an ES module for pages and
//! bundlers), each with its TypeScript types, under one `package.json` whose exports pick
//! the right one. `sdk/examples/` sees the package as `@tessera-network/sdk`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::cmd::{self, run};
use crate::tools;

/// How the SDK's wasm is compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Profile {
    /// Optimized (`wasm-release`, as the app): what is published.
    Release,
    /// The debug build without debug info, as the wasm tests make theirs: for the end to
    /// end, minutes faster.
    Test,
}

/// Builds the package into `sdk/pkg/`; with `dist`, also copies the web build into
/// `dist/sdk/` for the browser end to end. Returns the package's folder.
pub(crate) fn build(profile: Profile, dist: Option<&Path>) -> Result<PathBuf> {
    tools::install_all()?;
    let started = Instant::now();
    let root = cmd::root();
    let mut build = cmd::cargo();
    build.args([
        "build",
        "--locked",
        "-p",
        "tessera-sdk",
        "--lib",
        "--target",
        tools::WASM_TARGET,
    ]);
    let folder = match profile {
        Profile::Release => {
            build.args(["--profile", "wasm-release"]);
            "wasm-release"
        }
        Profile::Test => {
            build.env("CARGO_PROFILE_DEV_DEBUG", "false");
            "debug"
        }
    };
    run(&mut build)?;
    let wasm = cmd::target_dir()
        .join(tools::WASM_TARGET)
        .join(folder)
        .join("tessera_sdk.wasm");
    let pkg = root.join("sdk/pkg");
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg).with_context(|| format!("clearing {}", pkg.display()))?;
    }
    for (target, out) in [("nodejs", "node"), ("web", "web")] {
        run(Command::new("wasm-bindgen")
            .args(["--target", target, "--out-dir"])
            .arg(pkg.join(out))
            .arg(&wasm))?;
    }
    // The web build is an ES module; the Node.js build is CommonJS (the package's default).
    std::fs::write(pkg.join("web/package.json"), "{ \"type\": \"module\" }\n")?;
    for file in ["package.json", "README.md"] {
        std::fs::copy(root.join("sdk").join(file), pkg.join(file))
            .with_context(|| format!("copying sdk/{file}"))?;
    }
    // The examples import the package by name, as a program that installed it does.
    let scope = root.join("sdk/examples/node_modules/@tessera-network");
    std::fs::create_dir_all(&scope)?;
    let link = scope.join("sdk");
    if std::fs::symlink_metadata(&link).is_ok() {
        std::fs::remove_file(&link)?;
    }
    std::os::unix::fs::symlink("../../../pkg", &link)
        .with_context(|| format!("linking {}", link.display()))?;
    if let Some(dist) = dist {
        let web = dist.join("sdk");
        if web.exists() {
            std::fs::remove_dir_all(&web)?;
        }
        std::fs::create_dir_all(&web)?;
        for entry in std::fs::read_dir(pkg.join("web"))? {
            let entry = entry?;
            std::fs::copy(entry.path(), web.join(entry.file_name()))?;
        }
    }
    eprintln!(
        "sdk: {profile:?} package in {} in {:.0} s",
        pkg.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(pkg)
}
