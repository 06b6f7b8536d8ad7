//! What pays and signs: a [`Wallet`] sends transactions and signs relay requests. The web
//! app implements it over browser wallets (EIP-1193); [`LocalWallet`] holds a key (the
//! command line, the tests, the devnet's development wallet in the page).

use std::future::Future;

use alloy::network::TransactionBuilder as _;
use alloy::primitives::{Address, B256, Bytes, Signature, U256};
use alloy::providers::{DynProvider, Provider as _};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use relay_client::{RequestSigner, RequestToSign, SignError};

use crate::error::Error;

/// A transaction for the wallet to sign and send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The contract.
    pub to: Address,
    /// ABI-encoded calldata.
    pub data: Bytes,
    /// Value sent, in wei.
    pub value: U256,
    /// The gas limit; `None` leaves it to the wallet to estimate.
    pub gas: Option<u64>,
}

/// Sends transactions and signs relay requests for one account. The futures need not be
/// `Send`: in a browser they await the wallet.
pub trait Wallet: RequestSigner {
    /// Signs and sends `call` from [`RequestSigner::address`]; returns the transaction hash
    /// once the chain accepted it (not mined yet).
    fn send(&self, call: Call) -> impl Future<Output = Result<B256, Error>>;
}

/// A wallet holding a private key, sending through an HTTP provider that refetches the
/// nonce for every transaction ([`contracts::connect`]).
#[derive(Clone)]
pub struct LocalWallet {
    signer: PrivateKeySigner,
    provider: DynProvider,
}

impl std::fmt::Debug for LocalWallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        f.debug_struct("LocalWallet")
            .field("address", &self.signer.address())
            .finish_non_exhaustive()
    }
}

impl LocalWallet {
    /// A wallet for `signer` on the chain at `rpc_url`.
    pub fn new(signer: PrivateKeySigner, rpc_url: &str) -> Result<Self, Error> {
        let url = rpc_url
            .parse()
            .map_err(|e| Error::BadUrl(format!("RPC URL `{rpc_url}`: {e}")))?;
        Ok(Self {
            provider: contracts::connect(url, signer.clone()),
            signer,
        })
    }

    /// The key.
    pub fn signer(&self) -> &PrivateKeySigner {
        &self.signer
    }
}

impl RequestSigner for LocalWallet {
    fn address(&self) -> Address {
        self.signer.address()
    }

    fn sign_request(
        &self,
        request: &RequestToSign<'_>,
    ) -> impl Future<Output = Result<Signature, SignError>> {
        RequestSigner::sign_request(&self.signer, request)
    }
}

impl Wallet for LocalWallet {
    async fn send(&self, call: Call) -> Result<B256, Error> {
        let mut tx = TransactionRequest::default()
            .with_from(self.signer.address())
            .with_to(call.to)
            .with_input(call.data)
            .with_value(call.value);
        if let Some(gas) = call.gas {
            tx = tx.with_gas_limit(gas);
        }
        let pending = self
            .provider
            .send_transaction(tx)
            .await
            .map_err(contracts::Error::from)?;
        Ok(*pending.tx_hash())
    }
}
