//! Discoverable clients (client metadata documents fetched over HTTP) against a dev-mode server:
//! the documents are served by a real axum server on 127.0.0.1 under the name `app.test`
//! (dev mode allows `http://app.test:<port>/...` client ids; the fetcher maps `app.test` to
//! 127.0.0.1). Checklist numbers refer to `docs/spec/checklist.md`; "profile 3.N" to
//! Deliberate difference N in `docs/spec/differences.md`.

use crate::common::*;
use crate::metadata_host::{
    approve, assert_error, assertion_claims, assertion_fields, client_key, confidential_client,
    confidential_document, introspect, jwks, public_client, public_web_document, query_of,
    same_key, sign_assertion, sign_assertion_with_header, MetadataHost,
};
use atauth_protocol::client_auth::CLIENT_ASSERTION_TYPE;
use serde_json::{json, Value};

const REDIRECT: &str = "https://app.test/callback";
const SCOPE: &str = "atproto transition:generic";

struct Setup {
    host: MetadataHost,
    server: TestServer,
}

async fn setup() -> Setup {
    let host = MetadataHost::http().await;
    let server = host.atauth().await;
    Setup { host, server }
}

impl Setup {
    /// Serves `document` (with its `client_id` set to the URL it is served at) and returns the
    /// client id.
    fn serve(&self, path: &str, mut document: Value) -> String {
        let client_id = self.host.url(path);
        if document.get("client_id").is_some_and(|v| v == "SELF") {
            document["client_id"] = json!(client_id);
        }
        self.host.put_json(path, &document);
        client_id
    }

    fn public_web(&self, path: &str, redirects: &[&str]) -> String {
        self.serve(path, public_web_document("SELF", redirects))
    }

    fn confidential(&self, path: &str, keys: &[&atauth_protocol::jose::SigningKey]) -> String {
        self.serve(path, confidential_document("SELF", &[REDIRECT], jwks(keys)))
    }
}

async fn par_error(client: &TestClient<'_>, extra: &[(&str, &str)]) -> (u16, Value) {
    status_json(client.par_with(extra).await).await
}

// ---------------------------------------------------------------------------------------------
// PAR: request validation with fetched metadata

/// Checklist 30.
#[tokio::test]
async fn par_without_client_id_is_invalid_client() {
    let s = setup().await;
    let id = s.public_web("/client-metadata.json", &[REDIRECT]);
    let client = public_client(&s.server, COOP_A, &id, REDIRECT);
    let got = par_error(&client, &[("client_id", "")]).await;
    assert_error(&got, 400, "invalid_client", "client_id");
}

/// Checklist 32.
#[tokio::test]
async fn document_client_id_must_equal_the_requested_client_id() {
    let s = setup().await;
    let other = s.host.url("/other.json");
    let id = s.serve(
        "/client-metadata.json",
        public_web_document(&other, &[REDIRECT]),
    );
    let client = public_client(&s.server, COOP_A, &id, REDIRECT);
    let got = par_error(&client, &[]).await;
    assert_error(
        &got,
        400,
        "invalid_client_metadata",
        "does not match the requested client_id",
    );
}

/// Checklist 33: `dpop_bound_access_tokens` absent, or false.
#[tokio::test]
async fn document_must_require_dpop_bound_access_tokens() {
    let s = setup().await;
    let mut absent = public_web_document("SELF", &[REDIRECT]);
    absent
        .as_object_mut()
        .unwrap()
        .remove("dpop_bound_access_tokens");
    let mut off = public_web_document("SELF", &[REDIRECT]);
    off["dpop_bound_access_tokens"] = json!(false);
    for (path, doc) in [("/absent.json", absent), ("/false.json", off)] {
        let id = s.serve(path, doc);
        let client = public_client(&s.server, COOP_A, &id, REDIRECT);
        let got = par_error(&client, &[]).await;
        assert_error(
            &got,
            400,
            "invalid_client_metadata",
            "dpop_bound_access_tokens",
        );
    }
}

