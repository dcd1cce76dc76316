//! atproto signing keys (`#atproto` verification method) and commit signature checks
//! (atproto spec "Cryptography"): P-256 or secp256k1, ECDSA over SHA-256, 64-byte `r || s`
//! signatures in low-S form.

use crate::error::ProofError;
use aws_lc_rs::signature::{self, UnparsedPublicKey};

/// The two curves atproto allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    K256,
}

/// Group orders, big-endian.
const P256_ORDER: [u8; 32] =
    hex32("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const K256_ORDER: [u8; 32] =
    hex32("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");

/// Multicodec varint prefixes of Multikey public keys: `p256-pub` (0x1200), `secp256k1-pub` (0xe7).
const P256_MULTICODEC: [u8; 2] = [0x80, 0x24];
const K256_MULTICODEC: [u8; 2] = [0xe7, 0x01];

const fn hex32(s: &str) -> [u8; 32] {
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

#[allow(
    clippy::panic,
    reason = "only evaluated at compile time (the constants above) and in tests: a bad digit \
              fails the build, never a request"
)]
const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not a lower-case hex digit"),
    }
}

/// A public key: its curve and its SEC1 point (compressed or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtprotoKey {
    pub curve: Curve,
    pub point: Vec<u8>,
}

impl AtprotoKey {
    /// Parses a `Multikey` `publicKeyMultibase`: `z` + base58btc of the multicodec prefix and
    /// the compressed point.
    pub fn from_multikey(multibase_key: &str) -> Option<Self> {
        let bytes = decode_base58btc(multibase_key)?;
        let (curve, point) = if let Some(point) = bytes.strip_prefix(&P256_MULTICODEC) {
            (Curve::P256, point)
        } else if let Some(point) = bytes.strip_prefix(&K256_MULTICODEC) {
            (Curve::K256, point)
        } else {
            return None;
        };
        Self::from_point(curve, point)
    }

    /// A key from a legacy verification method type (`EcdsaSecp256r1VerificationKey2019`,
    /// `EcdsaSecp256k1VerificationKey2019`): the multibase holds the bare point.
    pub fn from_legacy(curve: Curve, multibase_key: &str) -> Option<Self> {
        Self::from_point(curve, &decode_base58btc(multibase_key)?)
    }

    fn from_point(curve: Curve, point: &[u8]) -> Option<Self> {
        let well_formed = matches!(
            (point.len(), point.first()),
            (33, Some(2 | 3)) | (65, Some(4))
        );
        well_formed.then(|| Self {
            curve,
            point: point.to_vec(),
        })
    }

    /// Checks a 64-byte `r || s` signature over `message` (hashed with SHA-256 here).
    /// High-S signatures are refused, as atproto requires.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), ProofError> {
        let Ok(sig64): Result<&[u8; 64], _> = sig.try_into() else {
            return Err(ProofError::BadSignature);
        };
        let (order, algorithm) = match self.curve {
            Curve::P256 => (&P256_ORDER, &signature::ECDSA_P256_SHA256_FIXED),
            Curve::K256 => (&K256_ORDER, &signature::ECDSA_P256K1_SHA256_FIXED),
        };
        let s: [u8; 32] = sig64[32..]
            .try_into()
            .map_err(|_| ProofError::BadSignature)?;
        if s > half(order) {
            return Err(ProofError::HighS);
        }
        UnparsedPublicKey::new(algorithm, &self.point)
            .verify(message, sig64)
            .map_err(|_| ProofError::BadSignature)
    }
}

/// `n / 2` (rounded down) of a big-endian 256-bit `n`.
fn half(n: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u8;
    for (o, &b) in out.iter_mut().zip(n.iter()) {
        *o = (b >> 1) | (carry << 7);
        carry = b & 1;
    }
    out
}

fn decode_base58btc(multibase_key: &str) -> Option<Vec<u8>> {
    // Only base58btc (`z`) is used by atproto keys.
    if !multibase_key.starts_with('z') {
        return None;
    }
    match multibase::decode(multibase_key) {
        Ok((multibase::Base::Base58Btc, bytes)) => Some(bytes),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves() {
        let h = half(&K256_ORDER);
        assert_eq!(
            h,
            hex32("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0")
        );
        let h = half(&P256_ORDER);
        assert_eq!(
            h,
            hex32("7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8")
        );
    }

    #[test]
    fn multikeys() {
        // Examples from the atproto cryptography specification.
        let p =
            AtprotoKey::from_multikey("zDnaembgSGUhZULN2Caob4HLJPaxBh92N7rtH21TErzqf8HQo").unwrap();
        assert_eq!(p.curve, Curve::P256);
        assert_eq!(p.point.len(), 33);
        let k =
            AtprotoKey::from_multikey("zQ3shqwJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJwc").unwrap();
        assert_eq!(k.curve, Curve::K256);
        assert!(AtprotoKey::from_multikey("zQ3sh").is_none());
        assert!(AtprotoKey::from_multikey("mAAAA").is_none());
        assert!(AtprotoKey::from_multikey("").is_none());
    }
}
