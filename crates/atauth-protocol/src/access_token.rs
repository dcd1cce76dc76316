//! JWT access tokens (RFC 9068 shape, `typ: at+jwt`), bound to a DPoP key via `cnf.jkt`.
//!
//! HELPER-OWNED: signatures below are the contract.

use crate::clock::UnixTime;
use crate::jose::{PublicJwk, SigningKey};
use crate::OAuthError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub jti: String,
    /// Session id, so resource servers and introspection can check revocation.
    pub sid: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
    pub cnf: Confirmation,
}

pub fn sign(_key: &SigningKey, _claims: &AccessTokenClaims) -> Result<String, OAuthError> {
    todo!()
}

/// Verifies signature, `typ`, `iss`, `exp`; `key_for_kid` looks up the tenant's verification key.
/// Errors are `invalid_token`.
pub fn verify(
    _token: &str,
    _issuer: &str,
    _now: UnixTime,
    _key_for_kid: &dyn Fn(&str) -> Option<PublicJwk>,
) -> Result<AccessTokenClaims, OAuthError> {
    todo!()
}
