//! Behaviour of every `Store` / `TenantRepo` method, on every backend.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and databases, on real time, with real keys"
)]

mod common;

use atauth_store::{CodeConsumption, NewSigningKey, NewTenant, Rotation, StoreError, TenantRepo};
use common::*;

fn rotation(new_hash: &str, now: i64) -> Rotation {
    Rotation {
        new_hash: new_hash.to_owned(),
        refresh_expires_at: now + 86_400,
        now,
    }
}

fn is_conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

// --- tenants

#[tokio::test]
async fn create_and_list_tenants() {
    for b in backends().await {
        let s = &*b.store;
        assert!(s.list_tenants().await.unwrap().is_empty(), "{}", b.name);
        let a = tenant(s, "coop-a").await;
        assert_eq!(a.issuer, "https://coop-a.example");
        assert_eq!(a.name, "Coop coop-a");
        assert_eq!(a.resource_server, "https://pds.coop-a.example");
        assert_eq!(a.created_at, NOW);
        assert!(!a.disabled);
        let c = tenant(s, "coop-c").await;
        assert_ne!(a.id, c.id);
        assert_eq!(s.list_tenants().await.unwrap(), vec![a, c], "{}", b.name);
    }
}

#[tokio::test]
async fn duplicate_issuer_or_host_is_a_conflict() {
    for b in backends().await {
        let s = &*b.store;
        tenant(s, "coop-a").await;
        let dup = NewTenant {
            issuer: "https://coop-a.example".into(),
            name: "again".into(),
            resource_server: "https://x.example".into(),
            now: NOW,
        };
        let err = s.create_tenant(dup.clone()).await.unwrap_err();
        match err {
            StoreError::Conflict(m) => assert!(m.contains("issuer"), "{}: {m}", b.name),
            other => panic!("{}: {other:?}", b.name),
        }
        // Same host, different issuer spelling.
        let same_host = NewTenant {
            issuer: "https://COOP-A.example".into(),
            ..dup.clone()
        };
        assert!(is_conflict(s.create_tenant(same_host).await), "{}", b.name);
        let http = NewTenant {
            issuer: "http://coop-a.example".into(),
            ..dup
        };
        assert!(is_conflict(s.create_tenant(http).await), "{}", b.name);
        assert_eq!(s.list_tenants().await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn tenant_by_host() {
    for b in backends().await {
        let s = &*b.store;
        let a = tenant(s, "coop-a").await;
        let local = s
            .create_tenant(NewTenant {
                issuer: "http://127.0.0.1:2583".into(),
                name: "dev".into(),
                resource_server: "http://127.0.0.1:2583".into(),
                now: NOW,
            })
            .await
            .unwrap();
        assert_eq!(
            s.tenant_by_host("coop-a.example").await.unwrap(),
            Some(a.clone())
        );
        assert_eq!(s.tenant_by_host("Coop-A.Example").await.unwrap(), Some(a));
        assert_eq!(
            s.tenant_by_host("127.0.0.1:2583").await.unwrap(),
            Some(local)
        );
        assert_eq!(s.tenant_by_host("127.0.0.1").await.unwrap(), None);
        assert_eq!(s.tenant_by_host("coop-b.example").await.unwrap(), None);
        assert_eq!(
            s.tenant_by_host("https://coop-a.example").await.unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn tenant_by_issuer() {
    for b in backends().await {
        let s = &*b.store;
        let a = tenant(s, "coop-a").await;
        assert_eq!(
            s.tenant_by_issuer("https://coop-a.example").await.unwrap(),
            Some(a)
        );
        assert_eq!(
            s.tenant_by_issuer("https://coop-b.example").await.unwrap(),
            None
        );
        assert_eq!(s.tenant_by_issuer("coop-a.example").await.unwrap(), None);
    }
}

#[tokio::test]
async fn tenant_by_handle() {
    for b in backends().await {
        let s = &*b.store;
        let (a, ra, bt, rb) = two_tenants(s).await;
        account(&*ra, "alice", "alice.coop-a.example").await;
        account(&*rb, "bob", "bob.coop-b.example").await;
        assert_eq!(
            s.tenant_by_handle("alice.coop-a.example").await.unwrap(),
            Some(a.clone())
        );
        assert_eq!(
            s.tenant_by_handle("ALICE.coop-a.example").await.unwrap(),
            Some(a)
        );
        assert_eq!(
            s.tenant_by_handle("bob.coop-b.example").await.unwrap(),
            Some(bt)
        );
        assert_eq!(
            s.tenant_by_handle("carol.coop-a.example").await.unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn tenant_repo_and_ping() {
    for b in backends().await {
        let s = &*b.store;
        s.ping().await.unwrap();
        let a = tenant(s, "coop-a").await;
        assert_eq!(s.tenant_repo(&a).tenant_id(), a.id);
    }
}

// --- secrets and keys

#[tokio::test]
async fn secret_get_or_create() {
    for b in backends().await {
        let (_, ra, _, rb) = two_tenants(&*b.store).await;
        assert_eq!(
            ra.secret_get_or_create("cookie", b"first").await.unwrap(),
            b"first"
        );
        assert_eq!(
            ra.secret_get_or_create("cookie", b"second").await.unwrap(),
            b"first"
        );
        assert_eq!(ra.secret_get_or_create("other", b"x").await.unwrap(), b"x");
        // Isolation: tenant B has its own secret of the same name.
        assert_eq!(
            rb.secret_get_or_create("cookie", b"bee").await.unwrap(),
            b"bee"
        );
        assert_eq!(
            ra.secret_get_or_create("cookie", b"z").await.unwrap(),
            b"first"
        );
    }
}

#[tokio::test]
async fn signing_keys() {
    for b in backends().await {
        let (_, ra, _, rb) = two_tenants(&*b.store).await;
        assert!(ra.signing_keys().await.unwrap().is_empty());
        let key = |kid: &str, now| NewSigningKey {
            kid: kid.into(),
            pkcs8: kid.as_bytes().to_vec(),
            now,
        };
        ra.add_signing_key(key("k1", NOW)).await.unwrap();
        ra.add_signing_key(key("k2", NOW + 5)).await.unwrap();
        ra.add_signing_key(key("k3", NOW + 5)).await.unwrap();
        let keys = ra.signing_keys().await.unwrap();
        let kids: Vec<_> = keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, ["k3", "k2", "k1"], "{}", b.name);
        assert_eq!(keys[2].pkcs8, b"k1");
        assert_eq!(keys[2].created_at, NOW);
        assert!(is_conflict(ra.add_signing_key(key("k1", NOW)).await));
        // Isolation: B sees none of A's keys and may reuse a kid.
        assert!(rb.signing_keys().await.unwrap().is_empty());
        rb.add_signing_key(key("k1", NOW)).await.unwrap();
        assert_eq!(rb.signing_keys().await.unwrap().len(), 1);
        assert_eq!(ra.signing_keys().await.unwrap().len(), 3);
    }
}

// --- accounts

#[tokio::test]
async fn create_account_and_lookups() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        let mut new = new_account("alice", "Alice.Coop-A.example");
        new.email = Some("Alice@Example.COM".into());
        let acct = ra.create_account(new).await.unwrap();
        assert_eq!(acct.id, "alice");
        assert_eq!(acct.did, "did:plc:alice");
        assert_eq!(acct.handle, "alice.coop-a.example");
        assert_eq!(acct.email.as_deref(), Some("alice@example.com"));
        assert!(acct.password_hash.starts_with("$argon2id$"));
        assert_eq!(acct.created_at, NOW);
        assert!(!acct.disabled);
        let some = Some(acct.clone());
        assert_eq!(ra.account_by_id("alice").await.unwrap(), some);
        assert_eq!(ra.account_by_id("ALICE").await.unwrap(), None);
        assert_eq!(ra.account_by_did("did:plc:alice").await.unwrap(), some);
        assert_eq!(
            ra.account_by_handle("alice.coop-a.example").await.unwrap(),
            some
        );
        assert_eq!(
            ra.account_by_handle("ALICE.COOP-A.EXAMPLE").await.unwrap(),
            some
        );
        assert_eq!(
            ra.account_by_email("alice@example.com").await.unwrap(),
            some
        );
        assert_eq!(
            ra.account_by_email("ALICE@EXAMPLE.COM").await.unwrap(),
            some
        );
        assert_eq!(
            ra.account_by_handle("bob.coop-a.example").await.unwrap(),
            None
        );
        assert_eq!(ra.account_by_email("bob@example.com").await.unwrap(), None);
        assert_eq!(ra.account_by_did("did:plc:bob").await.unwrap(), None);
    }
}

#[tokio::test]
async fn accounts_without_email() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        let mut x = new_account("x", "x.coop-a.example");
        x.email = None;
        let mut y = new_account("y", "y.coop-a.example");
        y.email = None;
        assert_eq!(ra.create_account(x).await.unwrap().email, None);
        ra.create_account(y).await.unwrap();
        assert_eq!(ra.list_accounts().await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn list_accounts() {
    for b in backends().await {
        let (_, ra, _, rb) = two_tenants(&*b.store).await;
        assert!(ra.list_accounts().await.unwrap().is_empty());
        let x = account(&*ra, "x", "x.coop-a.example").await;
        let y = account(&*ra, "y", "y.coop-a.example").await;
        assert_eq!(ra.list_accounts().await.unwrap(), vec![x, y]);
        assert!(rb.list_accounts().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn duplicate_accounts_are_conflicts() {
    for b in backends().await {
        let (_, ra, _, rb) = two_tenants(&*b.store).await;
        account(&*ra, "alice", "alice.coop-a.example").await;

        let mut same_id = new_account("alice", "other.coop-a.example");
        same_id.did = "did:plc:other".into();
        same_id.email = None;
        assert!(is_conflict(ra.create_account(same_id).await), "{}", b.name);

        let mut same_did = new_account("other", "other.coop-a.example");
        same_did.did = "did:plc:alice".into();
        let err = ra.create_account(same_did).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("DID")),
            "{err:?}"
        );

        let same_handle = new_account("other", "ALICE.coop-a.example");
        let err = ra.create_account(same_handle).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("handle")),
            "{err:?}"
        );

        let mut same_email = new_account("other", "other.coop-a.example");
        same_email.email = Some("ALICE@mail.example".into());
        let err = ra.create_account(same_email).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("e-mail")),
            "{err:?}"
        );

        // Handles are unique across tenants (did:web routing)...
        let err = rb
            .create_account(new_account("bob", "alice.coop-a.example"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("handle")),
            "{err:?}"
        );
        // ...but ids, DIDs and e-mails are per tenant.
        let acct = rb
            .create_account(new_account("alice", "alice.coop-b.example"))
            .await
            .unwrap();
        assert_eq!(acct.did, "did:plc:alice");
        assert_eq!(ra.list_accounts().await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn accounts_are_isolated() {
    for b in backends().await {
        let (_, ra, _, rb) = two_tenants(&*b.store).await;
        account(&*ra, "alice", "alice.coop-a.example").await;
        assert_eq!(rb.account_by_id("alice").await.unwrap(), None);
        assert_eq!(rb.account_by_did("did:plc:alice").await.unwrap(), None);
        assert_eq!(
            rb.account_by_handle("alice.coop-a.example").await.unwrap(),
            None
        );
        assert_eq!(
            rb.account_by_email("alice@mail.example").await.unwrap(),
            None
        );
        assert!(rb.list_accounts().await.unwrap().is_empty());
    }
}

// --- single-use markers

#[tokio::test]
async fn record_once() {
    for b in backends().await {
        let (_, ra, _, rb) = two_tenants(&*b.store).await;
        assert!(ra
            .record_once("dpop", "jti-1", NOW + 60, NOW)
            .await
            .unwrap());
        assert!(!ra
            .record_once("dpop", "jti-1", NOW + 60, NOW + 1)
            .await
            .unwrap());
        assert!(!ra
            .record_once("dpop", "jti-1", NOW + 120, NOW + 59)
            .await
            .unwrap());
        // Other namespace, other key: independent.
        assert!(ra
            .record_once("client-assertion", "jti-1", NOW + 60, NOW)
            .await
            .unwrap());
        assert!(ra
            .record_once("dpop", "jti-2", NOW + 60, NOW)
            .await
            .unwrap());
        // Isolation: B records the same key independently.
        assert!(rb
            .record_once("dpop", "jti-1", NOW + 60, NOW)
            .await
            .unwrap());
        assert!(!rb
            .record_once("dpop", "jti-1", NOW + 60, NOW)
            .await
            .unwrap());
    }
}

#[tokio::test]
async fn record_once_after_expiry() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        assert!(ra.record_once("dpop", "k", NOW + 60, NOW).await.unwrap());
        // Expired (expires_at <= now): may be recorded again, with the new expiry.
        assert!(ra
            .record_once("dpop", "k", NOW + 200, NOW + 60)
            .await
            .unwrap());
        assert!(!ra
            .record_once("dpop", "k", NOW + 300, NOW + 199)
            .await
            .unwrap());
        assert!(ra
            .record_once("dpop", "k", NOW + 300, NOW + 200)
            .await
            .unwrap());
    }
}

// --- authorization requests and codes

#[tokio::test]
async fn insert_and_find_request() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        ra.insert_request(new_request("req-1")).await.unwrap();
        let r = ra.request_by_id("req-1").await.unwrap().unwrap();
        assert_eq!(r.id, "req-1");
        assert_eq!(r.client_id, "https://app.example/client-metadata.json");
        assert_eq!(r.request_json, r#"{"id":"req-1"}"#);
        assert_eq!(r.device_id, None);
        assert_eq!(r.expires_at, NOW + 300);
        assert_eq!(r.created_at, NOW);
        assert_eq!(r.approval, None);
        assert_eq!(ra.request_by_id("req-2").await.unwrap(), None);
        assert!(is_conflict(ra.insert_request(new_request("req-1")).await));
    }
}

#[tokio::test]
async fn bind_request_device() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        ra.insert_request(new_request("req-1")).await.unwrap();
        let bound = ra
            .bind_request_device("req-1", "dev-1", NOW + 600)
            .await
            .unwrap();
        assert_eq!(bound.as_deref(), Some("dev-1"));
        let r = ra.request_by_id("req-1").await.unwrap().unwrap();
        assert_eq!(
            (r.device_id.as_deref(), r.expires_at),
            (Some("dev-1"), NOW + 600)
        );
        // Same device again: expiry extended.
        let bound = ra
            .bind_request_device("req-1", "dev-1", NOW + 900)
            .await
            .unwrap();
        assert_eq!(bound.as_deref(), Some("dev-1"));
        assert_eq!(
            ra.request_by_id("req-1").await.unwrap().unwrap().expires_at,
            NOW + 900
        );
        // Another device: gets the first device back, changes nothing.
        let bound = ra
            .bind_request_device("req-1", "dev-2", NOW + 5000)
            .await
            .unwrap();
        assert_eq!(bound.as_deref(), Some("dev-1"));
        let r = ra.request_by_id("req-1").await.unwrap().unwrap();
        assert_eq!(
            (r.device_id.as_deref(), r.expires_at),
            (Some("dev-1"), NOW + 900)
        );
        // Unknown request.
        assert_eq!(
            ra.bind_request_device("nope", "dev-1", NOW).await.unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn approve_request() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        ra.insert_request(new_request("req-1")).await.unwrap();
        assert!(ra
            .approve_request("req-1", approval("acct-1", "code-1"))
            .await
            .unwrap());
        let r = ra.request_by_id("req-1").await.unwrap().unwrap();
        let appr = r.approval.unwrap();
        assert_eq!(appr.account_id, "acct-1");
        assert_eq!(appr.granted_scope, "atproto transition:generic");
        assert_eq!(appr.code_expires_at, NOW + 60);
        assert_eq!(appr.code_used_at, None);
        assert_eq!(appr.approved_at, NOW + 10);
        // Once only.
        assert!(!ra
            .approve_request("req-1", approval("acct-2", "code-2"))
            .await
            .unwrap());
        let again = ra.request_by_id("req-1").await.unwrap().unwrap();
        assert_eq!(again.approval.unwrap().account_id, "acct-1");
        // Gone request.
        assert!(!ra
            .approve_request("nope", approval("acct-1", "code-3"))
            .await
            .unwrap());
    }
}

#[tokio::test]
async fn delete_request() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        ra.insert_request(new_request("req-1")).await.unwrap();
        ra.insert_request(new_request("req-2")).await.unwrap();
        ra.delete_request("req-1").await.unwrap();
        assert_eq!(ra.request_by_id("req-1").await.unwrap(), None);
        assert!(ra.request_by_id("req-2").await.unwrap().is_some());
        ra.delete_request("req-1").await.unwrap(); // idempotent
    }
}

#[tokio::test]
async fn consume_code() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        approved_request(&*ra, "req-1", "code-1").await;
        let CodeConsumption::Consumed(r) = ra.consume_code("code-1", NOW + 20).await.unwrap()
        else {
            panic!("{}: not consumed", b.name)
        };
        assert_eq!(r.id, "req-1");
        assert_eq!(r.approval.as_ref().unwrap().code_used_at, Some(NOW + 20));
        let CodeConsumption::Reused(r) = ra.consume_code("code-1", NOW + 30).await.unwrap() else {
            panic!("{}: not reused", b.name)
        };
        assert_eq!(r.id, "req-1");
        // The first use time is kept.
        assert_eq!(r.approval.unwrap().code_used_at, Some(NOW + 20));
        assert_eq!(
            ra.consume_code("code-x", NOW).await.unwrap(),
            CodeConsumption::Unknown
        );
        // An unapproved request has no code.
        ra.insert_request(new_request("req-2")).await.unwrap();
        assert_eq!(
            ra.consume_code("", NOW).await.unwrap(),
            CodeConsumption::Unknown
        );
    }
}

