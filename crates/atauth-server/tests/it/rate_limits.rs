//! Sign-in throttling shared by several instances: failures counted at one instance lock the
//! account at the other, with the counters in Redis or in the shared PostgreSQL database; a
//! Redis that cannot be reached refuses sign-ins (503) instead of skipping the count.
//!
//! Needs `ATAUTH_TEST_POSTGRES_URL` and `ATAUTH_TEST_REDIS_URL` (`scripts/with-services`),
//! except the Redis-down test.

use crate::common::*;
use crate::services::*;
use atauth_store::postgres::PostgresStore;
use atauth_store::replay::RedisOptions;
use atauth_store::{DatabaseReplayStore, RedisReplayStore, ReplayStore, Store};
use std::sync::Arc;
use std::time::Duration;

/// Failed sign-ins that lock an account (`ui::throttle::MAX_FAILURES_PER_ACCOUNT`).
const ACCOUNT_LIMIT: usize = 10;
const LOCKED: &str = "Too many failed attempts";

/// Two instances over one fresh PostgreSQL database, with `replay` making each one's replay
/// store (and so the place of its rate-limit counters).
async fn two_instances(
    replay: impl Fn() -> Arc<dyn ReplayStore>,
) -> Option<(TestServer, TestServer, PgTestDatabase)> {
    let admin = postgres_url()?;
    let db = PgTestDatabase::create(&admin).await;
    let store = PostgresStore::connect(&db.url).await.expect("postgres");
    db.separate_tenant_ids().await;
    let one = TestServer::start_on(Arc::new(store), replay()).await;
    let other: Arc<dyn Store> = Arc::new(PostgresStore::connect(&db.url).await.expect("postgres"));
    let mut two = one.another_instance(replay()).await;
    two.store = other;
    Some((one, two, db))
}

/// Opens the sign-in page of a fresh request at `server` and submits `password` for alice.
async fn try_sign_in(server: &TestServer, password: &str) -> Page {
    let client = TestClient::loopback(server, COOP_A);
    let par = client.par("atproto transition:generic", &[]).await;
    let mut browser = Browser::new(server, COOP_A);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    browser
        .submit_sign_in(&page, "alice.coop-a.test", password)
        .await
}

/// Failures alternate between the instances; once the limit is reached, both refuse even the
/// right password.
async fn the_limit_is_shared(one: &TestServer, two: &TestServer) {
    for attempt in 0..ACCOUNT_LIMIT {
        let at = if attempt % 2 == 0 { one } else { two };
        let page = try_sign_in(at, "wrong password").await;
        assert!(page.body.contains("Wrong handle"), "{}", page.body);
    }
    for at in [one, two] {
        let page = try_sign_in(at, PASSWORD).await;
        assert!(page.body.contains(LOCKED), "{}", page.body);
        assert!(!page.body.contains("Allow"), "{}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_at_one_instance_lock_the_account_at_the_other_with_redis() {
    let Some(redis) = redis_url() else {
        return;
    };
    let replay = || -> Arc<dyn ReplayStore> {
        Arc::new(RedisReplayStore::new(&redis).expect("redis replay store"))
    };
    let Some((one, two, _db)) = two_instances(replay).await else {
        return;
    };
    the_limit_is_shared(&one, &two).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_at_one_instance_lock_the_account_at_the_other_with_the_database() {
    let Some((one, two, db)) = two_instances(|| Arc::new(DatabaseReplayStore)).await else {
        return;
    };
    the_limit_is_shared(&one, &two).await;

    // The counters are in the shared table, under hashed keys only.
    let store = PostgresStore::connect(&db.url).await.expect("postgres");
    let keys: Vec<(String,)> = sqlx::query_as("SELECT key FROM rate_limits")
        .fetch_all(store.pool())
        .await
        .expect("rate_limits");
    assert_eq!(keys.len(), 2, "{keys:?}");
    for (key,) in &keys {
        assert!(key.starts_with("throttle:"), "{key}");
        assert!(
            !key.contains("127.0.0.1") && !key.contains(&one.alice.id),
            "{key}"
        );
    }
    store.close().await;
}

#[tokio::test]
async fn a_success_resets_the_account_counter() {
    let server = TestServer::start().await;
    for _ in 0..ACCOUNT_LIMIT - 1 {
        try_sign_in(&server, "wrong password").await;
    }
    let page = try_sign_in(&server, PASSWORD).await;
    assert!(page.body.contains("Allow"), "{}", page.body);
    // The count started again: one more failure does not lock.
    let page = try_sign_in(&server, "wrong password").await;
    assert!(page.body.contains("Wrong handle"), "{}", page.body);
    let page = try_sign_in(&server, PASSWORD).await;
    assert!(page.body.contains("Allow"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_refused_while_redis_is_down() {
    let mut redis = match RedisServer::start() {
        Ok(redis) => redis,
        Err(why) => return unavailable("a Redis server", why).unwrap_or(()),
    };
    let options = RedisOptions {
        connection_timeout: Duration::from_millis(200),
        response_timeout: Duration::from_millis(200),
        operation_timeout: Duration::from_millis(500),
    };
    let replay = RedisReplayStore::with_options(&redis.url(), options).expect("redis");
    let dir = tempfile::tempdir().expect("dir");
    let sqlite = atauth_store::sqlite::SqliteStore::open(&dir.path().join("atauth.db"))
        .await
        .expect("store");
    let server = TestServer::start_on(Arc::new(sqlite), Arc::new(replay)).await;

    // A request pushed and its sign-in page opened while Redis is up ...
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto transition:generic", &[]).await;
    let mut browser = Browser::new(&server, COOP_A);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200, "{}", page.body);

    // ... then Redis goes away: the sign-in is refused, not let through uncounted.
    redis.stop();
    let refused = browser
        .submit_sign_in(&page, "alice.coop-a.test", PASSWORD)
        .await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(!refused.body.contains("Allow"), "{}", refused.body);

    // Back up: the same form goes through.
    redis.restart().expect("restart redis");
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let done = browser
        .submit_sign_in(&page, "alice.coop-a.test", PASSWORD)
        .await;
    assert!(done.body.contains("Allow"), "{}", done.body);
}
