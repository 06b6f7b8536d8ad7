//! Staking and joining: the models to serve, the stake, funding the node key from the
//! wallet, then the worker's join.

use alloy::primitives::{Address, U256};
use leptos::prelude::*;
use leptos::task::spawn_local;
use worker_protocol::{Backend, Command};

use super::{Ctx, NodeStore};
use crate::error::AppError;
use crate::format::{cnx, mib, wei, wei_to_cnx};
use crate::provide::fit::{default_backend, parse_backend, task_kind};
use crate::provide::join::{
    GAS_ALLOWANCE_CNX, JoinStep, check_join, default_stake, funding_needed, join_words,
};

/// Stake and join (shown while the node has not joined).
#[component]
pub(super) fn JoinCard() -> impl IntoView {
    let ctx = Ctx::get();
    let store = NodeStore::get();
    let stake_text = move || {
        store.stake.get().unwrap_or_else(|| {
            store
                .node
                .with(|n| n.as_ref().map(default_stake).unwrap_or_default())
        })
    };
    let checked = move || {
        let stake = stake_text();
        store.node.with(|n| {
            store
                .chosen
                .with(|chosen| check_join(n.as_ref(), chosen, &stake))
        })
    };
    let join = move |_| {
        let stake = match checked() {
            Ok(stake) => stake,
            Err(e) => {
                store.error.set(Some(e.to_string()));
                return;
            }
        };
        let backend = store.backend.get_untracked().unwrap_or_else(|| {
            store
                .capability
                .with_untracked(|c| default_backend(c.as_ref()))
        });
        let models = store.chosen.get_untracked();
        store.error.set(None);
        store.join_step.set(Some(JoinStep::Funding));
        spawn_local(async move {
            if let Err(e) = fund_and_join(ctx, store, stake, backend, models).await {
                store.join_step.set(None);
                store.start_after_join.set(None);
                if matches!(e, AppError::WrongChain { .. }) {
                    ctx.notice.set(Some(e.clone()));
                }
                store.error.set(Some(e.to_string()));
            }
        });
    };
    let funding = move || {
        let stake = checked().ok()?;
        let balance = store.node.with(|n| n.as_ref().map(|n| wei(&n.balance)))?;
        Some(match funding_needed(stake, balance) {
            Some(top_up) => format!(
                "Your wallet sends {} CNX to the node key: the stake, and {GAS_ALLOWANCE_CNX} CNX \
                 for the gas of joining, committing and revealing (less what the key holds).",
                cnx(top_up)
            ),
            None => "The node key holds enough already: your wallet is not asked for anything."
                .to_owned(),
        })
    };
    let webgpu_known_missing = move || {
        store
            .capability
            .with(|c| c.as_ref().is_some_and(|c| c.webgpu.is_none()))
    };
    view! {
        <section class="card">
            <h2>"Stake and join"</h2>
            <div class="banner info penalty" data-testid="penalty">
                <p><strong>"Serving is a promise."</strong>" A node drawn for a task that does not commit "
                   "its result before the deadline loses 10% of its stake, and its health drops (so "
                   "it is drawn less). Closing this tab while it serves can therefore cost stake. "
                   "The Stop button is safe: it pauses the node on chain first, so no new task is "
                   "drawn, and finishes the task in hand. Reloading the tab in the middle of a task "
                   "resumes it (the outcome is kept in this browser) if it is back before the "
                   "deadline."</p>
            </div>
            <fieldset class="models">
                <legend>"Models to serve"</legend>
                {move || {
                    let fits = store.fits();
                    if fits.is_empty() {
                        return view! { <p class="hint">"No models listed by the relay yet."</p> }.into_any();
                    }
                    fits.into_iter().map(|f| {
                        let name = f.name.clone();
                        let toggle = name.clone();
                        let is_chosen = name.clone();
                        view! {
                            <label class="field check">
                                <input type="checkbox" data-testid="model-choice" value=name.clone()
                                       disabled={!f.fits()}
                                       prop:checked=move || store.chosen.with(|c| c.contains(&is_chosen))
                                       on:change=move |ev| {
                                           let on = event_target_checked(&ev);
                                           store.chosen.update(|c| {
                                               c.retain(|m| *m != toggle);
                                               if on { c.push(toggle.clone()); }
                                           });
                                       }/>
                                <span>
                                    <strong>{name}</strong> " — " {task_kind(f.layout)} ", "
                                    {mib(f.size as f64)} " MiB"
                                    {f.problem.map(|p| view! { <small class="error">" (" {p} ")"</small> })}
                                </span>
                            </label>
                        }
                    }).collect_view().into_any()
                }}
            </fieldset>
            <div class="form-grid">
                <label class="field">
                    <span>"Backend"</span>
                    <select data-testid="backend-choice" name="backend"
                            on:change=move |ev| store.backend.set(parse_backend(&event_target_value(&ev)))>
                        <option value="webgpu" disabled=webgpu_known_missing
                                selected=move || store.backend() == Backend::Webgpu>"WebGPU"</option>
                        <option value="cpu" selected=move || store.backend() == Backend::Cpu>"CPU (tiny models)"</option>
                    </select>
                </label>
                <label class="field">
                    <span>"Stake (CNX)"</span>
                    <input type="text" name="stake" data-testid="stake-input" inputmode="decimal"
                           prop:value=stake_text
                           on:input=move |ev| store.stake.set(Some(event_target_value(&ev)))/>
                    <small class="hint">{move || store.node.with(|n| n.as_ref().map(|n| {
                        format!("at least {} CNX", wei_to_cnx(&n.min_stake))
                    }))}</small>
                </label>
                <label class="field check wide">
                    <input type="checkbox" data-testid="start-after-join"
                           prop:checked=move || store.auto_start.get()
                           on:change=move |ev| store.auto_start.set(event_target_checked(&ev))/>
                    <span>"Start serving as soon as the node has joined"</span>
                </label>
            </div>
            <p class="hint">{funding}</p>
            <div class="actions">
                <button class="primary" data-testid="join-button"
                        disabled=move || checked().is_err() || store.join_step.get().is_some()
                        on:click=join>"Fund and join"</button>
                {move || store.join_step.get().map(|step| {
                    let words = store.log.with(|l| join_words(step, l.downloading.as_ref()));
                    view! { <span class="progress" data-testid="join-progress"><span class="spinner"></span>{words}</span> }
                })}
                {move || match (store.join_step.get(), checked()) {
                    (None, Err(e)) => Some(view! { <span class="hint" data-testid="join-blocker">{e.to_string()}</span> }),
                    _ => None,
                }}
            </div>
        </section>
    }
}

/// Funds the node key from the wallet when it holds less than `stake` and gas, then asks
/// the worker to join.
async fn fund_and_join(
    ctx: Ctx,
    store: NodeStore,
    stake: U256,
    backend: Backend,
    models: Vec<String>,
) -> Result<(), AppError> {
    let config = ctx.config_now()?;
    let node: Address = store
        .address
        .get_untracked()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| AppError::Other("The node key is not loaded yet.".into()))?;
    let reader = crate::chain::reader(&config)?;
    let balance = reader.balance(node).await?;
    if let Some(top_up) = funding_needed(stake, balance) {
        let wallet = ctx.wallet_now()?;
        wallet.ensure_chain(&config).await?;
        let hash = wallet.transfer(&config, node, top_up).await?;
        reader
            .receipt(hash, &crate::requests::BrowserHost::new(&config))
            .await?;
    }
    store.start_after_join.set(
        store
            .auto_start
            .get_untracked()
            .then(|| (backend, models.clone())),
    );
    store.join_step.set(Some(JoinStep::Joining));
    store.send(Command::Join {
        stake_wei: stake.to_string(),
        backend,
        models,
    });
    Ok(())
}