#[tokio::test]
async fn requests_and_codes_are_isolated() {
    for b in backends().await {
        let (_, ra, _, rb) = two_tenants(&*b.store).await;
        ra.insert_request(new_request("req-1")).await.unwrap();
        assert_eq!(rb.request_by_id("req-1").await.unwrap(), None);
        assert_eq!(
            rb.bind_request_device("req-1", "dev-b", NOW + 9999)
                .await
                .unwrap(),
            None
        );
        assert!(!rb
            .approve_request("req-1", approval("acct-1", "code-1"))
            .await
            .unwrap());
        rb.delete_request("req-1").await.unwrap();
        let r = ra.request_by_id("req-1").await.unwrap().unwrap();
        assert_eq!(
            (r.device_id, r.expires_at, r.approval),
            (None, NOW + 300, None)
        );

        // B may use the same request id and code hash without touching A's.
        approved_request(&*rb, "req-1", "code-1").await;
        assert!(ra
            .approve_request("req-1", approval("acct-1", "code-1"))
            .await
            .unwrap());
        assert!(matches!(
            rb.consume_code("code-1", NOW).await.unwrap(),
            CodeConsumption::Consumed(_)
        ));
        assert!(matches!(
            ra.consume_code("code-1", NOW).await.unwrap(),
            CodeConsumption::Consumed(_)
        ));

        // A code of A is unknown at B.
        approved_request(&*ra, "req-2", "code-2").await;
        assert_eq!(
            rb.consume_code("code-2", NOW).await.unwrap(),
            CodeConsumption::Unknown
        );
        assert!(matches!(
            ra.consume_code("code-2", NOW).await.unwrap(),
            CodeConsumption::Consumed(_)
        ));
    }
}

