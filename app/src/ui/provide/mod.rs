//! The Provide page (`#/provide`): this browser tab as a node of the network, one file per
//! card: what the browser can compute with ([`browser`]), the node key ([`key`]), staking and
//! joining with the connected wallet's CNX ([`join`]), serving with a live activity log
//! ([`serve`]), earnings ([`earnings`]) and the model cache ([`cache`]). Their state is the
//! [`NodeStore`]; the decisions they show are `crate::provide`'s.
//!
//! The node runs in a web worker ([`crate::node_worker`]) started the first time the page
//! opens and kept for the page's life.

mod browser;
mod cache;
mod earnings;
mod join;
mod key;
mod serve;
mod store;

use leptos::prelude::*;
use leptos::task::spawn_local;
use relay_client::RelayClient;
use worker_protocol::Command;

pub use store::NodeStore;

use super::Ctx;
use crate::error::AppError;
use crate::provide::{QUIT, network};

/// cache and the relay's models.
///
/// The worker is served beside the app once built: the first `cargo xtask up` serves the
/// app while it compiles the worker (about half an hour on 2 cores), so the page says so
/// and starts the worker when it appears.
fn open(ctx: Ctx, store: NodeStore, worker_missing: RwSignal<bool>) {
    let Ok(config) = ctx.config_now() else {
        return;
    };
    let network_config = config.clone();
    spawn_local(async move {
        while !worker_served().await {
            worker_missing.set(true);
            crate::js::sleep(WORKER_POLL_MS).await;
        }
        worker_missing.set(false);
        if store.start() {
            store.send(Command::Init {
                network: network(&network_config),
            });
            store.send(Command::Probe);
        } else {
            store.send(Command::Status);
        }
        store.send(Command::CacheInfo);
    });
    spawn_local(async move {
        let listed = match RelayClient::new(&config.relay_url, config.chain_id) {
            Ok(client) => client
                .models()
                .await
                .map_err(|e| AppError::from(e).to_string()),
            Err(e) => Err(e.to_string()),
        };
        store.models.set(Some(listed));
    });
}

/// How often the page looks again for a worker that is not served yet.
const WORKER_POLL_MS: i32 = 10_000;

/// Whether the node worker's loader is served beside the app.
async fn worker_served() -> bool {
    gloo_net::http::Request::get(crate::node_worker::WORKER_URL)
        .cache(web_sys::RequestCache::NoStore)
        .send()
        .await
        .is_ok_and(|r| r.ok())
}

/// The Provide page.
#[component]
pub fn ProvidePage() -> impl IntoView {
    let ctx = Ctx::get();
    let store = NodeStore::get();
    let worker_missing = RwSignal::new(false);
    open(ctx, store, worker_missing);
    view! {
        <div class="provide">
            <section class="card">
                <h1>"Provide compute"</h1>
                <p class="hint">
                    "Turn this tab into a node of the network: it stakes CNX, runs the tasks it is "
                    "drawn for on this browser's GPU (or CPU for the tiny models), commits to the "
                    "result on chain and earns the fee. The node has its own key, kept in this "
                    "browser; your wallet only funds it."
                </p>
                {move || worker_missing.get().then(|| view! {
                    <p class="banner info" role="status" data-testid="worker-building">
                        "This app's browser node (its web worker) is not served yet: the first "
                        <code>"cargo xtask up"</code>
                        " compiles it for about half an hour on 2 cores while the rest of the network "
                        "already runs. This page starts the node as soon as the worker is there."
                    </p>
                })}
                {move || store.error.get().map(|error| view! {
                    <p class="banner bad" role="alert">
                        <span data-testid="provide-error">{error}</span>
                        <button class="link" on:click=move |_| store.error.set(None)>"Dismiss"</button>
                    </p>
                })}
            </section>
            <browser::BrowserCard/>
            <key::KeyCard/>
            {move || (store.status().as_deref() == Some(QUIT)).then(|| view! { <join::JoinCard/> })}
            <serve::ServeCard/>
            <earnings::EarningsCard/>
            <cache::CacheCard/>
        </div>
    }
}
