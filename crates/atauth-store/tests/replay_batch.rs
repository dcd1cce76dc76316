//! Batched replay markers: `record_once_batch` on every backend, and the batcher that the
//! database replay cache puts in front of it, under real parallelism.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and databases, on real time, with real keys"
)]

mod common;

use atauth_store::{DatabaseReplayStore, ReplayMarker, ReplayStore};
use common::*;
use std::sync::Arc;
use tokio::sync::Barrier;

fn marker(namespace: &str, key: &str, expires_at: i64) -> ReplayMarker {
    ReplayMarker {
        namespace: namespace.into(),
        key: key.into(),
        expires_at,
    }
}

#[tokio::test]
async fn a_batch_reports_new_live_and_expired_markers_in_order() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        assert!(ra.record_once("dpop", "live", NOW + 60, NOW).await.unwrap());
        assert!(ra.record_once("dpop", "old", NOW + 5, NOW).await.unwrap());
        let now = NOW + 10;
        let batch = [
            marker("dpop", "new-1", now + 60),
            marker("dpop", "live", now + 60),
            marker("dpop", "old", now + 60),
            marker("client_assertion", "live", now + 60),
            marker("dpop", "new-2", now + 60),
        ];
        let firsts = ra.record_once_batch(&batch, now).await.unwrap();
        assert_eq!(firsts, [true, false, true, true, true], "{}", b.name);
        // Everything the batch recorded is now live.
        let again = ra.record_once_batch(&batch, now).await.unwrap();
        assert_eq!(again, [false; 5], "{}", b.name);
        assert!(ra.record_once_batch(&[], now).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_batch_is_bound_to_its_tenant() {
    for b in backends().await {
        let (_, ra, _, rb) = two_tenants(&*b.store).await;
        let batch = [marker("dpop", "k", NOW + 60)];
        assert_eq!(ra.record_once_batch(&batch, NOW).await.unwrap(), [true]);
        assert_eq!(
            rb.record_once_batch(&batch, NOW).await.unwrap(),
            [true],
            "{}: the same key at another tenant is another marker",
            b.name
        );
        assert!(!ra.record_once("dpop", "k", NOW + 60, NOW).await.unwrap());
    }
}

/// Many callers at once, with every key sent by several of them: each key is new for exactly
/// one caller, whether its copies land in one batch or in several.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_batcher_answers_each_marker_new_exactly_once() {
    const CALLERS: usize = 96;
    const KEYS: usize = 24;
    for b in parallel_backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        let replay = DatabaseReplayStore.tenant_replay(&ra);
        let barrier = Arc::new(Barrier::new(CALLERS));
        let tasks: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (replay, barrier) = (replay.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let key = format!("jti-{}", i % KEYS);
                    let first = replay.record_once("dpop", &key, NOW + 60, NOW).await;
                    (key, first.unwrap())
                })
            })
            .collect();
        let mut new_per_key = std::collections::HashMap::new();
        for task in tasks {
            let (key, first) = task.await.unwrap();
            *new_per_key.entry(key).or_insert(0) += usize::from(first);
        }
        assert_eq!(new_per_key.len(), KEYS);
        assert!(
            new_per_key.values().all(|&n| n == 1),
            "{}: {new_per_key:?}",
            b.name
        );
        // And the markers are in the database, for other instances to see.
        assert!(!ra
            .record_once("dpop", "jti-0", NOW + 60, NOW)
            .await
            .unwrap());
    }
}

#[tokio::test]
async fn the_batcher_takes_over_expired_markers_only() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        let replay = DatabaseReplayStore.tenant_replay(&ra);
        assert!(replay
            .record_once("dpop", "k", NOW + 60, NOW)
            .await
            .unwrap());
        assert!(!replay
            .record_once("dpop", "k", NOW + 120, NOW + 59)
            .await
            .unwrap());
        assert!(replay
            .record_once("dpop", "k", NOW + 120, NOW + 60)
            .await
            .unwrap());
    }
}

/// A database that stops answering makes the batcher's callers fail, never succeed.
#[tokio::test]
async fn the_batcher_fails_closed() {
    let b = sqlite_file().await;
    let (_, ra, _, _) = two_tenants(&*b.store).await;
    let replay = DatabaseReplayStore.tenant_replay(&ra);
    b.store.close().await;
    let result = replay.record_once("dpop", "k", NOW + 60, NOW).await;
    assert!(
        matches!(result, Err(atauth_store::StoreError::Unavailable(_))),
        "{result:?}"
    );
}
