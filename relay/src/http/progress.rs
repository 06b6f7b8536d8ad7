//! Progress: how far each selected node says it is with a task.
//!
//! A node's word, kept so the requester can see its task move ("step 12/20 on 2 of 3
//! nodes"); nothing the relay or the chain decides depends on it. Only the nodes now
//! selected for a running task may report, and only theirs are served.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState, Signed, task_id};
use crate::chain::TaskState;
use relay_api::{ErrorBody, StepReport, TaskProgress};

/// Largest report body accepted.
pub(crate) const MAX_BODY: usize = 1024;

/// `PUT /v1/tasks/{task}/progress`: a selected node reports its step.
#[utoipa::path(
    put,
    path = "/v1/tasks/{task}/progress",
    tag = "tasks",
    params(("task" = String, Path, description = "The task id, decimal")),
    request_body(content = StepReport, description = "Steps done of steps in all"),
    security(("tessera_request" = [])),
    responses(
        (status = 204, description = "Recorded, replacing the node's earlier report"),
        (status = 400, description = "malformed request or value", body = ErrorBody),
        (status = 401, description = "missing or invalid signature", body = ErrorBody),
        (status = 403, description = "the signer may not do this", body = ErrorBody),
        (status = 404, description = "no such task, file or route", body = ErrorBody),
        (status = 409, description = "the task is not in a state that allows it", body = ErrorBody),
        (status = 413, description = "body over the route's limit", body = ErrorBody),
        (status = 422, description = "the report cannot be true (a step past the steps)", body = ErrorBody),
        (status = 503, description = "storage or database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn put(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    mut signed: Signed,
) -> Result<StatusCode, ApiError> {
    let id = task_id(&raw)?;
    let task = state.task(id)?;
    if !task.nodes.contains(&signed.signer) {
        return Err(ApiError::forbidden(format!(
            "{} is not a selected node of task {id}",
            signed.signer
        )));
    }
    if task.state != TaskState::Running {
        return Err(ApiError::conflict(
            "task_not_running",
            format!("task {id}'s reveals are in or it ended: progress is no longer reported"),
        ));
    }
    let body = signed.body(&state).await?;
    let report: StepReport = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("malformed_json", format!("the report: {e}")))?;
    if let Some(problem) = report.problem() {
        return Err(ApiError::unprocessable("invalid_progress", problem));
    }
    state.0.db.put_progress(id, signed.signer, report).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/tasks/{task}/progress`: the latest report of each node selected now.
#[utoipa::path(
    get,
    path = "/v1/tasks/{task}/progress",
    tag = "tasks",
    params(("task" = String, Path, description = "The task id, decimal")),
    responses(
        (status = 200, description = "The reports, by node address (nodes that sent none are absent)", body = TaskProgress),
        (status = 400, description = "malformed request or value", body = ErrorBody),
        (status = 404, description = "no such task, file or route", body = ErrorBody),
        (status = 503, description = "storage or database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = task_id(&raw)?;
    let task = state.task(id)?;
    let nodes = state
        .0
        .db
        .progress(id)
        .await?
        .into_iter()
        .filter(|p| task.nodes.contains(&p.node))
        .collect();
    let body = TaskProgress {
        task_id: id.to_string(),
        nodes,
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}
