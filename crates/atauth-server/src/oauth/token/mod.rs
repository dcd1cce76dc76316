//! The token endpoint: `authorization_code` and `refresh_token` grants (RFC 6749 section 4.1.3,
//! section 6; atproto profile: DPoP-bound, refresh tokens single use and rotated). Each grant
//! reads extract → rule ([`redemption`], [`refresh_decision`]) → store → respond.

mod redemption;
mod refresh_decision;

use crate::error::ApiError;
use crate::oauth::{dpop_client, no_store_json, BodyParams, DpopClient};
use crate::session_rules::{new_session_deadlines, refresh_inactivity_deadline};
use crate::state::AppState;
use crate::tenant::{CurrentTenant, TenantContext};
use crate::tokens::{self, TokenResponse};
use atauth_protocol::client::ClientMetadata;
use atauth_protocol::constants::PKCE_CHALLENGE_REUSE_WINDOW_SECS;
use atauth_protocol::random::{self, hash_secret};
use atauth_protocol::token_request::{CodeExchange, Grant, TokenRequest};
use atauth_protocol::OAuthError;
use atauth_store::{BoundRotation, CodeConsumption, NewSession, Rotation, Session};
use axum::extract::State;
use axum::response::Response;
use http::HeaderMap;
use refresh_decision::{CurrentToken, PreviousToken, REUSED};

/// Who presents a grant: the authenticated client, the key of its DPoP proof, and the key it
/// authenticated with (confidential clients). A code and a session are bound to all three.
#[derive(Debug, Clone, Copy)]
pub struct Presenter<'a> {
    pub client_id: &'a str,
    pub dpop_jkt: &'a str,
    pub client_key_thumbprint: Option<&'a str>,
}

impl Presenter<'_> {
    /// Whether `session` is bound to this client and these keys.
    fn is_bound_to(&self, session: &Session) -> bool {
        session.client_id == self.client_id
            && session.dpop_jkt == self.dpop_jkt
            && session.client_key_thumbprint.as_deref() == self.client_key_thumbprint
    }
}

pub async fn token(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    headers: HeaderMap,
    BodyParams(params): BodyParams,
) -> Result<Response, ApiError> {
    let now = state.now();
    // The grant type is checked first: an unsupported grant costs no DPoP or client check.
    let grant = Grant::of(&params)?;
    let DpopClient {
        proof,
        client,
        auth,
    } = dpop_client(&state, &tenant, &headers, &params, "/oauth/token", now).await?;
    let presenter = Presenter {
        client_id: &client.client_id,
        dpop_jkt: &proof.jkt,
        client_key_thumbprint: auth.key_thumbprint(),
    };
    let body = match grant.request(&params)? {
        TokenRequest::AuthorizationCode(exchange) => {
            exchange_code(&state, &tenant, &client, presenter, &exchange, now).await?
        }
        TokenRequest::RefreshToken { refresh_token } => {
            refresh(&state, &tenant, &client, presenter, refresh_token, now).await?
        }
    };
    Ok(no_store_json(http::StatusCode::OK, body))
}

async fn exchange_code(
    state: &AppState,
    tenant: &TenantContext,
    client: &ClientMetadata,
    presenter: Presenter<'_>,
    exchange: &CodeExchange<'_>,
    now: i64,
) -> Result<TokenResponse, ApiError> {
    // The code is consumed before any other check: a failed exchange burns it (reference rule).
    let record = match tenant
        .repo
        .consume_code(&hash_secret(exchange.code), now)
        .await?
    {
        CodeConsumption::Consumed(record) => record,
        CodeConsumption::Reused(record) => {
            // RFC 6749 section 4.1.2 (checklist 87): revoke what the code issued when it is
            // replayed. The mark tells a winner that is still creating its session to revoke it
            // itself.
            mark_code_exchanged(tenant, &record.id, now).await?;
            tenant
                .repo
                .revoke_sessions_of_request(&record.id, now)
                .await?;
            return Err(OAuthError::invalid_grant(
                "This code was already used; the tokens it produced have been revoked",
            )
            .into());
        }
        CodeConsumption::Unknown => return Err(OAuthError::invalid_grant("Invalid code").into()),
    };
    let approval = redemption::redeem(&record, exchange, &presenter, now)?;
    let account = tenant
        .repo
        .account_by_id(&approval.account_id)
        .await?
        .filter(|a| !a.disabled)
        .ok_or_else(|| OAuthError::invalid_grant("The account is no longer available"))?;

    let rng = state.inner.rng.as_ref();
    let session_id = random::token(rng, 16);
    let refresh_token = client
        .allows_refresh()
        .then(|| tokens::new_refresh_token(rng, &session_id));
    let (expires_at, refresh_expires_at) =
        new_session_deadlines(client.is_confidential(), &tenant.policies, now);
    let session = tenant
        .repo
        .create_session(NewSession {
            id: session_id,
            account_id: account.id,
            did: account.did,
            client_id: client.client_id.clone(),
            request_id: record.id.clone(),
            dpop_jkt: presenter.dpop_jkt.to_string(),
            scope: approval.granted_scope.clone(),
            client_key_thumbprint: presenter.client_key_thumbprint.map(str::to_string),
            refresh_hash: refresh_token.as_deref().map(hash_secret),
            expires_at,
            refresh_expires_at,
            now,
        })
        .await?;
    // A replay that raced this exchange may have revoked the request's sessions before this
    // one existed; it left a mark, so revoke this session here.
    if !mark_code_exchanged(tenant, &record.id, now).await? {
        tenant.repo.revoke_session(&session.id, now).await?;
        return Err(OAuthError::invalid_grant(
            "This code was used twice; the tokens it produced have been revoked",
        )
        .into());
    }
    Ok(tokens::token_response(
        tenant,
        &session,
        refresh_token,
        rng,
        now,
    )?)
}

