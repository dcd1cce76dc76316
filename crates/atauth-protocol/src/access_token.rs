//! JWT access tokens (RFC 9068 shape, `typ: at+jwt`), bound to a DPoP key via `cnf.jkt`.

use crate::clock::UnixTime;
use crate::jose::{Algorithm, JoseError, PublicJwk, SigningKey, UnverifiedJws};
use crate::OAuthError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The JOSE `typ` of our access tokens (RFC 9068 section 2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub jti: String,
    /// Session id, so resource servers and introspection can check revocation.
    pub sid: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
    pub cnf: Confirmation,
}

/// Signs `claims` with the cooperative's key; header `{alg: ES256, typ: at+jwt, kid}`.
/// Errors are `server_error`.
pub fn sign(key: &SigningKey, claims: &AccessTokenClaims) -> Result<String, OAuthError> {
    let claims = serde_json::to_value(claims)
        .map_err(|_| OAuthError::server_error("The access token claims could not be serialised"))?;
    key.sign_jwt(ACCESS_TOKEN_TYP, &claims)
        .map_err(|_| OAuthError::server_error("The access token could not be signed"))
}

/// Verifies signature, `typ`, `iss`, `exp`; `key_for_kid` looks up the tenant's verification key.
/// Errors are `invalid_token`.
///
/// `typ` may be `at+jwt` or `application/at+jwt` (RFC 9068 section 4 requires both to be
/// accepted); `alg` must be ES256, the only algorithm we sign tokens with.
pub fn verify(
    token: &str,
    issuer: &str,
    now: UnixTime,
    key_for_kid: &dyn Fn(&str) -> Option<PublicJwk>,
) -> Result<AccessTokenClaims, OAuthError> {
    let jws = UnverifiedJws::decode(token).map_err(|e| match e {
        JoseError::Malformed(why) => {
            invalid(format!("access token is not a well-formed JWT: {why}"))
        }
        _ => invalid("access token is not a well-formed JWT"),
    })?;
    match jws.header_str("typ") {
        Some(typ) if typ == ACCESS_TOKEN_TYP || typ.eq_ignore_ascii_case("application/at+jwt") => {}
        _ => return Err(invalid("token is not an access token (typ is not at+jwt)")),
    }
    if jws.algorithm() != Ok(Algorithm::Es256) {
        return Err(invalid("access token must be signed with ES256"));
    }
    let kid = jws
        .header_str("kid")
        .ok_or_else(|| invalid("access token header does not name its key (kid)"))?;
    let key =
        key_for_kid(kid).ok_or_else(|| invalid("access token is signed with an unknown key"))?;
    jws.verify_with(&key)
        .map_err(|_| invalid("access token signature is invalid"))?;

    let claims: AccessTokenClaims = serde_json::from_value(Value::Object(jws.claims))
        .map_err(|_| invalid("access token claims are incomplete or malformed"))?;
    if claims.iss != issuer {
        return Err(invalid(
            "access token was issued by another authorization server",
        ));
    }
    if claims.exp <= now {
        return Err(invalid("access token has expired"));
    }
    Ok(claims)
}

