//! DPoP proofs (RFC 9449) and stateless server nonces.
//!
//! [`verify_proof`] runs the checks of RFC 9449 section 4.3 that need no storage; the caller
//! then checks the nonce ([`NonceIssuer::is_valid`]) and records the `jti` for replay detection.

mod htu;
mod nonce;
#[cfg(test)]
mod tests;

pub use nonce::NonceIssuer;

use crate::clock::UnixTime;
use crate::constants::{DPOP_IAT_MAX_AGE_SECS, DPOP_IAT_MAX_FUTURE_SECS, MAX_JTI_CHARS};
use crate::jose::{sha256_b64, JoseError, PublicJwk, UnverifiedJws};
use crate::random::secure_eq;
use crate::OAuthError;
use serde_json::Value;

/// The JOSE `typ` of a DPoP proof (RFC 9449 section 4.2).
pub const DPOP_PROOF_TYP: &str = "dpop+jwt";

/// What the request a proof accompanies looks like.
#[derive(Debug, Clone)]
pub struct ProofContext<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// The endpoint URL built from the tenant's configured issuer (never from request headers),
    /// without query or fragment.
    pub url: &'a str,
    /// The access token presented with the proof (resource requests); `None` at the AS,
    /// where a proof carrying `ath` is refused.
    pub access_token: Option<&'a str>,
    pub now: UnixTime,
}

/// A proof whose signature, `typ`, `htm`, `htu`, `iat` and `ath` checked out.
/// The caller still checks the nonce (before recording the `jti`) and the `jti` replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// RFC 7638 thumbprint of the proof key (what `cnf.jkt` binds to).
    pub jkt: String,
    pub jti: String,
    pub iat: UnixTime,
    pub nonce: Option<String>,
}

/// Verifies a DPoP proof JWT. Errors are `invalid_dpop_proof`.
///
/// Header: `typ` is exactly `dpop+jwt`; `alg` is ES256 or ES256K and matches the curve of the
/// embedded public `jwk`; the signature verifies with that key. Claims: `jti` (1 to 256
/// characters), `htm` equal to the method, `htu` equal to the endpoint URL after normalisation
/// (query and fragment ignored, RFC 9449 section 4.3 step 9), integer `iat` within
/// [now - 190 s, now + 180 s], `ath` exactly when an access token is presented, and an
/// optional string `nonce`, returned for the caller to check.
pub fn verify_proof(proof: &str, ctx: &ProofContext<'_>) -> Result<VerifiedProof, OAuthError> {
    let jws = UnverifiedJws::decode(proof).map_err(|e| match e {
        JoseError::Malformed(why) => invalid(format!("DPoP proof is not a well-formed JWS: {why}")),
        _ => invalid("DPoP proof is not a well-formed JWS"),
    })?;
    let key = verify_header_and_signature(&jws)?;
    let claims = &jws.claims;

    let jti = match claims.get("jti") {
        Some(Value::String(jti)) if (1..=MAX_JTI_CHARS).contains(&jti.chars().count()) => {
            jti.clone()
        }
        Some(Value::String(_)) => {
            return Err(invalid("DPoP proof jti must be 1 to 256 characters long"))
        }
        Some(_) => return Err(invalid("DPoP proof jti must be a string")),
        None => return Err(invalid("DPoP proof must carry a jti")),
    };

    match claims.get("htm") {
        Some(Value::String(htm)) if htm == ctx.method => {}
        Some(Value::String(_)) => {
            return Err(invalid("DPoP proof htm does not match the request method"))
        }
        Some(_) => return Err(invalid("DPoP proof htm must be a string")),
        None => return Err(invalid("DPoP proof must carry htm (the request method)")),
    }

    let htu = match claims.get("htu") {
        Some(Value::String(htu)) => {
            htu::normalize(htu).map_err(|why| invalid(format!("DPoP proof htu {why}")))?
        }
        Some(_) => return Err(invalid("DPoP proof htu must be a string")),
        None => return Err(invalid("DPoP proof must carry htu (the request URL)")),
    };
    let endpoint = htu::normalize(ctx.url).map_err(|_| {
        OAuthError::server_error(
            "The endpoint URL for DPoP verification is not a valid http(s) URL",
        )
    })?;
    if htu != endpoint {
        return Err(invalid("DPoP proof htu does not match the request URL"));
    }

    let iat = match claims.get("iat") {
        Some(value) => value
            .as_i64()
            .ok_or_else(|| invalid("DPoP proof iat must be an integer number of seconds"))?,
        None => return Err(invalid("DPoP proof must carry iat")),
    };
    if iat < ctx.now.saturating_sub(DPOP_IAT_MAX_AGE_SECS) {
        return Err(invalid(
            "DPoP proof is too old (iat is more than 190 seconds ago)",
        ));
    }
    if iat > ctx.now.saturating_add(DPOP_IAT_MAX_FUTURE_SECS) {
        return Err(invalid(
            "DPoP proof iat is too far in the future (more than 180 seconds)",
        ));
    }
    // `exp` is not part of RFC 9449, but a client that sets one means it; same clock tolerance.
    if let Some(exp) = claims.get("exp") {
        let exp = exp
            .as_f64()
            .ok_or_else(|| invalid("DPoP proof exp must be a number of seconds"))?;
        if exp < ctx.now.saturating_sub(DPOP_IAT_MAX_FUTURE_SECS) as f64 {
            return Err(invalid("DPoP proof has expired (exp)"));
        }
    }

    check_ath(claims.get("ath"), ctx.access_token)?;

    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(nonce)) => Some(nonce.clone()),
        Some(_) => return Err(invalid("DPoP proof nonce must be a string")),
    };

    Ok(VerifiedProof {
        jkt: key.thumbprint(),
        jti,
        iat,
        nonce,
    })
}

