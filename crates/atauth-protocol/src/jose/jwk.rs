//! Public EC JWKs (RFC 7517, RFC 7518 section 6.2) and RFC 7638 thumbprints.

use super::{
    b64_decode, b64_encode, sha256_b64, Algorithm, JoseError, COORDINATE_BYTES, SIGNATURE_BYTES,
};
use aws_lc_rs::signature::ParsedPublicKey;
use serde_json::{Map, Value};

/// A parsed public EC key (P-256 or secp256k1). Refuses JWKs carrying private members (`d`).
#[derive(Debug, Clone)]
pub struct PublicJwk {
    alg: Algorithm,
    /// Canonical base64url of the 32-byte affine coordinates.
    x: String,
    y: String,
    kid: Option<String>,
    /// Whether the JWK declared `alg` / `use` (echoed by [`PublicJwk::to_json`]).
    declared_alg: bool,
    declared_use: bool,
    thumbprint: String,
    /// The uncompressed point, parsed and checked to lie on the curve.
    key: ParsedPublicKey,
}

impl PublicJwk {
    /// Parses one public EC signing key.
    ///
    /// Rules: `kty` is `EC`; `crv` is `P-256` or `secp256k1`; `x` and `y` are strict base64url of
    /// exactly 32 bytes each and form a point on the curve; no private member `d`
    /// (RFC 9449 section 4.2 forbids it in a DPoP header, and a published private key is
    /// compromised anyway); `alg`, if present, matches the curve; `use`, if present, is `sig`;
    /// `kid`, if present, is a string.
    pub fn from_json(jwk: &Value) -> Result<Self, JoseError> {
        let obj = jwk
            .as_object()
            .ok_or(JoseError::InvalidKey("a JWK must be a JSON object"))?;
        if obj.contains_key("d") {
            return Err(JoseError::InvalidKey(
                "the JWK contains a private key member (d)",
            ));
        }
        if str_member(obj, "kty")? != Some("EC") {
            return Err(JoseError::InvalidKey(
                "only EC keys (kty \"EC\") are supported",
            ));
        }
        let crv = str_member(obj, "crv")?.ok_or(JoseError::InvalidKey("the JWK has no crv"))?;
        let alg = Algorithm::from_curve(crv).ok_or(JoseError::InvalidKey(
            "only the P-256 and secp256k1 curves are supported",
        ))?;
        let declared_alg = match str_member(obj, "alg")? {
            None => false,
            Some(name) if Algorithm::from_name(name) == Some(alg) => true,
            Some(_) => {
                return Err(JoseError::InvalidKey(
                    "the JWK alg does not match its curve",
                ))
            }
        };
        let declared_use = match str_member(obj, "use")? {
            None => false,
            Some("sig") => true,
            Some(_) => {
                return Err(JoseError::InvalidKey(
                    "the JWK is not a signing key (use is not \"sig\")",
                ))
            }
        };
        let kid = str_member(obj, "kid")?.map(str::to_owned);
        let x = coordinate(obj, "x")?;
        let y = coordinate(obj, "y")?;

        let mut point = Vec::with_capacity(1 + 2 * COORDINATE_BYTES);
        point.push(0x04); // SEC 1 section 2.3.3: uncompressed point
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        let key = ParsedPublicKey::new(alg.verification(), &point)
            .map_err(|_| JoseError::InvalidKey("the JWK point is not on the curve"))?;

        let (x, y) = (b64_encode(&x), b64_encode(&y));
        let thumbprint = thumbprint(alg, &x, &y);
        Ok(Self {
            alg,
            x,
            y,
            kid,
            declared_alg,
            declared_use,
            thumbprint,
            key,
        })
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm this key's curve implies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// RFC 7638 thumbprint, SHA-256, base64url.
    pub fn thumbprint(&self) -> String {
        self.thumbprint.clone()
    }

    /// The public JWK as JSON (no private members): `kty`, `crv`, `x`, `y`, plus `kid`, `alg`
    /// and `use` when the parsed JWK had them.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("kty".into(), "EC".into());
        obj.insert("crv".into(), self.alg.curve().into());
        obj.insert("x".into(), self.x.clone().into());
        obj.insert("y".into(), self.y.clone().into());
        if let Some(kid) = &self.kid {
            obj.insert("kid".into(), kid.clone().into());
        }
        if self.declared_alg {
            obj.insert("alg".into(), self.alg.name().into());
        }
        if self.declared_use {
            obj.insert("use".into(), "sig".into());
        }
        Value::Object(obj)
    }

