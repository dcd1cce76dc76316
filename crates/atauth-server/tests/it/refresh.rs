//! The refresh_token grant for loopback (public) clients: rotation, reuse detection, the retry
//! grace, key binding and the 14-day session cap (Checklist 97-101; atproto issues #4656 and
//! #5411 for the retry grace).

use crate::common::*;

const ALICE: &str = "alice.coop-a.test";
const DAY: i64 = 24 * 3600;

async fn refreshed(client: &TestClient<'_>, refresh_token: &str) -> Tokens {
    let response = client.refresh(refresh_token).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    tokens(response).await
}

#[tokio::test]
async fn a_refresh_returns_a_new_access_token_and_a_different_refresh_token() {
    // Checklist 97.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let first = client.sign_in("atproto transition:generic", ALICE).await;
    server.clock.advance(1);
    let second = refreshed(&client, first.refresh_token.as_deref().unwrap()).await;
    assert_ne!(second.access_token, first.access_token);
    assert_ne!(second.refresh_token, first.refresh_token);
    assert!(second.refresh_token.is_some());
    assert_eq!(second.body["token_type"], "DPoP");
    assert_eq!(second.body["sub"], server.alice.did.as_str());
    assert_eq!(second.body["scope"], "atproto transition:generic");
    let (_, claims) = jwt_parts(&second.access_token);
    assert_eq!(claims["cnf"]["jkt"], client.dpop.jkt().as_str());
    assert_eq!(client.get_session(&second.access_token).await.status(), 200);
    // And the new refresh token rotates in turn.
    let third = refreshed(&client, second.refresh_token.as_deref().unwrap()).await;
    assert_ne!(third.refresh_token, second.refresh_token);
}