// --- sessions

#[tokio::test]
async fn create_and_find_session() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        let mut new = new_session("s1", "req-1", "r1");
        new.client_key_thumbprint = Some("ckt".into());
        let s = ra.create_session(new).await.unwrap();
        assert_eq!(s.id, "s1");
        assert_eq!(s.account_id, "acct-1");
        assert_eq!(s.did, "did:plc:acct-1");
        assert_eq!(s.client_id, "https://app.example/client-metadata.json");
        assert_eq!(s.request_id, "req-1");
        assert_eq!(s.dpop_jkt, "jkt-1");
        assert_eq!(s.scope, "atproto transition:generic");
        assert_eq!(s.client_key_thumbprint.as_deref(), Some("ckt"));
        assert_eq!(s.refresh_hash.as_deref(), Some("r1"));
        assert_eq!(s.previous_refresh_hash, None);
        assert_eq!(s.rotated_at, None);
        assert_eq!(s.expires_at, Some(NOW + 14 * 86_400));
        assert_eq!(s.refresh_expires_at, NOW + 86_400);
        assert_eq!(s.created_at, NOW);
        assert_eq!(s.revoked_at, None);
        assert_eq!(ra.session_by_id("s1").await.unwrap(), Some(s.clone()));
        assert_eq!(ra.session_by_refresh("r1").await.unwrap(), Some(s));
        assert_eq!(ra.session_by_id("s2").await.unwrap(), None);
        assert_eq!(ra.session_by_refresh("r2").await.unwrap(), None);
        assert!(is_conflict(
            ra.create_session(new_session("s1", "req-1", "r9")).await
        ));
        assert!(is_conflict(
            ra.create_session(new_session("s2", "req-1", "r1")).await
        ));
        // Sessions without refresh token (and without hard end).
        let mut bare = new_session("s3", "req-3", "unused");
        bare.refresh_hash = None;
        bare.expires_at = None;
        let s3 = ra.create_session(bare.clone()).await.unwrap();
        assert_eq!((s3.refresh_hash, s3.expires_at), (None, None));
        bare.id = "s4".into();
        ra.create_session(bare).await.unwrap();
    }
}

