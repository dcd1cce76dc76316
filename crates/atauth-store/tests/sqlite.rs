//! SQLite specifics: opening files, persistence, pragmas.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and databases, on real time, with real keys"
)]

mod common;

use atauth_store::sqlite::SqliteStore;
use atauth_store::Store;
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
