use super::*;
use crate::error::ErrorCode;
use crate::jose::test_support::TestKey;
use crate::jose::{b64_encode, Algorithm};
use proptest::prelude::*;
use serde_json::{json, Value};

const NOW: UnixTime = 1_700_000_000;
const PAR: &str = "https://coop.example/oauth/par";
const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.access.token";

fn header(key: &TestKey) -> Value {
    json!({"typ": "dpop+jwt", "alg": key.alg.name(), "jwk": key.jwk()})
}

fn claims() -> Value {
    json!({"jti": "jti-1", "htm": "POST", "htu": PAR, "iat": NOW})
}

fn at_as() -> ProofContext<'static> {
    ProofContext {
        method: "POST",
        url: PAR,
        access_token: None,
        now: NOW,
    }
}

fn at_rs() -> ProofContext<'static> {
    ProofContext {
        method: "GET",
        url: "https://pds.example/xrpc/com.atproto.repo.listRecords",
        access_token: Some(TOKEN),
        now: NOW,
    }
}

fn rs_claims() -> Value {
    json!({
        "jti": "jti-2", "htm": "GET", "iat": NOW,
        "htu": "https://pds.example/xrpc/com.atproto.repo.listRecords",
        "ath": b64_encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, TOKEN.as_bytes())),
    })
}

fn verify(
    key: &TestKey,
    header: &Value,
    claims: &Value,
    ctx: &ProofContext<'_>,
) -> Result<VerifiedProof, OAuthError> {
    verify_proof(&key.sign(header, claims), ctx)
}

/// Asserts `invalid_dpop_proof` with exactly this description.
fn refused(result: Result<VerifiedProof, OAuthError>, description: &str) {
    let err = result.expect_err("proof must be refused");
    assert_eq!(err.code, ErrorCode::InvalidDpopProof, "{err}");
    assert_eq!(err.description, description);
}

fn set(mut value: Value, name: &str, to: Value) -> Value {
    value[name] = to;
    value
}

fn unset(mut value: Value, name: &str) -> Value {
    if let Some(obj) = value.as_object_mut() {
        obj.remove(name);
    }
    value
}

#[test]
fn es256_and_es256k_proofs_verify() {
    for alg in [Algorithm::Es256, Algorithm::Es256k] {
        let key = TestKey::new(alg);
        let proof = verify(
            &key,
            &header(&key),
            &set(claims(), "nonce", json!("n-1")),
            &at_as(),
        )
        .unwrap();
        assert_eq!(proof.jkt, key.public().thumbprint());
        assert_eq!(proof.jti, "jti-1");
        assert_eq!(proof.iat, NOW);
        assert_eq!(proof.nonce.as_deref(), Some("n-1"));
    }
}

#[test]
fn nonce_is_optional_and_must_be_a_string() {
    let key = TestKey::new(Algorithm::Es256);
    assert_eq!(
        verify(&key, &header(&key), &claims(), &at_as())
            .unwrap()
            .nonce,
        None
    );
    refused(
        verify(
            &key,
            &header(&key),
            &set(claims(), "nonce", json!(5)),
            &at_as(),
        ),
        "DPoP proof nonce must be a string",
    );
}

#[test]
fn typ_must_be_dpop_jwt() {
    let key = TestKey::new(Algorithm::Es256);
    for typ in ["JWT", "at+jwt", "DPOP+JWT", "application/dpop+jwt"] {
        refused(
            verify(
                &key,
                &set(header(&key), "typ", json!(typ)),
                &claims(),
                &at_as(),
            ),
            "DPoP proof typ must be dpop+jwt",
        );
    }
    refused(
        verify(&key, &unset(header(&key), "typ"), &claims(), &at_as()),
        "DPoP proof header must carry typ dpop+jwt",
    );
}

#[test]
fn alg_must_be_es256_or_es256k_and_match_the_key() {
    let key = TestKey::new(Algorithm::Es256);
    for alg in ["none", "HS256", "RS256", "ES384"] {
        refused(
            verify(
                &key,
                &set(header(&key), "alg", json!(alg)),
                &claims(),
                &at_as(),
            ),
            "DPoP proof must be signed with ES256 or ES256K",
        );
    }
    refused(
        verify(
            &key,
            &set(header(&key), "alg", json!("ES256K")),
            &claims(),
            &at_as(),
        ),
        "DPoP proof alg does not match the curve of its key (jwk)",
    );
}

