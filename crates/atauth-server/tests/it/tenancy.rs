//! Cross-tenant isolation over HTTP: no artefact of cooperative A (request_uri, code, refresh
//! token, access token, DPoP nonce) is worth anything at cooperative B, and unknown hosts get
//! a 404 that does not echo the host (profile section 4).

use crate::common::*;
use serde_json::Value;

const ALICE: &str = "alice.coop-a.test";

#[tokio::test]
async fn each_cooperative_announces_its_own_issuer_and_keys() {
    // Checklist 1 and 11, per tenant.
    let server = TestServer::start().await;
    let mut kids = Vec::new();
    for host in [COOP_A, COOP_B] {
        let m: Value = server
            .get(host, "/.well-known/oauth-authorization-server")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(m["issuer"], issuer(host));
        assert_eq!(m["token_endpoint"], format!("{}/oauth/token", issuer(host)));
        let jwks: Value = server
            .get(host, "/oauth/jwks")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        kids.push(jwks["keys"][0]["kid"].clone());
        assert_ne!(server.nonce(COOP_A).await, server.nonce(COOP_B).await);
    }
    assert_ne!(kids[0], kids[1]);
}

#[tokio::test]
async fn a_request_uri_of_one_cooperative_is_unknown_at_another() {
    // Checklist 62 across tenants (profile section 4): A's request_uri is unknown at B.
    let server = TestServer::start().await;
    let a = TestClient::loopback(&server, COOP_A);
    let par = a.par("atproto", &[]).await;
    let mut browser = Browser::new(&server, COOP_B);
    let page = browser.get(&a.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.location.is_none(), "{:?}", page.location);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(!page.body.contains("Handle or email"));
    // Untouched at A: not bound to B's browser, still usable.
    let mut at_a = Browser::new(&server, COOP_A);
    let page = at_a.get(&a.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200, "{}", page.body);
}

#[tokio::test]
async fn a_code_of_one_cooperative_cannot_be_exchanged_at_another() {
    // Checklist 82/85 across tenants (profile section 4): A's code is invalid_grant at B.
    let server = TestServer::start().await;
    let a = TestClient::loopback(&server, COOP_A);
    let (par, code) = a.authorize("atproto", ALICE).await;
    let at_b = a.at_host(COOP_B);
    expect_error(
        at_b.exchange(&code, &par.verifier).await,
        400,
        "invalid_grant",
    )
    .await;
    // B did not touch A's code: A still exchanges it.
    let response = a.exchange(&code, &par.verifier).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_refresh_token_of_one_cooperative_is_invalid_at_another() {
    // Checklist 100 across tenants (profile section 4): A's refresh token is invalid_grant at B.
    let server = TestServer::start().await;
    let a = TestClient::loopback(&server, COOP_A);
    let tokens = a.sign_in("atproto", ALICE).await;
    let refresh = tokens.refresh_token.unwrap();
    let at_b = a.at_host(COOP_B);
    expect_error(at_b.refresh(&refresh).await, 400, "invalid_grant").await;
    // Nor did it count as a reuse at A.
    assert_eq!(a.refresh(&refresh).await.status(), 200);
}

#[tokio::test]
async fn an_access_token_of_one_cooperative_is_refused_by_another() {
    // Checklist 94 across tenants (profile section 4): A's access token is invalid_token at B's RS.
    let server = TestServer::start().await;
    let a = TestClient::loopback(&server, COOP_A);
    let tokens = a.sign_in("atproto", ALICE).await;
    let at_b = a.at_host(COOP_B);
    let response = at_b.get_session(&tokens.access_token).await;
    let challenge = header_of(&response, "www-authenticate");
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    expect_error(response, 401, "invalid_token").await;
    assert_eq!(a.get_session(&tokens.access_token).await.status(), 200);
}

#[tokio::test]
async fn a_dpop_nonce_of_one_cooperative_is_refused_by_another() {
    // Checklist 19 and 96 across tenants (profile section 4): A's nonce is stale at B.
    let server = TestServer::start().await;
    let b = TestClient::loopback(&server, COOP_B);
    b.dpop.set_nonce(Some(server.nonce(COOP_A).await));
    let (form, _) = b.par_form(&[]);
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let proof = b
        .dpop
        .proof("POST", &b.url("/oauth/par"), server.now(), None);
    let response = b.post_with_proof("/oauth/par", &fields, Some(proof)).await;
    let nonce_b = header_of(&response, "dpop-nonce");
    expect_error(response, 400, "use_dpop_nonce").await;
    assert_ne!(Some(nonce_b), b.dpop.current_nonce());
    // At the resource server too.
    let tokens = b.sign_in("atproto", "bob.coop-b.test").await;
    let nonce_a = server.nonce(COOP_A).await;
    let url = b.url("/xrpc/com.atproto.server.getSession");
    let mut claims = b.dpop.claims("GET", &url, server.now(), Some(&nonce_a));
    claims["ath"] = serde_json::json!(jwt_ath(&tokens.access_token));
    let response = server
        .get(COOP_B, "/xrpc/com.atproto.server.getSession")
        .header("authorization", format!("DPoP {}", tokens.access_token))
        .header("dpop", b.dpop.proof_with(&[], claims))
        .send()
        .await
        .unwrap();
    assert!(header_of(&response, "www-authenticate").contains("use_dpop_nonce"));
    expect_error(response, 401, "use_dpop_nonce").await;
}

fn jwt_ath(token: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        token.as_bytes(),
    ))
}

