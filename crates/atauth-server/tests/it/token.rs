//! The token endpoint's authorization_code grant and the access token format, for loopback
//! clients (Checklist 77-89 and 91-93).

use crate::common::*;
use serde_json::Value;

const ALICE: &str = "alice.coop-a.test";
const TOKEN: &str = "/oauth/token";

/// The form of a code exchange by `client`.
fn exchange_form<'a>(
    client: &'a TestClient<'_>,
    code: &'a str,
    verifier: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("code", code),
        ("code_verifier", verifier),
    ]
}

#[tokio::test]
async fn a_valid_code_exchange_returns_dpop_bound_tokens() {
    // Checklist 77, 79.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, code) = client.authorize("atproto transition:generic", ALICE).await;
    let response = client.exchange(&code, &par.verifier).await;
    assert_eq!(response.status(), 200);
    assert!(header_of(&response, "content-type").starts_with("application/json"));
    assert_eq!(header_of(&response, "cache-control"), "no-store");
    let body: Value = response.json().await.unwrap();
    for field in ["access_token", "refresh_token", "scope", "sub"] {
        assert!(
            body[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field}: {body}"
        );
    }
    assert_eq!(body["token_type"], "DPoP");
    let expires_in = body["expires_in"].as_i64().expect("expires_in");
    // Profile: 15 minutes by default, always under 30 (the reference's 60 fits the checklist).
    assert!((1..=1800).contains(&expires_in), "{expires_in}");
}

#[tokio::test]
async fn the_token_response_sub_is_the_account_did_and_scope_contains_atproto() {
    // Checklist 78: did:web (hosted) and did:plc (linked) accounts.
    let server = TestServer::start().await;
    let a = TestClient::loopback(&server, COOP_A);
    let tokens = a.sign_in("atproto transition:generic", ALICE).await;
    assert_eq!(tokens.body["sub"], server.alice.did.as_str());
    assert!(server.alice.did.starts_with("did:web:"));
    assert_eq!(tokens.body["scope"], "atproto transition:generic");

    let b = TestClient::loopback(&server, COOP_B);
    let tokens = b.sign_in("atproto", "bob.coop-b.test").await;
    assert_eq!(tokens.body["sub"], "did:plc:bobbobbobbobbobbobbobbob");
    assert_eq!(tokens.body["scope"], "atproto");
}

#[tokio::test]
async fn a_code_exchange_without_dpop_is_refused_and_the_code_survives() {
    // Checklist 80. Deliberate difference 4: 400 invalid_dpop_proof (the reference: 401).
    // The proof is checked before the code is looked at, so the code is not burned.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, code) = client.authorize("atproto", ALICE).await;
    let response = client
        .post_with_proof(TOKEN, &exchange_form(&client, &code, &par.verifier), None)
        .await;
    assert!(!header_of(&response, "dpop-nonce").is_empty());
    expect_error(response, 400, "invalid_dpop_proof").await;
    assert_eq!(client.exchange(&code, &par.verifier).await.status(), 200);
}

