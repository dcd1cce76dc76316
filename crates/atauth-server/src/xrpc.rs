//! The minimal resource server of the all-in-one mode: `com.atproto.server.getSession`,
//! answering DPoP-bound access tokens so a client can call an API after signing in.

use crate::dpop_guard;
use crate::error::{ApiError, ResourceError};
use crate::session_rules;
use crate::state::AppState;
use crate::tenant::{CurrentTenant, TenantContext};
use atauth_protocol::OAuthError;
use atauth_resource::{AccountAction, AccountAttr, ResourceRequest};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::HeaderMap;
use serde_json::{json, Value};

const GET_SESSION_PATH: &str = "/xrpc/com.atproto.server.getSession";

pub async fn get_session(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    headers: HeaderMap,
) -> Result<Response, ResourceError> {
    let now = state.now();
    let nonce = tenant.nonces.current(now);
    let body = match session_of(&tenant, &headers, now).await {
        Ok(body) => body,
        Err(error) => return Err(ResourceError { error, nonce }),
    };
    let mut response = Json(body).into_response();
    if let Ok(v) = http::HeaderValue::from_str(&nonce) {
        response.headers_mut().insert("dpop-nonce", v);
    }
    Ok(response)
}

/// The account behind the request's access token, as `getSession` describes it.
async fn session_of(
    tenant: &TenantContext,
    headers: &HeaderMap,
    now: i64,
) -> Result<Value, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let dpop = dpop_guard::dpop_header(headers)?;
    // htu is built from the configured resource server origin, never from request headers.
    let url = format!("{}{}", tenant.tenant.resource_server, GET_SESSION_PATH);
    let request = ResourceRequest {
        method: "GET",
        url: &url,
        authorization: header("authorization"),
        dpop,
        now,
    };
    let principal = atauth_resource::verify_request(
        &request,
        tenant.issuer(),
        &|kid| tenant.public_key(kid),
        &|n| tenant.nonces.is_valid(n, now),
    )?;
    if principal.claims.aud != tenant.tenant.resource_server {
        return Err(
            OAuthError::invalid_token("The token is meant for another resource server").into(),
        );
    }
    dpop_guard::check_nonce_and_replay(tenant, &principal.proof, now).await?;
    let live = tenant
        .repo
        .session_by_id(&principal.claims.sid)
        .await?
        .is_some_and(|s| session_rules::honours_access_token(&s, principal.claims.iat, now));
    if !live {
        return Err(OAuthError::invalid_token(
            "This access token was revoked or replaced, or its session has ended",
        )
        .into());
    }
    let account = tenant
        .repo
        .account_by_did(&principal.claims.sub)
        .await?
        .filter(|a| !a.disabled)
        .ok_or_else(|| OAuthError::invalid_token("The account is no longer available"))?;
    let mut body = json!({
        "handle": account.handle,
        "did": account.did,
        "active": true,
    });
    // `account:email` or `transition:email` (atproto spec "Permissions").
    let may_read_email = principal
        .permissions()
        .may_account(AccountAttr::Email, AccountAction::Read);
    if let (true, Some(email)) = (may_read_email, &account.email) {
        body["email"] = json!(email);
        body["emailConfirmed"] = json!(false);
    }
    Ok(body)
}