#[tokio::test]
async fn rotate_refresh_and_previous() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        session(&*ra, "s1", "req-1", "r1").await;
        let s = ra
            .rotate_refresh("r1", rotation("r2", NOW + 100))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.refresh_hash.as_deref(), Some("r2"));
        assert_eq!(s.previous_refresh_hash.as_deref(), Some("r1"));
        assert_eq!(s.rotated_at, Some(NOW + 100));
        assert_eq!(s.refresh_expires_at, NOW + 100 + 86_400);
        assert_eq!(ra.session_by_id("s1").await.unwrap(), Some(s.clone()));
        // The old token no longer rotates, but is found as previous.
        assert_eq!(
            ra.rotate_refresh("r1", rotation("r3", NOW + 101))
                .await
                .unwrap(),
            None
        );
        assert_eq!(ra.session_by_refresh("r1").await.unwrap(), None);
        assert_eq!(
            ra.session_by_previous_refresh("r1").await.unwrap(),
            Some(s.clone())
        );
        assert_eq!(ra.session_by_refresh("r2").await.unwrap(), Some(s));
        let s = ra
            .rotate_refresh("r2", rotation("r3", NOW + 200))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.previous_refresh_hash.as_deref(), Some("r2"));
        assert_eq!(ra.session_by_previous_refresh("r1").await.unwrap(), None);
        assert_eq!(
            ra.rotate_refresh("unknown", rotation("r9", NOW))
                .await
                .unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn revoked_sessions_do_not_rotate_but_are_found() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        session(&*ra, "s1", "req-1", "r1").await;
        ra.rotate_refresh("r1", rotation("r2", NOW + 1))
            .await
            .unwrap()
            .unwrap();
        ra.revoke_session("s1", NOW + 50).await.unwrap();
        assert_eq!(
            ra.rotate_refresh("r2", rotation("r3", NOW + 60))
                .await
                .unwrap(),
            None
        );
        let by_refresh = ra.session_by_refresh("r2").await.unwrap().unwrap();
        assert_eq!(by_refresh.revoked_at, Some(NOW + 50));
        let by_previous = ra.session_by_previous_refresh("r1").await.unwrap().unwrap();
        assert_eq!(by_previous.revoked_at, Some(NOW + 50));
    }
}

