//! The OAuth endpoints of one tenant.

pub mod introspect;
pub mod metadata;
pub mod par;
pub mod revoke;
pub mod token;

use crate::error::ApiError;
use crate::state::AppState;
use crate::tenant::TenantContext;
use atauth_protocol::params::Params;
use atauth_protocol::OAuthError;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};

/// The parameters of a form body (or, like the reference server, a JSON body). A missing or
/// other content type is 415 `invalid_request`; an unreadable or oversized body keeps its
/// status (413 for more than the body limit) with an `invalid_request` JSON body; duplicated
/// or malformed parameters are 400 `invalid_request`.
pub struct BodyParams(pub Params);

impl<S: Send + Sync> FromRequest<S> for BodyParams {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = media_type(request.headers());
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                ApiError::Body(
                    rejection.status(),
                    OAuthError::invalid_request(rejection.body_text()),
                )
            })?;
        let params = match content_type.as_deref() {
            Some("application/x-www-form-urlencoded") => Params::parse(&body),
            Some("application/json") => Params::from_json(&body),
            _ => return Err(ApiError::Body(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                OAuthError::invalid_request(
                    "Content-Type must be application/x-www-form-urlencoded (or application/json)",
                ),
            )),
        };
        Ok(Self(params?))
    }
}

/// The media type of `Content-Type`, lower case, without parameters.
fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
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
    state: &AppState,
    tenant: &TenantContext,
    headers: &HeaderMap,
    params: &Params,
    path: &str,
    now: i64,
) -> Result<DpopClient, ApiError> {
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
        )
        .into());
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
