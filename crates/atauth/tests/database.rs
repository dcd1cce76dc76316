//! `--database` and `--redis`: the binary on PostgreSQL (a fresh database on
//! `ATAUTH_TEST_POSTGRES_URL`), on an explicit SQLite file, from the environment, and with a
//! Redis replay cache (`ATAUTH_TEST_REDIS_URL`, or a closed port).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and processes, on real time, with real keys"
)]

mod support;

use atauth_test_support::net::ClosedPort;
use atauth_test_support::postgres::PgTestDatabase;
use atauth_test_support::services::service_url;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};
use support::ServedProcess;

/// `atauth --data-dir DATA <args>` with `env` and `stdin`, to completion.
fn run(data: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let data = data.to_str().expect("utf-8 temp dir");
    let mut child = support::command(&[&["--data-dir", data][..], args].concat(), env)
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

#[track_caller]
fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `atauth --data-dir DATA serve --listen 127.0.0.1:0 <args>` with `env`.
fn serve(data: &Path, args: &[&str], env: &[(&str, &str)]) -> ServedProcess {
    let data = data.to_str().expect("utf-8 temp dir");
    support::serve(&["--data-dir", data], args, env)
}

const METADATA: &str = "/.well-known/oauth-authorization-server";

#[tokio::test]
async fn tenant_account_and_serve_work_on_postgres_with_redis() {
    let Some(admin) = service_url("ATAUTH_TEST_POSTGRES_URL") else {
        return;
    };
    let Some(redis) = service_url("ATAUTH_TEST_REDIS_URL") else {
        return;
    };
    let db = PgTestDatabase::create(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let database = ["--database", db.url.as_str()];

    let mut args = vec!["tenant", "create", "--issuer", "https://coop-a.test"];
    args.extend(["--name", "Coop A"]);
    args.extend(database);
    ok(&run(&data, &args, &[], ""));
    // The global flag also goes before the subcommand; the environment works too.
    let listed = ok(&run(
        &data,
        &["--database", &db.url, "tenant", "list"],
        &[],
        "",
    ));
    assert!(
        listed.starts_with("https://coop-a.test\tCoop A"),
        "{listed}"
    );
    let created = ok(&run(
        &data,
        &[
            "account",
            "create",
            "--tenant",
            "https://coop-a.test",
            "--handle",
            "alice.coop-a.test",
            "--password-stdin",
        ],
        &[("ATAUTH_DATABASE", &db.url)],
        "a long enough password\n",
    ));
    assert!(created
        .trim_end()
        .ends_with(|c: char| c.is_ascii_alphanumeric()));
    let accounts = ok(&run(
        &data,
        &["account", "list", "--tenant", "https://coop-a.test"],
        &[("ATAUTH_DATABASE", &db.url)],
        "",
    ));
    assert!(accounts.contains("alice.coop-a.test"), "{accounts}");
    // Nothing was written to the data directory: the database is PostgreSQL.
    assert!(!data.join("atauth.db").exists());

    let server = serve(&data, &["--redis", &redis], &[("ATAUTH_DATABASE", &db.url)]);
    assert_eq!(server.get("coop-a.test", "/readyz").await.status(), 200);
    let a = server.get("coop-a.test", METADATA).await;
    assert_eq!(a.status(), 200);
    let a: Value = a.json().await.unwrap();
    assert_eq!(a["issuer"], "https://coop-a.test");
    // A cooperative created by the CLI while the server runs is served without restart.
    ok(&run(
        &data,
        &[
            "tenant",
            "create",
            "--issuer",
            "https://coop-b.test",
            "--name",
            "B",
            "--database",
            &db.url,
        ],
        &[],
        "",
    ));
    assert_eq!(server.get("coop-b.test", METADATA).await.status(), 200);
    let log = server.logs();
    assert!(log.contains("replay cache: Redis"), "{log}");
    drop(server);
    drop(db);
}

#[tokio::test]
async fn an_explicit_sqlite_database_is_used_instead_of_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("elsewhere.db");
    let url = format!("sqlite://{}", file.display());
    let args = [
        "tenant",
        "create",
        "--issuer",
        "https://coop-a.test",
        "--name",
        "A",
    ];
    ok(&run(&data, &args, &[("ATAUTH_DATABASE", &url)], ""));
    assert!(file.exists());
    assert!(!data.join("atauth.db").exists());
    let listed = ok(&run(
        &data,
        &["tenant", "list", "--database", file.to_str().unwrap()],
        &[],
        "",
    ));
    assert_eq!(listed.lines().count(), 1, "{listed}");
    // The data directory's own database is another one (created on demand, empty).
    let listed = ok(&run(&data, &["tenant", "list"], &[], ""));
    assert_eq!(listed, "");
    assert!(data.join("atauth.db").exists());
}

#[test]
fn an_unreachable_database_is_refused_without_showing_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let closed = ClosedPort::reserve();
    let port = closed.port();
    let url = format!("postgres://atauth:hunter2@127.0.0.1:{port}/atauth");
    for args in [
        vec!["tenant", "list"],
        vec!["serve", "--listen", "127.0.0.1:0"],
    ] {
        let out = run(dir.path(), &args, &[("ATAUTH_DATABASE", &url)], "");
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("cannot open database"), "{err}");
        assert!(err.contains("atauth:***@127.0.0.1"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    let out = run(dir.path(), &["tenant", "list", "--database", " "], &[], "");
    assert!(!out.status.success());
}

#[tokio::test]
async fn serve_with_an_unreachable_redis_starts_but_is_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let closed = ClosedPort::reserve();
    let port = closed.port();
    let redis = format!("redis://:secretpw@127.0.0.1:{port}");
    let server = serve(dir.path(), &[], &[("ATAUTH_REDIS", &redis)]);
    assert_eq!(server.get("any.test", "/healthz").await.status(), 200);
    let readyz = server.get("any.test", "/readyz").await;
    assert_eq!(readyz.status(), 503);
    assert!(readyz.text().await.unwrap().contains("replay cache"));
    let log = server.logs();
    assert!(log.contains("Redis is not reachable"), "{log}");
    assert!(!log.contains("secretpw"), "{log}");
}
