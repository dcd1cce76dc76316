//! Resource-server verification of DPoP-bound access tokens (RFC 9449 section 7, RFC 6750).
//!
//! What a PDS (or atauth's own resource endpoints) runs on each request:
//! [`verify_request`] checks the `Authorization: DPoP <token>` header, the access token, the
//! `DPoP` proof and its binding to the token, and the nonce. The caller still checks the proof
//! `jti` for replay, the token's `aud`/`scope` for this resource, and that the session (`sid`)
//! is alive. Errors become a 401 with [`www_authenticate`] as the `WWW-Authenticate` value.
//!
//! Then [`Principal::permissions`] answers "may this token do X" ([`TokenPermissions`]: repo
//! writes, rpc calls, blob uploads, account and identity attributes, `transition:*`).

mod permissions;

pub use atauth_protocol::permission::{
    AccountAction, AccountAttr, IdentityAttr, PermissionRequest, RepoAction,
};
pub use permissions::TokenPermissions;

use atauth_protocol::access_token::{self, AccessTokenClaims};
use atauth_protocol::clock::UnixTime;
use atauth_protocol::dpop::{self, ProofContext, VerifiedProof};
use atauth_protocol::jose::PublicJwk;
use atauth_protocol::random::secure_eq;
use atauth_protocol::{ErrorCode, OAuthError};

/// Errors are plain OAuth errors: `invalid_token`, `invalid_dpop_proof` or `use_dpop_nonce`.
pub type ResourceError = OAuthError;

/// The algorithms we accept in DPoP proofs, as advertised in `WWW-Authenticate` (RFC 9449 section 7.1).
pub const DPOP_ALGS: &str = "ES256 ES256K";

/// One request to a protected resource, as the resource server sees it.
#[derive(Debug, Clone, Copy)]
pub struct ResourceRequest<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// The request URL built from the configured resource origin and the request path (never
    /// from `Host` or forwarding headers); the query may be left off.
    pub url: &'a str,
    /// The `Authorization` header, if any (the caller refuses several).
    pub authorization: Option<&'a str>,
    /// The `DPoP` header, if any (the caller refuses several).
    pub dpop: Option<&'a str>,
    pub now: UnixTime,
}

/// Who is calling: the verified token claims and the verified proof.
/// The caller checks `proof.jti` for replay and `claims.sid` for session liveness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub claims: AccessTokenClaims,
    pub proof: VerifiedProof,
}

impl Principal {
    /// What the token's `scope` allows.
    pub fn permissions(&self) -> TokenPermissions {
        TokenPermissions::from_scope(&self.claims.scope)
    }
}

/// Verifies a DPoP-bound access token and its proof.
///
/// 1. `Authorization` must use the `DPoP` scheme (case-insensitive, RFC 9449 section 7.1);
///    a `Bearer` token is refused, since every token we issue is DPoP-bound.
/// 2. The access token verifies ([`access_token::verify`]: signature, `typ`, `iss`, `exp`).
/// 3. The `DPoP` proof verifies for this method and URL, with `ath` hashing the token.
/// 4. The proof key's thumbprint equals the token's `cnf.jkt` (RFC 9449 section 6.1).
/// 5. The proof carries a nonce that `nonce_ok` accepts, else `use_dpop_nonce` (section 9).
pub fn verify_request(
    req: &ResourceRequest<'_>,
    issuer: &str,
    key_for_kid: &dyn Fn(&str) -> Option<PublicJwk>,
    nonce_ok: &dyn Fn(&str) -> bool,
) -> Result<Principal, ResourceError> {
    let token = dpop_token(req.authorization)?;
    let claims = access_token::verify(token, issuer, req.now, key_for_kid)?;
    let proof = req
        .dpop
        .ok_or_else(|| OAuthError::invalid_dpop_proof("DPoP proof required (DPoP header)"))?;
    let ctx = ProofContext {
        method: req.method,
        url: req.url,
        access_token: Some(token),
        now: req.now,
    };
    let proof = dpop::verify_proof(proof, &ctx)?;
    if !secure_eq(proof.jkt.as_bytes(), claims.cnf.jkt.as_bytes()) {
        return Err(OAuthError::invalid_token("token is bound to another key"));
    }
    match proof.nonce.as_deref() {
        Some(nonce) if nonce_ok(nonce) => Ok(Principal { claims, proof }),
        _ => Err(OAuthError::new(
            ErrorCode::UseDpopNonce,
            "Resource server requires nonce in DPoP proof",
        )),
    }
}

/// The token from `Authorization: DPoP <token>` (RFC 9449 section 7.1; RFC 9110 section 11.4).
fn dpop_token(authorization: Option<&str>) -> Result<&str, OAuthError> {
    let header = authorization
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| OAuthError::invalid_token("the request carries no access token"))?;
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    let token = token.trim_start_matches(' ');
    if scheme.eq_ignore_ascii_case("Bearer") {
        return Err(OAuthError::invalid_token(
            "DPoP-bound token presented as Bearer",
        ));
    }
    if !scheme.eq_ignore_ascii_case("DPoP") {
        return Err(OAuthError::invalid_token(
            "the Authorization scheme must be DPoP",
        ));
    }
    if token.is_empty() || token.contains(' ') {
        return Err(OAuthError::invalid_token(
            "the Authorization header must be DPoP followed by one access token",
        ));
    }
    Ok(token)
}

/// The `WWW-Authenticate` value for a resource-server error (RFC 9449 section 7.1, RFC 6750
/// section 3): `DPoP error="<code>", error_description="<desc>", algs="ES256 ES256K"`.
///
/// RFC 6750 allows only printable ASCII other than `"` and `\` in `error_description`, so a
/// `"` becomes `'`, a `\` becomes `/`, and anything else outside the set becomes `?`; the
/// result is always a valid header value.
pub fn www_authenticate(err: &OAuthError) -> String {
    let description: String = err
        .description
        .chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect();
    format!(
        r#"DPoP error="{}", error_description="{description}", algs="{DPOP_ALGS}""#,
        err.code.as_str()
    )
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod permission_tests;
