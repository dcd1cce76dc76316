//! The token endpoint: `authorization_code` and `refresh_token` grants (RFC 6749 section 4.1.3,
//! section 6; atproto profile: DPoP-bound, refresh tokens single use and rotated).

use crate::client_registry::ClientAuth;
use crate::error::{store_error, ApiError};
use crate::oauth::{body_params, dpop_client, no_store_json, DpopClient};
use crate::state::AppState;
use crate::stored_request::StoredRequest;
use crate::tenant::{CurrentTenant, TenantContext};
use crate::tokens::{self, TokenResponse};
use atauth_protocol::client::ClientMetadata;
use atauth_protocol::constants::{PKCE_CHALLENGE_REUSE_WINDOW_SECS, REFRESH_RETRY_GRACE_SECS};
use atauth_protocol::dpop::VerifiedProof;
use atauth_protocol::params::Params;
use atauth_protocol::random::{self, hash_secret};
use atauth_protocol::{pkce, OAuthError};
use atauth_store::{BoundRotation, CodeConsumption, NewSession, Rotation, Session};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;

pub async fn token(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    headers: HeaderMap,
    body: crate::oauth::Body,
) -> Response {
    let params = match body_params(&headers, &body) {
        Ok(p) => p,
        Err(response) => return response,
    };
    match handle(&state, &tenant, &headers, &params).await {
        Ok(body) => no_store_json(http::StatusCode::OK, body),
        Err(e) => ApiError(e).into_response(),
    }
}

async fn handle(
    state: &AppState,
    tenant: &TenantContext,
    headers: &HeaderMap,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let now = state.now();
    let grant_type = params.require("grant_type")?;
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return Err(OAuthError::new(
            atauth_protocol::ErrorCode::UnsupportedGrantType,
            format!("Unsupported grant_type \"{grant_type}\""),
        ));
    }
    let DpopClient {
        proof,
        client,
        auth,
    } = dpop_client(state, tenant, headers, params, "/oauth/token", now).await?;
    match grant_type {
        "authorization_code" => {
            exchange_code(state, tenant, &client, &auth, &proof, params, now).await
        }
        _ => refresh(state, tenant, &client, &auth, &proof, params, now).await,
    }
}

async fn exchange_code(
    state: &AppState,
    tenant: &TenantContext,
    client: &ClientMetadata,
    auth: &ClientAuth,
    proof: &VerifiedProof,
    params: &Params,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let code = params.require("code")?;
    // The code is consumed before any other check: a failed exchange burns it (reference rule).
    let record = match tenant
        .repo
        .consume_code(&hash_secret(code), now)
        .await
        .map_err(|e| store_error(&e))?
    {
        CodeConsumption::Consumed(record) => record,
        CodeConsumption::Reused(record) => {
            // RFC 6749 section 4.1.2: revoke what the code issued when it is replayed. The mark
            // tells a winner that is still creating its session to revoke it itself.
            mark_code_exchanged(tenant, &record.id, now).await?;
            tenant
                .repo
                .revoke_sessions_of_request(&record.id, now)
                .await
                .map_err(|e| store_error(&e))?;
            return Err(OAuthError::invalid_grant(
                "This code was already used; the tokens it produced have been revoked",
            ));
        }
        CodeConsumption::Unknown => return Err(OAuthError::invalid_grant("Invalid code")),
    };
    let approval = record
        .approval
        .as_ref()
        .ok_or_else(|| OAuthError::invalid_grant("Invalid code"))?;
    if record.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "This code was issued to another client",
        ));
    }
    if approval.code_expires_at <= now {
        return Err(OAuthError::invalid_grant("This code has expired"));
    }
    let StoredRequest {
        request,
        client_key_thumbprint,
        ..
    } = StoredRequest::from_json(&record.request_json)
        .ok_or_else(|| OAuthError::server_error("Stored request is unreadable"))?;
    if client_key_thumbprint.as_deref() != auth.key_thumbprint() {
        return Err(OAuthError::invalid_grant(
            "The client authenticated with another key than for the authorization request",
        ));
    }
    if let Some(redirect_uri) = params.get("redirect_uri") {
        if redirect_uri != request.redirect_uri {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the one of the authorization request",
            ));
        }
    }
    let verifier = params
        .get("code_verifier")
        .ok_or_else(|| OAuthError::invalid_grant("Missing code_verifier"))?;
    pkce::verify(verifier, &request.code_challenge)?;
    if proof.jkt != request.dpop_jkt {
        return Err(OAuthError::invalid_grant(
            "The DPoP key differs from the one used for the authorization request",
        ));
    }
    let account = tenant
        .repo
        .account_by_id(&approval.account_id)
        .await
        .map_err(|e| store_error(&e))?
        .filter(|a| !a.disabled)
        .ok_or_else(|| OAuthError::invalid_grant("The account is no longer available"))?;

    let rng = state.inner.rng.as_ref();
    let session_id = random::token(rng, 16);
    let refresh_token = client
        .allows_refresh()
        .then(|| tokens::new_refresh_token(rng, &session_id));
    let (expires_at, refresh_expires_at) = if client.is_confidential() {
        (
            None,
            now + tenant.policies.confidential_refresh_inactivity_secs,
        )
    } else {
        let end = now + tenant.policies.public_session_lifetime_secs;
        (Some(end), end)
    };
    let session = tenant
        .repo
        .create_session(NewSession {
            id: session_id,
            account_id: account.id.clone(),
            did: account.did.clone(),
            client_id: client.client_id.clone(),
            request_id: record.id.clone(),
            dpop_jkt: proof.jkt.clone(),
            scope: approval.granted_scope.clone(),
            client_key_thumbprint: auth.key_thumbprint().map(str::to_string),
            refresh_hash: refresh_token.as_deref().map(hash_secret),
            expires_at,
            refresh_expires_at,
            now,
        })
        .await
        .map_err(|e| store_error(&e))?;
    // A replay that raced this exchange may have revoked the request's sessions before this
    // one existed; it left a mark, so revoke this session here.
    if !mark_code_exchanged(tenant, &record.id, now).await? {
        tenant
            .repo
            .revoke_session(&session.id, now)
            .await
            .map_err(|e| store_error(&e))?;
        return Err(OAuthError::invalid_grant(
            "This code was used twice; the tokens it produced have been revoked",
        ));
    }
    tokens::token_response(tenant, &session, refresh_token, rng, now)
}

