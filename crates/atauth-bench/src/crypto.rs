//! In-process measurements on one thread: the ES256 floor with aws-lc-rs (the backend atauth
//! uses), the same work through atauth-protocol, argon2, and resource verification through
//! atauth-resource.

use atauth_protocol::access_token::{self, AccessTokenClaims, Confirmation};
use atauth_protocol::dpop::{self, NonceIssuer, ProofContext};
use atauth_protocol::jose::SigningKey;
use atauth_protocol::random::hash_secret;
use atauth_resource::{verify_request, ResourceRequest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use serde_json::json;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Operations per second of `op`, run for about `budget`; median of `rounds` rounds.
pub fn rate(budget: Duration, rounds: usize, mut op: impl FnMut(usize)) -> f64 {
    // Warm-up.
    for i in 0..32 {
        op(i);
    }
    let mut rates = Vec::new();
    let per_round = budget / rounds.max(1) as u32;
    let mut i = 0usize;
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < per_round {
            for _ in 0..16 {
                op(i);
                i = i.wrapping_add(1);
            }
            n += 16;
        }
        rates.push(n as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// ES256 sign and verify per second on one core, straight on aws-lc-rs.
#[derive(Debug, Clone, Copy)]
pub struct Floor {
    pub sign: f64,
    pub verify: f64,
}

impl Floor {
    /// Public client token request: one DPoP verify and one signature.
    pub fn token_public(&self) -> f64 {
        1.0 / (1.0 / self.verify + 1.0 / self.sign)
    }
    /// Confidential client: plus the client assertion verify.
    pub fn token_confidential(&self) -> f64 {
        1.0 / (2.0 / self.verify + 1.0 / self.sign)
    }
    /// Resource check: DPoP verify and access token verify.
    pub fn resource(&self) -> f64 {
        self.verify / 2.0
    }

    /// The floor named `kind`, per core.
    pub fn get(&self, kind: &str) -> Option<f64> {
        match kind {
            "sign" => Some(self.sign),
            "verify" => Some(self.verify),
            "token_public" => Some(self.token_public()),
            "token_confidential" => Some(self.token_confidential()),
            "resource" => Some(self.resource()),
            _ => None,
        }
    }

    /// The better of two measurements of each primitive (the machine is shared: the higher
    /// rate is the one less disturbed by other work).
    pub fn best(&self, other: &Floor) -> Floor {
        Floor {
            sign: self.sign.max(other.sign),
            verify: self.verify.max(other.verify),
        }
    }
}

pub fn es256_floor(budget: Duration, rounds: usize) -> anyhow::Result<Floor> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| anyhow::anyhow!("key generation"))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .map_err(|_| anyhow::anyhow!("key parse"))?;
    let public = pair.public_key().as_ref().to_vec();
    // About the size of a JWS signing input (header + access token claims, base64url).
    let message = vec![b'e'; 440];
    let sign = rate(budget, rounds, |_| {
        black_box(pair.sign(&rng, black_box(&message)).expect("sign"));
    });
    let signature = pair.sign(&rng, &message).expect("sign");
    // The key is parsed on every verify, as for a DPoP proof's embedded key.
    let verify = rate(budget, rounds, |_| {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, black_box(&public))
            .verify(black_box(&message), signature.as_ref())
            .expect("verify");
    });
    Ok(Floor { sign, verify })
}

pub const ISSUER: &str = "https://coop.bench.test";
const RESOURCE_URL: &str = "https://coop.bench.test/xrpc/com.atproto.server.getSession";

/// Tokens and proofs made once, reused by the in-process loops.
pub struct World {
    pub as_key: SigningKey,
    pub client_key: SigningKey,
    pub nonces: NonceIssuer,
    pub now: i64,
    pub claims: AccessTokenClaims,
}

impl World {
    pub fn new() -> anyhow::Result<Self> {
        let as_key = SigningKey::generate("bench-key".into())?;
        let client_key = SigningKey::generate("dpop".into())?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64;
        let claims = AccessTokenClaims {
            iss: ISSUER.into(),
            sub: "did:web:alice.coop.bench.test".into(),
            aud: ISSUER.into(),
            client_id: "http://localhost?scope=atproto".into(),
            scope: "atproto transition:generic".into(),
            jti: "tok-0123456789abcdef0123456789abcdef".into(),
            sid: "ses-0123456789abcdef0123456789abcdef".into(),
            iat: now,
            exp: now + 900,
            cnf: Confirmation {
                jkt: client_key.public_key().thumbprint(),
            },
        };
        Ok(Self {
            as_key,
            client_key,
            nonces: NonceIssuer::new(&[7u8; 32]),
            now,
            claims,
        })
    }

