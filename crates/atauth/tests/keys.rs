//! `atauth keys` and the master key, run as operators run them, on a temporary data directory.

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
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const ISSUER: &str = "https://coop-a.example";
const MASTER_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const OTHER_KEY: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
/// Longest wait for a command that must exit by itself.
const EXIT_DEADLINE: Duration = Duration::from_secs(60);

/// `atauth --data-dir DATA <args>`, with `ATAUTH_MASTER_KEY` set only when given.
fn command(data: &Path, master_key: Option<&str>, args: &[&str]) -> Command {
    let data = data.to_str().expect("utf-8 temp dir");
    let env: Vec<(&str, &str)> = master_key
        .map(|key| ("ATAUTH_MASTER_KEY", key))
        .into_iter()
        .collect();
    let mut cmd = support::command(&[&["--data-dir", data][..], args].concat(), &env);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs a command that must exit by itself (a server that starts would be killed and fail).
fn run(data: &Path, master_key: Option<&str>, args: &[&str]) -> Output {
    let mut child = command(data, master_key, args)
        .spawn()
        .expect("spawn atauth");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > EXIT_DEADLINE {
            let _ = child.kill();
            panic!("atauth {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn ok(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[track_caller]
fn refused(output: Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "expected a failure: {stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn list_json(data: &Path, master_key: Option<&str>) -> Vec<Value> {
    let out = ok(run(
        data,
        master_key,
        &["keys", "list", "--tenant", ISSUER, "--json"],
    ));
    serde_json::from_str(&out).unwrap()
}

/// The raw `pkcs8` column of every signing key in the data directory's database.
async fn raw_keys(data: &Path) -> Vec<Vec<u8>> {
    let url = format!("sqlite://{}", data.join("atauth.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT pkcs8 FROM signing_keys")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.into_iter().map(|r| r.0).collect()
}

/// PKCS#8 DER is a SEQUENCE (0x30); a sealed value starts with the `\0atseal1` prefix.
fn is_sealed(value: &[u8]) -> bool {
    value.starts_with(b"\0atseal1")
}

#[test]
fn keys_rotate_publishes_a_key_that_keys_list_shows_with_its_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ok(run(
        data,
        None,
        &["tenant", "create", "--issuer", ISSUER, "--name", "A"],
    ));
    let before = list_json(data, None);
    assert_eq!(before.len(), 1);
    assert_eq!(before[0]["state"], "active");
    assert_eq!(before[0]["alg"], "ES256");
    let old_kid = before[0]["kid"].as_str().unwrap().to_string();

    let out = ok(run(
        data,
        None,
        &["keys", "rotate", "--tenant", ISSUER, "--delay", "10m"],
    ));
    let new_kid = out.lines().last().unwrap().to_string();
    assert_ne!(new_kid, old_kid);
    assert!(out.contains("published key"), "{out}");

    let after = list_json(data, None);
    assert_eq!(after.len(), 2);
    assert_eq!(after[0]["kid"], new_kid.as_str());
    assert_eq!(after[0]["state"], "published");
    assert_eq!(after[1]["kid"], old_kid.as_str());
    assert_eq!(after[1]["state"], "active");
    let activates_at = after[0]["activates_at"].as_i64().unwrap();
    assert_eq!(activates_at - after[0]["created_at"].as_i64().unwrap(), 600);
    // Old key retires after the new one activates + the longest token lifetime + a margin.
    assert_eq!(
        after[1]["retires_at"].as_i64().unwrap(),
        activates_at + atauth_server::keys::RETIREMENT_GRACE_SECS
    );

    let table = ok(run(data, None, &["keys", "list", "--tenant", ISSUER]));
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&new_kid) && l.contains("published")),
        "{table}"
    );

    refused(
        run(
            data,
            None,
            &["keys", "rotate", "--tenant", ISSUER, "--delay", "soon"],
        ),
        "--delay",
    );
    refused(
        run(
            data,
            None,
            &["keys", "list", "--tenant", "https://nowhere.example"],
        ),
        "no cooperative",
    );
}

#[tokio::test]
async fn a_database_written_with_a_master_key_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ok(run(
        data,
        Some(MASTER_KEY),
        &["tenant", "create", "--issuer", ISSUER, "--name", "A"],
    ));
    // The private key is not stored in plaintext.
    let raw = raw_keys(data).await;
    assert_eq!(raw.len(), 1);
    assert!(is_sealed(&raw[0]));

    let serve = ["serve", "--listen", "127.0.0.1:0"];
    refused(run(data, None, &serve), "no master key is configured");
    refused(run(data, Some(OTHER_KEY), &serve), "wrong master key");
    refused(
        run(data, None, &["keys", "list", "--tenant", ISSUER]),
        "no master key",
    );
    refused(run(data, Some("not a key"), &serve), "ATAUTH_MASTER_KEY");

    // The same key from a file works.
    let key_file = data.join("master.key");
    std::fs::write(&key_file, format!("{MASTER_KEY}\n")).unwrap();
    let key_path = key_file.to_str().unwrap();
    let listed = ok(run(
        data,
        None,
        &[
            "--master-key-file",
            key_path,
            "keys",
            "list",
            "--tenant",
            ISSUER,
        ],
    ));
    assert!(listed.contains("active"), "{listed}");
    refused(
        run(
            data,
            Some(MASTER_KEY),
            &[
                "--master-key-file",
                key_path,
                "keys",
                "list",
                "--tenant",
                ISSUER,
            ],
        ),
        "not both",
    );
}

#[tokio::test]
async fn encrypt_existing_seals_a_plaintext_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ok(run(
        data,
        None,
        &["tenant", "create", "--issuer", ISSUER, "--name", "A"],
    ));
    let plain = raw_keys(data).await;
    assert!(!is_sealed(&plain[0]) && plain[0][0] == 0x30);

    refused(
        run(data, None, &["keys", "encrypt-existing"]),
        "no master key",
    );
    let out = ok(run(data, Some(MASTER_KEY), &["keys", "encrypt-existing"]));
    assert!(out.contains("encrypted 1 values now"), "{out}");
    assert!(is_sealed(&raw_keys(data).await[0]));
    let out = ok(run(data, Some(MASTER_KEY), &["keys", "encrypt-existing"]));
    assert!(out.contains("1 were encrypted already"), "{out}");
    // Still the same key.
    let listed = ok(run(
        data,
        Some(MASTER_KEY),
        &["keys", "list", "--tenant", ISSUER, "--json"],
    ));
    assert!(listed.contains("\"active\""), "{listed}");
}
