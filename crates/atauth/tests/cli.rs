//! The `atauth` binary, run as operators run it, on a temporary data directory: tenant and
//! account commands, and `serve` (plain and `--dev`). Every server started here is killed when
//! its guard is dropped, also when the test panics.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and processes, on real time, with real keys"
)]

mod support;

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use support::ServedProcess;

/// `atauth --data-dir DATA <args>`, without the caller's `ATAUTH_*` environment (every flag
/// has an `ATAUTH_*` twin that could switch modes).
fn command(data: &Path, args: &[&str]) -> Command {
    let data = data.to_str().expect("utf-8 temp dir");
    support::command(&[&["--data-dir", data][..], args].concat(), &[])
}

/// Runs a command to completion with `stdin` as its standard input.
fn run_with_stdin(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = command(data, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn atauth");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().expect("atauth output")
}

fn run(data: &Path, args: &[&str]) -> Output {
    run_with_stdin(data, args, "")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

/// Asserts a refusal: non-zero exit and `needle` in the error output.
#[track_caller]
fn assert_refused(output: &Output, needle: &str) {
    assert!(
        !output.status.success(),
        "expected a failure; stdout: {}",
        stdout(output)
    );
    let err = stderr(output);
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
}

fn last_line(output: &Output) -> String {
    stdout(output)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

fn create_tenant(data: &Path, issuer: &str, name: &str) {
    assert_success(&run(
        data,
        &["tenant", "create", "--issuer", issuer, "--name", name],
    ));
}

fn create_account(data: &Path, tenant: &str, handle: &str, extra: &[&str]) -> Output {
    create_account_with_password(data, tenant, handle, extra, "a long enough password")
}

/// `account create` with `password` on standard input.
fn create_account_with_password(
    data: &Path,
    tenant: &str,
    handle: &str,
    extra: &[&str],
    password: &str,
) -> Output {
    let mut args = vec![
        "account",
        "create",
        "--tenant",
        tenant,
        "--handle",
        handle,
        "--password-stdin",
    ];
    args.extend_from_slice(extra);
    run_with_stdin(data, &args, &format!("{password}\n"))
}

/// `atauth --data-dir DATA serve --listen 127.0.0.1:0 <args>`, killed when dropped.
fn serve(data: &Path, args: &[&str]) -> ServedProcess {
    let data = data.to_str().expect("utf-8 temp dir");
    support::serve(&["--data-dir", data], args, &[])
}

// ---------------------------------------------------------------------------------------------
// Tenants

#[test]
fn tenant_create_then_list_shows_each_cooperative() {
    let dir = tempfile::tempdir().unwrap();
    let created = run(
        dir.path(),
        &[
            "tenant",
            "create",
            "--issuer",
            "https://coop-a.test",
            "--name",
            "Coop A",
        ],
    );
    assert_success(&created);
    assert_eq!(last_line(&created), "https://coop-a.test");
    // A trailing slash is normalised away; a separate resource server is kept.
    let created = run(
        dir.path(),
        &[
            "tenant",
            "create",
            "--issuer",
            "https://coop-b.test/",
            "--name",
            "Coop B",
            "--resource-server",
            "https://pds.coop-b.test",
        ],
    );
    assert_success(&created);
    assert_eq!(last_line(&created), "https://coop-b.test");

    let listed = run(dir.path(), &["tenant", "list"]);
    assert_success(&listed);
    let lines: Vec<String> = stdout(&listed).lines().map(str::to_owned).collect();
    assert!(
        lines.contains(&"https://coop-a.test\tCoop A\thttps://coop-a.test\tactive".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"https://coop-b.test\tCoop B\thttps://pds.coop-b.test\tactive".to_owned()),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 2, "{lines:?}");
}

#[test]
fn tenant_create_refuses_an_issuer_that_is_not_a_bare_https_origin() {
    let dir = tempfile::tempdir().unwrap();
    for (issuer, needle) in [
        ("https://coop.test/oauth", "bare origin"),
        ("https://coop.test/?x=1", "bare origin"),
        ("https://coop.test/#top", "bare origin"),
        (
            "http://coop.test",
            "http issuers are only allowed on loopback",
        ),
        ("ftp://coop.test", "https"),
        ("coop.test", "not a URL"),
    ] {
        let output = run(
            dir.path(),
            &["tenant", "create", "--issuer", issuer, "--name", "Bad"],
        );
        assert_refused(&output, needle);
        assert!(
            stderr(&output).starts_with("error: "),
            "{}",
            stderr(&output)
        );
    }
    let listed = run(dir.path(), &["tenant", "list"]);
    assert_success(&listed);
    assert_eq!(stdout(&listed), "", "nothing was created");
}

#[test]
fn tenant_create_refuses_a_duplicate_issuer() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "https://coop.test", "Coop");
    let again = run(
        dir.path(),
        &[
            "tenant",
            "create",
            "--issuer",
            "https://coop.test/",
            "--name",
            "Again",
        ],
    );
    assert_refused(&again, "already exists");
}

// ---------------------------------------------------------------------------------------------
// Accounts

#[test]
fn account_create_prints_the_did_as_the_last_line() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "https://coop.test", "Coop");
    create_tenant(dir.path(), "https://ported.test:8443", "Ported");

    let hosted = create_account(
        dir.path(),
        "https://coop.test",
        "alice.coop.test",
        &["--email", "alice@coop.test"],
    );
    assert_success(&hosted);
    assert_eq!(last_line(&hosted), "did:web:alice.coop.test");

    let external = create_account(
        dir.path(),
        "https://coop.test",
        "bob.coop.test",
        &["--did", "did:plc:bobbobbobbobbobbobbobbob"],
    );
    assert_success(&external);
    assert_eq!(last_line(&external), "did:plc:bobbobbobbobbobbobbobbob");

    let ported = create_account(
        dir.path(),
        "https://ported.test:8443",
        "carol.ported.test",
        &[],
    );
    assert_success(&ported);
    assert_eq!(last_line(&ported), "did:web:carol.ported.test%3A8443");

    let listed = run(
        dir.path(),
        &["account", "list", "--tenant", "https://coop.test"],
    );
    assert_success(&listed);
    let text = stdout(&listed);
    assert!(
        text.contains("did:web:alice.coop.test\talice.coop.test\talice@coop.test"),
        "{text}"
    );
    assert!(
        text.contains("did:plc:bobbobbobbobbobbobbobbob\tbob.coop.test"),
        "{text}"
    );
}

