//! The OAuth endpoints of one tenant.

pub mod introspect;
pub mod metadata;
pub mod par;
pub mod revoke;
pub mod token;

use crate::error::ApiError;
use atauth_protocol::params::Params;
use atauth_protocol::OAuthError;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};

/// A request body, or why it could not be read (too large: 413), answered as a JSON error
/// like every other failure of these endpoints.
pub type Body = Result<Bytes, BytesRejection>;

/// Reads request parameters from a form body (or, like the reference server, a JSON body).
/// A missing or other content type is 415 `invalid_request`; an unreadable or oversized body
/// keeps its status (413 for more than the body limit) with an `invalid_request` JSON body.
pub fn body_params(headers: &HeaderMap, body: &Body) -> Result<Params, Response> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let err = OAuthError::invalid_request(rejection.body_text());
            return Err(crate::error::json_error(rejection.status(), &err));
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let parsed = match content_type.as_deref() {
        Some("application/x-www-form-urlencoded") => Params::parse(body),
        Some("application/json") => Params::from_json(body),
        _ => {
            let err = OAuthError::invalid_request(
                "Content-Type must be application/x-www-form-urlencoded (or application/json)",
            );
            return Err(crate::error::json_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &err,
            ));
        }
    };
    parsed.map_err(|e| ApiError(e).into_response())
}