#[tokio::test]
async fn a_code_exchange_with_another_dpop_key_is_invalid_grant_and_burns_the_code() {
    // Checklist 81.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, code) = client.authorize("atproto", ALICE).await;
    let thief = client.with_new_dpop_key();
    expect_error(
        thief.exchange(&code, &par.verifier).await,
        400,
        "invalid_grant",
    )
    .await;
    expect_error(
        client.exchange(&code, &par.verifier).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_wrong_code_verifier_is_invalid_grant_and_burns_the_code() {
    // Checklist 82.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, code) = client.authorize("atproto", ALICE).await;
    let (wrong, _) = pkce();
    expect_error(client.exchange(&code, &wrong).await, 400, "invalid_grant").await;
    expect_error(
        client.exchange(&code, &par.verifier).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_code_verifier_shorter_than_43_characters_is_invalid_grant() {
    // Checklist 83.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, code) = client.authorize("atproto", ALICE).await;
    expect_error(
        client.exchange(&code, &par.verifier[..42]).await,
        400,
        "invalid_grant",
    )
    .await;
    // Missing altogether.
    let (par, code) = client.authorize("atproto", ALICE).await;
    let mut form = exchange_form(&client, &code, &par.verifier);
    form.retain(|(k, _)| *k != "code_verifier");
    expect_error(client.dpop_post(TOKEN, &form).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_code_exchange_with_another_redirect_uri_is_invalid_grant() {
    // Checklist 84.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, code) = client.authorize("atproto", ALICE).await;
    let mut form = exchange_form(&client, &code, &par.verifier);
    form.retain(|(k, _)| *k != "redirect_uri");
    form.push(("redirect_uri", "http://127.0.0.1/elsewhere"));
    expect_error(client.dpop_post(TOKEN, &form).await, 400, "invalid_grant").await;
    expect_error(
        client.exchange(&code, &par.verifier).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_code_exchanged_by_another_client_is_invalid_grant() {
    // Checklist 85: same DPoP key and verifier, another client_id.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, code) = client.authorize("atproto", ALICE).await;
    let other_id = loopback_client_id("atproto");
    let mut form = exchange_form(&client, &code, &par.verifier);
    form.retain(|(k, _)| *k != "client_id");
    form.push(("client_id", &other_id));
    expect_error(client.dpop_post(TOKEN, &form).await, 400, "invalid_grant").await;
    expect_error(
        client.exchange(&code, &par.verifier).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_code_used_after_its_lifetime_is_invalid_grant() {
    // Checklist 86. Our code lifetime is 60 s (profile section 1; the reference: 5 min).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, code) = client.authorize("atproto", ALICE).await;
    server.clock.advance(55);
    assert_eq!(client.exchange(&code, &par.verifier).await.status(), 200);

    for late in [61, 5 * 60 + 1] {
        let (par, code) = client.authorize("atproto", ALICE).await;
        server.clock.advance(late);
        expect_error(
            client.exchange(&code, &par.verifier).await,
            400,
            "invalid_grant",
        )
        .await;
    }
}

#[tokio::test]
async fn reusing_a_code_is_invalid_grant_and_revokes_what_it_issued() {
    // Checklist 87.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, code) = client.authorize("atproto", ALICE).await;
    let first = tokens(client.exchange(&code, &par.verifier).await).await;
    expect_error(
        client.exchange(&code, &par.verifier).await,
        400,
        "invalid_grant",
    )
    .await;
    let refresh = first.refresh_token.as_deref().unwrap();
    expect_error(client.refresh(refresh).await, 400, "invalid_grant").await;
    let api = client.get_session(&first.access_token).await;
    assert_eq!(api.status(), 401);
}

#[tokio::test]
async fn unsupported_grant_types_are_unsupported_grant_type() {
    // Checklist 89. Deliberate difference 5: RFC 6749's unsupported_grant_type (the reference
    // answers invalid_grant).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    for grant_type in [
        "client_credentials",
        "password",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "implicit",
    ] {
        let response = client
            .dpop_post(
                TOKEN,
                &[
                    ("grant_type", grant_type),
                    ("client_id", &client.client_id),
                    ("username", "alice.coop-a.test"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        expect_error(response, 400, "unsupported_grant_type").await;
    }
    let response = client
        .dpop_post(TOKEN, &[("client_id", &client.client_id)])
        .await;
    expect_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn a_code_exchange_without_client_id_is_invalid_client() {
    // Checklist 77 (client identification at the token endpoint).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, code) = client.authorize("atproto", ALICE).await;
    let mut form = exchange_form(&client, &code, &par.verifier);
    form.retain(|(k, _)| *k != "client_id");
    expect_error(client.dpop_post(TOKEN, &form).await, 400, "invalid_client").await;
}

#[tokio::test]
async fn an_unknown_code_is_invalid_grant() {
    // Checklist 82/87 (a code we never issued).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (verifier, _) = pkce();
    for code in ["cod-unknown", "x", &"c".repeat(5000)] {
        expect_error(client.exchange(code, &verifier).await, 400, "invalid_grant").await;
    }
}

#[tokio::test]
async fn the_access_token_is_an_at_jwt_with_the_expected_claims() {
    // Checklist 91, 92, 93 (ours carries `scope` and `sid`: profile section 4).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto transition:generic", ALICE).await;
    let (header, claims) = jwt_parts(&tokens.access_token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert!(header["kid"].is_string());
    assert_eq!(claims["iss"], issuer(COOP_A));
    assert_eq!(claims["sub"], server.alice.did.as_str());
    assert_eq!(claims["aud"], server.tenant_a.resource_server.as_str());
    assert_eq!(claims["client_id"], client.client_id.as_str());
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert!(claims["sid"].is_string());
    assert_eq!(claims["scope"], "atproto transition:generic");
    let iat = claims["iat"].as_i64().unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    assert_eq!(iat, server.now());
    assert_eq!(exp - iat, tokens.body["expires_in"].as_i64().unwrap());
    assert_eq!(claims["cnf"]["jkt"], client.dpop.jkt().as_str());
    // Each issued token has its own jti.
    let again = client.sign_in("atproto transition:generic", ALICE).await;
    let (_, other) = jwt_parts(&again.access_token);
    assert_ne!(other["jti"], claims["jti"]);
}

/// A code replay racing the first exchange: the replay revokes the request's sessions and
/// leaves a mark; an exchange that finishes after the mark revokes its own fresh session.
/// (The interleaving is reproduced by leaving the replay's mark in the store first.)
#[tokio::test]
async fn an_exchange_that_loses_the_race_with_a_replay_revokes_its_own_session() {
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, code) = client.authorize("atproto", "alice.coop-a.test").await;
    let request_id = par.request_uri.rsplit('-').next().unwrap().to_string();
    let repo = server.store.tenant_repo(&server.tenant_a);
    let now = server.now();
    assert!(repo
        .record_once("code_exchange", &request_id, now + 600, now)
        .await
        .unwrap());

    let response = client.exchange(&code, &par.verifier).await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("used twice"),
        "{body}"
    );
}

/// Without a racing replay, the same exchange succeeds (the mark is the exchange's own).
#[tokio::test]
async fn an_exchange_without_a_replay_is_not_affected_by_the_race_mark() {
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, code) = client.authorize("atproto", "alice.coop-a.test").await;
    assert_eq!(client.exchange(&code, &par.verifier).await.status(), 200);
    // The replay afterwards still finds the code used and gets invalid_grant.
    assert_eq!(client.exchange(&code, &par.verifier).await.status(), 400);
}
