//! DPoP checks at the authorization server: proof, nonce, then `jti` replay, in that order.

use crate::error::ApiError;
use crate::tenant::TenantContext;
use atauth_protocol::constants::DPOP_JTI_TTL_SECS;
use atauth_protocol::dpop::{self, ProofContext, VerifiedProof};
use atauth_protocol::OAuthError;
use http::HeaderMap;

const DPOP_JTI_NAMESPACE: &str = "dpop";

/// The single `DPoP` header of a request, if any (several are an error: RFC 9449 section 4.3).
pub fn dpop_header(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let mut values = headers.get_all("dpop").iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::invalid_dpop_proof(
            "Only one DPoP header is allowed",
        ));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| OAuthError::invalid_dpop_proof("DPoP header is not valid ASCII"))
}

/// Verifies the request's DPoP proof for `POST <issuer><path>`, requires a current server nonce
/// (400 `use_dpop_nonce` otherwise), and records the `jti` so the proof cannot be replayed.
pub async fn require_proof(
    tenant: &TenantContext,
    headers: &HeaderMap,
    path: &str,
    now: i64,
) -> Result<VerifiedProof, ApiError> {
    let proof = dpop_header(headers)?
        .ok_or_else(|| OAuthError::invalid_dpop_proof("DPoP proof required"))?;
    verify_proof(tenant, proof, "POST", &tenant.url(path), None, now).await
}

/// Shared by the authorization server and the built-in resource server.
pub async fn verify_proof(
    tenant: &TenantContext,
    proof: &str,
    method: &str,
    url: &str,
    access_token: Option<&str>,
    now: i64,
) -> Result<VerifiedProof, ApiError> {
    let verified = dpop::verify_proof(
        proof,
        &ProofContext {
            method,
            url,
            access_token,
            now,
        },
    )?;
    check_nonce_and_replay(tenant, &verified, now).await?;
    Ok(verified)
}

pub async fn check_nonce_and_replay(
    tenant: &TenantContext,
    verified: &VerifiedProof,
    now: i64,
) -> Result<(), ApiError> {
    match &verified.nonce {
        Some(nonce) if tenant.nonces.is_valid(nonce, now) => {}
        _ => return Err(OAuthError::use_dpop_nonce().into()),
    }
    let key = format!("{}:{}", verified.jkt, verified.jti);
    // Fail closed: an unreachable replay cache refuses the request (503), never lets it pass.
    let first_use = tenant
        .replay
        .record_once(DPOP_JTI_NAMESPACE, &key, now + DPOP_JTI_TTL_SECS, now)
        .await?;
    if !first_use {
        return Err(
            OAuthError::invalid_dpop_proof("DPoP proof was already used (jti replay)").into(),
        );
    }
    Ok(())
}
