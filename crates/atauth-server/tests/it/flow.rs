//! The complete flow a real client goes through, over HTTP, with DPoP proofs built here.

use crate::common::*;
use serde_json::Value;

async fn get_session(
    server: &TestServer,
    client: &TestClient<'_>,
    token: &str,
) -> reqwest::Response {
    let url = client.url("/xrpc/com.atproto.server.getSession");
    let mut last = None;
    for _ in 0..2 {
        let proof = client.dpop.proof("GET", &url, server.now(), Some(token));
        let response = server
            .get(&client.host, "/xrpc/com.atproto.server.getSession")
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .send()
            .await
            .unwrap();
        client.dpop.remember_nonce(&response);
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if response.status() == 401 && challenge.contains("use_dpop_nonce") {
            assert!(challenge.starts_with("DPoP"), "{challenge}");
            last = Some(response);
            continue;
        }
        return response;
    }
    last.unwrap()
}

#[tokio::test]
async fn loopback_client_signs_in_calls_the_api_refreshes_and_signs_out() {
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client
        .sign_in("atproto transition:generic", "alice.coop-a.test")
        .await;

    assert_eq!(tokens.body["token_type"], "DPoP");
    assert_eq!(tokens.body["sub"], server.alice.did.as_str());
    assert_eq!(tokens.body["scope"], "atproto transition:generic");
    assert!(tokens.body["expires_in"].as_i64().unwrap() <= 1800);
    assert!(server.alice.did.starts_with("did:web:alice.coop-a.test"));

    let session = get_session(&server, &client, &tokens.access_token).await;
    assert_eq!(session.status(), 200);
    let body: Value = session.json().await.unwrap();
    assert_eq!(body["did"], server.alice.did.as_str());
    assert_eq!(body["handle"], "alice.coop-a.test");
    assert!(body.get("email").is_none(), "email needs transition:email");

    let refresh = tokens.refresh_token.clone().unwrap();
    let refreshed = client.refresh(&refresh).await;
    assert_eq!(refreshed.status(), 200);
    let refreshed = crate::common::tokens(refreshed).await;
    assert_ne!(refreshed.access_token, tokens.access_token);
    assert_ne!(refreshed.refresh_token.as_deref(), Some(refresh.as_str()));
    assert_eq!(
        get_session(&server, &client, &refreshed.access_token)
            .await
            .status(),
        200
    );

    let revoked = client
        .revoke(refreshed.refresh_token.as_deref().unwrap())
        .await;
    assert_eq!(revoked.status(), 200);
    let after = client
        .refresh(refreshed.refresh_token.as_deref().unwrap())
        .await;
    assert_eq!(after.status(), 400);
    let body: Value = after.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let api = get_session(&server, &client, &refreshed.access_token).await;
    assert_eq!(api.status(), 401);
}

#[tokio::test]
async fn signing_in_by_email_with_email_scope_shows_the_email() {
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client
        .sign_in("atproto transition:email", "alice@coop-a.test")
        .await;
    assert_eq!(tokens.body["scope"], "atproto transition:email");
    let body: Value = get_session(&server, &client, &tokens.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["email"], "alice@coop-a.test");
}

#[tokio::test]
async fn two_cooperatives_on_one_process_sign_in_their_own_members_only() {
    let server = TestServer::start().await;
    let a = TestClient::loopback(&server, COOP_A);
    let b = TestClient::loopback(&server, COOP_B);
    let tokens_b = b.sign_in("atproto", "bob.coop-b.test").await;
    assert_eq!(tokens_b.body["sub"], "did:plc:bobbobbobbobbobbobbobbob");

    // Bob is not a member of cooperative A.
    let par = a.par("atproto", &[]).await;
    let mut browser = Browser::new(&server, COOP_A);
    let page = browser.get(&a.authorize_path(&par.request_uri)).await;
    let page = browser
        .post(
            "/oauth/authorize/sign-in",
            &[
                ("csrf_token", &page.hidden("csrf_token")),
                ("request_uri", &par.request_uri),
                ("client_id", &a.client_id),
                ("identifier", "bob.coop-b.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 401);
    assert!(page.body.contains("Wrong handle, email or password."));

    // B's tokens are worthless at A.
    let at_a = a.refresh(tokens_b.refresh_token.as_deref().unwrap()).await;
    assert_eq!(at_a.status(), 400);
}
