//! The pages and components (Leptos, client-side rendered). Routing is by URL fragment
//! (`#/create`, `#/task/7`, `#/tasks`, `#/network`, `#/provide`), so `dist/` is served as
//! plain files.

mod bench;
mod chart;
mod create;
mod network;
mod provide;
pub mod report;
mod task;
mod tasks;
pub mod timeline;

use alloy::primitives::U256;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::config::{self, AppConfig};
use crate::error::AppError;
use crate::format::short;
use crate::wallet::{self, Discovered, Wallet};

/// A page of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Create a task.
    Create,
    /// One task.
    Task(U256),
    /// The connected account's tasks.
    Tasks,
    /// Nodes, stakes, recent tasks.
    Network,
    /// This tab as a node of the network.
    Provide,
    /// The in-browser verification benchmark.
    Bench,
    /// Anything else.
    NotFound(String),
}

impl Route {
    /// Parses a URL fragment (`#/task/7`).
    pub fn parse(hash: &str) -> Self {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        let mut parts = path.split('/');
        match (parts.next(), parts.next()) {
            (Some("" | "create"), None) => Self::Create,
            (Some("tasks"), None) => Self::Tasks,
            (Some("network"), None) => Self::Network,
            (Some("provide"), None) => Self::Provide,
            (Some("bench"), None) => Self::Bench,
            (Some("task"), Some(id)) => match id.parse::<U256>() {
                Ok(id) => Self::Task(id),
                Err(_) => Self::NotFound(path.to_owned()),
            },
            _ => Self::NotFound(path.to_owned()),
        }
    }

    /// Its URL fragment.
    pub fn href(&self) -> String {
        match self {
            Self::Create => "#/create".into(),
            Self::Task(id) => format!("#/task/{id}"),
            Self::Tasks => "#/tasks".into(),
            Self::Network => "#/network".into(),
            Self::Provide => "#/provide".into(),
            Self::Bench => "#/bench".into(),
            Self::NotFound(path) => format!("#/{path}"),
        }
    }
}

/// Goes to a page.
pub fn navigate(route: &Route) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_hash(&route.href());
    }
}

fn current_route() -> Route {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    Route::parse(&hash)
}

/// State every page shares.
#[derive(Clone, Copy)]
pub struct Ctx {
    /// The runtime configuration, once loaded.
    pub config: RwSignal<Option<AppConfig>>,
    /// Why it could not be loaded.
    pub config_error: RwSignal<Option<String>>,
    /// The connected wallet.
    pub wallet: RwSignal<Option<Wallet>, LocalStorage>,
    /// Injected wallets found on the page.
    pub wallets: RwSignal<Vec<Discovered>, LocalStorage>,
    /// A problem to show above the page.
    pub notice: RwSignal<Option<AppError>>,
    /// The current page.
    pub route: RwSignal<Route>,
    /// Whether the relay answers (`None`: not checked yet).
    pub relay: RwSignal<Option<Result<String, String>>>,
}

impl Ctx {
    /// The shared state (panics only if a component is mounted outside [`App`], a bug).
    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// The configuration, or an error a person can act on.
    pub fn config_now(&self) -> Result<AppConfig, AppError> {
        self.config
            .get_untracked()
            .ok_or_else(|| AppError::Other("the app's configuration is not loaded yet".into()))
    }

