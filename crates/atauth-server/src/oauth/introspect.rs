//! Token introspection (RFC 7662) for authenticated confidential clients: a client learns about
//! tokens issued to itself; anything else is `{"active": false}`.

use crate::error::{store_error, ApiError};
use crate::oauth::{body_params, no_store_json};
use crate::state::AppState;
use crate::tenant::{CurrentTenant, TenantContext};
use crate::tokens;
use atauth_protocol::access_token;
use atauth_protocol::params::Params;
use atauth_protocol::random::hash_secret;
use atauth_protocol::OAuthError;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde_json::{json, Value};

pub async fn introspect(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    headers: HeaderMap,
    body: crate::oauth::Body,
) -> Response {
    let params = match body_params(&headers, &body) {
        Ok(p) => p,
        Err(response) => return response,
    };
    match handle(&state, &tenant, &params).await {
        Ok(body) => no_store_json(http::StatusCode::OK, body),
        Err(e) => ApiError(e).into_response(),
    }
}

async fn handle(
    state: &AppState,
    tenant: &TenantContext,
    params: &Params,
) -> Result<Value, OAuthError> {
    let now = state.now();
    let client_id = params.get("client_id").ok_or_else(|| {
        OAuthError::invalid_client("Introspection requires client authentication")
    })?;
    let client = state.inner.clients.resolve(client_id).await?;
    if !client.is_confidential() {
        return Err(OAuthError::invalid_client(
            "Only confidential clients (private_key_jwt) may introspect tokens",
        ));
    }
    state
        .inner
        .clients
        .authenticate(tenant, &client, params, now)
        .await?;
    let token = params.require("token")?;
    let inactive = json!({ "active": false });

    if tokens::is_refresh_token_shape(token) {
        let session = tenant
            .repo
            .session_by_refresh(&hash_secret(token))
            .await
            .map_err(|e| store_error(&e))?;
        let Some(s) = session.filter(|s| s.client_id == client.client_id && s.revoked_at.is_none())
        else {
            return Ok(inactive);
        };
        if s.refresh_expires_at <= now || s.expires_at.is_some_and(|e| e <= now) {
            return Ok(inactive);
        }
        return Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": s.scope,
            "client_id": s.client_id,
            "sub": s.did,
            "iss": tenant.issuer(),
            "exp": s.refresh_expires_at,
            "iat": s.created_at,
            "cnf": { "jkt": s.dpop_jkt },
        }));
    }

    let Ok(claims) =
        access_token::verify(token, tenant.issuer(), now, &|kid| tenant.public_key(kid))
    else {
        return Ok(inactive);
    };
    if claims.client_id != client.client_id {
        return Ok(inactive);
    }
    let live = tenant
        .repo
        .session_by_id(&claims.sid)
        .await
        .map_err(|e| store_error(&e))?
        .is_some_and(|s| tokens::session_honours_access_token(&s, claims.iat, now));
    if !live {
        return Ok(inactive);
    }
    Ok(json!({
        "active": true,
        "token_type": "DPoP",
        "scope": claims.scope,
        "client_id": claims.client_id,
        "sub": claims.sub,
        "aud": claims.aud,
        "iss": claims.iss,
        "exp": claims.exp,
        "iat": claims.iat,
        "jti": claims.jti,
        "cnf": { "jkt": claims.cnf.jkt },
    }))
}