#[test]
fn account_create_refuses_a_duplicate_handle() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "https://coop.test", "Coop");
    assert_success(&create_account(
        dir.path(),
        "https://coop.test",
        "alice.coop.test",
        &[],
    ));
    let again = create_account(dir.path(), "https://coop.test", "Alice.Coop.Test", &[]);
    assert_refused(&again, "already exists");
    assert!(!stdout(&again).contains("did:"), "{}", stdout(&again));
}

#[test]
fn account_create_refuses_bad_input_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "https://coop.test", "Coop");
    assert_refused(
        &create_account(dir.path(), "https://other.test", "alice.coop.test", &[]),
        "no cooperative with issuer https://other.test",
    );
    assert_refused(
        &create_account(dir.path(), "https://coop.test", "not a handle", &[]),
        "is not a valid handle",
    );
    assert_refused(
        &create_account(
            dir.path(),
            "https://coop.test",
            "bob.coop.test",
            &["--did", "plc:bob"],
        ),
        "is not a valid DID",
    );
    let short = create_account_with_password(
        dir.path(),
        "https://coop.test",
        "carol.coop.test",
        &[],
        "short",
    );
    assert_refused(&short, "at least 8 characters");
}

#[test]
fn account_create_refuses_a_guessable_password_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "https://coop.test", "Coop");
    for guessable in [
        "password1",
        "12345678",
        "carol.coop.test",
        "Carol@coop.test",
    ] {
        let refused = create_account_with_password(
            dir.path(),
            "https://coop.test",
            "carol.coop.test",
            &["--email", "carol@coop.test"],
            guessable,
        );
        assert_refused(&refused, "the password is too easy to guess");
        assert!(!stdout(&refused).contains("did:"), "{}", stdout(&refused));
    }
    let listed = run(
        dir.path(),
        &["account", "list", "--tenant", "https://coop.test"],
    );
    assert_success(&listed);
    assert!(!stdout(&listed).contains("carol"), "{}", stdout(&listed));
}

