//! Errors of the admin service and how the admin API answers them: JSON
//! `{error, error_description}` with a status, like the OAuth endpoints.

use crate::error::{as_status, log_store_failure};
use atauth_protocol::ErrorCode;
use atauth_store::StoreError;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

/// What an admin operation can fail with. The CLI prints it; the API maps it to a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    /// Malformed or invalid input (400 `invalid_request`).
    Invalid(String),
    /// No credential, or an unknown one (401 `invalid_token`, `WWW-Authenticate: Bearer`).
    Unauthenticated,
    /// A valid credential without power over this resource (403 `insufficient_scope`).
    Forbidden,
    /// Nothing with this id in the caller's reach (404 `not_found`). Ids of other
    /// cooperatives are answered exactly like ids that do not exist.
    NotFound(&'static str),
    /// Clashes with existing data, e.g. a taken handle (409 `conflict`).
    Conflict(String),
    /// The database cannot be reached (503 `temporarily_unavailable`); the detail is logged
    /// when answered, never shown.
    Unavailable(String),
    /// An unexpected failure (500 `server_error`); the detail is logged, not answered.
    Internal(String),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(m) | Self::Conflict(m) => f.write_str(m),
            Self::Unauthenticated => f.write_str("a valid admin token is required"),
            Self::Forbidden => f.write_str("this admin token has no power over this resource"),
            Self::NotFound(what) => write!(f, "no such {what}"),
            Self::Unavailable(_) => f.write_str("the database is temporarily unavailable"),
            Self::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for AdminError {}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            // The store's conflict messages name the field, never a value.
            conflict @ StoreError::Conflict(_) => Self::Conflict(conflict.to_string()),
            StoreError::Unavailable(detail) => Self::Unavailable(detail),
        }
    }
}

/// The body of every admin API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// `invalid_request`, `invalid_token`, `insufficient_scope`, `not_found`, `conflict`,
    /// `temporarily_unavailable` or `server_error`.
    pub error: &'static str,
    pub error_description: String,
}

impl AdminError {
    /// The status and error code: the OAuth status table ([`as_status`]) for the codes the
    /// admin API shares with the OAuth endpoints, plus its own two (404, 409).
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        let code = match self {
            Self::Invalid(_) => ErrorCode::InvalidRequest,
            Self::Unauthenticated => ErrorCode::InvalidToken,
            Self::Forbidden => ErrorCode::InsufficientScope,
            Self::Unavailable(_) => ErrorCode::TemporarilyUnavailable,
            Self::Internal(_) => ErrorCode::ServerError,
            Self::NotFound(_) => return (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => return (StatusCode::CONFLICT, "conflict"),
        };
        (as_status(code), code.as_str())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, error) = self.status_and_code();
        // The one place an admin failure's detail is logged: where it is answered.
        let error_description = match &self {
            Self::Internal(detail) => {
                tracing::error!(%detail, "admin: internal error");
                "internal error".to_string()
            }
            Self::Unavailable(detail) => {
                log_store_failure(&StoreError::Unavailable(detail.clone()));
                self.to_string()
            }
            other => other.to_string(),
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error,
                error_description,
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self == Self::Unauthenticated {
            // RFC 6750 section 3.
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"atauth-admin\""),
            );
        }
        response
    }
}
