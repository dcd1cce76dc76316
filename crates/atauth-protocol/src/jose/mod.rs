//! A small compact-JWS module over aws-lc-rs: ES256 (P-256) and ES256K (secp256k1).
//!
//! Only these two algorithms exist here: `none`, HMAC and RSA are unrepresentable, so an
//! algorithm-confusion attack has nothing to confuse. Keys are parsed (and their point
//! validated) once, then reused for every verification.
//!
//! - [`PublicJwk`] / [`JwkSet`]: public EC keys from JWK JSON (RFC 7517, RFC 7518 section 6.2).
//! - [`UnverifiedJws`]: a decoded compact JWS (RFC 7515 section 7.1) awaiting verification.
//! - [`SigningKey`]: the cooperative's private key, signing compact JWTs.

mod jwk;
mod jws;
mod signing;

#[cfg(test)]
pub(crate) mod test_support;

pub use jwk::{JwkSet, PublicJwk};
pub use jws::{UnverifiedJws, MAX_JWS_BYTES};
pub use signing::SigningKey;

use aws_lc_rs::signature::{
    EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, ECDSA_P256K1_SHA256_FIXED,
    ECDSA_P256K1_SHA256_FIXED_SIGNING, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    #[error("malformed JWS: {0}")]
    Malformed(&'static str),
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    #[error("signature verification failed")]
    BadSignature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Es256,
    Es256k,
}

impl Algorithm {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            "ES256K" => Some(Self::Es256k),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es256k => "ES256K",
        }
    }
    /// The algorithm a JWK `crv` implies (RFC 7518 section 6.2.1.1, RFC 8812 section 3.1).
    pub fn from_curve(crv: &str) -> Option<Self> {
        match crv {
            "P-256" => Some(Self::Es256),
            "secp256k1" => Some(Self::Es256k),
            _ => None,
        }
    }
    /// The JWK `crv` name of this algorithm's curve.
    pub fn curve(self) -> &'static str {
        match self {
            Self::Es256 => "P-256",
            Self::Es256k => "secp256k1",
        }
    }
    /// Fixed-width `r || s` signatures (RFC 7518 section 3.4), SHA-256.
    pub(crate) fn verification(self) -> &'static EcdsaVerificationAlgorithm {
        match self {
            Self::Es256 => &ECDSA_P256_SHA256_FIXED,
            Self::Es256k => &ECDSA_P256K1_SHA256_FIXED,
        }
    }
    pub(crate) fn signing(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            Self::Es256 => &ECDSA_P256_SHA256_FIXED_SIGNING,
            Self::Es256k => &ECDSA_P256K1_SHA256_FIXED_SIGNING,
        }
    }
}

/// Length of one affine coordinate, and of each of `r` and `s`, for both curves.
pub(crate) const COORDINATE_BYTES: usize = 32;
/// A fixed-width ECDSA signature, `r || s`.
pub(crate) const SIGNATURE_BYTES: usize = 2 * COORDINATE_BYTES;

/// Unpadded base64url (RFC 7515 section 2).
pub(crate) fn b64_encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict unpadded base64url: padding, whitespace and non-canonical trailing bits are refused.
pub(crate) fn b64_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// `base64url(SHA-256(data))`: RFC 7638 thumbprints and RFC 9449 `ath`.
pub(crate) fn sha256_b64(data: &[u8]) -> String {
    b64_encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_and_curves_round_trip() {
        for alg in [Algorithm::Es256, Algorithm::Es256k] {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
            assert_eq!(Algorithm::from_curve(alg.curve()), Some(alg));
        }
        for name in [
            "none", "HS256", "RS256", "PS256", "ES384", "EdDSA", "es256", "",
        ] {
            assert_eq!(Algorithm::from_name(name), None, "{name}");
        }
    }

    /// Keys live in shared server state, across threads.
    #[test]
    fn keys_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PublicJwk>();
        assert_send_sync::<JwkSet>();
        assert_send_sync::<SigningKey>();
        assert_send_sync::<crate::dpop::NonceIssuer>();
    }

    #[test]
    fn base64_is_strict() {
        assert_eq!(b64_decode("AQID").as_deref(), Some(&[1u8, 2, 3][..]));
        assert!(b64_decode("AQ==").is_none(), "padding");
        assert!(b64_decode("AQ+/").is_none(), "standard alphabet");
        assert!(b64_decode("AR").is_none(), "non-canonical trailing bits");
        assert!(b64_decode("AQ I").is_none(), "whitespace");
    }
}
