//! Signing key rotation in the store, and signing keys and secrets encrypted at rest under a
//! master key, on every backend.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and databases, on real time, with real keys"
)]

mod common;

use atauth_store::sealed::is_sealed;
use atauth_store::{open_database_with, MasterKey, NewSigningKey, SealReport, Store};
use common::*;
use std::sync::Arc;

fn key(kid: &str, now: i64) -> NewSigningKey {
    NewSigningKey {
        kid: kid.into(),
        // Shaped like PKCS#8 DER (a SEQUENCE), so it is recognisable in a raw row.
        pkcs8: format!("\x30private-key-of-{kid}").into_bytes(),
        now,
    }
}

#[tokio::test]
async fn rotation_schedules_the_predecessors_and_retirement_drops_them() {
    for b in backends().await {
        let (_, ra, _, rb) = two_tenants(&*b.store).await;
        ra.add_signing_key(key("k1", NOW)).await.unwrap();
        rb.add_signing_key(key("b1", NOW)).await.unwrap();

        let activates = NOW + 3600;
        let retires = activates + 2100;
        ra.add_successor_signing_key(key("k2", NOW + 10), activates, retires)
            .await
            .unwrap();
        let keys = ra.signing_keys().await.unwrap();
        let summary: Vec<_> = keys
            .iter()
            .map(|k| (k.kid.as_str(), k.created_at, k.activates_at, k.retires_at))
            .collect();
        assert_eq!(
            summary,
            [
                ("k2", NOW + 10, activates, None),
                ("k1", NOW, NOW, Some(retires))
            ],
            "{}",
            b.name
        );
        assert_eq!(keys[0].pkcs8, key("k2", 0).pkcs8);

        // A second rotation schedules k2 only; k1 keeps its earlier retirement.
        ra.add_successor_signing_key(key("k3", NOW + 20), activates + 60, retires + 60)
            .await
            .unwrap();
        let retirements: Vec<_> = ra
            .signing_keys()
            .await
            .unwrap()
            .iter()
            .map(|k| (k.kid.clone(), k.retires_at))
            .collect();
        assert_eq!(
            retirements,
            [
                ("k3".to_string(), None),
                ("k2".to_string(), Some(retires + 60)),
                ("k1".to_string(), Some(retires)),
            ],
            "{}",
            b.name
        );

        assert_eq!(ra.retire_signing_keys(retires - 1).await.unwrap(), 0);
        assert_eq!(ra.retire_signing_keys(retires).await.unwrap(), 1);
        assert_eq!(ra.retire_signing_keys(retires).await.unwrap(), 0);
        let live: Vec<_> = ra
            .signing_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(live, ["k3", "k2"], "{}", b.name);
        let history = ra.signing_key_history().await.unwrap();
        assert_eq!(history.len(), 3);
        assert_eq!(history[2].kid, "k1");
        assert_eq!(history[2].retired_at, Some(retires));

        // The other tenant is untouched.
        let other = rb.signing_keys().await.unwrap();
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].retires_at, None, "{}", b.name);
        assert_eq!(rb.retire_signing_keys(i64::MAX).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn a_kid_cannot_be_rotated_in_twice() {
    for b in backends().await {
        let (_, ra, _, _) = two_tenants(&*b.store).await;
        ra.add_signing_key(key("k1", NOW)).await.unwrap();
        let again = ra
            .add_successor_signing_key(key("k1", NOW), NOW + 1, NOW + 2)
            .await;
        assert!(again.is_err(), "{}", b.name);
        // The failed rotation changed nothing (one transaction).
        let keys = ra.signing_keys().await.unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].retires_at, None, "{}", b.name);
    }
}

// --- encryption at rest

fn master_key(byte: u8) -> Option<Arc<MasterKey>> {
    Some(Arc::new(MasterKey::from_bytes(&[byte; 32]).unwrap()))
}

/// A database reachable by URL (so it can be reopened with other keys), on every backend.
struct Database {
    name: &'static str,
    url: String,
    _dir: Option<tempfile::TempDir>,
    _db: Option<PgTestDatabase>,
}

async fn databases() -> Vec<Database> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("atauth.db");
    let mut v = vec![Database {
        name: "sqlite-file",
        url: format!("sqlite://{}", path.display()),
        _dir: Some(dir),
        _db: None,
    }];
    if let Some(admin) = postgres_url() {
        let db = PgTestDatabase::create(&admin).await;
        v.push(Database {
            name: "postgres",
            url: db.url.clone(),
            _dir: None,
            _db: Some(db),
        });
    }
    v
}

/// The stored bytes of every signing key and secret, read past the store.
async fn raw_values(url: &str) -> Vec<Vec<u8>> {
    let sql = "SELECT pkcs8 FROM signing_keys UNION ALL SELECT value FROM tenant_secrets";
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows.into_iter().map(|r| r.0).collect()
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows.into_iter().map(|r| r.0).collect()
    }
}