#[tokio::test]
async fn revoke_session() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        let before = session(&*ra, "s1", "req-1", "r1").await;
        session(&*ra, "s2", "req-1", "r2").await;
        ra.revoke_session("s1", NOW + 50).await.unwrap();
        let s1 = ra.session_by_id("s1").await.unwrap().unwrap();
        assert_eq!(s1.revoked_at, Some(NOW + 50));
        // Nothing else changes.
        assert_eq!(
            atauth_store::Session {
                revoked_at: None,
                ..s1.clone()
            },
            before
        );
        // Twice: fine, the first time is kept.
        ra.revoke_session("s1", NOW + 70).await.unwrap();
        assert_eq!(
            ra.session_by_id("s1").await.unwrap().unwrap().revoked_at,
            Some(NOW + 50)
        );
        assert_eq!(
            ra.session_by_id("s2").await.unwrap().unwrap().revoked_at,
            None
        );
        ra.revoke_session("nope", NOW).await.unwrap();
    }
}

#[tokio::test]
async fn revoke_sessions_of_request() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        session(&*ra, "s1", "req-1", "r1").await;
        session(&*ra, "s2", "req-1", "r2").await;
        session(&*ra, "s3", "req-2", "r3").await;
        ra.revoke_session("s2", NOW + 5).await.unwrap();
        ra.revoke_sessions_of_request("req-1", NOW + 50)
            .await
            .unwrap();
        let revoked = |id: &'static str| {
            let ra = ra.clone();
            async move { ra.session_by_id(id).await.unwrap().unwrap().revoked_at }
        };
        assert_eq!(revoked("s1").await, Some(NOW + 50));
        assert_eq!(revoked("s2").await, Some(NOW + 5));
        assert_eq!(revoked("s3").await, None);
        ra.revoke_sessions_of_request("req-1", NOW + 60)
            .await
            .unwrap();
        assert_eq!(revoked("s1").await, Some(NOW + 50));
    }
}

