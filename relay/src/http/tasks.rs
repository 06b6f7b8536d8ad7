//! Task arguments and results.

use alloy_primitives::B256;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;

use super::{ApiError, AppState, Signed, serve_blob, task_id};
use crate::chain::{TaskState, TaskType, TaskView};
use crate::db::{ArgsRecord, Inserted};
use crate::hashes::{sha256, task_hash};
use crate::metrics::Metrics;
use crate::score;
use relay_api::{ArgsReceipt, ErrorBody, ResultFile, ResultSet, ResultsView};
use verifier::args::ArgsError;

/// Results and arguments never change once accepted, but are not public.
const PRIVATE_IMMUTABLE: &str = "private, max-age=31536000, immutable";

fn require_party(task: &TaskView, signer: alloy_primitives::Address) -> Result<(), ApiError> {
    if task.is_party(signer) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "{signer} is neither the creator nor a selected node of task {}",
            task.id
        )))
    }
}

/// Whether the creator asked for its task's results to be public (`?visibility=public`, the
/// default) or private (`?visibility=private`) when storing its arguments.
fn visibility(query: Option<&str>) -> Result<bool, ApiError> {
    let mut public = true;
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        match pair.split_once('=') {
            Some(("visibility", "public")) => public = true,
            Some(("visibility", "private")) => public = false,
            _ => {
                return Err(ApiError::bad_request(
                    "bad_query",
                    format!(
                        "`{pair}`: the only option is `visibility=public` or `visibility=private`"
                    ),
                ));
            }
        }
    }
    Ok(public)
}

/// Who may read a task's accepted results: anyone when its creator made them public, else
/// its creator and selected nodes, by a signed request. `signed` is the request's
/// signature check (an unsigned request reads as nobody in particular).
async fn may_read_results(
    state: &AppState,
    task: &TaskView,
    headers: &HeaderMap,
    signed: Result<Signed, ApiError>,
) -> Result<(), ApiError> {
    let anonymous = !headers.contains_key(relay_api::auth::SIGNATURE_HEADER);
    if !anonymous {
        let signer = signed?.signer;
        if task.is_party(signer) {
            return Ok(());
        }
    }
    let public = current_args(state, task)
        .await?
        .is_some_and(|args| args.public_results);
    match (public, anonymous) {
        (true, _) => Ok(()),
        (false, true) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "private_results",
            format!(
                "task {}'s results are private: sign the request as its creator or a selected node",
                task.id
            ),
        )),
        (false, false) => Err(ApiError::forbidden(format!(
            "task {}'s results are private to its creator and selected nodes",
            task.id
        ))),
    }
}

