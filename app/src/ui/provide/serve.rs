//! Serving: start and stop, the task in hand, the activity log, the session's tasks.

use leptos::prelude::*;
use worker_protocol::{Command, CommandKind};

use super::NodeStore;
use crate::format::{duration, mib};
use crate::provide::QUIT;
use crate::provide::activity::{Mood, activity_data, activity_kind, activity_task, describe, mood};
use crate::provide::fit::default_backend;
use crate::provide::log::PHASES;

/// Serving: start and stop, the task in hand, the activity log, the session's tasks.
#[component]
pub(super) fn ServeCard() -> impl IntoView {
    let store = NodeStore::get();
    let joined = move || store.status().is_some_and(|s| s != QUIT);
    let start = move |_| {
        let backend = store.backend.get_untracked().unwrap_or_else(|| {
            store
                .capability
                .with_untracked(|c| default_backend(c.as_ref()))
        });
        let announced = store
            .node
            .with_untracked(|n| n.as_ref().map(|n| n.models.clone()).unwrap_or_default());
        let models = if announced.is_empty() {
            store.chosen.get_untracked()
        } else {
            announced
        };
        store.error.set(None);
        store.send(Command::Start { backend, models });
    };
    let task_in_hand = move || match store.log.with(|l| l.current.clone()) {
        None => view! { <p class="hint" data-testid="no-task">"No task in hand."</p> }.into_any(),
        Some(t) => {
            let steps = t.steps.max(1);
            let words = if t.steps == 0 {
                "waiting for the first step".to_owned()
            } else if t.detail.is_empty() {
                format!("step {} of {}", t.step, t.steps)
            } else {
                format!("step {} of {} ({})", t.step, t.steps, t.detail)
            };
            view! {
                <div class="timeline task-in-hand" data-task=t.task.clone()>
                    <p>
                        <a href=format!("#/task/{}", t.task)>"Task #" {t.task.clone()}</a>
                        {t.model.clone().map(|m| view! { " on " <strong>{m}</strong> })}
                        {t.ms.map(|ms| format!(" — inference took {}", duration(ms)))}
                    </p>
                    <progress data-testid="task-progress" data-task=t.task.clone()
                              max=steps.to_string() value=t.step.min(steps).to_string()></progress>
                    <span class="hint">{words}</span>
                    <ol class="phases">
                        {PHASES.iter().enumerate().map(|(i, (kind, label))| view! {
                            <li data-phase=*kind class:done={i <= t.phase} class:current={i == t.phase}>{*label}</li>
                        }).collect_view()}
                    </ol>
                </div>
            }
            .into_any()
        }
    };
    let download = move || {
        store.log.with(|l| l.downloading.clone()).map(|d| {
            view! {
                <p class="download">
                    "Downloading " {d.model.clone()} ": " {mib(d.done as f64)} " of " {mib(d.total as f64)} " MiB "
                    <progress max=d.total.max(1).to_string() value=d.done.min(d.total).to_string()></progress>
                </p>
            }
        })
    };
    view! {
        <section class="card">
            <h2>"Serve"</h2>
            <div class="actions">
                <span>"This tab is "
                    <strong data-testid="serving-state" class:ok=move || store.serving.get()>
                        {move || if store.serving.get() { "serving" } else { "stopped" }}
                    </strong>
                </span>
                <button class="primary" data-testid="start-button"
                        disabled=move || store.serving.get() || !joined() || store.is_pending(CommandKind::Start)
                        on:click=start>"Start serving"</button>
                <button data-testid="stop-button"
                        disabled=move || !store.serving.get() || store.is_pending(CommandKind::Stop)
                        on:click=move |_| store.send(Command::Stop)>"Stop"</button>
                {move || store.is_pending(CommandKind::Stop).then(|| view! {
                    <span class="progress"><span class="spinner"></span>
                        "Stopping: pausing on chain, then finishing the task in hand…"</span>
                })}
            </div>
            {move || (!joined() && !store.serving.get()).then(|| view! {
                <p class="hint">"Join the network first (above) to serve."</p>
            })}
            {move || (joined() && !store.serving.get() && store.status().as_deref() != Some("Paused")).then(|| view! {
                <p class="banner bad" data-testid="not-serving-warning">
                    "The node is on the network but this tab is not serving: a task drawn now "
                    "would go unanswered and cost stake. Start serving (or quit)."
                </p>
            })}
            {move || store.serving.get().then(|| view! {
                <p class="hint">"Keep this tab open while it serves; press Stop before closing it."</p>
            })}
            {download}
            <h3>"Task in hand"</h3>
            {task_in_hand}
            <h3>"Activity"</h3>
            <ol class="activity" data-testid="activity-log">
                {move || store.log.with(|l| l.entries.iter().map(|entry| {
                    let kind = activity_kind(&entry.activity);
                    let task = activity_task(&entry.activity).unwrap_or_default().to_owned();
                    let bad = mood(&entry.activity) == Mood::Bad;
                    let good = mood(&entry.activity) == Mood::Good;
                    let data = activity_data(&entry.activity);
                    view! {
                        <li data-kind=kind data-task=task class:bad=bad class:good=good
                            data-model=data.model data-ms=data.ms data-downloaded=data.downloaded
                            data-cached=data.cached data-done=data.done data-total=data.total
                            data-step=data.step data-steps=data.steps>
                            <time>{entry.at.clone()}</time>
                            <span>{describe(&entry.activity)}</span>
                        </li>
                    }
                }).collect_view())}
            </ol>
            {move || store.log.with(|l| l.entries.is_empty()).then(|| view! {
                <p class="hint">"Nothing yet."</p>
            })}
            <h3>"This session"</h3>
            {move || {
                let history = store.log.with(|l| l.history.clone());
                if history.is_empty() {
                    return view! { <p class="hint">"No task finished yet."</p> }.into_any();
                }
                view! {
                    <div class="scroll">
                        <table data-testid="session-history">
                            <thead><tr><th>"Task"</th><th>"Inference"</th><th>"Outcome"</th></tr></thead>
                            <tbody>
                                {history.into_iter().map(|h| view! {
                                    <tr data-task=h.task.clone()>
                                        <td><a href=format!("#/task/{}", h.task)>"#" {h.task.clone()}</a></td>
                                        <td>{h.ms.map(duration).unwrap_or_else(|| "—".into())}</td>
                                        <td>{h.outcome}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}
        </section>
    }
}
