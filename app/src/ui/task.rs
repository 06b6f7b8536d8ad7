//! The Task page: live timeline from chain events, the results, and the verification
//! report computed in this browser.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use alloy::primitives::U256;
use contracts::TaskManager::{self, TaskState};
use leptos::prelude::*;
use leptos::task::spawn_local;
use verifier::report::{Report, SeatRecord, Verdict, assemble};
use verifier::score::ScoreKind;

use super::Ctx;
use super::report::{FileView, ReportView};
use super::timeline::Timeline;
use crate::config::AppConfig;
use crate::error::AppError;
use requester::record::{chain_record, is_final, score_kind};

use crate::format::cnx;
use crate::timeline::{TimelineItem, state_words, timeline};
use crate::verify::{llm_text, similarity_distance};
use crate::wallet::Wallet;
use crate::{chain, hashing, js, requests};

/// Where the verification stands.
#[derive(Debug, Clone, PartialEq)]
enum Check {
    /// Not started.
    Idle,
    /// Doing something (words).
    Busy(String),
    /// Done.
    Done {
        report: Report,
        files: Vec<FileView>,
        seats: Vec<SeatRecord>,
        millis: f64,
    },
    /// The results are private and no wallet is connected: nothing failed.
    Private,
    /// Could not be done.
    Failed(String),
}

