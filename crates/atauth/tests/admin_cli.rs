//! The admin commands of the `atauth` binary (`tenant disable|enable`, `account
//! disable|enable`, `admin create-token`) and `serve` with the admin API on its own listener.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_atauth");
const OPERATOR_TOKEN: &str = "an-operator-token-of-more-than-32-characters";

fn command(data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir").arg(data).args(args);
    for var in [
        "ATAUTH_DEV",
        "ATAUTH_LISTEN",
        "ATAUTH_DATA_DIR",
        "ATAUTH_ADMIN_TOKEN",
        "ATAUTH_ADMIN_TOKEN_FILE",
        "ATAUTH_ADMIN_LISTEN",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(data: &Path, args: &[&str], stdin: &str) -> Output {
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
    let output = child.wait_with_output().expect("atauth output");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
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
    let list = stdout(&run(dir.path(), &["tenant", "list"], ""));
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
    let list = stdout(&run(dir.path(), &["tenant", "list"], ""));
    assert!(list.contains("coop-b.test\tactive"), "{list}");

    let args = [
        "--tenant",
        "https://coop-a.test",
        "--handle",
        "alice.coop-a.test",
    ];
    let out = stdout(&run(
        dir.path(),
        &[&["account", "disable"][..], &args].concat(),
        "",
    ));
    assert!(out.contains("disabled account @alice.coop-a.test"), "{out}");
    let out = stdout(&run(
        dir.path(),
        &[&["account", "enable"][..], &args].concat(),
        "",
    ));
    assert!(out.contains("enabled account @alice.coop-a.test"), "{out}");
}

/// A running `atauth serve`, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` with the admin API; returns the public and admin addresses.
fn serve(data: &Path) -> (Server, String, String) {
    let mut child = command(
        data,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ],
    )
    .env("ATAUTH_ADMIN_TOKEN", OPERATOR_TOKEN)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn atauth serve");
    let out = child.stdout.take().unwrap();
    let server = Server(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut public, mut admin) = (None, None);
    while public.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).expect("serve printed its addresses");
        if let Some(url) = line.strip_prefix("atauth admin API on ") {
            admin = Some(url.trim_end_matches("/admin/v1").to_string());
        }
        if let Some(url) = line.strip_prefix("atauth listening on ") {
            public = Some(url.to_string());
        }
    }
    (
        server,
        public.unwrap(),
        admin.expect("admin address printed"),
    )
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
    let b_token = stdout(&minted).trim().to_string();
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
    let output = command(dir.path(), &["serve", "--listen", "127.0.0.1:0"])
        .env("ATAUTH_ADMIN_TOKEN", "short")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at least 32 characters"), "{stderr}");
}
