//! Replay caches: the database one (delegating to `record_once`) and the Redis one (shared
//! Redis from `ATAUTH_TEST_REDIS_URL`, plus servers the tests start and kill themselves).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and databases, on real time, with real keys"
)]

mod common;

use atauth_store::replay::{redis_key, RedisOptions};
use atauth_store::sqlite::SqliteStore;
use atauth_store::{
    DatabaseReplayStore, RedisReplayStore, ReplayStore, Store, StoreError, TenantRepo,
};
use atauth_test_support::net::ClosedPort;
use atauth_test_support::redis::RedisServer;
use atauth_test_support::services::has_program;
use atauth_test_support::services::{redis_url, services_required, REQUIRE_SERVICES_VAR};
use common::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Two tenants' repositories (a Redis replay cache only takes their ids).
async fn two_repos() -> (Arc<dyn Store>, Arc<dyn TenantRepo>, Arc<dyn TenantRepo>) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let a = tenant(&*store, "coop-a").await;
    let b = tenant(&*store, "coop-b").await;
    let (ra, rb) = (store.tenant_repo(&a), store.tenant_repo(&b));
    (store, ra, rb)
}

/// The semantics every replay cache has.
async fn single_use_semantics(
    replay: &dyn ReplayStore,
    a: &Arc<dyn TenantRepo>,
    b: &Arc<dyn TenantRepo>,
) {
    let (ra, rb) = (replay.tenant_replay(a), replay.tenant_replay(b));
    let key = unique("jkt:jti");
    assert!(ra.record_once("dpop", &key, NOW + 60, NOW).await.unwrap());
    assert!(!ra.record_once("dpop", &key, NOW + 60, NOW).await.unwrap());
    assert!(!ra
        .record_once("dpop", &key, NOW + 600, NOW + 1)
        .await
        .unwrap());
    // Other namespace, other tenant: independent.
    assert!(ra
        .record_once("client_assertion", &key, NOW + 60, NOW)
        .await
        .unwrap());
    assert!(rb.record_once("dpop", &key, NOW + 60, NOW).await.unwrap());
    // A second handle on the same tenant sees the marker.
    assert!(!replay
        .tenant_replay(a)
        .record_once("dpop", &key, NOW + 60, NOW)
        .await
        .unwrap());
    replay.ping().await.unwrap();
}

#[tokio::test]
async fn database_replay_store_delegates_to_record_once() {
    let (_store, a, b) = two_repos().await;
    let replay = DatabaseReplayStore;
    assert_eq!(replay.kind(), "database");
    single_use_semantics(&replay, &a, &b).await;
    // The marker is the repository's own.
    let key = unique("k");
    assert!(replay
        .tenant_replay(&a)
        .record_once("dpop", &key, NOW + 60, NOW)
        .await
        .unwrap());
    assert!(!a.record_once("dpop", &key, NOW + 60, NOW).await.unwrap());
    // Expired markers count as new (database semantics, on the caller's clock).
    assert!(replay
        .tenant_replay(&a)
        .record_once("dpop", &key, NOW + 200, NOW + 61)
        .await
        .unwrap());
}

#[tokio::test]
async fn redis_markers_are_single_use_per_tenant_and_namespace() {
    let Some(url) = redis_url() else { return };
    let (_store, a, b) = two_repos().await;
    let replay = RedisReplayStore::new(&url).unwrap();
    assert_eq!(replay.kind(), "redis");
    single_use_semantics(&replay, &a, &b).await;
}

#[tokio::test]
async fn redis_instances_share_markers_and_exactly_one_concurrent_caller_wins() {
    let Some(url) = redis_url() else { return };
    let (_store, a, _) = two_repos().await;
    // Two "instances", each with its own connection.
    let one = RedisReplayStore::new(&url).unwrap();
    let two = RedisReplayStore::new(&url).unwrap();
    let key = unique("shared");
    assert!(one
        .tenant_replay(&a)
        .record_once("dpop", &key, NOW + 60, NOW)
        .await
        .unwrap());
    assert!(!two
        .tenant_replay(&a)
        .record_once("dpop", &key, NOW + 60, NOW)
        .await
        .unwrap());

    let key = unique("race");
    let mut tasks = Vec::new();
    for i in 0..16 {
        let replay = if i % 2 == 0 { one.clone() } else { two.clone() };
        let bound = replay.tenant_replay(&a);
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            bound
                .record_once("dpop", &key, NOW + 60, NOW)
                .await
                .unwrap()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn redis_markers_expire_with_their_lifetime() {
    let Some(url) = redis_url() else { return };
    let (_store, a, _) = two_repos().await;
    let replay = RedisReplayStore::new(&url).unwrap().tenant_replay(&a);
    let key = unique("short");
    // One second (the shortest lifetime).
    assert!(replay
        .record_once("dpop", &key, NOW + 1, NOW)
        .await
        .unwrap());
    assert!(!replay
        .record_once("dpop", &key, NOW + 1, NOW)
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(replay
        .record_once("dpop", &key, NOW + 1, NOW)
        .await
        .unwrap());
    assert_eq!(
        redis_key(a.tenant_id(), "dpop", "x"),
        format!("atauth:{}:dpop:x", a.tenant_id())
    );
}

#[tokio::test]
async fn unreachable_or_silent_redis_is_unavailable_within_the_timeout() {
    let (_store, a, _) = two_repos().await;
    let options = RedisOptions {
        connection_timeout: Duration::from_millis(500),
        response_timeout: Duration::from_millis(500),
        operation_timeout: Duration::from_secs(1),
    };
    // Nothing listening.
    let closed_port = ClosedPort::reserve();
    let closed = format!("redis://127.0.0.1:{}", closed_port.port());
    // A TCP peer that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("redis://127.0.0.1:{}", silent.local_addr().unwrap().port());
    for url in [closed, silent_url] {
        let replay = RedisReplayStore::with_options(&url, options).unwrap();
        for _ in 0..2 {
            let started = Instant::now();
            let r = replay
                .tenant_replay(&a)
                .record_once("dpop", &unique("k"), NOW + 60, NOW)
                .await;
            assert!(matches!(r, Err(StoreError::Unavailable(_))), "{url}: {r:?}");
            assert!(matches!(
                replay.ping().await,
                Err(StoreError::Unavailable(_))
            ));
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{url}: {:?}",
                started.elapsed()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_fails_closed_then_recovers_without_a_new_store() {
    if !has_program("redis-server") {
        assert!(
            !services_required(),
            "{REQUIRE_SERVICES_VAR}=1 but no redis-server"
        );
        eprintln!("skipped: no redis-server");
        return;
    }
    let (_store, a, _) = two_repos().await;
    let mut server = RedisServer::start().expect("redis-server");
    let replay = RedisReplayStore::new(&server.url()).unwrap();
    let bound = replay.tenant_replay(&a);
    assert!(bound
        .record_once("dpop", "k1", NOW + 60, NOW)
        .await
        .unwrap());

    server.stop();
    for key in ["k1", "k2"] {
        let started = Instant::now();
        let r = bound.record_once("dpop", key, NOW + 60, NOW).await;
        assert!(matches!(r, Err(StoreError::Unavailable(_))), "{r:?}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
    }

    server.restart().expect("redis-server restarts");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match bound.record_once("dpop", "k2", NOW + 60, NOW).await {
            Ok(first) => {
                assert!(first);
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "no recovery: {e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!bound
        .record_once("dpop", "k2", NOW + 60, NOW)
        .await
        .unwrap());
    replay.ping().await.unwrap();
}
