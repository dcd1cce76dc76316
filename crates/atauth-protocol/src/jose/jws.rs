//! Decoding compact JWS (RFC 7515 section 7.1) before verification.

use super::{b64_decode, Algorithm, JoseError, PublicJwk, SIGNATURE_BYTES};
use serde_json::{Map, Value};

/// Largest compact JWS accepted, in bytes. DPoP proofs, client assertions and our access tokens
/// are well under 2 KiB; the bound keeps hostile input cheap to refuse.
pub const MAX_JWS_BYTES: usize = 8 * 1024;

/// A decoded but not yet verified compact JWS.
#[derive(Debug, Clone)]
pub struct UnverifiedJws {
    pub header: serde_json::Map<String, Value>,
    pub claims: serde_json::Map<String, Value>,
    pub signing_input: String,
    pub signature: Vec<u8>,
}

impl UnverifiedJws {
    /// Splits and decodes `header.payload.signature` (both JSON objects); bounded size.
    ///
    /// Refused: more than [`MAX_JWS_BYTES`], other than three segments, base64url that is padded
    /// or otherwise non-canonical, a header or payload that is not a JSON object, a signature
    /// that is not 64 bytes, and any `crit` header (RFC 7515 section 4.1.11: we understand no
    /// extensions, so a critical one must fail).
    pub fn decode(compact: &str) -> Result<Self, JoseError> {
        if compact.len() > MAX_JWS_BYTES {
            return Err(JoseError::Malformed("the JWS is larger than 8 KiB"));
        }
        let mut parts = compact.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed(
                "a compact JWS has exactly three dot-separated parts",
            ));
        };
        let header = json_object(
            header_b64,
            "the JWS header is not a base64url-encoded JSON object",
        )?;
        if header.contains_key("crit") {
            return Err(JoseError::Malformed(
                "critical header extensions (crit) are not supported",
            ));
        }
        let claims = json_object(
            payload_b64,
            "the JWS payload is not a base64url-encoded JSON object",
        )?;
        let signature = b64_decode(signature_b64)
            .filter(|sig| sig.len() == SIGNATURE_BYTES)
            .ok_or(JoseError::Malformed(
                "the JWS signature is not base64url of 64 bytes",
            ))?;
        // The signing input is the first two segments as sent (RFC 7515 section 5.2 step 8).
        let signing_input = compact[..header_b64.len() + 1 + payload_b64.len()].to_owned();
        Ok(Self {
            header,
            claims,
            signing_input,
            signature,
        })
    }

    /// The header `alg`: only ES256 and ES256K; `none`, HMAC, RSA and the rest are refused.
    pub fn algorithm(&self) -> Result<Algorithm, JoseError> {
        match self.header.get("alg") {
            Some(Value::String(name)) => {
                Algorithm::from_name(name).ok_or(JoseError::UnsupportedAlgorithm)
            }
            Some(_) => Err(JoseError::Malformed("the JWS alg is not a string")),
            None => Err(JoseError::Malformed("the JWS header has no alg")),
        }
    }

    /// Verifies the signature with `key` under the header's algorithm, which must match the
    /// key's curve.
    pub fn verify_with(&self, key: &PublicJwk) -> Result<(), JoseError> {
        let alg = self.algorithm()?;
        key.verify(alg, self.signing_input.as_bytes(), &self.signature)
    }

    /// A header member as a string, if it is one.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A claim as a string, if it is one.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

