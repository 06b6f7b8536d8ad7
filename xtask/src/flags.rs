//! Every `cargo xtask` command, declared once: the usage texts are clap's, drawn from here.

use std::ffi::OsString;

use clap::{Parser, Subcommand};

/// Tessera's developer commands. Each installs what it needs and skips what is there.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
pub(crate) struct Xtask {
    #[command(subcommand)]
    pub command: Command,
}

/// A developer command.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Install what the tests need, then run every test: format, native (the dependency
    /// rules, anvil, PostgreSQL and devnet tests among them), wasm in Chromium, and the app
    /// and the browser node end to end. Ends with `N passed, N failed, N skipped`.
    Test,
    /// Formatting, and clippy with warnings as errors, natively and on everything a
    /// browser links (wasm32).
    Lint,
    /// Check that no crate depends on what ARCHITECTURE.md says it must never depend on.
    Tidy,
    /// Install the tools only: the wasm target, wasm-bindgen-cli, trunk, Chromium and
    /// chromedriver, PostgreSQL's server, the npm packages (solc, anvil, playwright-core,
    /// binaryen).
    Install,
    /// Start the whole network and the web app on this machine (`cargo xtask up -- --help`
    /// lists the network's options).
    Up {
        /// Build the relay, the nodes and the node worker optimized.
        #[arg(long)]
        release: bool,
        /// Options for `devnet up` (`--nodes N`, `--chain-port N`, `--relay-port N`,
        /// `--app-port N`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Create a task on the running devnet, wait for it and verify it
    /// (`cargo xtask task -- --help`: `sd`, `llm`, `args FILE`), or check anyone's public
    /// task (`verify ID`).
    Task {
        /// Options for `devnet task`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// A local anvil chain with the contracts deployed (`cargo xtask chain -- --help`).
    Chain {
        /// Options for `devnet chain`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// The requester SDK's npm package (wasm-bindgen, Node.js and web builds with
    /// TypeScript types) into `sdk/pkg/`.
    Sdk,
    /// The Solidity contracts' artifacts.
    Contracts {
        #[command(subcommand)]
        command: Contracts,
    },
    /// The web app's build and browser tests.
    App {
        #[command(subcommand)]
        command: App,
    },
    /// The relay's PostgreSQL prerequisites and tests.
    Relay {
        #[command(subcommand)]
        command: Relay,
    },
    /// Run benchmarks and print their figures (all when none is named).
    Bench {
        /// Which: phash, phash-wasm, relay, engine, app, node, node-test, gas, devnet.
        names: Vec<String>,
    },
    /// Run the fuzz targets of `fuzz/` under AFL++ (all when none is named), one after the
    /// other, and print executions, coverage and crashes per target. Not part of `test`.
    Fuzz {
        /// Seconds each target runs.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Address-space limit of a target in MiB (AFL++'s `-m`; AFL++'s own shared maps
        /// take about 0.5 GiB of it).
        #[arg(long, default_value_t = 1024)]
        memory_mb: u64,
        /// Which: phash, task_args, compel, tokenizers, chat_template, relay_multipart,
        /// relay_auth, history, worker_protocol.
        targets: Vec<String>,
    },
}

/// `cargo xtask contracts …`.
#[derive(Debug, Subcommand)]
pub(crate) enum Contracts {
    /// Compile the sources with the pinned solcjs and write `contracts/artifacts/`.
    Build,
    /// Compile and fail when the committed artifacts differ (part of the native tests).
    Check,
}

/// `cargo xtask app …`.
#[derive(Debug, Subcommand)]
pub(crate) enum App {
    /// Release build of the app into `dist/`.
    Build,
    /// The release build with the browser node's worker (Burn + wgpu, slow to compile).
    NodeWorker,
    /// Build with the node worker and serve `dist/` for the running devnet.
    Serve {
        /// The port.
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// The app's wasm-bindgen tests in headless Chromium.
    WasmTest,
    /// The browser end to end against a fresh devnet.
    E2e,
    /// The browser light node's end to end (the worker's test build).
    ProvideE2e,
}

/// `cargo xtask relay …`.
#[derive(Debug, Subcommand)]
pub(crate) enum Relay {
    /// Install PostgreSQL's server binaries and moto's S3 server (the tests start their own).
    Prepare,
    /// `prepare`, then the relay's tests.
    Test,
}