#[tokio::test]
async fn sessions_are_isolated() {
    for b in backends().await {
        let (_, ra, _, rb) = two_tenants(&*b.store).await;
        let s = session(&*ra, "s1", "req-1", "r1").await;
        ra.rotate_refresh("r1", rotation("r2", NOW + 1))
            .await
            .unwrap()
            .unwrap();
        let s = ra.session_by_id(&s.id).await.unwrap().unwrap();

        assert_eq!(rb.session_by_id("s1").await.unwrap(), None);
        assert_eq!(rb.session_by_refresh("r2").await.unwrap(), None);
        assert_eq!(rb.session_by_previous_refresh("r1").await.unwrap(), None);
        assert_eq!(
            rb.rotate_refresh("r2", rotation("evil", NOW + 2))
                .await
                .unwrap(),
            None
        );
        rb.revoke_session("s1", NOW + 3).await.unwrap();
        rb.revoke_sessions_of_request("req-1", NOW + 3)
            .await
            .unwrap();
        assert_eq!(ra.session_by_id("s1").await.unwrap(), Some(s));

        // B may hold the same ids and hashes.
        let sb = session(&*rb, "s1", "req-1", "r2").await;
        assert_eq!(rb.session_by_refresh("r2").await.unwrap(), Some(sb));
        rb.revoke_sessions_of_request("req-1", NOW + 4)
            .await
            .unwrap();
        assert_eq!(
            ra.session_by_id("s1").await.unwrap().unwrap().revoked_at,
            None
        );
        assert!(ra
            .rotate_refresh("r2", rotation("r3", NOW + 5))
            .await
            .unwrap()
            .is_some());
    }
}

// --- consent and device sign-ins

