//! Wallets: injected browser wallets (EIP-6963 discovery, EIP-1193 fallback to
//! `window.ethereum`) and, on a devnet, a development wallet holding one of the devnet's
//! funded keys. Private keys of a real wallet never reach the page: transactions and relay
//! requests go to the wallet to sign.

use alloy::primitives::{Address, B256, Bytes, Signature, U256};
use alloy::signers::local::PrivateKeySigner;
use js_sys::{Array, Function, Object, Promise, Reflect};
use relay_client::{RequestSigner, RequestToSign, SignError};
use requester::{Call, LocalWallet, WalletError};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::config::AppConfig;
use crate::error::AppError;
use crate::js::js_error_text;

/// The label every screen shows for the development wallet.
pub const DEV_LABEL: &str = "development wallet (devnet key)";

/// An EIP-1193 provider object (`request`, `on`).
#[derive(Clone, Debug)]
pub struct Eip1193(JsValue);

impl Eip1193 {
    /// Wraps a provider object.
    pub fn new(value: JsValue) -> Self {
        Self(value)
    }

    /// `provider.request({method, params})`.
    pub async fn request(&self, method: &str, params: JsValue) -> Result<JsValue, WalletError> {
        let args = Object::new();
        let _ = Reflect::set(&args, &"method".into(), &method.into());
        if !params.is_undefined() {
            let _ = Reflect::set(&args, &"params".into(), &params);
        }
        let function = Reflect::get(&self.0, &"request".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| failed("the wallet has no `request` method"))?;
        let promise = function
            .call1(&self.0, &args)
            .map_err(|e| wallet_error(&e))?
            .dyn_into::<Promise>()
            .map_err(|_| failed("`request` did not return a promise"))?;
        JsFuture::from(promise).await.map_err(|e| wallet_error(&e))
    }

    /// `provider.on(event, callback)`; the callback lives as long as the page.
    pub fn on(&self, event: &str, callback: impl FnMut(JsValue) + 'static) {
        let closure = Closure::<dyn FnMut(JsValue)>::new(callback);
        if let Some(on) = Reflect::get(&self.0, &"on".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
        {
            let _ = on.call2(&self.0, &event.into(), closure.as_ref());
        }
        closure.forget();
    }
}

fn failed(message: &str) -> WalletError {
    WalletError::Failed {
        code: None,
        message: message.to_owned(),
    }
}

/// An EIP-1193 error (`{code, message}`): code 4001 (or, from a wallet that gives no code,
/// words saying so) is the user's refusal.
fn wallet_error(value: &JsValue) -> WalletError {
    let code = Reflect::get(value, &"code".into())
        .ok()
        .and_then(|c| c.as_f64())
        .map(|c| c as i64);
    let message = js_error_text(value);
    let lower = message.to_ascii_lowercase();
    if code == Some(4001) || lower.contains("user rejected") || lower.contains("user denied") {
        WalletError::Rejected
    } else {
        WalletError::Failed { code, message }
    }
}

/// A wallet a page found.
#[derive(Clone, Debug)]
pub struct Discovered {
    /// Its name (`MetaMask`, …).
    pub name: String,
    /// Its reverse-DNS id (`io.metamask`); empty for the legacy `window.ethereum`.
    pub rdns: String,
    /// The provider.
    pub provider: Eip1193,
}

/// Asks injected wallets to announce themselves (EIP-6963); `found` is called for each, now
/// and whenever one announces itself later.
pub fn discover(found: impl Fn(Discovered) + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let listener = Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
        let Some(event) = event.dyn_ref::<web_sys::CustomEvent>() else {
            return;
        };
        let detail = event.detail();
        let info = Reflect::get(&detail, &"info".into()).unwrap_or(JsValue::UNDEFINED);
        let text = |key: &str| {
            Reflect::get(&info, &key.into())
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        };
        let provider = Reflect::get(&detail, &"provider".into()).unwrap_or(JsValue::UNDEFINED);
        if provider.is_object() {
            found(Discovered {
                name: text("name"),
                rdns: text("rdns"),
                provider: Eip1193::new(provider),
            });
        }
    });
    let _ = window.add_event_listener_with_callback(
        "eip6963:announceProvider",
        listener.as_ref().unchecked_ref(),
    );
    listener.forget();
    if let Ok(event) = web_sys::Event::new("eip6963:requestProvider") {
        let _ = window.dispatch_event(&event);
    }
}