fn invalid(description: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::invalid_token(description)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::jose::test_support::TestKey;
    use serde_json::json;

    const NOW: UnixTime = 1_700_000_000;
    const ISSUER: &str = "https://coop.example";

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            iss: ISSUER.into(),
            sub: "did:web:alice.coop.example".into(),
            aud: "did:web:pds.coop.example".into(),
            client_id: "https://app.example/client-metadata.json".into(),
            scope: "atproto transition:generic".into(),
            jti: "tok-1".into(),
            sid: "ses-1".into(),
            iat: NOW,
            exp: NOW + 900,
            cnf: Confirmation {
                jkt: "jkt-1".into(),
            },
        }
    }

    fn lookup(key: &SigningKey) -> impl Fn(&str) -> Option<PublicJwk> + '_ {
        move |kid| (kid == key.kid()).then(|| key.public_key().clone())
    }

    fn refused(result: Result<AccessTokenClaims, OAuthError>, description: &str) {
        let err = result.expect_err("token must be refused");
        assert_eq!(err.code, ErrorCode::InvalidToken, "{err}");
        assert_eq!(err.description, description);
    }

    #[test]
    fn round_trip() {
        let key = SigningKey::generate("coop-1".into()).unwrap();
        let token = sign(&key, &claims()).unwrap();
        let jws = UnverifiedJws::decode(&token).unwrap();
        assert_eq!(jws.header_str("typ"), Some("at+jwt"));
        assert_eq!(jws.header_str("kid"), Some("coop-1"));
        assert_eq!(
            verify(&token, ISSUER, NOW, &lookup(&key)).unwrap(),
            claims()
        );
    }

    #[test]
    fn expired_token_is_refused() {
        let key = SigningKey::generate("k".into()).unwrap();
        let token = sign(&key, &claims()).unwrap();
        assert!(verify(&token, ISSUER, NOW + 899, &lookup(&key)).is_ok());
        refused(
            verify(&token, ISSUER, NOW + 900, &lookup(&key)),
            "access token has expired",
        );
    }

    #[test]
    fn other_issuer_is_refused() {
        let key = SigningKey::generate("k".into()).unwrap();
        let token = sign(&key, &claims()).unwrap();
        refused(
            verify(&token, "https://other.example", NOW, &lookup(&key)),
            "access token was issued by another authorization server",
        );
    }

    #[test]
    fn wrong_typ_is_refused() {
        let key = SigningKey::generate("k".into()).unwrap();
        let claims = serde_json::to_value(claims()).unwrap();
        for typ in ["JWT", "dpop+jwt", "jwt"] {
            let token = key.sign_jwt(typ, &claims).unwrap();
            refused(
                verify(&token, ISSUER, NOW, &lookup(&key)),
                "token is not an access token (typ is not at+jwt)",
            );
        }
        let token = key.sign_jwt("application/at+jwt", &claims).unwrap();
        assert!(verify(&token, ISSUER, NOW, &lookup(&key)).is_ok());
    }

    #[test]
    fn unknown_kid_and_bad_signature_are_refused() {
        let key = SigningKey::generate("k".into()).unwrap();
        let token = sign(&key, &claims()).unwrap();
        refused(
            verify(&token, ISSUER, NOW, &|_| None),
            "access token is signed with an unknown key",
        );
        let other = SigningKey::generate("k".into()).unwrap();
        refused(
            verify(&token, ISSUER, NOW, &lookup(&other)),
            "access token signature is invalid",
        );
    }

    #[test]
    fn only_es256_is_accepted() {
        let key = TestKey::new(crate::jose::Algorithm::Es256k);
        let claims = serde_json::to_value(claims()).unwrap();
        let token = key.sign(
            &json!({"alg": "ES256K", "typ": "at+jwt", "kid": "k"}),
            &claims,
        );
        let public = key.public();
        refused(
            verify(&token, ISSUER, NOW, &|_| Some(public.clone())),
            "access token must be signed with ES256",
        );
    }

    #[test]
    fn missing_kid_and_claims_are_refused() {
        let key = TestKey::new(crate::jose::Algorithm::Es256);
        let public = key.public();
        let full = serde_json::to_value(claims()).unwrap();
        let token = key.sign(&json!({"alg": "ES256", "typ": "at+jwt"}), &full);
        refused(
            verify(&token, ISSUER, NOW, &|_| Some(public.clone())),
            "access token header does not name its key (kid)",
        );
        let mut partial = full.clone();
        partial.as_object_mut().unwrap().remove("cnf");
        let token = key.sign(
            &json!({"alg": "ES256", "typ": "at+jwt", "kid": "k"}),
            &partial,
        );
        refused(
            verify(&token, ISSUER, NOW, &|_| Some(public.clone())),
            "access token claims are incomplete or malformed",
        );
    }

    #[test]
    fn garbage_is_invalid_token() {
        let err = verify("garbage", ISSUER, NOW, &|_| None).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidToken);
    }
}
