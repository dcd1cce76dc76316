//! PKCE, S256 only (RFC 7636; atproto OAuth profile).
//!
//! The atproto spec forbids `plain`; our profile supports only `S256`, so a challenge is always
//! the unpadded base64url SHA-256 of the verifier: exactly 43 characters encoding 32 bytes.

use crate::constants::{PKCE_VERIFIER_MAX_LEN, PKCE_VERIFIER_MIN_LEN};
use crate::random::secure_eq;
use crate::OAuthError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// The only supported `code_challenge_method`.
pub const S256: &str = "S256";
/// Length of an unpadded base64url SHA-256 digest.
pub const CHALLENGE_LEN: usize = 43;

/// Checks a `code_challenge` is a base64url SHA-256 (43 chars). Errors are `invalid_request`.
///
/// `method` is required (atproto spec, "Request Fields"; RFC 7636 section 4.3 would default an
/// omitted method to `plain`, which atproto forbids).
pub fn validate_challenge(challenge: &str, method: Option<&str>) -> Result<(), OAuthError> {
    match method {
        None => {
            return Err(OAuthError::invalid_request(
                "Missing required parameter \"code_challenge_method\"; it must be \"S256\"",
            ))
        }
        Some(S256) => {}
        Some(other) => {
            return Err(OAuthError::invalid_request(format!(
                "code_challenge_method \"{}\" is not supported; atproto requires \"S256\"",
                truncate(other)
            )))
        }
    }
    // 43 unpadded characters with zero trailing bits decode to exactly 32 bytes.
    let decodes_to_digest =
        challenge.len() == CHALLENGE_LEN && URL_SAFE_NO_PAD.decode(challenge).is_ok();
    if !decodes_to_digest {
        return Err(OAuthError::invalid_request(format!(
            "code_challenge \"{}\" is not an S256 challenge: it must be the 43-character unpadded \
             base64url encoding of a SHA-256 digest",
            truncate(challenge)
        )));
    }
    Ok(())
}

/// Checks the verifier's syntax and that it hashes to the challenge, in constant time.
/// Errors are `invalid_grant`.
///
/// RFC 7636 section 4.1: `code-verifier = 43*128unreserved`, `unreserved = ALPHA / DIGIT / "-" /
/// "." / "_" / "~"`. Section 4.6: `BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge`.
pub fn verify(verifier: &str, challenge: &str) -> Result<(), OAuthError> {
    if !(PKCE_VERIFIER_MIN_LEN..=PKCE_VERIFIER_MAX_LEN).contains(&verifier.len()) {
        return Err(OAuthError::invalid_grant(format!(
            "code_verifier must be {PKCE_VERIFIER_MIN_LEN} to {PKCE_VERIFIER_MAX_LEN} characters long \
             (got {})",
            verifier.len()
        )));
    }
    if !verifier.bytes().all(is_unreserved) {
        return Err(OAuthError::invalid_grant(
            "code_verifier may only contain the characters A-Z, a-z, 0-9, \"-\", \".\", \"_\" and \"~\"",
        ));
    }
    if !secure_eq(challenge_for(verifier).as_bytes(), challenge.as_bytes()) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge of the authorization request",
        ));
    }
    Ok(())
}

/// The S256 challenge for a verifier: `BASE64URL(SHA-256(verifier))`.
pub fn challenge_for(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ))
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Echoes at most 64 characters of client input in an error description.
fn truncate(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use proptest::prelude::*;

    // RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(challenge_for(VERIFIER), CHALLENGE);
        assert!(validate_challenge(CHALLENGE, Some("S256")).is_ok());
        assert!(verify(VERIFIER, CHALLENGE).is_ok());
    }

    #[test]
    fn challenge_method_is_required() {
        let err = validate_challenge(CHALLENGE, None).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn challenge_method_plain_is_refused() {
        let err = validate_challenge(CHALLENGE, Some("plain")).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        assert!(err.description.contains("plain"));
        assert!(validate_challenge(CHALLENGE, Some("s256")).is_err());
    }

    #[test]
    fn challenge_must_be_43_base64url_chars() {
        assert!(validate_challenge(&CHALLENGE[..42], Some("S256")).is_err());
        assert!(validate_challenge(&format!("{CHALLENGE}A"), Some("S256")).is_err());
        let with_plus = CHALLENGE.replace('-', "+");
        let err = validate_challenge(&with_plus, Some("S256")).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        assert!(validate_challenge(&format!("{}=", &CHALLENGE[..42]), Some("S256")).is_err());
    }

    #[test]
    fn challenge_must_encode_exactly_32_bytes() {
        // Last character with non-zero trailing bits: not the encoding of any digest.
        let non_canonical = format!("{}N", &CHALLENGE[..42]);
        assert!(validate_challenge(&non_canonical, Some("S256")).is_err());
    }

    #[test]
    fn verifier_shorter_than_43_is_invalid_grant() {
        let v = &VERIFIER[..42];
        let err = verify(v, &challenge_for(v)).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidGrant);
    }

    #[test]
    fn verifier_longer_than_128_is_invalid_grant() {
        let ok = "a".repeat(128);
        assert!(verify(&ok, &challenge_for(&ok)).is_ok());
        let v = "a".repeat(129);
        assert_eq!(
            verify(&v, &challenge_for(&v)).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
    }

    #[test]
    fn verifier_must_use_unreserved_chars() {
        let v = format!("{}+", &VERIFIER[..42]);
        assert_eq!(
            verify(&v, &challenge_for(&v)).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
        let v = format!("{}~._-", &VERIFIER[..42]);
        assert!(verify(&v, &challenge_for(&v)).is_ok());
    }

    #[test]
    fn wrong_verifier_is_invalid_grant() {
        let other = "x".repeat(43);
        assert_eq!(
            verify(&other, CHALLENGE).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
    }

    proptest! {
        #[test]
        fn pkce_never_panics(v in "\\PC{0,200}", c in "\\PC{0,60}") {
            let _ = verify(&v, &c);
            let _ = validate_challenge(&c, Some("S256"));
        }

        #[test]
        fn every_valid_verifier_round_trips(v in "[A-Za-z0-9._~-]{43,128}") {
            let c = challenge_for(&v);
            prop_assert!(validate_challenge(&c, Some("S256")).is_ok());
            prop_assert!(verify(&v, &c).is_ok());
        }
    }
}