// ---------------------------------------------------------------------------------------------
// serve

#[tokio::test]
async fn serve_prints_its_address_answers_health_checks_and_serves_new_tenants_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "https://coop-a.test", "Coop A");
    let server = serve(dir.path(), &[]);
    assert_ne!(server.addr.port(), 0);
    assert!(server.addr.ip().is_loopback());

    let healthz = server.get("anything.test", "/healthz").await;
    assert_eq!(healthz.status(), 200);
    let readyz = server.get("anything.test", "/readyz").await;
    assert_eq!(readyz.status(), 200);

    let metadata = "/.well-known/oauth-authorization-server";
    let a = server.get("coop-a.test", metadata).await;
    assert_eq!(a.status(), 200);
    let a: Value = a.json().await.unwrap();
    assert_eq!(a["issuer"], "https://coop-a.test");

    // Not a cooperative yet.
    assert_eq!(server.get("coop-late.test", metadata).await.status(), 404);
    create_tenant(dir.path(), "https://coop-late.test", "Late Coop");
    let late = server.get("coop-late.test", metadata).await;
    assert_eq!(late.status(), 200);
    let late: Value = late.json().await.unwrap();
    assert_eq!(late["issuer"], "https://coop-late.test");
    assert_eq!(
        late["pushed_authorization_request_endpoint"],
        "https://coop-late.test/oauth/par"
    );
}

#[tokio::test]
async fn serve_dev_creates_the_demo_cooperative_and_prints_its_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &["--dev"]);
    let banner = server.banner.join("\n");
    assert!(
        banner.contains("cooperative \"Demo Cooperative\" at http://127.0.0.1:2583"),
        "{banner}"
    );
    assert!(
        banner.contains("handle alice.localhost / password atauth-demo"),
        "{banner}"
    );
    assert!(
        banner.contains("did:web:alice.localhost%3A2583"),
        "{banner}"
    );

    let metadata = server
        .get("127.0.0.1:2583", "/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(metadata.status(), 200);
    let metadata: Value = metadata.json().await.unwrap();
    assert_eq!(metadata["issuer"], "http://127.0.0.1:2583");
    let did = server
        .get("alice.localhost:2583", "/.well-known/atproto-did")
        .await;
    assert_eq!(did.status(), 200);
    assert_eq!(
        did.text().await.unwrap().trim(),
        "did:web:alice.localhost%3A2583"
    );
    drop(server);

    // A second start reuses the demo cooperative and account.
    let again = serve(dir.path(), &["--dev"]);
    assert!(
        again
            .banner
            .join("\n")
            .contains("did:web:alice.localhost%3A2583"),
        "{:?}",
        again.banner
    );
    let listed = run(dir.path(), &["tenant", "list"]);
    assert_eq!(stdout(&listed).lines().count(), 1, "{}", stdout(&listed));
}

#[test]
fn dev_only_flags_without_dev_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--dev-resolve",
            "app.test=127.0.0.1",
        ],
    );
    assert_refused(&output, "--dev");
    assert_eq!(output.status.code(), Some(2), "a usage error");
    let pem = dir.path().join("ca.pem");
    std::fs::write(&pem, "not used").unwrap();
    let output = run(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--extra-ca-file",
            pem.to_str().unwrap(),
        ],
    );
    assert_refused(&output, "--dev");
}

// ---------------------------------------------------------------------------------------------
// serve --dev --dev-resolve: outbound fetches of client metadata

