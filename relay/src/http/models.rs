//! Model listing, publishing and content-addressed downloads.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures_util::{StreamExt as _, TryStreamExt as _};
use serde::Deserialize;

use super::{ApiError, AppState, SignedStream, serve_blob};
use crate::blob::BlobError;
use crate::db::ModelFile;
use crate::metrics::Metrics;
use crate::models;
use relay_api::{ErrorBody, ModelList, ModelListing};

/// `GET /v1/models`.
#[utoipa::path(
    get,
    path = "/v1/models",
    tag = "models",
    responses(
        (status = 200, description = "Every model the relay holds", body = ModelList),
        (status = 503, description = "storage or database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<ModelList>, ApiError> {
    let models = state.0.db.models().await?;
    Ok(Json(ModelList {
        models: models.into_iter().map(ModelListing::from).collect(),
    }))
}

/// Which model file an upload is.
#[derive(Debug, Deserialize)]
pub(crate) struct FileTarget {
    model: String,
    path: String,
}

/// `PUT /v1/models/files?model=…&path=…`: a publisher streams one model file; the body
/// must hash to the signed `x-tessera-body-sha256`.
#[utoipa::path(
    put,
    path = "/v1/models/files",
    tag = "models",
    params(
        ("model" = String, Query, description = "The model's name, e.g. `crynux-network/stable-diffusion-v1-5`"),
        ("path" = String, Query, description = "The file's path inside the model, e.g. `unet/config.json`"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file, hashing to the signed `x-tessera-body-sha256`"),
    security(("tessera_request" = [])),
    responses(
        (status = 201, description = "Stored", body = relay_api::ModelFile),
        (status = 200, description = "The same file was already stored", body = relay_api::ModelFile),
        (status = 400, description = "malformed request or value", body = ErrorBody),
        (status = 401, description = "missing or invalid signature", body = ErrorBody),
        (status = 403, description = "the signer may not do this", body = ErrorBody),
        (status = 409, description = "the task is not in a state that allows it", body = ErrorBody),
        (status = 413, description = "body over the route's limit", body = ErrorBody),
        (status = 422, description = "the body is not what the chain committed to", body = ErrorBody),
        (status = 429, description = "too many uploads in progress", body = ErrorBody),
        (status = 503, description = "storage or database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn put_file(
    State(state): State<AppState>,
    Query(target): Query<FileTarget>,
    signed: SignedStream,
    body: Body,
) -> Result<(StatusCode, Json<ModelFile>), ApiError> {
    if !state.0.model_publishers.contains(&signed.signer) {
        return Err(ApiError::forbidden(format!(
            "{} is not a model publisher of this relay",
            signed.signer
        )));
    }
    models::check_name("model name", &target.model, models::MAX_NAME_LEN)
        .and_then(|()| models::check_name("model file path", &target.path, models::MAX_PATH_LEN))
        .map_err(|e| ApiError::bad_request("bad_model_name", e.to_string()))?;
    let stream = body
        .into_data_stream()
        .map_err(|e| BlobError::Source(e.to_string()))
        .boxed();
    let (sha256, size) = state
        .0
        .blobs
        .put_stream(
            stream,
            state.0.limits.max_model_file_bytes,
            Some(signed.body_sha256),
        )
        .await?;
    let file = ModelFile {
        path: target.path,
        sha256,
        size,
    };
    state.0.db.upsert_model_file(&target.model, &file).await?;
    Metrics::add(&state.0.metrics.model_files_accepted, 1);
    Metrics::add(&state.0.metrics.bytes_stored, size);
    Ok((StatusCode::CREATED, Json(file)))
}

/// `GET /v1/blobs/{sha256}`: a model file by content hash, resumable with `Range`.
#[utoipa::path(
    get,
    path = "/v1/blobs/{sha256}",
    tag = "models",
    params(("sha256" = String, Path, description = "The file's SHA-256, 64 hex digits")),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The requested range", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 304, description = "Unchanged (`If-None-Match`)"),
        (status = 400, description = "malformed request or value", body = ErrorBody),
        (status = 404, description = "no such task, file or route", body = ErrorBody),
        (status = 416, description = "range outside the file", body = ErrorBody),
        (status = 503, description = "storage or database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn get_blob(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sha256 = models::parse_sha256(&raw).ok_or_else(|| {
        ApiError::bad_request("bad_hash", format!("`{raw}` is not a 64-digit hex SHA-256"))
    })?;
    let size = state.0.db.model_blob_size(sha256).await?.ok_or_else(|| {
        ApiError::not_found(
            "no_such_blob",
            format!("no model file has SHA-256 {sha256}"),
        )
    })?;
    serve_blob(
        &state,
        &headers,
        sha256,
        size,
        "application/octet-stream",
        "public, max-age=31536000, immutable",
    )
    .await
}
