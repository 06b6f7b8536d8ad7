//! Earnings: rewards and stake to withdraw, quitting the network.

use leptos::prelude::*;
use worker_protocol::{Command, CommandKind};

use super::{Ctx, NodeStore};
use crate::format::{short, wei_to_cnx};
use crate::provide::QUIT;

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
    view! {
        <section class="card">
            <h2>"Earnings"</h2>
            {amounts}
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
