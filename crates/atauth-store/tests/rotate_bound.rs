//! The one-statement refresh rotation: every backend's SQL must agree with
//! `BoundRotation::matches` and `refresh_deadline`, condition by condition.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and databases, on real time, with real keys"
)]

mod common;

use atauth_store::{BoundRotation, NewSession};
use common::*;

const CLIENT: &str = "https://app.example/client-metadata.json";

fn rotation(now: i64) -> BoundRotation {
    BoundRotation {
        new_hash: "r1".into(),
        now,
        client_id: CLIENT.into(),
        dpop_jkt: "jkt-1".into(),
        client_key_thumbprint: None,
        inactivity_deadline: None,
    }
}

/// Sessions and rotations that differ from the matching pair in one respect each.
fn cases() -> Vec<(&'static str, NewSession, BoundRotation)> {
    let base = || new_session("s1", "req-1", "r0");
    let now = NOW + 60;
    let mut v = Vec::new();
    v.push(("matching, public", base(), rotation(now)));
    let mut r = rotation(now);
    r.inactivity_deadline = Some(now + 3_600);
    v.push(("matching, confidential, inactivity first", base(), r));
    let mut r = rotation(now);
    r.inactivity_deadline = Some(NOW + 30 * 86_400);
    v.push(("matching, confidential, session end first", base(), r));
    let mut s = base();
    s.expires_at = None;
    let mut r = rotation(now);
    r.inactivity_deadline = Some(now + 3_600);
    v.push(("matching, confidential, no session end", s, r));
    let mut s = base();
    s.client_key_thumbprint = Some("key-1".into());
    let mut r = rotation(now);
    r.client_key_thumbprint = Some("key-1".into());
    v.push(("matching client key", s, r));
    let mut r = rotation(now);
    r.client_id = "https://other.example/client-metadata.json".into();
    v.push(("another client", base(), r));
    let mut r = rotation(now);
    r.dpop_jkt = "jkt-2".into();
    v.push(("another DPoP key", base(), r));
    let mut r = rotation(now);
    r.client_key_thumbprint = Some("key-1".into());
    v.push(("a client key where the session has none", base(), r));
    let mut s = base();
    s.client_key_thumbprint = Some("key-1".into());
    v.push((
        "no client key where the session has one",
        s.clone(),
        rotation(now),
    ));
    let mut r = rotation(now);
    r.client_key_thumbprint = Some("key-2".into());
    v.push(("another client key", s, r));
    let mut s = base();
    s.expires_at = Some(now);
    v.push(("session ended", s, rotation(now)));
    let mut s = base();
    s.refresh_expires_at = now;
    v.push(("refresh deadline reached", s, rotation(now)));
    v
}

#[tokio::test]
async fn the_one_statement_rotation_agrees_with_the_rule() {
    for b in backends().await {
        let (_, ra, _, rb) = two_tenants(&*b.store).await;
        for (i, (name, mut new, mut rot)) in cases().into_iter().enumerate() {
            let (id, old_hash) = (format!("s{i}"), format!("r0-{i}"));
            new.id = id.clone();
            new.refresh_hash = Some(old_hash.clone());
            rot.new_hash = format!("r1-{i}");
            let before = ra.create_session(new).await.unwrap();
            let expected = rot.matches(&before);
            // Another tenant never rotates this tenant's session.
            assert!(rb
                .rotate_refresh_bound(&old_hash, &rot)
                .await
                .unwrap()
                .is_none());
            let rotated = ra.rotate_refresh_bound(&old_hash, &rot).await.unwrap();
            let stored = ra.session_by_id(&id).await.unwrap().unwrap();
            assert_eq!(rotated.is_some(), expected, "{}: {name}", b.name);
            if expected {
                assert_eq!(rotated.as_ref(), Some(&stored), "{}: {name}", b.name);
                assert_eq!(stored.refresh_hash.as_deref(), Some(rot.new_hash.as_str()));
                assert_eq!(
                    stored.previous_refresh_hash.as_deref(),
                    Some(old_hash.as_str())
                );
                assert_eq!(stored.rotated_at, Some(rot.now));
                assert_eq!(
                    stored.refresh_expires_at,
                    rot.refresh_deadline(&before),
                    "{}: {name}",
                    b.name
                );
                // The old token no longer rotates.
                assert!(ra
                    .rotate_refresh_bound(&old_hash, &rot)
                    .await
                    .unwrap()
                    .is_none());
            } else {
                assert_eq!(stored, before, "{}: {name}: unchanged", b.name);
            }
        }
        // A revoked session never rotates.
        let mut new = new_session("revoked", "req-r", "r0-revoked");
        new.refresh_hash = Some("r0-revoked".into());
        ra.create_session(new).await.unwrap();
        ra.revoke_session("revoked", NOW + 1).await.unwrap();
        assert!(ra
            .rotate_refresh_bound("r0-revoked", &rotation(NOW + 60))
            .await
            .unwrap()
            .is_none());
    }
}
