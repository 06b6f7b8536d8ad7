//! The HTTP API: [`app`] builds the router over an [`AppState`].
//!
//! | method and path | who | what |
//! |---|---|---|
//! | `GET /health` | anyone | database reachable, last chain block applied |
//! | `GET /metrics` | anyone | Prometheus counters |
//! | `PUT /v1/tasks/{id}/args` | the task's creator | store arguments whose keccak256 is the task hash |
//! | `GET /v1/tasks/{id}/args` | creator, selected nodes | the arguments |
//! | `POST /v1/tasks/{id}/results` | the uploader the contract named | multipart `0.png`, `1.png`… (or `0.json`…) whose score equals the revealed one |
//! | `GET /v1/tasks/{id}/results` | creator, selected nodes | the result files' names, hashes, sizes |
//! | `GET /v1/tasks/{id}/results/{name}` | creator, selected nodes | one result file |
//! | `GET /v1/models` | anyone | models by name, their files' paths, SHA-256 and sizes |
//! | `PUT /v1/models/files?model=…&path=…` | configured publishers | one model file, streamed |
//! | `GET /v1/blobs/{sha256}` | anyone | a model file by content hash, with `Range` support |
//!
//! Signed requests follow [`relay_api::auth`]. Errors are JSON `{"error": {"code", "message"}}`
//! with a 4xx status for anything the caller can fix.

mod error;
mod models;
pub mod range;
mod tasks;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use alloy_primitives::{Address, B256};
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use error::ApiError;

use relay_api::Health;

use crate::blob::BlobStore;
use crate::chain::{TaskChain, TaskId, TaskView};
use crate::config::Limits;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::replay::ReplayGuard;
use relay_api::auth::{self, AuthError, Nonce, RequestToSign};

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

struct Shared {
    db: Box<dyn Db>,
    blobs: Box<dyn BlobStore>,
    chain: Arc<dyn TaskChain>,
    limits: Limits,
    model_publishers: Vec<Address>,
    replay: ReplayGuard,
    metrics: Metrics,
    /// TEST ONLY: while this file exists, PNG result downloads are altered.
    tamper_results_flag: Option<std::path::PathBuf>,
}

impl AppState {
    /// Assembles the state from its parts.
    pub fn new(
        db: Box<dyn Db>,
        blobs: Box<dyn BlobStore>,
        chain: Arc<dyn TaskChain>,
        limits: Limits,
        model_publishers: Vec<Address>,
    ) -> Self {
        Self(Arc::new(Shared {
            db,
            blobs,
            chain,
            limits,
            model_publishers,
            replay: ReplayGuard::default(),
            metrics: Metrics::default(),
            tamper_results_flag: None,
        }))
    }

    /// **TEST ONLY.** While a file exists at `flag`, result downloads of PNG images serve
    /// an altered copy (colours inverted), as a dishonest relay would: end-to-end tests use
    /// it to check that clients notice. Call right after [`AppState::new`]; `None` is off.
    pub fn with_test_only_tamper_results_flag(mut self, flag: Option<std::path::PathBuf>) -> Self {
        match Arc::get_mut(&mut self.0) {
            Some(shared) => shared.tamper_results_flag = flag,
            None => {
                tracing::error!("the tamper flag must be set before the state is shared");
            }
        }
        self
    }

    /// Whether result downloads are to be altered now (test only).
    fn tampering(&self) -> bool {
        self.0
            .tamper_results_flag
            .as_deref()
            .is_some_and(std::path::Path::exists)
    }

    /// The relay's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The task as the chain has it, or 404 naming how far the relay has synced.
    fn task(&self, id: TaskId) -> Result<TaskView, ApiError> {
        self.0.chain.task(id).ok_or_else(|| {
            let synced = self
                .0
                .chain
                .synced_block()
                .map_or_else(|| "no block yet".to_owned(), |b| format!("block {b}"));
            ApiError::not_found(
                "unknown_task",
                format!("task {id} is not on chain (the relay has applied events up to {synced})"),
            )
        })
    }