/// Checklist 34.
#[tokio::test]
async fn document_scope_must_include_atproto() {
    let s = setup().await;
    let mut doc = public_web_document("SELF", &[REDIRECT]);
    doc["scope"] = json!("transition:generic");
    let id = s.serve("/client-metadata.json", doc);
    let client = public_client(&s.server, COOP_A, &id, REDIRECT);
    let got = par_error(&client, &[("scope", "transition:generic")]).await;
    assert_error(&got, 400, "invalid_client_metadata", "\"atproto\"");
}

/// Checklist 35: RFC 7591's default `client_secret_basic` is not supported.
#[tokio::test]
async fn document_must_name_its_token_endpoint_auth_method() {
    let s = setup().await;
    let mut doc = public_web_document("SELF", &[REDIRECT]);
    doc.as_object_mut()
        .unwrap()
        .remove("token_endpoint_auth_method");
    let id = s.serve("/client-metadata.json", doc);
    let client = public_client(&s.server, COOP_A, &id, REDIRECT);
    let got = par_error(&client, &[]).await;
    assert_error(
        &got,
        400,
        "invalid_client_metadata",
        "token_endpoint_auth_method",
    );
}

/// Checklist 39.
#[tokio::test]
async fn requested_scope_must_be_declared_in_the_document() {
    let s = setup().await;
    let mut doc = public_web_document("SELF", &[REDIRECT]);
    doc["scope"] = json!("atproto");
    let id = s.serve("/client-metadata.json", doc);
    let client = public_client(&s.server, COOP_A, &id, REDIRECT);
    let got = par_error(&client, &[("scope", "atproto transition:generic")]).await;
    assert_error(&got, 400, "invalid_scope", "transition:generic");
}

/// Checklist 41.
#[tokio::test]
async fn unregistered_redirect_uri_is_invalid_request() {
    let s = setup().await;
    let id = s.public_web("/client-metadata.json", &[REDIRECT]);
    let client = public_client(&s.server, COOP_A, &id, REDIRECT);
    let got = par_error(&client, &[("redirect_uri", "https://app.test/elsewhere")]).await;
    assert_error(&got, 400, "invalid_request", "not registered");
}

