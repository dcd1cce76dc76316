//! `private_key_jwt` client authentication (RFC 7523 section 2.2, atproto OAuth profile).
//!
//! The caller checks `client_assertion_type`, records the `jti` until `jti_expires_at` (a reuse
//! is refused), and compares `key_thumbprint` with the DPoP key and with the session's key.

use crate::clock::UnixTime;
use crate::constants::{
    CLIENT_ASSERTION_JTI_TTL_SECS, CLIENT_ASSERTION_MAX_AGE_SECS, MAX_JTI_CHARS,
};
use crate::jose::{JoseError, JwkSet, UnverifiedJws};
use crate::OAuthError;
use serde_json::Value;

pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How far in the future an assertion's `iat` may be (clock skew between client and us).
pub const CLIENT_ASSERTION_MAX_FUTURE_SECS: i64 = 60;

#[derive(Debug, Clone)]
pub struct AssertionContext<'a> {
    pub client_id: &'a str,
    /// The issuer origin: the only `aud` accepted.
    pub issuer: &'a str,
    pub now: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub kid: String,
    /// Thumbprint of the client key that signed it.
    pub key_thumbprint: String,
    pub jti: String,
    /// When the `jti` may be forgotten.
    pub jti_expires_at: UnixTime,
}

/// Verifies a client assertion against the client's keys. Errors are `invalid_client`.
///
/// Header: `alg` ES256 or ES256K, `kid` naming one of `keys`, a valid signature. Claims:
/// `iss` and `sub` equal to the client_id; `aud` the issuer exactly (a string, or an array
/// containing it; the token endpoint URL is not accepted); a `jti`; an integer `iat` at most
/// 60 s old and at most 60 s ahead; `exp`, if present, still in the future.
pub fn verify_client_assertion(
    assertion: &str,
    keys: &JwkSet,
    ctx: &AssertionContext<'_>,
) -> Result<VerifiedAssertion, OAuthError> {
    let jws = UnverifiedJws::decode(assertion).map_err(|e| match e {
        JoseError::Malformed(why) => {
            invalid(format!("client assertion is not a well-formed JWS: {why}"))
        }
        _ => invalid("client assertion is not a well-formed JWS"),
    })?;
    let alg = jws.algorithm().map_err(|e| match e {
        JoseError::UnsupportedAlgorithm => {
            invalid("client assertion must be signed with ES256 or ES256K")
        }
        _ => invalid("client assertion header must carry alg as a string"),
    })?;
    let kid = jws
        .header_str("kid")
        .ok_or_else(|| invalid("client assertion must name its key (kid)"))?;
    let key = keys.find(kid).ok_or_else(|| {
        invalid("client assertion kid names no key in the client's published keys")
    })?;
    if key.algorithm() != alg {
        return Err(invalid(
            "client assertion alg does not match the curve of the key named by kid",
        ));
    }
    jws.verify_with(key).map_err(|_| {
        invalid("client assertion signature does not verify with the key named by kid")
    })?;

    let claims = &jws.claims;
    if jws.claim_str("iss") != Some(ctx.client_id) {
        return Err(invalid("client assertion iss must be the client_id"));
    }
    if jws.claim_str("sub") != Some(ctx.client_id) {
        return Err(invalid("client assertion sub must be the client_id"));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == ctx.issuer,
        Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(ctx.issuer)),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid(
            "client assertion aud must be the authorization server's issuer",
        ));
    }
    let jti = match claims.get("jti") {
        Some(Value::String(jti)) if (1..=MAX_JTI_CHARS).contains(&jti.chars().count()) => {
            jti.clone()
        }
        Some(Value::String(_)) => {
            return Err(invalid(
                "client assertion jti must be 1 to 256 characters long",
            ))
        }
        Some(_) => return Err(invalid("client assertion jti must be a string")),
        None => return Err(invalid("client assertion must carry a jti")),
    };
    let iat = match claims.get("iat") {
        Some(value) => value
            .as_i64()
            .ok_or_else(|| invalid("client assertion iat must be an integer number of seconds"))?,
        None => return Err(invalid("client assertion must carry iat")),
    };
    if iat < ctx.now.saturating_sub(CLIENT_ASSERTION_MAX_AGE_SECS) {
        return Err(invalid(
            "client assertion is too old (iat is more than 60 seconds ago)",
        ));
    }
    if iat > ctx.now.saturating_add(CLIENT_ASSERTION_MAX_FUTURE_SECS) {
        return Err(invalid("client assertion iat is in the future"));
    }
    let exp = match claims.get("exp") {
        None => None,
        Some(value) => {
            let exp = value.as_i64().ok_or_else(|| {
                invalid("client assertion exp must be an integer number of seconds")
            })?;
            if exp <= ctx.now {
                return Err(invalid("client assertion has expired (exp)"));
            }
            Some(exp)
        }
    };

    Ok(VerifiedAssertion {
        kid: kid.to_owned(),
        key_thumbprint: key.thumbprint(),
        jti,
        jti_expires_at: jti_expires_at(ctx.now, iat, exp),
    })
}

