//! `private_key_jwt` client authentication (RFC 7523 section 2.2, atproto OAuth profile).
//!
//! HELPER-OWNED: signatures below are the contract.

use crate::clock::UnixTime;
use crate::jose::JwkSet;
use crate::OAuthError;

pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Debug, Clone)]
pub struct AssertionContext<'a> {
    pub client_id: &'a str,
    /// The issuer origin: the only `aud` accepted.
    pub issuer: &'a str,
    pub now: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub kid: String,
    /// Thumbprint of the client key that signed it.
    pub key_thumbprint: String,
    pub jti: String,
    /// When the `jti` may be forgotten.
    pub jti_expires_at: UnixTime,
}

/// Verifies a client assertion against the client's keys. Errors are `invalid_client`.
pub fn verify_client_assertion(
    _assertion: &str,
    _keys: &JwkSet,
    _ctx: &AssertionContext<'_>,
) -> Result<VerifiedAssertion, OAuthError> {
    todo!()
}
