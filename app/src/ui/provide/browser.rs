//! This browser's compute: the WebGPU adapter, cores and storage, the benchmark, and what
//! it can serve.

use leptos::prelude::*;
use worker_protocol::{Command, CommandKind};

use super::NodeStore;
use crate::format::mib;
use crate::provide::fit::{CPU_MODEL_LIMIT, backend_name, default_backend, task_kind, task_types};

/// This browser's compute, the benchmark, and what it can serve.
#[component]
pub(super) fn BrowserCard() -> impl IntoView {
    let store = NodeStore::get();
    let capability = move || match store.capability.get() {
        None => view! {
            <p class="loading"><span class="spinner"></span>"Looking at this browser's compute…"</p>
        }
        .into_any(),
        Some(c) => {
            let adapter_rows = match c.webgpu.clone() {
                Some(a) => view! {
                    <dt>"WebGPU adapter"</dt>
                    <dd><span data-testid="adapter-name">{a.name.clone()}</span>
                        {a.software.then(|| view! { " " <span class="badge bad">"software"</span> })}</dd>
                    <dt>"Largest storage binding"</dt>
                    <dd data-testid="max-binding">{mib(a.max_binding)} " MiB"</dd>
                    <dt>"Largest buffer"</dt>
                    <dd data-testid="max-buffer">{mib(a.max_buffer)} " MiB"</dd>
                    <dt>"shader-f16"</dt><dd>{if a.shader_f16 { "yes" } else { "no" }}</dd>
                    <dt>"Software adapter"</dt>
                    <dd>{if a.software { "yes: emulated on the CPU, slower here than the CPU backend" } else { "no" }}</dd>
                }
                .into_any(),
                None => view! {
                    <dt>"WebGPU adapter"</dt>
                    <dd><span data-testid="adapter-name">"none"</span></dd>
                    <dt>"Why"</dt>
                    <dd data-testid="webgpu-missing">
                        {c.webgpu_missing.clone().unwrap_or_else(|| "the browser offers no adapter".into())}
                        ". The CPU (wasm) fallback serves the tiny models only (under "
                        {mib(CPU_MODEL_LIMIT as f64)} " MiB)."
                    </dd>
                }
                .into_any(),
            };
            let storage = match (c.storage_usage, c.storage_quota) {
                (Some(used), Some(quota)) => {
                    format!("{} MiB used of {} MiB", mib(used), mib(quota))
                }
                (None, Some(quota)) => format!("{} MiB granted", mib(quota)),
                _ => "unknown".to_owned(),
            };
            let persistent = move || match store.persistent.get() {
                Some(true) => {
                    view! { <span data-testid="storage-persistent">"persistent"</span> }.into_any()
                }
                Some(false) => view! {
                    <span class="badge bad" data-testid="storage-persistent">"may be evicted"</span>
                    " The browser did not grant persistent storage: under storage pressure it may "
                    "clear this node's records, and a node that committed to a task could then "
                    "not reveal it (and lose stake). Bookmarking the site or installing it as an "
                    "app usually grants it."
                }
                .into_any(),
                None => {
                    view! { <span data-testid="storage-persistent">"not known"</span> }.into_any()
                }
            };
            view! {
                <dl class="summary">
                    {adapter_rows}
                    <dt>"CPU cores"</dt><dd>{c.cores}</dd>
                    <dt>"Storage for this site"</dt><dd>{storage}</dd>
                    <dt>"Kept under storage pressure"</dt><dd>{persistent}</dd>
                    <dt>"Commitments written"</dt>
                    <dd data-testid="write-durability">{c.write_durability.clone().unwrap_or_else(|| "unknown".into())}</dd>
                </dl>
            }
            .into_any()
        }
    };
    let task_types_view = move || match store.models.get() {
        None => view! { <p class="hint">"Reading the relay's models…"</p> }.into_any(),
        Some(Err(e)) => {
            view! { <p class="error">"The relay's models could not be read: " {e}</p> }.into_any()
        }
        Some(Ok(_)) => {
            let fits = store.fits();
            let known = store.capability.with(Option::is_some);
            let backend = store.backend();
            view! {
                    <h3>"What it can serve (" {backend_name(backend)} ")"</h3>
                    <ul class="task-types" data-testid="task-types">
                        {task_types(&fits).into_iter().map(|t| {
                            let ok = t.why_not.is_none();
                            view! {
                                <li class:ok=ok class:bad=!ok>
                                    <strong>{t.kind}</strong> ": "
                                    {match t.why_not {
                                        None => format!("yes, with {}", t.models.join(", ")),
                                        Some(why) => format!("no — {why}"),
                                    }}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    {(!known).then(|| view! { <p class="hint">"Sizes are checked once the browser is probed."</p> })}
                    <div class="scroll">
                        <table>
                            <thead><tr><th>"Model"</th><th>"Task"</th><th>"Size"</th><th>"Largest file"</th><th>"Here"</th></tr></thead>
                            <tbody>
                                {fits.into_iter().map(|f| {
                                    let ok = f.fits();
                                    view! {
                                        <tr data-model=f.name.clone()>
                                            <td>{f.name.clone()}</td>
                                            <td>{task_kind(f.layout)}</td>
                                            <td>{mib(f.size as f64)} " MiB"</td>
                                            <td>{mib(f.largest_file as f64)} " MiB"</td>
                                            <td class:ok=ok class:bad=!ok>
                                                {f.problem.unwrap_or_else(|| "fits".into())}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
        }
    };
    view! {
        <section class="card">
            <h2>"This browser"</h2>
            {capability}
            <div class="actions">
                <button data-testid="benchmark-button"
                        disabled=move || store.is_pending(CommandKind::Benchmark)
                        on:click=move |_| {
                            let backend = store.backend.get_untracked().unwrap_or_else(|| {
                                store.capability.with_untracked(|c| default_backend(c.as_ref()))
                            });
                            store.benchmark.set(None);
                            store.send(Command::Benchmark { backend });
                        }>
                    {move || format!("Run benchmark ({})", backend_name(store.backend()))}
                </button>
                {move || store.is_pending(CommandKind::Benchmark).then(|| view! {
                    <span class="progress"><span class="spinner"></span>"Timing the engine…"</span>
                })}
                {move || store.benchmark.get().map(|b| view! {
                    <span data-testid="benchmark-result" data-backend=backend_name(b.backend)
                          data-gflops=format!("{:.2}", b.gflops)>
                        {format!(
                            "{}: device ready in {:.0} ms; one {n}×{n} product in {:.1} ms: {:.2} GFLOP/s",
                            backend_name(b.backend), b.init_ms, b.matmul_ms, b.gflops, n = b.size
                        )}
                    </span>
                })}
            </div>
            {task_types_view}
        </section>
    }
}