async fn open(db: &Database, key: Option<Arc<MasterKey>>) -> Arc<dyn Store> {
    open_database_with(&db.url, key).await.unwrap()
}

#[tokio::test]
async fn with_a_master_key_keys_and_secrets_are_stored_encrypted() {
    for db in databases().await {
        let store = open(&db, master_key(1)).await;
        let (a, ra, _, _) = two_tenants(&*store).await;
        ra.add_signing_key(key("k1", NOW)).await.unwrap();
        assert_eq!(
            ra.secret_get_or_create("cookie", b"cookie-secret")
                .await
                .unwrap(),
            b"cookie-secret"
        );
        // Read back in plaintext through the store.
        assert_eq!(
            ra.signing_keys().await.unwrap()[0].pkcs8,
            key("k1", 0).pkcs8
        );
        assert_eq!(
            ra.secret_get_or_create("cookie", b"other").await.unwrap(),
            b"cookie-secret"
        );
        store.close().await;

        // Not in plaintext in the database.
        let raw = raw_values(&db.url).await;
        assert_eq!(raw.len(), 2, "{}", db.name);
        for value in &raw {
            assert!(is_sealed(value), "{}", db.name);
            assert!(!contains(value, b"private-key-of-k1") && !contains(value, b"cookie-secret"));
        }

        // Without the master key, or with another one: a clear error, never the value.
        for (label, other) in [("no master key", None), ("wrong master key", master_key(2))] {
            let store = open(&db, other).await;
            let repo = store.tenant_repo(&a);
            let err = repo.signing_keys().await.unwrap_err().to_string();
            assert!(err.contains(label), "{}: {err}", db.name);
            let err = repo
                .secret_get_or_create("cookie", b"x")
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains(label), "{}: {err}", db.name);
            let err = store.seal_at_rest().await.unwrap_err().to_string();
            assert!(err.contains(label), "{}: {err}", db.name);
            store.close().await;
        }

        // The right key opens everything.
        let store = open(&db, master_key(1)).await;
        let report = store.seal_at_rest().await.unwrap();
        assert_eq!(
            report,
            SealReport {
                sealed_now: 0,
                already_sealed: 2,
                plaintext: 0
            }
        );
        store.close().await;
    }
}

#[tokio::test]
async fn plaintext_rows_stay_readable_and_are_encrypted_by_seal_at_rest() {
    for db in databases().await {
        // Written before a master key was configured.
        let store = open(&db, None).await;
        let (a, ra, _, _) = two_tenants(&*store).await;
        ra.add_signing_key(key("k1", NOW)).await.unwrap();
        ra.secret_get_or_create("cookie", b"cookie-secret")
            .await
            .unwrap();
        let report = store.seal_at_rest().await.unwrap();
        assert_eq!(report.plaintext, 2, "{}", db.name);
        store.close().await;
        assert!(raw_values(&db.url).await.iter().all(|v| !is_sealed(v)));

        let store = open(&db, master_key(1)).await;
        let repo = store.tenant_repo(&a);
        // Readable before the rewrap...
        assert_eq!(
            repo.signing_keys().await.unwrap()[0].pkcs8,
            key("k1", 0).pkcs8
        );
        let report = store.seal_at_rest().await.unwrap();
        assert_eq!(report.sealed_now, 2, "{}", db.name);
        assert_eq!(store.seal_at_rest().await.unwrap().already_sealed, 2);
        // ...and after it, with the same values.
        assert_eq!(
            repo.signing_keys().await.unwrap()[0].pkcs8,
            key("k1", 0).pkcs8
        );
        assert_eq!(
            repo.secret_get_or_create("cookie", b"x").await.unwrap(),
            b"cookie-secret"
        );
        store.close().await;
        let raw = raw_values(&db.url).await;
        assert!(raw.iter().all(|v| is_sealed(v)), "{}", db.name);
    }
}

#[tokio::test]
async fn a_sealed_row_moved_to_another_tenant_does_not_open() {
    for db in databases().await {
        let store = open(&db, master_key(1)).await;
        let (_, ra, b, rb) = two_tenants(&*store).await;
        ra.add_signing_key(key("k1", NOW)).await.unwrap();
        rb.add_signing_key(key("b1", NOW)).await.unwrap();
        store.close().await;
        // Copy A's sealed key over B's row.
        let sql = "UPDATE signing_keys SET pkcs8 = \
                   (SELECT pkcs8 FROM signing_keys WHERE kid = 'k1') WHERE kid = 'b1'";
        if db.url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        } else {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        let store = open(&db, master_key(1)).await;
        let err = store.tenant_repo(&b).signing_keys().await.unwrap_err();
        assert!(err.to_string().contains("cannot be decrypted"), "{err}");
        store.close().await;
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