/// Checklist 42: omitted `redirect_uri` with exactly one registered: that one is used.
#[tokio::test]
async fn omitted_redirect_uri_uses_the_only_registered_one() {
    let s = setup().await;
    let only = "https://app.test/only-callback";
    let id = s.public_web("/client-metadata.json", &[only]);
    let client = public_client(&s.server, COOP_A, &id, only);
    let response = client.par_with(&[("redirect_uri", "")]).await;
    let (status, body) = status_json(response).await;
    assert_eq!(status, 201, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap();
    let location = approve(&client, request_uri, "alice.coop-a.test").await;
    assert!(
        location.starts_with(&format!("{only}?")),
        "redirected to {location}"
    );
    let params = query_of(&location);
    assert!(params.contains_key("code"), "{location}");
    assert_eq!(params.get("iss"), Some(&issuer(COOP_A)));
}

/// Checklist 43.
#[tokio::test]
async fn omitted_redirect_uri_with_several_registered_is_invalid_request() {
    let s = setup().await;
    let id = s.public_web(
        "/client-metadata.json",
        &[REDIRECT, "https://app.test/other-callback"],
    );
    let client = public_client(&s.server, COOP_A, &id, REDIRECT);
    let got = par_error(&client, &[("redirect_uri", "")]).await;
    assert_error(&got, 400, "invalid_request", "redirect_uri");
}

/// Checklist 113: a web client may not register a private-use scheme redirect.
#[tokio::test]
async fn web_client_with_custom_scheme_redirect_is_invalid_redirect_uri() {
    let s = setup().await;
    let id = s.public_web("/client-metadata.json", &["test.app:/callback"]);
    let client = public_client(&s.server, COOP_A, &id, "test.app:/callback");
    let got = par_error(&client, &[]).await;
    assert_error(&got, 400, "invalid_redirect_uri", "custom URI scheme");
}

/// Checklist 114: a native client at `app.test` may use `test.app:/cb`, not `com.other.app:/cb`.
#[tokio::test]
async fn native_client_private_use_scheme_must_be_its_reversed_host() {
    let s = setup().await;
    let mut good = public_web_document("SELF", &["test.app:/callback"]);
    good["application_type"] = json!("native");
    let id = s.serve("/native.json", good);
    let client = public_client(&s.server, COOP_A, &id, "test.app:/callback");
    let (status, body) = status_json(client.par_with(&[]).await).await;
    assert_eq!(status, 201, "{body}");

    let mut bad = public_web_document("SELF", &["com.other.app:/callback"]);
    bad["application_type"] = json!("native");
    let id = s.serve("/native-other.json", bad);
    let client = public_client(&s.server, COOP_A, &id, "com.other.app:/callback");
    let got = par_error(&client, &[]).await;
    assert_error(&got, 400, "invalid_redirect_uri", "\"test.app:\"");
}

/// Checklist 115.
#[tokio::test]
async fn native_client_may_not_use_private_key_jwt() {
    let s = setup().await;
    let key = client_key("k1");
    let mut doc = confidential_document("SELF", &["test.app:/callback"], jwks(&[&key]));
    doc["application_type"] = json!("native");
    let id = s.serve("/client-metadata.json", doc);
    let client = confidential_client(&s.server, COOP_A, &id, "test.app:/callback", key);
    let got = par_error(&client, &[]).await;
    assert_error(&got, 400, "invalid_client_metadata", "Native clients");
}

/// Checklist 120: `jwks` and `jwks_uri` together, or neither.
#[tokio::test]
async fn private_key_jwt_needs_exactly_one_of_jwks_and_jwks_uri() {
    let s = setup().await;
    let key = client_key("k1");
    s.host.put_json("/jwks.json", &jwks(&[&key]));
    let mut both = confidential_document("SELF", &[REDIRECT], jwks(&[&key]));
    both["jwks_uri"] = json!(s.host.url("/jwks.json"));
    let mut neither = confidential_document("SELF", &[REDIRECT], json!(null));
    neither.as_object_mut().unwrap().remove("jwks");
    for (path, doc, needle) in [
        ("/both.json", both, "not both"),
        ("/neither.json", neither, "\"jwks\" or \"jwks_uri\""),
    ] {
        let id = s.serve(path, doc);
        let client = confidential_client(&s.server, COOP_A, &id, REDIRECT, key.clone());
        let got = par_error(&client, &[]).await;
        assert_error(&got, 400, "invalid_client_metadata", needle);
    }
}

// ---------------------------------------------------------------------------------------------
// Confidential clients (private_key_jwt)

/// Checklist 51.
#[tokio::test]
async fn confidential_client_without_client_assertion_is_invalid_request() {
    let s = setup().await;
    let key = client_key("k1");
    let id = s.confidential("/client-metadata.json", &[&key]);
    let client = public_client(&s.server, COOP_A, &id, REDIRECT);
    let got = par_error(&client, &[]).await;
    assert_error(&got, 400, "invalid_request", "private_key_jwt");
}

/// Checklist 52 (`aud` = token endpoint), 53 (`iat` 61 s old), 54 (no `kid`), 55 (no `jti`):
/// each refused with 400 `invalid_client`; a correct assertion then passes.
#[tokio::test]
async fn client_assertion_needs_issuer_audience_fresh_iat_kid_and_jti() {
    let s = setup().await;
    let key = client_key("k1");
    let id = s.confidential("/client-metadata.json", &[&key]);
    let client = public_client(&s.server, COOP_A, &id, REDIRECT);
    let now = s.server.now();
    let send = |assertion: String| {
        let client = &client;
        async move {
            let fields = [
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", assertion.as_str()),
            ];
            status_json(client.par_with(&fields).await).await
        }
    };

    let mut claims = assertion_claims(&id, COOP_A, now);
    claims["aud"] = json!(client.url("/oauth/token"));
    let got = send(sign_assertion(&key, &claims)).await;
    assert_error(&got, 400, "invalid_client", "aud");

    let mut claims = assertion_claims(&id, COOP_A, now - 61);
    claims["exp"] = json!(now + 60);
    let got = send(sign_assertion(&key, &claims)).await;
    assert_error(&got, 400, "invalid_client", "too old");

    let claims = assertion_claims(&id, COOP_A, now);
    let no_kid = sign_assertion_with_header(&key, &[("typ", json!("JWT"))], &claims);
    let got = send(no_kid).await;
    assert_error(&got, 400, "invalid_client", "kid");

    let mut claims = assertion_claims(&id, COOP_A, now);
    claims.as_object_mut().unwrap().remove("jti");
    let got = send(sign_assertion(&key, &claims)).await;
    assert_error(&got, 400, "invalid_client", "jti");

    let (status, body) = send(sign_assertion(&key, &assertion_claims(&id, COOP_A, now))).await;
    assert_eq!(status, 201, "{body}");
}

/// Checklist 56, with profile 3.5: a reused assertion `jti` is `invalid_client`
/// (the reference answers `invalid_grant`).
#[tokio::test]
async fn reused_client_assertion_jti_is_invalid_client() {
    let s = setup().await;
    let key = client_key("k1");
    let id = s.confidential("/client-metadata.json", &[&key]);
    let client = public_client(&s.server, COOP_A, &id, REDIRECT);
    let assertion = sign_assertion(&key, &assertion_claims(&id, COOP_A, s.server.now()));
    let fields = [
        ("client_assertion_type", CLIENT_ASSERTION_TYPE),
        ("client_assertion", assertion.as_str()),
    ];
    let (status, body) = status_json(client.par_with(&fields).await).await;
    assert_eq!(status, 201, "{body}");
    let got = status_json(client.par_with(&fields).await).await;
    assert_error(&got, 400, "invalid_client", "already used");
}

/// Checklist 57.
#[tokio::test]
async fn dpop_proof_signed_with_the_client_assertion_key_is_invalid_request() {
    let s = setup().await;
    let key = client_key("k1");
    let id = s.confidential("/client-metadata.json", &[&key]);
    let mut client = confidential_client(&s.server, COOP_A, &id, REDIRECT, key.clone());
    client.dpop = DpopKey {
        key: same_key(&key),
        nonce: std::sync::Mutex::new(None),
    };
    let got = par_error(&client, &[]).await;
    assert_error(&got, 400, "invalid_request", "client authentication key");
}

/// Checklist 58: refreshing with an assertion signed by another of the client's keys (another
/// `kid`) is `invalid_grant` and revokes the session.
#[tokio::test]
async fn refresh_with_another_client_key_is_invalid_grant_and_revokes_the_session() {
    let s = setup().await;
    let k1 = client_key("k1");
    let k2 = client_key("k2");
    let id = s.confidential("/client-metadata.json", &[&k1, &k2]);
    let mut client = confidential_client(&s.server, COOP_A, &id, REDIRECT, k1.clone());
    let tokens = client.sign_in(SCOPE, "alice.coop-a.test").await;
    let refresh = tokens.refresh_token.expect("refresh token");

    let signed_in_key = std::mem::replace(
        &mut client.auth,
        Box::new({
            let (server, id, k2) = (&s.server, id.clone(), k2.clone());
            move || {
                let claims = assertion_claims(&id, COOP_A, server.now());
                assertion_fields(&sign_assertion(&k2, &claims))
            }
        }),
    );
    let got = status_json(client.refresh(&refresh).await).await;
    assert_error(&got, 400, "invalid_grant", "another key");

    client.auth = signed_in_key;
    let got = status_json(client.refresh(&refresh).await).await;
    assert_error(&got, 400, "invalid_grant", "");
    let fields = client_auth_fields(&s.server, &id, &k1);
    let mut form = vec![
        ("client_id", id.as_str()),
        ("token", tokens.access_token.as_str()),
    ];
    form.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let (status, body) = status_json(introspect(&s.server, COOP_A, &form).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"active": false}));
}

