//! The administration operations of the store (admin API and CLI), on every backend: tenant
//! settings and status, account changes, session listing and bulk revocation, admin tokens.
//! Each one stays within its tenant.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and databases, on real time, with real keys"
)]

mod common;

use atauth_store::{NewAdminToken, NewSession, SessionFilter, StoreError, TenantUpdate};
use common::*;

fn session_of(id: &str, account: &str, client: &str, created: i64) -> NewSession {
    NewSession {
        account_id: account.to_owned(),
        client_id: client.to_owned(),
        refresh_hash: Some(format!("hash-{id}")),
        now: created,
        ..new_session(id, &format!("req-{id}"), "unused")
    }
}

fn filter(account: Option<&str>, client: Option<&str>) -> SessionFilter {
    SessionFilter {
        account_id: account.map(str::to_owned),
        client_id: client.map(str::to_owned),
    }
}

#[tokio::test]
async fn tenant_settings_and_status() {
    for b in backends().await {
        let store = b.store.as_ref();
        let (t1, t2) = (tenant(store, "one").await, tenant(store, "two").await);
        assert_eq!(
            (t1.branding.as_str(), t1.policies.as_str()),
            ("{}", "{}"),
            "{}",
            b.name
        );

        let updated = store
            .update_tenant(
                t1.id,
                TenantUpdate {
                    name: Some("Renamed".into()),
                    branding: None,
                    policies: Some(r#"{"access_token_lifetime_secs":300}"#.into()),
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(updated.name, "Renamed", "{}", b.name);
        assert_eq!(updated.branding, "{}", "{}", b.name);
        assert_eq!(updated.policies, r#"{"access_token_lifetime_secs":300}"#);
        let unchanged = store.tenant_by_issuer(&t2.issuer).await.unwrap().unwrap();
        assert_eq!(unchanged, t2, "{}", b.name);
        assert!(store
            .update_tenant(9999, TenantUpdate::default())
            .await
            .unwrap()
            .is_none());

        let disabled = store
            .set_tenant_disabled(t1.id, true)
            .await
            .unwrap()
            .unwrap();
        assert!(disabled.disabled);
        assert!(store.tenant_by_host("one.example").await.unwrap().is_none());
        let found = store
            .tenant_by_host_including_disabled("One.Example")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found, disabled, "{}", b.name);
        assert!(store.tenant_by_host("two.example").await.unwrap().is_some());
        store.set_tenant_disabled(t1.id, false).await.unwrap();
        assert!(store.tenant_by_host("one.example").await.unwrap().is_some());
        assert!(store
            .set_tenant_disabled(9999, true)
            .await
            .unwrap()
            .is_none());
    }
}

#[tokio::test]
async fn account_changes_stay_in_their_tenant() {
    for b in backends().await {
        let (_t1, r1, _t2, r2) = two_tenants(b.store.as_ref()).await;
        let alice = account(r1.as_ref(), "acct-1", "alice.one.example").await;
        account(r1.as_ref(), "acct-2", "bob.one.example").await;

        // Another tenant's repository does not see or change the account.
        assert!(r2
            .set_account_disabled("acct-1", true)
            .await
            .unwrap()
            .is_none());
        assert!(r2
            .set_account_password_hash("acct-1", "x")
            .await
            .unwrap()
            .is_none());
        assert!(r2
            .set_account_did("acct-1", "did:plc:x")
            .await
            .unwrap()
            .is_none());
        assert_eq!(r1.account_by_id("acct-1").await.unwrap().unwrap(), alice);

        let disabled = r1
            .set_account_disabled("acct-1", true)
            .await
            .unwrap()
            .unwrap();
        assert!(disabled.disabled, "{}", b.name);
        let rehashed = r1
            .set_account_password_hash("acct-1", "$argon2id$new")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rehashed.password_hash, "$argon2id$new");
        let moved = r1
            .set_account_did("acct-1", "did:plc:newnewnewnewnewnewnewnew")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(moved.did, "did:plc:newnewnewnewnewnewnewnew");
        assert!(r1
            .account_by_did("did:plc:newnewnewnewnewnewnewnew")
            .await
            .unwrap()
            .is_some());
        // A DID is unique per tenant.
        let taken = r1
            .set_account_did("acct-2", "did:plc:newnewnewnewnewnewnewnew")
            .await;
        assert!(
            matches!(taken, Err(StoreError::Conflict(_))),
            "{}: {taken:?}",
            b.name
        );
        assert!(r1
            .set_account_disabled("nobody", true)
            .await
            .unwrap()
            .is_none());
    }
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_by_account_or_client() {
    for b in backends().await {
        let (_t1, r1, _t2, r2) = two_tenants(b.store.as_ref()).await;
        r1.create_session(session_of("s1", "acct-1", "client-a", NOW))
            .await
            .unwrap();
        r1.create_session(session_of("s2", "acct-1", "client-b", NOW + 1))
            .await
            .unwrap();
        r1.create_session(session_of("s3", "acct-2", "client-a", NOW + 2))
            .await
            .unwrap();
        r2.create_session(session_of("s4", "acct-1", "client-a", NOW))
            .await
            .unwrap();

        let ids = |sessions: Vec<atauth_store::Session>| {
            sessions.into_iter().map(|s| s.id).collect::<Vec<_>>()
        };
        let all = r1.list_sessions(&filter(None, None), 100).await.unwrap();
        assert_eq!(ids(all), ["s3", "s2", "s1"], "{}", b.name);
        let limited = r1.list_sessions(&filter(None, None), 2).await.unwrap();
        assert_eq!(ids(limited), ["s3", "s2"]);
        let of_acct = r1
            .list_sessions(&filter(Some("acct-1"), None), 100)
            .await
            .unwrap();
        assert_eq!(ids(of_acct), ["s2", "s1"]);
        let of_client = r1
            .list_sessions(&filter(None, Some("client-a")), 100)
            .await
            .unwrap();
        assert_eq!(ids(of_client), ["s3", "s1"]);
        let both = r1
            .list_sessions(&filter(Some("acct-1"), Some("client-a")), 100)
            .await
            .unwrap();
        assert_eq!(ids(both), ["s1"]);

        // No filter revokes nothing.
        assert_eq!(
            r1.revoke_sessions(&filter(None, None), NOW + 10)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            r1.revoke_sessions(&filter(None, Some("client-a")), NOW + 10)
                .await
                .unwrap(),
            2,
            "{}",
            b.name
        );
        // Already revoked ones are not counted again, nor is their time moved.
        assert_eq!(
            r1.revoke_sessions(&filter(Some("acct-1"), None), NOW + 20)
                .await
                .unwrap(),
            1
        );
        let s1 = r1.session_by_id("s1").await.unwrap().unwrap();
        assert_eq!(s1.revoked_at, Some(NOW + 10));
        let s2 = r1.session_by_id("s2").await.unwrap().unwrap();
        assert_eq!(s2.revoked_at, Some(NOW + 20));
        // The other tenant's session with the same account and client id is untouched.
        let s4 = r2.session_by_id("s4").await.unwrap().unwrap();
        assert_eq!(s4.revoked_at, None, "{}", b.name);
        assert_eq!(
            ids(r2.list_sessions(&filter(None, None), 100).await.unwrap()),
            ["s4"]
        );
    }
}

#[tokio::test]
async fn admin_tokens_are_found_by_hash_and_belong_to_one_tenant() {
    for b in backends().await {
        let (t1, r1, _t2, r2) = two_tenants(b.store.as_ref()).await;
        let token = r1
            .create_admin_token(NewAdminToken {
                id: "tok-1".into(),
                token_hash: "hash-1".into(),
                label: "ops".into(),
                now: NOW,
            })
            .await
            .unwrap();
        assert_eq!(token.tenant_id, t1.id);
        let found = b
            .store
            .admin_token_by_hash("hash-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found, token, "{}", b.name);
        assert!(b
            .store
            .admin_token_by_hash("hash-2")
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            r1.list_admin_tokens().await.unwrap(),
            std::slice::from_ref(&token)
        );
        assert!(r2.list_admin_tokens().await.unwrap().is_empty());

        // A disabled tenant's tokens are not found, until it is enabled again.
        b.store.set_tenant_disabled(t1.id, true).await.unwrap();
        let while_disabled = b.store.admin_token_by_hash("hash-1").await.unwrap();
        assert_eq!(while_disabled, None, "{}", b.name);
        b.store.set_tenant_disabled(t1.id, false).await.unwrap();
        let enabled_again = b.store.admin_token_by_hash("hash-1").await.unwrap();
        assert_eq!(enabled_again, Some(token.clone()), "{}", b.name);

        // Another tenant cannot delete it.
        assert!(!r2.delete_admin_token("tok-1").await.unwrap());
        assert!(b
            .store
            .admin_token_by_hash("hash-1")
            .await
            .unwrap()
            .is_some());
        assert!(r1.delete_admin_token("tok-1").await.unwrap());
        assert!(b
            .store
            .admin_token_by_hash("hash-1")
            .await
            .unwrap()
            .is_none());
        assert!(!r1.delete_admin_token("tok-1").await.unwrap());
    }
}
