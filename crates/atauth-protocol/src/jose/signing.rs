//! The cooperative's signing key: ES256 by default, held parsed for its whole life.

use super::{b64_encode, Algorithm, JoseError, PublicJwk};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair};
use serde_json::{Map, Value};

/// An ES256 private key (the cooperative's signing key).
///
/// [`SigningKey::generate_with_algorithm`] also makes ES256K keys, for tests and for building
/// DPoP proofs the way the official client does; [`SigningKey::from_pkcs8`] only loads P-256.
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    pair: EcdsaKeyPair,
    /// PKCS#8 v1 DER, kept so [`SigningKey::to_pkcs8`] cannot fail.
    pkcs8: Vec<u8>,
    public: PublicJwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("thumbprint", &self.public.thumbprint())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn generate(kid: String) -> Result<Self, JoseError> {
        Self::generate_with_algorithm(Algorithm::Es256, kid)
    }

    /// A fresh key for either algorithm.
    pub fn generate_with_algorithm(alg: Algorithm, kid: String) -> Result<Self, JoseError> {
        let pair = EcdsaKeyPair::generate(alg.signing())
            .map_err(|_| JoseError::InvalidKey("the key generator failed"))?;
        Self::from_pair(alg, kid, pair)
    }

    /// Loads an unencrypted PKCS#8 P-256 key.
    pub fn from_pkcs8(kid: String, der: &[u8]) -> Result<Self, JoseError> {
        Self::from_pkcs8_with_algorithm(Algorithm::Es256, kid, der)
    }

    /// Loads an unencrypted PKCS#8 key on the curve `alg` implies.
    pub fn from_pkcs8_with_algorithm(
        alg: Algorithm,
        kid: String,
        der: &[u8],
    ) -> Result<Self, JoseError> {
        let pair = EcdsaKeyPair::from_pkcs8(alg.signing(), der)
            .map_err(|_| JoseError::InvalidKey("not a PKCS#8 private key on the expected curve"))?;
        Self::from_pair(alg, kid, pair)
    }

    fn from_pair(alg: Algorithm, kid: String, pair: EcdsaKeyPair) -> Result<Self, JoseError> {
        let pkcs8 = pair
            .to_pkcs8v1()
            .map_err(|_| JoseError::InvalidKey("the key cannot be serialised as PKCS#8"))?
            .as_ref()
            .to_vec();
        let public = PublicJwk::from_point(alg, pair.public_key().as_ref(), Some(kid.clone()))?;
        Ok(Self {
            kid,
            alg,
            pair,
            pkcs8,
            public,
        })
    }

    /// PKCS#8 v1 DER of the private key (store it encrypted or in a secret store).
    pub fn to_pkcs8(&self) -> Vec<u8> {
        self.pkcs8.clone()
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The parsed public half, e.g. for verifying our own access tokens.
    pub fn public_key(&self) -> &PublicJwk {
        &self.public
    }

    /// Public JWK with `kid`, `alg: ES256`, `use: sig`.
    pub fn public_jwk(&self) -> Value {
        self.public.to_json()
    }

    /// Signs `claims` as a compact JWS with header `{alg: ES256, typ, kid}`.
    pub fn sign_jwt(&self, typ: &str, claims: &Value) -> Result<String, JoseError> {
        // Built by hand so the member order is fixed: {"alg":..,"typ":..,"kid":..}.
        let header = format!(
            r#"{{"alg":"{}","typ":{},"kid":{}}}"#,
            self.alg.name(),
            Value::from(typ),
            Value::from(self.kid.as_str()),
        );
        self.sign_parts(&header, claims)
    }

    /// Signs `claims` with a caller-chosen header: `alg` comes first and is always this key's;
    /// the other members follow in the map's iteration order (an `alg` there is ignored). Used
    /// to build DPoP proofs (`{"typ":"dpop+jwt","jwk":...}`) and other JWTs with unusual headers.
    pub fn sign_with_header(
        &self,
        header: &Map<String, Value>,
        claims: &Value,
    ) -> Result<String, JoseError> {
        let mut json = format!(r#"{{"alg":"{}""#, self.alg.name());
        for (name, value) in header.iter().filter(|(name, _)| *name != "alg") {
            json.push(',');
            json.push_str(&Value::from(name.as_str()).to_string());
            json.push(':');
            json.push_str(&value.to_string());
        }
        json.push('}');
        self.sign_parts(&json, claims)
    }

    fn sign_parts(&self, header_json: &str, claims: &Value) -> Result<String, JoseError> {
        if !claims.is_object() {
            return Err(JoseError::Malformed("the claims must be a JSON object"));
        }
        let payload = serde_json::to_string(claims)
            .map_err(|_| JoseError::Malformed("the claims cannot be serialised"))?;
        let signing_input = format!("{}.{}", b64_encode(header_json), b64_encode(payload));
        let signature = self
            .pair
            .sign(&unused_rng(), signing_input.as_bytes())
            .map_err(|_| JoseError::InvalidKey("the key failed to produce a signature"))?;
        Ok(format!(
            "{signing_input}.{}",
            b64_encode(signature.as_ref())
        ))
    }
}

/// The generator argument `EcdsaKeyPair::sign` requires. aws-lc-rs ignores it ("Our
/// implementation ignores the `SecureRandom` parameter"): aws-lc draws the ECDSA nonce itself,
/// as it draws the key in [`SigningKey::generate`]. No rule depends on those bytes.
#[allow(
    clippy::disallowed_types,
    reason = "required by the signing API, never read (see the doc comment)"
)]
pub(crate) fn unused_rng() -> aws_lc_rs::rand::SystemRandom {
    aws_lc_rs::rand::SystemRandom::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::UnverifiedJws;
    use serde_json::json;

    #[test]
    fn sign_jwt_round_trips_with_fixed_header_order() {
        let key = SigningKey::generate("k-1".into()).unwrap();
        let token = key
            .sign_jwt("at+jwt", &json!({"sub": "did:web:a"}))
            .unwrap();
        let (header_b64, _) = token.split_once('.').unwrap();
        let header = String::from_utf8(crate::jose::b64_decode(header_b64).unwrap()).unwrap();
        assert_eq!(header, r#"{"alg":"ES256","typ":"at+jwt","kid":"k-1"}"#);
        let jws = UnverifiedJws::decode(&token).unwrap();
        jws.verify_with(key.public_key()).unwrap();
        assert_eq!(jws.claims["sub"], "did:web:a");
    }

    #[test]
    fn header_values_are_json_escaped() {
        let key = SigningKey::generate("a\"b".into()).unwrap();
        let token = key.sign_jwt("x\"y", &json!({})).unwrap();
        let jws = UnverifiedJws::decode(&token).unwrap();
        assert_eq!(jws.header["kid"], "a\"b");
        assert_eq!(jws.header["typ"], "x\"y");
    }

    #[test]
    fn claims_must_be_an_object() {
        let key = SigningKey::generate("k".into()).unwrap();
        assert!(key.sign_jwt("JWT", &json!([1])).is_err());
    }

    #[test]
    fn public_jwk_has_the_published_members_only() {
        let key = SigningKey::generate("k-2".into()).unwrap();
        let jwk = key.public_jwk();
        let obj = jwk.as_object().unwrap();
        let mut names: Vec<_> = obj.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x", "y"]);
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["alg"], "ES256");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], "k-2");
        let parsed = PublicJwk::from_json(&jwk).unwrap();
        assert_eq!(parsed.thumbprint(), key.public_key().thumbprint());
    }

    #[test]
    fn pkcs8_round_trips() {
        let key = SigningKey::generate("k".into()).unwrap();
        let again = SigningKey::from_pkcs8("k".into(), &key.to_pkcs8()).unwrap();
        assert_eq!(again.public_jwk(), key.public_jwk());
        let token = again.sign_jwt("JWT", &json!({})).unwrap();
        UnverifiedJws::decode(&token)
            .unwrap()
            .verify_with(key.public_key())
            .unwrap();
        assert!(SigningKey::from_pkcs8("k".into(), b"garbage").is_err());
    }

    #[test]
    fn es256k_keys_sign_and_stay_on_their_curve() {
        let key = SigningKey::generate_with_algorithm(Algorithm::Es256k, "k1".into()).unwrap();
        assert_eq!(key.public_jwk()["crv"], "secp256k1");
        let token = key.sign_jwt("JWT", &json!({})).unwrap();
        let jws = UnverifiedJws::decode(&token).unwrap();
        assert_eq!(jws.algorithm(), Ok(Algorithm::Es256k));
        jws.verify_with(key.public_key()).unwrap();
        // `from_pkcs8` is the cooperative's loader: P-256 only.
        assert!(SigningKey::from_pkcs8("k1".into(), &key.to_pkcs8()).is_err());
        assert!(SigningKey::from_pkcs8_with_algorithm(
            Algorithm::Es256k,
            "k1".into(),
            &key.to_pkcs8()
        )
        .is_ok());
    }

    #[test]
    fn sign_with_header_puts_own_alg_first() {
        let key = SigningKey::generate("k".into()).unwrap();
        let mut header = Map::new();
        header.insert("alg".into(), "none".into());
        header.insert("typ".into(), "dpop+jwt".into());
        let token = key.sign_with_header(&header, &json!({"a": 1})).unwrap();
        let (header_b64, _) = token.split_once('.').unwrap();
        let raw = String::from_utf8(crate::jose::b64_decode(header_b64).unwrap()).unwrap();
        assert_eq!(raw, r#"{"alg":"ES256","typ":"dpop+jwt"}"#);
        let jws = UnverifiedJws::decode(&token).unwrap();
        jws.verify_with(key.public_key()).unwrap();
    }
}