    /// Checks a signed request's headers against the body hash and returns the signer.
    fn authenticate(
        &self,
        method: &Method,
        target: &str,
        headers: &HeaderMap,
        body_sha256: B256,
    ) -> Result<Address, AuthError> {
        let get = |name: &'static str| -> Result<&str, AuthError> {
            headers
                .get(name)
                .ok_or(AuthError::MissingHeader(name))?
                .to_str()
                .map_err(|_| AuthError::Malformed {
                    header: name,
                    reason: "not visible ASCII".into(),
                })
        };
        let address = auth::parse_address(get(auth::ADDRESS_HEADER)?)?;
        let timestamp = auth::parse_timestamp(get(auth::TIMESTAMP_HEADER)?)?;
        let nonce = Nonce::parse(get(auth::NONCE_HEADER)?)?;
        let signature = auth::parse_signature(get(auth::SIGNATURE_HEADER)?)?;
        let window = self.0.limits.signature_window_secs;
        let now = unix_now();
        auth::check_timestamp(timestamp, now, window)?;
        RequestToSign {
            chain_id: self.0.chain.chain_id(),
            method: method.as_str(),
            path: target,
            body_sha256,
            timestamp,
            nonce: &nonce,
        }
        .verify(address, &signature)?;
        self.0
            .replay
            .remember(address, &nonce, timestamp.saturating_add(window), now)?;
        Ok(address)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn target(parts: &Parts) -> &str {
    parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str())
}

/// A buffered request body and the address that signed it (with the body's hash).
pub(crate) struct Signed {
    pub(crate) signer: Address,
    pub(crate) body: Bytes,
}

impl FromRequest<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        // Refuse a request without the headers before reading its body.
        if !parts.headers.contains_key(auth::SIGNATURE_HEADER) {
            return Err(AuthError::MissingHeader(auth::SIGNATURE_HEADER).into());
        }
        let limit_hint = parts.extensions.get::<BodyLimit>().map(|l| l.0);
        let body = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    let limit = limit_hint.map_or_else(String::new, |l| format!(" of {l} bytes"));
                    ApiError::too_large(format!("request body is larger than the limit{limit}"))
                } else {
                    ApiError::bad_request("body_read_failed", rejection.body_text())
                }
            })?;
        let signer = state.authenticate(
            &parts.method,
            target(&parts),
            &parts.headers,
            auth::body_sha256(&body),
        )?;
        Ok(Self { signer, body })
    }
}

/// A streamed upload's signer and the body hash it signed (`x-tessera-body-sha256`); the
/// handler must check the body against that hash.
pub(crate) struct SignedStream {
    pub(crate) signer: Address,
    pub(crate) body_sha256: B256,
}

impl FromRequestParts<AppState> for SignedStream {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let declared = parts
            .headers
            .get(auth::BODY_SHA256_HEADER)
            .ok_or(AuthError::MissingHeader(auth::BODY_SHA256_HEADER))?
            .to_str()
            .unwrap_or_default();
        let body_sha256 = auth::parse_hash(auth::BODY_SHA256_HEADER, declared)?;
        let signer =
            state.authenticate(&parts.method, target(parts), &parts.headers, body_sha256)?;
        Ok(Self {
            signer,
            body_sha256,
        })
    }
}

/// The body limit in force on a route, for error messages.
#[derive(Debug, Clone, Copy)]
struct BodyLimit(usize);

/// Parses a task id from the path.
fn task_id(raw: &str) -> Result<TaskId, ApiError> {
    raw.parse()
        .map_err(|e: String| ApiError::bad_request("bad_task_id", e))
}

