//! The admin commands of the `atauth` binary (`tenant disable|enable`, `account
//! disable|enable`, `admin create-token`) and `serve` with the admin API on its own listener.

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
use std::path::Path;
use support::ServedProcess;

const OPERATOR_TOKEN: &str = "an-operator-token-of-more-than-32-characters";

/// `atauth --data-dir DATA <args>` with `stdin`; panics unless it succeeds. Returns stdout.
fn run(data: &Path, args: &[&str], stdin: &str) -> String {
    let data = data.to_str().expect("utf-8 temp dir");
    support::run_ok(&[&["--data-dir", data][..], args].concat(), stdin)
}

fn setup(data: &Path) {
    for (issuer, name) in [("https://coop-a.test", "A"), ("https://coop-b.test", "B")] {
        run(
            data,
            &["tenant", "create", "--issuer", issuer, "--name", name],
            "",
        );
    }
    run(
        data,
        &[
            "account",
            "create",
            "--tenant",
            "https://coop-a.test",
            "--handle",
            "alice.coop-a.test",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
}

#[test]
fn tenant_and_account_disable_and_enable() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    run(
        dir.path(),
        &["tenant", "disable", "--tenant", "https://coop-b.test"],
        "",
    );
    let list = run(dir.path(), &["tenant", "list"], "");
    assert!(
        list.contains("https://coop-b.test\tB\thttps://coop-b.test\tdisabled"),
        "{list}"
    );
    assert!(
        list.contains("https://coop-a.test\tA\thttps://coop-a.test\tactive"),
        "{list}"
    );
    run(
        dir.path(),
        &["tenant", "enable", "--tenant", "coop-b.test"],
        "",
    );
    let list = run(dir.path(), &["tenant", "list"], "");
    assert!(list.contains("coop-b.test\tactive"), "{list}");

    let args = [
        "--tenant",
        "https://coop-a.test",
        "--handle",
        "alice.coop-a.test",
    ];
    let out = run(
        dir.path(),
        &[&["account", "disable"][..], &args].concat(),
        "",
    );
    assert!(out.contains("disabled account @alice.coop-a.test"), "{out}");
    let out = run(
        dir.path(),
        &[&["account", "enable"][..], &args].concat(),
        "",
    );
    assert!(out.contains("enabled account @alice.coop-a.test"), "{out}");
}

/// Starts `serve` with the admin API; returns the process and its public and admin URLs.
fn serve(data: &Path) -> (ServedProcess, String, String) {
    let data = data.to_str().expect("utf-8 temp dir");
    let server = support::serve(
        &["--data-dir", data],
        &["--admin-listen", "127.0.0.1:0"],
        &[("ATAUTH_ADMIN_TOKEN", OPERATOR_TOKEN)],
    );
    let admin = format!(
        "http://{}",
        server.admin_addr.expect("admin address printed")
    );
    let public = server.url("");
    (server, public, admin)
}

#[tokio::test]
async fn serve_runs_the_admin_api_on_its_own_listener() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let minted = run(
        dir.path(),
        &["admin", "create-token", "--tenant", "https://coop-b.test"],
        "",
    );
    let b_token = minted.trim().to_string();
    assert!(b_token.starts_with("atadm_"), "{b_token}");

    let (_server, public, admin) = serve(dir.path());
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let tenants = format!("{admin}/admin/v1/tenants");
    let response = http
        .get(&tenants)
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let all: Value = response.json().await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");

    let response = http
        .get(&tenants)
        .bearer_auth(&b_token)
        .send()
        .await
        .unwrap();
    let only_b: Value = response.json().await.unwrap();
    assert_eq!(only_b[0]["host"], "coop-b.test");
    assert_eq!(only_b.as_array().unwrap().len(), 1, "{only_b}");

    let response = http.get(&tenants).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = http
        .get(format!("{public}/admin/v1/tenants"))
        .header("host", "coop-a.test")
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[test]
fn serve_refuses_a_short_operator_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let output = support::command(
        &["--data-dir", data, "serve", "--listen", "127.0.0.1:0"],
        &[("ATAUTH_ADMIN_TOKEN", "short")],
    )
    .stdin(std::process::Stdio::null())
    .output()
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at least 32 characters"), "{stderr}");
}
