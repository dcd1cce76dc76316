use super::*;
use atauth_protocol::access_token::Confirmation;
use atauth_protocol::dpop::NonceIssuer;
use atauth_protocol::jose::{Algorithm, SigningKey};
use atauth_protocol::random::hash_secret;
use serde_json::{json, Value};

const NOW: UnixTime = 1_700_000_000;
const ISSUER: &str = "https://coop.example";
const URL: &str = "https://pds.coop.example/xrpc/com.atproto.repo.createRecord";

struct World {
    as_key: SigningKey,
    client_key: SigningKey,
    nonces: NonceIssuer,
}

impl World {
    fn new() -> Self {
        Self {
            as_key: SigningKey::generate("coop-key-1".into()).unwrap(),
            client_key: SigningKey::generate_with_algorithm(Algorithm::Es256k, "dpop".into())
                .unwrap(),
            nonces: NonceIssuer::new(&[9u8; 32]),
        }
    }

    /// An access token bound to `jkt`.
    fn token(&self, jkt: &str) -> String {
        self.scoped_token(jkt, "atproto")
    }

    /// An access token bound to `jkt` granting `scope`.
    fn scoped_token(&self, jkt: &str, scope: &str) -> String {
        let claims = AccessTokenClaims {
            iss: ISSUER.into(),
            sub: "did:web:alice.coop.example".into(),
            aud: "did:web:pds.coop.example".into(),
            client_id: "https://app.example/client-metadata.json".into(),
            scope: scope.into(),
            jti: "tok-1".into(),
            sid: "ses-1".into(),
            iat: NOW,
            exp: NOW + 900,
            cnf: Confirmation { jkt: jkt.into() },
        };
        access_token::sign(&self.as_key, &claims).unwrap()
    }

    fn bound_token(&self) -> String {
        self.token(&self.client_key.public_key().thumbprint())
    }

    /// A DPoP proof by the client key for `token`, with `nonce` if given.
    fn proof(&self, token: &str, nonce: Option<&str>) -> String {
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), json!("dpop+jwt"));
        header.insert("jwk".into(), self.client_key.public_jwk());
        let mut claims = json!({
            "jti": "proof-1", "htm": "POST", "htu": URL, "iat": NOW, "ath": hash_secret(token),
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = Value::from(nonce);
        }
        self.client_key.sign_with_header(&header, &claims).unwrap()
    }

    fn verify(
        &self,
        authorization: Option<&str>,
        dpop: Option<&str>,
    ) -> Result<Principal, OAuthError> {
        let req = ResourceRequest {
            method: "POST",
            url: URL,
            authorization,
            dpop,
            now: NOW,
        };
        let key = self.as_key.public_key().clone();
        let kid = self.as_key.kid().to_owned();
        verify_request(
            &req,
            ISSUER,
            &move |k| (k == kid).then(|| key.clone()),
            &|n| self.nonces.is_valid(n, NOW),
        )
    }
}

fn refused(result: Result<Principal, OAuthError>, code: ErrorCode, description: &str) {
    let err = result.expect_err("request must be refused");
    assert_eq!(err.code, code, "{err}");
    assert_eq!(err.description, description);
}

#[test]
fn valid_request_yields_the_principal() {
    let w = World::new();
    let token = w.bound_token();
    let nonce = w.nonces.current(NOW);
    let proof = w.proof(&token, Some(&nonce));
    let principal = w
        .verify(Some(&format!("DPoP {token}")), Some(&proof))
        .unwrap();
    assert_eq!(principal.claims.sub, "did:web:alice.coop.example");
    assert_eq!(principal.proof.jkt, w.client_key.public_key().thumbprint());
    assert_eq!(principal.proof.jti, "proof-1");
    // The scheme is case-insensitive.
    assert!(w
        .verify(Some(&format!("dpop {token}")), Some(&proof))
        .is_ok());
}

#[test]
fn bearer_is_refused() {
    let w = World::new();
    let token = w.bound_token();
    let proof = w.proof(&token, Some(&w.nonces.current(NOW)));
    refused(
        w.verify(Some(&format!("Bearer {token}")), Some(&proof)),
        ErrorCode::InvalidToken,
        "DPoP-bound token presented as Bearer",
    );
}

