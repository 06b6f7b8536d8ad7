//! Why a requester's step failed.

use contracts::Revert;
use relay_client::ClientError;

/// A wallet's refusal or failure, as EIP-1193 wallets and local keys report it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// The user said no (EIP-1193 code 4001).
    #[error("rejected in the wallet")]
    Rejected,
    /// The wallet is on another chain than the network's.
    #[error("the wallet is on chain {have}, the network on chain {want}")]
    WrongChain {
        /// The wallet's chain.
        have: u64,
        /// The network's chain.
        want: u64,
    },
    /// Anything else the wallet said, with its EIP-1193 code when it gave one.
    #[error("{message}")]
    Failed {
        /// The EIP-1193 error code.
        code: Option<i64>,
        /// The wallet's words.
        message: String,
    },
}

/// Why a requester's step failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A contract call or chain read failed; [`Error::revert`] has the contract's reason.
    #[error(transparent)]
    Chain(#[from] contracts::Error),
    /// The relay refused or could not be reached.
    #[error(transparent)]
    Relay(#[from] ClientError),
    /// The wallet refused or failed.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// The task arguments are not valid.
    #[error(transparent)]
    Args(#[from] verifier::args::ArgsError),
    /// The paying account holds less than the fee.
    #[error("{address} holds {balance} wei, less than the fee of {fee} wei (plus gas)")]
    InsufficientFunds {
        /// The paying account.
        address: String,
        /// Its balance, in wei.
        balance: alloy::primitives::U256,
        /// The fee, in wei.
        fee: alloy::primitives::U256,
    },
    /// The platform could not keep what a paid task needs; nothing was paid.
    #[error("could not keep the task's secret ({0}); nothing was sent")]
    Keep(String),
    /// Another account created the task.
    #[error("task {id} was created by {creator}; connect that account to finish it")]
    NotCreator {
        /// The task.
        id: alloy::primitives::U256,
        /// Its creator.
        creator: alloy::primitives::Address,
    },
    /// No GPU group has enough nodes to run an LLM task.
    #[error("no GPU group has enough nodes for an LLM task (its three seats share one GPU model)")]
    NoGpuGroup,
    /// A transaction was mined but reverted.
    #[error("transaction {0} was mined but failed")]
    Failed(alloy::primitives::B256),
    /// Waited too long.
    #[error("timed out: {0}")]
    TimedOut(String),
    /// A URL in the network's description does not parse.
    #[error("bad URL: {0}")]
    BadUrl(String),
}

impl Error {
    /// The contract's decoded custom error, if a call reverted with one.
    pub fn revert(&self) -> Option<&Revert> {
        match self {
            Self::Chain(e) => e.revert(),
            _ => None,
        }
    }

    /// Whether the same step may succeed later as it is: the relay or the chain's endpoint
    /// was unreachable or had not caught up.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Relay(e) => e.is_transient(),
            Self::Chain(contracts::Error::Contract(alloy::contract::Error::TransportError(e))) => {
                e.is_transport_error()
            }
            _ => false,
        }
    }
}
