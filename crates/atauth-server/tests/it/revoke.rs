//! Token revocation (RFC 7009) for loopback clients (Checklist 104-107; profile difference 8:
//! revocation authenticates the client).

use crate::common::*;
use serde_json::{json, Value};

const ALICE: &str = "alice.coop-a.test";
const REVOKE: &str = "/oauth/revoke";

#[tokio::test]
async fn revoking_the_refresh_token_ends_the_session() {
    // Checklist 104.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    let refresh = tokens.refresh_token.as_deref().unwrap();
    let response = client.revoke(refresh).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header_of(&response, "cache-control"), "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({}));
    expect_error(client.refresh(refresh).await, 400, "invalid_grant").await;
    assert_eq!(client.get_session(&tokens.access_token).await.status(), 401);
}

#[tokio::test]
async fn revoking_an_unknown_token_answers_200() {
    // Checklist 105.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    for token in [
        "ref-unknown",
        "not-a-token",
        "eyJhbGciOiJFUzI1NiJ9.e30.c2ln",
        &"x".repeat(10_000),
    ] {
        let response = client.revoke(token).await;
        assert_eq!(response.status(), 200, "{token}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({}));
    }
}

#[tokio::test]
async fn revoking_with_a_stale_nonce_is_use_dpop_nonce_and_revokes_nothing() {
    // Checklist 106: the nonce is checked before the "always 200" rule.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    let refresh = tokens.refresh_token.clone().unwrap();
    let nonce = client.ensure_nonce().await;
    server.clock.advance(5 * 60);
    let claims = client
        .dpop
        .claims("POST", &client.url(REVOKE), server.now(), Some(&nonce));
    let proof = client.dpop.proof_with(&[], claims);
    let response = client
        .post_with_proof(
            REVOKE,
            &[("client_id", &client.client_id), ("token", &refresh)],
            Some(proof),
        )
        .await;
    assert!(!header_of(&response, "dpop-nonce").is_empty());
    expect_error(response, 400, "use_dpop_nonce").await;
    // An invalid proof is refused the same way (deliberate difference 8: no silent 200).
    let claims = client
        .dpop
        .claims("POST", &client.url("/oauth/token"), server.now(), None);
    let response = client
        .post_with_proof(
            REVOKE,
            &[("client_id", &client.client_id), ("token", &refresh)],
            Some(client.dpop.proof_with(&[], claims)),
        )
        .await;
    expect_error(response, 400, "invalid_dpop_proof").await;
    // The session is intact.
    let response = client.refresh(&refresh).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn revoking_the_access_token_ends_the_whole_session() {
    // Checklist 107.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    let response = client.revoke(&tokens.access_token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(client.get_session(&tokens.access_token).await.status(), 401);
    expect_error(
        client
            .refresh(tokens.refresh_token.as_deref().unwrap())
            .await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn revoking_the_previous_refresh_token_ends_the_session() {
    // Checklist 104 (a just-rotated token still identifies its session).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    let old = tokens.refresh_token.unwrap();
    let rotated = crate::common::tokens(client.refresh(&old).await).await;
    assert_eq!(client.revoke(&old).await.status(), 200);
    expect_error(
        client
            .refresh(rotated.refresh_token.as_deref().unwrap())
            .await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn another_client_cannot_revoke_a_session() {
    // Deliberate difference 8: revocation authenticates the client; a token presented by
    // another client gets 200 (RFC 7009 section 2.2) but nothing is revoked.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    let other = TestClient::loopback_with_scope(&server, COOP_A, "atproto");
    for token in [
        tokens.refresh_token.as_deref().unwrap(),
        tokens.access_token.as_str(),
    ] {
        let response = other.revoke(token).await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(client.get_session(&tokens.access_token).await.status(), 200);
    let response = client
        .refresh(tokens.refresh_token.as_deref().unwrap())
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn revocation_without_client_id_is_invalid_client() {
    // Deliberate difference 8: the client must identify (and, if confidential, authenticate)
    // itself; a missing token is invalid_request.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    let refresh = tokens.refresh_token.clone().unwrap();
    let response = client.dpop_post(REVOKE, &[("token", &refresh)]).await;
    expect_error(response, 400, "invalid_client").await;
    let response = client
        .dpop_post(REVOKE, &[("client_id", &client.client_id)])
        .await;
    expect_error(response, 400, "invalid_request").await;
    let response = client.refresh(&refresh).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn revocation_without_dpop_works_for_the_owning_client() {
    // RFC 7009 predates DPoP: a request without a proof is accepted (a proof that is sent must
    // be valid, see the stale-nonce test above).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    let refresh = tokens.refresh_token.clone().unwrap();
    let response = client
        .post_with_proof(
            REVOKE,
            &[("client_id", &client.client_id), ("token", &refresh)],
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    expect_error(client.refresh(&refresh).await, 400, "invalid_grant").await;
}
