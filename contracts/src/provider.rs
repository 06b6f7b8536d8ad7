//! Providers for the contracts: a signing one suited to their reverting calls, a read-only
//! one, both over a client that waits and retries when the endpoint rate-limits.

use alloy::network::EthereumWallet;
use alloy::providers::fillers::{ChainIdFiller, GasFiller, NonceFiller, SimpleNonceManager};
use alloy::providers::{DynProvider, Provider as _, ProviderBuilder};
use alloy::rpc::client::{ClientBuilder, RpcClient};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;
use std::time::Duration;

use crate::backoff::Backoff;

/// How a request the endpoint refused for its rate (HTTP 429, or an error body saying so)
/// is retried: ten times, waiting from a quarter second up to half a minute, doubling each
/// time, or as long as the endpoint asks.
const RATE_LIMIT: Backoff = Backoff {
    retries: 10,
    base: Duration::from_millis(250),
    cap: Duration::from_secs(30),
};

/// The JSON-RPC client under every provider here: HTTP, with exponential back-off on rate
/// limits, so a public endpoint's 429s slow a client down instead of failing it.
fn client(rpc_url: Url) -> RpcClient {
    ClientBuilder::default().layer(RATE_LIMIT).http(rpc_url)
}

/// A provider for reads only.
pub fn read_only(rpc_url: Url) -> DynProvider {
    ProviderBuilder::new()
        .connect_client(client(rpc_url))
        .erased()
}

/// An HTTP provider that signs with `signer`, estimates gas, and asks the chain for the
/// account's nonce before every transaction.
///
/// alloy's default filler caches nonces and counts one for every attempt, so after a call
/// the contract refuses (a revert found while estimating gas, which sends nothing) the next
/// transaction would wait forever behind a nonce gap. Tessera's clients send calls that may
/// revert by design (a late commit, a lost race to cancel), hence this stack.
pub fn connect(rpc_url: Url, signer: PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .filler(GasFiller::default())
        .filler(NonceFiller::<SimpleNonceManager>::default())
        .filler(ChainIdFiller::default())
        .wallet(EthereumWallet::from(signer))
        .connect_client(client(rpc_url))
        .erased()
}
