//! The atauth process under test: the CLI for setup, `serve` as a child, and what /proc says
//! about it.

use anyhow::{bail, Context};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// How to run the atauth binary against one database.
#[derive(Debug, Clone)]
pub struct Atauth {
    pub bin: PathBuf,
    pub data_dir: PathBuf,
    /// `--database` (PostgreSQL URL); `None` for `<data-dir>/atauth.db`.
    pub database: Option<String>,
}

impl Atauth {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--data-dir").arg(&self.data_dir);
        if let Some(db) = &self.database {
            cmd.arg("--database").arg(db);
        }
        cmd.env("ATAUTH_LOG", "warn");
        cmd.kill_on_drop(true);
        cmd
    }

    /// Runs an operator command; fails with its output if it fails.
    pub async fn cli(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
        let mut cmd = self.command();
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("{}", self.bin.display()))?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input.as_bytes()).await?;
            pipe.write_all(b"\n").await?;
        }
        let out = child.wait_with_output().await?;
        if !out.status.success() {
            bail!(
                "atauth {} failed: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub async fn create_tenant(&self, host: &str, name: &str) -> anyhow::Result<()> {
        let issuer = format!("https://{host}");
        self.cli(
            &["tenant", "create", "--issuer", &issuer, "--name", name],
            None,
        )
        .await
        .map(drop)
    }

    pub async fn create_account(
        &self,
        host: &str,
        handle: &str,
        password: &str,
    ) -> anyhow::Result<()> {
        let issuer = format!("https://{host}");
        self.cli(
            &[
                "account",
                "create",
                "--tenant",
                &issuer,
                "--handle",
                handle,
                "--password-stdin",
            ],
            Some(password),
        )
        .await
        .map(drop)
    }

    /// Starts `serve` on a free loopback port; returns when `/readyz` answers 200.
    pub async fn serve(&self, extra: &[&str]) -> anyhow::Result<Server> {
        let log_path = self.data_dir.join(format!(
            "serve-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis()
        ));
        let log = std::fs::File::create(&log_path)?;
        let mut cmd = self.command();
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .with_context(|| format!("{}", self.bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr: SocketAddr = loop {
            let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
                .await
                .context("atauth did not print its address within 30 s")??;
            let Some(line) = line else {
                bail!(
                    "atauth exited before listening; log: {}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            };
            if let Some(rest) = line.strip_prefix("atauth listening on http://") {
                break rest.trim().parse()?;
            }
        };
        let listening = start.elapsed();
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let probe = reqwest::Client::builder().no_proxy().build()?;
        let ready = loop {
            if let Ok(r) = probe.get(format!("http://{addr}/readyz")).send().await {
                if r.status() == 200 {
                    break start.elapsed();
                }
            }
            if start.elapsed() > Duration::from_secs(30) {
                bail!("atauth not ready within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let pid = child.id().context("child has no pid")?;
        Ok(Server {
            child,
            pid,
            addr,
            listening,
            ready,
            log_path,
        })
    }
}

pub struct Server {
    child: Child,
    pub pid: u32,
    pub addr: SocketAddr,
    /// Spawn to the "listening" line.
    pub listening: Duration,
    /// Spawn to the first 200 from /readyz.
    pub ready: Duration,
    pub log_path: PathBuf,
}

impl Server {
    pub fn rss_kb(&self) -> anyhow::Result<u64> {
        rss_kb(self.pid)
    }

    /// SIGTERM (graceful shutdown), then SIGKILL after 10 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        #[allow(
            unsafe_code,
            reason = "std and tokio only send SIGKILL; the graceful shutdown needs SIGTERM"
        )]
        // SAFETY: kill(2) on the pid of our own child, which we have not reaped yet.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await?;
        }
        // Surface anything the server logged at warn or above (ATAUTH_LOG=warn).
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
        if !lines.is_empty() {
            eprintln!(
                "  server log ({} lines, last: {})",
                lines.len(),
                lines.last().copied().unwrap_or("")
            );
        }
        Ok(())
    }
}

/// VmRSS of a process, in KiB.
pub fn rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS")
}

/// User + system CPU time of a process (all threads) from a `/proc/.../stat` file.
pub fn cpu_time(stat_path: &str) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(stat_path)?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').context("bad stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5); `rest` starts at field 3.
    let utime: u64 = fields.get(11).context("utime")?.parse()?;
    let stime: u64 = fields.get(12).context("stime")?.parse()?;
    #[allow(
        unsafe_code,
        reason = "the clock tick converting /proc times is only known to sysconf"
    )]
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(Duration::from_micros((utime + stime) * 1_000_000 / hz))
}

/// Our own CPU time (the load generator).
pub fn own_cpu() -> Duration {
    cpu_time("/proc/self/stat").unwrap_or_default()
}

/// The release binary next to this one (`target/release/atauth` under `cargo run --release`).
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("atauth")))
        .unwrap_or_else(|| PathBuf::from("target/release/atauth"))
}

pub fn check_binary(bin: &Path) -> anyhow::Result<()> {
    if !bin.is_file() {
        bail!(
            "{} not found: build it first with `cargo build --release -p atauth` (or pass --atauth PATH)",
            bin.display()
        );
    }
    Ok(())
}