#[tokio::test]
async fn reusing_the_previous_refresh_token_after_the_grace_revokes_the_session() {
    // Checklist 98: outside the 30 s retry grace, reuse ends the family.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let first = client.sign_in("atproto", ALICE).await;
    let old = first.refresh_token.unwrap();
    let newer = refreshed(&client, &old).await;
    server.clock.advance(10 * 60);
    expect_error(client.refresh(&old).await, 400, "invalid_grant").await;
    expect_error(
        client
            .refresh(newer.refresh_token.as_deref().unwrap())
            .await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(client.get_session(&newer.access_token).await.status(), 401);
}

#[tokio::test]
async fn retrying_a_refresh_within_30_seconds_returns_the_same_new_refresh_token() {
    // Retry grace (atproto #4656, #5411): the previous token, same client and DPoP key, within
    // 30 s, gets 200 with the same successor; the session lives on.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let first = client.sign_in("atproto", ALICE).await;
    let old = first.refresh_token.unwrap();
    let rotated = refreshed(&client, &old).await;
    server.clock.advance(30);
    let retried = refreshed(&client, &old).await;
    assert_eq!(retried.refresh_token, rotated.refresh_token);
    assert_eq!(retried.body["sub"], server.alice.did.as_str());
    assert_eq!(
        client.get_session(&retried.access_token).await.status(),
        200
    );
    // The successor is still the live token.
    let next = refreshed(&client, rotated.refresh_token.as_deref().unwrap()).await;
    assert_ne!(next.refresh_token, rotated.refresh_token);
    assert_eq!(client.get_session(&next.access_token).await.status(), 200);
}

#[tokio::test]
async fn replaying_the_previous_refresh_token_after_31_seconds_revokes_the_session() {
    // Retry grace ends at 30 s: at 31 s the reuse revokes the whole session.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let first = client.sign_in("atproto", ALICE).await;
    let old = first.refresh_token.unwrap();
    let rotated = refreshed(&client, &old).await;
    server.clock.advance(31);
    expect_error(client.refresh(&old).await, 400, "invalid_grant").await;
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
async fn replaying_the_previous_refresh_token_with_another_dpop_key_revokes_the_session() {
    // Retry grace applies to the same DPoP key only: a replay with another key within 30 s
    // means the token leaked, and the whole session ends.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let first = client.sign_in("atproto", ALICE).await;
    let old = first.refresh_token.unwrap();
    let rotated = refreshed(&client, &old).await;
    server.clock.advance(5);
    let thief = client.with_new_dpop_key();
    expect_error(thief.refresh(&old).await, 400, "invalid_grant").await;
    expect_error(
        client
            .refresh(rotated.refresh_token.as_deref().unwrap())
            .await,
        400,
        "invalid_grant",
    )
    .await;
    // Not even the genuine retry within the grace works any more.
    expect_error(client.refresh(&old).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn replaying_the_previous_refresh_token_from_another_client_revokes_the_session() {
    // Retry grace applies to the same client only.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let first = client.sign_in("atproto", ALICE).await;
    let old = first.refresh_token.unwrap();
    let rotated = refreshed(&client, &old).await;
    let mut other = client.with_new_dpop_key();
    other.dpop = client.dpop.duplicate();
    other.client_id = loopback_client_id("atproto");
    expect_error(other.refresh(&old).await, 400, "invalid_grant").await;
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
async fn a_refresh_with_another_dpop_key_is_invalid_grant_and_revokes_the_session() {
    // Checklist 99.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let first = client.sign_in("atproto", ALICE).await;
    let refresh = first.refresh_token.unwrap();
    let thief = client.with_new_dpop_key();
    expect_error(thief.refresh(&refresh).await, 400, "invalid_grant").await;
    expect_error(client.refresh(&refresh).await, 400, "invalid_grant").await;
    assert_eq!(client.get_session(&first.access_token).await.status(), 401);
}

#[tokio::test]
async fn a_malformed_refresh_token_is_invalid_grant() {
    // Checklist 100.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let first = client.sign_in("atproto", ALICE).await;
    let real = first.refresh_token.unwrap();
    let long = format!("ref-{}", "a".repeat(4000));
    let truncated = &real[..real.len() - 1];
    for bad in [
        "garbage",
        "ref-",
        "ref-not-a-token",
        truncated,
        &long,
        "ref-\u{00e9}\u{00e9}",
        first.access_token.as_str(),
    ] {
        expect_error(client.refresh(bad).await, 400, "invalid_grant").await;
    }
    let response = client
        .dpop_post(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &client.client_id),
            ],
        )
        .await;
    expect_error(response, 400, "invalid_request").await;
    // None of that hurt the real session.
    refreshed(&client, &real).await;
}

#[tokio::test]
async fn a_public_session_ends_14_days_after_sign_in_even_when_refreshed() {
    // Checklist 101 (and profile section 1: public client session 14 days total).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let mut current = client.sign_in("atproto", ALICE).await;
    for _ in 0..13 {
        server.clock.advance(DAY);
        current = refreshed(&client, current.refresh_token.as_deref().unwrap()).await;
    }
    server.clock.advance(DAY - 120);
    current = refreshed(&client, current.refresh_token.as_deref().unwrap()).await;
    assert_eq!(
        client.get_session(&current.access_token).await.status(),
        200
    );
    // The access token is cut to the session's remaining 120 s.
    assert_eq!(current.body["expires_in"], 120);
    server.clock.advance(121);
    expect_error(
        client
            .refresh(current.refresh_token.as_deref().unwrap())
            .await,
        400,
        "invalid_grant",
    )
    .await;
    // The last access token does not outlive the session either.
    assert_eq!(
        client.get_session(&current.access_token).await.status(),
        401
    );
}

#[tokio::test]
async fn a_public_session_not_refreshed_for_14_days_is_over() {
    // Checklist 101 (without any refresh in between).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let first = client.sign_in("atproto", ALICE).await;
    server.clock.advance(14 * DAY + 1);
    expect_error(
        client
            .refresh(first.refresh_token.as_deref().unwrap())
            .await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_client() {
    // Checklist 99 (client binding): another client_id with the same DPoP key cannot use it.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let first = client.sign_in("atproto", ALICE).await;
    let refresh = first.refresh_token.unwrap();
    let mut other = client.with_new_dpop_key();
    other.dpop = client.dpop.duplicate();
    other.client_id = loopback_client_id("atproto");
    expect_error(other.refresh(&refresh).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn two_concurrent_refreshes_with_the_same_token_both_get_the_same_successor() {
    // Retry grace under a real race (two tabs, or a retry overtaking the first attempt): one
    // request rotates, the other is answered as a retry; the session survives.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let first = client.sign_in("atproto", ALICE).await;
    let old = first.refresh_token.unwrap();
    client.ensure_nonce().await;
    let (a, b) = tokio::join!(client.refresh(&old), client.refresh(&old));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let (a, b) = (tokens(a).await, tokens(b).await);
    assert_eq!(a.refresh_token, b.refresh_token);
    refreshed(&client, a.refresh_token.as_deref().unwrap()).await;
}

/// RFC 9700 section 4.14.2: any reuse of a rotated refresh token ends the session, not only the
/// immediately previous one: a token two rotations old revokes the whole session.
#[tokio::test]
async fn reusing_a_refresh_token_two_rotations_old_revokes_the_session() {
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let first = client.sign_in("atproto", "alice.coop-a.test").await;
    let t0 = first.refresh_token.unwrap();
    let t1 = crate::common::tokens(client.refresh(&t0).await)
        .await
        .refresh_token
        .unwrap();
    server.clock.advance(60);
    let t2 = crate::common::tokens(client.refresh(&t1).await)
        .await
        .refresh_token
        .unwrap();
    server.clock.advance(60);

    let reuse = client.refresh(&t0).await;
    assert_eq!(reuse.status(), 400);
    let body: serde_json::Value = reuse.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{body}"
    );

    let newest = client.refresh(&t2).await;
    assert_eq!(
        newest.status(),
        400,
        "the newest token must die with the session"
    );
}

/// A made-up token that names a real session is refused without ending that session.
#[tokio::test]
async fn a_forged_refresh_token_naming_a_session_does_not_revoke_it() {
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", "alice.coop-a.test").await;
    let real = tokens.refresh_token.unwrap();
    let (session_part, _) = real.split_once('.').unwrap();
    let forged = format!("{session_part}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");

    assert_eq!(client.refresh(&forged).await.status(), 400);
    assert_eq!(
        client.refresh(&real).await.status(),
        200,
        "the session must survive"
    );
}
