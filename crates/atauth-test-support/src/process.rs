//! A child process that serves (the `atauth` binary): started with none of the caller's
//! `ATAUTH_*` variables, asked to listen where it may, and read for the addresses it prints
//! once it listens (`atauth listening on http://ADDR`, and the admin and metrics listeners).

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a served process may take to say where it listens.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// `bin` with `args`, without the `ATAUTH_*` variables of the caller's environment.
pub fn clean_command(bin: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ATAUTH_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// A running server process, killed (through its own handle) when dropped. Its standard error
/// (the logs) is collected.
pub struct ServedProcess {
    child: Child,
    pub addr: SocketAddr,
    /// Whether it serves HTTPS (`atauth listening on https://…`).
    pub https: bool,
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
    /// Spawns `cmd` (a `serve` that listens on port 0, or on an address of its own) and waits
    /// for the address it prints; panics with its output if it exits or says nothing in time.
    pub fn spawn(cmd: Command) -> Self {
        Self::try_spawn(cmd).unwrap_or_else(|why| panic!("{why}"))
    }

    /// [`ServedProcess::spawn`], saying why the process did not come up (its output) instead of
    /// panicking, e.g. to try another address.
    pub fn try_spawn(mut cmd: Command) -> Result<Self, String> {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot spawn {cmd:?}: {e}"))?;
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            https: false,
            metrics_addr: None,
            admin_addr: None,
            banner: Vec::new(),
            _more: mpsc::channel().1,
            log: Arc::default(),
        };
        let mut err = server.child.stderr.take().expect("stderr");
        let log = server.log.clone();
        let stderr_reader = std::thread::spawn(move || {
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
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(e) => {
                    // Stdout closed (it exited) or the deadline passed: let it finish writing
                    // its error, then show everything it said.
                    let _ = server.child.kill();
                    let _ = server.child.wait();
                    let _ = stderr_reader.join();
                    return Err(format!(
                        "no listening address ({e:?}); stdout so far: {:?}; stderr: {}",
                        server.banner,
                        server.logs()
                    ));
                }
            };
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
            if let Some(url) = line.strip_prefix("atauth listening on https://") {
                server.addr = url.trim().parse().expect("address");
                server.https = true;
                break;
            }
        }
        server._more = rx;
        Ok(server)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Everything logged so far.
    pub fn logs(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `GET path` with `Host: host`, redirects not followed.
    pub async fn get(&self, host: &str, path: &str) -> reqwest::Response {
        crate::browser::http_client()
            .get(self.url(path))
            .header("host", host)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}; stderr: {}", self.logs()))
    }
}

/// Runs `cmd` to completion with `stdin`; panics unless it succeeds. Returns its stdout.
pub fn run_ok(mut cmd: Command, stdin: &str) -> String {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("stdin");
    }
    let output = child.wait_with_output().expect("output");
    assert!(
        output.status.success(),
        "{cmd:?}: exit {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
