//! The HTTP API: [`app`] builds the router over an [`AppState`].
//!
//! | method and path | who | what |
//! |---|---|---|
//! | `GET /health` | anyone | database reachable, last chain block applied |
//! | `GET /metrics` | anyone | Prometheus counters |
//! | `PUT /v1/tasks/{id}/args?visibility=public\|private` | the task's creator | store arguments whose keccak256 is the task hash; results public (the default) or private |
//! | `GET /v1/tasks/{id}/args` | creator, selected nodes | the arguments |
//! | `POST /v1/tasks/{id}/results` | the uploader the contract named | multipart `0.png`, `1.png`… (or `0.json`…) whose score equals the revealed one |
//! | `GET /v1/tasks/{id}/results` | anyone (public task), else creator, selected nodes | the result files' names, hashes, sizes |
//! | `GET /v1/tasks/{id}/results/{name}` | anyone (public task), else creator, selected nodes | one result file |
//! | `GET /v1/models` | anyone | models by name, their files' paths, SHA-256 and sizes |
//! | `PUT /v1/models/files?model=…&path=…` | configured publishers | one model file, streamed |
//! | `GET /v1/blobs/{sha256}` | anyone | a model file by content hash, with `Range` support |
//! | `GET /openapi.json` | anyone | this API as an OpenAPI 3.1 document, generated from the handlers |
//!
//! Signed requests follow [`relay_api::auth`]: the signature, relay, timestamp and nonce are
//! checked from the headers before any body is read, the handler then checks the signer may
//! send it, and only then is the body read (within the route's limit, in a bounded number of
//! concurrent uploads per signer and in total) and checked against its signed hash.
//! Errors are JSON `{"error": {"code", "message"}}` with a 4xx status for anything the
//! caller can fix.

mod error;
mod models;
mod openapi;
mod progress;
pub mod range;
mod tasks;

pub use openapi::document as openapi_document;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
#[doc(hidden)]
pub use tasks::read_files;

use relay_api::Health;

use crate::blob::BlobStore;
use crate::chain::{TaskChain, TaskId, TaskView};
use crate::config::Limits;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::replay::{ReplayError, ReplayGuard};
use crate::work::WorkPool;
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
    /// The origins requests may be signed for (`x-tessera-relay`).
    public_origins: Vec<String>,
    uploads: UploadSlots,
    /// Where result files are decoded and hashed.
    work: WorkPool,
    metrics: Metrics,
    /// TEST ONLY: while this file exists, PNG result downloads are altered.
    tamper_results_flag: Option<std::path::PathBuf>,
    /// The upload receipts' key (none: uploads get no receipt).
    receipts: Option<crate::receipts::Receipts>,
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
        let uploads = UploadSlots::new(&limits);
        Self(Arc::new(Shared {
            db,
            blobs,
            chain,
            limits,
            model_publishers,
            replay: ReplayGuard::default(),
            public_origins: Vec::new(),
            uploads,
            work: WorkPool::for_this_machine(),
            metrics: Metrics::default(),
            tamper_results_flag: None,
            receipts: None,
        }))
    }

    /// Signs upload receipts with `receipts` (the key the contract names as
    /// `relaySigner`). Call right after [`AppState::new`]; without it accepted uploads get
    /// no receipt, and the chain cannot count them.
    pub fn with_receipts(mut self, receipts: Option<crate::receipts::Receipts>) -> Self {
        match Arc::get_mut(&mut self.0) {
            Some(shared) => shared.receipts = receipts,
            None => tracing::error!("the receipt key must be set before the state is shared"),
        }
        self
    }

    /// The receipt for task `id`'s files with `files_digest`, if this relay signs them.
    pub(crate) fn receipt(
        &self,
        id: alloy_primitives::U256,
        files_digest: alloy_primitives::B256,
    ) -> Option<alloy_primitives::Bytes> {
        self.0.receipts.as_ref().map(|r| r.sign(id, files_digest))
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

    /// The URLs clients reach this relay at (behind a load balancer: the balancer's), which
    /// requests are signed for. Call right after [`AppState::new`]; until it is called every
    /// signed request is refused. URLs that do not parse are refused here.
    pub fn with_public_urls<S: AsRef<str>>(
        mut self,
        urls: impl IntoIterator<Item = S>,
    ) -> Result<Self, AuthError> {
        let origins = urls
            .into_iter()
            .map(|url| auth::origin(url.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        match Arc::get_mut(&mut self.0) {
            Some(shared) => shared.public_origins = origins,
            None => tracing::error!("the public URLs must be set before the state is shared"),
        }
        Ok(self)
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

    /// Checks a signed request's headers (signature over the signed body hash, relay,
    /// timestamp, nonce) and returns the signer and that hash. Reads no body.
    async fn authenticate(&self, parts: &Parts) -> Result<(Address, B256), ApiError> {
        let headers = &parts.headers;
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
        let relay = get(auth::RELAY_HEADER)?;
        let timestamp = auth::parse_timestamp(get(auth::TIMESTAMP_HEADER)?)?;
        let nonce = Nonce::parse(get(auth::NONCE_HEADER)?)?;
        let body_sha256 =
            auth::parse_hash(auth::BODY_SHA256_HEADER, get(auth::BODY_SHA256_HEADER)?)?;
        let signature = auth::parse_signature(get(auth::SIGNATURE_HEADER)?)?;
        if !self.0.public_origins.iter().any(|o| o == relay) {
            return Err(AuthError::WrongRelay {
                signed_for: relay.to_owned(),
                this: self.0.public_origins.join(", "),
            }
            .into());
        }
        let window = self.0.limits.signature_window_secs;
        let now = unix_now();
        auth::check_timestamp(timestamp, now, window)?;
        RequestToSign {
            chain_id: self.0.chain.chain_id(),
            relay,
            method: parts.method.as_str(),
            path: target(parts),
            body_sha256,
            timestamp,
            nonce: &nonce,
        }
        .verify(address, &signature)?;
        let expires = timestamp.saturating_add(window);
        match self
            .0
            .replay
            .remember(self.0.db.as_ref(), address, &nonce, expires, now)
            .await
        {
            Ok(()) => Ok((address, body_sha256)),
            Err(ReplayError::Replayed(e)) => Err(e.into()),
            Err(ReplayError::Db(e)) => Err(e.into()),
        }
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

/// A signed request whose headers verified; its body is not read yet.
///
/// The handler checks that [`Signed::signer`] may send this request, then calls
/// [`Signed::body`]: a body from someone who may not send it is never read.
pub(crate) struct Signed {
    pub(crate) signer: Address,
    body_sha256: B256,
    body: Option<Body>,
    limit: Option<usize>,
    /// The declared `Content-Length`, if any: what the upload is charged.
    content_length: Option<usize>,
    /// Held from the body's first byte until the handler is done with it.
    slot: Option<UploadSlot>,
}

impl FromRequest<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let (signer, body_sha256) = state.authenticate(&parts).await?;
        Ok(Self {
            signer,
            body_sha256,
            limit: parts.extensions.get::<BodyLimit>().map(|l| l.0),
            content_length: parts
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .or_else(|| axum::body::HttpBody::size_hint(&body).exact())
                .and_then(|n| usize::try_from(n).ok()),
            body: Some(body),
            slot: None,
        })
    }
}

impl Signed {
    /// Reads the body within the route's limit, in one of the signer's upload slots, and
    /// checks it against the signed hash. Call once the signer is known to be entitled.
    pub(crate) async fn body(&mut self, state: &AppState) -> Result<Bytes, ApiError> {
        let body = self.body.take().ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "body read twice",
            )
        })?;
        let limit = self.limit.unwrap_or(usize::MAX);
        let charge = self.content_length.unwrap_or(limit).min(limit);
        self.slot = Some(state.0.uploads.take(self.signer, charge)?);
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                ApiError::too_large(format!(
                    "request body is larger than the limit of {limit} bytes"
                ))
            } else {
                ApiError::bad_request("body_read_failed", format!("reading the body: {e}"))
            }
        })?;
        let actual = auth::body_sha256(&bytes);
        if actual != self.body_sha256 {
            return Err(AuthError::BodyMismatch {
                signed: self.body_sha256,
                actual,
            }
            .into());
        }
        Ok(bytes)
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
        let (signer, body_sha256) = state.authenticate(parts).await?;
        Ok(Self {
            signer,
            body_sha256,
        })
    }
}