#[test]
fn jwk_is_required_and_public_only() {
    let key = TestKey::new(Algorithm::Es256);
    refused(
        verify(&key, &unset(header(&key), "jwk"), &claims(), &at_as()),
        "DPoP proof header must carry the public key (jwk)",
    );
    let private = set(
        key.jwk(),
        "d",
        json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"),
    );
    refused(
        verify(
            &key,
            &set(header(&key), "jwk", private),
            &claims(),
            &at_as(),
        ),
        "DPoP proof key must be a public key",
    );
    let rsa = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"});
    let err = verify(&key, &set(header(&key), "jwk", rsa), &claims(), &at_as()).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidDpopProof);
    assert!(
        err.description
            .starts_with("DPoP proof key (jwk) is not usable"),
        "{err}"
    );
}

#[test]
fn signature_must_verify_with_the_embedded_key() {
    let key = TestKey::new(Algorithm::Es256);
    let other = TestKey::new(Algorithm::Es256);
    // Signed by `key` but claiming `other`'s public key.
    refused(
        verify(
            &key,
            &set(header(&key), "jwk", other.jwk()),
            &claims(),
            &at_as(),
        ),
        "DPoP proof signature does not verify with its key (jwk)",
    );
    let proof = key.sign(&header(&key), &claims());
    let (rest, sig) = proof.rsplit_once('.').unwrap();
    let mut sig = crate::jose::b64_decode(sig).unwrap();
    sig[0] ^= 0x80;
    refused(
        verify_proof(&format!("{rest}.{}", b64_encode(sig)), &at_as()),
        "DPoP proof signature does not verify with its key (jwk)",
    );
}

#[test]
fn malformed_proofs_are_refused() {
    let err = verify_proof("not.a.jws", &at_as()).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidDpopProof);
    assert!(
        err.description
            .starts_with("DPoP proof is not a well-formed JWS"),
        "{err}"
    );
    assert_eq!(
        verify_proof("", &at_as()).unwrap_err().code,
        ErrorCode::InvalidDpopProof
    );
}

#[test]
fn jti_is_required_and_bounded() {
    let key = TestKey::new(Algorithm::Es256);
    refused(
        verify(&key, &header(&key), &unset(claims(), "jti"), &at_as()),
        "DPoP proof must carry a jti",
    );
    refused(
        verify(
            &key,
            &header(&key),
            &set(claims(), "jti", json!("")),
            &at_as(),
        ),
        "DPoP proof jti must be 1 to 256 characters long",
    );
    refused(
        verify(
            &key,
            &header(&key),
            &set(claims(), "jti", json!("j".repeat(257))),
            &at_as(),
        ),
        "DPoP proof jti must be 1 to 256 characters long",
    );
    refused(
        verify(
            &key,
            &header(&key),
            &set(claims(), "jti", json!(42)),
            &at_as(),
        ),
        "DPoP proof jti must be a string",
    );
    assert!(verify(
        &key,
        &header(&key),
        &set(claims(), "jti", json!("j".repeat(256))),
        &at_as()
    )
    .is_ok());
}

#[test]
fn htm_must_equal_the_method() {
    let key = TestKey::new(Algorithm::Es256);
    for htm in ["GET", "post"] {
        refused(
            verify(
                &key,
                &header(&key),
                &set(claims(), "htm", json!(htm)),
                &at_as(),
            ),
            "DPoP proof htm does not match the request method",
        );
    }
    refused(
        verify(&key, &header(&key), &unset(claims(), "htm"), &at_as()),
        "DPoP proof must carry htm (the request method)",
    );
}

#[test]
fn htu_must_name_the_endpoint() {
    let key = TestKey::new(Algorithm::Es256);
    for htu in [
        "https://coop.example/oauth/token",
        "https://other.example/oauth/par",
        "http://coop.example/oauth/par",
        "https://coop.example:8443/oauth/par",
    ] {
        refused(
            verify(
                &key,
                &header(&key),
                &set(claims(), "htu", json!(htu)),
                &at_as(),
            ),
            "DPoP proof htu does not match the request URL",
        );
    }
    refused(
        verify(&key, &header(&key), &unset(claims(), "htu"), &at_as()),
        "DPoP proof must carry htu (the request URL)",
    );
    refused(
        verify(
            &key,
            &header(&key),
            &set(claims(), "htu", json!("/oauth/par")),
            &at_as(),
        ),
        "DPoP proof htu is not a valid URL",
    );
}

#[test]
fn htu_is_compared_after_normalisation() {
    let key = TestKey::new(Algorithm::Es256);
    for htu in [
        "https://coop.example/oauth/par?legacy=1",
        "https://coop.example/oauth/par#frag",
        "HTTPS://Coop.Example:443/oauth/par",
    ] {
        assert!(
            verify(
                &key,
                &header(&key),
                &set(claims(), "htu", json!(htu)),
                &at_as()
            )
            .is_ok(),
            "{htu}"
        );
    }
}

