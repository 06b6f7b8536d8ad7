//! Earnings: rewards and stake to withdraw, what each task earned or cost (from the
//! chain's logs, charted per period), quitting the network.

use contracts::TaskManager::NodeOutcome;
use contracts::history::{LedgerLine, StandingPoint};
use leptos::prelude::*;
use leptos::task::spawn_local;
use worker_protocol::{Command, CommandKind};

use super::{Ctx, NodeStore};
use crate::chart::Series;
use crate::format::{cnx, short, wei_to_cnx};
use crate::provide::QUIT;
use crate::ui::Route;
use crate::ui::chart::BarChart;

/// Earnings: withdraw to the wallet, quit the network.
#[component]
pub(super) fn EarningsCard() -> impl IntoView {
    let ctx = Ctx::get();
    let store = NodeStore::get();
    let quit_asked = RwSignal::new(false);
    let withdraw = move |_| match ctx.wallet_now() {
        Ok(wallet) => {
            store.error.set(None);
            store.send(Command::Withdraw {
                to: wallet.address().to_string(),
            });
        }
        Err(e) => store.error.set(Some(e.to_string())),
    };
    let amounts = move || {
        store.node.get().map(|n| {
            view! {
                <dl class="summary">
                    <dt>"Withdrawable"</dt><dd data-testid="node-withdrawable">{wei_to_cnx(&n.withdrawable)} " CNX"</dd>
                    <dt>"Unbonding"</dt><dd>{wei_to_cnx(&n.unbonding)} " CNX"</dd>
                    <dt>"Spare balance"</dt><dd>{wei_to_cnx(&n.balance)} " CNX"</dd>
                </dl>
            }
        })
    };
    let can_quit = move || store.status().is_some_and(|s| s != QUIT);
    // The ledger, read again whenever the node's balances move.
    let ledger = RwSignal::new(None::<Result<Vec<LedgerLine>, String>>);
    let history = RwSignal::new(None::<Vec<StandingPoint>>);
    Effect::new(move |_| {
        let Some((address, _, _)) = store.node.with(|n| {
            n.as_ref()
                .map(|n| (n.address.clone(), n.withdrawable.clone(), n.stake.clone()))
        }) else {
            return;
        };
        let (Ok(config), Ok(node)) = (ctx.config_now(), address.parse()) else {
            return;
        };
        spawn_local(async move {
            let reader = match crate::chain::reader(&config) {
                Ok(reader) => reader,
                Err(e) => return ledger.set(Some(Err(e.to_string()))),
            };
            ledger.set(Some(
                reader.node_ledger(node).await.map_err(|e| e.to_string()),
            ));
            if let Ok(points) = reader.node_standing(node).await {
                history.set(Some(points));
            }
        });
    });
    view! {
        <section class="card">
            <h2>"Earnings"</h2>
            {amounts}
            {move || ledger.get().map(|read| match read {
                Ok(lines) => ledger_view(lines).into_any(),
                Err(e) => view! { <p class="error">"The node's tasks could not be read: " {e}</p> }.into_any(),
            })}
            {move || history.get().map(standing_view)}
            <p class="hint">"Withdrawing sends the rewards and unbonded stake, then the node key's spare "
               "balance, to your wallet"
               {move || ctx.wallet.get().map(|w| format!(" ({})", short(&w.address().to_string())))}
               "."</p>
            <div class="actions">
                <button data-testid="withdraw-button"
                        disabled=move || store.address.with(Option::is_none) || store.is_pending(CommandKind::Withdraw)
                        on:click=withdraw>"Withdraw to my wallet"</button>
                <button data-testid="quit-button" disabled=move || !can_quit() || store.is_pending(CommandKind::Quit)
                        on:click=move |_| quit_asked.set(true)>"Quit the network"</button>
            </div>
            {move || quit_asked.get().then(|| view! {
                <div class="confirm" data-testid="quit-confirm">
                    <p>"Quitting leaves the network: the node is drawn for no new task and its stake "
                       "starts unbonding; withdraw it once unbonded."</p>
                    <button data-testid="quit-confirm-button"
                            on:click=move |_| { store.send(Command::Quit); quit_asked.set(false); }>"Quit"</button>
                    <button class="link" on:click=move |_| quit_asked.set(false)>"Cancel"</button>
                </div>
            })}
        </section>
    }
}

/// Totals, rewards per period, and the last tasks with their outcome.
fn ledger_view(lines: Vec<LedgerLine>) -> impl IntoView {
    let earned = lines.iter().map(|l| l.reward).sum();
    let lost = lines.iter().map(|l| l.slashed).sum();
    let rewards: Vec<(u64, f64)> = lines
        .iter()
        .filter_map(|l| Some((l.timestamp?, cnx(l.reward).parse().unwrap_or(0.0))))
        .collect();
    let chart = Series::of(&rewards, "CNX")
        .map(|series| view! { <BarChart series=series title="Rewards" testid="earnings-chart"/> });
    view! {
        <p data-testid="ledger-total">
            {format!("{} task(s): {} CNX earned, {} CNX of stake lost.", lines.len(), cnx(earned), cnx(lost))}
        </p>
        {chart}
        <div class="scroll">
        <table class="list" data-testid="ledger">
            <thead><tr><th>"Task"</th><th>"Outcome"</th><th>"Reward"</th><th>"Stake lost"</th></tr></thead>
            <tbody>
                {lines.into_iter().rev().take(20).map(|l| view! {
                    <tr data-testid="ledger-row" data-task=l.task.to_string()>
                        <td><a href=Route::Task(l.task).href()>"#" {l.task.to_string()}</a></td>
                        <td>{l.outcome.map_or("open", NodeOutcome::name)}</td>
                        <td>{cnx(l.reward)} " CNX"</td>
                        <td class=if l.slashed.is_zero() { "" } else { "bad" }>{cnx(l.slashed)} " CNX"</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

/// Health and QoS after each task, as levels over time.
fn standing_view(points: Vec<StandingPoint>) -> impl IntoView {
    let level = |value: fn(&StandingPoint) -> f64| -> Vec<(u64, f64)> {
        points
            .iter()
            .filter_map(|p| Some((p.timestamp?, value(p))))
            .collect()
    };
    let health = Series::levels(
        &level(|p| p.health.saturating_to::<u64>() as f64 / 10.0),
        "%",
    );
    let qos = Series::levels(
        &level(|p| p.qos.saturating_to::<u64>() as f64 / 100.0),
        "points of 10",
    );
    view! {
        {health.map(|s| view! { <BarChart series=s title="Health after each task" testid="health-chart"/> })}
        {qos.map(|s| view! { <BarChart series=s title="QoS after each task" testid="qos-chart"/> })}
    }
}
