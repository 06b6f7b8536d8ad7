//! The runtime configuration the app fetches at start (`config.json` beside `index.html`):
//! which chain, where its RPC and the relay are, the contracts, and on a devnet the funded
//! development keys. `cargo xtask up` writes it.

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

/// What the app needs to know about the network it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppConfig {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// A name for the chain (shown, and given to wallets adding it).
    #[serde(default = "default_chain_name")]
    pub chain_name: String,
    /// JSON-RPC endpoint reads go through (and wallets are told about).
    pub rpc_url: String,
    /// The relay's base URL.
    pub relay_url: String,
    /// The `NodeRegistry` contract.
    pub node_registry: Address,
    /// The `TaskManager` contract.
    pub task_manager: Address,
    /// The `Appeals` contract (a browser node serves on its juries).
    pub appeals: Address,
    /// The block the contracts were deployed in: log queries start there.
    #[serde(default)]
    pub deployment_block: u64,
    /// Devnet only: funded keys offered as a clearly labelled development wallet.
    #[serde(default)]
    pub dev_accounts: Vec<DevAccount>,
}

/// A devnet account whose private key the app may hold (never on a real network).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevAccount {
    /// Its address.
    pub address: Address,
    /// Its private key, `0x` hex.
    pub key: String,
}

fn default_chain_name() -> String {
    "Tessera devnet".into()
}

impl AppConfig {
    /// Parses `config.json`, naming what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("config.json is not valid: {e}"))
    }

    /// The network, as the requester's flow needs it.
    pub fn network(&self) -> requester::Network {
        requester::Network {
            chain_id: self.chain_id,
            rpc_url: self.rpc_url.clone(),
            relay_url: self.relay_url.clone(),
            node_registry: self.node_registry,
            task_manager: self.task_manager,
            appeals: self.appeals,
            deployment_block: self.deployment_block,
        }
    }

    /// A key prefix for this deployment's entries in the browser's storage.
    pub fn storage_prefix(&self) -> String {
        format!("tessera:{}:{}", self.chain_id, self.task_manager)
    }
}

/// Fetches and parses `config.json` from beside the page.
#[cfg(target_arch = "wasm32")]
pub async fn load() -> Result<AppConfig, String> {
    let response = gloo_net::http::Request::get("config.json")
        .send()
        .await
        .map_err(|e| format!("could not fetch config.json: {e}"))?;
    if !response.ok() {
        return Err(format!(
            "config.json answered HTTP {}: is the app served by `cargo xtask up`?",
            response.status()
        ));
    }
    let text = response
        .text()
        .await
        .map_err(|e| format!("could not read config.json: {e}"))?;
    AppConfig::parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_up_writes() {
        let config = AppConfig::parse(
            r#"{"chainId": 31337, "rpcUrl": "http://127.0.0.1:8545",
                "relayUrl": "http://127.0.0.1:8600",
                "nodeRegistry": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                "taskManager": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
                "appeals": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
                "deploymentBlock": 1,
                "devAccounts": [{"address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                                 "key": "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"}]}"#,
        )
        .unwrap();
        assert_eq!(config.chain_id, 31337);
        assert_eq!(config.chain_name, "Tessera devnet");
        assert_eq!(config.dev_accounts.len(), 1);
        assert!(AppConfig::parse("{}").unwrap_err().contains("chainId"));
    }
}
