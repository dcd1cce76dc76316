//! The server's logs, captured at TRACE for every server-side target, never contain an access
//! token, refresh token, authorization code, PKCE verifier, password or DPoP proof, through a
//! whole flow (PAR, sign-in with a wrong then the right password, consent, token, refresh,
//! getSession, revoke, refresh after revocation).
//!
//! The test installs the process-wide tracing subscriber: nextest runs it in a process of its
//! own (under `cargo test` it also captures the other tests of the binary, which log no secret
//! either).

use crate::common::*;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;

/// Everything the subscriber writes, kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The server side of the process at TRACE (the test's own HTTP client is left out).
const FILTER: &str = "atauth_server=trace,atauth_store=trace,atauth_fetch=trace,\
                      atauth_protocol=trace,atauth_resource=trace,tower_http=trace,axum=trace,\
                      sqlx=trace";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_flow_logs_no_token_code_password_or_proof() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(FILTER))
        .with_writer(logs.clone())
        .with_ansi(false)
        .json()
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("subscriber");

    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let mut secrets: Vec<String> = vec![PASSWORD.to_string(), "wrong secret pass".to_string()];

    // A failed sign-in first, then the whole flow.
    let par = client.par("atproto transition:generic", &[]).await;
    let mut browser = Browser::new(&server, COOP_A);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    let page = browser
        .submit_sign_in(&page, "alice.coop-a.test", "wrong secret pass")
        .await;
    assert!(page.body.contains("Wrong handle"), "{}", page.body);
    let page = browser
        .submit_sign_in(&page, "alice.coop-a.test", PASSWORD)
        .await;
    let done = browser.allow(&page).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let code = done.code();
    secrets.extend([code.clone(), par.verifier.clone()]);

    // A proof we keep, to look for it afterwards.
    let proof = client
        .dpop
        .proof("POST", &client.url("/oauth/token"), server.now(), None);
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("code", code.as_str()),
        ("code_verifier", par.verifier.as_str()),
    ];
    let response = server
        .post_form(COOP_A, "/oauth/token", &form, Some(proof.clone()))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let first = tokens(response).await;
    secrets.push(proof);

    let refresh = first.refresh_token.clone().expect("refresh token");
    let response = client.refresh(&refresh).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let second = tokens(response).await;
    let response = client.get_session(&second.access_token).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let latest = second.refresh_token.clone().expect("refresh token");
    let response = client.revoke(&latest).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let response = client.refresh(&latest).await;
    assert_eq!(response.status(), 400);
    // The code again: refused as reused.
    let response = client.exchange(&code, &par.verifier).await;
    assert_eq!(response.status(), 400);
    secrets.extend([first.access_token, refresh, second.access_token, latest]);

    let text = logs.text();
    // The capture works: requests and statements were logged.
    assert!(text.contains("/oauth/token"), "no request logged: {text}");
    assert!(text.lines().count() > 20, "{text}");
    for secret in &secrets {
        // A JWT's signature part is enough to recognise it.
        let needle = secret.rsplit('.').next().unwrap_or(secret);
        assert!(
            !text.contains(needle),
            "the logs contain a secret ({needle}):\n{}",
            text.lines()
                .filter(|l| l.contains(needle))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