    /// Verifies a fixed-width `r || s` signature (RFC 7518 section 3.4) over `signing_input`.
    /// The algorithm must be the one this key's curve implies.
    pub fn verify(
        &self,
        alg: Algorithm,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), JoseError> {
        if alg != self.alg {
            return Err(JoseError::InvalidKey(
                "the key's curve does not match the JWS algorithm",
            ));
        }
        if signature.len() != SIGNATURE_BYTES {
            return Err(JoseError::Malformed(
                "the signature must be 64 bytes (r || s)",
            ));
        }
        self.key
            .verify_sig(signing_input, signature)
            .map_err(|_| JoseError::BadSignature)
    }

    /// Builds a key from its parts; for [`super::SigningKey`], whose point aws-lc already checked.
    pub(crate) fn from_point(
        alg: Algorithm,
        uncompressed: &[u8],
        kid: Option<String>,
    ) -> Result<Self, JoseError> {
        let coords = uncompressed
            .strip_prefix(&[0x04])
            .filter(|c| c.len() == 2 * COORDINATE_BYTES)
            .ok_or(JoseError::InvalidKey(
                "the public key is not an uncompressed point",
            ))?;
        let (x, y) = coords.split_at(COORDINATE_BYTES);
        let mut jwk = serde_json::json!({
            "kty": "EC",
            "crv": alg.curve(),
            "x": b64_encode(x),
            "y": b64_encode(y),
            "alg": alg.name(),
            "use": "sig",
        });
        if let (Some(kid), Some(obj)) = (kid, jwk.as_object_mut()) {
            obj.insert("kid".into(), kid.into());
        }
        Self::from_json(&jwk)
    }
}

/// RFC 7638 section 3.2: the required EC members in lexicographic order, no whitespace.
/// The values are base64url and fixed curve names, so no JSON escaping is ever needed.
fn thumbprint(alg: Algorithm, x: &str, y: &str) -> String {
    let canonical = format!(
        r#"{{"crv":"{}","kty":"EC","x":"{x}","y":"{y}"}}"#,
        alg.curve()
    );
    sha256_b64(canonical.as_bytes())
}

/// An optional member that, when present, must be a string.
fn str_member<'a>(
    obj: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, JoseError> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(JoseError::InvalidKey(
            "a JWK member that must be a string is not one",
        )),
    }
}

