//! The one mapping from errors to HTTP responses: the status table, the JSON error body, and
//! the one place where a failure's detail is logged (where it is answered, never before).

use atauth_protocol::{ErrorCode, OAuthError};
use atauth_store::StoreError;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};

/// Why a request to an OAuth endpoint failed, answered as JSON (RFC 6749 section 5.2).
#[derive(Debug)]
pub enum ApiError {
    /// A protocol error, answered with the status of its code ([`as_status`]).
    OAuth(OAuthError),
    /// The store failed: answered as [`store_error`] says, its detail logged, never sent.
    Store(StoreError),
    /// The request body could not be read as parameters: too large (413) or of a content type
    /// the endpoint does not take (415). The status is the transport's, not the code's.
    Body(StatusCode, OAuthError),
}

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        Self::OAuth(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl ApiError {
    /// The status (from `status_table`) and the error the client is told. A store failure is
    /// logged here: this runs once, when the error is answered.
    fn answer(self, status_table: fn(ErrorCode) -> StatusCode) -> (StatusCode, OAuthError) {
        match self {
            Self::OAuth(e) => (status_table(e.code), e),
            Self::Store(e) => {
                log_store_failure(&e);
                let told = store_error(&e);
                (status_table(told.code), told)
            }
            Self::Body(status, e) => (status, e),
        }
    }
}

/// What a client is told when the store fails (no detail: it may name hosts or tables).
pub fn store_error(e: &StoreError) -> OAuthError {
    match e {
        StoreError::Conflict(_) => {
            OAuthError::invalid_request("The request conflicts with existing data")
        }
        StoreError::Unavailable(_) => OAuthError::temporarily_unavailable(
            "The service is temporarily unavailable, try again shortly",
        ),
    }
}

/// Logs the detail of a store failure. Called where the failure is answered (an API error, a
/// member page, an admin answer), so each failure is logged once. The detail names no secret.
pub fn log_store_failure(e: &StoreError) {
    if let StoreError::Unavailable(detail) = e {
        tracing::error!(%detail, "storage unavailable");
    }
}

/// The status table: the status of each error code answered at the authorization server (and
/// the admin API, for the codes it shares).
pub fn as_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::InvalidRequest
        | ErrorCode::InvalidClient
        | ErrorCode::InvalidGrant
        | ErrorCode::UnauthorizedClient
        | ErrorCode::UnsupportedGrantType
        | ErrorCode::UnsupportedResponseType
        | ErrorCode::InvalidScope
        | ErrorCode::AccessDenied
        | ErrorCode::LoginRequired
        | ErrorCode::ConsentRequired
        | ErrorCode::AccountSelectionRequired
        | ErrorCode::InvalidDpopProof
        | ErrorCode::UseDpopNonce
        | ErrorCode::InvalidClientMetadata
        | ErrorCode::InvalidRedirectUri => StatusCode::BAD_REQUEST,
    }
}

/// The status table at the built-in resource server: the same as [`as_status`] for a malformed
/// request, an outage and a missing scope; everything else means the request is not authorised
/// and is 401 with a challenge (RFC 6750 section 3.1, RFC 9449 section 7.1; profile section 2).
pub fn resource_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidRequest
        | ErrorCode::TemporarilyUnavailable
        | ErrorCode::InsufficientScope => as_status(code),
        _ => StatusCode::UNAUTHORIZED,
    }
}

fn json_error(status: StatusCode, e: &OAuthError) -> Response {
    let body = serde_json::json!({ "error": e.code.as_str(), "error_description": e.description });
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error) = self.answer(as_status);
        json_error(status, &error)
    }
}

/// An error answered by the built-in resource server (RFC 6750 section 3, RFC 9449 section 7.1):
/// 401 with a `WWW-Authenticate: DPoP ...` challenge, and the current DPoP nonce.
pub struct ResourceError {
    pub error: ApiError,
    pub nonce: String,
}

impl IntoResponse for ResourceError {
    fn into_response(self) -> Response {
        let (status, error) = self.error.answer(resource_status);
        let mut response = json_error(status, &error);
        let challenge = atauth_resource::www_authenticate(&error);
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        if let Ok(nonce) = HeaderValue::from_str(&self.nonce) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_server_answers_401_where_the_authorization_server_answers_400_or_500() {
        for code in [
            ErrorCode::InvalidDpopProof,
            ErrorCode::UseDpopNonce,
            ErrorCode::InvalidToken,
            ErrorCode::ServerError,
        ] {
            assert_eq!(resource_status(code), StatusCode::UNAUTHORIZED, "{code}");
        }
        for code in [
            ErrorCode::InvalidRequest,
            ErrorCode::TemporarilyUnavailable,
            ErrorCode::InsufficientScope,
        ] {
            assert_eq!(resource_status(code), as_status(code), "{code}");
        }
        assert_eq!(as_status(ErrorCode::UseDpopNonce), StatusCode::BAD_REQUEST);
        assert_eq!(
            as_status(ErrorCode::ServerError),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn a_store_failure_is_told_without_its_detail() {
        let (status, told) =
            ApiError::from(StoreError::Unavailable("db.internal:5432 refused".into()))
                .answer(as_status);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(told.code, ErrorCode::TemporarilyUnavailable);
        assert!(!told.description.contains("db.internal"));
        let (status, told) =
            ApiError::from(StoreError::Conflict("handle".into())).answer(as_status);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(told.code, ErrorCode::InvalidRequest);
    }
}