/// `typ`, `alg`, the embedded public `jwk`, and the signature (RFC 9449 section 4.3 steps 4-7).
fn verify_header_and_signature(jws: &UnverifiedJws) -> Result<PublicJwk, OAuthError> {
    match jws.header.get("typ") {
        Some(Value::String(typ)) if typ == DPOP_PROOF_TYP => {}
        Some(_) => return Err(invalid("DPoP proof typ must be dpop+jwt")),
        None => return Err(invalid("DPoP proof header must carry typ dpop+jwt")),
    }
    let alg = jws.algorithm().map_err(|e| match e {
        JoseError::UnsupportedAlgorithm => {
            invalid("DPoP proof must be signed with ES256 or ES256K")
        }
        _ => invalid("DPoP proof header must carry alg as a string"),
    })?;
    let jwk = jws
        .header
        .get("jwk")
        .ok_or_else(|| invalid("DPoP proof header must carry the public key (jwk)"))?;
    if jwk.as_object().is_some_and(|obj| obj.contains_key("d")) {
        return Err(invalid("DPoP proof key must be a public key"));
    }
    let key = PublicJwk::from_json(jwk).map_err(|e| match e {
        JoseError::InvalidKey(why) => invalid(format!("DPoP proof key (jwk) is not usable: {why}")),
        _ => invalid("DPoP proof key (jwk) is not usable"),
    })?;
    if key.algorithm() != alg {
        return Err(invalid(
            "DPoP proof alg does not match the curve of its key (jwk)",
        ));
    }
    jws.verify_with(&key)
        .map_err(|_| invalid("DPoP proof signature does not verify with its key (jwk)"))?;
    Ok(key)
}

/// RFC 9449 section 4.3 step 11 at resource servers; at the AS no token is presented, so an
/// `ath` there means the proof was made for another request and is refused.
fn check_ath(ath: Option<&Value>, access_token: Option<&str>) -> Result<(), OAuthError> {
    match (ath, access_token) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(invalid(
            "DPoP proof must not carry ath when no access token is presented",
        )),
        (None, Some(_)) => Err(invalid("DPoP proof must carry ath (the access token hash)")),
        (Some(Value::String(ath)), Some(token)) => {
            let expected = sha256_b64(token.as_bytes());
            if secure_eq(ath.as_bytes(), expected.as_bytes()) {
                Ok(())
            } else {
                Err(invalid("DPoP proof ath does not match the access token"))
            }
        }
        (Some(_), Some(_)) => Err(invalid("DPoP proof ath must be a string")),
    }
}

fn invalid(description: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::invalid_dpop_proof(description)
}
