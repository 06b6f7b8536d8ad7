//! The verification report: for each returned file its recomputed fingerprint, each
//! node's revealed value and distance against the threshold, each seat's commitment
//! check, the independent similarity measure, and the verdict.

use leptos::prelude::*;
use verifier::report::{Report, SeatRecord, Verdict};

use crate::format::short;

/// A returned file as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct FileView {
    /// Its name.
    pub name: String,
    /// A blob URL of the image, for images.
    pub url: Option<String>,
    /// The generated text, for LLM result files.
    pub text: Option<Vec<String>>,
    /// The independent `image_hasher` similarity hash.
    pub similarity: Option<String>,
    /// Bits between this similarity hash and the one this browser saw when it first
    /// verified the task, if it had.
    pub first_seen: Option<u32>,
    /// Microseconds its hashing took in the worker.
    pub micros: u64,
}

/// The verdict's class and words.
pub fn verdict_words(verdict: Verdict) -> (&'static str, &'static str) {
    match verdict {
        Verdict::Verified => (
            "verified",
            "Verified: every file is what the nodes committed to on chain",
        ),
        Verdict::Failed => (
            "failed",
            "Verification failed: what the relay served does not match the chain",
        ),
        Verdict::Incomplete => ("incomplete", "Not verifiable yet"),
    }
}

fn tick(ok: Option<bool>) -> (&'static str, &'static str) {
    match ok {
        Some(true) => ("ok", "✓"),
        Some(false) => ("bad", "✗"),
        None => ("none", "–"),
    }
}

