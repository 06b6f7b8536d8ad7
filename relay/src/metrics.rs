//! Counters exposed at `/metrics` in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The relay's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Timing>>,
    /// Task arguments accepted.
    pub args_accepted: AtomicU64,
    /// Result sets accepted.
    pub results_accepted: AtomicU64,
    /// Result uploads refused because the recomputed score differed.
    pub results_score_mismatch: AtomicU64,
    /// Model files accepted.
    pub model_files_accepted: AtomicU64,
    /// Bytes accepted into the blob store.
    pub bytes_stored: AtomicU64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Timing {
    count: u64,
    seconds: f64,
}

impl Metrics {
    /// Records one finished request.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let timing = requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default();
        timing.count += 1;
        timing.seconds += elapsed.as_secs_f64();
    }

    /// Adds to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, synced_block: Option<u64>) -> String {
        let mut out = String::new();
        out.push_str("# TYPE relay_http_requests_total counter\n");
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for ((method, route, status), t) in &requests {
            let _ = writeln!(
                out,
                "relay_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                t.count
            );
        }
        out.push_str("# TYPE relay_http_request_duration_seconds_sum counter\n");
        for ((method, route, status), t) in &requests {
            let _ = writeln!(
                out,
                "relay_http_request_duration_seconds_sum{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                t.seconds
            );
        }
        for (name, counter) in [
            ("relay_args_accepted_total", &self.args_accepted),
            ("relay_results_accepted_total", &self.results_accepted),
            (
                "relay_results_score_mismatch_total",
                &self.results_score_mismatch,
            ),
            (
                "relay_model_files_accepted_total",
                &self.model_files_accepted,
            ),
            ("relay_bytes_stored_total", &self.bytes_stored),
        ] {
            let _ = writeln!(
                out,
                "# TYPE {name} counter\n{name} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        if let Some(block) = synced_block {
            let _ = writeln!(
                out,
                "# TYPE relay_chain_synced_block gauge\nrelay_chain_synced_block {block}"
            );
        }
        out
    }
}
