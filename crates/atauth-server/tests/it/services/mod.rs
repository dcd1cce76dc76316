//! External services for the scale-out and outage tests: the shared PostgreSQL and Redis of
//! `scripts/with-services` (`ATAUTH_TEST_POSTGRES_URL`, `ATAUTH_TEST_REDIS_URL`), and servers a
//! test starts, stops and restarts itself (a Redis on a free port, a throw-away PostgreSQL
//! cluster made with `initdb`/`pg_ctl`).
//!
//! Without the variables the tests are skipped; with `ATAUTH_REQUIRE_SERVICES=1` (CI) they fail
//! instead. Every server started here is stopped when its guard is dropped.
#![allow(dead_code)]

use sqlx::{Connection, PgConnection};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const POSTGRES_URL_VAR: &str = "ATAUTH_TEST_POSTGRES_URL";
pub const REDIS_URL_VAR: &str = "ATAUTH_TEST_REDIS_URL";
pub const REQUIRE_SERVICES_VAR: &str = "ATAUTH_REQUIRE_SERVICES";

pub fn services_required() -> bool {
    std::env::var(REQUIRE_SERVICES_VAR).is_ok_and(|v| v == "1" || v == "true")
}

fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if services_required() => panic!(
            "{REQUIRE_SERVICES_VAR}=1 but {var} is not set. Run the tests through \
             scripts/with-services."
        ),
        _ => {
            eprintln!("skipped: {var} is not set");
            None
        }
    }
}

/// The shared PostgreSQL server's URL, if configured.
pub fn postgres_url() -> Option<String> {
    service_url(POSTGRES_URL_VAR)
}

/// The shared Redis server's URL, if configured.
pub fn redis_url() -> Option<String> {
    service_url(REDIS_URL_VAR)
}

/// Skips (returns `None`) or fails, as the environment demands, when a server the test wants
/// to start itself cannot be started on this machine.
pub fn unavailable<T>(what: &str, why: String) -> Option<T> {
    if services_required() {
        panic!("{REQUIRE_SERVICES_VAR}=1 but {what} cannot be started: {why}");
    }
    eprintln!("skipped: {what} cannot be started: {why}");
    None
}

/// A TCP port on 127.0.0.1 that nothing listens on (right now).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Polls `check` until it holds, for at most `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// --- a fresh database on the shared PostgreSQL server

/// A uniquely named, empty database on the shared server, dropped (best effort) on drop.
pub struct PgTestDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgTestDatabase {
    pub async fn create(admin_url: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_nanos() as u64;
        let name = format!(
            "atauth_srv_{:x}_{:x}_{:x}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_URL_VAR}: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let _ = admin.close().await;
        let mut url = url::Url::parse(admin_url).expect("postgres URL");
        url.set_path(&format!("/{name}"));
        Self {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for PgTestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let mut admin = PgConnection::connect(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::query(&sql)
                    .execute(&mut admin)
                    .await
                    .map_err(|e| e.to_string())?;
                admin.close().await.map_err(|e| e.to_string())
            })
        })
        .join();
    }
}

// --- a Redis server of the test's own

/// `redis-server` on a free loopback port, without persistence; killed on drop.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one, or says why it cannot.
    pub fn start() -> Result<Self, String> {
        let mut server = Self {
            port: free_port(),
            child: None,
        };
        server.restart()?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// (Re)starts the server on the same port and waits until it accepts connections.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("redis-server did not listen on port {}", self.port))
    }

    /// Kills the server (by its own process handle) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

// --- a throw-away PostgreSQL cluster

fn pg_bindir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("ATAUTH_TEST_PG_BINDIR") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(Path::file_name)
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(newest) = versions.pop() {
        return Some(newest);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL cluster in a temporary directory on its own port, trust authentication. As
/// root, everything runs as the `postgres` user (`initdb` refuses root). Stopped and removed on
/// drop.
pub struct Cluster {
    bindir: PathBuf,
    dir: PathBuf,
    pub port: u16,
    as_postgres: bool,
}

impl Cluster {
    fn command(&self, program: &str) -> Command {
        let exe = self.bindir.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .command(program)
            .args(args)
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Creates the cluster (not started), or says why this machine cannot.
    pub fn init() -> Result<Self, String> {
        let bindir = pg_bindir().ok_or("no initdb/pg_ctl found")?;
        let as_postgres = running_as_root();
        let dir = if as_postgres {
            let out = Command::new("runuser")
                .args([
                    "-u",
                    "postgres",
                    "--",
                    "mktemp",
                    "-d",
                    "/tmp/atauth-pg-XXXXXX",
                ])
                .output()
                .map_err(|e| format!("runuser: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "cannot run as the postgres user: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        } else {
            tempfile::Builder::new()
                .prefix("atauth-pg-")
                .tempdir()
                .map_err(|e| e.to_string())?
                .keep()
        };
        let cluster = Cluster {
            bindir,
            dir,
            port: free_port(),
            as_postgres,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn start(&self) -> Result<(), String> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &opts,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
    }

    pub fn stop(&self) -> Result<(), String> {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"])
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