    /// The wallet, or an error saying to connect one.
    pub fn wallet_now(&self) -> Result<Wallet, AppError> {
        self.wallet.get_untracked().ok_or_else(|| {
            AppError::NoWallet("Connect a wallet first (top right of the page).".into())
        })
    }
}

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx {
        config: RwSignal::new(None),
        config_error: RwSignal::new(None),
        wallet: RwSignal::new_local(None),
        wallets: RwSignal::new_local(Vec::new()),
        notice: RwSignal::new(None),
        route: RwSignal::new(current_route()),
        relay: RwSignal::new(None),
    };
    provide_context(ctx);
    // The node worker's state outlives the Provide page: the node keeps serving elsewhere.
    provide_context(provide::NodeStore::new());

    // Follow the URL fragment.
    if let Some(window) = web_sys::window() {
        let on_hash = Closure::<dyn Fn()>::new(move || {
            ctx.route.set(current_route());
            ctx.notice.set(None);
        });
        let _ =
            window.add_event_listener_with_callback("hashchange", on_hash.as_ref().unchecked_ref());
        on_hash.forget();
    }

    // Injected wallets: EIP-6963 announcements, else window.ethereum.
    wallet::discover(move |found| {
        ctx.wallets.update(|list| {
            if !list
                .iter()
                .any(|w| w.rdns == found.rdns && w.name == found.name)
            {
                list.push(found);
            }
        });
    });
    spawn_local(async move {
        crate::js::sleep(300).await;
        if ctx.wallets.with_untracked(Vec::is_empty)
            && let Some(legacy) = wallet::legacy()
        {
            ctx.wallets.update(|list| list.push(legacy));
        }
    });

    spawn_local(async move {
        match config::load().await {
            Ok(config) => {
                let relay_url = config.relay_url.clone();
                let chain_id = config.chain_id;
                ctx.config.set(Some(config));
                check_relay(ctx, &relay_url, chain_id).await;
            }
            Err(e) => ctx.config_error.set(Some(e)),
        }
    });

    view! {
        <header class="top">
            <a class="brand" href="#/create">"Tessera"</a>
            <nav>
                <a href="#/create" class:active=move || ctx.route.get() == Route::Create>"Create"</a>
                <a href="#/tasks" class:active=move || ctx.route.get() == Route::Tasks>"My tasks"</a>
                <a href="#/network" class:active=move || ctx.route.get() == Route::Network>"Network"</a>
                <a href="#/provide" class:active=move || ctx.route.get() == Route::Provide>"Provide"</a>
            </nav>
            <WalletBar/>
        </header>
        <RelayBanner/>
        <Notice/>
        <main>
            {move || {
                if let Some(error) = ctx.config_error.get() {
                    return view! {
                        <section class="card error" data-testid="config-error">
                            <h2>"The app cannot start"</h2>
                            <p>{error}</p>
                            <p>"Serve the app with " <code>"cargo xtask up"</code>
                               ", which writes config.json for the running network."</p>
                        </section>
                    }.into_any();
                }
                if ctx.config.with(Option::is_none) {
                    return view! { <p class="loading">"Loading the network's configuration…"</p> }
                        .into_any();
                }
                match ctx.route.get() {
                    Route::Create => view! { <create::CreatePage/> }.into_any(),
                    Route::Task(id) => view! { <task::TaskPage id=id/> }.into_any(),
                    Route::Tasks => view! { <tasks::TasksPage/> }.into_any(),
                    Route::Network => view! { <network::NetworkPage/> }.into_any(),
                    Route::Provide => view! { <provide::ProvidePage/> }.into_any(),
                    Route::Bench => view! { <bench::BenchPage/> }.into_any(),
                    Route::NotFound(path) => view! {
                        <section class="card"><h2>"Not found"</h2>
                        <p>"There is no page “" {path} "”. "
                           <a href="#/create">"Create a task"</a></p></section>
                    }.into_any(),
                }
            }}
        </main>
        <footer>"Every result is checked in your browser against the chain."</footer>
    }
}