#[test]
fn missing_or_malformed_authorization_is_refused() {
    let w = World::new();
    refused(
        w.verify(None, None),
        ErrorCode::InvalidToken,
        "the request carries no access token",
    );
    refused(
        w.verify(Some("  "), None),
        ErrorCode::InvalidToken,
        "the request carries no access token",
    );
    refused(
        w.verify(Some("Basic dXNlcjpwYXNz"), None),
        ErrorCode::InvalidToken,
        "the Authorization scheme must be DPoP",
    );
    refused(
        w.verify(Some("DPoP"), None),
        ErrorCode::InvalidToken,
        "the Authorization header must be DPoP followed by one access token",
    );
    let err = w.verify(Some("DPoP not-a-token"), None).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidToken);
}

#[test]
fn missing_proof_is_refused() {
    let w = World::new();
    let token = w.bound_token();
    refused(
        w.verify(Some(&format!("DPoP {token}")), None),
        ErrorCode::InvalidDpopProof,
        "DPoP proof required (DPoP header)",
    );
}

#[test]
fn missing_or_stale_nonce_asks_for_one() {
    let w = World::new();
    let token = w.bound_token();
    let auth = format!("DPoP {token}");
    for nonce in [None, Some("made-up"), Some(&*w.nonces.current(NOW - 300))] {
        refused(
            w.verify(Some(&auth), Some(&w.proof(&token, nonce))),
            ErrorCode::UseDpopNonce,
            "Resource server requires nonce in DPoP proof",
        );
    }
}

#[test]
fn proof_by_another_key_is_refused() {
    let w = World::new();
    let other = SigningKey::generate("other".into()).unwrap();
    let token = w.token(&other.public_key().thumbprint());
    let proof = w.proof(&token, Some(&w.nonces.current(NOW)));
    refused(
        w.verify(Some(&format!("DPoP {token}")), Some(&proof)),
        ErrorCode::InvalidToken,
        "token is bound to another key",
    );
}

#[test]
fn proof_for_another_token_is_refused() {
    let w = World::new();
    let token = w.bound_token();
    let proof = w.proof("some other token", Some(&w.nonces.current(NOW)));
    refused(
        w.verify(Some(&format!("DPoP {token}")), Some(&proof)),
        ErrorCode::InvalidDpopProof,
        "DPoP proof ath does not match the access token",
    );
}

#[test]
fn token_from_an_unknown_key_is_refused() {
    let w = World::new();
    let stranger = World::new();
    let token = stranger.token(&w.client_key.public_key().thumbprint());
    let proof = w.proof(&token, Some(&w.nonces.current(NOW)));
    let err = w
        .verify(Some(&format!("DPoP {token}")), Some(&proof))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidToken);
}

#[test]
fn www_authenticate_starts_with_dpop_and_is_a_safe_header() {
    let err = OAuthError::new(
        ErrorCode::UseDpopNonce,
        "Resource server requires nonce in DPoP proof",
    );
    assert_eq!(
        www_authenticate(&err),
        r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", algs="ES256 ES256K""#
    );
    let err = OAuthError::invalid_token("bad \"quoted\" \\ value\r\nInjected: yes é");
    assert_eq!(
        www_authenticate(&err),
        r#"DPoP error="invalid_token", error_description="bad 'quoted' / value??Injected: yes ?", algs="ES256 ES256K""#
    );
}

#[test]
fn verified_token_answers_what_its_scope_allows() {
    let w = World::new();
    let token = w.scoped_token(
        &w.client_key.public_key().thumbprint(),
        "atproto repo:app.bsky.feed.post?action=create blob:image/*",
    );
    let nonce = w.nonces.current(NOW);
    let proof = w.proof(&token, Some(&nonce));
    let principal = w
        .verify(Some(&format!("DPoP {token}")), Some(&proof))
        .unwrap();
    let permissions = principal.permissions();
    assert!(permissions.is_atproto());
    assert!(permissions.may_write_record("app.bsky.feed.post", RepoAction::Create));
    assert!(!permissions.may_write_record("app.bsky.feed.post", RepoAction::Delete));
    assert!(!permissions.may_write_record("app.bsky.feed.like", RepoAction::Create));
    assert!(permissions.may_upload_blob("image/png"));
    assert!(!permissions.may_upload_blob("video/mp4"));
    assert!(!permissions.may_account(AccountAttr::Email, AccountAction::Read));
    let refused = permissions
        .require(&PermissionRequest::RepoWrite {
            collection: "app.bsky.feed.post",
            action: RepoAction::Delete,
        })
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::InsufficientScope);
    assert_eq!(
        refused.description,
        "Missing required scope \"repo:app.bsky.feed.post?action=delete\""
    );
}
