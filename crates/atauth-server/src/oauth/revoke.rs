//! Token revocation (RFC 7009). Revoking either token of a session ends the whole session.

use crate::dpop_guard;
use crate::error::ApiError;
use crate::oauth::{no_store_json, BodyParams};
use crate::state::AppState;
use crate::tenant::CurrentTenant;
use crate::tokens;
use atauth_protocol::access_token;
use atauth_protocol::random::hash_secret;
use atauth_protocol::OAuthError;
use axum::extract::State;
use axum::response::Response;
use http::HeaderMap;

pub async fn revoke(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    headers: HeaderMap,
    BodyParams(params): BodyParams,
) -> Result<Response, ApiError> {
    let now = state.now();
    // DPoP is optional at revocation (RFC 7009 predates it), but a proof that is sent must be
    // valid and carry a current nonce.
    if let Some(proof) = dpop_guard::dpop_header(&headers)? {
        dpop_guard::verify_proof(
            &tenant,
            proof,
            "POST",
            &tenant.url("/oauth/revoke"),
            None,
            now,
        )
        .await?;
    }
    let token = params.require("token")?;
    let client_id = params
        .get("client_id")
        .ok_or_else(|| OAuthError::invalid_client("Missing client_id"))?;
    let client = state.inner.clients.resolve(client_id).await?;
    // Deliberate difference 8: RFC 7009 section 2.1 requires authenticating the client.
    state
        .inner
        .clients
        .authenticate(&tenant, &client, &params, now)
        .await?;

    let session_id = if tokens::is_refresh_token_shape(token) {
        let hash = hash_secret(token);
        let repo = &tenant.repo;
        match repo.session_by_refresh(&hash).await? {
            Some(s) => Some(s),
            None => repo.session_by_previous_refresh(&hash).await?,
        }
        .filter(|s| s.client_id == client.client_id)
        .map(|s| s.id)
    } else {
        access_token::verify(token, tenant.issuer(), now, &|kid| tenant.public_key(kid))
            .ok()
            .filter(|claims| claims.client_id == client.client_id)
            .map(|claims| claims.sid)
    };
    // RFC 7009 section 2.2: an unknown or foreign token still gets 200.
    if let Some(id) = session_id {
        tenant.repo.revoke_session(&id, now).await?;
    }
    Ok(no_store_json(http::StatusCode::OK, serde_json::json!({})))
}