#[tokio::test]
async fn consent() {
    for b in backends().await {
        let (_, ra, _, rb) = two_tenants(&*b.store).await;
        assert_eq!(ra.consent("acct-1", "client-1").await.unwrap(), None);
        ra.remember_consent("acct-1", "client-1", "atproto", NOW)
            .await
            .unwrap();
        assert_eq!(
            ra.consent("acct-1", "client-1").await.unwrap().as_deref(),
            Some("atproto")
        );
        ra.remember_consent("acct-1", "client-1", "atproto transition:generic", NOW + 1)
            .await
            .unwrap();
        assert_eq!(
            ra.consent("acct-1", "client-1").await.unwrap().as_deref(),
            Some("atproto transition:generic")
        );
        assert_eq!(ra.consent("acct-1", "client-2").await.unwrap(), None);
        assert_eq!(ra.consent("acct-2", "client-1").await.unwrap(), None);
        // Isolation.
        assert_eq!(rb.consent("acct-1", "client-1").await.unwrap(), None);
        rb.remember_consent("acct-1", "client-1", "b", NOW)
            .await
            .unwrap();
        assert_eq!(
            ra.consent("acct-1", "client-1").await.unwrap().as_deref(),
            Some("atproto transition:generic")
        );
    }
}

#[tokio::test]
async fn disabled_tenants_and_accounts_are_skipped() {
    for b in backends().await {
        let store = &*b.store;
        let a = tenant(store, "coop-a").await;
        let repo = store.tenant_repo(&a);
        account(&*repo, "x", "x.coop-a.example").await;
        account(&*repo, "y", "y.coop-a.example").await;
        repo.add_device_account("dev", "x", NOW).await.unwrap();
        repo.add_device_account("dev", "y", NOW).await.unwrap();

        repo.set_account_disabled("y", true).await.unwrap();
        let listed = repo.device_accounts("dev").await.unwrap();
        assert_eq!(listed.len(), 1, "{}", b.name);
        assert_eq!(listed[0].0.id, "x");
        assert!(repo.account_by_id("y").await.unwrap().unwrap().disabled);

        store.set_tenant_disabled(a.id, true).await.unwrap();
        assert_eq!(store.tenant_by_host("coop-a.example").await.unwrap(), None);
        assert_eq!(
            store
                .tenant_by_issuer("https://coop-a.example")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store.tenant_by_handle("x.coop-a.example").await.unwrap(),
            None
        );
        assert!(store.list_tenants().await.unwrap()[0].disabled);
    }
}

#[tokio::test]
async fn device_accounts() {
    for b in backends().await {
        let (_, ra, _, rb) = two_tenants(&*b.store).await;
        let x = account(&*ra, "x", "x.coop-a.example").await;
        let y = account(&*ra, "y", "y.coop-a.example").await;
        assert!(ra.device_accounts("dev-1").await.unwrap().is_empty());
        ra.add_device_account("dev-1", "x", NOW).await.unwrap();
        ra.add_device_account("dev-1", "y", NOW + 10).await.unwrap();
        ra.add_device_account("dev-2", "x", NOW).await.unwrap();
        assert_eq!(
            ra.device_accounts("dev-1").await.unwrap(),
            vec![(y.clone(), NOW + 10), (x.clone(), NOW)]
        );
        // Signing in again moves the account to the front.
        ra.add_device_account("dev-1", "x", NOW + 20).await.unwrap();
        assert_eq!(
            ra.device_accounts("dev-1").await.unwrap(),
            vec![(x.clone(), NOW + 20), (y, NOW + 10)]
        );
        // Unknown accounts are skipped.
        ra.add_device_account("dev-2", "ghost", NOW + 30)
            .await
            .unwrap();
        assert_eq!(ra.device_accounts("dev-2").await.unwrap(), vec![(x, NOW)]);
        // Isolation: B sees nothing of A's device, and its own rows join its own accounts.
        assert!(rb.device_accounts("dev-1").await.unwrap().is_empty());
        rb.add_device_account("dev-1", "x", NOW + 40).await.unwrap();
        assert!(rb.device_accounts("dev-1").await.unwrap().is_empty());
        assert_eq!(ra.device_accounts("dev-1").await.unwrap().len(), 2);
    }
}

/// Keeps `TenantRepo` object-safe usage honest: repositories are shareable across tasks.
#[tokio::test]
async fn repos_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + ?Sized>(_: &T) {}
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        assert_send_sync::<dyn TenantRepo>(&*ra);
        let handle = tokio::spawn(async move { ra.list_accounts().await.unwrap().len() });
        assert_eq!(handle.await.unwrap(), 0);
    }
}

// --- housekeeping and error mapping