/// Serves one client metadata document on 127.0.0.1; returns the client id
/// `http://app.test:<port>/client-metadata.json`.
async fn metadata_host() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let client_id = format!("http://app.test:{port}/client-metadata.json");
    let document = serde_json::json!({
        "client_id": client_id,
        "client_name": "CLI test app",
        "application_type": "web",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": ["https://app.test/callback"],
        "scope": "atproto",
        "dpop_bound_access_tokens": true,
        "token_endpoint_auth_method": "none",
    });
    let app = axum::Router::new().route(
        "/client-metadata.json",
        axum::routing::get(move || {
            let document = document.clone();
            async move { axum::Json(document) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    client_id
}

/// A pushed authorization request to the demo cooperative, with a DPoP proof (retried once
/// with the nonce the server hands out).
async fn demo_par(server: &ServedProcess, client_id: &str) -> (u16, Value) {
    use atauth_protocol::jose::SigningKey;
    let key = SigningKey::generate("dpop".into()).unwrap();
    let mut jwk = key.public_jwk();
    jwk.as_object_mut().unwrap().remove("kid");
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), "dpop+jwt".into());
    header.insert("jwk".into(), jwk);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut nonce: Option<String> = None;
    let mut last = (0, Value::Null);
    for attempt in 0..2 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut claims = serde_json::json!({
            "jti": format!("cli-proof-{attempt}-{now}"),
            "htm": "POST",
            "htu": "http://127.0.0.1:2583/oauth/par",
            "iat": now,
        });
        if let Some(n) = &nonce {
            claims["nonce"] = n.clone().into();
        }
        let proof = key.sign_with_header(&header, &claims).unwrap();
        let response = http
            .post(format!("http://{}/oauth/par", server.addr))
            .header("host", "127.0.0.1:2583")
            .header("dpop", proof)
            .form(&[
                ("client_id", client_id),
                ("response_type", "code"),
                ("redirect_uri", "https://app.test/callback"),
                ("state", "cli-state"),
                ("scope", "atproto"),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .unwrap();
        nonce = response
            .headers()
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        if status == 400 && body["error"] == "use_dpop_nonce" {
            last = (status, body);
            continue;
        }
        return (status, body);
    }
    last
}

/// `--dev-resolve HOST=ADDR` is what lets a dev server fetch client metadata from a name
/// that does not resolve (here `app.test` → 127.0.0.1); without it the name is unknown.
#[tokio::test]
async fn serve_dev_resolve_maps_a_client_metadata_host() {
    let client_id = metadata_host().await;

    let dir = tempfile::tempdir().unwrap();
    let server = serve(
        dir.path(),
        &["--dev", "--dev-resolve", "app.test=127.0.0.1"],
    );
    let (status, body) = demo_par(&server, &client_id).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["request_uri"].as_str().is_some(), "{body}");
    drop(server);

    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &["--dev"]);
    let (status, body) = demo_par(&server, &client_id).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_client_metadata", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("could not resolve host app.test"),
        "{body}"
    );
}

/// Malformed dev switches stop the server at start-up with a clear message.
#[test]
fn serve_refuses_malformed_dev_resolve_and_extra_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let listen = ["serve", "--dev", "--listen", "127.0.0.1:0"];
    let with = |extra: &[&str]| {
        let mut args = listen.to_vec();
        args.extend_from_slice(extra);
        run(dir.path(), &args)
    };
    assert_refused(&with(&["--dev-resolve", "app.test"]), "HOST=ADDR");
    assert_refused(
        &with(&["--dev-resolve", "app.test=not-an-ip"]),
        "not an IP address",
    );
    let pem = dir.path().join("ca.pem");
    std::fs::write(&pem, "no certificate here\n").unwrap();
    assert_refused(
        &with(&["--extra-ca-file", pem.to_str().unwrap()]),
        "extra CA certificates could not be used",
    );
    let missing = dir.path().join("missing.pem");
    assert_refused(
        &with(&["--extra-ca-file", missing.to_str().unwrap()]),
        "cannot read",
    );
}
