//! Test keys and known-answer vectors shared by the JOSE, DPoP, client-auth and token tests.

use super::{b64_encode, Algorithm, PublicJwk};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair};
use serde_json::{json, Value};

/// RFC 7515 appendix A.3 ES256 public key and JWS.
pub(crate) const RFC7515_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
pub(crate) const RFC7515_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
pub(crate) const RFC7515_A3_JWS: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/// A secp256k1 key and an ES256K JWS over `{"sub":"python"}`, made with Python `cryptography`.
pub(crate) const K1_X: &str = "QRtznAvP6WnPcAqSP5XYLoFJyTU6qj7cCzz0pMJaNn4";
pub(crate) const K1_Y: &str = "2dOMd_SEwYoTTZH_G4ipOCwJQnWDmv0YtWV9PSBb5IQ";
pub(crate) const K1_PYTHON_JWS: &str = "eyJhbGciOiJFUzI1NksiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJweXRob24ifQ.IQi69r9hXDLF-QZlwrx-uF5XsbdQ5StxK5TcwPVj4aQIorqmK9UzFjzMdPH1Ggoo2mXeFFWXcDXOxfCmgXlUHw";

/// A key that signs whatever header it is given, including lying ones.
pub(crate) struct TestKey {
    pub(crate) alg: Algorithm,
    pair: EcdsaKeyPair,
}

impl TestKey {
    pub(crate) fn new(alg: Algorithm) -> Self {
        let pair = EcdsaKeyPair::generate(alg.signing()).expect("key generation");
        Self { alg, pair }
    }

    /// The public JWK (no `kid`).
    pub(crate) fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC",
            "crv": self.alg.curve(),
            "x": b64_encode(&point[1..33]),
            "y": b64_encode(&point[33..65]),
        })
    }

    /// The public JWK with a `kid`.
    pub(crate) fn jwk_with_kid(&self, kid: &str) -> Value {
        let mut jwk = self.jwk();
        jwk["kid"] = json!(kid);
        jwk
    }

    pub(crate) fn public(&self) -> PublicJwk {
        PublicJwk::from_json(&self.jwk()).expect("own public key parses")
    }

    /// Signs exactly `header` and `claims` as given.
    pub(crate) fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64_encode(header.to_string()),
            b64_encode(claims.to_string())
        );
        let sig = self
            .pair
            .sign(&super::signing::unused_rng(), input.as_bytes())
            .expect("signing");
        format!("{input}.{}", b64_encode(sig.as_ref()))
    }
}
