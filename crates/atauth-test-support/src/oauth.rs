//! The client side of atproto OAuth as the tests speak it: PKCE pairs, DPoP keys and proofs
//! (RFC 9449), loopback client ids, and unverified looks inside a JWS.

use atauth_protocol::jose::{Algorithm, SigningKey};
use atauth_protocol::random::hash_secret;
use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Numbers `jti`s and `state`s, unique within the test process.
static SEQUENCE: AtomicU64 = AtomicU64::new(1);

/// A number not handed out before in this process.
pub fn next_sequence() -> u64 {
    SEQUENCE.fetch_add(1, Ordering::SeqCst)
}

/// A PKCE pair (RFC 7636): a fresh verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("random bytes");
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    (verifier, challenge)
}

/// The client id of a loopback client (`http://localhost?redirect_uri=…&scope=…`).
pub fn loopback_client_id(redirect_uri: &str, scope: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scope)
        .finish();
    format!("http://localhost?{query}")
}

/// Decodes a compact JWS without verifying it: (header, claims).
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut decode = || {
        let part = parts.next().expect("JWS part");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
    };
    let header = decode();
    let claims = decode();
    (header, claims)
}

/// A client's DPoP key, with the last nonce the server handed out.
pub struct DpopKey {
    pub key: SigningKey,
    pub nonce: Mutex<Option<String>>,
}

impl Default for DpopKey {
    fn default() -> Self {
        Self::new()
    }
}

impl DpopKey {
    pub fn new() -> Self {
        Self::with_algorithm(Algorithm::Es256)
    }

    pub fn with_algorithm(alg: Algorithm) -> Self {
        Self {
            key: SigningKey::generate_with_algorithm(alg, "dpop".into()).expect("key"),
            nonce: Mutex::new(None),
        }
    }

    /// The same key pair, with no nonce remembered (one key used at two hosts, or twice).
    pub fn duplicate(&self) -> Self {
        Self {
            key: SigningKey::from_pkcs8_with_algorithm(
                self.key.algorithm(),
                "dpop".into(),
                &self.key.to_pkcs8(),
            )
            .expect("key copy"),
            nonce: Mutex::new(None),
        }
    }

    /// The JWK thumbprint the server binds tokens to (`cnf.jkt`).
    pub fn jkt(&self) -> String {
        self.key.public_key().thumbprint()
    }

    /// The public JWK as the proof header carries it (no `kid`).
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.key.public_jwk();
        if let Some(o) = jwk.as_object_mut() {
            o.remove("kid");
        }
        jwk
    }

    /// A proof with explicit claims (for negative tests).
    pub fn proof_with(&self, header_extra: &[(&str, Value)], claims: Value) -> String {
        let mut header = Map::new();
        header.insert("typ".into(), json!("dpop+jwt"));
        header.insert("jwk".into(), self.public_jwk());
        for (k, v) in header_extra {
            header.insert((*k).to_string(), v.clone());
        }
        self.key.sign_with_header(&header, &claims).expect("sign")
    }

    /// Standard proof claims for `method url` at `now` with `nonce` (for tweaking in negative
    /// tests).
    pub fn claims(&self, method: &str, url: &str, now: i64, nonce: Option<&str>) -> Value {
        let mut claims = json!({
            "jti": format!("jti-{}-{}", next_sequence(), now),
            "htm": method,
            "htu": url,
            "iat": now,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        claims
    }

    /// A valid proof for `method url` at `now`, with the remembered nonce and, for a resource
    /// request, the access token's hash (`ath`).
    pub fn proof(&self, method: &str, url: &str, now: i64, access_token: Option<&str>) -> String {
        let nonce = self.current_nonce();
        let mut claims = self.claims(method, url, now, nonce.as_deref());
        if let Some(token) = access_token {
            claims["ath"] = json!(hash_secret(token));
        }
        self.proof_with(&[], claims)
    }

    /// Remembers the `DPoP-Nonce` of an answer, if it has one.
    pub fn remember_nonce(&self, response: &reqwest::Response) {
        if let Some(n) = response
            .headers()
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
        {
            self.set_nonce(Some(n.to_string()));
        }
    }

    /// The remembered nonce, if any.
    pub fn current_nonce(&self) -> Option<String> {
        self.nonce.lock().expect("nonce").clone()
    }

    pub fn set_nonce(&self, nonce: Option<String>) {
        *self.nonce.lock().expect("nonce") = nonce;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_the_s256_of_the_verifier() {
        let (verifier, challenge) = pkce();
        assert_eq!(verifier.len(), 43);
        assert_eq!(challenge, hash_secret(&verifier));
    }

    #[test]
    fn a_proof_carries_the_nonce_and_the_token_hash() {
        let key = DpopKey::new();
        key.set_nonce(Some("n-1".into()));
        let proof = key.proof("GET", "https://coop.test/x", 1_000, Some("token"));
        let (header, claims) = jwt_parts(&proof);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["jwk"], key.public_jwk());
        assert!(header["jwk"].get("kid").is_none());
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["iat"], 1_000);
        assert_eq!(claims["ath"], hash_secret("token"));
        assert_eq!(key.duplicate().jkt(), key.jkt());
    }
}
