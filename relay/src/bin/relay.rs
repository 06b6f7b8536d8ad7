//! The `relay` server binary: configuration from a TOML file, environment and flags.

use std::path::PathBuf;

use alloy_primitives::Address;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use relay::config::Config;
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// Tessera's relay: task arguments, results and model files, checked against the chain.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// A TOML configuration file (flags and environment override it).
    #[arg(long, env = "RELAY_CONFIG")]
    config: Option<PathBuf>,
    /// Directory for the SQLite database and files.
    #[arg(long, env = "RELAY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "RELAY_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// `sqlite://…` or `postgres://…` (default: SQLite in the data directory).
    #[arg(long, env = "RELAY_DATABASE_URL")]
    database_url: Option<String>,
    /// Object store URL for files, e.g. `s3://bucket/prefix` (default: the data directory).
    #[arg(long, env = "RELAY_OBJECT_STORE")]
    object_store: Option<String>,
    /// Chain JSON-RPC endpoint.
    #[arg(long, env = "RELAY_RPC_URL")]
    rpc_url: Option<String>,
    /// Chain id.
    #[arg(long, env = "RELAY_CHAIN_ID")]
    chain_id: Option<u64>,
    /// The task contract's address.
    #[arg(long, env = "RELAY_CONTRACT")]
    contract: Option<Address>,
    /// The appeals contract's address (its jurors may read task arguments).
    #[arg(long, env = "RELAY_APPEALS")]
    appeals: Option<Address>,
    /// A deployments JSON file naming the task contract.
    #[arg(long, env = "RELAY_DEPLOYMENTS")]
    deployments: Option<PathBuf>,
    /// First block to follow.
    #[arg(long, env = "RELAY_FROM_BLOCK")]
    from_block: Option<u64>,
    /// Blocks to stay behind the chain's head (0 on a dev chain; more on a public chain).
    #[arg(long, env = "RELAY_CONFIRMATIONS")]
    confirmations: Option<u64>,
    /// Blocks remembered to follow a reorganisation exactly (a deeper one rebuilds the
    /// relay's view from the deployment block).
    #[arg(long, env = "RELAY_REORG_DEPTH")]
    reorg_depth: Option<u64>,
    /// The private key upload receipts are signed with (hex).
    #[arg(long, env = "RELAY_RECEIPT_KEY", hide_env_values = true)]
    receipt_key: Option<String>,
    /// TEST ONLY, never in production: while a file exists at this path, PNG result
    /// downloads serve an altered image (end-to-end tests of clients' verification).
    #[arg(long, env = "RELAY_TEST_ONLY_TAMPER_RESULTS_FLAG")]
    test_only_tamper_results_flag: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "RELAY_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve (the default).
    Serve,
    /// Import a model directory (a diffusers pipeline or a transformers model) into the
    /// store, each file named by its SHA-256.
    ImportModel {
        /// The model's name, e.g. `gpt2` or `runwayml/stable-diffusion-v1-5`.
        #[arg(long)]
        name: String,
        /// The model's directory.
        dir: PathBuf,
    },
    /// Print the HTTP API as an OpenAPI 3.1 document (what `GET /openapi.json` serves).
    Openapi,
}

impl Cli {
    fn config(&self) -> Result<Config> {
        let mut config: Config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => Config::default(),
        };
        macro_rules! set {
            ($field:expr, $value:expr) => {
                if let Some(v) = $value.clone() {
                    $field = v.into();
                }
            };
        }
        set!(config.data_dir, self.data_dir);
        set!(config.listen, self.listen);
        set!(config.database_url, self.database_url.clone().map(Some));
        set!(config.object_store_url, self.object_store.clone().map(Some));
        set!(config.chain.rpc_url, self.rpc_url);
        set!(config.chain.chain_id, self.chain_id);
        set!(config.chain.contract, self.contract.map(Some));
        set!(config.chain.appeals, self.appeals.map(Some));
        set!(config.chain.deployments, self.deployments.clone().map(Some));
        set!(config.chain.from_block, self.from_block);
        set!(config.chain.confirmations, self.confirmations);
        set!(config.chain.reorg_depth, self.reorg_depth);
        set!(config.receipt_key, self.receipt_key.clone().map(Some));
        set!(
            config.test_only_tamper_results_flag,
            self.test_only_tamper_results_flag.clone().map(Some)
        );
        Ok(config)
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match cli.log_format {
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init(),
    }
    if let Some(Command::Openapi) = cli.command {
        println!("{}", relay::openapi_document().to_pretty_json()?);
        return Ok(());
    }
    let config = cli.config()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let mut terminate = signal(SignalKind::terminate())?;
            let shutdown = async move {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
                tracing::info!("shutting down");
            };
            relay::server::run(config, shutdown).await?;
        }
        Command::ImportModel { name, dir } => {
            let (db, blobs) = relay::server::open_storage(&config).await?;
            let files = relay::models::import_dir(
                db.as_ref(),
                blobs.as_ref(),
                &name,
                &dir,
                config.limits.max_model_file_bytes,
            )
            .await
            .with_context(|| format!("importing {}", dir.display()))?;
            for file in files {
                println!("{} {:>12} {}", file.sha256, file.size, file.path);
            }
        }
        Command::Openapi => unreachable!("answered before the configuration is read"),
    }
    Ok(())
}