/// The Task page.
#[component]
pub fn TaskPage(id: U256) -> impl IntoView {
    let ctx = Ctx::get();
    let task = RwSignal::new(None::<TaskManager::Task>);
    let items = RwSignal::new(Vec::<TimelineItem>::new());
    let threshold = RwSignal::new(None::<u64>);
    let load_error = RwSignal::new(None::<String>);
    let check = RwSignal::new(Check::Idle);
    let steps = RwSignal::new(None::<requester::Steps>);
    let pending = RwSignal::new(
        ctx.config_now()
            .ok()
            .and_then(|c| requests::pending_for(&c, id)),
    );
    let resuming = RwSignal::new(false);
    let alive = Arc::new(AtomicBool::new(true));
    {
        let alive = alive.clone();
        on_cleanup(move || alive.store(false, Ordering::Relaxed));
    }

    // Poll the chain until the task is final (then once more for late payments).
    if let Ok(config) = ctx.config_now() {
        let alive = alive.clone();
        spawn_local(async move {
            let reader = match chain::reader(&config) {
                Ok(reader) => reader,
                Err(e) => return load_error.set(Some(e.to_string())),
            };
            let mut final_polls = 0;
            while alive.load(Ordering::Relaxed) && final_polls < 2 {
                if threshold.get_untracked().is_none()
                    && let Ok(params) = reader.params().await
                {
                    threshold.set(Some(params.similarityThreshold));
                }
                match reader.task(id).await {
                    Ok(t) => {
                        load_error.set(None);
                        if is_final(t.state) {
                            final_polls += 1;
                        }
                        // The seats' own word on their progress, while they run the task.
                        if t.state == TaskState::RUNNING {
                            if let Ok(Some(now)) = reader.steps(id, t.seats.len()).await {
                                steps.set(Some(now));
                            }
                        } else if steps.get_untracked().is_some() {
                            steps.set(None);
                        }
                        task.set(Some(t));
                    }
                    Err(e) => load_error.set(Some(AppError::from(e).to_string())),
                }
                if let Ok(history) = reader.history(id).await {
                    items.set(timeline(&history));
                }
                maybe_verify(ctx, &config, id, task, threshold, check);
                js::sleep(1000).await;
            }
        });
    }
    // A wallet connected later verifies again what could not be read without one (a
    // private task's results).
    Effect::new(move |_| {
        if ctx.wallet.with(Option::is_some)
            && let Ok(config) = ctx.config_now()
        {
            if matches!(check.get_untracked(), Check::Failed(_) | Check::Private) {
                check.set(Check::Idle);
            }
            maybe_verify(ctx, &config, id, task, threshold, check);
        }
    });

    let resume = move |_| {
        let (Ok(config), Ok(wallet)) = (ctx.config_now(), ctx.wallet_now()) else {
            ctx.notice.set(Some(AppError::NoWallet(
                "Connect the wallet that created this task to finish submitting it.".into(),
            )));
            return;
        };
        resuming.set(true);
        spawn_local(async move {
            match requests::resume(&config, &wallet, id).await {
                Ok(()) => {
                    pending.set(None);
                    ctx.notice.set(None);
                }
                Err(e) => ctx.notice.set(Some(e)),
            }
            resuming.set(false);
        });
    };

    view! {
        <section class="card">
            <h1>"Task " {id.to_string()}</h1>
            {move || load_error.get().map(|e| view! { <p class="error" data-testid="task-error">{e}</p> })}
            {move || task.get().map(|t| {
                let kind = if score_kind(t.request.taskType) == ScoreKind::Image { "Images" } else { "Text" };
                view! {
                    <dl class="summary">
                        <dt>"State"</dt>
                        <dd><span class=format!("badge state-{}", t.state) data-testid="task-state">{TaskState::name(t.state)}</span>
                            " " {state_words(t.state)}
                            {move || steps.get().map(|s| view! {
                                <span class="steps" data-testid="task-steps"
                                    title="As the nodes report it to the relay; nothing is verified by this">
                                    " · " {s.to_string()}
                                    <progress max=s.steps.to_string() value=s.step.to_string()></progress>
                                </span>
                            })}
                        </dd>
                        <dt>"Kind"</dt><dd>{kind} " · " {t.request.modelIds.join(", ")}</dd>
                        <dt>"Fee"</dt><dd>{cnx(t.fee)} " CNX"</dd>
                        <dt>"Creator"</dt><dd><code>{t.creator.to_string()}</code></dd>
                        <dt>"Task hash"</dt><dd><code>{t.request.taskHash.to_string()}</code></dd>
                    </dl>
                }
            })}
            {move || pending.get().map(|_| view! {
                <div class="banner info">
                    "This browser holds this task's secret: the seed reveal or the argument upload did not finish."
                    <button data-testid="resume" disabled=move || resuming.get() on:click=resume>
                        {move || if resuming.get() { "Finishing…" } else { "Finish submitting" }}
                    </button>
                </div>
            })}
            {move || {
                let state = task.with(|t| t.as_ref().map_or(0, |t| t.state));
                view! { <Timeline items=items.get() state=state/> }
            }}
        </section>
        <section class="card">
            <h2>"Results and verification"</h2>
            {move || match check.get() {
                Check::Idle => {
                    let state = task.with(|t| t.as_ref().map_or(0, |t| t.state));
                    let words = if state == TaskState::ABORTED {
                        "The task was aborted: there are no results. Unspent fees were refunded (see the timeline)."
                    } else if state == TaskState::SUCCESS {
                        "The results are about to be downloaded and verified in this browser."
                    } else {
                        "Results appear here once the nodes agree and the files are uploaded."
                    };
                    view! { <p class="hint" data-testid="results-waiting">{words}</p> }.into_any()
                }
                Check::Busy(words) => view! {
                    <p class="progress" data-testid="verifying"><span class="spinner"></span>{words}</p>
                }.into_any(),
                Check::Private => view! {
                    <p class="hint" data-testid="results-private">
                        "This task's results are private. Connect the wallet that created it to download and verify them."
                    </p>
                }.into_any(),
                Check::Failed(e) => view! {
                    <div class="banner bad" data-testid="verify-error">{e}
                        <button on:click=move |_| check.set(Check::Idle)>"Retry"</button>
                    </div>
                }.into_any(),
                Check::Done { report, files, seats, millis } => view! {
                    <ReportView report=report files=files seats=seats millis=millis/>
                    <button class="link" data-testid="reverify" on:click=move |_| check.set(Check::Idle)>"Verify again"</button>
                }.into_any(),
            }}
        </section>
    }
}

