//! My tasks: the connected account's tasks from the chain, and the tasks this browser has
//! not finished submitting.

use alloy::primitives::U256;
use contracts::TaskManager::TaskState;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{Ctx, Route};
use requester::record::score_kind;

use crate::format::cnx;
use crate::timeline::state_words;
use crate::{chain, requests};

#[derive(Debug, Clone, PartialEq)]
struct Row {
    id: U256,
    state: u8,
    image: bool,
    fee: U256,
    models: String,
}

/// The My tasks page.
#[component]
pub fn TasksPage() -> impl IntoView {
    let ctx = Ctx::get();
    let rows = RwSignal::new(None::<Result<Vec<Row>, String>>);
    Effect::new(move |_| {
        let Some(wallet) = ctx.wallet.get() else {
            return;
        };
        let Ok(config) = ctx.config_now() else {
            return;
        };
        rows.set(None);
        spawn_local(async move {
            let result = async {
                let ids = chain::tasks_of(&config, wallet.address()).await?;
                let reader = chain::reader(&config)?;
                let mut out = Vec::new();
                for id in ids.into_iter().rev().take(50) {
                    let t = reader.task(id).await?;
                    out.push(Row {
                        id,
                        state: t.state,
                        image: score_kind(t.request.taskType) == verifier::score::ScoreKind::Image,
                        fee: t.fee,
                        models: t.request.modelIds.join(", "),
                    });
                }
                Ok::<_, crate::error::AppError>(out)
            }
            .await;
            rows.set(Some(result.map_err(|e| e.to_string())));
        });
    });
    let unfinished = move || {
        ctx.config
            .get()
            .map(|c| requests::pending(&c))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.id)
            .collect::<Vec<_>>()
    };
    view! {
        <section class="card">
            <h1>"My tasks"</h1>
            {move || {
                let ids = unfinished();
                (!ids.is_empty()).then(|| view! {
                    <div class="banner info">
                        "Not fully submitted yet (open to finish): "
                        {ids.into_iter().map(|id| view! {
                            <a href=Route::Task(id).href()>"#" {id.to_string()}</a> " "
                        }).collect_view()}
                    </div>
                })
            }}
            {move || match (ctx.wallet.with(Option::is_some), rows.get()) {
                (false, _) => view! { <p class="hint">"Connect a wallet to see its tasks."</p> }.into_any(),
                (true, None) => view! { <p class="loading"><span class="spinner"></span>"Reading your tasks from the chain…"</p> }.into_any(),
                (true, Some(Err(e))) => view! { <p class="error">{e}</p> }.into_any(),
                (true, Some(Ok(rows))) if rows.is_empty() => view! {
                    <p class="hint">"No tasks yet. " <a href="#/create">"Create one"</a></p>
                }.into_any(),
                (true, Some(Ok(rows))) => view! {
                    <div class="scroll">
                    <table class="list" data-testid="my-tasks">
                        <thead><tr><th>"Task"</th><th>"Kind"</th><th>"Model"</th><th>"Fee"</th><th>"State"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|row| view! {
                                <tr>
                                    <td><a href=Route::Task(row.id).href()>"#" {row.id.to_string()}</a></td>
                                    <td>{if row.image { "Images" } else { "Text" }}</td>
                                    <td>{row.models}</td>
                                    <td>{cnx(row.fee)} " CNX"</td>
                                    <td><span class=format!("badge state-{}", row.state)>{TaskState::name(row.state)}</span>
                                        " " <small>{state_words(row.state)}</small></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}
