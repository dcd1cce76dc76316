//! Pushed authorization requests: transport, DPoP nonce and proof checks, and request
//! validation for loopback clients (Checklist 13-30, 36-48, 88).

use crate::common::*;
use serde_json::{json, Value};

const PAR: &str = "/oauth/par";

/// The standard PAR form as borrowed pairs.
fn fields(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// POSTs the standard PAR form (with `extra`) with this exact proof.
async fn par_with_proof(
    client: &TestClient<'_>,
    extra: &[(&str, &str)],
    proof: String,
) -> reqwest::Response {
    let (form, _) = client.par_form(extra);
    client
        .post_with_proof(PAR, &fields(&form), Some(proof))
        .await
}

/// A proof for PAR with the current nonce whose claims and header `tweak` changes.
async fn tweaked_proof(
    client: &TestClient<'_>,
    header: &[(&str, Value)],
    tweak: impl FnOnce(&mut Value),
) -> String {
    let nonce = client.ensure_nonce().await;
    let mut claims =
        client
            .dpop
            .claims("POST", &client.url(PAR), client.server.now(), Some(&nonce));
    tweak(&mut claims);
    client.dpop.proof_with(header, claims)
}

async fn assert_par_error(
    client: &TestClient<'_>,
    extra: &[(&str, &str)],
    status: u16,
    error: &str,
) {
    let (got, body, _) = client.par_raw(extra).await;
    assert_eq!(
        (got, body["error"].as_str().unwrap_or("")),
        (status, error),
        "PAR with {extra:?}: {body}"
    );
}

#[tokio::test]
async fn par_without_a_nonce_gets_use_dpop_nonce_and_a_nonce_header() {
    // Checklist 13.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let proof = client
        .dpop
        .proof("POST", &client.url(PAR), server.now(), None);
    let response = par_with_proof(&client, &[], proof).await;
    let nonce = header_of(&response, "dpop-nonce");
    assert!(!nonce.is_empty());
    expect_error(response, 400, "use_dpop_nonce").await;
}

#[tokio::test]
async fn par_retried_with_the_nonce_is_created_with_an_opaque_request_uri_and_short_lifetime() {
    // Checklist 14, 15, 16.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let first = par_with_proof(
        &client,
        &[],
        client
            .dpop
            .proof("POST", &client.url(PAR), server.now(), None),
    )
    .await;
    client.dpop.remember_nonce(&first);
    expect_error(first, 400, "use_dpop_nonce").await;

    let proof = client
        .dpop
        .proof("POST", &client.url(PAR), server.now(), None);
    let response = par_with_proof(&client, &[], proof).await;
    assert_eq!(response.status(), 201);
    assert!(header_of(&response, "content-type").starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    let request_uri = body["request_uri"].as_str().expect("request_uri");
    let id = request_uri
        .strip_prefix("urn:ietf:params:oauth:request_uri:req-")
        .unwrap_or_else(|| panic!("{request_uri}"));
    assert_eq!(id.len(), 32, "{request_uri}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{request_uri}"
    );
    let expires_in = body["expires_in"].as_i64().expect("integer expires_in");
    assert!((1..=300).contains(&expires_in), "{expires_in}");
}

#[tokio::test]
async fn par_with_a_made_up_nonce_gets_use_dpop_nonce() {
    // Checklist 19.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    for made_up in [
        "made-up-nonce",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "",
    ] {
        client.dpop.set_nonce(Some(made_up.to_string()));
        let proof = client
            .dpop
            .proof("POST", &client.url(PAR), server.now(), None);
        let response = par_with_proof(&client, &[], proof).await;
        assert!(!header_of(&response, "dpop-nonce").is_empty());
        expect_error(response, 400, "use_dpop_nonce").await;
    }
}

#[tokio::test]
async fn a_nonce_is_accepted_90_seconds_after_issue_and_refused_4_minutes_after() {
    // Checklist 20.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);

    client.dpop.set_nonce(Some(server.nonce(COOP_A).await));
    server.clock.advance(90);
    let proof = client
        .dpop
        .proof("POST", &client.url(PAR), server.now(), None);
    let response = par_with_proof(&client, &[], proof).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);

    client.dpop.set_nonce(Some(server.nonce(COOP_A).await));
    server.clock.advance(240);
    let proof = client
        .dpop
        .proof("POST", &client.url(PAR), server.now(), None);
    let response = par_with_proof(&client, &[], proof).await;
    expect_error(response, 400, "use_dpop_nonce").await;
}

