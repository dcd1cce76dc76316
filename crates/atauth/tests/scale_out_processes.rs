//! Two `atauth serve` processes over one PostgreSQL database and one Redis, as behind a load
//! balancer: one flow hops between them (PAR at A, sign-in and consent at B, token at A,
//! refresh at B, revoke at A, refresh after revoke refused at B), a DPoP nonce issued by one is
//! accepted by the other, a DPoP proof used at one is a replay at the other. Each process's
//! `/metrics` counts what it served, and neither its metrics nor its debug logs contain a
//! token, code, password or proof.
//!
//! Needs `ATAUTH_TEST_POSTGRES_URL` and `ATAUTH_TEST_REDIS_URL` (`scripts/with-services`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and processes, on real time, with real keys"
)]

mod support;

use atauth_test_support::browser::{http_client, redirect_params, Browser};
use atauth_test_support::oauth::{loopback_client_id, pkce, DpopKey};
use atauth_test_support::postgres::PgTestDatabase;
use atauth_test_support::services::service_url;
use serde_json::Value;
use std::sync::Mutex;
use support::{run_ok, ServedProcess};

const HOST: &str = "coop-a.test";
const ISSUER: &str = "https://coop-a.test";
const HANDLE: &str = "alice.coop-a.test";
const SCOPE: &str = "atproto transition:generic";
const PASSWORD: &str = "correct horse battery";
const LOOPBACK_REDIRECT: &str = "http://127.0.0.1/callback";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64
}

/// A loopback client with its DPoP key; remembers every proof it sent.
struct Client {
    http: reqwest::Client,
    client_id: String,
    dpop: DpopKey,
    proofs: Mutex<Vec<String>>,
}

impl Client {
    fn new() -> Self {
        Self {
            http: http_client(),
            client_id: loopback_client_id(LOOPBACK_REDIRECT, SCOPE),
            dpop: DpopKey::new(),
            proofs: Mutex::default(),
        }
    }

    /// A fresh proof for `POST {path}`, with the last nonce any process handed out.
    fn proof(&self, path: &str) -> String {
        let proof = self
            .dpop
            .proof("POST", &format!("{ISSUER}{path}"), now(), None);
        self.proofs.lock().expect("proofs").push(proof.clone());
        proof
    }

    /// POSTs `form` to `path` at `at` with exactly this proof; remembers the answer's nonce.
    async fn post_with(
        &self,
        at: &ServedProcess,
        path: &str,
        form: &[(&str, &str)],
        proof: String,
    ) -> (u16, Value) {
        let response = self
            .http
            .post(at.url(path))
            .header("host", HOST)
            .header("dpop", proof)
            .form(form)
            .send()
            .await
            .expect("request");
        self.dpop.remember_nonce(&response);
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// POSTs with a fresh proof, retrying once on `use_dpop_nonce` as real clients do.
    async fn post(&self, at: &ServedProcess, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        for _ in 0..2 {
            let (status, body) = self.post_with(at, path, form, self.proof(path)).await;
            if status == 400 && body["error"] == "use_dpop_nonce" {
                continue;
            }
            return (status, body);
        }
        panic!("{path}: the server kept asking for a new DPoP nonce");
    }

    fn authorize_path(&self, request_uri: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("request_uri", request_uri)
            .finish();
        format!("/oauth/authorize?{query}")
    }
}

/// `form` with another `code_challenge`.
fn with_challenge<'a>(form: &[(&'a str, &'a str)], challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<_> = form
        .iter()
        .filter(|(k, _)| *k != "code_challenge")
        .copied()
        .collect();
    form.push(("code_challenge", challenge));
    form
}

async fn scrape(at: &ServedProcess) -> String {
    let addr = at.metrics_addr.expect("--metrics-listen address");
    let response = http_client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), 200);
    response.text().await.expect("metrics")
}

