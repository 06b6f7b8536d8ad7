//! The model cache: what this browser keeps, and clearing it.

use leptos::prelude::*;
use worker_protocol::{Command, CommandKind};

use super::NodeStore;
use crate::format::mib;

/// The model cache.
#[component]
pub(super) fn CacheCard() -> impl IntoView {
    let store = NodeStore::get();
    let busy = move || {
        store.serving.get()
            || store.join_step.get().is_some()
            || store.is_pending(CommandKind::ClearCache)
    };
    view! {
        <section class="card">
            <h2>"Model cache"
                <button class="link" on:click=move |_| store.send(Command::CacheInfo)>"Refresh"</button>
            </h2>
            <p data-testid="cache-info">
                {move || match store.cache.get() {
                    None => "Reading the cache…".to_owned(),
                    Some(c) => format!(
                        "{} file(s), {} MiB{}",
                        c.files,
                        mib(c.bytes),
                        c.quota.map(|q| format!(" (this site may store {} MiB)", mib(q))).unwrap_or_default()
                    ),
                }}
            </p>
            <div class="actions">
                <button data-testid="clear-cache-button" disabled=busy
                        title="Not while serving or joining"
                        on:click=move |_| store.send(Command::ClearCache)>"Clear cache"</button>
                <span class="hint">"Models are fetched again (and checked) when next needed."</span>
            </div>
        </section>
    }
}