    /// `n` distinct proofs (distinct `jti`), for `method url`, bound to `token` if given.
    pub fn proofs(&self, n: usize, method: &str, url: &str, token: Option<&str>) -> Vec<String> {
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), json!("dpop+jwt"));
        let mut jwk = self.client_key.public_jwk();
        if let Some(o) = jwk.as_object_mut() {
            o.remove("kid");
        }
        header.insert("jwk".into(), jwk);
        let nonce = self.nonces.current(self.now);
        (0..n)
            .map(|i| {
                let mut claims = json!({
                    "jti": format!("bench-proof-{i:08}-0123456789abcdef"),
                    "htm": method,
                    "htu": url,
                    "iat": self.now,
                    "nonce": nonce,
                });
                if let Some(token) = token {
                    claims["ath"] = json!(hash_secret(token));
                }
                self.client_key
                    .sign_with_header(&header, &claims)
                    .expect("proof")
            })
            .collect()
    }
}

/// The same work as the floor, through atauth-protocol (parse, JSON, base64 included).
#[derive(Debug, Clone, Copy)]
pub struct Library {
    pub dpop_verify: f64,
    pub token_sign: f64,
    pub token_verify: f64,
    /// atauth_resource::verify_request (DPoP proof + access token + binding + nonce).
    pub resource_request: f64,
}

pub fn library(budget: Duration, rounds: usize) -> anyhow::Result<Library> {
    let w = World::new()?;
    let token = access_token::sign(&w.as_key, &w.claims)?;
    let token_url = format!("{ISSUER}/oauth/token");
    let proofs = w.proofs(256, "POST", &token_url, None);
    let ctx = ProofContext {
        method: "POST",
        url: &token_url,
        access_token: None,
        now: w.now,
    };
    let dpop_verify = rate(budget, rounds, |i| {
        black_box(dpop::verify_proof(&proofs[i % proofs.len()], &ctx).expect("proof"));
    });
    let token_sign = rate(budget, rounds, |_| {
        black_box(access_token::sign(&w.as_key, black_box(&w.claims)).expect("sign"));
    });
    let key = w.as_key.public_key().clone();
    let kid = w.as_key.kid().to_owned();
    let lookup = move |k: &str| (k == kid).then(|| key.clone());
    let token_verify = rate(budget, rounds, |_| {
        black_box(access_token::verify(&token, ISSUER, w.now, &lookup).expect("verify"));
    });
    let resource_request = resource_rate(&w, budget, rounds)?;
    Ok(Library {
        dpop_verify,
        token_sign,
        token_verify,
        resource_request,
    })
}

/// `atauth_resource::verify_request` per second on one thread, with distinct proofs.
fn resource_rate(w: &World, budget: Duration, rounds: usize) -> anyhow::Result<f64> {
    let token = access_token::sign(&w.as_key, &w.claims)?;
    let authorization = format!("DPoP {token}");
    let proofs = w.proofs(256, "GET", RESOURCE_URL, Some(&token));
    let key = w.as_key.public_key().clone();
    let kid = w.as_key.kid().to_owned();
    let lookup = move |k: &str| (k == kid).then(|| key.clone());
    let now = w.now;
    let nonce_ok = |n: &str| w.nonces.is_valid(n, now);
    Ok(rate(budget, rounds, |i| {
        let req = ResourceRequest {
            method: "GET",
            url: RESOURCE_URL,
            authorization: Some(&authorization),
            dpop: Some(&proofs[i % proofs.len()]),
            now,
        };
        black_box(verify_request(&req, ISSUER, &lookup, &nonce_ok).expect("resource request"));
    }))
}

/// Milliseconds per argon2id verify with `Argon2::default()` (what atauth's sign-in runs),
/// median of `n`.
pub fn argon2_ms(n: usize) -> anyhow::Result<f64> {
    use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
    let salt = SaltString::encode_b64(b"bench-salt-16byt").map_err(|e| anyhow::anyhow!("{e}"))?;
    let argon = argon2::Argon2::default();
    let phc = argon
        .hash_password(b"correct horse battery", &salt)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_string();
    let parsed = PasswordHash::new(&phc).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut times = Vec::new();
    for _ in 0..n.max(1) {
        let start = Instant::now();
        argon2::Argon2::default()
            .verify_password(b"correct horse battery", &parsed)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}
