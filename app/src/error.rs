//! Errors a person can act on: each says what happened and what to do about it.

use contracts::Revert;
use contracts::TaskManager::TaskManagerErrors as Tm;
use relay_client::{ClientError, SignError};
use requester::WalletError;

/// Why something the user asked for did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The user said no in the wallet.
    #[error("You rejected the request in your wallet. Nothing was sent; try again when ready.")]
    Rejected,
    /// The wallet is on another chain.
    #[error(
        "Your wallet is on chain {have}, but this network runs on chain {want}. Press \
         “Switch network” (or switch in your wallet) and try again."
    )]
    WrongChain {
        /// The wallet's chain.
        have: u64,
        /// The network's chain.
        want: u64,
    },
    /// Not enough native currency for the fee (and gas).
    #[error(
        "Insufficient funds: {address} holds {balance} CNX, but this costs {needed} CNX plus \
         gas. Fund the account or lower the fee."
    )]
    InsufficientFunds {
        /// The paying account.
        address: String,
        /// What it holds, in CNX.
        balance: String,
        /// What is needed, in CNX.
        needed: String,
    },
    /// The relay did not answer.
    #[error(
        "The relay at {url} is not reachable ({reason}). Anything already on chain is safe; \
         retry when the relay is back."
    )]
    RelayDown {
        /// Its URL.
        url: String,
        /// The transport's words.
        reason: String,
    },
    /// The relay answered with an error.
    #[error("The relay refused the request: {0}")]
    Relay(String),
    /// The contract refused.
    #[error("The contract refused the transaction: {0}")]
    Reverted(String),
    /// The chain's RPC endpoint failed.
    #[error("The chain's RPC endpoint failed: {0}. Is the network running?")]
    Rpc(String),
    /// No wallet is connected or available.
    #[error("{0}")]
    NoWallet(String),
    /// The wallet failed for another reason.
    #[error("The wallet reported an error: {0}")]
    Wallet(String),
    /// The form is not valid.
    #[error("The form has errors: fix the fields marked in red.")]
    Invalid,
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl AppError {
    /// Classifies an EIP-1193 error (`{code, message}`): 4001 is a rejection.
    pub fn from_wallet(code: Option<i64>, message: &str) -> Self {
        match code {
            Some(4001) => Self::Rejected,
            _ if message.to_ascii_lowercase().contains("user rejected")
                || message.to_ascii_lowercase().contains("user denied") =>
            {
                Self::Rejected
            }
            _ if message.to_ascii_lowercase().contains("insufficient funds") => {
                Self::InsufficientFunds {
                    address: "your account".into(),
                    balance: "less than needed".into(),
                    needed: "the fee".into(),
                }
            }
            Some(code) => Self::Wallet(format!("{message} (code {code})")),
            None => Self::Wallet(message.to_owned()),
        }
    }

    /// Whether this is worth retrying as is (a relay or RPC hiccup).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RelayDown { .. } | Self::Rpc(_))
    }
}

impl From<ClientError> for AppError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Unreachable { url, reason } => Self::RelayDown { url, reason },
            ClientError::Sign(SignError::Rejected) => Self::Rejected,
            ClientError::Sign(SignError::Failed(reason)) => Self::Wallet(reason),
            other => Self::Relay(other.to_string()),
        }
    }
}

impl From<WalletError> for AppError {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::Rejected => Self::Rejected,
            WalletError::WrongChain { have, want } => Self::WrongChain { have, want },
            WalletError::Failed { code, message } => Self::from_wallet(code, &message),
        }
    }
}

impl From<requester::Error> for AppError {
    fn from(e: requester::Error) -> Self {
        use requester::Error as E;
        match e {
            E::Chain(e) => e.into(),
            E::Relay(e) => e.into(),
            E::Wallet(e) => e.into(),
            E::InsufficientFunds {
                address,
                balance,
                fee,
            } => Self::InsufficientFunds {
                address,
                balance: crate::format::cnx(balance),
                needed: crate::format::cnx(fee),
            },
            E::Failed(hash) => Self::Reverted(format!("transaction {hash} was mined but failed")),
            E::TimedOut(what) => Self::Rpc(what),
            other => Self::Other(other.to_string()),
        }
    }
}

impl From<contracts::Error> for AppError {
    fn from(e: contracts::Error) -> Self {
        match e.revert() {
            Some(revert) => Self::Reverted(explain_revert(revert)),
            None => {
                let text = e.to_string();
                let lower = text.to_ascii_lowercase();
                if lower.contains("insufficient funds") {
                    Self::InsufficientFunds {
                        address: "your account".into(),
                        balance: "less than needed".into(),
                        needed: "the fee".into(),
                    }
                } else if lower.contains("error sending request")
                    || lower.contains("failed to fetch")
                    || lower.contains("connection")
                {
                    Self::Rpc(text)
                } else {
                    Self::Other(text)
                }
            }
        }
    }
}

/// A contract's custom error in words, with what to do where something can be done.
pub fn explain_revert(revert: &Revert) -> String {
    match revert {
        Revert::Tasks(Tm::PoolTooSmall(e)) => format!(
            "too few nodes can run this task: {} eligible, {} needed. Lower the VRAM or GPU \
             requirement, or wait for more nodes to join.",
            e.eligible, e.minimum
        ),
        Revert::Tasks(Tm::InvalidTask(e)) => {
            format!("the task request is invalid (field `{}`)", e.field)
        }
        Revert::Tasks(Tm::SeedTooEarly(e)) => format!(
            "the seed of task {} can be revealed from block {} on; wait a block and retry",
            e.taskId, e.firstBlock
        ),
        Revert::Tasks(Tm::SeedWindowClosed(e)) => format!(
            "the seed window of task {} closed at block {}: the task can only be cancelled now",
            e.taskId, e.lastBlock
        ),
        Revert::Tasks(Tm::WrongSecret(e)) => format!(
            "the saved secret does not match task {}'s commitment (was it created in another \
             browser?)",
            e.taskId
        ),
        Revert::Tasks(Tm::WrongState(e)) => format!(
            "task {} is {} and cannot take this action",
            e.taskId,
            contracts::TaskManager::TaskState::name(e.state)
        ),
        Revert::Tasks(Tm::NotCreator(e)) => format!(
            "only the creator of task {} may do this, not {}",
            e.taskId, e.caller
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::U256;
    use contracts::TaskManager;

    #[test]
    fn wallet_rejections_and_reverts_read_as_actions() {
        assert_eq!(
            AppError::from_wallet(Some(4001), "User rejected the request."),
            AppError::Rejected
        );
        assert!(matches!(
            AppError::from_wallet(Some(-32000), "insufficient funds for gas * price + value"),
            AppError::InsufficientFunds { .. }
        ));
        let revert = Revert::Tasks(Tm::PoolTooSmall(TaskManager::PoolTooSmall {
            eligible: U256::from(2),
            minimum: U256::from(3),
        }));
        let text = explain_revert(&revert);
        assert!(text.contains("2 eligible, 3 needed"), "{text}");
        let down = AppError::from(ClientError::Unreachable {
            url: "http://127.0.0.1:8600/health".into(),
            reason: "connection refused".into(),
        });
        assert!(down.to_string().contains("not reachable"), "{down}");
        assert!(down.is_transient());
    }
}
