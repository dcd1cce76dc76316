//! PostgreSQL for tests: a fresh database on the shared server, and a throw-away cluster a test
//! starts, stops and restarts itself.

use crate::services::POSTGRES_URL_VAR;
use sqlx::{Connection, PgConnection};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A uniquely named, empty database on the server at `admin_url`, dropped (best effort) when
/// this guard is.
pub struct PgTestDatabase {
    admin_url: String,
    pub name: String,
    /// URL of the new database (the admin URL with its database replaced).
    pub url: String,
}

impl PgTestDatabase {
    pub async fn create(admin_url: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos() as u64;
        let name = format!(
            "atauth_test_{:x}_{:x}_{:x}",
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
        let mut url = url::Url::parse(admin_url).expect("PostgreSQL URL");
        url.set_path(&format!("/{name}"));
        Self {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        }
    }

    /// Makes the migrated database number its cooperatives from a start of its own. Stores that
    /// key by cooperative id outside the database (the shared Redis of the test run) then keep
    /// this test's counters apart from those of every other test database, which all number
    /// their first cooperative 1. Call it after the store has run its migrations.
    pub async fn separate_tenant_ids(&self) {
        // The name is unique (process, time, counter); its hash spreads the starts apart.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(&self.name, &mut hasher);
        let start = 1 + std::hash::Hasher::finish(&hasher) % 1_000_000_000_000;
        let mut conn = PgConnection::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.name));
        sqlx::query(&format!(
            "ALTER TABLE tenants ALTER COLUMN id RESTART WITH {start}"
        ))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("cannot renumber the cooperatives of {}: {e}", self.name));
        let _ = conn.close().await;
    }
}

impl Drop for PgTestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs inside the test's runtime: use a runtime of its own on another thread.
        let dropped = std::thread::spawn(move || {
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
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}

/// The directory of `initdb` and `pg_ctl`: `ATAUTH_TEST_PG_BINDIR`, the newest
/// `/usr/lib/postgresql/*/bin`, or `$PATH`.
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

/// The port number in the name of the cluster's socket file (`.s.PGSQL.<port>`). The cluster
/// listens on no TCP port, only on a socket in its own directory, so this number is free by
/// construction and stays the cluster's across restarts.
const SOCKET_PORT: u16 = 5432;

/// A PostgreSQL cluster in a temporary directory, trust authentication, reached through a
/// Unix socket in that directory (no TCP port to race for). As root, everything runs as the
/// `postgres` user (`initdb` refuses root). Stopped and removed on drop.
pub struct Cluster {
    bindir: PathBuf,
    dir: PathBuf,
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

    /// The `postgres` database of the cluster, through its socket.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@localhost/postgres?host={}&port={SOCKET_PORT}",
            self.dir.display()
        )
    }

    pub fn start(&self) -> Result<(), String> {
        let opts = format!(
            "-p {SOCKET_PORT} -k {} -c listen_addresses='' -c fsync=off",
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