/// Builds the relay's router.
pub fn app(state: AppState) -> Router {
    let limits = state.0.limits.clone();
    let limited = |limit: usize| {
        tower::ServiceBuilder::new()
            .layer(DefaultBodyLimit::max(limit))
            .layer(axum::Extension(BodyLimit(limit)))
    };
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::PUT, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::RANGE,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static(auth::ADDRESS_HEADER),
            header::HeaderName::from_static(auth::TIMESTAMP_HEADER),
            header::HeaderName::from_static(auth::NONCE_HEADER),
            header::HeaderName::from_static(auth::SIGNATURE_HEADER),
            header::HeaderName::from_static(auth::BODY_SHA256_HEADER),
        ])
        .expose_headers([
            header::CONTENT_RANGE,
            header::ACCEPT_RANGES,
            header::ETAG,
            header::CONTENT_LENGTH,
        ]);
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route(
            "/v1/tasks/{task}/args",
            put(tasks::put_args)
                .get(tasks::get_args)
                .layer(limited(limits.max_args_bytes)),
        )
        .route(
            "/v1/tasks/{task}/results",
            post(tasks::post_results)
                .get(tasks::list_results)
                .layer(limited(limits.max_result_bytes)),
        )
        .route(
            "/v1/tasks/{task}/results/{name}",
            get(tasks::get_result_file).layer(limited(0)),
        )
        .route("/v1/models", get(models::list))
        .route(
            "/v1/models/files",
            put(models::put_file).layer(DefaultBodyLimit::disable()),
        )
        .route("/v1/blobs/{sha256}", get(models::get_blob))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(cors)
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> Response {
    let synced_block = state.0.chain.synced_block();
    let (status, code) = match state.0.db.ping().await {
        Ok(()) => ("ok", StatusCode::OK),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            ("database unreachable", StatusCode::SERVICE_UNAVAILABLE)
        }
    };
    let body = Health {
        status: status.to_owned(),
        synced_block,
    };
    (code, Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        state.0.metrics.render(state.0.chain.synced_block()),
    )
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found("no_route", format!("no route for {method} {}", uri.path()))
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
    .into_response()
}

/// Counts every request by route and status.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(req).await;
    state.0.metrics.observe(
        method.as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Blobs up to this size are read whole rather than streamed.
const SMALL_BLOB: u64 = 1 << 20;

/// Serves a stored blob with its hash as `ETag`, honouring `If-None-Match` and `Range`.
async fn serve_blob(
    state: &AppState,
    request_headers: &HeaderMap,
    sha256: B256,
    size: u64,
    content_type: &str,
    cache_control: &'static str,
) -> Result<Response, ApiError> {
    let etag = format!("\"{}\"", hex::encode(sha256));
    let mut headers = HeaderMap::new();
    let value = |s: &str| HeaderValue::from_str(s).expect("ASCII header value");
    headers.insert(header::ETAG, value(&etag));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CONTENT_TYPE, value(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let header_str = |name| request_headers.get(name).and_then(|v| v.to_str().ok());
    if header_str(header::IF_NONE_MATCH)
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    // A stale `If-Range` asks for the whole content.
    let range_header = match header_str(header::IF_RANGE) {
        Some(tag) if tag.trim() != etag => None,
        _ => header_str(header::RANGE),
    };
    match range::parse(range_header, size) {
        range::RangeRequest::Full => {
            headers.insert(header::CONTENT_LENGTH, value(&size.to_string()));
            // Small files in one read; large ones streamed.
            let body = if size <= SMALL_BLOB {
                Body::from(state.0.blobs.get(sha256).await?)
            } else {
                Body::from_stream(state.0.blobs.get_range(sha256, 0..size).await?)
            };
            Ok((StatusCode::OK, headers, body).into_response())
        }
        range::RangeRequest::Partial(range) => {
            headers.insert(
                header::CONTENT_RANGE,
                value(&format!("bytes {}-{}/{size}", range.start, range.end - 1)),
            );
            headers.insert(
                header::CONTENT_LENGTH,
                value(&(range.end - range.start).to_string()),
            );
            let body = state.0.blobs.get_range(sha256, range).await?;
            Ok((
                StatusCode::PARTIAL_CONTENT,
                headers,
                Body::from_stream(body),
            )
                .into_response())
        }
        range::RangeRequest::Unsatisfiable => {
            headers.insert(header::CONTENT_RANGE, value(&format!("bytes */{size}")));
            Ok((StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response())
        }
    }
}