/// `window.ethereum`, the pre-EIP-6963 injected wallet, if any.
pub fn legacy() -> Option<Discovered> {
    let window = web_sys::window()?;
    let provider = Reflect::get(&window, &"ethereum".into()).ok()?;
    provider.is_object().then(|| Discovered {
        name: "Browser wallet".into(),
        rdns: String::new(),
        provider: Eip1193::new(provider),
    })
}

/// The connected wallet.
#[derive(Clone, Debug)]
pub enum Wallet {
    /// A devnet key held by the page, clearly labelled.
    Dev {
        /// The key, with a provider to send through.
        wallet: LocalWallet,
    },
    /// A browser wallet.
    Injected {
        /// Its name.
        name: String,
        /// Its provider.
        provider: Eip1193,
        /// The selected account.
        address: Address,
        /// The chain it is on.
        chain_id: u64,
    },
}

fn hex_u64(value: &JsValue) -> Option<u64> {
    let text = value.as_string()?;
    u64::from_str_radix(text.trim_start_matches("0x"), 16).ok()
}

impl Wallet {
    /// A development wallet over a devnet key, sending through `config`'s RPC endpoint.
    pub fn dev(key: &str, config: &AppConfig) -> Result<Self, AppError> {
        let signer: PrivateKeySigner = key.parse().map_err(|e| {
            AppError::Other(format!("the devnet key in config.json is invalid: {e}"))
        })?;
        Ok(Self::Dev {
            wallet: LocalWallet::new(signer, &config.rpc_url)?,
        })
    }

    /// Connects to an injected wallet: asks for its accounts (the wallet shows its prompt).
    pub async fn connect(found: &Discovered) -> Result<Self, AppError> {
        let accounts = found
            .provider
            .request("eth_requestAccounts", JsValue::UNDEFINED)
            .await?;
        let address = Array::from(&accounts)
            .get(0)
            .as_string()
            .and_then(|a| a.parse::<Address>().ok())
            .ok_or_else(|| AppError::NoWallet("the wallet shared no account".into()))?;
        let chain = found
            .provider
            .request("eth_chainId", JsValue::UNDEFINED)
            .await?;
        Ok(Self::Injected {
            name: if found.name.is_empty() {
                "Browser wallet".into()
            } else {
                found.name.clone()
            },
            provider: found.provider.clone(),
            address,
            chain_id: hex_u64(&chain).unwrap_or(0),
        })
    }

    /// The account.
    pub fn address(&self) -> Address {
        match self {
            Self::Dev { wallet } => wallet.address(),
            Self::Injected { address, .. } => *address,
        }
    }

    /// What to call it on screen.
    pub fn label(&self) -> String {
        match self {
            Self::Dev { .. } => DEV_LABEL.to_owned(),
            Self::Injected { name, .. } => name.clone(),
        }
    }

    /// Whether it is the development wallet.
    pub fn is_dev(&self) -> bool {
        matches!(self, Self::Dev { .. })
    }

    /// The chain the wallet is on (the development wallet is always on the app's chain).
    pub fn chain_id(&self, config: &AppConfig) -> u64 {
        match self {
            Self::Dev { .. } => config.chain_id,
            Self::Injected { chain_id, .. } => *chain_id,
        }
    }

    /// Fails with [`WalletError::WrongChain`] when the wallet is on another chain than the
    /// app.
    pub async fn ensure_chain(&self, config: &AppConfig) -> Result<(), WalletError> {
        if let Self::Injected { provider, .. } = self {
            let chain = provider.request("eth_chainId", JsValue::UNDEFINED).await?;
            let have = hex_u64(&chain).unwrap_or(0);
            if have != config.chain_id {
                return Err(WalletError::WrongChain {
                    have,
                    want: config.chain_id,
                });
            }
        }
        Ok(())
    }

