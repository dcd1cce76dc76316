//! PostgreSQL specifics: connecting, migrations, the statement timeout, and
//! recovery after the server went away.
//!
//! Tests needing the shared test server are skipped when `ATAUTH_TEST_POSTGRES_URL` is unset
//! (and fail when `ATAUTH_REQUIRE_SERVICES=1`). The recovery test runs its own throw-away
//! server from the PostgreSQL binaries (`initdb`, `pg_ctl`), which it looks for in
//! `/usr/lib/postgresql/*/bin`, `$PATH`, or `ATAUTH_TEST_PG_BINDIR`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and databases, on real time, with real keys"
)]

mod common;

use atauth_store::postgres::{PostgresOptions, PostgresStore};
use atauth_store::{open_database, Store, StoreError};
use atauth_test_support::net::ClosedPort;
use atauth_test_support::postgres::Cluster;
use atauth_test_support::services::{services_required, REQUIRE_SERVICES_VAR};
use common::*;
use std::time::{Duration, Instant};

fn is_unavailable<T>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Unavailable(_)))
}

fn quick() -> PostgresOptions {
    PostgresOptions {
        max_connections: 4,
        acquire_timeout: Duration::from_secs(2),
        ..PostgresOptions::default()
    }
}

#[test]
fn default_options() {
    let o = PostgresOptions::default();
    assert_eq!(o.max_connections, 16);
    assert_eq!(o.statement_timeout, Duration::from_secs(5));
    assert_eq!(o.acquire_timeout, Duration::from_secs(5));
}

#[tokio::test]
async fn connect_errors_are_unavailable() {
    // Malformed URLs.
    for url in [
        "postgres://[::1",
        "postgres://u@h:notaport/db",
        "postgres://u@h/db?sslmode=x",
    ] {
        let r = PostgresStore::connect_with(url, quick()).await;
        assert!(is_unavailable(r), "{url}");
    }
    // Nothing listening: refused at once, no retry loop.
    let closed = ClosedPort::reserve();
    let url = format!("postgres://postgres@127.0.0.1:{}/atauth", closed.port());
    let started = Instant::now();
    assert!(is_unavailable(PostgresStore::connect(&url).await));
    assert!(is_unavailable(open_database(&url).await));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // A TCP peer that never answers: bounded by the acquire timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/atauth",
        silent.local_addr().unwrap().port()
    );
    let started = Instant::now();
    let options = PostgresOptions {
        acquire_timeout: Duration::from_millis(500),
        ..quick()
    };
    assert!(is_unavailable(
        PostgresStore::connect_with(&url, options).await
    ));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connect_to_a_missing_database_is_unavailable() {
    let Some(admin) = postgres_url() else { return };
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path("/atauth_no_such_database");
    let err = PostgresStore::connect_with(url.as_str(), quick())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn open_database_picks_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("atauth.db");
    let store = open_database(path.to_str().unwrap()).await.unwrap();
    store.ping().await.unwrap();
    assert!(path.exists());
    let url = format!("sqlite://{}", dir.path().join("other.db").display());
    open_database(&url).await.unwrap().ping().await.unwrap();
    assert!(dir.path().join("other.db").exists());
    let memory = open_database("sqlite::memory:").await.unwrap();
    tenant(&*memory, "coop-a").await;

    let Some(admin) = postgres_url() else { return };
    let db = PgTestDatabase::create(&admin).await;
    let store = open_database(&db.url).await.unwrap();
    let t = tenant(&*store, "coop-a").await;
    store.close().await;
    drop(store);
    let pg = PostgresStore::connect(&db.url).await.unwrap();
    assert_eq!(pg.list_tenants().await.unwrap(), vec![t]);
    // Also as postgresql://
    let alias = db.url.replacen("postgres://", "postgresql://", 1);
    open_database(&alias).await.unwrap().ping().await.unwrap();
}