/// The whole report.
#[component]
pub fn ReportView(
    /// The verdict and every check behind it.
    report: Report,
    /// The returned files, as hashed here.
    files: Vec<FileView>,
    /// The seats' records on chain.
    seats: Vec<SeatRecord>,
    /// Wall-clock milliseconds the hashing took.
    millis: f64,
) -> impl IntoView {
    let (class, words) = verdict_words(report.verdict);
    let threshold = report.threshold;
    let image = files.iter().any(|f| f.url.is_some());
    let block = if image { 8 } else { 32 };
    let count = report.files.len();
    let file_cards = report
        .files
        .iter()
        .enumerate()
        .map(|(i, check)| {
            let view_file = files.get(i).cloned();
            let distances = check.distances.clone();
            let per_seat = seats
                .iter()
                .enumerate()
                .map(|(s, seat)| {
                    let revealed = seat
                        .revealed
                        .as_deref()
                        .and_then(|r| r.chunks(block).nth(i))
                        .map(verifier::hex::encode);
                    let distance = distances.get(s).copied().flatten();
                    let agrees = distance.map(|d| if image { d < threshold } else { d == 0 });
                    let (cls, mark) = tick(agrees);
                    view! {
                        <tr>
                            <td><code title=seat.node.clone()>{short(&seat.node)}</code></td>
                            <td><code>{revealed.unwrap_or_else(|| "not revealed".into())}</code></td>
                            <td class=cls>
                                {match distance {
                                    Some(d) if image => format!("{d} bits {} {threshold} {mark}", if d < threshold { "<" } else { "≥" }),
                                    Some(0) => format!("equal {mark}"),
                                    Some(_) => format!("different {mark}"),
                                    None => "–".into(),
                                }}
                            </td>
                        </tr>
                    }
                })
                .collect_view();
            let (match_class, match_mark) = tick(Some(check.matches_settled));
            view! {
                <article class="file" data-testid="file-check" data-matches=check.matches_settled.to_string()>
                    {view_file.as_ref().and_then(|f| f.url.clone()).map(|url| view! {
                        <img src=url alt=format!("result {}", check.name) loading="lazy"/>
                    })}
                    {view_file.as_ref().and_then(|f| f.text.clone()).map(|texts| view! {
                        <div class="llm-text" data-testid="llm-text">
                            {texts.into_iter().map(|t| view! { <p>{t}</p> }).collect_view()}
                        </div>
                    })}
                    <h4>{check.name.clone()}</h4>
                    <dl>
                        <dt>{if image { "Recomputed pHash" } else { "Recomputed SHA-256" }}</dt>
                        <dd><code data-testid="fingerprint">{check.fingerprint.clone().or(check.error.clone()).unwrap_or_default()}</code></dd>
                        <dt>"Settled on chain"</dt>
                        <dd><code>{check.settled.clone().unwrap_or_else(|| "–".into())}</code>
                            " " <span class=match_class>{match_mark}</span></dd>
                        <dt>"SHA-256"</dt>
                        <dd><code data-testid="sha256">{check.sha256.clone()}</code></dd>
                        {view_file.as_ref().and_then(|f| f.similarity.clone()).map(|sim| {
                            let first = view_file.as_ref().and_then(|f| f.first_seen);
                            view! {
                                <dt>"image_hasher (independent)"</dt>
                                <dd><code class="small">{sim}</code>
                                    {first.map(|d| view! {
                                        <span class=if d <= 12 { "ok" } else { "bad" } data-testid="first-seen">
                                            {format!(" {d} of 144 bits from the copy first verified here")}
                                        </span>
                                    })}
                                </dd>
                            }
                        })}
                    </dl>
                    <table class="seats">
                        <thead><tr><th>"Node"</th><th>"Revealed"</th><th>{if image { "Distance" } else { "Digest" }}</th></tr></thead>
                        <tbody>{per_seat}</tbody>
                    </table>
                </article>
            }
        })
        .collect_view();
    let seat_rows = report
        .seats
        .iter()
        .zip(seats.iter())
        .map(|(check, seat)| {
            let (c_class, c_mark) = tick(check.commitment_valid);
            let (a_class, a_mark) = tick(check.agrees_with_files);
            view! {
                <tr data-testid="seat" data-commitment-valid=format!("{:?}", check.commitment_valid)
                    data-agrees=format!("{:?}", check.agrees_with_files) data-node=check.node.to_lowercase()>
                    <td><code title=check.node.clone()>{short(&check.node)}</code></td>
                    <td><code class="small">{seat.commitment.map(|c| short(&verifier::hex::encode(c))).unwrap_or_else(|| "–".into())}</code></td>
                    <td><code class="small">{seat.nonce.map(|n| short(&verifier::hex::encode(n))).unwrap_or_else(|| "–".into())}</code></td>
                    <td class=c_class>{c_mark}</td>
                    <td class=a_class>{a_mark}</td>
                    <td>{check.max_distance.map(|d| d.to_string()).unwrap_or_else(|| "–".into())}</td>
                </tr>
            }
        })
        .collect_view();
    let problems = report.problems.clone();
    view! {
        <section class="report">
            <div class=format!("verdict {class}") data-testid="verdict" data-verdict=class role="status">
                <strong>{words}</strong>
                {(!problems.is_empty()).then(|| view! {
                    <ul class="problems">{problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                })}
            </div>
            <p class="hint">
                {format!(
                    "{count} file(s) hashed in {millis:.0} ms in web workers; threshold: blocks agree below {threshold} differing bits."
                )}
            </p>
            <p class="hint" data-testid="bytes-match">
                {match report.bytes_match {
                    Some(true) => "The files' bytes are the ones the uploader committed to on chain (their SHA-256 digest matches).",
                    Some(false) => "The files' bytes are NOT the ones the uploader committed to on chain.",
                    None => "No files digest is settled on chain yet.",
                }}
            </p>
            <h3>"Each node's commitment"</h3>
            <div class="scroll">
                <table class="seats" data-testid="seats">
                    <thead><tr>
                        <th>"Node"</th><th>"Commitment"</th><th>"Nonce"</th>
                        <th title="keccak256(score ‖ nonce) equals the on-chain commitment">"keccak256(score‖nonce) ="</th>
                        <th>"Agrees with files"</th><th>"Max distance"</th>
                    </tr></thead>
                    <tbody>{seat_rows}</tbody>
                </table>
            </div>
            <h3>"Each file"</h3>
            <div class="files">{file_cards}</div>
        </section>
    }
}
