//! Token introspection (RFC 7662) for authenticated confidential clients: a client learns about
//! tokens issued to itself; anything else is `{"active": false}`.

use crate::error::ApiError;
use crate::oauth::{no_store_json, BodyParams};
use crate::session_rules;
use crate::state::AppState;
use crate::tenant::CurrentTenant;
use crate::tokens;
use atauth_protocol::access_token;
use atauth_protocol::random::hash_secret;
use atauth_protocol::OAuthError;
use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};

pub async fn introspect(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    BodyParams(params): BodyParams,
) -> Result<Response, ApiError> {
    let answer = |body: Value| -> Result<Response, ApiError> {
        Ok(no_store_json(http::StatusCode::OK, body))
    };
    let now = state.now();
    let client_id = params.get("client_id").ok_or_else(|| {
        OAuthError::invalid_client("Introspection requires client authentication")
    })?;
    let client = state.inner.clients.resolve(client_id).await?;
    if !client.is_confidential() {
        return Err(OAuthError::invalid_client(
            "Only confidential clients (private_key_jwt) may introspect tokens",
        )
        .into());
    }
    state
        .inner
        .clients
        .authenticate(&tenant, &client, &params, now)
        .await?;
    let token = params.require("token")?;
    let inactive = json!({ "active": false });

    if tokens::is_refresh_token_shape(token) {
        let session = tenant.repo.session_by_refresh(&hash_secret(token)).await?;
        let Some(s) = session.filter(|s| s.client_id == client.client_id && s.is_live(now)) else {
            return answer(inactive);
        };
        return answer(json!({
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
        return answer(inactive);
    };
    if claims.client_id != client.client_id {
        return answer(inactive);
    }
    let live = tenant
        .repo
        .session_by_id(&claims.sid)
        .await?
        .is_some_and(|s| session_rules::honours_access_token(&s, claims.iat, now));
    if !live {
        return answer(inactive);
    }
    answer(json!({
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
