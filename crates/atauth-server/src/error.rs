//! The one mapping from protocol errors to HTTP responses (status, body, headers).

use atauth_protocol::{ErrorCode, OAuthError};
use atauth_store::StoreError;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};

/// An OAuth error answered by the authorization server as JSON (RFC 6749 section 5.2).
#[derive(Debug)]
pub struct ApiError(pub OAuthError);

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self(store_error(&e))
    }
}

pub fn store_error(e: &StoreError) -> OAuthError {
    match e {
        StoreError::Conflict(_) => {
            OAuthError::invalid_request("The request conflicts with existing data")
        }
        StoreError::Unavailable(detail) => {
            tracing::error!(%detail, "storage unavailable");
            OAuthError::temporarily_unavailable(
                "The service is temporarily unavailable, try again shortly",
            )
        }
    }
}

/// Status code of an error answered at the authorization server.
pub fn as_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    }
}

pub fn json_error(status: StatusCode, e: &OAuthError) -> Response {
    let body = serde_json::json!({ "error": e.code.as_str(), "error_description": e.description });
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_error(as_status(self.0.code), &self.0)
    }
}

/// An error answered by the built-in resource server (RFC 6750 section 3, RFC 9449 section 7.1):
/// 401 with a `WWW-Authenticate: DPoP ...` challenge.
pub struct ResourceError {
    pub error: OAuthError,
    pub nonce: Option<String>,
}

impl IntoResponse for ResourceError {
    fn into_response(self) -> Response {
        let status = match self.error.code {
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
            ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNAUTHORIZED,
        };
        let mut response = json_error(status, &self.error);
        let challenge = atauth_resource::www_authenticate(&self.error);
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        if let Some(nonce) = self.nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            response.headers_mut().insert("dpop-nonce", nonce);
        }
        response
    }
}

/// 404 for a host that is no cooperative's. The host is deliberately not echoed.
pub fn unknown_host() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "No cooperative is served at this address.\n",
    )
        .into_response()
}

pub fn store_unavailable(e: &StoreError) -> Response {
    let err = store_error(e);
    json_error(as_status(err.code), &err)
}
