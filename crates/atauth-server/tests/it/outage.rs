//! Outages of the services atauth depends on, over HTTP: while Redis (the replay cache) or
//! PostgreSQL is unreachable, OAuth endpoints answer 503 `temporarily_unavailable` (never
//! accepting a request whose replay could not be checked), `/readyz` answers 503, and the same
//! server recovers by itself once the service is back.
//!
//! The tests start and stop their own Redis and PostgreSQL servers (`redis-server`, and
//! `initdb`/`pg_ctl`); they are skipped when those are missing, unless
//! `ATAUTH_REQUIRE_SERVICES=1`.

use crate::common::*;
use crate::services::*;
use atauth_store::postgres::{PostgresOptions, PostgresStore};
use atauth_store::replay::RedisOptions;
use atauth_store::sqlite::SqliteStore;
use atauth_store::{DatabaseReplayStore, RedisReplayStore, ReplayStore, Store};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest a refused request may take while a service is down (timeouts are 1-2 s).
const REFUSAL_BOUND: Duration = Duration::from_secs(8);
/// Longest the server may take to serve again once a service is back.
const RECOVERY_BOUND: Duration = Duration::from_secs(20);

async fn sqlite_store() -> Arc<dyn Store> {
    Arc::new(SqliteStore::open_in_memory().await.expect("sqlite"))
}

fn redis_replay(url: &str) -> Arc<dyn ReplayStore> {
    Arc::new(RedisReplayStore::with_options(url, RedisOptions::default()).expect("redis"))
}

async fn readyz(server: &TestServer) -> u16 {
    server
        .get(COOP_A, "/readyz")
        .send()
        .await
        .expect("readyz")
        .status()
        .as_u16()
}

/// Asserts a 503 `temporarily_unavailable` JSON answer.
async fn assert_unavailable(response: reqwest::Response) {
    let (status, body): (u16, Value) = status_json(response).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
}

/// PAR through the client's nonce retry, timed.
async fn timed_par(client: &TestClient<'_>) -> (reqwest::Response, Duration) {
    let started = Instant::now();
    let response = client.par_with(&[]).await;
    (response, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_redis_refuses_dpop_requests_with_503() {
    // Nothing listens on the port: every replay check fails.
    let closed = ClosedPort::reserve();
    let url = format!("redis://127.0.0.1:{}", closed.port());
    let server = TestServer::start_on(sqlite_store().await, redis_replay(&url)).await;
    let client = TestClient::loopback(&server, COOP_A);

    let (response, took) = timed_par(&client).await;
    assert_unavailable(response).await;
    assert!(took < REFUSAL_BOUND, "{took:?}");

    let started = Instant::now();
    let response = client.exchange("some-code", "some-verifier").await;
    assert_unavailable(response).await;
    assert!(started.elapsed() < REFUSAL_BOUND, "{:?}", started.elapsed());

    assert_eq!(readyz(&server).await, 503);
    // Endpoints without replay checks still answer.
    let response = server
        .get(COOP_A, "/.well-known/oauth-authorization-server")
        .send()
        .await
        .expect("metadata");
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_down_fails_closed_and_recovers() {
    let mut redis = match RedisServer::start() {
        Ok(r) => r,
        Err(why) => return unavailable("a Redis server", why).unwrap_or(()),
    };
    let server = TestServer::start_on(sqlite_store().await, redis_replay(&redis.url())).await;
    let client = TestClient::loopback(&server, COOP_A);
    assert_eq!(readyz(&server).await, 200);

    // A code obtained while Redis is up.
    let (par, code) = client
        .authorize("atproto transition:generic", "alice.coop-a.test")
        .await;

    redis.stop();
    let (response, took) = timed_par(&client).await;
    assert_unavailable(response).await;
    assert!(took < REFUSAL_BOUND, "{took:?}");
    // The exchange is refused before the code is looked at, so it is not burnt.
    let started = Instant::now();
    let response = client.exchange(&code, &par.verifier).await;
    assert_unavailable(response).await;
    assert!(started.elapsed() < REFUSAL_BOUND, "{:?}", started.elapsed());
    assert_eq!(readyz(&server).await, 503);

    // Back (empty: no persistence), same server, no restart.
    redis.restart().expect("restart redis");
    assert!(
        eventually(RECOVERY_BOUND, || async { readyz(&server).await == 200 }).await,
        "not ready again after Redis came back"
    );
    let response = client.par_with(&[]).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    let response = client.exchange(&code, &par.verifier).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_down_gives_503_and_the_same_server_recovers() {
    let cluster = match Cluster::init() {
        Ok(c) => c,
        Err(why) => return unavailable("a throw-away PostgreSQL", why).unwrap_or(()),
    };
    cluster.start().expect("start postgres");
    let options = PostgresOptions {
        max_connections: 4,
        acquire_timeout: Duration::from_secs(1),
        ..PostgresOptions::default()
    };
    let store = PostgresStore::connect_with(&cluster.url(), options)
        .await
        .expect("postgres");
    let server = TestServer::start_on(Arc::new(store), Arc::new(DatabaseReplayStore)).await;
    let client = TestClient::loopback(&server, COOP_A);
    assert_eq!(readyz(&server).await, 200);
    let (par, code) = client
        .authorize("atproto transition:generic", "alice.coop-a.test")
        .await;

    cluster.stop().expect("stop postgres");
    // coop-a is cached: its DPoP replay check (in the database) fails.
    let (response, took) = timed_par(&client).await;
    assert_unavailable(response).await;
    assert!(took < REFUSAL_BOUND, "{took:?}");
    let response = client.exchange(&code, &par.verifier).await;
    assert_unavailable(response).await;
    // coop-b was never loaded: resolving its host fails, which is a 503, not an unknown host.
    let started = Instant::now();
    let response = server
        .get(COOP_B, "/.well-known/oauth-authorization-server")
        .send()
        .await
        .expect("metadata");
    assert_unavailable(response).await;
    assert!(started.elapsed() < REFUSAL_BOUND, "{:?}", started.elapsed());
    let response = server
        .post_form(COOP_B, "/oauth/par", &[("client_id", "x")], None)
        .await;
    assert_unavailable(response).await;
    assert_eq!(readyz(&server).await, 503);

    cluster.start().expect("restart postgres");
    assert!(
        eventually(RECOVERY_BOUND, || async { readyz(&server).await == 200 }).await,
        "not ready again after PostgreSQL came back"
    );
    let response = server
        .get(COOP_B, "/.well-known/oauth-authorization-server")
        .send()
        .await
        .expect("metadata");
    assert_eq!(response.status(), 200);
    let response = client.par_with(&[]).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    let response = client.exchange(&code, &par.verifier).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}
