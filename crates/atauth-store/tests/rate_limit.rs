//! Rate-limit counters: the same semantics on every database backend and on Redis
//! (`ATAUTH_TEST_REDIS_URL`); a closed Redis port is `Unavailable`, never a count.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and databases, on real time, with real keys"
)]

mod common;

use atauth_store::replay::RedisOptions;
use atauth_store::{RateLimitStore, RedisRateLimits, RedisReplayStore, StoreError, TenantId};
use atauth_test_support::net::ClosedPort;
use atauth_test_support::services::redis_url;
use common::*;
use std::time::Duration;

/// Counts within a window, per tenant and namespace, and `clear`.
async fn counting_semantics(limits: &dyn RateLimitStore, a: TenantId, b: TenantId, key: &str) {
    assert_eq!(limits.peek(a, "throttle", key, NOW).await.unwrap(), None);
    for expected in 1..=3 {
        let c = limits.hit(a, "throttle", key, 60, NOW).await.unwrap();
        assert_eq!(c.count, expected);
        assert!(c.resets_in_secs > 0 && c.resets_in_secs <= 60, "{c:?}");
    }
    let c = limits.peek(a, "throttle", key, NOW + 1).await.unwrap();
    assert_eq!(c.map(|c| c.count), Some(3));
    assert_eq!(
        limits.peek(b, "throttle", key, NOW + 1).await.unwrap(),
        None
    );
    assert_eq!(limits.peek(a, "other", key, NOW + 1).await.unwrap(), None);
    assert_eq!(
        limits.hit(b, "throttle", key, 60, NOW).await.unwrap().count,
        1
    );
    limits.clear(a, "throttle", key).await.unwrap();
    assert_eq!(
        limits.peek(a, "throttle", key, NOW + 1).await.unwrap(),
        None
    );
    assert_eq!(
        limits.hit(a, "throttle", key, 60, NOW).await.unwrap().count,
        1
    );
}

#[tokio::test]
async fn database_counters_count_per_tenant_and_restart_after_the_window() {
    for backend in backends().await {
        let store = &*backend.store;
        let (a, _, b, _) = two_tenants(store).await;
        let limits = store.rate_limits();
        assert_eq!(limits.kind(), "database", "{}", backend.name);
        counting_semantics(&*limits, a.id, b.id, "k1").await;

        // The window (60 s from the first hit at NOW) closes at NOW + 60.
        let c = limits.peek(a.id, "throttle", "k1", NOW + 59).await.unwrap();
        assert_eq!(c.map(|c| c.resets_in_secs), Some(1), "{}", backend.name);
        assert_eq!(
            limits.peek(a.id, "throttle", "k1", NOW + 60).await.unwrap(),
            None
        );
        let c = limits
            .hit(a.id, "throttle", "k1", 60, NOW + 60)
            .await
            .unwrap();
        assert_eq!((c.count, c.resets_in_secs), (1, 60), "{}", backend.name);

        // Purge drops closed windows only.
        limits.hit(a.id, "throttle", "k2", 10, NOW).await.unwrap();
        assert!(limits.purge_expired(NOW + 10).await.unwrap() >= 1);
        assert_eq!(
            limits.peek(a.id, "throttle", "k2", NOW).await.unwrap(),
            None
        );
        assert!(limits
            .peek(a.id, "throttle", "k1", NOW + 61)
            .await
            .unwrap()
            .is_some());
    }
}

#[tokio::test]
async fn database_counters_are_atomic_under_concurrent_hits() {
    for backend in parallel_backends().await {
        let store = &*backend.store;
        let (a, _, _, _) = two_tenants(store).await;
        let limits = store.rate_limits();
        let hits = (0..40).map(|_| {
            let limits = limits.clone();
            tokio::spawn(async move { limits.hit(a.id, "throttle", "k", 60, NOW).await })
        });
        let mut counts: Vec<u64> = Vec::new();
        for hit in hits {
            counts.push(hit.await.unwrap().unwrap().count);
        }
        counts.sort_unstable();
        assert_eq!(counts, (1..=40).collect::<Vec<_>>(), "{}", backend.name);
    }
}

#[tokio::test]
async fn redis_counters_have_the_same_semantics_under_namespaced_keys() {
    let Some(url) = redis_url() else {
        return;
    };
    let limits = RedisRateLimits::new(RedisReplayStore::new(&url).unwrap());
    assert_eq!(limits.kind(), "redis");
    let key = unique("k");
    // Tenant ids are free here: Redis only uses them in the key.
    counting_semantics(&limits, 901, 902, &key).await;
    let c = limits.hit(901, "throttle", &key, 60, NOW).await.unwrap();
    assert_eq!(c.count, 2);

    // The key is `atauth:{tenant}:{namespace}:{key}` and expires by itself.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stored_key = format!("atauth:901:throttle:{key}");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&stored_key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 60_000, "{ttl}");
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable_not_a_count() {
    let closed = ClosedPort::reserve();
    let port = closed.port();
    let options = RedisOptions {
        connection_timeout: Duration::from_millis(200),
        response_timeout: Duration::from_millis(200),
        operation_timeout: Duration::from_millis(500),
    };
    let redis =
        RedisReplayStore::with_options(&format!("redis://127.0.0.1:{port}/"), options).unwrap();
    let limits = RedisRateLimits::new(redis);
    assert!(matches!(
        limits.hit(1, "throttle", "k", 60, NOW).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        limits.peek(1, "throttle", "k", NOW).await,
        Err(StoreError::Unavailable(_))
    ));
}
