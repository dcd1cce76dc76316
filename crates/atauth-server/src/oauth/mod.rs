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

/// What a DPoP-bound client request establishes before anything else: a valid proof with a
/// current nonce (checked first, so a `use_dpop_nonce` retry finds nothing consumed), the
/// client's validated metadata, and how it authenticated.
pub struct DpopClient {
    pub proof: atauth_protocol::dpop::VerifiedProof,
    pub client: atauth_protocol::client::ClientMetadata,
    pub auth: crate::client_registry::ClientAuth,
}

pub async fn dpop_client(
    state: &crate::state::AppState,
    tenant: &crate::tenant::TenantContext,
    headers: &HeaderMap,
    params: &Params,
    path: &str,
    now: i64,
) -> Result<DpopClient, OAuthError> {
    let proof = crate::dpop_guard::require_proof(tenant, headers, path, now).await?;
    let client_id = params
        .get("client_id")
        .ok_or_else(|| OAuthError::invalid_client("Missing client_id"))?;
    let clients = &state.inner.clients;
    let client = clients.resolve(client_id).await?;
    let auth = clients.authenticate(tenant, &client, params, now).await?;
    // One key, one purpose: a proof key must not double as the client's authentication key.
    if auth.key_thumbprint() == Some(proof.jkt.as_str()) {
        return Err(OAuthError::invalid_request(
            "The DPoP proof must not be signed with the client authentication key",
        ));
    }
    Ok(DpopClient {
        proof,
        client,
        auth,
    })
}

/// A JSON answer that must never be cached (RFC 6749 section 5.1).
pub fn no_store_json(status: StatusCode, body: impl serde::Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    h.insert(header::PRAGMA, http::HeaderValue::from_static("no-cache"));
    response
}