fn json_object(segment: &str, error: &'static str) -> Result<Map<String, Value>, JoseError> {
    let bytes = b64_decode(segment).ok_or(JoseError::Malformed(error))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(obj)) => Ok(obj),
        _ => Err(JoseError::Malformed(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::b64_encode;
    use crate::jose::test_support::{
        TestKey, K1_PYTHON_JWS, K1_X, K1_Y, RFC7515_A3_JWS, RFC7515_X, RFC7515_Y,
    };
    use proptest::prelude::*;
    use serde_json::json;

    fn compact(header: &Value, claims: &Value, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64_encode(header.to_string()),
            b64_encode(claims.to_string()),
            b64_encode(signature)
        )
    }

    #[test]
    fn verifies_rfc7515_a3_es256_vector() {
        let key = PublicJwk::from_json(
            &json!({"kty": "EC", "crv": "P-256", "x": RFC7515_X, "y": RFC7515_Y}),
        )
        .unwrap();
        let jws = UnverifiedJws::decode(RFC7515_A3_JWS).unwrap();
        assert_eq!(jws.algorithm(), Ok(Algorithm::Es256));
        assert_eq!(jws.claims["iss"], "joe");
        jws.verify_with(&key).unwrap();
    }

    /// An ES256K JWS produced independently (Python `cryptography`).
    #[test]
    fn verifies_independent_es256k_vector() {
        let key =
            PublicJwk::from_json(&json!({"kty": "EC", "crv": "secp256k1", "x": K1_X, "y": K1_Y}))
                .unwrap();
        let jws = UnverifiedJws::decode(K1_PYTHON_JWS).unwrap();
        assert_eq!(jws.algorithm(), Ok(Algorithm::Es256k));
        jws.verify_with(&key).unwrap();
    }

    #[test]
    fn es256_and_es256k_round_trip() {
        for alg in [Algorithm::Es256, Algorithm::Es256k] {
            let key = TestKey::new(alg);
            let token = key.sign(
                &json!({"alg": alg.name(), "typ": "JWT"}),
                &json!({"sub": "me"}),
            );
            let jws = UnverifiedJws::decode(&token).unwrap();
            assert_eq!(jws.algorithm(), Ok(alg));
            jws.verify_with(&key.public()).unwrap();
            // The other curve's key never verifies it.
            let other = TestKey::new(match alg {
                Algorithm::Es256 => Algorithm::Es256k,
                Algorithm::Es256k => Algorithm::Es256,
            });
            assert!(jws.verify_with(&other.public()).is_err());
        }
    }

    #[test]
    fn tampered_signature_payload_or_key_is_refused() {
        let key = TestKey::new(Algorithm::Es256);
        let token = key.sign(&json!({"alg": "ES256"}), &json!({"sub": "me"}));
        let mut jws = UnverifiedJws::decode(&token).unwrap();
        jws.signature[10] ^= 0x01;
        assert_eq!(jws.verify_with(&key.public()), Err(JoseError::BadSignature));

        let (head, _) = token.split_once('.').unwrap();
        let (_, sig) = token.rsplit_once('.').unwrap();
        let forged = format!(
            "{head}.{}.{sig}",
            b64_encode(json!({"sub": "admin"}).to_string())
        );
        let jws = UnverifiedJws::decode(&forged).unwrap();
        assert_eq!(jws.verify_with(&key.public()), Err(JoseError::BadSignature));

        let jws = UnverifiedJws::decode(&token).unwrap();
        assert_eq!(
            jws.verify_with(&TestKey::new(Algorithm::Es256).public()),
            Err(JoseError::BadSignature)
        );
    }

    #[test]
    fn none_hmac_and_rsa_are_refused() {
        let key = TestKey::new(Algorithm::Es256);
        for alg in ["none", "HS256", "RS256", "PS256", "ES384", "es256"] {
            // A real ES256 signature under a lying header still must not pass.
            let token = key.sign(&json!({"alg": alg}), &json!({"sub": "me"}));
            let jws = UnverifiedJws::decode(&token).unwrap();
            assert_eq!(
                jws.algorithm(),
                Err(JoseError::UnsupportedAlgorithm),
                "{alg}"
            );
            assert_eq!(
                jws.verify_with(&key.public()),
                Err(JoseError::UnsupportedAlgorithm),
                "{alg}"
            );
        }
        let jws = UnverifiedJws::decode(&compact(&json!({}), &json!({}), &[0; 64])).unwrap();
        assert!(matches!(jws.algorithm(), Err(JoseError::Malformed(_))));
        let jws =
            UnverifiedJws::decode(&compact(&json!({"alg": 1}), &json!({}), &[0; 64])).unwrap();
        assert!(matches!(jws.algorithm(), Err(JoseError::Malformed(_))));
        // `alg: none` with an empty signature fails at decoding already.
        let unsigned = format!("{}.{}.", b64_encode(r#"{"alg":"none"}"#), b64_encode("{}"));
        assert!(UnverifiedJws::decode(&unsigned).is_err());
    }

    #[test]
    fn segment_count_is_exactly_three() {
        let good = compact(&json!({"alg": "ES256"}), &json!({}), &[0; 64]);
        assert!(UnverifiedJws::decode(&good).is_ok());
        assert!(UnverifiedJws::decode(&format!("{good}.")).is_err());
        assert!(UnverifiedJws::decode(&format!("{good}.AAAA")).is_err());
        let (two, _) = good.rsplit_once('.').unwrap();
        assert!(UnverifiedJws::decode(two).is_err());
        assert!(UnverifiedJws::decode("").is_err());
    }

    #[test]
    fn base64_must_be_strict() {
        let h = b64_encode(r#"{"alg":"ES256"}"#); // 20 chars: unpadded
        let p = b64_encode(r#"{"a":1}"#); // 10 chars: would pad with "=="
        let s = b64_encode([0u8; 64]);
        assert!(UnverifiedJws::decode(&format!("{h}.{p}.{s}")).is_ok());
        assert!(UnverifiedJws::decode(&format!("{h}.{p}==.{s}")).is_err());
        assert!(UnverifiedJws::decode(&format!("{h}.{p}.{s}==")).is_err());
        let std_alphabet = s.replace('A', "+");
        assert!(UnverifiedJws::decode(&format!("{h}.{p}.{std_alphabet}")).is_err());
        assert!(UnverifiedJws::decode(&format!(" {h}.{p}.{s}")).is_err());
    }

    #[test]
    fn header_and_payload_must_be_json_objects() {
        let s = [0u8; 64];
        assert!(UnverifiedJws::decode(&compact(&json!(["ES256"]), &json!({}), &s)).is_err());
        assert!(
            UnverifiedJws::decode(&compact(&json!({"alg": "ES256"}), &json!("claims"), &s))
                .is_err()
        );
        assert!(
            UnverifiedJws::decode(&compact(&json!({"alg": "ES256"}), &json!(null), &s)).is_err()
        );
        let not_json = format!(
            "{}.{}.{}",
            b64_encode("{alg"),
            b64_encode("{}"),
            b64_encode(s)
        );
        assert!(UnverifiedJws::decode(&not_json).is_err());
    }

    #[test]
    fn signature_must_be_64_bytes() {
        for len in [0, 63, 65, 72] {
            let token = compact(&json!({"alg": "ES256"}), &json!({}), &vec![1u8; len]);
            assert!(UnverifiedJws::decode(&token).is_err(), "{len}");
        }
    }

    #[test]
    fn crit_header_is_refused() {
        let token = compact(
            &json!({"alg": "ES256", "crit": ["exp"]}),
            &json!({}),
            &[0; 64],
        );
        assert!(UnverifiedJws::decode(&token).is_err());
    }

    #[test]
    fn size_is_bounded() {
        let key = TestKey::new(Algorithm::Es256);
        let mut claims = json!({"pad": ""});
        let fits = MAX_JWS_BYTES - 300;
        claims["pad"] = json!("a".repeat(fits * 3 / 4 - 100));
        let token = key.sign(&json!({"alg": "ES256"}), &claims);
        assert!(token.len() <= MAX_JWS_BYTES);
        assert!(UnverifiedJws::decode(&token).is_ok());
        claims["pad"] = json!("a".repeat(MAX_JWS_BYTES));
        let token = key.sign(&json!({"alg": "ES256"}), &claims);
        assert_eq!(
            UnverifiedJws::decode(&token).unwrap_err(),
            JoseError::Malformed("the JWS is larger than 8 KiB")
        );
    }

    proptest! {
        #[test]
        fn decode_never_panics_on_arbitrary_strings(s in "\\PC{0,300}") {
            let _ = UnverifiedJws::decode(&s);
        }

        #[test]
        fn decode_never_panics_on_jws_shaped_strings(
            h in "[A-Za-z0-9_=+/-]{0,60}",
            p in "[A-Za-z0-9_=+/-]{0,60}",
            s in "[A-Za-z0-9_=+/-]{0,100}",
            dots in 0usize..5,
        ) {
            let joined = format!("{h}.{p}.{s}{}", ".".repeat(dots));
            if let Ok(jws) = UnverifiedJws::decode(&joined) {
                let _ = jws.algorithm();
            }
        }

        #[test]
        fn decode_never_panics_on_arbitrary_json(header in any::<String>(), claims in any::<String>(), sig in proptest::collection::vec(any::<u8>(), 0..80)) {
            let token = format!("{}.{}.{}", b64_encode(&header), b64_encode(&claims), b64_encode(&sig));
            let _ = UnverifiedJws::decode(&token);
        }
    }
}