/// The `jti` must be remembered while the assertion could still pass these checks: until `exp`
/// or until its `iat` ages out (`iat + 60 s`), whichever is first, and never less than 70 s.
/// So a far-future `exp` cannot make us store a `jti` for long (at most about two minutes).
fn jti_expires_at(now: UnixTime, iat: UnixTime, exp: Option<UnixTime>) -> UnixTime {
    let floor = now.saturating_add(CLIENT_ASSERTION_JTI_TTL_SECS);
    let ages_out = iat
        .saturating_add(CLIENT_ASSERTION_MAX_AGE_SECS)
        .saturating_add(1);
    let dead_at = exp.map_or(ages_out, |exp| exp.min(ages_out));
    floor.max(dead_at)
}

fn invalid(description: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::invalid_client(description)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::jose::test_support::TestKey;
    use crate::jose::Algorithm;
    use serde_json::json;

    const NOW: UnixTime = 1_700_000_000;
    const CLIENT: &str = "https://app.example/client-metadata.json";
    const ISSUER: &str = "https://coop.example";

    fn ctx() -> AssertionContext<'static> {
        AssertionContext {
            client_id: CLIENT,
            issuer: ISSUER,
            now: NOW,
        }
    }

    fn header(key: &TestKey) -> Value {
        json!({"alg": key.alg.name(), "kid": "k1"})
    }

    fn claims() -> Value {
        json!({"iss": CLIENT, "sub": CLIENT, "aud": ISSUER, "jti": "a-1", "iat": NOW})
    }

    fn keys(key: &TestKey) -> JwkSet {
        JwkSet::from_json(&json!({"keys": [key.jwk_with_kid("k1")]})).unwrap()
    }

    fn check(
        key: &TestKey,
        header: &Value,
        claims: &Value,
    ) -> Result<VerifiedAssertion, OAuthError> {
        verify_client_assertion(&key.sign(header, claims), &keys(key), &ctx())
    }

    fn refused(result: Result<VerifiedAssertion, OAuthError>, description: &str) {
        let err = result.expect_err("assertion must be refused");
        assert_eq!(err.code, ErrorCode::InvalidClient, "{err}");
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
    fn valid_es256_and_es256k_assertions() {
        for alg in [Algorithm::Es256, Algorithm::Es256k] {
            let key = TestKey::new(alg);
            let ok = check(&key, &header(&key), &claims()).unwrap();
            assert_eq!(ok.kid, "k1");
            assert_eq!(ok.jti, "a-1");
            assert_eq!(ok.key_thumbprint, key.public().thumbprint());
            assert_eq!(ok.jti_expires_at, NOW + CLIENT_ASSERTION_JTI_TTL_SECS);
        }
    }

    #[test]
    fn aud_must_be_the_issuer() {
        let key = TestKey::new(Algorithm::Es256);
        for aud in [
            json!("https://coop.example/oauth/token"),
            json!("https://coop.example/"),
            json!(["https://coop.example/oauth/token"]),
            json!([]),
            json!(null),
        ] {
            refused(
                check(&key, &header(&key), &set(claims(), "aud", aud)),
                "client assertion aud must be the authorization server's issuer",
            );
        }
        refused(
            check(&key, &header(&key), &unset(claims(), "aud")),
            "client assertion aud must be the authorization server's issuer",
        );
        let array = set(claims(), "aud", json!(["https://other.example", ISSUER]));
        assert!(check(&key, &header(&key), &array).is_ok());
    }

    #[test]
    fn kid_is_required_and_must_be_known() {
        let key = TestKey::new(Algorithm::Es256);
        refused(
            check(&key, &unset(header(&key), "kid"), &claims()),
            "client assertion must name its key (kid)",
        );
        refused(
            check(&key, &set(header(&key), "kid", json!("k2")), &claims()),
            "client assertion kid names no key in the client's published keys",
        );
    }

    #[test]
    fn signature_and_alg_are_checked() {
        let key = TestKey::new(Algorithm::Es256);
        let impostor = TestKey::new(Algorithm::Es256);
        refused(
            verify_client_assertion(
                &impostor.sign(&header(&impostor), &claims()),
                &keys(&key),
                &ctx(),
            ),
            "client assertion signature does not verify with the key named by kid",
        );
        refused(
            check(&key, &set(header(&key), "alg", json!("ES256K")), &claims()),
            "client assertion alg does not match the curve of the key named by kid",
        );
        for alg in ["none", "HS256", "RS256"] {
            refused(
                check(&key, &set(header(&key), "alg", json!(alg)), &claims()),
                "client assertion must be signed with ES256 or ES256K",
            );
        }
    }

    #[test]
    fn iss_and_sub_must_be_the_client_id() {
        let key = TestKey::new(Algorithm::Es256);
        refused(
            check(
                &key,
                &header(&key),
                &set(claims(), "iss", json!("https://evil.example/c.json")),
            ),
            "client assertion iss must be the client_id",
        );
        refused(
            check(&key, &header(&key), &unset(claims(), "iss")),
            "client assertion iss must be the client_id",
        );
        refused(
            check(
                &key,
                &header(&key),
                &set(claims(), "sub", json!("did:plc:someone")),
            ),
            "client assertion sub must be the client_id",
        );
    }

    #[test]
    fn jti_is_required() {
        let key = TestKey::new(Algorithm::Es256);
        refused(
            check(&key, &header(&key), &unset(claims(), "jti")),
            "client assertion must carry a jti",
        );
        refused(
            check(&key, &header(&key), &set(claims(), "jti", json!(""))),
            "client assertion jti must be 1 to 256 characters long",
        );
    }

    #[test]
    fn iat_is_required_and_at_most_60_seconds_old() {
        let key = TestKey::new(Algorithm::Es256);
        let at = |iat: i64| check(&key, &header(&key), &set(claims(), "iat", json!(iat)));
        assert!(at(NOW - 60).is_ok());
        assert!(at(NOW + 60).is_ok());
        refused(
            at(NOW - 61),
            "client assertion is too old (iat is more than 60 seconds ago)",
        );
        refused(at(NOW + 61), "client assertion iat is in the future");
        refused(
            check(&key, &header(&key), &unset(claims(), "iat")),
            "client assertion must carry iat",
        );
        refused(
            check(&key, &header(&key), &set(claims(), "iat", json!("now"))),
            "client assertion iat must be an integer number of seconds",
        );
    }

    #[test]
    fn exp_if_present_must_be_in_the_future() {
        let key = TestKey::new(Algorithm::Es256);
        refused(
            check(&key, &header(&key), &set(claims(), "exp", json!(NOW))),
            "client assertion has expired (exp)",
        );
        assert!(check(&key, &header(&key), &set(claims(), "exp", json!(NOW + 1))).is_ok());
    }

    #[test]
    fn jti_is_kept_while_the_assertion_could_replay() {
        // No exp, or a short one: the 70 s floor.
        assert_eq!(jti_expires_at(NOW, NOW, None), NOW + 70);
        assert_eq!(jti_expires_at(NOW, NOW, Some(NOW + 5)), NOW + 70);
        // A far-future exp is capped where the iat ages out.
        assert_eq!(jti_expires_at(NOW, NOW + 60, Some(NOW + 86_400)), NOW + 121);
        assert_eq!(jti_expires_at(NOW, NOW + 60, None), NOW + 121);
        assert_eq!(jti_expires_at(NOW, NOW + 30, Some(NOW + 80)), NOW + 80);
        // Overflow-safe.
        assert_eq!(jti_expires_at(i64::MAX, i64::MAX, Some(i64::MAX)), i64::MAX);
    }

    #[test]
    fn garbage_is_invalid_client() {
        let key = TestKey::new(Algorithm::Es256);
        let err = verify_client_assertion("garbage", &keys(&key), &ctx()).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidClient);
    }
}
