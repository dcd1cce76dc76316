//! Backends under test and fixtures. Tests are written against `&dyn Store` so that the same
//! suite runs on every backend.
//!
//! PostgreSQL joins the backends when `ATAUTH_TEST_POSTGRES_URL` names a server
//! (`postgres://postgres@127.0.0.1:5432/test`; `scripts/with-services` provides one): each
//! backend gets a fresh database created through that URL and dropped afterwards. With
//! `ATAUTH_REQUIRE_SERVICES=1` (CI) a missing URL fails the tests instead of skipping
//! PostgreSQL.
#![allow(dead_code)]

use atauth_store::postgres::{PostgresOptions, PostgresStore};
use atauth_store::sqlite::SqliteStore;
use atauth_store::{
    Account, Approval, NewAccount, NewAuthRequest, NewSession, NewTenant, Session, Store, Tenant,
    TenantRepo,
};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tempfile::TempDir;

pub use atauth_test_support::postgres::PgTestDatabase;
pub use atauth_test_support::services::postgres_url;

pub const NOW: i64 = 1_700_000_000;

/// A key no earlier run used (the shared Redis outlives test runs).
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("{prefix}-{}-{nanos:x}", std::process::id())
}

pub struct Backend {
    pub name: &'static str,
    pub store: Arc<dyn Store>,
    /// Keeps a file database's directory alive for the test's duration.
    _dir: Option<TempDir>,
    /// Drops a PostgreSQL test database after the store (fields drop in order).
    _db: Option<PgTestDatabase>,
}

/// A PostgreSQL store on a fresh database, if a server is configured.
pub async fn postgres() -> Option<Backend> {
    let admin_url = postgres_url()?;
    let db = PgTestDatabase::create(&admin_url).await;
    // Fewer connections than the default: many tests run at once against one server, whose
    // default limit is 100 connections; 8 still let the concurrency tests race for real.
    let options = PostgresOptions {
        max_connections: 8,
        ..PostgresOptions::default()
    };
    let store = PostgresStore::connect_with(&db.url, options).await.unwrap();
    Some(Backend {
        name: "postgres",
        store: Arc::new(store),
        _dir: None,
        _db: Some(db),
    })
}

pub async fn sqlite_file() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("atauth.db"))
        .await
        .unwrap();
    Backend {
        name: "sqlite-file",
        store: Arc::new(store),
        _dir: Some(dir),
        _db: None,
    }
}

pub async fn sqlite_memory() -> Backend {
    Backend {
        name: "sqlite-memory",
        store: Arc::new(SqliteStore::open_in_memory().await.unwrap()),
        _dir: None,
        _db: None,
    }
}

/// Every backend, each with a fresh empty database.
pub async fn backends() -> Vec<Backend> {
    let mut v = vec![sqlite_file().await, sqlite_memory().await];
    v.extend(postgres().await);
    v
}

/// Backends able to run statements in parallel (several pool connections).
pub async fn parallel_backends() -> Vec<Backend> {
    let mut v = vec![sqlite_file().await];
    v.extend(postgres().await);
    v
}

pub async fn tenant(store: &dyn Store, label: &str) -> Tenant {
    store
        .create_tenant(NewTenant {
            issuer: format!("https://{label}.example"),
            name: format!("Coop {label}"),
            resource_server: format!("https://pds.{label}.example"),
            now: NOW,
        })
        .await
        .unwrap()
}

/// Two tenants and their repositories.
pub async fn two_tenants(
    store: &dyn Store,
) -> (Tenant, Arc<dyn TenantRepo>, Tenant, Arc<dyn TenantRepo>) {
    let a = tenant(store, "coop-a").await;
    let b = tenant(store, "coop-b").await;
    let ra = store.tenant_repo(&a);
    let rb = store.tenant_repo(&b);
    (a, ra, b, rb)
}

pub fn new_account(id: &str, handle: &str) -> NewAccount {
    NewAccount {
        id: id.to_owned(),
        did: format!("did:plc:{id}"),
        handle: handle.to_owned(),
        email: Some(format!("{id}@Mail.Example")),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        now: NOW,
    }
}

pub async fn account(repo: &dyn TenantRepo, id: &str, handle: &str) -> Account {
    repo.create_account(new_account(id, handle)).await.unwrap()
}

pub fn new_request(id: &str) -> NewAuthRequest {
    NewAuthRequest {
        id: id.to_owned(),
        client_id: "https://app.example/client-metadata.json".to_owned(),
        request_json: format!(r#"{{"id":"{id}"}}"#),
        expires_at: NOW + 300,
        now: NOW,
    }
}

pub fn approval(account_id: &str, code_hash: &str) -> Approval {
    Approval {
        account_id: account_id.to_owned(),
        granted_scope: "atproto transition:generic".to_owned(),
        code_hash: code_hash.to_owned(),
        code_expires_at: NOW + 60,
        now: NOW + 10,
    }
}

/// A request, approved with code hash `code_hash`.
pub async fn approved_request(repo: &dyn TenantRepo, id: &str, code_hash: &str) {
    repo.insert_request(new_request(id)).await.unwrap();
    assert!(repo
        .approve_request(id, approval("acct-1", code_hash))
        .await
        .unwrap());
}

pub fn new_session(id: &str, request_id: &str, refresh_hash: &str) -> NewSession {
    NewSession {
        id: id.to_owned(),
        account_id: "acct-1".to_owned(),
        did: "did:plc:acct-1".to_owned(),
        client_id: "https://app.example/client-metadata.json".to_owned(),
        request_id: request_id.to_owned(),
        dpop_jkt: "jkt-1".to_owned(),
        scope: "atproto transition:generic".to_owned(),
        client_key_thumbprint: None,
        refresh_hash: Some(refresh_hash.to_owned()),
        expires_at: Some(NOW + 14 * 86_400),
        refresh_expires_at: NOW + 86_400,
        now: NOW,
    }
}

pub async fn session(repo: &dyn TenantRepo, id: &str, request_id: &str, refresh: &str) -> Session {
    repo.create_session(new_session(id, request_id, refresh))
        .await
        .unwrap()
}
