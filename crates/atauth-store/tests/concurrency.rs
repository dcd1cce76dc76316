//! Single-use artefacts under real parallelism: N tasks on a multi-threaded runtime race through
//! a pool of several connections; exactly one wins.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and databases, on real time, with real keys"
)]

mod common;

use atauth_store::{CodeConsumption, Rotation, TenantRepo};
use common::*;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Barrier;

const N: usize = 32;

/// Runs `op(i)` in N tasks released together; returns their results.
async fn race<T, F, Fut>(repo: Arc<dyn TenantRepo>, op: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Arc<dyn TenantRepo>, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(N));
    let op = Arc::new(op);
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (barrier, op, repo) = (barrier.clone(), op.clone(), repo.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                op(repo, i).await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(N);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn all_backends() -> Vec<Backend> {
    // The parallel (file) backend is the point; the single-connection one must agree.
    let mut v = parallel_backends().await;
    v.push(sqlite_memory().await);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consume_code_once() {
    for b in all_backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        approved_request(&*ra, "req-1", "code-1").await;
        let results = race(ra, |repo, i| async move {
            repo.consume_code("code-1", NOW + i as i64).await.unwrap()
        })
        .await;
        let consumed = results
            .iter()
            .filter(|r| matches!(r, CodeConsumption::Consumed(_)))
            .count();
        let reused = results
            .iter()
            .filter(|r| matches!(r, CodeConsumption::Reused(_)))
            .count();
        assert_eq!((consumed, reused), (1, N - 1), "{}", b.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotate_refresh_once() {
    for b in all_backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        session(&*ra, "s1", "req-1", "r0").await;
        let results = race(ra.clone(), |repo, i| async move {
            let rotation = Rotation {
                new_hash: format!("r-{i}"),
                refresh_expires_at: NOW + 86_400,
                now: NOW + 1,
            };
            repo.rotate_refresh("r0", rotation).await.unwrap()
        })
        .await;
        let winners: Vec<_> = results.into_iter().flatten().collect();
        assert_eq!(winners.len(), 1, "{}", b.name);
        let current = ra.session_by_id("s1").await.unwrap().unwrap();
        assert_eq!(current, winners[0]);
        assert_eq!(current.previous_refresh_hash.as_deref(), Some("r0"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn record_once_once() {
    for b in all_backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        let results = race(ra, |repo, _| async move {
            repo.record_once("dpop", "jti-1", NOW + 60, NOW)
                .await
                .unwrap()
        })
        .await;
        assert_eq!(results.iter().filter(|&&r| r).count(), 1, "{}", b.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn record_once_of_an_expired_key_once() {
    for b in all_backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        assert!(ra
            .record_once("dpop", "jti-1", NOW + 60, NOW)
            .await
            .unwrap());
        let results = race(ra, |repo, _| async move {
            repo.record_once("dpop", "jti-1", NOW + 200, NOW + 100)
                .await
                .unwrap()
        })
        .await;
        assert_eq!(results.iter().filter(|&&r| r).count(), 1, "{}", b.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approve_request_once() {
    for b in all_backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        ra.insert_request(new_request("req-1")).await.unwrap();
        let results = race(ra.clone(), |repo, i| async move {
            repo.approve_request(
                "req-1",
                approval(&format!("acct-{i}"), &format!("code-{i}")),
            )
            .await
            .unwrap()
        })
        .await;
        let winners: Vec<_> = results.iter().enumerate().filter(|(_, &w)| w).collect();
        assert_eq!(winners.len(), 1, "{}", b.name);
        let winner = winners[0].0;
        let r = ra.request_by_id("req-1").await.unwrap().unwrap();
        assert_eq!(r.approval.unwrap().account_id, format!("acct-{winner}"));
        // Only the winner's code exists.
        for i in 0..N {
            let c = ra.consume_code(&format!("code-{i}"), NOW).await.unwrap();
            assert_eq!(matches!(c, CodeConsumption::Consumed(_)), i == winner);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn secret_get_or_create_agrees() {
    for b in all_backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        let results = race(ra, |repo, i| async move {
            repo.secret_get_or_create("cookie", format!("candidate-{i}").as_bytes())
                .await
                .unwrap()
        })
        .await;
        assert!(results.windows(2).all(|w| w[0] == w[1]), "{}", b.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bind_request_device_once() {
    for b in all_backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        ra.insert_request(new_request("req-1")).await.unwrap();
        let results = race(ra, |repo, i| async move {
            repo.bind_request_device("req-1", &format!("dev-{i}"), NOW + 600)
                .await
                .unwrap()
        })
        .await;
        assert!(
            results.iter().all(|r| r.is_some() && *r == results[0]),
            "{}",
            b.name
        );
    }
}