#[tokio::test]
async fn revoking_a_token_of_one_cooperative_at_another_has_no_effect() {
    // Checklist 105 across tenants (profile section 4): B answers 200 and A's session lives.
    let server = TestServer::start().await;
    let a = TestClient::loopback(&server, COOP_A);
    let tokens = a.sign_in("atproto", ALICE).await;
    let at_b = a.at_host(COOP_B);
    for token in [
        tokens.refresh_token.as_deref().unwrap(),
        tokens.access_token.as_str(),
    ] {
        let response = at_b.revoke(token).await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(a.get_session(&tokens.access_token).await.status(), 200);
    assert_eq!(
        a.refresh(tokens.refresh_token.as_deref().unwrap())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_member_of_one_cooperative_cannot_sign_in_at_another() {
    // Profile section 4: accounts belong to one cooperative.
    let server = TestServer::start().await;
    let b = TestClient::loopback(&server, COOP_B);
    let par = b.par("atproto", &[]).await;
    let mut browser = Browser::new(&server, COOP_B);
    let page = browser.get(&b.authorize_path(&par.request_uri)).await;
    for identifier in [ALICE, "alice@coop-a.test", server.alice.did.as_str()] {
        let refused = browser.submit_sign_in(&page, identifier, PASSWORD).await;
        assert_eq!(refused.status, 401, "{identifier}");
        assert!(refused.body.contains("Wrong handle, email or password."));
    }
}

#[tokio::test]
async fn an_unknown_host_gets_404_without_the_host_in_the_body() {
    // Profile section 4: unknown hosts are rejected (404) without echoing the host.
    let server = TestServer::start().await;
    let hosts = [
        "unknown-coop.example",
        "coop-a.test.evil.example",
        "coop-a.test:8443",
        "x<script>alert(1)</script>.example",
        "",
    ];
    for host in hosts {
        for (method, path) in [
            (
                reqwest::Method::GET,
                "/.well-known/oauth-authorization-server",
            ),
            (
                reqwest::Method::GET,
                "/.well-known/oauth-protected-resource",
            ),
            (reqwest::Method::GET, "/oauth/jwks"),
            (
                reqwest::Method::GET,
                "/oauth/authorize?client_id=x&request_uri=y",
            ),
            (reqwest::Method::GET, "/xrpc/com.atproto.server.getSession"),
            (reqwest::Method::POST, "/oauth/par"),
            (reqwest::Method::POST, "/oauth/token"),
            (reqwest::Method::POST, "/oauth/revoke"),
            (reqwest::Method::POST, "/oauth/authorize/consent"),
        ] {
            let response = server
                .request(method.clone(), host, path)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("a=b")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 404, "{host} {path}");
            assert!(response.headers().get("dpop-nonce").is_none());
            let body = response.text().await.unwrap();
            if !host.is_empty() {
                let bare = host.split(':').next().unwrap();
                assert!(!body.contains(bare), "{host} echoed by {path}: {body}");
                assert!(!body.contains("script"), "{body}");
            }
        }
    }
}

#[tokio::test]
async fn the_host_is_matched_case_insensitively() {
    // Checklist 1 (profile section 4): host names are case-insensitive.
    let server = TestServer::start().await;
    let m: Value = server
        .get("COOP-A.Test", "/.well-known/oauth-authorization-server")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["issuer"], issuer(COOP_A));
}
