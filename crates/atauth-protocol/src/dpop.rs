//! DPoP proofs (RFC 9449) and stateless server nonces.
//!
//! HELPER-OWNED: signatures below are the contract.

use crate::clock::UnixTime;
use crate::OAuthError;

/// What the request a proof accompanies looks like.
#[derive(Debug, Clone)]
pub struct ProofContext<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// The endpoint URL built from the tenant's configured issuer (never from request headers),
    /// without query or fragment.
    pub url: &'a str,
    /// The access token presented with the proof (resource requests); `None` at the AS,
    /// where a proof carrying `ath` is refused.
    pub access_token: Option<&'a str>,
    pub now: UnixTime,
}

/// A proof whose signature, `typ`, `htm`, `htu`, `iat` and `ath` checked out.
/// The caller still checks the nonce (before recording the `jti`) and the `jti` replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// RFC 7638 thumbprint of the proof key (what `cnf.jkt` binds to).
    pub jkt: String,
    pub jti: String,
    pub iat: UnixTime,
    pub nonce: Option<String>,
}

/// Verifies a DPoP proof JWT. Errors are `invalid_dpop_proof`.
pub fn verify_proof(_proof: &str, _ctx: &ProofContext<'_>) -> Result<VerifiedProof, OAuthError> {
    todo!()
}

/// Stateless nonces: HMAC-SHA256(secret, time counter), accepted for the previous, current and
/// next counter. All instances sharing the secret agree.
pub struct NonceIssuer {
    _todo: (),
}

impl NonceIssuer {
    pub fn new(_secret: &[u8]) -> Self {
        todo!()
    }
    pub fn current(&self, _now: UnixTime) -> String {
        todo!()
    }
    pub fn is_valid(&self, _nonce: &str, _now: UnixTime) -> bool {
        todo!()
    }
}
