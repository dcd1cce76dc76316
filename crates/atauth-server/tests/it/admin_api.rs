//! The admin API (`/admin/v1`) on its own listener: every route, authentication (401/403/404),
//! the cross-cooperative matrix, and the effects of admin changes on the public endpoints.

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::net::SocketAddr;

const SCOPE: &str = "atproto transition:generic";

/// A caller of the admin API with one bearer token (or none).
struct Admin {
    http: reqwest::Client,
    addr: SocketAddr,
    token: Option<String>,
}

impl Admin {
    fn new(addr: SocketAddr, token: Option<&str>) -> Self {
        Self {
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
            addr,
            token: token.map(str::to_string),
        }
    }

    fn operator(addr: SocketAddr) -> Self {
        Self::new(addr, Some(OPERATOR_TOKEN))
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("http://{}{path}", self.addr));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("admin request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, value)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (u16, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Mints an admin token of the cooperative at `host` (as the operator).
    async fn mint_token(addr: SocketAddr, host: &str) -> String {
        let (status, body) = Self::operator(addr)
            .post(
                &format!("/admin/v1/tenants/{host}/tokens"),
                json!({"label": "tests"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().expect("token").to_string()
    }
}

fn assert_error(status: u16, body: &Value, want_status: u16, want_error: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"], want_error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
}

/// `field` of each object of a JSON array, in order.
fn field_of_each(list: &Value, field: &str) -> Vec<String> {
    let items = list.as_array().expect("array");
    items
        .iter()
        .map(|item| item[field].as_str().expect("string field").to_string())
        .collect()
}

/// The admin view of the sessions of `host` (as the operator).
async fn sessions(admin: &Admin, host: &str, query: &str) -> Vec<Value> {
    let (status, body) = admin
        .get(&format!("/admin/v1/tenants/{host}/sessions{query}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body.as_array().expect("array").clone()
}

#[tokio::test]
async fn openapi_document_lists_every_route_with_bearer_auth() {
    let (_server, addr) = TestServer::start_with_admin().await;
    // Served without credentials: it describes the API, no data.
    let (status, doc) = Admin::new(addr, None).get("/admin/v1/openapi.json").await;
    assert_eq!(status, 200, "{doc}");
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3."));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"][0]["bearerAuth"], json!([]));
    let routes = [
        ("get", "/admin/v1/tenants"),
        ("post", "/admin/v1/tenants"),
        ("get", "/admin/v1/tenants/{tenant}"),
        ("patch", "/admin/v1/tenants/{tenant}"),
        ("post", "/admin/v1/tenants/{tenant}/disable"),
        ("post", "/admin/v1/tenants/{tenant}/enable"),
        ("get", "/admin/v1/tenants/{tenant}/tokens"),
        ("post", "/admin/v1/tenants/{tenant}/tokens"),
        ("delete", "/admin/v1/tenants/{tenant}/tokens/{id}"),
        ("get", "/admin/v1/tenants/{tenant}/accounts"),
        ("post", "/admin/v1/tenants/{tenant}/accounts"),
        ("get", "/admin/v1/tenants/{tenant}/accounts/{id}"),
        ("patch", "/admin/v1/tenants/{tenant}/accounts/{id}"),
        ("post", "/admin/v1/tenants/{tenant}/accounts/{id}/password"),
        ("get", "/admin/v1/tenants/{tenant}/sessions"),
        ("post", "/admin/v1/tenants/{tenant}/sessions/revoke"),
        ("delete", "/admin/v1/tenants/{tenant}/sessions/{id}"),
        ("get", "/admin/v1/tenants/{tenant}/keys"),
        ("post", "/admin/v1/tenants/{tenant}/keys/rotate"),
    ];
    let paths = doc["paths"].as_object().expect("paths");
    let documented: usize = paths
        .values()
        .map(|p| p.as_object().map_or(0, |ops| ops.len()))
        .sum();
    assert_eq!(documented, routes.len(), "{:?}", paths.keys());
    for (method, path) in routes {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert!(op["responses"].is_object(), "{method} {path}");
    }
    // Every documented route is really served: answered 401 without a token, never 404/405.
    let anonymous = Admin::new(addr, None);
    for (method, path) in routes {
        let concrete = path.replace("{tenant}", COOP_A).replace("{id}", "some-id");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let (status, body) = anonymous.call(method.clone(), &concrete, None).await;
        assert_error(status, &body, 401, "invalid_token");
    }
}

#[tokio::test]
async fn admin_api_is_not_on_the_public_listener() {
    let (server, addr) = TestServer::start_with_admin().await;
    for path in ["/admin/v1/tenants", "/admin/v1/openapi.json"] {
        let response = server
            .get(COOP_A, path)
            .bearer_auth(OPERATOR_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    // ... and the admin listener does not serve the OAuth endpoints.
    let (status, body) = Admin::operator(addr)
        .get("/.well-known/oauth-authorization-server")
        .await;
    assert_error(status, &body, 404, "not_found");
}

#[tokio::test]
async fn missing_or_wrong_credentials_are_401_with_a_bearer_challenge() {
    let (_server, addr) = TestServer::start_with_admin().await;
    let url = format!("http://{addr}/admin/v1/tenants");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let cases: [Option<String>; 5] = [
        None,
        Some("Bearer wrong-token".into()),
        Some(format!("Basic {OPERATOR_TOKEN}")),
        Some("Bearer ".into()),
        Some(format!("Bearer {OPERATOR_TOKEN}x")),
    ];
    for header in cases {
        let mut request = http.get(&url);
        if let Some(h) = &header {
            request = request.header("authorization", h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{header:?}");
        let challenge = header_of(&response, "www-authenticate");
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_token");
    }
    // The scheme is case-insensitive (RFC 7235 section 2.1).
    let response = http
        .get(&url)
        .header("authorization", format!("bearer {OPERATOR_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn operator_creates_reads_and_updates_cooperatives() {
    let (_server, addr) = TestServer::start_with_admin().await;
    let admin = Admin::operator(addr);

    let (status, created) = admin
        .post(
            "/admin/v1/tenants",
            json!({"issuer": "https://coop-c.test", "name": "Cooperative C"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["host"], "coop-c.test");
    assert_eq!(created["resource_server"], "https://coop-c.test");
    assert_eq!(created["disabled"], false);
    assert_eq!(created["policies"]["access_token_lifetime_secs"], 900);

    let (status, body) = admin
        .post(
            "/admin/v1/tenants",
            json!({"issuer": "https://coop-c.test", "name": "Again"}),
        )
        .await;
    assert_error(status, &body, 409, "conflict");
    for bad in [
        json!({"issuer": "http://coop-d.test", "name": "D"}),
        json!({"issuer": "https://coop-d.test/path", "name": "D"}),
        json!({"issuer": "https://coop-d.test", "name": ""}),
        json!({"issuer": "https://coop-d.test"}),
        json!({"issuer": "https://coop-d.test", "name": "D", "extra": 1}),
    ] {
        let (status, body) = admin.post("/admin/v1/tenants", bad.clone()).await;
        assert_error(status, &body, 400, "invalid_request");
    }
    let (status, body) = admin.get("/admin/v1/tenants").await;
    assert_eq!(status, 200);
    let hosts = field_of_each(&body, "host");
    assert_eq!(hosts, ["coop-a.test", "coop-b.test", "coop-c.test"]);

    let (status, body) = admin
        .patch(
            "/admin/v1/tenants/coop-c.test",
            json!({
                "name": "Co-op C",
                "branding": {"accent_color": "#aa3300", "logo_url": "https://coop-c.test/logo.png"},
                "policies": {"access_token_lifetime_secs": 600}
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Co-op C");
    assert_eq!(body["branding"]["accent_color"], "#aa3300");
    assert_eq!(body["policies"]["access_token_lifetime_secs"], 600);
    let (_, read) = admin.get("/admin/v1/tenants/coop-c.test").await;
    assert_eq!(read, body);

    for bad in [
        json!({"policies": {"access_token_lifetime_secs": 1801}}),
        json!({"policies": {"access_token_lifetime_secs": 10}}),
        json!({"policies": {"unknown": true}}),
        json!({"branding": {"logo_url": "http://coop-c.test/logo.png"}}),
        json!({"branding": {"accent_color": "red"}}),
        json!({"name": "  "}),
    ] {
        let (status, body) = admin
            .patch("/admin/v1/tenants/coop-c.test", bad.clone())
            .await;
        assert_error(status, &body, 400, "invalid_request");
    }
    let (_, unchanged) = admin.get("/admin/v1/tenants/coop-c.test").await;
    assert_eq!(unchanged, body);

    let (status, body) = admin.get("/admin/v1/tenants/nowhere.test").await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = admin
        .call(Method::PATCH, "/admin/v1/tenants/coop-c.test", None)
        .await;
    assert_error(status, &body, 400, "invalid_request");
}

#[tokio::test]
async fn an_unreadable_path_is_answered_in_the_api_format() {
    let (_server, addr) = TestServer::start_with_admin().await;
    let admin = Admin::operator(addr);
    // %FF is not UTF-8: the path segment cannot be decoded into the cooperative's name.
    for path in [
        "/admin/v1/tenants/%FF",
        "/admin/v1/tenants/%FF/accounts",
        "/admin/v1/tenants/coop-a.test/accounts/%FF",
    ] {
        let (status, body) = admin.get(path).await;
        assert_error(status, &body, 400, "invalid_request");
    }
}

#[tokio::test]
async fn policies_and_name_take_effect_on_the_public_endpoints() {
    let (server, addr) = TestServer::start_with_admin().await;
    let admin = Admin::operator(addr);
    let client = TestClient::loopback(&server, COOP_A);
    let before = client.sign_in(SCOPE, "alice.coop-a.test").await;
    assert_eq!(before.body["expires_in"], 900);

    let (status, body) = admin
        .patch(
            "/admin/v1/tenants/coop-a.test",
            json!({
                "name": "Renamed Cooperative",
                "policies": {"access_token_lifetime_secs": 300, "public_session_lifetime_secs": 7200},
                "branding": {"accent_color": "#aa3300", "logo_url": "https://coop-a.test/logo.png"},
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let after = client.sign_in(SCOPE, "alice.coop-a.test").await;
    assert_eq!(after.body["expires_in"], 300);
    let (_, claims) = jwt_parts(&after.access_token);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    // A public client's session now ends after two hours: the refresh token dies with it.
    let refresh_token = after.body["refresh_token"].as_str().unwrap().to_string();
    server.clock.advance(7200 - 60);
    let refreshed = client.refresh(&refresh_token).await;
    assert_eq!(refreshed.status(), 200);
    let refreshed: Value = refreshed.json().await.unwrap();
    server.clock.advance(61);
    let late = client
        .refresh(refreshed["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(late.status(), 400);
    // The other cooperative keeps the default.
    let other = TestClient::loopback(&server, COOP_B)
        .sign_in(SCOPE, "bob.coop-b.test")
        .await;
    assert_eq!(other.body["expires_in"], 900);

    let par = client.par(SCOPE, &[]).await;
    let mut browser = Browser::new(&server, COOP_A);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Renamed Cooperative"), "{}", page.body);
    // The branding reaches the member pages through the cooperative's own stylesheet.
    assert!(page.body.contains("/assets/branding.css"), "{}", page.body);
    let css = browser.get("/assets/branding.css").await;
    assert_eq!(css.status, 200);
    assert!(css.body.contains("--accent: #aa3300;"), "{}", css.body);
    assert!(
        css.body.contains("url(\"https://coop-a.test/logo.png\")"),
        "{}",
        css.body
    );
    let other_css = Browser::new(&server, COOP_B)
        .get("/assets/branding.css")
        .await;
    assert_eq!(other_css.status, 200);
    assert!(!other_css.body.contains("aa3300"), "{}", other_css.body);
}

#[tokio::test]
async fn a_disabled_cooperative_is_not_served_until_enabled() {
    let (server, addr) = TestServer::start_with_admin().await;
    let admin = Admin::operator(addr);
    let metadata = "/.well-known/oauth-authorization-server";
    // Loaded (and cached) first.
    assert_eq!(
        server.get(COOP_B, metadata).send().await.unwrap().status(),
        200
    );

    let tenant_b_token = Admin::mint_token(addr, COOP_B).await;
    let (status, body) = Admin::new(addr, Some(&tenant_b_token))
        .post("/admin/v1/tenants/coop-b.test/disable", json!({}))
        .await;
    assert_error(status, &body, 403, "insufficient_scope");

    let (status, body) = admin
        .post("/admin/v1/tenants/coop-b.test/disable", json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["disabled"], true);
    assert_eq!(
        server.get(COOP_B, metadata).send().await.unwrap().status(),
        404
    );
    assert_eq!(
        server.get(COOP_A, metadata).send().await.unwrap().status(),
        200
    );
    // Still administrable while disabled.
    let (status, body) = admin.get("/admin/v1/tenants/coop-b.test").await;
    assert_eq!((status, body["disabled"].clone()), (200, json!(true)));

    let (status, body) = admin
        .post("/admin/v1/tenants/coop-b.test/enable", json!({}))
        .await;
    assert_eq!((status, body["disabled"].clone()), (200, json!(false)));
    assert_eq!(
        server.get(COOP_B, metadata).send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn accounts_are_created_listed_and_given_external_dids() {
    let (server, addr) = TestServer::start_with_admin().await;
    let admin = Admin::operator(addr);
    let base = "/admin/v1/tenants/coop-a.test/accounts";

    let (status, carol) = admin
        .post(
            base,
            json!({"handle": "carol.coop-a.test", "email": "carol@coop-a.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "{carol}");
    assert_eq!(carol["did"], "did:web:carol.coop-a.test");
    assert!(carol.get("password_hash").is_none());
    let id = carol["id"].as_str().unwrap();

    let (status, list) = admin.get(base).await;
    assert_eq!(status, 200);
    // Creation order; accounts created in the same second in id order.
    let mut handles = field_of_each(&list, "handle");
    handles.sort();
    assert_eq!(handles, ["alice.coop-a.test", "carol.coop-a.test"]);
    let (status, read) = admin.get(&format!("{base}/{id}")).await;
    assert_eq!((status, &read), (200, &carol));

    let (status, body) = admin
        .post(
            base,
            json!({"handle": "carol.coop-a.test", "password": PASSWORD}),
        )
        .await;
    assert_error(status, &body, 409, "conflict");
    for bad in [
        json!({"handle": "not a handle", "password": PASSWORD}),
        json!({"handle": "dave.coop-a.test", "password": "short"}),
        json!({"handle": "dave.coop-a.test", "password": PASSWORD, "did": "did:plc:short"}),
        json!({"handle": "dave.coop-a.test", "password": PASSWORD, "email": "nope"}),
    ] {
        let (status, body) = admin.post(base, bad.clone()).await;
        assert_error(status, &body, 400, "invalid_request");
    }

    // Attach an external DID: did:plc, or a did:web this server does not host.
    let plc = "did:plc:abcdefghijklmnopqrstuvwx";
    let (status, body) = admin
        .patch(&format!("{base}/{id}"), json!({"did": plc}))
        .await;
    assert_eq!((status, body["did"].clone()), (200, json!(plc)), "{body}");
    let (status, body) = admin
        .patch(
            &format!("{base}/{id}"),
            json!({"did": "did:web:carol.example.org"}),
        )
        .await;
    assert_eq!(
        (status, body["did"].clone()),
        (200, json!("did:web:carol.example.org"))
    );
    for bad in [
        "did:web:alice.coop-a.test", // hosted here
        "did:web:coop-b.test",       // a cooperative's issuer host
        "did:plc:ABCDEFGHIJKLMNOPQRSTUVWX",
        "did:key:z6Mk",
        "carol",
    ] {
        let (status, body) = admin
            .patch(&format!("{base}/{id}"), json!({"did": bad}))
            .await;
        assert_error(status, &body, 400, "invalid_request");
    }
    // Unique per cooperative.
    let (status, body) = admin
        .patch(
            &format!("{base}/{}", server.alice.id),
            json!({"did": "did:web:carol.example.org"}),
        )
        .await;
    assert_error(status, &body, 409, "conflict");
    let (status, body) = admin.get(&format!("{base}/unknown-id")).await;
    assert_error(status, &body, 404, "not_found");
}

#[tokio::test]
async fn a_disabled_account_can_neither_sign_in_nor_refresh() {
    let (server, addr) = TestServer::start_with_admin().await;
    let admin = Admin::operator(addr);
    let account = format!("/admin/v1/tenants/coop-a.test/accounts/{}", server.alice.id);
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in(SCOPE, "alice.coop-a.test").await;

    let (status, body) = admin.patch(&account, json!({"disabled": true})).await;
    assert_eq!(
        (status, body["disabled"].clone()),
        (200, json!(true)),
        "{body}"
    );
    let refresh = client
        .refresh(tokens.refresh_token.as_deref().unwrap())
        .await;
    expect_error(refresh, 400, "invalid_grant").await;
    assert_eq!(client.get_session(&tokens.access_token).await.status(), 401);

    let par = client.par(SCOPE, &[]).await;
    let mut browser = Browser::new(&server, COOP_A);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    let page = browser
        .submit_sign_in(&page, "alice.coop-a.test", PASSWORD)
        .await;
    assert!(!page.body.contains("Allow"), "{}", page.body);
    assert!(page.location.is_none());

    let (status, body) = admin.patch(&account, json!({"disabled": false})).await;
    assert_eq!((status, body["disabled"].clone()), (200, json!(false)));
    client.sign_in(SCOPE, "alice.coop-a.test").await;
}

/// Refused by the password rule (`password_policy`): too short, common, or made of the
/// cooperative's name (each test adds the member's own handle, and too long).
const WEAK_PASSWORDS: [&str; 3] = ["short", "password1", "cooperative a1"];

/// A 400 that says why: `zxcvbn` rates the password guessable.
#[track_caller]
fn assert_too_guessable(status: u16, body: &Value) {
    assert_error(status, body, 400, "invalid_request");
    let reason = body["error_description"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("the password is too easy to guess"),
        "{body}"
    );
}

#[tokio::test]
async fn weak_passwords_are_refused_at_creation_and_nothing_is_created() {
    let (_server, addr) = TestServer::start_with_admin().await;
    let admin = Admin::operator(addr);
    let base = "/admin/v1/tenants/coop-a.test/accounts";

    let too_long = "x".repeat(1025);
    let own_handle = "carol.coop-a.test";
    for weak in WEAK_PASSWORDS.into_iter().chain([own_handle, &too_long]) {
        let (status, body) = admin
            .post(
                base,
                json!({"handle": "carol.coop-a.test", "email": "carol@coop-a.test", "password": weak}),
            )
            .await;
        assert_error(status, &body, 400, "invalid_request");
        let reason = body["error_description"].as_str().unwrap_or_default();
        assert!(reason.contains("password"), "{weak}: {reason}");
    }
    let (status, body) = admin
        .post(
            base,
            json!({"handle": "carol.coop-a.test", "password": "password1"}),
        )
        .await;
    assert_too_guessable(status, &body);

    let (status, list) = admin.get(base).await;
    assert_eq!(status, 200);
    let handles = field_of_each(&list, "handle");
    assert_eq!(handles, ["alice.coop-a.test"]);
}

#[tokio::test]
async fn weak_passwords_are_refused_at_reset_and_nothing_changes() {
    let (server, addr) = TestServer::start_with_admin().await;
    let admin = Admin::operator(addr);
    let client = TestClient::loopback(&server, COOP_A);
    client.sign_in(SCOPE, "alice.coop-a.test").await;
    let path = format!(
        "/admin/v1/tenants/coop-a.test/accounts/{}/password",
        server.alice.id
    );

    let too_long = "x".repeat(1025);
    let own_handle = "alice.coop-a.test";
    for weak in WEAK_PASSWORDS.into_iter().chain([own_handle, &too_long]) {
        let (status, body) = admin.post(&path, json!({"password": weak})).await;
        assert_error(status, &body, 400, "invalid_request");
    }
    let (status, body) = admin.post(&path, json!({"password": "12345678"})).await;
    assert_too_guessable(status, &body);

    // The session lives on and the old password still signs in.
    let listed = sessions(&admin, COOP_A, "").await;
    assert!(
        !listed.is_empty() && listed.iter().all(|s| s["revoked_at"].is_null()),
        "{listed:?}"
    );
    client.sign_in(SCOPE, "alice.coop-a.test").await;
}

#[tokio::test]
async fn a_password_reset_ends_the_sessions() {
    let (server, addr) = TestServer::start_with_admin().await;
    let admin = Admin::operator(addr);
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in(SCOPE, "alice.coop-a.test").await;
    let path = format!(
        "/admin/v1/tenants/coop-a.test/accounts/{}/password",
        server.alice.id
    );

    let (status, body) = admin.post(&path, json!({"password": "short"})).await;
    assert_error(status, &body, 400, "invalid_request");
    let (status, _) = admin
        .post(&path, json!({"password": "a brand new password"}))
        .await;
    assert_eq!(status, 204);
    let refresh = client
        .refresh(tokens.refresh_token.as_deref().unwrap())
        .await;
    expect_error(refresh, 400, "invalid_grant").await;
    let listed = sessions(&admin, COOP_A, "").await;
    assert!(
        listed.iter().all(|s| s["revoked_at"].is_i64()),
        "{listed:?}"
    );

    // The old password no longer signs in; the new one does.
    let par = client.par(SCOPE, &[]).await;
    let mut browser = Browser::new(&server, COOP_A);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    let page = browser
        .submit_sign_in(&page, "alice.coop-a.test", PASSWORD)
        .await;
    assert!(!page.body.contains("Allow"), "{}", page.body);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    let page = browser
        .submit_sign_in(&page, "alice.coop-a.test", "a brand new password")
        .await;
    assert!(page.body.contains("Allow"), "{}", page.body);
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_by_client_account_or_id() {
    let (server, addr) = TestServer::start_with_admin().await;
    let admin = Admin::operator(addr);
    let first = TestClient::loopback(&server, COOP_A);
    let second = TestClient::loopback_with_scope(&server, COOP_A, "atproto");
    let t1 = first.sign_in(SCOPE, "alice.coop-a.test").await;
    let t2 = second.sign_in("atproto", "alice.coop-a.test").await;
    let t3 = first.sign_in(SCOPE, "alice.coop-a.test").await;

    assert_eq!(sessions(&admin, COOP_A, "").await.len(), 3);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client", &second.client_id)
        .finish();
    let of_second = sessions(&admin, COOP_A, &format!("?{query}")).await;
    assert_eq!(of_second.len(), 1);
    assert_eq!(of_second[0]["client_id"], second.client_id.as_str());
    let of_alice = sessions(&admin, COOP_A, &format!("?account={}", server.alice.id)).await;
    assert_eq!(of_alice.len(), 3);
    assert!(sessions(&admin, COOP_A, "?account=nobody").await.is_empty());
    for bad in ["?user=x", "?account=a&account=b"] {
        let (status, body) = admin
            .get(&format!("/admin/v1/tenants/coop-a.test/sessions{bad}"))
            .await;
        assert_error(status, &body, 400, "invalid_request");
    }

    let revoke = "/admin/v1/tenants/coop-a.test/sessions/revoke";
    let (status, body) = admin.post(revoke, json!({})).await;
    assert_error(status, &body, 400, "invalid_request");
    let (status, body) = admin
        .post(revoke, json!({"client": second.client_id}))
        .await;
    assert_eq!((status, body), (200, json!({"revoked": 1})));
    expect_error(
        second.refresh(t2.refresh_token.as_deref().unwrap()).await,
        400,
        "invalid_grant",
    )
    .await;
    let refreshed = first.refresh(t1.refresh_token.as_deref().unwrap()).await;
    assert_eq!(refreshed.status(), 200);

    // One session by id (the access token's `sid`).
    let newest = jwt_parts(&t3.access_token).1["sid"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = admin
        .delete(&format!("/admin/v1/tenants/coop-a.test/sessions/{newest}"))
        .await;
    assert_eq!(status, 204);
    expect_error(
        first.refresh(t3.refresh_token.as_deref().unwrap()).await,
        400,
        "invalid_grant",
    )
    .await;
    let (status, body) = admin
        .delete("/admin/v1/tenants/coop-a.test/sessions/unknown")
        .await;
    assert_error(status, &body, 404, "not_found");

    let (status, body) = admin
        .post(revoke, json!({"account": server.alice.id}))
        .await;
    assert_eq!((status, body), (200, json!({"revoked": 1})));
}

#[tokio::test]
async fn signing_keys_are_listed_and_rotated() {
    let (server, addr) = TestServer::start_with_admin().await;
    let admin = Admin::operator(addr);
    let (status, keys) = admin.get("/admin/v1/tenants/coop-a.test/keys").await;
    assert_eq!(status, 200, "{keys}");
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["state"], "active");
    assert_eq!(keys[0]["alg"], "ES256");

    let (status, key) = admin
        .post(
            "/admin/v1/tenants/coop-a.test/keys/rotate",
            json!({"activation_delay_secs": 0}),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let (_, keys) = admin.get("/admin/v1/tenants/coop-a.test/keys").await;
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert_eq!(keys[0]["kid"], key["kid"]);
    // The public JWKS shows the new key at once (cache refreshed).
    let jwks: Value = server
        .get(COOP_A, "/oauth/jwks")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<_> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    assert!(kids.contains(&key["kid"]), "{jwks}");

    let (status, body) = admin
        .post(
            "/admin/v1/tenants/coop-a.test/keys/rotate",
            json!({"activation_delay_secs": -1}),
        )
        .await;
    assert_error(status, &body, 400, "invalid_request");
    // Other cooperative untouched.
    let (_, keys_b) = admin.get("/admin/v1/tenants/coop-b.test/keys").await;
    assert_eq!(keys_b.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn admin_tokens_are_shown_once_stored_hashed_and_deletable() {
    let (_server, addr) = TestServer::start_with_admin().await;
    let admin = Admin::operator(addr);
    let (status, created) = admin
        .post(
            "/admin/v1/tenants/coop-a.test/tokens",
            json!({"label": "ops"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap();
    assert!(token.starts_with("atadm_") && token.len() > 40, "{token}");
    let (status, list) = admin.get("/admin/v1/tenants/coop-a.test/tokens").await;
    assert_eq!(status, 200);
    assert_eq!(
        list,
        json!([{"id": created["id"], "label": "ops", "created_at": created["created_at"]}])
    );
    assert!(!list.to_string().contains(token));

    let tenant_admin = Admin::new(addr, Some(token));
    assert_eq!(
        tenant_admin.get("/admin/v1/tenants/coop-a.test").await.0,
        200
    );
    let (status, _) = admin
        .delete(&format!(
            "/admin/v1/tenants/coop-a.test/tokens/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 204);
    let (status, body) = tenant_admin.get("/admin/v1/tenants/coop-a.test").await;
    assert_error(status, &body, 401, "invalid_token");
    let (status, body) = admin
        .delete("/admin/v1/tenants/coop-a.test/tokens/unknown")
        .await;
    assert_error(status, &body, 404, "not_found");
}

/// A disabled cooperative's admin tokens open nothing (issue 11): they are answered like a
/// deleted token (401), the operator's token keeps working, and enabling the cooperative
/// again restores them.
#[tokio::test]
async fn a_disabled_cooperatives_admin_tokens_are_refused_until_it_is_enabled() {
    let (_server, addr) = TestServer::start_with_admin().await;
    let operator = Admin::operator(addr);
    let tenant_admin = Admin::new(addr, Some(&Admin::mint_token(addr, COOP_A).await));
    let accounts = "/admin/v1/tenants/coop-a.test/accounts";
    let new_account = |handle: &str| json!({"handle": handle, "password": PASSWORD});
    assert_eq!(tenant_admin.get(accounts).await.0, 200);

    let (status, body) = operator
        .post("/admin/v1/tenants/coop-a.test/disable", json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = tenant_admin.get(accounts).await;
    assert_error(status, &body, 401, "invalid_token");
    let (status, body) = tenant_admin
        .post(accounts, new_account("mallory.coop-a.test"))
        .await;
    assert_error(status, &body, 401, "invalid_token");
    let (status, body) = tenant_admin.get("/admin/v1/tenants").await;
    assert_error(status, &body, 401, "invalid_token");
    // Nothing was created; the operator still reads and changes the cooperative.
    let (status, list) = operator.get(accounts).await;
    assert_eq!(status, 200, "{list}");
    assert!(!list.to_string().contains("mallory"), "{list}");
    let (status, body) = operator
        .post("/admin/v1/tenants/coop-a.test/enable", json!({}))
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, list) = tenant_admin.get(accounts).await;
    assert_eq!(status, 200, "{list}");
    let (status, body) = tenant_admin
        .post(accounts, new_account("carol.coop-a.test"))
        .await;
    assert_eq!(status, 201, "{body}");
}

/// Data of cooperative A (an account with a live session) against B's admin token and B's
/// paths: every read and change is refused, and A's data stays as it was.
#[tokio::test]
async fn no_admin_call_crosses_cooperatives() {
    let (server, addr) = TestServer::start_with_admin().await;
    let operator = Admin::operator(addr);
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in(SCOPE, "alice.coop-a.test").await;
    let alice = server.alice.id.clone();
    let session_a = sessions(&operator, COOP_A, "").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b_admin = Admin::new(addr, Some(&Admin::mint_token(addr, COOP_B).await));

    // B's token on A's paths (and on paths of cooperatives that do not exist): 403.
    let a = "/admin/v1/tenants/coop-a.test";
    let forbidden: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, a.to_string(), None),
        (Method::PATCH, a.to_string(), Some(json!({"name": "Taken"}))),
        (Method::POST, format!("{a}/disable"), Some(json!({}))),
        (Method::POST, format!("{a}/tokens"), Some(json!({}))),
        (Method::GET, format!("{a}/tokens"), None),
        (Method::GET, format!("{a}/accounts"), None),
        (
            Method::POST,
            format!("{a}/accounts"),
            Some(json!({"handle": "eve.coop-a.test", "password": PASSWORD})),
        ),
        (Method::GET, format!("{a}/accounts/{alice}"), None),
        (
            Method::PATCH,
            format!("{a}/accounts/{alice}"),
            Some(json!({"disabled": true})),
        ),
        (
            Method::POST,
            format!("{a}/accounts/{alice}/password"),
            Some(json!({"password": "hijacked password"})),
        ),
        (Method::GET, format!("{a}/sessions"), None),
        (
            Method::POST,
            format!("{a}/sessions/revoke"),
            Some(json!({"account": alice})),
        ),
        (Method::DELETE, format!("{a}/sessions/{session_a}"), None),
        (Method::GET, format!("{a}/keys"), None),
        (Method::POST, format!("{a}/keys/rotate"), Some(json!({}))),
        (
            Method::GET,
            "/admin/v1/tenants/nowhere.test".to_string(),
            None,
        ),
        (
            Method::POST,
            "/admin/v1/tenants".to_string(),
            Some(json!({"issuer": "https://coop-x.test", "name": "X"})),
        ),
    ];
    for (method, path, body) in forbidden {
        let (status, answer) = b_admin.call(method.clone(), &path, body).await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
        assert_eq!(answer["error"], "insufficient_scope");
    }
    // B's token lists B only.
    let (_, listed) = b_admin.get("/admin/v1/tenants").await;
    let hosts: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["host"].clone())
        .collect();
    assert_eq!(hosts, [json!(COOP_B)]);

    // A's ids under B's path, with B's token and with the operator's: 404, as if unknown.
    let b = "/admin/v1/tenants/coop-b.test";
    for caller in [&b_admin, &operator] {
        let not_found: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, format!("{b}/accounts/{alice}"), None),
            (
                Method::PATCH,
                format!("{b}/accounts/{alice}"),
                Some(json!({"disabled": true})),
            ),
            (
                Method::PATCH,
                format!("{b}/accounts/{alice}"),
                Some(json!({"did": "did:plc:abcdefghijklmnopqrstuvwx"})),
            ),
            (
                Method::POST,
                format!("{b}/accounts/{alice}/password"),
                Some(json!({"password": "hijacked password"})),
            ),
            (Method::DELETE, format!("{b}/sessions/{session_a}"), None),
        ];
        for (method, path, body) in not_found {
            let (status, answer) = caller.call(method.clone(), &path, body).await;
            assert_eq!(status, 404, "{method} {path}: {answer}");
            assert_eq!(answer["error"], "not_found");
        }
        let (status, answer) = caller
            .post(&format!("{b}/sessions/revoke"), json!({"account": alice}))
            .await;
        assert_eq!((status, answer), (200, json!({"revoked": 0})));
        let listed = sessions(caller, COOP_B, &format!("?account={alice}")).await;
        assert!(listed.is_empty());
        let (_, accounts) = caller.get(&format!("{b}/accounts")).await;
        assert!(!accounts.to_string().contains(&alice), "{accounts}");
    }

    // A is unchanged: alice enabled with her DID, her session alive, her password unchanged.
    let (_, read) = operator.get(&format!("{a}/accounts/{alice}")).await;
    assert_eq!(read["disabled"], false);
    assert_eq!(read["did"], server.alice.did.as_str());
    let (_, tenant_a) = operator.get(a).await;
    assert_eq!(tenant_a["name"], "Cooperative A");
    assert_eq!(tenant_a["disabled"], false);
    assert!(sessions(&operator, COOP_A, "").await[0]["revoked_at"].is_null());
    let refreshed = client
        .refresh(tokens.refresh_token.as_deref().unwrap())
        .await;
    assert_eq!(refreshed.status(), 200);
    client.sign_in(SCOPE, "alice.coop-a.test").await;
}
