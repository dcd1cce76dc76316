//! A Redis server of the test's own, to stop and restart (outage tests).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `redis-server` without persistence, listening only on a Unix socket in a directory of its
/// own (no TCP port to race for; the same address across restarts). Killed on drop.
pub struct RedisServer {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one, or says why it cannot.
    pub fn start() -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("atauth-redis-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let mut server = Self { dir, child: None };
        server.restart()?;
        Ok(server)
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    /// (Re)starts the server on the same socket and waits until it accepts connections.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        let socket = self.socket();
        let _ = std::fs::remove_file(&socket);
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args([
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "redis-server did not listen on {}",
            socket.display()
        ))
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