#[tokio::test]
async fn purge_expired() {
    for b in backends().await {
        let s = &*b.store;
        let (_, ra, _, rb) = two_tenants(s).await;
        const DAY: i64 = 86_400;

        // Replay markers: expired ones go.
        assert!(ra.record_once("dpop", "old", NOW + 10, NOW).await.unwrap());
        assert!(rb
            .record_once("dpop", "live", NOW + 2 * DAY, NOW)
            .await
            .unwrap());
        // Requests: an expired unapproved one goes, a live one stays.
        let mut old = new_request("old");
        old.expires_at = NOW + 10;
        ra.insert_request(old).await.unwrap();
        let mut live = new_request("live");
        live.expires_at = NOW + 2 * DAY;
        rb.insert_request(live).await.unwrap();
        // Codes: used more than a day ago, used recently, expired unused long ago.
        approved_request(&*ra, "used-long-ago", "c1").await;
        ra.consume_code("c1", NOW).await.unwrap();
        approved_request(&*ra, "used-recently", "c2").await;
        ra.consume_code("c2", NOW + DAY + 50).await.unwrap();
        approved_request(&*ra, "never-used", "c3").await; // code expires NOW + 60

        let now = NOW + DAY + 100;
        assert_eq!(s.purge_expired(now).await.unwrap(), 4, "{}", b.name);
        assert!(ra.record_once("dpop", "old", now + 10, now).await.unwrap());
        assert!(!rb.record_once("dpop", "live", now + 10, now).await.unwrap());
        assert_eq!(ra.request_by_id("old").await.unwrap(), None);
        assert!(rb.request_by_id("live").await.unwrap().is_some());
        assert_eq!(
            ra.consume_code("c1", now).await.unwrap(),
            CodeConsumption::Unknown
        );
        assert!(matches!(
            ra.consume_code("c2", now).await.unwrap(),
            CodeConsumption::Reused(_)
        ));
        assert_eq!(
            ra.consume_code("c3", now).await.unwrap(),
            CodeConsumption::Unknown
        );
        assert_eq!(s.purge_expired(now).await.unwrap(), 0, "{}", b.name);
    }
}

#[tokio::test]
async fn unknown_tenants_are_refused() {
    for b in backends().await {
        let mut ghost = tenant(&*b.store, "coop-a").await;
        ghost.id += 100;
        let repo = b.store.tenant_repo(&ghost);
        let err = repo.insert_request(new_request("r")).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(_)),
            "{}: {err:?}",
            b.name
        );
        let err = repo
            .create_account(new_account("x", "x.example"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(_)),
            "{}: {err:?}",
            b.name
        );
    }
}

#[tokio::test]
async fn secrets_and_hashes_stay_out_of_error_messages() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        session(&*ra, "s1", "req", "refresh-hash-secret").await;
        let err = ra
            .create_session(new_session("s2", "req", "refresh-hash-secret"))
            .await
            .unwrap_err()
            .to_string();
        assert!(!err.contains("refresh-hash-secret"), "{}: {err}", b.name);
        assert!(err.contains("refresh token"), "{}: {err}", b.name);

        approved_request(&*ra, "req-1", "code-hash-secret").await;
        ra.insert_request(new_request("req-2")).await.unwrap();
        let err = ra
            .approve_request("req-2", approval("acct-1", "code-hash-secret"))
            .await
            .unwrap_err()
            .to_string();
        assert!(!err.contains("code-hash-secret"), "{}: {err}", b.name);
        assert!(err.contains("authorization code"), "{}: {err}", b.name);
    }
}

#[tokio::test]
async fn conflicts_name_the_field() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        let expect = |r: Result<(), StoreError>, what: &str| match r {
            Err(StoreError::Conflict(m)) => assert!(m.contains(what), "{}: {m}", b.name),
            other => panic!("{}: {other:?}", b.name),
        };
        ra.add_signing_key(NewSigningKey {
            kid: "k1".into(),
            pkcs8: vec![1],
            now: NOW,
        })
        .await
        .unwrap();
        let dup_key = ra
            .add_signing_key(NewSigningKey {
                kid: "k1".into(),
                pkcs8: vec![2],
                now: NOW,
            })
            .await;
        expect(dup_key, "key id");
        account(&*ra, "alice", "alice.coop-a.example").await;
        let mut same_id = new_account("alice", "other.coop-a.example");
        same_id.did = "did:plc:other".into();
        same_id.email = None;
        expect(
            ra.create_account(same_id).await.map(drop),
            "account with this id",
        );
        ra.insert_request(new_request("req-1")).await.unwrap();
        expect(
            ra.insert_request(new_request("req-1")).await,
            "request with this id",
        );
        session(&*ra, "s1", "req-1", "r1").await;
        expect(
            ra.create_session(new_session("s1", "req-1", "r2"))
                .await
                .map(drop),
            "session with this id",
        );
        let host_clash = b
            .store
            .create_tenant(NewTenant {
                issuer: "http://coop-a.example".into(),
                name: "x".into(),
                resource_server: "https://x.example".into(),
                now: NOW,
            })
            .await
            .map(drop);
        expect(host_clash, "issuer host");
    }
}