fn client_auth_fields(
    server: &TestServer,
    client_id: &str,
    key: &atauth_protocol::jose::SigningKey,
) -> Vec<(String, String)> {
    assertion_fields(&sign_assertion(
        key,
        &assertion_claims(client_id, COOP_A, server.now()),
    ))
}

/// The DPoP nonce is checked before client authentication: a PAR refused with
/// `use_dpop_nonce` does not burn the assertion, which the client resends with the nonce
/// (checklist 13-14 with 56). Once accepted, the same assertion is refused (profile 3.5).
#[tokio::test]
async fn dpop_nonce_retry_does_not_burn_the_client_assertion_jti() {
    let s = setup().await;
    let key = client_key("k1");
    let id = s.confidential("/client-metadata.json", &[&key]);
    let dpop = DpopKey::new();
    let assertion = sign_assertion(&key, &assertion_claims(&id, COOP_A, s.server.now()));
    let par_url = format!("{}/oauth/par", issuer(COOP_A));
    let send = |challenge: String| {
        let (s, dpop, id, assertion, par_url) = (&s, &dpop, &id, &assertion, &par_url);
        async move {
            let form = [
                ("client_id", id.as_str()),
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
                ("state", "state-1"),
                ("scope", SCOPE),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", assertion.as_str()),
            ];
            let proof = dpop.proof("POST", par_url, s.server.now(), None);
            let response = s
                .server
                .post_form(COOP_A, "/oauth/par", &form, Some(proof))
                .await;
            dpop.remember_nonce(&response);
            status_json(response).await
        }
    };
    let (_, challenge) = pkce();
    let (status, body) = send(challenge.clone()).await;
    assert_eq!((status, &body["error"]), (400, &json!("use_dpop_nonce")));
    assert!(
        dpop.nonce.lock().unwrap().is_some(),
        "no DPoP-Nonce handed out"
    );

    let (status, body) = send(challenge).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["request_uri"].as_str().is_some(), "{body}");

    let (_, fresh_challenge) = pkce();
    let got = send(fresh_challenge).await;
    assert_error(&got, 400, "invalid_client", "already used");
}

