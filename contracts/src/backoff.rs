//! Exponential back-off for JSON-RPC requests an endpoint refuses for its rate.
//!
//! alloy's `RetryBackoffLayer` waits a fixed time between retries (plus a queue offset); a
//! public endpoint that keeps answering 429 is then asked again at the same pace. Here each
//! retry of a request waits twice as long as the one before (with jitter, so that many
//! clients refused at once do not return at once), up to a cap, unless the endpoint said
//! how long to wait. What counts as a rate-limit refusal is alloy's
//! `RateLimitRetryPolicy` (HTTP 429, 503, and the error bodies public endpoints send).

use std::task::{Context, Poll};
use std::time::Duration;

use alloy::rpc::json_rpc::{RequestPacket, ResponsePacket};
use alloy::transports::layers::{RateLimitRetryPolicy, RetryPolicy};
use alloy::transports::{TransportError, TransportErrorKind, TransportFut};
use tower::{Layer, Service};

/// How a request refused for the endpoint's rate is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The wait before the first retry; each later one doubles it.
    pub base: Duration,
    /// The longest wait.
    pub cap: Duration,
}

impl Backoff {
    /// The wait before retry `n` (0-based) without jitter: `base · 2ⁿ`, at most `cap`.
    pub fn delay(&self, n: u32) -> Duration {
        self.base
            .saturating_mul(2u32.saturating_pow(n.min(31)))
            .min(self.cap)
    }

    /// The wait before retry `n` with jitter: between half of [`Backoff::delay`] and all of it.
    fn jittered(&self, n: u32) -> Duration {
        let full = self.delay(n);
        let random = alloy::primitives::B256::random();
        let fraction = f64::from(u16::from_be_bytes([random[0], random[1]])) / f64::from(u16::MAX);
        full.mul_f64(0.5 + fraction / 2.0)
    }
}

impl<S> Layer<S> for Backoff {
    type Service = BackoffService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BackoffService {
            inner,
            backoff: *self,
        }
    }
}

/// The service [`Backoff`] wraps a transport in.
#[derive(Debug, Clone)]
pub struct BackoffService<S> {
    inner: S,
    backoff: Backoff,
}

impl<S> Service<RequestPacket> for BackoffService<S>
where
    S: Service<
            RequestPacket,
            Response = ResponsePacket,
            Error = TransportError,
            Future = TransportFut<'static>,
        > + Clone
        + Send
        + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        // The service that was polled ready serves this request; a clone stays for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let backoff = self.backoff;
        Box::pin(async move {
            let policy = RateLimitRetryPolicy::default();
            let mut retry = 0;
            loop {
                let error = match inner.call(request.clone()).await {
                    Ok(response) => match response.as_error() {
                        Some(e) => TransportError::ErrorResp(e.clone()),
                        None => return Ok(response),
                    },
                    Err(e) => e,
                };
                if !policy.should_retry(&error) {
                    return Err(error);
                }
                if retry >= backoff.retries {
                    return Err(TransportErrorKind::custom_str(&format!(
                        "the endpoint still refused after {retry} retries: {error}"
                    )));
                }
                let wait = policy
                    .backoff_hint(&error)
                    .unwrap_or_else(|| backoff.jittered(retry));
                retry += 1;
                sleep(wait).await;
            }
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
async fn sleep(duration: Duration) {
    tokio::time::sleep(duration).await;
}

#[cfg(target_arch = "wasm32")]
async fn sleep(duration: Duration) {
    wasmtimer::tokio::sleep(duration).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wait_doubles_up_to_the_cap() {
        let backoff = Backoff {
            retries: 10,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(30),
        };
        let waits: Vec<u64> = (0..10)
            .map(|n| backoff.delay(n).as_millis() as u64)
            .collect();
        assert_eq!(
            waits,
            [
                250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000
            ]
        );
        assert_eq!(backoff.delay(u32::MAX), backoff.cap);
        for n in 0..10 {
            let jittered = backoff.jittered(n);
            assert!(jittered >= backoff.delay(n) / 2 && jittered <= backoff.delay(n));
        }
    }
}
