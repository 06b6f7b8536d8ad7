//! The deployments file: where the contracts of a chain live.

use std::path::Path;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

/// Where Tessera's contracts are deployed, as `cargo xtask chain` and
/// `cargo xtask contracts deploy` write it (`deployments.json`, camelCase keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Deployments {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// JSON-RPC endpoint the deployment went through.
    pub rpc_url: String,
    /// Address of the [`NodeRegistry`](crate::NodeRegistry) contract.
    pub node_registry: Address,
    /// Address of the [`TaskManager`](crate::TaskManager) contract.
    pub task_manager: Address,
    /// Address of the [`Appeals`](crate::Appeals) contract.
    pub appeals: Address,
    /// Block of the first deployment transaction: log queries can start here.
    pub deployment_block: u64,
    /// The account that deployed (owner of both contracts).
    pub deployer: Address,
}

/// A deployments file that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentsError {
    /// The file could not be read or written.
    #[error("reading or writing deployments file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a deployments document.
    #[error("deployments file {path} is not valid: {source}")]
    Json {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

impl Deployments {
    /// Parses a deployments document.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Pretty-printed JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("plain data serializes");
        text.push('\n');
        text
    }

    /// Reads a deployments file (native targets).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DeploymentsError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| DeploymentsError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text).map_err(|source| DeploymentsError::Json {
            path: path.display().to_string(),
            source,
        })
    }

    /// Writes a deployments file (native targets).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), DeploymentsError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()).map_err(|source| DeploymentsError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_unknown_fields() {
        let d = Deployments {
            chain_id: 31337,
            rpc_url: "http://127.0.0.1:8545".into(),
            node_registry: Address::repeat_byte(1),
            task_manager: Address::repeat_byte(2),
            appeals: Address::repeat_byte(4),
            deployment_block: 1,
            deployer: Address::repeat_byte(3),
        };
        let text = d.to_json();
        assert!(text.contains("\"taskManager\": \"0x0202"), "{text}");
        assert_eq!(Deployments::from_json(&text).unwrap(), d);
        let extra = text.replacen('{', "{\"nodes\": 3,", 1);
        assert!(Deployments::from_json(&extra).is_err());
        let missing = Deployments::load("/nonexistent/deployments.json").unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("/nonexistent/deployments.json")
        );
    }
}