#[tokio::test]
async fn a_replayed_dpop_proof_is_refused() {
    // Checklist 21. Deliberate difference 4: the AS answers 400 invalid_dpop_proof (RFC 9449
    // section 7.1), not the reference's 401.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let proof = client.fresh_proof(PAR).await;
    let first = par_with_proof(&client, &[], proof.clone()).await;
    assert_eq!(first.status(), 201);
    let replay = par_with_proof(&client, &[], proof).await;
    expect_error(replay, 400, "invalid_dpop_proof").await;
}

#[tokio::test]
async fn a_proof_for_another_method_is_refused() {
    // Checklist 22 (deliberate difference 4: 400, not 401).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    for htm in ["GET", "post", "PUT"] {
        let proof = tweaked_proof(&client, &[], |c| c["htm"] = json!(htm)).await;
        expect_error(
            par_with_proof(&client, &[], proof).await,
            400,
            "invalid_dpop_proof",
        )
        .await;
    }
}

#[tokio::test]
async fn a_proof_for_another_url_is_refused() {
    // Checklist 23 (deliberate difference 4: 400, not 401).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    for htu in [
        "https://coop-a.test/oauth/token",
        "https://coop-b.test/oauth/par",
        "http://coop-a.test/oauth/par",
        "https://coop-a.test:8443/oauth/par",
        "/oauth/par",
    ] {
        let proof = tweaked_proof(&client, &[], |c| c["htu"] = json!(htu)).await;
        expect_error(
            par_with_proof(&client, &[], proof).await,
            400,
            "invalid_dpop_proof",
        )
        .await;
    }
}

#[tokio::test]
async fn a_proof_issued_200_seconds_in_the_past_or_future_is_refused() {
    // Checklist 24 (deliberate difference 4: 400, not 401).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let now = server.now();
    for iat in [now - 200, now + 200] {
        let proof = tweaked_proof(&client, &[], |c| c["iat"] = json!(iat)).await;
        expect_error(
            par_with_proof(&client, &[], proof).await,
            400,
            "invalid_dpop_proof",
        )
        .await;
    }
    // Inside the window it is fine.
    let proof = tweaked_proof(&client, &[], |c| c["iat"] = json!(now - 100)).await;
    assert_eq!(par_with_proof(&client, &[], proof).await.status(), 201);
}

#[tokio::test]
async fn a_proof_with_typ_jwt_is_refused() {
    // Checklist 25 (deliberate difference 4: 400, not 401).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    for typ in [json!("JWT"), json!("at+jwt"), json!(null)] {
        let proof = tweaked_proof(&client, &[("typ", typ)], |_| {}).await;
        expect_error(
            par_with_proof(&client, &[], proof).await,
            400,
            "invalid_dpop_proof",
        )
        .await;
    }
}

#[tokio::test]
async fn a_proof_carrying_ath_is_refused_at_par_and_token() {
    // Checklist 26 (deliberate difference 4: 400, not 401).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let proof = tweaked_proof(&client, &[], |c| {
        c["ath"] = json!("fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo")
    })
    .await;
    expect_error(
        par_with_proof(&client, &[], proof).await,
        400,
        "invalid_dpop_proof",
    )
    .await;

    let nonce = client.ensure_nonce().await;
    let mut claims = client.dpop.claims(
        "POST",
        &client.url("/oauth/token"),
        server.now(),
        Some(&nonce),
    );
    claims["ath"] = json!("fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
    let proof = client.dpop.proof_with(&[], claims);
    let response = client
        .post_with_proof(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client.client_id),
                ("code", "cod-whatever"),
                ("code_verifier", &"a".repeat(43)),
            ],
            Some(proof),
        )
        .await;
    expect_error(response, 400, "invalid_dpop_proof").await;
}

