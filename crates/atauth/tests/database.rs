//! `--database` and `--redis`: the binary on PostgreSQL (a fresh database on
//! `ATAUTH_TEST_POSTGRES_URL`), on an explicit SQLite file, from the environment, and with a
//! Redis replay cache (`ATAUTH_TEST_REDIS_URL`, or a closed port).

use serde_json::Value;
use sqlx::{Connection, PgConnection};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_atauth");

fn services_required() -> bool {
    std::env::var("ATAUTH_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
}

fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if services_required() => panic!("ATAUTH_REQUIRE_SERVICES=1 but {var} is not set"),
        _ => {
            eprintln!("skipped: {var} is not set");
            None
        }
    }
}

/// A fresh database on the test server; dropped (best effort) afterwards.
struct PgDatabase {
    admin: String,
    name: String,
    url: String,
}

impl PgDatabase {
    async fn create(admin: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("atauth_cli_{:x}_{nanos:x}", std::process::id());
        let mut conn = PgConnection::connect(admin).await.expect("postgres");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
        let _ = conn.close().await;
        let mut url = url::Url::parse(admin).unwrap();
        url.set_path(&format!("/{name}"));
        Self {
            admin: admin.to_string(),
            name,
            url: url.to_string(),
        }
    }

    async fn drop_now(self) {
        if let Ok(mut conn) = PgConnection::connect(&self.admin).await {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = sqlx::query(&sql).execute(&mut conn).await;
            let _ = conn.close().await;
        }
    }
}

fn command(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir").arg(data).args(args);
    for var in [
        "ATAUTH_DEV",
        "ATAUTH_LISTEN",
        "ATAUTH_DATA_DIR",
        "ATAUTH_LOG_JSON",
        "ATAUTH_DATABASE",
        "ATAUTH_REDIS",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run(data: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = command(data, args, env)
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

/// A running `atauth serve`, killed through its handle when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut all = vec!["serve", "--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let child = command(data, &all, env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn atauth serve");
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: Arc::default(),
        };
        let mut err = server.child.stderr.take().unwrap();
        let log = server.log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                log.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let out = server.child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|e| {
                panic!(
                    "no listening address ({e:?}); stderr: {}",
                    server.log.lock().unwrap()
                )
            });
            if let Some(url) = line.strip_prefix("atauth listening on http://") {
                server.addr = url.trim().parse().expect("address");
                break;
            }
        }
        server
    }

    async fn get(&self, host: &str, path: &str) -> reqwest::Response {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(format!("http://{}{path}", self.addr))
            .header("host", host)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}; stderr: {}", self.log.lock().unwrap()))
    }
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
    let db = PgDatabase::create(&admin).await;
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

    let server = Server::start(&data, &["--redis", &redis], &[("ATAUTH_DATABASE", &db.url)]);
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
    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("replay cache: Redis"), "{log}");
    drop(server);
    db.drop_now().await;
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redis = format!("redis://:secretpw@127.0.0.1:{port}");
    let server = Server::start(dir.path(), &[], &[("ATAUTH_REDIS", &redis)]);
    assert_eq!(server.get("any.test", "/healthz").await.status(), 200);
    let readyz = server.get("any.test", "/readyz").await;
    assert_eq!(readyz.status(), 503);
    assert!(readyz.text().await.unwrap().contains("replay cache"));
    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("Redis is not reachable"), "{log}");
    assert!(!log.contains("secretpw"), "{log}");
}
