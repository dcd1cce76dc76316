//! SQLite specifics: opening files, persistence, pragmas, disabled rows, housekeeping.

mod common;

use atauth_store::sqlite::SqliteStore;
use atauth_store::{CodeConsumption, Store};
use common::*;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::path::Path;

async fn raw(path: &Path) -> sqlx::SqliteConnection {
    SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn open_creates_migrates_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested.db");
    assert!(!path.exists());
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(path.exists());
    let t = tenant(&store, "coop-a").await;
    account(&*store.tenant_repo(&t), "alice", "alice.coop-a.example").await;
    store.close().await;
    drop(store);

    // Reopening applies no migration twice and finds the data.
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.list_tenants().await.unwrap(), vec![t.clone()]);
    let repo = store.tenant_repo(&t);
    assert!(repo.account_by_id("alice").await.unwrap().is_some());

    let mut conn = raw(&path).await;
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    conn.close().await.unwrap();
}

#[tokio::test]
async fn open_fails_cleanly_on_a_bad_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("x.db");
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(
        matches!(err, atauth_store::StoreError::Unavailable(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn in_memory_databases_are_separate() {
    let one = SqliteStore::open_in_memory().await.unwrap();
    let two = SqliteStore::open_in_memory().await.unwrap();
    tenant(&one, "coop-a").await;
    assert_eq!(one.list_tenants().await.unwrap().len(), 1);
    assert!(two.list_tenants().await.unwrap().is_empty());
}

#[tokio::test]
async fn foreign_keys_are_enforced() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let mut ghost = tenant(&store, "coop-a").await;
    ghost.id += 100;
    let repo = store.tenant_repo(&ghost);
    let err = repo.insert_request(new_request("r")).await.unwrap_err();
    assert!(
        matches!(err, atauth_store::StoreError::Conflict(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn disabled_tenants_and_accounts_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = SqliteStore::open(&path).await.unwrap();
    let a = tenant(&store, "coop-a").await;
    let repo = store.tenant_repo(&a);
    account(&*repo, "x", "x.coop-a.example").await;
    account(&*repo, "y", "y.coop-a.example").await;
    repo.add_device_account("dev", "x", NOW).await.unwrap();
    repo.add_device_account("dev", "y", NOW).await.unwrap();

    let mut conn = raw(&path).await;
    sqlx::query("UPDATE accounts SET disabled = 1 WHERE id = 'y'")
        .execute(&mut conn)
        .await
        .unwrap();
    let listed = repo.device_accounts("dev").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0.id, "x");
    assert!(repo.account_by_id("y").await.unwrap().unwrap().disabled);

    sqlx::query("UPDATE tenants SET disabled = 1")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
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
    let listed = store.list_tenants().await.unwrap();
    assert!(listed[0].disabled);
}

#[tokio::test]
async fn purge_expired() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let (_, ra, _, rb) = two_tenants(&store).await;
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
    assert_eq!(store.purge_expired(now).await.unwrap(), 4);
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
    assert_eq!(store.purge_expired(now).await.unwrap(), 0);
}

#[tokio::test]
async fn secrets_and_hashes_stay_out_of_error_messages() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let (_, ra, _, _) = two_tenants(&store).await;
    session(&*ra, "s1", "req", "refresh-hash-secret").await;
    let err = ra
        .create_session(new_session("s2", "req", "refresh-hash-secret"))
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("refresh-hash-secret"), "{err}");
    assert!(err.contains("refresh token"), "{err}");
}