async fn check_relay(ctx: Ctx, url: &str, chain_id: u64) {
    let result = match relay_client::RelayClient::new(url, chain_id) {
        Ok(client) => match client.health().await {
            Ok(health) if health.status == "ok" => Ok(health.status),
            Ok(health) => Err(format!("the relay reports “{}”", health.status)),
            Err(e) => Err(AppError::from(e).to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    ctx.relay.set(Some(result));
}

#[component]
fn RelayBanner() -> impl IntoView {
    let ctx = Ctx::get();
    move || match ctx.relay.get() {
        Some(Err(e)) => view! {
            <div class="banner bad" data-testid="relay-down">
                <strong>"Relay unavailable. "</strong>{e}
                <button on:click=move |_| {
                    if let Some(config) = ctx.config.get_untracked() {
                        ctx.relay.set(None);
                        spawn_local(async move {
                            check_relay(ctx, &config.relay_url, config.chain_id).await;
                        });
                    }
                }>"Retry"</button>
            </div>
        }
        .into_any(),
        _ => ().into_any(),
    }
}

#[component]
fn Notice() -> impl IntoView {
    let ctx = Ctx::get();
    move || {
        ctx.notice.get().map(|error| {
            let wrong_chain = matches!(error, AppError::WrongChain { .. });
            view! {
                <div class="banner bad" data-testid="notice" role="alert">
                    <span>{error.to_string()}</span>
                    {wrong_chain.then(|| view! { <SwitchChain/> })}
                    <button class="link" on:click=move |_| ctx.notice.set(None)>"Dismiss"</button>
                </div>
            }
        })
    }
}

#[component]
fn SwitchChain() -> impl IntoView {
    let ctx = Ctx::get();
    view! {
        <button on:click=move |_| {
            let (Ok(config), Ok(wallet)) = (ctx.config_now(), ctx.wallet_now()) else {
                return;
            };
            spawn_local(async move {
                match wallet.switch_chain(&config).await {
                    Ok(()) => {
                        ctx.notice.set(None);
                        if let Some(Wallet::Injected { chain_id, .. }) = ctx.wallet.write().as_mut() {
                            *chain_id = config.chain_id;
                        }
                    }
                    Err(e) => ctx.notice.set(Some(e)),
                }
            });
        }>"Switch network"</button>
    }
}

fn watch_injected(ctx: Ctx, found: &Discovered) {
    found.provider.on("accountsChanged", move |accounts| {
        let first = js_sys::Array::from(&accounts)
            .get(0)
            .as_string()
            .and_then(|a| a.parse().ok());
        match first {
            Some(account) => {
                if let Some(Wallet::Injected { address, .. }) = ctx.wallet.write().as_mut() {
                    *address = account;
                }
            }
            None => ctx.wallet.set(None),
        }
    });
    found.provider.on("chainChanged", move |chain| {
        let id = chain
            .as_string()
            .and_then(|c| u64::from_str_radix(c.trim_start_matches("0x"), 16).ok());
        if let (Some(id), Some(Wallet::Injected { chain_id, .. })) =
            (id, ctx.wallet.write().as_mut())
        {
            *chain_id = id;
        }
    });
}

#[component]
fn WalletBar() -> impl IntoView {
    let ctx = Ctx::get();
    let busy = RwSignal::new(false);
    let connect_injected = move |found: Discovered| {
        busy.set(true);
        spawn_local(async move {
            match Wallet::connect(&found).await {
                Ok(wallet) => {
                    watch_injected(ctx, &found);
                    ctx.wallet.set(Some(wallet));
                    ctx.notice.set(None);
                }
                Err(e) => ctx.notice.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let connect_dev = move |key: String| match ctx
        .config_now()
        .and_then(|config| Wallet::dev(&key, &config))
    {
        Ok(wallet) => {
            ctx.wallet.set(Some(wallet));
            ctx.notice.set(None);
        }
        Err(e) => ctx.notice.set(Some(e)),
    };
    move || {
        if let Some(wallet) = ctx.wallet.get() {
            let config = ctx.config.get();
            let wrong_chain = config
                .as_ref()
                .is_some_and(|c| wallet.chain_id(c) != c.chain_id);
            let address = wallet.address().to_string();
            return view! {
                <div class="wallet connected" data-testid="wallet">
                    <span class=if wallet.is_dev() { "badge dev" } else { "badge" }
                          data-testid="wallet-label">{wallet.label()}</span>
                    <code title=address.clone() data-testid="wallet-address">{short(&address)}</code>
                    {wrong_chain.then(|| view! { <span class="badge bad">"wrong network"</span><SwitchChain/> })}
                    <button class="link" on:click=move |_| ctx.wallet.set(None)>"Disconnect"</button>
                </div>
            }
            .into_any();
        }
        let injected = ctx.wallets.get();
        let dev = ctx.config.get().map(|c| c.dev_accounts).unwrap_or_default();
        view! {
            <div class="wallet">
                {injected.into_iter().map(|found| {
                    let name = found.name.clone();
                    view! {
                        <button disabled=move || busy.get()
                                on:click=move |_| connect_injected(found.clone())>
                            "Connect " {name}
                        </button>
                    }
                }).collect_view()}
                {dev.into_iter().take(1).map(|account| {
                    let key = account.key.clone();
                    view! {
                        <button class="dev" data-testid="connect-dev"
                                title=format!("Signs in this page with the devnet's funded key for {}", account.address)
                                on:click=move |_| connect_dev(key.clone())>
                            "Use development wallet (devnet key)"
                        </button>
                    }
                }).collect_view()}
                {move || (ctx.wallets.with(Vec::is_empty)
                    && ctx.config.with(|c| c.as_ref().is_some_and(|c| c.dev_accounts.is_empty())))
                    .then(|| view! {
                        <span class="hint">"No wallet found: install a browser wallet (MetaMask, Rabby…)."</span>
                    })}
            </div>
        }
        .into_any()
    }
}

/// Mounts the app on the page's body.
pub fn mount() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