#[test]
fn iat_window_is_190_seconds_back_and_180_forward() {
    let key = TestKey::new(Algorithm::Es256);
    let at = |iat: i64| {
        verify(
            &key,
            &header(&key),
            &set(claims(), "iat", json!(iat)),
            &at_as(),
        )
    };
    assert!(at(NOW - 180).is_ok());
    assert!(at(NOW - 190).is_ok());
    assert!(at(NOW + 180).is_ok());
    refused(
        at(NOW - 191),
        "DPoP proof is too old (iat is more than 190 seconds ago)",
    );
    refused(
        at(NOW - 200),
        "DPoP proof is too old (iat is more than 190 seconds ago)",
    );
    refused(
        at(NOW + 181),
        "DPoP proof iat is too far in the future (more than 180 seconds)",
    );
    refused(
        at(NOW + 200),
        "DPoP proof iat is too far in the future (more than 180 seconds)",
    );
    refused(
        verify(
            &key,
            &header(&key),
            &set(claims(), "iat", json!(NOW as f64 + 0.5)),
            &at_as(),
        ),
        "DPoP proof iat must be an integer number of seconds",
    );
    refused(
        verify(
            &key,
            &header(&key),
            &set(claims(), "iat", json!(NOW.to_string())),
            &at_as(),
        ),
        "DPoP proof iat must be an integer number of seconds",
    );
    refused(
        verify(&key, &header(&key), &unset(claims(), "iat"), &at_as()),
        "DPoP proof must carry iat",
    );
}

#[test]
fn exp_if_present_must_not_have_passed() {
    let key = TestKey::new(Algorithm::Es256);
    assert!(verify(
        &key,
        &header(&key),
        &set(claims(), "exp", json!(NOW + 60)),
        &at_as()
    )
    .is_ok());
    refused(
        verify(
            &key,
            &header(&key),
            &set(claims(), "exp", json!(NOW - 181)),
            &at_as(),
        ),
        "DPoP proof has expired (exp)",
    );
}

#[test]
fn ath_is_refused_at_the_authorization_server() {
    let key = TestKey::new(Algorithm::Es256);
    refused(
        verify(
            &key,
            &header(&key),
            &set(claims(), "ath", json!("abc")),
            &at_as(),
        ),
        "DPoP proof must not carry ath when no access token is presented",
    );
}

#[test]
fn ath_must_hash_the_presented_token() {
    let key = TestKey::new(Algorithm::Es256k);
    let proof = verify(&key, &header(&key), &rs_claims(), &at_rs()).unwrap();
    assert_eq!(proof.jkt, key.public().thumbprint());

    let other_hash = b64_encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        b"another token",
    ));
    refused(
        verify(
            &key,
            &header(&key),
            &set(rs_claims(), "ath", json!(other_hash)),
            &at_rs(),
        ),
        "DPoP proof ath does not match the access token",
    );
    refused(
        verify(&key, &header(&key), &unset(rs_claims(), "ath"), &at_rs()),
        "DPoP proof must carry ath (the access token hash)",
    );
    refused(
        verify(
            &key,
            &header(&key),
            &set(rs_claims(), "ath", json!(1)),
            &at_rs(),
        ),
        "DPoP proof ath must be a string",
    );
}

#[test]
fn unusable_endpoint_url_is_a_server_error() {
    let key = TestKey::new(Algorithm::Es256);
    let ctx = ProofContext {
        url: "not a url",
        ..at_as()
    };
    let err = verify(&key, &header(&key), &claims(), &ctx).unwrap_err();
    assert_eq!(err.code, ErrorCode::ServerError);
}

proptest! {
    #[test]
    fn verify_proof_never_panics_on_arbitrary_strings(s in "\\PC{0,400}", now in any::<i64>()) {
        let ctx = ProofContext { now, ..at_rs() };
        let _ = verify_proof(&s, &ctx);
    }

    #[test]
    fn verify_proof_never_panics_on_arbitrary_claims(
        jti in any::<Option<String>>(),
        htu in any::<String>(),
        iat in any::<i64>(),
        exp in any::<Option<f64>>(),
        ath in any::<Option<String>>(),
        now in any::<i64>(),
    ) {
        let key = TestKey::new(Algorithm::Es256);
        let mut c = json!({"htm": "GET", "htu": htu, "iat": iat, "jti": jti, "ath": ath});
        if let Some(exp) = exp {
            c["exp"] = json!(exp);
        }
        let ctx = ProofContext { now, ..at_rs() };
        let _ = verify(&key, &header(&key), &c, &ctx);
    }
}