/// A confidential client with inline `jwks`: PAR → authorize → sign in → Allow → token →
/// refresh → revoke (checklist 77-78, 97, 104 for a private_key_jwt client).
#[tokio::test]
async fn confidential_client_with_inline_jwks_completes_the_whole_flow() {
    let s = setup().await;
    let key = client_key("k1");
    let id = s.confidential("/client-metadata.json", &[&key]);
    let client = confidential_client(&s.server, COOP_A, &id, REDIRECT, key);
    whole_flow(&s.server, &client).await;
}

/// The same with `jwks_uri`: the keys are fetched from the client's host too.
#[tokio::test]
async fn confidential_client_with_jwks_uri_completes_the_whole_flow() {
    let s = setup().await;
    let key = client_key("k1");
    s.host.put_json("/jwks.json", &jwks(&[&key]));
    let mut doc = confidential_document("SELF", &[REDIRECT], json!(null));
    doc.as_object_mut().unwrap().remove("jwks");
    doc["jwks_uri"] = json!(s.host.url("/jwks.json"));
    let id = s.serve("/client-metadata.json", doc);
    let client = confidential_client(&s.server, COOP_A, &id, REDIRECT, key);
    whole_flow(&s.server, &client).await;
    assert!(s.host.hits("/jwks.json") >= 1);
}

