//! Pushed authorization requests (RFC 9126), mandatory in the atproto profile.

use crate::error::ApiError;
use crate::oauth::{dpop_client, no_store_json, BodyParams, DpopClient};
use crate::state::AppState;
use crate::stored_request::StoredRequest;
use crate::tenant::CurrentTenant;
use atauth_protocol::constants::{PAR_LIFETIME_SECS, PKCE_CHALLENGE_REUSE_WINDOW_SECS};
use atauth_protocol::random;
use atauth_protocol::request;
use atauth_protocol::OAuthError;
use atauth_store::NewAuthRequest;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, StatusCode};

pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:req-";
const PKCE_NAMESPACE: &str = "pkce_challenge";

pub async fn push(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    headers: HeaderMap,
    BodyParams(params): BodyParams,
) -> Result<Response, ApiError> {
    let now = state.now();
    let DpopClient {
        proof,
        client,
        auth,
    } = dpop_client(&state, &tenant, &headers, &params, "/oauth/par", now).await?;
    let request = request::validate_par(&params, &client, &proof.jkt)?;
    // Every `include:` must resolve (profile section 5.3, checklist 49).
    let permission_sets = state
        .permission_sets
        .resolve_includes(
            crate::tenant::issuer_host(tenant.issuer()),
            &request.scopes(),
        )
        .await?;

    // Deliberate difference 6: a PKCE challenge is usable for one flow only, refused at PAR.
    let first_use = tenant
        .repo
        .record_once(
            PKCE_NAMESPACE,
            &request.code_challenge,
            now + PKCE_CHALLENGE_REUSE_WINDOW_SECS,
            now,
        )
        .await?;
    if !first_use {
        return Err(OAuthError::invalid_request(
            "This code_challenge was already used; generate a new PKCE verifier for every request",
        )
        .into());
    }

    let id = random::hex_id(state.inner.rng.as_ref(), 16);
    let stored = StoredRequest {
        request,
        client_key_thumbprint: auth.key_thumbprint().map(str::to_string),
        permission_sets,
    };
    let request_json = stored
        .to_json()
        .ok_or_else(|| OAuthError::server_error("Could not store the request"))?;
    tenant
        .repo
        .insert_request(NewAuthRequest {
            id: id.clone(),
            client_id: client.client_id.clone(),
            request_json,
            expires_at: now + PAR_LIFETIME_SECS,
            now,
        })
        .await?;
    let body = serde_json::json!({
        "request_uri": format!("{REQUEST_URI_PREFIX}{id}"),
        "expires_in": PAR_LIFETIME_SECS,
    });
    Ok(no_store_json(StatusCode::CREATED, body))
}

/// The request id inside a `request_uri` we issued, if it has our shape.
pub fn request_id(request_uri: &str) -> Option<&str> {
    request_uri
        .strip_prefix(REQUEST_URI_PREFIX)
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}
