//! "Is this session live": `Session::is_live` is the one definition, and the SQL predicate of
//! every backend (used by the bound refresh rotation and the active-session count) must agree
//! with it at every boundary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and databases, on real time, with real keys"
)]

mod common;

use atauth_store::{BoundRotation, NewSession, Session, Store};
use common::*;

/// The instant the sessions are judged at.
const AT: i64 = NOW + 1_000;

/// Every combination of the three conditions, each on both sides of `AT` and at it:
/// revoked or not, no end or an end before / at / after `AT`, and a refresh deadline before /
/// at / after `AT`.
fn sessions_at_the_boundaries() -> Vec<(Option<i64>, NewSession)> {
    let mut cases = Vec::new();
    for revoked_at in [None, Some(AT - 1)] {
        for expires_at in [None, Some(AT - 1), Some(AT), Some(AT + 1)] {
            for refresh_expires_at in [AT - 1, AT, AT + 1] {
                let mut session = new_session("s", "req", "r0");
                session.expires_at = expires_at;
                session.refresh_expires_at = refresh_expires_at;
                cases.push((revoked_at, session));
            }
        }
    }
    cases
}

/// Stores `session` alone in a tenant of its own (so that the per-tenant count names it), and
/// revokes it at `revoked_at` if given. Returns the tenant's issuer and the stored session.
async fn store_alone(
    store: &dyn Store,
    label: &str,
    revoked_at: Option<i64>,
    session: NewSession,
) -> (String, Session) {
    let tenant = tenant(store, label).await;
    let repo = store.tenant_repo(&tenant);
    repo.create_session(session).await.unwrap();
    if let Some(at) = revoked_at {
        repo.revoke_session("s", at).await.unwrap();
    }
    let stored = repo.session_by_id("s").await.unwrap().unwrap();
    (tenant.issuer, stored)
}

#[tokio::test]
async fn the_sql_predicate_agrees_with_session_is_live() {
    for b in backends().await {
        let s = &*b.store;
        let mut live_by_rust = Vec::new();
        let mut live_by_rotation = Vec::new();
        for (i, (revoked_at, session)) in sessions_at_the_boundaries().into_iter().enumerate() {
            let (issuer, stored) = store_alone(s, &format!("case-{i}"), revoked_at, session).await;
            if stored.is_live(AT) {
                live_by_rust.push(issuer.clone());
            }
            // Everything but liveness matches, so the rotation happens exactly when the SQL
            // predicate keeps the session. (Without an inactivity deadline the refresh deadline
            // stays as it was, so the session's liveness is unchanged for the count below.)
            let rotation = BoundRotation {
                new_hash: "r1".into(),
                now: AT,
                client_id: stored.client_id.clone(),
                dpop_jkt: stored.dpop_jkt.clone(),
                client_key_thumbprint: stored.client_key_thumbprint.clone(),
                inactivity_deadline: None,
            };
            let repo = s.tenant_repo(&s.tenant_by_issuer(&issuer).await.unwrap().unwrap());
            if repo
                .rotate_refresh_bound("r0", &rotation)
                .await
                .unwrap()
                .is_some()
            {
                live_by_rotation.push(issuer);
            }
        }
        let mut live_by_count: Vec<String> = s
            .active_sessions(AT)
            .await
            .unwrap()
            .into_iter()
            .map(|(issuer, count)| {
                assert_eq!(count, 1, "{}: {issuer}", b.name);
                issuer
            })
            .collect();
        live_by_count.sort();
        live_by_rust.sort();
        live_by_rotation.sort();
        // Live: not revoked, end absent or after AT, refresh deadline after AT.
        assert_eq!(live_by_rust.len(), 2, "{}", b.name);
        assert_eq!(live_by_count, live_by_rust, "{}", b.name);
        assert_eq!(live_by_rotation, live_by_rust, "{}", b.name);
    }
}
