//! The relay's settings, with safe defaults. Read from a TOML file, then overridden by
//! environment variables and flags in the binary; written by serializing [`Config`] (the
//! devnet does), so a written file always reads back.

use std::net::SocketAddr;
use std::path::PathBuf;

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

/// Everything the relay is configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the SQLite database and the file store live unless configured otherwise.
    pub data_dir: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://...` or `postgres://...`; default: `sqlite://<data_dir>/relay.db`.
    pub database_url: Option<String>,
    /// Object store URL (`s3://bucket/prefix`, `file:///path`, `memory://`); default: files
    /// under `<data_dir>/blobs` written with fsync and atomic renames.
    pub object_store_url: Option<String>,
    /// Chain settings.
    pub chain: ChainConfig,
    /// Request limits.
    pub limits: Limits,
    /// The URLs clients reach the relay at, which requests are signed for (behind a load
    /// balancer: the balancer's URL). Default: `http://<listen>` (and `http://localhost:<port>`
    /// on a loopback address).
    pub public_urls: Vec<String>,
    /// Addresses allowed to publish model files.
    pub model_publishers: Vec<Address>,
    /// The private key (hex) upload receipts are signed with; the contract's
    /// `relaySigner` must be its address, or uploads cannot be reported on chain. Prefer
    /// the `RELAY_RECEIPT_KEY` environment variable to a file.
    pub receipt_key: Option<String>,
    /// **TEST ONLY: never set this in production.** While the file at this path exists,
    /// result downloads of PNG images serve an altered copy (colours inverted) instead of
    /// the stored file, so end-to-end tests can check that clients catch a relay that swaps
    /// images. Unset (off) by default; the relay logs a warning at start when it is set.
    pub test_only_tamper_results_flag: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("relay-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8600)),
            database_url: None,
            object_store_url: None,
            chain: ChainConfig::default(),
            limits: Limits::default(),
            public_urls: Vec::new(),
            model_publishers: Vec::new(),
            receipt_key: None,
            test_only_tamper_results_flag: None,
        }
    }
}

/// Which chain to follow.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainConfig {
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// Chain id; checked against the endpoint at start.
    pub chain_id: u64,
    /// The `TaskManager` contract's address (or read it from `deployments`).
    pub contract: Option<Address>,
    /// The `Appeals` contract's address (or read it from `deployments`): the jurors it
    /// draws may read a task's arguments as its seats do. None: no juror is let in.
    pub appeals: Option<Address>,
    /// A deployments JSON file (as `cargo xtask contracts deploy` writes it).
    pub deployments: Option<PathBuf>,
    /// The block to start following from (at least the deployment block).
    pub from_block: u64,
    /// Blocks to stay behind the head before applying a block's events. 0 (the default)
    /// suits a development chain such as the devnet's anvil, where tasks must show at
    /// once; a public chain wants more (a few on an L2 with a sequencer, 12 or so on
    /// Ethereum mainnet), so that what the relay accepts is rarely rolled back. Either way
    /// a reorganisation is followed (see `reorg_depth`).
    pub confirmations: u64,
    /// How many blocks the relay remembers (their hashes, and what each changed) to follow
    /// a reorganisation exactly: it rolls back to the common ancestor and applies the new
    /// branch. A deeper reorganisation is logged as an error and the relay rebuilds its
    /// view from the deployment block (tasks are unknown until it catches up). 0: every
    /// reorganisation rebuilds.
    pub reorg_depth: u64,
    /// Milliseconds between polls.
    pub poll_interval_ms: u64,
    /// The most blocks per `eth_getLogs`.
    pub max_block_range: u64,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            rpc_url: "http://127.0.0.1:8545".into(),
            chain_id: 31337,
            contract: None,
            appeals: None,
            deployments: None,
            from_block: 0,
            confirmations: 0,
            reorg_depth: 64,
            poll_interval_ms: 1000,
            max_block_range: 2000,
        }
    }
}

/// Limits on what a request may carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest task-argument body, in bytes.
    pub max_args_bytes: usize,
    /// Largest result upload (all files and multipart framing), in bytes.
    pub max_result_bytes: usize,
    /// Most files in one result upload.
    pub max_result_files: usize,
    /// Largest single result file, in bytes.
    pub max_result_file_bytes: usize,
    /// Widest and tallest result image, in pixels.
    pub max_image_side: u32,
    /// Largest single model file, in bytes.
    pub max_model_file_bytes: u64,
    /// Accepted distance between a request's timestamp and the relay's clock, in seconds.
    pub signature_window_secs: u64,
    /// Uploads one signer may have in progress at once (more are answered 429).
    pub max_uploads_per_signer: usize,
    /// Bytes of upload bodies held in memory at once, each upload charged its declared
    /// length (or its route's limit); past it uploads are answered 503 with `Retry-After`.
    pub max_buffered_upload_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_args_bytes: 64 * 1024,
            max_result_bytes: 64 * 1024 * 1024,
            max_result_files: 10,
            max_result_file_bytes: 16 * 1024 * 1024,
            max_image_side: 2048,
            max_model_file_bytes: 16 * 1024 * 1024 * 1024,
            signature_window_secs: 60,
            max_uploads_per_signer: 4,
            max_buffered_upload_bytes: 256 * 1024 * 1024,
        }
    }
}

impl Config {
    /// The URLs requests are signed for: [`Config::public_urls`], or derived from the
    /// address the relay is listening on (`bound`, which may differ from `listen` when its
    /// port is 0).
    pub fn public_urls(&self, bound: SocketAddr) -> Vec<String> {
        if !self.public_urls.is_empty() {
            return self.public_urls.clone();
        }
        let mut urls = vec![format!("http://{bound}")];
        if bound.ip().is_loopback() {
            urls.push(format!("http://localhost:{}", bound.port()));
        }
        urls
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("relay.db").display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_config_reads_back() {
        let mut config = Config::default();
        config.chain.deployments = Some(PathBuf::from("deployments.json"));
        config.test_only_tamper_results_flag = Some(PathBuf::from("/tmp/flag"));
        let text = toml::to_string(&config).unwrap();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back.chain.deployments, config.chain.deployments);
        assert_eq!(
            back.test_only_tamper_results_flag,
            config.test_only_tamper_results_flag
        );
        assert_eq!(back.listen, config.listen);
    }

    #[test]
    fn the_example_file_parses_to_the_defaults() {
        let config: Config = toml::from_str(include_str!("../relay.example.toml")).unwrap();
        let defaults = Config::default();
        assert_eq!(config.listen, defaults.listen);
        assert_eq!(config.limits.max_args_bytes, defaults.limits.max_args_bytes);
        assert_eq!(
            config.limits.max_model_file_bytes,
            defaults.limits.max_model_file_bytes
        );
        assert_eq!(config.chain.chain_id, 31337);
        assert_eq!(config.chain.confirmations, defaults.chain.confirmations);
        assert_eq!(config.chain.reorg_depth, defaults.chain.reorg_depth);
        assert_eq!(config.database_url(), "sqlite://relay-data/relay.db");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<Config>("[limits]\nmax_arg_bytes = 1\n").unwrap_err();
        assert!(err.to_string().contains("max_arg_bytes"), "{err}");
    }
}