/// `PUT /v1/tasks/{task}/args`: the creator stores the task's arguments.
#[utoipa::path(
    put,
    path = "/v1/tasks/{task}/args",
    tag = "tasks",
    params(
        ("task" = String, Path, description = "The task id, decimal"),
        ("visibility" = Option<String>, Query, description = "`public` (the default): anyone may read the results once accepted; `private`: only the creator and the selected nodes. Fixed by the first upload"),
    ),
    request_body(content = serde_json::Value, content_type = "application/json", description = "The arguments (SD or LLM, as `verifier::args` reads them), exactly the bytes whose keccak256 is the task hash"),
    security(("tessera_request" = [])),
    responses(
        (status = 201, description = "Stored", body = ArgsReceipt),
        (status = 200, description = "The same bytes were already stored", body = ArgsReceipt),
        (status = 400, description = "malformed request or value", body = ErrorBody),
        (status = 401, description = "missing or invalid signature", body = ErrorBody),
        (status = 403, description = "the signer may not do this", body = ErrorBody),
        (status = 404, description = "no such task, file or route", body = ErrorBody),
        (status = 409, description = "the task is not in a state that allows it", body = ErrorBody),
        (status = 413, description = "body over the route's limit", body = ErrorBody),
        (status = 422, description = "the body is not what the chain committed to", body = ErrorBody),
        (status = 429, description = "too many uploads in progress", body = ErrorBody),
        (status = 503, description = "storage or database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn put_args(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
    mut signed: Signed,
) -> Result<(StatusCode, Json<ArgsReceipt>), ApiError> {
    let id = task_id(&raw)?;
    let public_results = visibility(query.as_deref())?;
    let task = state.task(id)?;
    if signed.signer != task.creator {
        return Err(ApiError::forbidden(format!(
            "only task {id}'s creator {} may upload its arguments, not {}",
            task.creator, signed.signer
        )));
    }
    let body = signed.body(&state).await?;
    verifier::args::TaskArgs::parse(task.kind, &body).map_err(|e| match e {
        ArgsError::Malformed(_) => ApiError::bad_request("malformed_json", e.to_string()),
        ArgsError::Invalid(_) | ArgsError::UnsupportedTaskType(_) => {
            ApiError::unprocessable("invalid_args", e.to_string())
        }
    })?;
    let hash = task_hash(&body);
    if hash != task.task_hash {
        return Err(ApiError::unprocessable(
            "args_hash_mismatch",
            format!(
                "keccak256 of the arguments is {hash}, but task {id} on chain has taskHash {}",
                task.task_hash
            ),
        ));
    }
    let record = ArgsRecord {
        sha256: sha256(&body),
        size: body.len() as u64,
        public_results,
    };
    if let Some(stored) = state.0.db.args(id).await?
        && stored.sha256 == record.sha256
        && stored.public_results != public_results
    {
        return Err(ApiError::conflict(
            "visibility_fixed",
            format!(
                "task {id}'s results were made {} when its arguments were stored; that does not change",
                if stored.public_results {
                    "public"
                } else {
                    "private"
                }
            ),
        ));
    }
    let receipt = ArgsReceipt {
        task_id: id.to_string(),
        sha256: record.sha256,
        size: record.size,
    };
    if keep_stored_args(&state, id, &record).await? {
        return Ok((StatusCode::OK, Json(receipt)));
    }
    state.0.blobs.put(record.sha256, body).await?;
    let status = match state.0.db.insert_args(id, &record, signed.signer).await? {
        Inserted::New => {
            Metrics::add(&state.0.metrics.args_accepted, 1);
            Metrics::add(&state.0.metrics.bytes_stored, record.size);
            StatusCode::CREATED
        }
        Inserted::Existing => StatusCode::OK,
    };
    Ok((status, Json(receipt)))
}

/// `GET /v1/tasks/{task}/args`: the creator or a selected node reads the arguments.
#[utoipa::path(
    get,
    path = "/v1/tasks/{task}/args",
    tag = "tasks",
    params(("task" = String, Path, description = "The task id, decimal")),
    security(("tessera_request" = [])),
    responses(
        (status = 200, description = "The arguments, the bytes the creator stored", content_type = "application/json", body = serde_json::Value),
        (status = 304, description = "Unchanged (`If-None-Match`)"),
        (status = 400, description = "malformed request or value", body = ErrorBody),
        (status = 401, description = "missing or invalid signature", body = ErrorBody),
        (status = 403, description = "the signer may not do this", body = ErrorBody),
        (status = 404, description = "no such task, file or route", body = ErrorBody),
        (status = 503, description = "storage or database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn get_args(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    signed: Signed,
) -> Result<Response, ApiError> {
    let id = task_id(&raw)?;
    let task = state.task(id)?;
    require_party(&task, signed.signer)?;
    let args = current_args(&state, &task).await?.ok_or_else(|| {
        ApiError::not_found(
            "no_args",
            format!("task {id}'s arguments have not been uploaded"),
        )
    })?;
    serve_blob(
        &state,
        &headers,
        args.sha256,
        args.size,
        "application/json",
        PRIVATE_IMMUTABLE,
    )
    .await
}

/// What a task kind's result files are called and served as.
fn file_format(kind: TaskType) -> (&'static str, &'static str, usize) {
    match kind {
        TaskType::StableDiffusion => ("png", "image/png", 8),
        TaskType::Llm => ("json", "application/json", 32),
    }
}

/// `POST /v1/tasks/{task}/results`: the designated node uploads the result files as
/// `multipart/form-data`, one part per file named `0.png`, `1.png`, … in score order.
#[utoipa::path(
    post,
    path = "/v1/tasks/{task}/results",
    tag = "tasks",
    params(("task" = String, Path, description = "The task id, decimal")),
    request_body(content = Vec<u8>, content_type = "multipart/form-data", description = "Parts `0.png`, `1.png`… (or `0.json`…) in score order, whose score is the revealed one and whose digest is the committed one"),
    security(("tessera_request" = [])),
    responses(
        (status = 201, description = "Accepted, with the upload receipt", body = ResultsView),
        (status = 400, description = "malformed request or value", body = ErrorBody),
        (status = 401, description = "missing or invalid signature", body = ErrorBody),
        (status = 403, description = "the signer may not do this", body = ErrorBody),
        (status = 404, description = "no such task, file or route", body = ErrorBody),
        (status = 409, description = "the task is not in a state that allows it", body = ErrorBody),
        (status = 413, description = "body over the route's limit", body = ErrorBody),
        (status = 415, description = "not multipart/form-data", body = ErrorBody),
        (status = 422, description = "the body is not what the chain committed to", body = ErrorBody),
        (status = 429, description = "too many uploads in progress", body = ErrorBody),
        (status = 503, description = "storage or database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn post_results(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    mut signed: Signed,
) -> Result<(StatusCode, Json<ResultsView>), ApiError> {
    let id = task_id(&raw)?;
    let task = state.task(id)?;
    let (uploader, revealed) = match &task.state {
        TaskState::Revealed { uploader, score } => (*uploader, score.clone()),
        TaskState::Running => {
            return Err(ApiError::conflict(
                "not_revealed",
                format!("task {id} has no revealed result yet"),
            ));
        }
        TaskState::Aborted => {
            return Err(ApiError::conflict(
                "task_aborted",
                format!("task {id} was aborted and takes no results"),
            ));
        }
    };
    if signed.signer != uploader {
        return Err(ApiError::forbidden(format!(
            "the contract named {uploader} to upload task {id}'s results, not {}",
            signed.signer
        )));
    }
    if keep_stored_results(&state, &task).await? {
        return Err(ApiError::conflict(
            "results_exist",
            format!("task {id}'s results were already uploaded"),
        ));
    }
    let (extension, content_type, block) = file_format(task.kind);
    let expected_files = revealed.len() / block;
    let body = signed.body(&state).await?;
    let files = read_files(&state.0.limits, &headers, body, extension, expected_files).await?;

    let max_side = state.0.limits.max_image_side;
    let kind = task.kind;
    let (files, computed) = state
        .0
        .work
        .run(move || {
            let score = score::recompute(kind, &files, max_side);
            let hashes: Vec<B256> = files.iter().map(|(_, bytes)| sha256(bytes)).collect();
            (files, score.map(|s| (s, hashes)))
        })
        .await?;
    let (score, hashes) = computed?;
    let expected_digest = task
        .reveal
        .as_ref()
        .map(|r| r.files_digest)
        .unwrap_or_default();
    if score != revealed.as_ref() {
        Metrics::add(&state.0.metrics.results_score_mismatch, 1);
        return Err(ApiError::unprocessable(
            "score_mismatch",
            format!(
                "the files score 0x{}, but {uploader} revealed 0x{} for task {id}",
                hex::encode(&score),
                hex::encode(&revealed)
            ),
        ));
    }

    // The score binds what seats compare; the digest binds the bytes the uploader committed
    // to, so no other pixels with the same perceptual hash are stored.
    let hash_bytes: Vec<[u8; 32]> = hashes.iter().map(|h| h.0).collect();
    let digest = B256::from(verifier::digest::files_digest(&hash_bytes));
    if digest != expected_digest {
        Metrics::add(&state.0.metrics.results_score_mismatch, 1);
        return Err(ApiError::unprocessable(
            "digest_mismatch",
            format!(
                "the files' digest is {digest}, but {uploader} committed to {expected_digest} for task {id}"
            ),
        ));
    }

    let mut stored = Vec::with_capacity(files.len());
    let mut total = 0;
    for ((name, bytes), hash) in files.into_iter().zip(hashes) {
        let size = bytes.len() as u64;
        total += size;
        state.0.blobs.put(hash, bytes).await?;
        stored.push(ResultFile {
            name,
            sha256: hash,
            size,
            content_type: content_type.to_owned(),
        });
    }
    let results = ResultSet {
        uploader,
        score: revealed,
        files: stored,
    };
    match state.0.db.insert_results(id, &results).await? {
        Inserted::New => {
            Metrics::add(&state.0.metrics.results_accepted, 1);
            Metrics::add(&state.0.metrics.bytes_stored, total);
        }
        Inserted::Existing => {
            return Err(ApiError::conflict(
                "results_exist",
                format!("task {id}'s results were already uploaded"),
            ));
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(ResultsView {
            task_id: id.to_string(),
            results,
            receipt: state.receipt(id.0, digest),
        }),
    ))
}

/// Splits a multipart body into its files, enforcing names, count and sizes. Public (and
/// hidden) only for the fuzz targets in `fuzz/`.
#[doc(hidden)]
pub async fn read_files(
    limits: &crate::config::Limits,
    headers: &HeaderMap,
    body: Bytes,
    extension: &str,
    expected: usize,
) -> Result<Vec<(String, Bytes)>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "multipart_required",
            format!("results must be sent as multipart/form-data, not `{content_type}`"),
        )
    })?;
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().per_field(limits.max_result_file_bytes as u64));
    let mut multipart = multer::Multipart::with_constraints(
        stream::once(async move { Ok::<_, std::convert::Infallible>(body) }),
        boundary,
        constraints,
    );
    let mut files = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        if files.len() == limits.max_result_files {
            return Err(ApiError::too_large(format!(
                "more than {} files in one upload",
                limits.max_result_files
            )));
        }
        let want = format!("{}.{extension}", files.len());
        let name = field.file_name().unwrap_or_default().to_owned();
        if name != want {
            return Err(ApiError::unprocessable(
                "bad_file_name",
                format!("part {} is named `{name}`; expected `{want}`", files.len()),
            ));
        }
        let bytes = field.bytes().await.map_err(multipart_error)?;
        files.push((name, bytes));
    }
    if files.len() != expected {
        return Err(ApiError::unprocessable(
            "wrong_file_count",
            format!(
                "{} files uploaded, but the revealed score covers {expected}",
                files.len()
            ),
        ));
    }
    Ok(files)
}

