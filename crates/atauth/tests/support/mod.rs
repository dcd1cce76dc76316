//! Driving the `atauth` binary from tests: running commands, a served process whose
//! addresses are read from its standard output, fresh PostgreSQL databases, service URLs.
#![allow(dead_code)]

use sqlx::{Connection, PgConnection};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const BIN: &str = env!("CARGO_BIN_EXE_atauth");

/// Whether the environment demands every external service (`ATAUTH_REQUIRE_SERVICES=1`).
pub fn services_required() -> bool {
    std::env::var("ATAUTH_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
}

/// The URL in `var`; `None` (test skipped) when unset, a panic when services are required.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if services_required() => panic!("ATAUTH_REQUIRE_SERVICES=1 but {var} is not set"),
        _ => {
            eprintln!("skipped: {var} is not set");
            None
        }
    }
}

/// `atauth` with `args`, none of the `ATAUTH_*` variables of the caller's environment, and
/// `env` set.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("ATAUTH_") {
            cmd.env_remove(key);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `atauth` to completion with `stdin`; panics unless it succeeds. Returns stdout.
pub fn run_ok(args: &[&str], stdin: &str) -> String {
    let mut child = command(args, &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn atauth");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("stdin");
    }
    let output: Output = child.wait_with_output().expect("atauth output");
    assert!(
        output.status.success(),
        "atauth {args:?}: exit {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A running `atauth serve`, killed (through its own handle) when dropped. Its standard error
/// (the logs) is collected.
pub struct ServedProcess {
    child: Child,
    pub addr: SocketAddr,
    /// The `/metrics` listener, when `--metrics-listen` was given.
    pub metrics_addr: Option<SocketAddr>,
    /// The admin API listener, when it runs (`--admin-listen` with an operator token).
    pub admin_addr: Option<SocketAddr>,
    /// Standard output lines printed up to and including the "listening" line.
    pub banner: Vec<String>,
    /// Later standard output lines: kept readable, so a later `println!` never meets a closed
    /// pipe.
    _more: mpsc::Receiver<String>,
    pub log: Arc<Mutex<String>>,
}

impl Drop for ServedProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServedProcess {
    /// `atauth <global> serve --listen 127.0.0.1:0 <args>`, waiting for its address.
    pub fn start(global: &[&str], args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut all: Vec<&str> = global.to_vec();
        all.extend(["serve", "--listen", "127.0.0.1:0"]);
        all.extend_from_slice(args);
        let child = command(&all, env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn atauth serve");
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_addr: None,
            admin_addr: None,
            banner: Vec::new(),
            _more: mpsc::channel().1,
            log: Arc::default(),
        };
        let mut err = server.child.stderr.take().expect("stderr");
        let log = server.log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut log) = log.lock() {
                    log.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let out = server.child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
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
                    "no listening address ({e:?}); stdout so far: {:?}; stderr: {}",
                    server.banner,
                    server.logs()
                )
            });
            server.banner.push(line.clone());
            if let Some(url) = line.strip_prefix("atauth metrics on http://") {
                let addr = url.trim().trim_end_matches("/metrics");
                server.metrics_addr = Some(addr.parse().expect("metrics address"));
            }
            if let Some(url) = line.strip_prefix("atauth admin API on http://") {
                let addr = url.trim().trim_end_matches("/admin/v1");
                server.admin_addr = Some(addr.parse().expect("admin address"));
            }
            if let Some(url) = line.strip_prefix("atauth listening on http://") {
                server.addr = url.trim().parse().expect("address");
                break;
            }
        }
        server._more = rx;
        server
    }

    /// `GET path` with `Host: host`, redirects not followed.
    pub async fn get(&self, host: &str, path: &str) -> reqwest::Response {
        reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client")
            .get(self.url(path))
            .header("host", host)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}; stderr: {}", self.logs()))
    }

    /// Everything logged so far.
    pub fn logs(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A uniquely named database on the test server, dropped (best effort) by [`drop_now`].
///
/// [`drop_now`]: PgDatabase::drop_now
pub struct PgDatabase {
    admin: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(admin: &str, prefix: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("time")
            .as_nanos();
        let name = format!("{prefix}_{:x}_{nanos:x}", std::process::id());
        let mut conn = PgConnection::connect(admin).await.expect("postgres");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
        let _ = conn.close().await;
        let mut url = url::Url::parse(admin).expect("admin URL");
        url.set_path(&format!("/{name}"));
        Self {
            admin: admin.to_string(),
            name,
            url: url.to_string(),
        }
    }

    pub async fn drop_now(self) {
        if let Ok(mut conn) = PgConnection::connect(&self.admin).await {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = sqlx::query(&sql).execute(&mut conn).await;
            let _ = conn.close().await;
        }
    }
}
