//! Errors of contract calls, with the contracts' custom errors decoded.

use std::fmt;

use crate::{NodeRegistry, TaskManager};

/// A custom error one of Tessera's contracts reverted with, decoded with its parameters
/// (for example `TaskManager::PoolTooSmall { eligible: 2, minimum: 5 }`).
#[derive(Debug, PartialEq, Eq)]
pub enum Revert {
    /// An error of [`NodeRegistry`].
    Registry(NodeRegistry::NodeRegistryErrors),
    /// An error of [`TaskManager`].
    Tasks(TaskManager::TaskManagerErrors),
}

impl fmt::Display for Revert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The derived Debug of a decoded error is `Name { field: value, … }`: exactly the
        // clear reason a user needs, e.g. `PoolTooSmall { eligible: 2, minimum: 5 }`.
        match self {
            Self::Registry(e) => write!(f, "NodeRegistry: {e:?}"),
            Self::Tasks(e) => write!(f, "TaskManager: {e:?}"),
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