fn multipart_error(e: multer::Error) -> ApiError {
    match e {
        multer::Error::FieldSizeExceeded { limit, field_name } => ApiError::too_large(format!(
            "file `{}` is larger than the limit of {limit} bytes",
            field_name.unwrap_or_default()
        )),
        e => ApiError::bad_request("malformed_multipart", format!("multipart body: {e}")),
    }
}

/// `GET /v1/tasks/{task}/results`: the result files' names, hashes and sizes, for anyone
/// when the task's results are public, else for its creator and selected nodes.
#[utoipa::path(
    get,
    path = "/v1/tasks/{task}/results",
    tag = "tasks",
    params(("task" = String, Path, description = "The task id, decimal")),
    security((), ("tessera_request" = [])),
    responses(
        (status = 200, description = "The accepted results", body = ResultsView),
        (status = 400, description = "malformed request or value", body = ErrorBody),
        (status = 401, description = "missing or invalid signature", body = ErrorBody),
        (status = 403, description = "the signer may not do this", body = ErrorBody),
        (status = 404, description = "no such task, file or route", body = ErrorBody),
        (status = 503, description = "storage or database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn list_results(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    signed: Result<Signed, ApiError>,
) -> Result<Json<ResultsView>, ApiError> {
    let id = task_id(&raw)?;
    let task = state.task(id)?;
    may_read_results(&state, &task, &headers, signed).await?;
    let results = current_results(&state, &task)
        .await?
        .ok_or_else(|| no_results(id))?;
    let receipt = task
        .reveal
        .as_ref()
        .and_then(|r| state.receipt(id.0, r.files_digest));
    Ok(Json(ResultsView {
        task_id: id.to_string(),
        results,
        receipt,
    }))
}

// A chain reorganisation can replace a task (the same id created again with another hash)
// or its reveal after the relay accepted records for it: a stored record is served, or
// counts as "already there", only while it matches the chain's current view.

/// Whether the task's stored arguments are `record` (then nothing is to be stored).
/// Arguments stored with other bytes are stale (these bytes hash to the task's hash, so
/// the stored ones do not: they were accepted for a task a reorganisation replaced) and
/// are removed, so that `record` can be stored.
async fn keep_stored_args(
    state: &AppState,
    id: crate::chain::TaskId,
    record: &ArgsRecord,
) -> Result<bool, ApiError> {
    let Some(stored) = state.0.db.args(id).await? else {
        return Ok(false);
    };
    if stored.sha256 == record.sha256 {
        return Ok(true);
    }
    tracing::warn!(task = %id, stale = %stored.sha256, "replacing arguments a chain reorganisation made stale");
    state.0.db.delete_args(id, stored.sha256).await?;
    Ok(false)
}

/// The task's stored arguments, if their keccak256 is still its on-chain hash.
async fn current_args(state: &AppState, task: &TaskView) -> Result<Option<ArgsRecord>, ApiError> {
    let Some(stored) = state.0.db.args(task.id).await? else {
        return Ok(None);
    };
    let bytes = state.0.blobs.get(stored.sha256).await?;
    if task_hash(&bytes) == task.task_hash {
        Ok(Some(stored))
    } else {
        tracing::warn!(task = %task.id, "stored arguments are not the task's since a chain reorganisation; not served");
        Ok(None)
    }
}

/// Whether the stored results were uploaded for the task's settled reveal.
fn results_match(task: &TaskView, results: &ResultSet) -> bool {
    task.reveal
        .as_ref()
        .is_some_and(|r| r.uploader == results.uploader && r.score == results.score)
}

/// The task's stored results, if they are its current reveal's.
async fn current_results(state: &AppState, task: &TaskView) -> Result<Option<ResultSet>, ApiError> {
    let stored = state.0.db.results(task.id).await?;
    Ok(stored.filter(|results| {
        let current = results_match(task, results);
        if !current {
            tracing::warn!(task = %task.id, "stored results are not the task's reveal's since a chain reorganisation; not served");
        }
        current
    }))
}

/// Whether results for the task's current reveal are stored. Stored results for another
/// reveal are stale and removed, so that the current uploader's can be stored.
async fn keep_stored_results(state: &AppState, task: &TaskView) -> Result<bool, ApiError> {
    let Some(stored) = state.0.db.results(task.id).await? else {
        return Ok(false);
    };
    if results_match(task, &stored) {
        return Ok(true);
    }
    tracing::warn!(task = %task.id, stale_uploader = %stored.uploader, "replacing results a chain reorganisation made stale");
    state
        .0
        .db
        .delete_results(task.id, stored.uploader, &stored.score)
        .await?;
    Ok(false)
}

fn no_results(id: crate::chain::TaskId) -> ApiError {
    ApiError::not_found(
        "no_results",
        format!("task {id}'s results have not been uploaded"),
    )
}

/// `GET /v1/tasks/{task}/results/{name}`: one result file.
#[utoipa::path(
    get,
    path = "/v1/tasks/{task}/results/{name}",
    tag = "tasks",
    params(("task" = String, Path, description = "The task id, decimal"), ("name" = String, Path, description = "A result file's name, `0.png` or `0.json`…")),
    security((), ("tessera_request" = [])),
    responses(
        (status = 200, description = "The file (`image/png` or `application/json`)", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The requested range", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 304, description = "Unchanged (`If-None-Match`)"),
        (status = 400, description = "malformed request or value", body = ErrorBody),
        (status = 401, description = "missing or invalid signature", body = ErrorBody),
        (status = 403, description = "the signer may not do this", body = ErrorBody),
        (status = 404, description = "no such task, file or route", body = ErrorBody),
        (status = 416, description = "range outside the file", body = ErrorBody),
        (status = 503, description = "storage or database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn get_result_file(
    State(state): State<AppState>,
    Path((raw, name)): Path<(String, String)>,
    headers: HeaderMap,
    signed: Result<Signed, ApiError>,
) -> Result<Response, ApiError> {
    let id = task_id(&raw)?;
    let task = state.task(id)?;
    may_read_results(&state, &task, &headers, signed).await?;
    let results = current_results(&state, &task)
        .await?
        .ok_or_else(|| no_results(id))?;
    let file = results
        .files
        .into_iter()
        .find(|f| f.name == name)
        .ok_or_else(|| {
            ApiError::not_found(
                "no_such_file",
                format!("task {id} has no result file `{name}`"),
            )
        })?;
    if file.content_type == "image/png" && state.tampering() {
        let stored = state.0.blobs.get(file.sha256).await?;
        if let Some(altered) = tamper_png(&stored) {
            tracing::warn!(task = %id, file = %name, "TEST ONLY: serving an altered image");
            return Ok((
                [
                    (header::CONTENT_TYPE, "image/png"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                altered,
            )
                .into_response());
        }
    }
    let mut response = serve_blob(
        &state,
        &headers,
        file.sha256,
        file.size,
        &file.content_type,
        PRIVATE_IMMUTABLE,
    )
    .await?;
    if let Ok(disposition) = format!("inline; filename=\"task-{id}-{name}\"").parse() {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response.into_response())
}

/// TEST ONLY: the PNG with its colours inverted (alpha kept), or `None` if it does not
/// decode. What a dishonest relay might serve: a valid image of the same size that is not
/// the one the nodes produced.
fn tamper_png(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .ok()?;
    let mut pixels = vec![0; reader.output_buffer_size()?];
    let info = reader.next_frame(&mut pixels).ok()?;
    pixels.truncate(info.buffer_size());
    if info.bit_depth != png::BitDepth::Eight {
        return None;
    }
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Indexed => return None,
    };
    let colour = if channels % 2 == 0 {
        channels - 1
    } else {
        channels
    };
    for pixel in pixels.chunks_mut(channels) {
        for sample in &mut pixel[..colour] {
            *sample = 255 - *sample;
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(std::io::Cursor::new(&mut out), info.width, info.height);
    encoder.set_color(info.color_type);
    encoder.set_depth(info.bit_depth);
    let mut writer = encoder.write_header().ok()?;
    writer.write_image_data(&pixels).ok()?;
    writer.finish().ok()?;
    Some(out)
}