/// Starts the verification when the task succeeded and nothing is running yet: with the
/// connected wallet's signature, or with none (a public task's results, for anyone who
/// has the link).
fn maybe_verify(
    ctx: Ctx,
    config: &AppConfig,
    id: U256,
    task: RwSignal<Option<TaskManager::Task>>,
    threshold: RwSignal<Option<u64>>,
    check: RwSignal<Check>,
) {
    let Some(t) = task.get_untracked() else {
        return;
    };
    let Some(threshold) = threshold.get_untracked() else {
        return;
    };
    let wallet = ctx.wallet.get_untracked();
    if t.state != TaskState::SUCCESS || check.get_untracked() != Check::Idle {
        return;
    }
    check.set(Check::Busy(
        "Downloading the results from the relay…".into(),
    ));
    let config = config.clone();
    spawn_local(async move {
        match verify(&config, wallet.as_ref(), id, &t, threshold, check).await {
            Ok(done) => check.set(done),
            Err(e) => check.set(Check::Failed(e.to_string())),
        }
    });
}

async fn verify(
    config: &AppConfig,
    wallet: Option<&Wallet>,
    id: U256,
    task: &TaskManager::Task,
    threshold: u64,
    check: RwSignal<Check>,
) -> Result<Check, AppError> {
    let kind = score_kind(task.request.taskType);
    let reader = crate::chain::reader(config)?;
    let appeal = reader.appeal_state(id).await?;
    let progress = |name: &str, i: usize, count: usize| {
        check.set(Check::Busy(format!(
            "Downloading {name} ({} of {count})…",
            i + 1
        )));
    };
    // Unsigned first: a public task's results cost its viewer no wallet prompt; a private
    // one's are read signed by the connected wallet, if it is a party.
    let files = match reader.public_results(id, progress).await {
        Ok(files) => files,
        Err(requester::Error::Relay(e)) if e.code() == Some("private_results") => match wallet {
            Some(wallet) => {
                requests::requester(config, wallet)?
                    .results(id, progress)
                    .await?
            }
            None => return Ok(Check::Private),
        },
        Err(e) => return Err(e.into()),
    };
    check.set(Check::Busy(format!(
        "Hashing {} file(s) in web workers…",
        files.len()
    )));
    let (hashes, millis) = hashing::hash_files(kind, &files)
        .await
        .map_err(AppError::Other)?;
    let record = chain_record(task, threshold, appeal);
    let returned: Vec<_> = hashes.iter().map(|h| h.returned()).collect();
    let report = assemble(&record, &returned);
    let prefix = format!("{}:similarity:{id}", config.storage_prefix());
    let views = files
        .iter()
        .zip(&hashes)
        .map(|((name, bytes), hash)| {
            let first_seen = hash.similarity.as_ref().and_then(|now| {
                let key = format!("{prefix}:{name}");
                match js::load(&key) {
                    Some(before) => similarity_distance(&before, now),
                    None => {
                        // Remember only a copy that verified, as the baseline.
                        if report.verdict == Verdict::Verified {
                            js::save(&key, now);
                        }
                        None
                    }
                }
            });
            FileView {
                name: name.clone(),
                url: (kind == ScoreKind::Image)
                    .then(|| blob_url(bytes, "image/png"))
                    .flatten(),
                text: (kind == ScoreKind::Text)
                    .then(|| llm_text(bytes).unwrap_or_else(|e| vec![format!("({e})")])),
                similarity: hash.similarity.clone(),
                first_seen,
                micros: hash.micros,
            }
        })
        .collect();
    Ok(Check::Done {
        report,
        files: views,
        seats: record.seats,
        millis,
    })
}

/// A `blob:` URL for bytes, to show an image without another download.
pub fn blob_url(bytes: &[u8], content_type: &str) -> Option<String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(content_type);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}
