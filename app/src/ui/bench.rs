//! `#/bench`: hashes `bench/0.png` … (served by `cargo xtask bench app`) in the web
//! workers, as the Task page does, and shows the time. The benchmark reads
//! `[data-testid=bench-result]`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use verifier::score::ScoreKind;

use crate::{hashing, js};

/// The benchmark page.
#[component]
pub fn BenchPage() -> impl IntoView {
    let result = RwSignal::new(None::<Result<(usize, f64, usize), String>>);
    spawn_local(async move {
        let outcome = async {
            let mut files = Vec::new();
            for i in 0..10 {
                let response = gloo_net::http::Request::get(&format!("bench/{i}.png"))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !response.ok() {
                    break;
                }
                files.push((
                    format!("{i}.png"),
                    response.binary().await.map_err(|e| e.to_string())?,
                ));
            }
            // A warm-up run starts the workers and compiles their wasm, as a page that has
            // verified once has.
            hashing::hash_files(ScoreKind::Image, &files[..files.len().min(1)]).await?;
            let started = js::now_ms();
            let (hashes, _) = hashing::hash_files(ScoreKind::Image, &files).await?;
            let ok = hashes.iter().filter(|h| h.fingerprint.is_ok()).count();
            Ok::<_, String>((files.len(), js::now_ms() - started, ok))
        }
        .await;
        result.set(Some(outcome));
    });
    view! {
        <section class="card">
            <h1>"Verification benchmark"</h1>
            {move || match result.get() {
                None => view! { <p class="loading"><span class="spinner"></span>"Hashing…"</p> }.into_any(),
                Some(Ok((n, ms, ok))) => view! {
                    <p data-testid="bench-result" data-files=n.to_string() data-ms=format!("{ms:.1}") data-ok=ok.to_string()>
                        {format!("{n} images hashed in {ms:.1} ms ({ok} ok)")}
                    </p>
                }.into_any(),
                Some(Err(e)) => {
                    let shown = e.clone();
                    view! { <p class="error" data-testid="bench-result" data-error=e>{shown}</p> }.into_any()
                }
            }}
        </section>
    }
}