async fn refresh(
    state: &AppState,
    tenant: &TenantContext,
    client: &ClientMetadata,
    auth: &ClientAuth,
    proof: &VerifiedProof,
    params: &Params,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let presented = params.require("refresh_token")?;
    if !client.allows_refresh() {
        return Err(OAuthError::invalid_grant(
            "This client is not allowed to use refresh tokens",
        ));
    }
    if !tokens::is_refresh_token_shape(presented) {
        return Err(OAuthError::invalid_grant("Invalid refresh token"));
    }
    let presented_hash = hash_secret(presented);
    let successor = tokens::successor_refresh_token(tenant, presented);
    let successor_hash = hash_secret(&successor);
    let repo = &tenant.repo;
    let rng = state.inner.rng.as_ref();

    // The usual refresh: the session's client, DPoP key and client key match and it is live;
    // checked and rotated by one statement. Anything else takes the path below, which reads the
    // session to give the precise answer (and revokes where the rules say so).
    let bound = BoundRotation {
        new_hash: successor_hash.clone(),
        now,
        client_id: client.client_id.clone(),
        dpop_jkt: proof.jkt.clone(),
        client_key_thumbprint: auth.key_thumbprint().map(str::to_string),
        inactivity_deadline: client
            .is_confidential()
            .then_some(now + tenant.policies.confidential_refresh_inactivity_secs),
    };
    if let Some(rotated) = repo
        .rotate_refresh_bound(&presented_hash, &bound)
        .await
        .map_err(|e| store_error(&e))?
    {
        return tokens::token_response(tenant, &rotated, Some(successor), rng, now);
    }

    if let Some(session) = repo
        .session_by_refresh(&presented_hash)
        .await
        .map_err(|e| store_error(&e))?
    {
        check_session_binding(tenant, &session, client, auth, proof, now).await?;
        let refresh_expires_at = bound.refresh_deadline(&session);
        let rotation = Rotation {
            new_hash: successor_hash.clone(),
            refresh_expires_at,
            now,
        };
        if let Some(rotated) = repo
            .rotate_refresh(&presented_hash, rotation)
            .await
            .map_err(|e| store_error(&e))?
        {
            return tokens::token_response(tenant, &rotated, Some(successor), rng, now);
        }
        // Lost a race with a concurrent rotation of the same token: treat like a retry below.
    }

    let Some(session) = repo
        .session_by_previous_refresh(&presented_hash)
        .await
        .map_err(|e| store_error(&e))?
    else {
        return Err(reject_older_token(tenant, presented, now).await);
    };
    // A retry of the rotation that just happened (a lost response): same client, same DPoP
    // key, within the grace window, and the successor not rotated further. Answer the same
    // successor. Any other reuse means the token leaked: end the whole session.
    let is_retry = session.revoked_at.is_none()
        && session.client_id == client.client_id
        && session.dpop_jkt == proof.jkt
        && session.client_key_thumbprint.as_deref() == auth.key_thumbprint()
        && session
            .rotated_at
            .is_some_and(|t| now - t <= REFRESH_RETRY_GRACE_SECS)
        && session.refresh_hash.as_deref() == Some(successor_hash.as_str())
        && session_is_live(&session, now);
    if is_retry {
        return tokens::token_response(tenant, &session, Some(successor), rng, now);
    }
    repo.revoke_session(&session.id, now)
        .await
        .map_err(|e| store_error(&e))?;
    Err(OAuthError::invalid_grant(
        "This refresh token was already used; the session has been revoked",
    ))
}