/// The value of the sample `name{labels}` in a scrape, if present.
fn sample(metrics: &str, name_and_labels: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        line.strip_prefix(name_and_labels)
            .and_then(|rest| rest.trim().parse().ok())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_alternates_between_two_processes_sharing_postgres_and_redis() {
    let Some(admin) = service_url("ATAUTH_TEST_POSTGRES_URL") else {
        return;
    };
    let Some(redis) = service_url("ATAUTH_TEST_REDIS_URL") else {
        return;
    };
    let db = PgTestDatabase::create(&admin).await;
    // Migrated here first, so that its cooperatives get ids of their own in the shared Redis.
    let store = atauth_store::postgres::PostgresStore::connect(&db.url)
        .await
        .expect("postgres");
    atauth_store::Store::close(&store).await;
    db.separate_tenant_ids().await;
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().to_str().expect("utf-8 path");
    let global = ["--data-dir", data_dir, "--database", db.url.as_str()];
    let tenant = ["tenant", "create", "--issuer", ISSUER, "--name", "Co-op A"];
    run_ok(&[&global[..], &tenant[..]].concat(), "");
    let account = [
        "account",
        "create",
        "--tenant",
        ISSUER,
        "--handle",
        HANDLE,
        "--password-stdin",
    ];
    run_ok(
        &[&global[..], &account[..]].concat(),
        &format!("{PASSWORD}\n"),
    );
    let serve_args = [
        "--redis",
        redis.as_str(),
        "--metrics-listen",
        "127.0.0.1:0",
        "--log-json",
    ];
    let env = [("ATAUTH_LOG", "debug")];
    let a = support::serve(&global, &serve_args, &env);
    let b = support::serve(&global, &serve_args, &env);
    let client = Client::new();

    // PAR at A (learning A's nonce on the way).
    let (verifier, challenge) = pkce();
    let par_form = [
        ("client_id", client.client_id.as_str()),
        ("response_type", "code"),
        ("redirect_uri", LOOPBACK_REDIRECT),
        ("state", "state-1"),
        ("scope", SCOPE),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let (status, body) = client.post(&a, "/oauth/par", &par_form).await;
    assert_eq!(status, 201, "{body}; logs: {}", a.logs());
    let request_uri = body["request_uri"]
        .as_str()
        .expect("request_uri")
        .to_string();

    // A proof used at A is a replay at B (its jti is in the shared Redis), though B accepts
    // A's nonce.
    // (A new PKCE challenge for each request: a reused one is refused on its own.)
    let (_, second_challenge) = pkce();
    let (_, third_challenge) = pkce();
    let proof = client.proof("/oauth/par");
    let form = with_challenge(&par_form, &second_challenge);
    let (status, body) = client
        .post_with(&a, "/oauth/par", &form, proof.clone())
        .await;
    assert_eq!(status, 201, "{body}");
    let form = with_challenge(&par_form, &third_challenge);
    let (status, body) = client.post_with(&b, "/oauth/par", &form, proof).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );

    // Authorization page, sign-in and consent at B.
    let mut browser = Browser::at_loopback(http_client(), b.addr, HOST);
    let page = browser
        .get(&client.authorize_path(&request_uri))
        .await
        .expect("get");
    assert_eq!(page.status, 200, "{}", page.body);
    let page = browser
        .sign_in(&page, HANDLE, PASSWORD)
        .await
        .expect("post");
    assert!(page.body.contains("Allow"), "{} {}", page.status, page.body);
    let done = browser.allow(&page).await.expect("post");
    assert_eq!(done.status, 303, "{}", done.body);
    let params = redirect_params(done.location.as_deref().expect("redirect"));
    assert_eq!(params.get("iss").map(String::as_str), Some(ISSUER));
    let code = params.get("code").expect("code").clone();

    // Token at A.
    let (status, first) = client
        .post(
            &a,
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client.client_id),
                ("redirect_uri", LOOPBACK_REDIRECT),
                ("code", &code),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, 200, "{first}");
    let refresh = first["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();

    // Refresh at B with the nonce A handed out, in one try: B accepts A's nonce.
    let refresh_form = |token: &str| {
        vec![
            ("grant_type", "refresh_token".to_string()),
            ("client_id", client.client_id.clone()),
            ("refresh_token", token.to_string()),
        ]
    };
    let form = refresh_form(&refresh);
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let proof = client.proof("/oauth/token");
    let (status, second) = client.post_with(&b, "/oauth/token", &fields, proof).await;
    assert_eq!(status, 200, "{second}");
    let refresh = second["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let metrics_b = scrape(&b).await;
    assert_eq!(
        sample(
            &metrics_b,
            &format!("atauth_active_sessions{{issuer=\"{ISSUER}\"}}")
        ),
        Some(1.0),
        "{metrics_b}"
    );

    // Revoke at A; the refresh token is then refused at B.
    let (status, body) = client
        .post(
            &a,
            "/oauth/revoke",
            &[("client_id", &client.client_id), ("token", &refresh)],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let form = refresh_form(&refresh);
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = client.post(&b, "/oauth/token", &fields).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    // Each process counted what it served, under the route template and the error code.
    let metrics_a = scrape(&a).await;
    let metrics_b = scrape(&b).await;
    let token_ok = "atauth_http_requests_total{route=\"/oauth/token\",method=\"POST\",status=\"2xx\",error=\"\"}";
    assert_eq!(sample(&metrics_a, token_ok), Some(1.0), "{metrics_a}");
    assert_eq!(sample(&metrics_b, token_ok), Some(1.0), "{metrics_b}");
    let refused = "atauth_http_requests_total{route=\"/oauth/token\",method=\"POST\",status=\"4xx\",error=\"invalid_grant\"}";
    assert_eq!(sample(&metrics_b, refused), Some(1.0), "{metrics_b}");
    let replayed = "atauth_http_requests_total{route=\"/oauth/par\",method=\"POST\",status=\"4xx\",error=\"invalid_dpop_proof\"}";
    assert_eq!(sample(&metrics_b, replayed), Some(1.0), "{metrics_b}");
    let pages = "atauth_http_requests_total{route=\"/oauth/authorize\",method=\"GET\",status=\"2xx\",error=\"\"}";
    assert_eq!(sample(&metrics_b, pages), Some(1.0), "{metrics_b}");
    assert!(
        metrics_a.contains("atauth_http_request_duration_seconds_bucket{le=")
            || metrics_a
                .contains("atauth_http_request_duration_seconds_bucket{route=\"/oauth/token\""),
        "{metrics_a}"
    );
    assert!(!metrics_a.contains("request_uri=") && !metrics_a.contains(&request_uri));
    assert_eq!(
        sample(
            &metrics_a,
            &format!("atauth_active_sessions{{issuer=\"{ISSUER}\"}}")
        ),
        None,
        "no live session after the revocation: {metrics_a}"
    );

    // No secret in the metrics or in the debug logs of either process.
    let mut secrets: Vec<String> = vec![
        code,
        verifier,
        PASSWORD.to_string(),
        first["access_token"].as_str().expect("access").to_string(),
        first["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_string(),
        second["access_token"].as_str().expect("access").to_string(),
        refresh,
    ];
    secrets.extend(client.proofs.lock().expect("proofs").iter().cloned());
    let (logs_a, logs_b) = (a.logs(), b.logs());
    assert!(
        logs_a.contains("\"level\":\"DEBUG\""),
        "debug logs expected: {logs_a}"
    );
    for (what, text) in [
        ("A's logs", &logs_a),
        ("B's logs", &logs_b),
        ("A's metrics", &metrics_a),
        ("B's metrics", &metrics_b),
    ] {
        for secret in &secrets {
            // The signature part is enough to recognise a JWT or proof.
            let needle = secret.rsplit('.').next().unwrap_or(secret);
            assert!(!text.contains(needle), "{what} contain a secret ({needle})");
        }
    }
    drop((a, b));
    drop(db);
}
