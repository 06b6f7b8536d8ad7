//! Errors as HTTP answers: a status and a JSON body `{"error": {"code", "message"}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::blob::BlobError;
use crate::db::DbError;
use crate::score::ScoreError;
use crate::work::WorkError;
use relay_api::auth::AuthError;

/// An answer other than success.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code.
    pub code: &'static str,
    /// What went wrong, naming the value at fault.
    pub message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub(crate) fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// The relay is at a limit of concurrent work: 429 (this caller) or 503 (everyone),
    /// with `Retry-After`.
    pub(crate) fn busy(status: StatusCode, message: String) -> Self {
        Self::new(status, "busy", message)
    }

    pub(crate) fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    fn internal(code: &'static str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(code, %error, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code,
            "the relay failed to store or read data; try again later",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = (self.status, Json(body)).into_response();
        if self.code == "busy" {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let code = match e {
            AuthError::MissingHeader(_) => "missing_auth",
            AuthError::Malformed { .. } => "malformed_auth",
            AuthError::WrongSigner { .. } | AuthError::BadSignature(_) => "bad_signature",
            AuthError::Expired { .. } => "expired_signature",
            AuthError::Replayed { .. } => "replayed_nonce",
            AuthError::WrongRelay { .. } => "wrong_relay",
            AuthError::BodyMismatch { .. } => "body_hash_mismatch",
        };
        let status = if matches!(e, AuthError::BodyMismatch { .. }) {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::UNAUTHORIZED
        };
        Self::new(status, code, e.to_string())
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        Self::internal("database_error", &e)
    }
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::HashMismatch { .. } => {
                Self::unprocessable("body_hash_mismatch", e.to_string())
            }
            BlobError::TooLarge { .. } => Self::too_large(e.to_string()),
            BlobError::Source(_) => Self::bad_request("body_read_failed", e.to_string()),
            BlobError::NotFound(_) => Self::internal("blob_missing", &e),
            BlobError::Io(_) | BlobError::ObjectStore(_) => Self::internal("storage_error", &e),
        }
    }
}

impl From<WorkError> for ApiError {
    fn from(e: WorkError) -> Self {
        match e {
            WorkError::Busy => Self::busy(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            WorkError::Panicked => Self::internal("internal", &e),
        }
    }
}

impl From<ScoreError> for ApiError {
    fn from(e: ScoreError) -> Self {
        match e {
            ScoreError::CorruptPng { .. } => Self::unprocessable("corrupt_png", e.to_string()),
            ScoreError::ImageTooLarge { .. } => Self::too_large(e.to_string()),
        }
    }
}