/// A refresh token that is neither current nor previous: if it is a genuine older token of a
/// session, it was reused (stolen or replayed), so the whole session ends (RFC 9700 section
/// 4.14.2). Either way the answer is `invalid_grant`.
async fn reject_older_token(tenant: &TenantContext, presented: &str, now: i64) -> OAuthError {
    let invalid = || OAuthError::invalid_grant("Invalid refresh token");
    let Some(session_id) = tokens::session_id_of(presented) else {
        return invalid();
    };
    let session = match tenant.repo.session_by_id(session_id).await {
        Ok(Some(session)) if session.revoked_at.is_none() => session,
        Ok(_) => return invalid(),
        Err(e) => return store_error(&e),
    };
    if !tokens::is_older_token_of(tenant, &session, presented) {
        return invalid();
    }
    if let Err(e) = tenant.repo.revoke_session(&session.id, now).await {
        return store_error(&e);
    }
    OAuthError::invalid_grant("This refresh token was already used; the session has been revoked")
}

/// Namespace of the single-use store where code exchanges and replays meet.
const CODE_EXCHANGE_NAMESPACE: &str = "code_exchange";

/// Records that the code of request `request_id` was exchanged (or replayed). `false` if
/// someone did so before: whichever of a winner and a replay comes second learns of the other.
/// The mark lives in the tenant's replay cache, shared by all instances like the DPoP `jti`s.
async fn mark_code_exchanged(
    tenant: &TenantContext,
    request_id: &str,
    now: i64,
) -> Result<bool, OAuthError> {
    tenant
        .replay
        .record_once(
            CODE_EXCHANGE_NAMESPACE,
            request_id,
            now + PKCE_CHALLENGE_REUSE_WINDOW_SECS,
            now,
        )
        .await
        .map_err(|e| store_error(&e))
}

fn session_is_live(session: &Session, now: i64) -> bool {
    session.revoked_at.is_none()
        && session.expires_at.is_none_or(|end| end > now)
        && session.refresh_expires_at > now
}

/// Checks that the refresh comes from the session's client, with its DPoP key and (for
/// confidential clients) its authentication key; a mismatch revokes the session (reference rule).
async fn check_session_binding(
    tenant: &TenantContext,
    session: &Session,
    client: &ClientMetadata,
    auth: &ClientAuth,
    proof: &VerifiedProof,
    now: i64,
) -> Result<(), OAuthError> {
    if session.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "This refresh token was issued to another client",
        ));
    }
    if !session_is_live(session, now) {
        return Err(OAuthError::invalid_grant(
            "This session has ended; sign in again",
        ));
    }
    let mismatch = if session.dpop_jkt != proof.jkt {
        Some("The DPoP key differs from the one the session is bound to; the session has been revoked")
    } else if session.client_key_thumbprint.as_deref() != auth.key_thumbprint() {
        Some("The client authenticated with another key than at sign-in; the session has been revoked")
    } else {
        None
    };
    if let Some(reason) = mismatch {
        tenant
            .repo
            .revoke_session(&session.id, now)
            .await
            .map_err(|e| store_error(&e))?;
        return Err(OAuthError::invalid_grant(reason));
    }
    Ok(())
}
