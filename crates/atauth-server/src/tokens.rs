//! Minting tokens for a session: a JWT access token and an opaque refresh token whose
//! successor is derived (HMAC) from it, so a retried refresh can be answered identically.

use crate::tenant::TenantContext;
use atauth_protocol::access_token::{self, AccessTokenClaims, Confirmation};
use atauth_protocol::constants::TOKEN_RANDOM_BYTES;
use atauth_protocol::random::{self, RandomSource};
use atauth_protocol::OAuthError;
use atauth_store::Session;
use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

/// Refresh tokens read `ref-<session id>.<secret>`: the prefix tells them from access tokens,
/// the session id lets an old, replayed token find the session it must end.
const REFRESH_PREFIX: &str = "ref-";

/// How many rotations back an old refresh token is still recognised as this session's (a public
/// session refreshed every 15 minutes for 14 days rotates about 1,350 times).
const REFRESH_CHAIN_WALK_LIMIT: usize = 2048;

pub fn new_refresh_token(rng: &dyn RandomSource, session_id: &str) -> String {
    format!(
        "{REFRESH_PREFIX}{session_id}.{}",
        random::token(rng, TOKEN_RANDOM_BYTES)
    )
}

/// The token that replaces `previous` at rotation: HMAC(tenant refresh secret, previous).
/// Only a holder of `previous` can compute it, and the same retry yields the same successor.
pub fn successor_refresh_token(tenant: &TenantContext, previous: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, &tenant.refresh_secret);
    let tag = hmac::sign(&key, previous.as_bytes());
    let session_id = session_id_of(previous).unwrap_or_default();
    format!(
        "{REFRESH_PREFIX}{session_id}.{}",
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    )
}

/// The session id a refresh token names (unverified: check with [`is_older_token_of`]).
pub fn session_id_of(token: &str) -> Option<&str> {
    token
        .strip_prefix(REFRESH_PREFIX)?
        .split_once('.')
        .map(|(id, _)| id)
        .filter(|id| !id.is_empty())
}

/// Whether `presented` is a genuine earlier refresh token of `session`: following successors
/// from it reaches the session's current or previous token. A forged token naming the session
/// never does, so it cannot get the session revoked.
pub fn is_older_token_of(tenant: &TenantContext, session: &Session, presented: &str) -> bool {
    let known = [&session.refresh_hash, &session.previous_refresh_hash];
    let mut token = presented.to_string();
    for _ in 0..REFRESH_CHAIN_WALK_LIMIT {
        token = successor_refresh_token(tenant, &token);
        let hash = random::hash_secret(&token);
        if known.iter().any(|k| k.as_deref() == Some(hash.as_str())) {
            return true;
        }
    }
    false
}

pub fn is_refresh_token_shape(token: &str) -> bool {
    token.starts_with(REFRESH_PREFIX) && token.len() <= 128
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    pub sub: String,
}

/// Builds the token response for `session` (RFC 6749 section 5.1 + atproto's `sub`).
pub fn token_response(
    tenant: &TenantContext,
    session: &Session,
    refresh_token: Option<String>,
    rng: &dyn RandomSource,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    // An access token never outlives its session (public clients: 14 days in total). Its
    // lifetime is the cooperative's policy (default 15 minutes, at most 30).
    let lifetime = tenant.policies.access_token_lifetime_secs;
    let exp = session
        .expires_at
        .map_or(now + lifetime, |end| end.min(now + lifetime));
    let claims = AccessTokenClaims {
        iss: tenant.issuer().to_string(),
        sub: session.did.clone(),
        aud: tenant.tenant.resource_server.clone(),
        client_id: session.client_id.clone(),
        scope: session.scope.clone(),
        jti: random::token(rng, 16),
        sid: session.id.clone(),
        iat: now,
        exp,
        cnf: Confirmation {
            jkt: session.dpop_jkt.clone(),
        },
    };
    let access_token = access_token::sign(tenant.signing_key()?, &claims)?;
    Ok(TokenResponse {
        access_token,
        token_type: "DPoP",
        expires_in: exp - now,
        refresh_token,
        scope: session.scope.clone(),
        sub: session.did.clone(),
    })
}
