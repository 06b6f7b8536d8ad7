//! A signing provider suited to the contracts' reverting calls.

use alloy::network::EthereumWallet;
use alloy::providers::fillers::{ChainIdFiller, GasFiller, NonceFiller, SimpleNonceManager};
use alloy::providers::{DynProvider, Provider as _, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;

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
        .connect_http(rpc_url)
        .erased()
}
