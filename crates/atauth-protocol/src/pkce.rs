//! PKCE, S256 only (RFC 7636; atproto OAuth profile).
//!
//! HELPER-OWNED: signatures below are the contract.

use crate::OAuthError;

/// Checks a `code_challenge` is a base64url SHA-256 (43 chars). Errors are `invalid_request`.
pub fn validate_challenge(_challenge: &str, _method: Option<&str>) -> Result<(), OAuthError> {
    todo!()
}

/// Checks the verifier's syntax and that it hashes to the challenge, in constant time.
/// Errors are `invalid_grant`.
pub fn verify(_verifier: &str, _challenge: &str) -> Result<(), OAuthError> {
    todo!()
}
