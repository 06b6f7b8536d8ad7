//! Joining the network from the page: what blocks "Fund and join", the stake to offer, what
//! the wallet must send the node key, and the steps in words.

use alloy::primitives::U256;
use alloy::primitives::utils::parse_ether;
use worker_protocol::NodeView;

use super::QUIT;
use super::log::Download;
use crate::format::{cnx, mib, wei, wei_to_cnx};

/// What the wallet sends the node key beyond its stake, for the gas of joining, committing
/// and revealing.
pub const GAS_ALLOWANCE_CNX: &str = "1";

/// The stake the join form offers before the user types one: the network's minimum.
pub fn default_stake(node: &NodeView) -> String {
    wei_to_cnx(&node.min_stake)
}

/// What keeps "Fund and join" from going ahead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinBlocker {
    /// The node key is not known yet.
    #[error("The node key is not loaded yet.")]
    NoNode,
    /// The node has joined already.
    #[error("This node is {0}, not Quit: it has joined already.")]
    Joined(String),
    /// No model chosen.
    #[error("Choose at least one model to serve.")]
    NoModel,
    /// The stake is not an amount.
    #[error("The stake “{0}” is not an amount of CNX.")]
    BadStake(String),
    /// The stake is under the network's minimum.
    #[error("The stake must be at least {minimum} CNX.")]
    StakeTooLow {
        /// The minimum, in CNX.
        minimum: String,
    },
}

/// Checks the join form; returns the stake in wei.
pub fn check_join(
    node: Option<&NodeView>,
    models: &[String],
    stake: &str,
) -> Result<U256, JoinBlocker> {
    let node = node.ok_or(JoinBlocker::NoNode)?;
    if node.status != QUIT {
        return Err(JoinBlocker::Joined(node.status.clone()));
    }
    if models.is_empty() {
        return Err(JoinBlocker::NoModel);
    }
    let amount =
        parse_ether(stake.trim()).map_err(|_| JoinBlocker::BadStake(stake.trim().to_owned()))?;
    let minimum = wei(&node.min_stake);
    if amount < minimum || amount.is_zero() {
        return Err(JoinBlocker::StakeTooLow {
            minimum: cnx(minimum),
        });
    }
    Ok(amount)
}

/// What the wallet must send the node key so that it holds `stake` plus the gas
/// allowance; `None` when its `balance` covers it already.
pub fn funding_needed(stake: U256, balance: U256) -> Option<U256> {
    let allowance = parse_ether(GAS_ALLOWANCE_CNX).unwrap_or_default();
    let needed = stake.saturating_add(allowance);
    (balance < needed).then(|| needed - balance)
}

/// Where "Fund and join" stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinStep {
    /// The wallet is sending CNX to the node key.
    Funding,
    /// The worker fetches the models, then joins.
    Joining,
}

/// The join step in words; `downloading` is the model download in progress, if any.
pub fn join_words(step: JoinStep, downloading: Option<&Download>) -> String {
    match (step, downloading) {
        (JoinStep::Funding, _) => "funding the node key from your wallet…".into(),
        (JoinStep::Joining, Some(d)) => format!(
            "downloading models… {} ({} of {} MiB)",
            d.model,
            mib(d.done as f64),
            mib(d.total as f64)
        ),
        (JoinStep::Joining, None) => "joining…".into(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn quit_node() -> NodeView {
        NodeView {
            address: "0x1111111111111111111111111111111111111111".into(),
            status: QUIT.into(),
            min_stake: "400000000000000000000".into(),
            balance: "0".into(),
            ..NodeView::default()
        }
    }

    #[test]
    fn joining_needs_a_quit_node_a_model_and_the_minimum_stake() {
        let node = quit_node();
        assert_eq!(default_stake(&node), "400");
        let models = vec!["sd-tiny".to_owned()];
        assert_eq!(
            check_join(Some(&node), &models, "400").unwrap(),
            parse_ether("400").unwrap()
        );
        assert_eq!(check_join(None, &models, "400"), Err(JoinBlocker::NoNode));
        assert_eq!(
            check_join(Some(&node), &[], "400"),
            Err(JoinBlocker::NoModel)
        );
        assert_eq!(
            check_join(Some(&node), &models, "lots"),
            Err(JoinBlocker::BadStake("lots".into()))
        );
        let low = check_join(Some(&node), &models, "399.9").unwrap_err();
        assert_eq!(low.to_string(), "The stake must be at least 400 CNX.");
        let joined = NodeView {
            status: "Available".into(),
            ..node
        };
        assert!(matches!(
            check_join(Some(&joined), &models, "400"),
            Err(JoinBlocker::Joined(s)) if s == "Available"
        ));
    }

    #[test]
    fn funding_tops_the_key_up_to_stake_plus_gas() {
        let stake = parse_ether("400").unwrap();
        assert_eq!(
            funding_needed(stake, U256::ZERO),
            Some(parse_ether("401").unwrap())
        );
        assert_eq!(
            funding_needed(stake, parse_ether("100.5").unwrap()),
            Some(parse_ether("300.5").unwrap())
        );
        assert_eq!(funding_needed(stake, parse_ether("401").unwrap()), None);
        assert_eq!(funding_needed(stake, parse_ether("1000").unwrap()), None);
    }
}