#[tokio::test]
async fn a_proof_whose_jwk_contains_a_private_key_is_refused() {
    // Checklist 27.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let mut jwk = client.dpop.public_jwk();
    jwk["d"] = json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
    let proof = tweaked_proof(&client, &[("jwk", jwk)], |_| {}).await;
    expect_error(
        par_with_proof(&client, &[], proof).await,
        400,
        "invalid_dpop_proof",
    )
    .await;
}

#[tokio::test]
async fn get_on_the_par_endpoint_is_method_not_allowed() {
    // Checklist 28.
    let server = TestServer::start().await;
    let response = server.get(COOP_A, PAR).send().await.unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn par_without_content_type_is_415_and_a_json_body_is_accepted_like_a_form() {
    // Checklist 29.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (form, _) = client.par_form(&[]);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter())
        .finish();
    let response = server
        .request(reqwest::Method::POST, COOP_A, PAR)
        .header("dpop", client.fresh_proof(PAR).await)
        .body(body)
        .send()
        .await
        .unwrap();
    expect_error(response, 415, "invalid_request").await;

    let (form, _) = client.par_form(&[]);
    let object: serde_json::Map<String, Value> = form
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let response = server
        .request(reqwest::Method::POST, COOP_A, PAR)
        .header("dpop", client.fresh_proof(PAR).await)
        .json(&object)
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(response).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["request_uri"].is_string());
}

#[tokio::test]
async fn par_without_client_id_is_invalid_client() {
    // Checklist 30.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    assert_par_error(&client, &[("client_id", "")], 400, "invalid_client").await;
}

#[tokio::test]
async fn par_without_code_challenge_is_invalid_request() {
    // Checklist 36.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    assert_par_error(&client, &[("code_challenge", "")], 400, "invalid_request").await;
}

#[tokio::test]
async fn par_with_plain_or_omitted_challenge_method_is_invalid_request() {
    // Checklist 37.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    assert_par_error(
        &client,
        &[("code_challenge_method", "plain")],
        400,
        "invalid_request",
    )
    .await;
    assert_par_error(
        &client,
        &[("code_challenge_method", "")],
        400,
        "invalid_request",
    )
    .await;
    assert_par_error(
        &client,
        &[("code_challenge_method", "S512")],
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn par_whose_scope_lacks_atproto_is_invalid_scope() {
    // Checklist 38.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    assert_par_error(
        &client,
        &[("scope", "transition:generic")],
        400,
        "invalid_scope",
    )
    .await;
    assert_par_error(&client, &[("scope", "")], 400, "invalid_scope").await;
}

#[tokio::test]
async fn par_requesting_an_undeclared_scope_is_invalid_scope() {
    // Checklist 39: the loopback client declares atproto transition:generic transition:email.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    assert_par_error(
        &client,
        &[("scope", "atproto transition:chat.bsky")],
        400,
        "invalid_scope",
    )
    .await;
}

#[tokio::test]
async fn par_requesting_openid_is_invalid_scope_even_when_declared() {
    // Checklist 40.
    let server = TestServer::start().await;
    let client = TestClient::with_client_id(&server, COOP_A, &loopback_client_id("atproto openid"));
    assert_par_error(
        &client,
        &[("scope", "atproto openid")],
        400,
        "invalid_scope",
    )
    .await;
}

#[tokio::test]
async fn par_with_an_unregistered_redirect_uri_is_invalid_request() {
    // Checklist 41.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    for redirect in [
        "http://127.0.0.1/other",
        "http://localhost/callback",
        "https://evil.example/callback",
        "http://127.0.0.1/callback/",
    ] {
        assert_par_error(
            &client,
            &[("redirect_uri", redirect)],
            400,
            "invalid_request",
        )
        .await;
    }
}

