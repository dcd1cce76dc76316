//! The built-in resource server (`com.atproto.server.getSession`) with DPoP-bound access
//! tokens (Checklist 94-96 and 102).

use crate::common::*;
use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

const ALICE: &str = "alice.coop-a.test";
const GET_SESSION: &str = "/xrpc/com.atproto.server.getSession";

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, token.as_bytes()))
}

/// A getSession call with exactly this Authorization header and proof claims (signed by `key`).
async fn call(
    server: &TestServer,
    authorization: &str,
    key: &DpopKey,
    claims: Option<Value>,
) -> reqwest::Response {
    let mut request = server
        .get(COOP_A, GET_SESSION)
        .header("authorization", authorization);
    if let Some(claims) = claims {
        request = request.header("dpop", key.proof_with(&[], claims));
    }
    request.send().await.unwrap()
}

/// Valid proof claims for getSession with the current nonce and the token's `ath`.
async fn claims_for(server: &TestServer, token: &str) -> Value {
    let nonce = server.nonce(COOP_A).await;
    let mut claims = DpopKey::new().claims(
        "GET",
        &format!("{}{GET_SESSION}", issuer(COOP_A)),
        server.now(),
        Some(&nonce),
    );
    claims["ath"] = json!(ath(token));
    claims
}

/// Asserts a 401 with a `DPoP` challenge naming `error`, and the same error in the JSON body.
async fn assert_challenge(response: reqwest::Response, error: &str) {
    let challenge = header_of(&response, "www-authenticate");
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(
        challenge.contains(&format!("error=\"{error}\"")),
        "{challenge}"
    );
    expect_error(response, 401, error).await;
}

#[tokio::test]
async fn a_valid_dpop_request_gets_the_session() {
    // Baseline for 94-96.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    let claims = claims_for(&server, &tokens.access_token).await;
    let response = call(
        &server,
        &format!("DPoP {}", tokens.access_token),
        &client.dpop,
        Some(claims),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(!header_of(&response, "dpop-nonce").is_empty());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["did"], server.alice.did.as_str());
}

#[tokio::test]
async fn a_token_sent_as_bearer_is_invalid_token() {
    // Checklist 94.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    let claims = claims_for(&server, &tokens.access_token).await;
    let response = call(
        &server,
        &format!("Bearer {}", tokens.access_token),
        &client.dpop,
        Some(claims),
    )
    .await;
    assert_challenge(response, "invalid_token").await;
}

#[tokio::test]
async fn a_proof_with_a_wrong_ath_is_invalid_dpop_proof() {
    // Checklist 95.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    let mut claims = claims_for(&server, &tokens.access_token).await;
    claims["ath"] = json!(ath("another token"));
    let response = call(
        &server,
        &format!("DPoP {}", tokens.access_token),
        &client.dpop,
        Some(claims),
    )
    .await;
    assert_challenge(response, "invalid_dpop_proof").await;
    // Missing ath as well.
    let mut claims = claims_for(&server, &tokens.access_token).await;
    claims.as_object_mut().unwrap().remove("ath");
    let response = call(
        &server,
        &format!("DPoP {}", tokens.access_token),
        &client.dpop,
        Some(claims),
    )
    .await;
    assert_challenge(response, "invalid_dpop_proof").await;
}

#[tokio::test]
async fn a_proof_without_nonce_gets_a_dpop_use_dpop_nonce_challenge_and_a_nonce() {
    // Checklist 96 (profile section 2: 401 at the RS, challenge starting with DPoP).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    for nonce in [None, Some("stale-or-made-up")] {
        let mut claims = claims_for(&server, &tokens.access_token).await;
        match nonce {
            None => {
                claims.as_object_mut().unwrap().remove("nonce");
            }
            Some(n) => claims["nonce"] = json!(n),
        }
        let response = call(
            &server,
            &format!("DPoP {}", tokens.access_token),
            &client.dpop,
            Some(claims),
        )
        .await;
        assert!(!header_of(&response, "dpop-nonce").is_empty());
        assert_challenge(response, "use_dpop_nonce").await;
    }
}

#[tokio::test]
async fn a_request_without_proof_or_with_another_key_is_refused() {
    // Checklist 94-95 (DPoP binding): no proof, or a proof by a key other than cnf.jkt.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    let authorization = format!("DPoP {}", tokens.access_token);
    let response = call(&server, &authorization, &client.dpop, None).await;
    assert_challenge(response, "invalid_dpop_proof").await;

    let claims = claims_for(&server, &tokens.access_token).await;
    let response = call(&server, &authorization, &DpopKey::new(), Some(claims)).await;
    assert_challenge(response, "invalid_token").await;
}

#[tokio::test]
async fn a_replayed_resource_proof_is_refused() {
    // Checklist 21 at the resource server (jti replay; 401 there).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    let claims = claims_for(&server, &tokens.access_token).await;
    let proof = client.dpop.proof_with(&[], claims);
    let send = || {
        server
            .get(COOP_A, GET_SESSION)
            .header("authorization", format!("DPoP {}", tokens.access_token))
            .header("dpop", proof.clone())
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 200);
    assert_challenge(send().await.unwrap(), "invalid_dpop_proof").await;
}

#[tokio::test]
async fn an_expired_access_token_is_invalid_token() {
    // Checklist 79 at the RS: the token dies at `exp`.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    let expires_in = tokens.body["expires_in"].as_i64().unwrap();
    server.clock.advance(expires_in);
    let response = client.get_session(&tokens.access_token).await;
    assert_challenge(response, "invalid_token").await;
}

#[tokio::test]
async fn after_a_refresh_the_previous_access_token_is_refused() {
    // Checklist 102 (our resource server checks the session statefully).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let first = client.sign_in("atproto", ALICE).await;
    assert_eq!(client.get_session(&first.access_token).await.status(), 200);
    server.clock.advance(5);
    let response = client
        .refresh(first.refresh_token.as_deref().unwrap())
        .await;
    let second = tokens(response).await;
    assert_eq!(client.get_session(&second.access_token).await.status(), 200);
    assert_challenge(
        client.get_session(&first.access_token).await,
        "invalid_token",
    )
    .await;
    // A retried refresh (grace) hands out a token that works.
    server.clock.advance(5);
    let retried = tokens(
        client
            .refresh(first.refresh_token.as_deref().unwrap())
            .await,
    )
    .await;
    assert_eq!(retried.refresh_token, second.refresh_token);
    assert_eq!(
        client.get_session(&retried.access_token).await.status(),
        200
    );
}