async fn refresh(
    state: &AppState,
    tenant: &TenantContext,
    client: &ClientMetadata,
    presenter: Presenter<'_>,
    presented: &str,
    now: i64,
) -> Result<TokenResponse, ApiError> {
    if !client.allows_refresh() {
        return Err(
            OAuthError::invalid_grant("This client is not allowed to use refresh tokens").into(),
        );
    }
    if !tokens::is_refresh_token_shape(presented) {
        return Err(OAuthError::invalid_grant("Invalid refresh token").into());
    }
    let presented_hash = hash_secret(presented);
    let successor = tokens::successor_refresh_token(tenant, presented);
    let successor_hash = hash_secret(&successor);
    let repo = &tenant.repo;
    let rng = state.inner.rng.as_ref();
    let answer = |session: &Session, successor: String| -> Result<TokenResponse, ApiError> {
        Ok(tokens::token_response(
            tenant,
            session,
            Some(successor),
            rng,
            now,
        )?)
    };

    // The usual refresh: the session's client, DPoP key and client key match and it is live
    // (`refresh_decision::current_token` would say `Rotate`); checked and rotated by one
    // statement. Anything else takes the path below, which reads the session to give the
    // precise answer (and revokes where the rules say so).
    let bound = BoundRotation {
        new_hash: successor_hash.clone(),
        now,
        client_id: presenter.client_id.to_string(),
        dpop_jkt: presenter.dpop_jkt.to_string(),
        client_key_thumbprint: presenter.client_key_thumbprint.map(str::to_string),
        inactivity_deadline: refresh_inactivity_deadline(
            client.is_confidential(),
            &tenant.policies,
            now,
        ),
    };
    if let Some(rotated) = repo.rotate_refresh_bound(&presented_hash, &bound).await? {
        return answer(&rotated, successor);
    }

    if let Some(session) = repo.session_by_refresh(&presented_hash).await? {
        match refresh_decision::current_token(&session, &presenter, now) {
            CurrentToken::Rotate => {}
            CurrentToken::Refuse(reason) => return Err(OAuthError::invalid_grant(reason).into()),
            CurrentToken::Revoke(reason) => {
                repo.revoke_session(&session.id, now).await?;
                return Err(OAuthError::invalid_grant(reason).into());
            }
        }
        let rotation = Rotation {
            new_hash: successor_hash.clone(),
            refresh_expires_at: bound.refresh_deadline(&session),
            now,
        };
        if let Some(rotated) = repo.rotate_refresh(&presented_hash, rotation).await? {
            return answer(&rotated, successor);
        }
        // Lost a race with a concurrent rotation of the same token: treat like a retry below.
    }

    let Some(session) = repo.session_by_previous_refresh(&presented_hash).await? else {
        return Err(reject_older_token(tenant, presented, now).await);
    };
    match refresh_decision::previous_token(&session, &presenter, &successor_hash, now) {
        PreviousToken::AnswerAgain => answer(&session, successor),
        PreviousToken::Revoke => {
            repo.revoke_session(&session.id, now).await?;
            Err(OAuthError::invalid_grant(REUSED).into())
        }
    }
}

/// A refresh token that is neither current nor previous: if it is a genuine older token of a
/// session, it was reused (stolen or replayed), so the whole session ends (RFC 9700 section
/// 4.14.2). Either way the answer is `invalid_grant`.
async fn reject_older_token(tenant: &TenantContext, presented: &str, now: i64) -> ApiError {
    let invalid = || OAuthError::invalid_grant("Invalid refresh token").into();
    let Some(session_id) = tokens::session_id_of(presented) else {
        return invalid();
    };
    let session = match tenant.repo.session_by_id(session_id).await {
        Ok(Some(session)) if session.revoked_at.is_none() => session,
        Ok(_) => return invalid(),
        Err(e) => return e.into(),
    };
    if !tokens::is_older_token_of(tenant, &session, presented) {
        return invalid();
    }
    if let Err(e) = tenant.repo.revoke_session(&session.id, now).await {
        return e.into();
    }
    OAuthError::invalid_grant(REUSED).into()
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
) -> Result<bool, ApiError> {
    Ok(tenant
        .replay
        .record_once(
            CODE_EXCHANGE_NAMESPACE,
            request_id,
            now + PKCE_CHALLENGE_REUSE_WINDOW_SECS,
            now,
        )
        .await?)
}