    /// Asks the wallet to switch to the app's chain, adding it first if it does not know it
    /// (EIP-3326, EIP-3085).
    pub async fn switch_chain(&self, config: &AppConfig) -> Result<(), AppError> {
        let Self::Injected { provider, .. } = self else {
            return Ok(());
        };
        let chain_hex = format!("0x{:x}", config.chain_id);
        let switch = Object::new();
        let _ = Reflect::set(&switch, &"chainId".into(), &chain_hex.clone().into());
        match provider
            .request("wallet_switchEthereumChain", Array::of1(&switch).into())
            .await
        {
            Ok(_) => Ok(()),
            Err(WalletError::Rejected) => Err(AppError::Rejected),
            Err(_) => {
                // 4902 (unknown chain) or a wallet that says it differently: add it.
                let add = Object::new();
                let _ = Reflect::set(&add, &"chainId".into(), &chain_hex.into());
                let _ = Reflect::set(&add, &"chainName".into(), &config.chain_name.clone().into());
                let _ = Reflect::set(
                    &add,
                    &"rpcUrls".into(),
                    &Array::of1(&config.rpc_url.clone().into()),
                );
                let currency = Object::new();
                let _ = Reflect::set(&currency, &"name".into(), &"CNX".into());
                let _ = Reflect::set(&currency, &"symbol".into(), &"CNX".into());
                let _ = Reflect::set(&currency, &"decimals".into(), &18.into());
                let _ = Reflect::set(&add, &"nativeCurrency".into(), &currency);
                provider
                    .request("wallet_addEthereumChain", Array::of1(&add).into())
                    .await
                    .map(drop)
                    .map_err(AppError::from)
            }
        }
    }

    /// Sends a transaction and returns its hash once the chain has it. The wallet signs
    /// (the development wallet signs in the page); `gas` skips estimation when set.
    pub async fn send_transaction(
        &self,
        config: &AppConfig,
        call: Call,
    ) -> Result<B256, requester::Error> {
        match self {
            Self::Dev { wallet } => requester::Wallet::send(wallet, call).await,
            Self::Injected {
                provider, address, ..
            } => {
                self.ensure_chain(config).await?;
                let tx = Object::new();
                let set = |key: &str, value: String| {
                    let _ = Reflect::set(&tx, &key.into(), &value.into());
                };
                set("from", address.to_string());
                set("to", call.to.to_string());
                set("data", call.data.to_string());
                set("value", format!("0x{:x}", call.value));
                if let Some(gas) = call.gas {
                    set("gas", format!("0x{gas:x}"));
                }
                let hash = provider
                    .request("eth_sendTransaction", Array::of1(&tx).into())
                    .await?;
                hash.as_string()
                    .and_then(|h| h.parse::<B256>().ok())
                    .ok_or_else(|| failed("the wallet returned no transaction hash").into())
            }
        }
    }

    /// A value transfer of `value` wei to `to`.
    pub async fn transfer(
        &self,
        config: &AppConfig,
        to: Address,
        value: U256,
    ) -> Result<B256, requester::Error> {
        let call = Call {
            to,
            data: Bytes::new(),
            value,
            gas: None,
        };
        self.send_transaction(config, call).await
    }
}

/// The connected wallet on the app's network: what the requester's flow pays and signs
/// with (a browser wallet is checked to be on the app's chain before each transaction).
#[derive(Clone, Debug)]
pub struct OnNetwork {
    /// The wallet.
    pub wallet: Wallet,
    /// The network it must be on.
    pub config: AppConfig,
}

impl RequestSigner for OnNetwork {
    fn address(&self) -> Address {
        self.wallet.address()
    }

    async fn sign_request(&self, request: &RequestToSign<'_>) -> Result<Signature, SignError> {
        self.wallet.sign_request(request).await
    }
}

impl requester::Wallet for OnNetwork {
    async fn send(&self, call: Call) -> Result<B256, requester::Error> {
        self.wallet.send_transaction(&self.config, call).await
    }
}

impl RequestSigner for Wallet {
    fn address(&self) -> Address {
        Wallet::address(self)
    }

    async fn sign_request(&self, request: &RequestToSign<'_>) -> Result<Signature, SignError> {
        match self {
            Self::Dev { wallet } => wallet.sign_request(request).await,
            Self::Injected {
                provider, address, ..
            } => {
                // eth_signTypedData_v4(address, typed data as JSON text): the wallet shows
                // the request's fields, `action` first, in words.
                let params = Array::of2(
                    &address.to_string().into(),
                    &request.typed_data_json().into(),
                );
                let signature = provider
                    .request("eth_signTypedData_v4", params.into())
                    .await
                    .map_err(|e| match e {
                        WalletError::Rejected => SignError::Rejected,
                        other => SignError::Failed(other.to_string()),
                    })?;
                let failed = |what: String| SignError::Failed(what);
                let text = signature
                    .as_string()
                    .ok_or_else(|| failed("the wallet returned no signature".into()))?;
                let bytes = alloy::hex::decode(text.trim_start_matches("0x"))
                    .map_err(|e| failed(format!("the wallet's signature is not hex: {e}")))?;
                Signature::try_from(bytes.as_slice())
                    .map_err(|e| failed(format!("the wallet's signature is unusable: {e}")))
            }
        }
    }
}