/// The whole flow. Before each token-endpoint and revocation call the client forgets its DPoP
/// nonce, so each is first refused with `use_dpop_nonce` and retried with the *same* client
/// assertion (`TestClient::dpop_post`): the retry must not find the assertion's `jti` burned.
async fn whole_flow(server: &TestServer, client: &TestClient<'_>) {
    let forget_nonce = || *client.dpop.nonce.lock().unwrap() = None;
    let (par, code) = client.authorize(SCOPE, "alice.coop-a.test").await;
    forget_nonce();
    let response = client.exchange(&code, &par.verifier).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let tokens = crate::common::tokens(response).await;
    assert_eq!(tokens.body["token_type"], "DPoP");
    assert_eq!(tokens.body["sub"], server.alice.did.as_str());
    assert_eq!(tokens.body["scope"], SCOPE);
    let refresh = tokens.refresh_token.clone().expect("refresh token");

    forget_nonce();
    let refreshed = client.refresh(&refresh).await;
    assert_eq!(refreshed.status(), 200);
    let refreshed = crate::common::tokens(refreshed).await;
    let new_refresh = refreshed
        .refresh_token
        .clone()
        .expect("rotated refresh token");
    assert_ne!(new_refresh, refresh);
    assert_ne!(refreshed.access_token, tokens.access_token);

    forget_nonce();
    let revoked = client.revoke(&new_refresh).await;
    assert_eq!(revoked.status(), 200);
    let got = status_json(client.refresh(&new_refresh).await).await;
    assert_error(&got, 400, "invalid_grant", "");
}

/// Checklist 90.
#[tokio::test]
async fn client_without_refresh_token_grant_gets_no_refresh_token() {
    let s = setup().await;
    let mut doc = public_web_document("SELF", &[REDIRECT]);
    doc["grant_types"] = json!(["authorization_code"]);
    let id = s.serve("/client-metadata.json", doc);
    let client = public_client(&s.server, COOP_A, &id, REDIRECT);
    let tokens = client.sign_in(SCOPE, "alice.coop-a.test").await;
    assert!(
        tokens.body.get("refresh_token").is_none(),
        "{}",
        tokens.body
    );
    let got = status_json(client.refresh("made-up-refresh-token").await).await;
    assert_error(&got, 400, "invalid_grant", "refresh tokens");
}

// ---------------------------------------------------------------------------------------------
// Introspection (RFC 7662)

#[tokio::test]
async fn introspection_answers_a_confidential_client_about_its_own_tokens_only() {
    let s = setup().await;
    let key = client_key("k1");
    let id = s.confidential("/client-metadata.json", &[&key]);
    let client = confidential_client(&s.server, COOP_A, &id, REDIRECT, key.clone());
    let tokens = client.sign_in(SCOPE, "alice.coop-a.test").await;
    let refresh = tokens.refresh_token.clone().unwrap();
    let ask = |token: String| {
        let (s, id, key) = (&s, &id, &key);
        async move {
            let fields = client_auth_fields(&s.server, id, key);
            let mut form = vec![("client_id", id.as_str()), ("token", token.as_str())];
            form.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let response = introspect(&s.server, COOP_A, &form).await;
            assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
            status_json(response).await
        }
    };

    let (status, body) = ask(tokens.access_token.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["sub"], s.server.alice.did.as_str());
    assert_eq!(body["scope"], SCOPE);
    assert_eq!(body["client_id"], id.as_str());
    assert_eq!(body["iss"], issuer(COOP_A));
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(body["cnf"]["jkt"], client.dpop.jkt().as_str());

    let (status, body) = ask(refresh.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["sub"], s.server.alice.did.as_str());
    assert_eq!(body["cnf"]["jkt"], client.dpop.jkt().as_str());

    // Another confidential client learns nothing about these tokens.
    let other_key = client_key("other");
    let other = s.confidential("/other-client.json", &[&other_key]);
    let fields = client_auth_fields(&s.server, &other, &other_key);
    let mut form = vec![
        ("client_id", other.as_str()),
        ("token", tokens.access_token.as_str()),
    ];
    form.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let (status, body) = status_json(introspect(&s.server, COOP_A, &form).await).await;
    assert_eq!((status, body), (200, json!({"active": false})));

    // Revoked: both tokens inactive.
    assert_eq!(client.revoke(&refresh).await.status(), 200);
    for token in [tokens.access_token.clone(), refresh] {
        let (status, body) = ask(token).await;
        assert_eq!((status, body), (200, json!({"active": false})));
    }
}

