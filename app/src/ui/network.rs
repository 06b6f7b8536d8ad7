//! The Network page: nodes, GPUs, stakes, QoS, recent tasks and a chart of tasks over time.

use contracts::NodeRegistry::NodeStatus;
use contracts::TaskManager::TaskState;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{Ctx, Route};
use crate::chain::{self, NetworkView, RecentTask};
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
        <Chart tasks=net.recent.clone()/>
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

/// Buckets task creation times into at most 24 bars.
pub fn buckets(tasks: &[RecentTask]) -> Vec<(u64, usize)> {
    let times: Vec<u64> = tasks.iter().filter_map(|t| t.time).collect();
    let (Some(&first), Some(&last)) = (times.iter().min(), times.iter().max()) else {
        return Vec::new();
    };
    let span = (last - first).max(60);
    let width = span.div_ceil(24).max(1);
    let mut out: Vec<(u64, usize)> = (0..24).map(|i| (first + i * width, 0)).collect();
    for t in times {
        let i = (((t - first) / width) as usize).min(23);
        out[i].1 += 1;
    }
    while out.last().is_some_and(|(_, n)| *n == 0) && out.len() > 1 {
        out.pop();
    }
    out
}

#[component]
fn Chart(tasks: Vec<RecentTask>) -> impl IntoView {
    let bars = buckets(&tasks);
    if bars.is_empty() {
        return view! { <p class="hint">"No tasks yet."</p> }.into_any();
    }
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let width = 24 * bars.len();
    view! {
        <svg class="chart" data-testid="chart" viewBox=format!("0 0 {width} 100") preserveAspectRatio="none"
             role="img" aria-label="tasks created over time">
            {bars.iter().enumerate().map(|(i, (_, n))| {
                let h = (*n as f64 / max as f64 * 90.0).max(if *n > 0 { 2.0 } else { 0.0 });
                view! {
                    <rect x=(i * 24 + 3).to_string() y=format!("{:.1}", 100.0 - h) width="18" height=format!("{h:.1}")>
                        <title>{format!("{n} task(s)")}</title>
                    </rect>
                }
            }).collect_view()}
        </svg>
    }
    .into_any()
}