#[tokio::test]
async fn par_omitting_redirect_uri_uses_the_only_registered_one() {
    // Checklist 42.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (status, body, par) = client.par_raw(&[("redirect_uri", "")]).await;
    assert_eq!(status, 201, "{body}");
    let (mut browser, consent) = client.open_consent(&par, "alice.coop-a.test").await;
    let done = browser.allow(&consent).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let location = done.location.clone().unwrap();
    assert!(
        location.starts_with(&format!("{LOOPBACK_REDIRECT}?")),
        "{location}"
    );
    let response = client.exchange(&done.code(), &par.verifier).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn par_omitting_redirect_uri_with_several_registered_is_invalid_request() {
    // Checklist 43: two redirect URIs in the client_id, or none (the two defaults).
    let server = TestServer::start().await;
    let two = format!(
        "http://localhost?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("redirect_uri", "http://127.0.0.1/a")
            .append_pair("redirect_uri", "http://127.0.0.1/b")
            .append_pair("scope", "atproto transition:generic")
            .finish()
    );
    for client_id in [two.as_str(), "http://localhost"] {
        let client = TestClient::with_client_id(&server, COOP_A, client_id);
        assert_par_error(
            &client,
            &[("redirect_uri", ""), ("scope", "atproto")],
            400,
            "invalid_request",
        )
        .await;
    }
}

#[tokio::test]
async fn par_with_response_type_token_is_unsupported_response_type() {
    // Checklist 44.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    for response_type in ["token", "code id_token", "id_token"] {
        assert_par_error(
            &client,
            &[("response_type", response_type)],
            400,
            "unsupported_response_type",
        )
        .await;
    }
}

#[tokio::test]
async fn par_with_openid_connect_parameters_is_invalid_request() {
    // Checklist 45.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    for (name, value) in [
        ("nonce", "n-0S6_WzA2Mj"),
        ("claims", r#"{"id_token":{}}"#),
        ("id_token_hint", "eyJhbGciOiJFUzI1NiJ9.e30.sig"),
    ] {
        assert_par_error(&client, &[(name, value)], 400, "invalid_request").await;
    }
}

#[tokio::test]
async fn par_with_prompt_none_from_a_public_client_is_invalid_request() {
    // Checklist 46.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    assert_par_error(
        &client,
        &[("prompt", "none"), ("login_hint", "alice.coop-a.test")],
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn par_with_a_login_hint_that_is_neither_handle_nor_did_is_invalid_request() {
    // Checklist 47.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    for hint in [
        "not a handle",
        "alice",
        "did:",
        "did:web:",
        "@",
        "-bad-.example",
    ] {
        assert_par_error(&client, &[("login_hint", hint)], 400, "invalid_request").await;
    }
    for hint in [
        "alice.coop-a.test",
        "@Alice.Coop-A.test",
        "did:plc:bobbobbobbobbobbobbobbob",
    ] {
        let (status, body, _) = client.par_raw(&[("login_hint", hint)]).await;
        assert_eq!(status, 201, "{hint}: {body}");
    }
}

#[tokio::test]
async fn par_with_a_dpop_jkt_other_than_the_proof_key_is_refused() {
    // Checklist 48. Our answer is 400 invalid_request, not the reference's 401 invalid_token:
    // no token is involved, and RFC 9449 section 10.1 names no code (documented in
    // atauth-protocol's request validation, rule 12).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let other = DpopKey::new();
    assert_par_error(
        &client,
        &[("dpop_jkt", &other.jkt())],
        400,
        "invalid_request",
    )
    .await;
    let (status, body, _) = client.par_raw(&[("dpop_jkt", &client.dpop.jkt())]).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn par_without_state_is_invalid_request() {
    // Deliberate difference 2: `state` is required (the reference makes it optional).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    assert_par_error(&client, &[("state", "")], 400, "invalid_request").await;
}

#[tokio::test]
async fn a_reused_code_challenge_is_refused_at_par() {
    // Checklist 88. Deliberate difference 6: the reuse is refused at PAR already
    // (invalid_request), not at the code exchange.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (form, _) = client.par_form(&[]);
    let challenge = form
        .iter()
        .find(|(k, _)| k == "code_challenge")
        .map(|(_, v)| v.clone())
        .unwrap();
    let (status, body, _) = client.par_raw(&[("code_challenge", &challenge)]).await;
    assert_eq!(status, 201, "{body}");
    // Even much later (within 27 h), and by another client.
    server.clock.advance(20 * 3600);
    assert_par_error(
        &client,
        &[("code_challenge", &challenge)],
        400,
        "invalid_request",
    )
    .await;
    let other = TestClient::loopback_with_scope(&server, COOP_A, "atproto");
    assert_par_error(
        &other,
        &[("code_challenge", &challenge), ("scope", "atproto")],
        400,
        "invalid_request",
    )
    .await;
}
