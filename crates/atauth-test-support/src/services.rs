//! The external services of a test run: the shared PostgreSQL and Redis of
//! `scripts/with-services` (`ATAUTH_TEST_POSTGRES_URL`, `ATAUTH_TEST_REDIS_URL`).
//!
//! Without the variables, tests that need them are skipped (saying so); with
//! `ATAUTH_REQUIRE_SERVICES=1` (CI) they fail instead, so a run cannot pass without them.

use std::time::{Duration, Instant};

pub const POSTGRES_URL_VAR: &str = "ATAUTH_TEST_POSTGRES_URL";
pub const REDIS_URL_VAR: &str = "ATAUTH_TEST_REDIS_URL";
pub const REQUIRE_SERVICES_VAR: &str = "ATAUTH_REQUIRE_SERVICES";

/// Whether the environment demands every external service (`ATAUTH_REQUIRE_SERVICES=1`).
pub fn services_required() -> bool {
    std::env::var(REQUIRE_SERVICES_VAR).is_ok_and(|v| v == "1" || v == "true")
}

/// The URL in `var`; `None` (the test skips) when unset, a panic when services are required.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if services_required() => panic!(
            "{REQUIRE_SERVICES_VAR}=1 but {var} is not set. Run the tests through \
             scripts/with-services, or set {var}."
        ),
        _ => {
            eprintln!("skipped: {var} is not set");
            None
        }
    }
}

/// The shared PostgreSQL server's URL (`postgres://USER@HOST:PORT/DB`), if configured.
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

/// Whether `program --version` runs here.
pub fn has_program(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Polls `check` until it holds, for at most `limit`: for state that another process (a
/// restarted server) reaches in its own time.
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