#[tokio::test]
async fn introspection_is_refused_to_public_and_unauthenticated_callers() {
    let s = setup().await;
    let key = client_key("k1");
    let id = s.confidential("/client-metadata.json", &[&key]);
    let client = confidential_client(&s.server, COOP_A, &id, REDIRECT, key);
    let tokens = client.sign_in(SCOPE, "alice.coop-a.test").await;
    let token = tokens.access_token.as_str();

    // No client at all.
    let got = status_json(introspect(&s.server, COOP_A, &[("token", token)]).await).await;
    assert_error(&got, 400, "invalid_client", "client authentication");

    // The confidential client's id without its assertion.
    let got =
        status_json(introspect(&s.server, COOP_A, &[("client_id", &id), ("token", token)]).await)
            .await;
    assert_error(&got, 400, "invalid_request", "private_key_jwt");

    // Public clients, discoverable and loopback.
    let public = s.public_web("/public.json", &[REDIRECT]);
    let loopback = loopback_client_id("atproto");
    for client_id in [public.as_str(), loopback.as_str()] {
        let got = status_json(
            introspect(
                &s.server,
                COOP_A,
                &[("client_id", client_id), ("token", token)],
            )
            .await,
        )
        .await;
        assert_error(&got, 400, "invalid_client", "confidential clients");
    }
}

/// Reference 2.13: the assertion must be signed by a key the client publishes, and name the
/// client as `iss` and `sub`; each failure is 400 `invalid_client`.
#[tokio::test]
async fn client_assertion_from_an_unpublished_key_or_naming_another_client_is_invalid_client() {
    let s = setup().await;
    let key = client_key("k1");
    let id = s.confidential("/client-metadata.json", &[&key]);
    let client = public_client(&s.server, COOP_A, &id, REDIRECT);
    let now = s.server.now();
    let send = |assertion: String| {
        let client = &client;
        async move {
            let fields = [
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", assertion.as_str()),
            ];
            status_json(client.par_with(&fields).await).await
        }
    };

    // Same kid, another key: the signature does not verify.
    let impostor = client_key("k1");
    let got = send(sign_assertion(
        &impostor,
        &assertion_claims(&id, COOP_A, now),
    ))
    .await;
    assert_error(&got, 400, "invalid_client", "signature");
    // A kid the client does not publish.
    let unknown = client_key("k9");
    let got = send(sign_assertion(
        &unknown,
        &assertion_claims(&id, COOP_A, now),
    ))
    .await;
    assert_error(&got, 400, "invalid_client", "kid");
    // iss / sub naming another client.
    for claim in ["iss", "sub"] {
        let mut claims = assertion_claims(&id, COOP_A, now);
        claims[claim] = json!("https://evil.test/client-metadata.json");
        let got = send(sign_assertion(&key, &claims)).await;
        assert_error(&got, 400, "invalid_client", claim);
    }
    // The assertion type must be the JWT bearer one.
    let assertion = sign_assertion(&key, &assertion_claims(&id, COOP_A, now));
    let fields = [
        ("client_assertion_type", "urn:example:other"),
        ("client_assertion", assertion.as_str()),
    ];
    let got = status_json(client.par_with(&fields).await).await;
    assert_error(&got, 400, "invalid_client", "client_assertion_type");
}

