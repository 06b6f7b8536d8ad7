//! The Network page: nodes, GPUs, stakes, QoS, recent tasks, and charts of tasks created
//! and fees paid over time.

use contracts::NodeRegistry::NodeStatus;
use contracts::TaskManager::TaskState;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::chart::BarChart;
use super::{Ctx, Route};
use crate::chain::{self, NetworkView, RecentTask};
use crate::chart::Series;
use crate::format::{cnx, short};

/// The Network page.
#[component]
pub fn NetworkPage() -> impl IntoView {
    let ctx = Ctx::get();
    let view_state = RwSignal::new(None::<Result<NetworkView, String>>);
    let load = move || {
        if let Ok(config) = ctx.config_now() {
            spawn_local(async move {
                let result = chain::network(&config, 50).await.map_err(|e| e.to_string());
                view_state.set(Some(result));
            });
        }
    };
    load();
    view! {
        <section class="card">
            <h1>"Network" <button class="link" on:click=move |_| load()>"Refresh"</button></h1>
            {move || match view_state.get() {
                None => view! { <p class="loading"><span class="spinner"></span>"Reading the registry…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                Some(Ok(net)) => network_view(net).into_any(),
            }}
        </section>
    }
}

fn network_view(net: NetworkView) -> impl IntoView {
    let [created, queued, succeeded, aborted] = net.tasks;
    view! {
        <div class="stats">
            <div><strong>{net.nodes.len()}</strong><span>"active nodes"</span></div>
            <div><strong>{net.available.to_string()}</strong><span>"available"</span></div>
            <div><strong>{cnx(net.staked)}</strong><span>"CNX staked"</span></div>
            <div><strong>{created.to_string()}</strong><span>"tasks"</span></div>
            <div><strong>{succeeded.to_string()}</strong><span>"succeeded"</span></div>
            <div><strong>{aborted.to_string()}</strong><span>"aborted"</span></div>
            <div><strong>{queued.to_string()}</strong><span>"queued"</span></div>
        </div>
        <h2>"Nodes"</h2>
        <div class="scroll">
        <table class="list" data-testid="nodes">
            <thead><tr><th>"Node"</th><th>"Status"</th><th>"GPU"</th><th>"Stake"</th>
                <th>"QoS"</th><th>"Health"</th><th>"Models"</th><th>"Task"</th></tr></thead>
            <tbody>
                {net.nodes.into_iter().map(|node| {
                    let info = node.info;
                    view! {
                        <tr data-testid="node-row">
                            <td><code title=node.address.to_string()>{short(&node.address.to_string())}</code></td>
                            <td>{NodeStatus::name(info.status)}</td>
                            <td>{format!("{} ({} GB)", info.gpuName, info.gpuVram)}</td>
                            <td>{cnx(info.stake)} " CNX"</td>
                            <td>{format!("{:.1}", info.qosScore.to::<u64>() as f64 / 100.0)}</td>
                            <td>{format!("{:.0}%", info.health.to::<u64>() as f64 / 10.0)}</td>
                            <td>{info.modelIds.join(", ")}</td>
                            <td>{(!info.currentTask.is_zero()).then(|| view! {
                                <a href=Route::Task(info.currentTask).href()>"#" {info.currentTask.to_string()}</a>
                            })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
        <h2>"GPU groups"</h2>
        <ul class="groups">
            {net.groups.into_iter().map(|g| view! {
                <li>{format!("{} ({} GB): {} active, {} available, {} CNX staked", g.gpuName, g.gpuVram, g.activeNodes, g.availableNodes, cnx(g.stake))}</li>
            }).collect_view()}
        </ul>
        <h2>"Tasks over time"</h2>
        {charts(&net.recent)}
        <h2>"Recent tasks"</h2>
        <div class="scroll">
        <table class="list">
            <thead><tr><th>"Task"</th><th>"Kind"</th><th>"Fee"</th><th>"Block"</th><th>"State"</th></tr></thead>
            <tbody>
                {net.recent.into_iter().map(|t| view! {
                    <tr>
                        <td><a href=Route::Task(t.id).href()>"#" {t.id.to_string()}</a></td>
                        <td>{if t.task_type == 0 { "Images" } else { "Text" }}</td>
                        <td>{cnx(t.fee)} " CNX"</td>
                        <td>{t.block}</td>
                        <td>{TaskState::name(t.state)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

/// Tasks created and fees offered per period, over the recent tasks whose block time is known.
fn charts(recent: &[RecentTask]) -> impl IntoView + use<> {
    let timed = || recent.iter().filter_map(|t| Some((t.time?, t)));
    let tasks = Series::of(
        &timed().map(|(at, _)| (at, 1.0)).collect::<Vec<_>>(),
        "tasks",
    );
    let fees = Series::of(
        &timed()
            .map(|(at, t)| (at, cnx(t.fee).parse::<f64>().unwrap_or(0.0)))
            .collect::<Vec<_>>(),
        "CNX",
    );
    match (tasks, fees) {
        (Some(tasks), Some(fees)) => view! {
            <div class="charts">
                <BarChart series=tasks title="Tasks created" testid="chart"/>
                <BarChart series=fees title="Fees offered" testid="fees-chart"/>
            </div>
        }
        .into_any(),
        _ => view! { <p class="hint">"No tasks yet."</p> }.into_any(),
    }
}
