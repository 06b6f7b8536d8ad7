//! The node key: its address, the node's record on chain, export and removal.

use leptos::prelude::*;
use worker_protocol::{Command, CommandKind};

use super::NodeStore;
use crate::format::wei_to_cnx;
use crate::provide::QUIT;

/// The node key and the node's record on chain.
#[component]
pub(super) fn KeyCard() -> impl IntoView {
    let store = NodeStore::get();
    let export_asked = RwSignal::new(false);
    let remove_asked = RwSignal::new(false);
    let address = move || match store.address.get() {
        Some(address) => view! { <code data-testid="node-address">{address}</code> }.into_any(),
        None if store.is_pending(CommandKind::Init) => view! {
            <span class="loading"><span class="spinner"></span>"Loading the node key…"</span>
        }
        .into_any(),
        None => view! { <span class="hint">"No node key yet."</span> }.into_any(),
    };
    let record = move || {
        store.node.get().map(|n| {
            let task = n.current_task.clone().filter(|t| !t.is_empty() && t != "0");
            view! {
                <dl class="summary" data-testid="node-record">
                    <dt>"Status"</dt><dd><strong data-testid="node-status">{n.status.clone()}</strong></dd>
                    <dt>"Stake"</dt><dd data-testid="node-stake">{wei_to_cnx(&n.stake)} " CNX"</dd>
                    <dt>"Balance (gas and stake)"</dt><dd data-testid="node-balance">{wei_to_cnx(&n.balance)} " CNX"</dd>
                    <dt>"Withdrawable"</dt><dd>{wei_to_cnx(&n.withdrawable)} " CNX"</dd>
                    <dt>"Unbonding"</dt><dd>{wei_to_cnx(&n.unbonding)} " CNX"</dd>
                    <dt>"QoS"</dt><dd>{n.qos} " / 1000"</dd>
                    <dt>"Health"</dt><dd>{format!("{:.1}%", f64::from(n.health) / 10.0)}</dd>
                    <dt>"Task in hand"</dt>
                    <dd>{match task {
                        Some(t) => view! { <a href=format!("#/task/{t}")>"#" {t.clone()}</a> }.into_any(),
                        None => view! { "none" }.into_any(),
                    }}</dd>
                    <dt>"GPU announced"</dt><dd>{if n.gpu_name.is_empty() { "—".to_owned() } else { n.gpu_name.clone() }}</dd>
                    <dt>"Models announced"</dt><dd>{if n.models.is_empty() { "—".to_owned() } else { n.models.join(", ") }}</dd>
                </dl>
            }
        })
    };
    let removable = move || store.status().as_deref() == Some(QUIT) && !store.serving.get();
    view! {
        <section class="card">
            <h2>"Node key"
                <button class="link" disabled=move || store.is_pending(CommandKind::Status)
                        on:click=move |_| store.send(Command::Status)>"Refresh"</button>
            </h2>
            <p>"Node address: " {address}</p>
            {record}
            <div class="actions">
                <button data-testid="export-key-button" disabled=move || store.address.with(Option::is_none)
                        on:click=move |_| {
                            store.exported.set(None);
                            export_asked.set(true);
                        }>"Export key"</button>
                <button data-testid="remove-key-button" disabled=move || !removable()
                        title="Only a node that has quit (status Quit) can drop its key"
                        on:click=move |_| remove_asked.set(true)>"Remove key"</button>
            </div>
            {move || export_asked.get().then(|| view! {
                <div class="confirm" data-testid="export-confirm">
                    <p class="error"><strong>"Anyone who sees this key controls the node, its stake "
                        "and its earnings."</strong>" Show it only to copy it somewhere safe (to move the node "
                        "to another browser or to the native node)."</p>
                    {move || match store.exported.get() {
                        Some(key) => view! {
                            <code class="secret" data-testid="exported-key">{key}</code>
                            <button on:click=move |_| { store.exported.set(None); export_asked.set(false); }>"Hide"</button>
                        }.into_any(),
                        None => view! {
                            <button data-testid="export-confirm-button" disabled=move || store.is_pending(CommandKind::ExportKey)
                                    on:click=move |_| store.send(Command::ExportKey)>"Show the key"</button>
                            <button class="link" on:click=move |_| export_asked.set(false)>"Cancel"</button>
                        }.into_any(),
                    }}
                </div>
            })}
            {move || remove_asked.get().then(|| {
                let (balance, withdrawable, unbonding) = store.node.with(|n| n.as_ref().map(|n| {
                    (wei_to_cnx(&n.balance), wei_to_cnx(&n.withdrawable), wei_to_cnx(&n.unbonding))
                }).unwrap_or_default());
                view! {
                    <div class="confirm" data-testid="remove-confirm">
                        <p class="error"><strong>"The key is deleted from this browser and a new one is made."</strong>
                            " Whatever it still holds is lost unless you exported it first: balance "
                            {balance} " CNX, withdrawable " {withdrawable} " CNX, unbonding " {unbonding} " CNX."</p>
                        <button data-testid="remove-confirm-button" disabled=move || store.is_pending(CommandKind::RemoveKey)
                                on:click=move |_| { store.send(Command::RemoveKey); remove_asked.set(false); }>
                            "Delete the node key"</button>
                        <button class="link" on:click=move |_| remove_asked.set(false)>"Cancel"</button>
                    </div>
                }
            })}
        </section>
    }
}