fn coordinate(obj: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JoseError> {
    let text = str_member(obj, name)?
        .ok_or(JoseError::InvalidKey("the JWK lacks the x or y coordinate"))?;
    b64_decode(text)
        .filter(|bytes| bytes.len() == COORDINATE_BYTES)
        .ok_or(JoseError::InvalidKey(
            "x and y must be base64url of exactly 32 bytes",
        ))
}

/// A set of public keys (`{"keys":[...]}`), as in client metadata `jwks`.
#[derive(Debug, Clone, Default)]
pub struct JwkSet {
    pub keys: Vec<PublicJwk>,
}

impl JwkSet {
    /// Parses a JWKS; keys that are not EC P-256/secp256k1 signing keys are skipped
    /// (RFC 7517 section 5: "implementations SHOULD ignore JWKs ... they do not understand").
    /// A set that publishes a private key (`d`, in any key) is refused outright: whoever made
    /// it public has leaked it, and none of its keys can be trusted.
    pub fn from_json(jwks: &Value) -> Result<Self, JoseError> {
        let entries = jwks
            .as_object()
            .and_then(|obj| obj.get("keys"))
            .and_then(Value::as_array)
            .ok_or(JoseError::InvalidKey(
                "a JWK set must be an object with a \"keys\" array",
            ))?;
        let mut keys = Vec::new();
        for entry in entries {
            if entry.as_object().is_some_and(|obj| obj.contains_key("d")) {
                return Err(JoseError::InvalidKey(
                    "the JWK set contains a private key member (d)",
                ));
            }
            if let Ok(key) = PublicJwk::from_json(entry) {
                keys.push(key);
            }
        }
        Ok(Self { keys })
    }

    /// The first key whose `kid` is `kid`.
    pub fn find(&self, kid: &str) -> Option<&PublicJwk> {
        self.keys.iter().find(|key| key.kid() == Some(kid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::test_support::{K1_X, K1_Y, RFC7515_X, RFC7515_Y};
    use serde_json::json;

    fn p256() -> Value {
        json!({"kty": "EC", "crv": "P-256", "x": RFC7515_X, "y": RFC7515_Y})
    }

    fn with(mut jwk: Value, name: &str, value: Value) -> Value {
        if let Some(obj) = jwk.as_object_mut() {
            obj.insert(name.into(), value);
        }
        jwk
    }

    fn without(mut jwk: Value, name: &str) -> Value {
        if let Some(obj) = jwk.as_object_mut() {
            obj.remove(name);
        }
        jwk
    }

    #[test]
    fn parses_p256_and_secp256k1() {
        let key = PublicJwk::from_json(&p256()).unwrap();
        assert_eq!(key.algorithm(), Algorithm::Es256);
        assert_eq!(key.kid(), None);
        let k1 = json!({"kty": "EC", "crv": "secp256k1", "x": K1_X, "y": K1_Y, "kid": "k1"});
        let key = PublicJwk::from_json(&k1).unwrap();
        assert_eq!(key.algorithm(), Algorithm::Es256k);
        assert_eq!(key.kid(), Some("k1"));
    }

    /// Independently computed (Python hashlib) SHA-256 of the RFC 7638 canonical JSON.
    #[test]
    fn thumbprint_matches_hand_computation() {
        let key = PublicJwk::from_json(&with(p256(), "kid", json!("ignored"))).unwrap();
        assert_eq!(
            key.thumbprint(),
            "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"
        );
        let k1 = json!({"kty": "EC", "crv": "secp256k1", "x": K1_X, "y": K1_Y, "use": "sig"});
        let key = PublicJwk::from_json(&k1).unwrap();
        assert_eq!(
            key.thumbprint(),
            "g79m0r9HgWbnhEjUOT_bLRermjR1L184Pt99HFGyXSo"
        );
    }

    #[test]
    fn refuses_private_member() {
        let jwk = with(
            p256(),
            "d",
            json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"),
        );
        assert!(matches!(
            PublicJwk::from_json(&jwk),
            Err(JoseError::InvalidKey(_))
        ));
    }

    #[test]
    fn refuses_other_key_types_and_curves() {
        assert!(PublicJwk::from_json(&with(p256(), "kty", json!("RSA"))).is_err());
        assert!(PublicJwk::from_json(&without(p256(), "kty")).is_err());
        assert!(PublicJwk::from_json(&with(p256(), "crv", json!("P-384"))).is_err());
        assert!(PublicJwk::from_json(&without(p256(), "crv")).is_err());
        assert!(PublicJwk::from_json(&json!("not an object")).is_err());
    }

    #[test]
    fn alg_must_match_curve_and_use_must_be_sig() {
        assert!(PublicJwk::from_json(&with(p256(), "alg", json!("ES256"))).is_ok());
        assert!(PublicJwk::from_json(&with(p256(), "alg", json!("ES256K"))).is_err());
        assert!(PublicJwk::from_json(&with(p256(), "alg", json!("none"))).is_err());
        assert!(PublicJwk::from_json(&with(p256(), "use", json!("sig"))).is_ok());
        assert!(PublicJwk::from_json(&with(p256(), "use", json!("enc"))).is_err());
        assert!(PublicJwk::from_json(&with(p256(), "kid", json!(7))).is_err());
    }

    #[test]
    fn coordinates_must_be_strict_32_byte_base64url() {
        assert!(PublicJwk::from_json(&without(p256(), "x")).is_err());
        let short = b64_encode([1u8; 31]);
        assert!(PublicJwk::from_json(&with(p256(), "x", json!(short))).is_err());
        let long = b64_encode([1u8; 33]);
        assert!(PublicJwk::from_json(&with(p256(), "y", json!(long))).is_err());
        let padded = format!("{RFC7515_X}=");
        assert!(PublicJwk::from_json(&with(p256(), "x", json!(padded))).is_err());
    }

    #[test]
    fn point_must_lie_on_the_curve() {
        // The P-256 coordinates are not a secp256k1 point, and a nudged y is on neither curve.
        let wrong_curve = with(p256(), "crv", json!("secp256k1"));
        assert_eq!(
            PublicJwk::from_json(&wrong_curve).unwrap_err(),
            JoseError::InvalidKey("the JWK point is not on the curve")
        );
        let mut y = b64_decode(RFC7515_Y).unwrap();
        y[31] ^= 1;
        let off_curve = with(p256(), "y", json!(b64_encode(y)));
        assert_eq!(
            PublicJwk::from_json(&off_curve).unwrap_err(),
            JoseError::InvalidKey("the JWK point is not on the curve")
        );
    }

    #[test]
    fn to_json_round_trips_public_members_only() {
        let jwk = with(with(p256(), "kid", json!("a")), "use", json!("sig"));
        let key = PublicJwk::from_json(&jwk).unwrap();
        assert_eq!(key.to_json(), jwk);
        let again = PublicJwk::from_json(&key.to_json()).unwrap();
        assert_eq!(again.thumbprint(), key.thumbprint());
    }

    #[test]
    fn verify_refuses_wrong_algorithm_and_length() {
        let key = PublicJwk::from_json(&p256()).unwrap();
        assert!(matches!(
            key.verify(Algorithm::Es256k, b"x", &[0; 64]),
            Err(JoseError::InvalidKey(_))
        ));
        assert!(matches!(
            key.verify(Algorithm::Es256, b"x", &[0; 63]),
            Err(JoseError::Malformed(_))
        ));
        assert_eq!(
            key.verify(Algorithm::Es256, b"x", &[1; 64]),
            Err(JoseError::BadSignature)
        );
    }

    #[test]
    fn jwk_set_skips_unusable_keys_and_finds_by_kid() {
        let jwks = json!({"keys": [
            {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"},
            with(with(p256(), "kid", json!("enc")), "use", json!("enc")),
            {"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"},
            with(p256(), "kid", json!("good")),
            "not even an object",
        ]});
        let set = JwkSet::from_json(&jwks).unwrap();
        assert_eq!(set.keys.len(), 1);
        assert!(set.find("good").is_some());
        assert!(set.find("rsa").is_none());
        assert!(set.find("enc").is_none());
    }

    #[test]
    fn jwk_set_shape_is_enforced() {
        assert!(JwkSet::from_json(&json!({"keys": []}))
            .unwrap()
            .keys
            .is_empty());
        assert!(JwkSet::from_json(&json!([p256()])).is_err());
        assert!(JwkSet::from_json(&json!({"keys": p256()})).is_err());
        assert!(JwkSet::from_json(&json!({})).is_err());
        assert!(JwkSet::from_json(&p256()).is_err());
    }

    #[test]
    fn jwk_set_with_a_private_key_is_refused() {
        let leaked = with(with(p256(), "kid", json!("leak")), "d", json!("secret"));
        assert!(JwkSet::from_json(&json!({"keys": [p256(), leaked]})).is_err());
    }
}
