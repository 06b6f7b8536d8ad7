//! Errors of contract calls, with the contracts' custom errors decoded.

use std::fmt;

use crate::{Appeals, NodeRegistry, TaskManager};

/// A custom error one of Tessera's contracts reverted with, decoded with its parameters
/// (for example `TaskManager::PoolTooSmall { eligible: 2, minimum: 5 }`).
#[derive(Debug, PartialEq, Eq)]
pub enum Revert {
    /// An error of [`NodeRegistry`].
    Registry(NodeRegistry::NodeRegistryErrors),
    /// An error of [`TaskManager`].
    Tasks(TaskManager::TaskManagerErrors),
    /// An error of [`Appeals`].
    Appeals(Appeals::AppealsErrors),
}

impl fmt::Display for Revert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The derived Debug of a decoded error is `Name { field: value, … }`: exactly the
        // clear reason a user needs, e.g. `PoolTooSmall { eligible: 2, minimum: 5 }`.
        match self {
            Self::Registry(e) => write!(f, "NodeRegistry: {e:?}"),
            Self::Tasks(e) => write!(f, "TaskManager: {e:?}"),
            Self::Appeals(e) => write!(f, "Appeals: {e:?}"),
        }
    }
}

impl Revert {
    /// Decodes revert data (selector + ABI-encoded parameters) into a known error.
    pub fn decode(data: &[u8]) -> Option<Self> {
        use alloy::sol_types::SolInterface as _;
        if let Ok(e) = TaskManager::TaskManagerErrors::abi_decode(data) {
            return Some(Self::Tasks(e));
        }
        if let Ok(e) = Appeals::AppealsErrors::abi_decode(data) {
            return Some(Self::Appeals(e));
        }
        NodeRegistry::NodeRegistryErrors::abi_decode(data)
            .ok()
            .map(Self::Registry)
    }
}

/// Why a call to Tessera's contracts failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The contract refused the call with one of its custom errors.
    #[error("transaction reverted: {0}")]
    Reverted(Revert),
    /// Any other failure: transport, encoding, a revert without a known error.
    #[error(transparent)]
    Contract(alloy::contract::Error),
    /// The transaction was sent but its receipt could not be had.
    #[error("waiting for the receipt: {0}")]
    Pending(#[from] alloy::providers::PendingTransactionError),
    /// The transaction was mined but failed.
    #[error("transaction {0} was mined but failed")]
    Failed(alloy::primitives::TxHash),
    /// A deployment transaction created no contract.
    #[error("deploying {0} created no contract")]
    NoContract(&'static str),
    /// A transaction succeeded but its receipt lacks the event it must emit.
    #[error("the receipt has no {0} event")]
    MissingEvent(&'static str),
}

impl Error {
    /// The decoded custom error, if the call reverted with one.
    pub fn revert(&self) -> Option<&Revert> {
        match self {
            Self::Reverted(r) => Some(r),
            _ => None,
        }
    }
}

impl From<alloy::contract::Error> for Error {
    fn from(err: alloy::contract::Error) -> Self {
        match err.as_revert_data().and_then(|data| Revert::decode(&data)) {
            Some(revert) => Self::Reverted(revert),
            None => Self::Contract(err),
        }
    }
}

impl From<alloy::transports::TransportError> for Error {
    fn from(err: alloy::transports::TransportError) -> Self {
        alloy::contract::Error::from(err).into()
    }
}

/// Sends a contract call, waits for its receipt, and turns a revert into [`Error::Reverted`]
/// with the contract's custom error decoded. Returns the receipt (gas used, logs).
pub async fn send<P, D>(
    call: alloy::contract::CallBuilder<P, D>,
) -> Result<alloy::rpc::types::TransactionReceipt, Error>
where
    P: alloy::providers::Provider,
    D: alloy::contract::CallDecoder,
{
    // Gas is estimated against the latest state, and the state may move before the
    // transaction lands: the third commitment of a task, estimated while it was the second,
    // also opens the reveal phase and would run out of gas. Half again as much covers such
    // transitions; gas not used is not charged.
    // Estimated against the pending block, as a wallet does: a call valid only after the
    // latest block (a seed revealed right after its creation block) passes.
    let call = call.block(alloy::eips::BlockId::pending());
    let estimate = call.estimate_gas().await?;
    let call = call.gas(estimate.saturating_add(estimate / 2));
    let receipt = call.send().await?.get_receipt().await?;
    if !receipt.status() {
        return Err(Error::Failed(receipt.transaction_hash));
    }
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use alloy::sol_types::SolInterface as _;

    use super::*;

    /// Revert data carries only a selector: decoding is unambiguous only while no error
    /// of one contract shares its selector with an error of another.
    #[test]
    fn error_selectors_are_unique_across_contracts() {
        let tasks = TaskManager::TaskManagerErrors::selectors();
        let registry = NodeRegistry::NodeRegistryErrors::selectors();
        let appeals = Appeals::AppealsErrors::selectors();
        let all: Vec<_> = tasks.chain(registry).chain(appeals).collect();
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
    }

    #[test]
    fn decodes_a_revert_with_its_parameters() {
        use alloy::primitives::U256;
        use alloy::sol_types::SolError as _;
        let data = TaskManager::PoolTooSmall {
            eligible: U256::from(2),
            minimum: U256::from(5),
        }
        .abi_encode();
        let revert = Revert::decode(&data).expect("known error");
        assert_eq!(
            revert.to_string(),
            "TaskManager: PoolTooSmall(PoolTooSmall { eligible: 2, minimum: 5 })"
        );
        assert_eq!(Revert::decode(&[0xde, 0xad, 0xbe, 0xef]), None);
    }
}