/// Bounds the bodies being read at once: a few per signer, and a byte budget in total
/// (each upload is charged its route's limit), so a flood of uploads cannot exhaust memory.
#[derive(Debug)]
struct UploadSlots {
    per_signer: usize,
    budget: usize,
    state: Arc<Mutex<SlotState>>,
}

#[derive(Debug, Default)]
struct SlotState {
    by_signer: HashMap<Address, usize>,
    charged: usize,
}

/// One body being read; frees its slot when dropped.
#[derive(Debug)]
pub(crate) struct UploadSlot {
    signer: Address,
    charge: usize,
    state: Arc<Mutex<SlotState>>,
}

impl UploadSlots {
    fn new(limits: &Limits) -> Self {
        Self {
            per_signer: limits.max_uploads_per_signer.max(1),
            budget: limits.max_buffered_upload_bytes.max(1),
            state: Arc::default(),
        }
    }

    /// A slot for an upload of up to `bytes` bytes, or 429/503 when none is free.
    fn take(&self, signer: Address, bytes: usize) -> Result<UploadSlot, ApiError> {
        let charge = bytes.min(self.budget);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mine = state.by_signer.get(&signer).copied().unwrap_or(0);
        if mine >= self.per_signer {
            return Err(ApiError::busy(
                StatusCode::TOO_MANY_REQUESTS,
                format!("{signer} already has {mine} uploads in progress; retry when one ends"),
            ));
        }
        if state.charged + charge > self.budget {
            return Err(ApiError::busy(
                StatusCode::SERVICE_UNAVAILABLE,
                "the relay is reading as many uploads as it can hold; retry shortly".to_owned(),
            ));
        }
        state.charged += charge;
        *state.by_signer.entry(signer).or_default() += 1;
        Ok(UploadSlot {
            signer,
            charge,
            state: self.state.clone(),
        })
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.charged -= self.charge;
        if let Some(count) = state.by_signer.get_mut(&self.signer) {
            *count -= 1;
            if *count == 0 {
                state.by_signer.remove(&self.signer);
            }
        }
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
            header::HeaderName::from_static(auth::RELAY_HEADER),
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
        .route("/openapi.json", get(openapi::serve))
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
        .route(
            "/v1/tasks/{task}/progress",
            put(progress::put)
                .get(progress::get)
                .layer(limited(progress::MAX_BODY)),
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

#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses(
        (status = 200, description = "Database reachable", body = relay_api::Health),
        (status = 503, description = "Database unreachable", body = relay_api::Health),
    )
)]
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

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String))
)]
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