#[tokio::test]
async fn migrations_run_once_even_concurrently() {
    let Some(admin) = postgres_url() else { return };
    let db = PgTestDatabase::create(&admin).await;
    // Several instances starting together: the migrator's advisory lock serialises them.
    let (a, b, c) = tokio::join!(
        PostgresStore::connect(&db.url),
        PostgresStore::connect(&db.url),
        PostgresStore::connect(&db.url)
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    let t = tenant(&a, "coop-a").await;
    account(&*b.tenant_repo(&t), "alice", "alice.coop-a.example").await;
    assert!(c
        .tenant_repo(&t)
        .account_by_id("alice")
        .await
        .unwrap()
        .is_some());
    let (applied,): (i64,) = sqlx::query_as("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(a.pool())
        .await
        .unwrap();
    // Each migration once.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
    let migrations = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("sql".as_ref()))
        .count();
    assert_eq!(applied, migrations as i64);
    for s in [a, b, c] {
        s.close().await;
    }
    // Reopening applies nothing twice and finds the data.
    let again = PostgresStore::connect(&db.url).await.unwrap();
    assert_eq!(again.list_tenants().await.unwrap(), vec![t]);
}

#[tokio::test]
async fn statement_timeout_is_set_on_pool_connections() {
    let Some(admin) = postgres_url() else { return };
    let db = PgTestDatabase::create(&admin).await;
    let store = PostgresStore::connect(&db.url).await.unwrap();
    let (timeout,): (String,) = sqlx::query_as("SHOW statement_timeout")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(timeout, "5s");
    store.close().await;

    let options = PostgresOptions {
        statement_timeout: Duration::from_millis(300),
        ..quick()
    };
    let store = PostgresStore::connect_with(&db.url, options).await.unwrap();
    let started = Instant::now();
    let err = sqlx::query("SELECT pg_sleep(5)")
        .execute(store.pool())
        .await
        .unwrap_err();
    let code = err.as_database_error().and_then(|e| e.code());
    assert_eq!(code.as_deref(), Some("57014"), "{err:?}"); // query_canceled
    assert!(started.elapsed() < Duration::from_secs(3));
    // The pool is fine afterwards.
    store.ping().await.unwrap();
}

#[tokio::test]
async fn list_accounts_orders_ids_bytewise() {
    // Same order as SQLite whatever the database's collation.
    let Some(admin) = postgres_url() else { return };
    let db = PgTestDatabase::create(&admin).await;
    let store = PostgresStore::connect(&db.url).await.unwrap();
    let t = tenant(&store, "coop-a").await;
    let repo = store.tenant_repo(&t);
    for (i, id) in ["b", "B", "a", "_z"].into_iter().enumerate() {
        let mut new = new_account(id, &format!("user{i}.coop-a.example"));
        new.email = None;
        repo.create_account(new).await.unwrap();
    }
    let ids: Vec<_> = repo
        .list_accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, ["B", "_z", "a", "b"]);
}

// --- a throw-away server the test controls

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_after_the_server_restarts() {
    let cluster = match Cluster::init() {
        Ok(c) => c,
        Err(why) if services_required() => {
            panic!("{REQUIRE_SERVICES_VAR}=1 but no throw-away PostgreSQL server: {why}")
        }
        Err(why) => {
            eprintln!("skipped: no throw-away PostgreSQL server: {why}");
            return;
        }
    };
    cluster.start().expect("start postgres");
    let acquire_timeout = Duration::from_secs(1);
    let options = PostgresOptions {
        acquire_timeout,
        ..quick()
    };
    let store = PostgresStore::connect_with(&cluster.url(), options)
        .await
        .unwrap();
    let t = tenant(&store, "coop-a").await;
    let repo = store.tenant_repo(&t);
    account(&*repo, "alice", "alice.coop-a.example").await;

    // Down: every call fails with Unavailable, each within the acquire timeout (sqlx keeps
    // retrying refused connections until then).
    cluster.stop().expect("stop postgres");
    for _ in 0..2 {
        let started = Instant::now();
        assert!(is_unavailable(store.ping().await));
        assert!(is_unavailable(repo.account_by_id("alice").await));
        assert!(is_unavailable(
            repo.record_once("dpop", "jti", NOW + 60, NOW).await
        ));
        let took = started.elapsed();
        assert!(
            took < 3 * acquire_timeout + Duration::from_secs(2),
            "{took:?}"
        );
    }

    // Back: the same store and repository work again, without reconnecting by hand.
    cluster.start().expect("start postgres");
    store.ping().await.unwrap();
    assert!(repo.account_by_id("alice").await.unwrap().is_some());
    assert!(repo
        .record_once("dpop", "jti", NOW + 60, NOW)
        .await
        .unwrap());
    assert_eq!(store.list_tenants().await.unwrap(), vec![t]);

    // A restart while connections sit idle in the pool: they are tested and replaced.
    let (a, b) = tokio::join!(store.ping(), repo.list_accounts());
    a.unwrap();
    b.unwrap();
    cluster.stop().expect("stop postgres");
    cluster.start().expect("start postgres");
    for _ in 0..4 {
        store.ping().await.unwrap();
        assert_eq!(repo.list_accounts().await.unwrap().len(), 1);
    }
    store.close().await;
}
