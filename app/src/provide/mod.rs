//! The Provide page's decisions, without a browser (tested natively): what this browser can
//! serve ([`fit`]), what joining needs ([`join`]), what the node worker's events mean in
//! words ([`activity`]), and the running record of a serving session ([`log`]).

pub mod activity;
pub mod fit;
pub mod join;
pub mod log;

use worker_protocol::Network;

use crate::config::AppConfig;

/// The node status of a key that has not joined, or has left.
pub const QUIT: &str = "Quit";

/// What the node worker needs to reach the network the app serves (addresses
/// checksummed).
pub fn network(config: &AppConfig) -> Network {
    Network {
        chain_id: config.chain_id,
        rpc_url: config.rpc_url.clone(),
        relay_url: config.relay_url.clone(),
        node_registry: config.node_registry.to_string(),
        task_manager: config.task_manager.to_string(),
        appeals: config.appeals.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_is_told_the_apps_network() {
        let config = AppConfig::parse(
            r#"{"chainId": 31337, "rpcUrl": "http://127.0.0.1:8545",
                "relayUrl": "http://127.0.0.1:8600",
                "nodeRegistry": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "taskManager": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
                "appeals": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"}"#,
        )
        .unwrap();
        let network = network(&config);
        assert_eq!(network.chain_id, 31337);
        assert_eq!(network.relay_url, "http://127.0.0.1:8600");
        assert_eq!(
            network.node_registry,
            "0x5FbDB2315678afecb367f032d93F642f64180aa3"
        );
        assert_eq!(
            network.task_manager,
            "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
        );
    }
}
