//! The minimal resource server of the all-in-one mode: `com.atproto.server.getSession`,
//! answering DPoP-bound access tokens so a client can call an API after signing in.

use crate::dpop_guard;
use crate::error::{store_error, ResourceError};
use crate::state::AppState;
use crate::tenant::CurrentTenant;
use atauth_protocol::OAuthError;
use atauth_resource::{AccountAction, AccountAttr, ResourceRequest};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::HeaderMap;
use serde_json::json;

const GET_SESSION_PATH: &str = "/xrpc/com.atproto.server.getSession";

pub async fn get_session(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    headers: HeaderMap,
) -> Response {
    let now = state.now();
    let nonce = tenant.nonces.current(now);
    let fail = |error: OAuthError| {
        ResourceError {
            error,
            nonce: Some(nonce.clone()),
        }
        .into_response()
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let dpop = match dpop_guard::dpop_header(&headers) {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    // htu is built from the configured resource server origin, never from request headers.
    let url = format!("{}{}", tenant.tenant.resource_server, GET_SESSION_PATH);
    let request = ResourceRequest {
        method: "GET",
        url: &url,
        authorization: header("authorization"),
        dpop,
        now,
    };
    let principal = match atauth_resource::verify_request(
        &request,
        tenant.issuer(),
        &|kid| tenant.public_key(kid),
        &|n| tenant.nonces.is_valid(n, now),
    ) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if principal.claims.aud != tenant.tenant.resource_server {
        return fail(OAuthError::invalid_token(
            "The token is meant for another resource server",
        ));
    }
    if let Err(e) = dpop_guard::check_nonce_and_replay(&tenant, &principal.proof, now).await {
        return fail(e);
    }
    let session = match tenant.repo.session_by_id(&principal.claims.sid).await {
        Ok(s) => s,
        Err(e) => return fail(store_error(&e)),
    };
    let live = session.is_some_and(|s| {
        crate::tokens::session_honours_access_token(&s, principal.claims.iat, now)
    });
    if !live {
        return fail(OAuthError::invalid_token(
            "This access token was revoked or replaced, or its session has ended",
        ));
    }
    let account = match tenant.repo.account_by_did(&principal.claims.sub).await {
        Ok(Some(a)) if !a.disabled => a,
        Ok(_) => {
            return fail(OAuthError::invalid_token(
                "The account is no longer available",
            ))
        }
        Err(e) => return fail(store_error(&e)),
    };
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
    let mut response = Json(body).into_response();
    if let Ok(v) = http::HeaderValue::from_str(&nonce) {
        response.headers_mut().insert("dpop-nonce", v);
    }
    response
}