/// Reference 2.13: a public client (`none`) may not present a client assertion.
#[tokio::test]
async fn public_client_sending_a_client_assertion_is_invalid_client() {
    let s = setup().await;
    let key = client_key("k1");
    let id = s.public_web("/client-metadata.json", &[REDIRECT]);
    let client = confidential_client(&s.server, COOP_A, &id, REDIRECT, key);
    let got = par_error(&client, &[]).await;
    assert_error(&got, 400, "invalid_client", "public");
}

/// Profile 3.8: revocation authenticates the client (RFC 7009 section 2.1); without its
/// assertion a confidential client's revocation is refused and the session lives on.
#[tokio::test]
async fn revocation_by_a_confidential_client_requires_its_client_assertion() {
    let s = setup().await;
    let key = client_key("k1");
    let id = s.confidential("/client-metadata.json", &[&key]);
    let client = confidential_client(&s.server, COOP_A, &id, REDIRECT, key);
    let tokens = client.sign_in(SCOPE, "alice.coop-a.test").await;
    let refresh = tokens.refresh_token.clone().unwrap();
    let response = s
        .server
        .post_form(
            COOP_A,
            "/oauth/revoke",
            &[("client_id", id.as_str()), ("token", refresh.as_str())],
            None,
        )
        .await;
    let got = status_json(response).await;
    assert_error(&got, 400, "invalid_request", "private_key_jwt");
    let refreshed = client.refresh(&refresh).await;
    assert_eq!(refreshed.status(), 200, "the session was not revoked");
}

/// The consent page names the client by its `client_name`, HTML-escaped: the document is
/// written by whoever controls the client's host.
#[tokio::test]
async fn client_name_is_shown_escaped_on_the_consent_page() {
    let s = setup().await;
    let mut doc = public_web_document("SELF", &[REDIRECT]);
    doc["client_name"] = json!("<script>alert(1)</script> Evil & Co");
    let id = s.serve("/client-metadata.json", doc);
    let client = public_client(&s.server, COOP_A, &id, REDIRECT);
    let par = client.par(SCOPE, &[]).await;
    let mut browser = Browser::new(&s.server, COOP_A);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let page = browser
        .post(
            "/oauth/authorize/sign-in",
            &[
                ("csrf_token", &page.hidden("csrf_token")),
                ("request_uri", &par.request_uri),
                ("client_id", &id),
                ("identifier", "alice.coop-a.test"),
                ("password", PASSWORD),
                ("action", "sign_in"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("<script>alert(1)"), "{}", page.body);
    let escaped = ["&lt;script&gt;alert(1)", "&#60;script&#62;alert(1)"];
    assert!(
        escaped.iter().any(|e| page.body.contains(e)),
        "the name is not shown: {}",
        page.body
    );
}

/// Reference provider 2.10: the code is redeemed by the client key that authenticated at PAR;
/// another of the client's published keys gets `invalid_grant`.
#[tokio::test]
async fn code_is_redeemable_only_with_the_client_key_used_at_par() {
    let s = setup().await;
    let k1 = client_key("k1");
    let k2 = client_key("k2");
    let id = s.confidential("/client-metadata.json", &[&k1, &k2]);
    let mut client = confidential_client(&s.server, COOP_A, &id, REDIRECT, k1.clone());
    let (par, code) = client.authorize(SCOPE, "alice.coop-a.test").await;

    client.auth = Box::new({
        let (server, id, k2) = (&s.server, id.clone(), k2.clone());
        move || {
            assertion_fields(&sign_assertion(
                &k2,
                &assertion_claims(&id, COOP_A, server.now()),
            ))
        }
    });
    let got = status_json(client.exchange(&code, &par.verifier).await).await;
    assert_error(&got, 400, "invalid_grant", "another key");
}
