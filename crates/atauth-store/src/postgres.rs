//! PostgreSQL backend (several instances sharing one database).
//!
//! Same statements and semantics as the SQLite backend ([`crate::sql`]): every statement of a
//! [`TenantRepo`](crate::TenantRepo) carries the tenant id, and single-use artefacts (codes,
//! refresh tokens, replay markers, approvals, device binding) are each consumed by one atomic
//! statement. Under PostgreSQL's default READ COMMITTED isolation a conditional
//! `UPDATE ... WHERE <still unused>` that lost a race re-evaluates its condition on the winner's
//! row version and matches nothing, and `INSERT ... ON CONFLICT` waits for a concurrent insert
//! of the same key: exactly one caller wins, on any number of connections and instances.
//!
//! Connection loss surfaces as [`StoreError::Unavailable`](crate::StoreError::Unavailable): the
//! pool tests each connection before handing it out, drops broken ones and opens new ones, so
//! it recovers by itself once the database is back; while it is down, a call fails after at
//! most [`PostgresOptions::acquire_timeout`].

use crate::sealed::{AtRest, MasterKey};
use crate::shared::unavailable;
use crate::sql::conn::Pools;
use crate::sql::{migrate_and_close, SqlBacked, SqlStore};
use crate::StoreResult;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::ConnectOptions;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Pool settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Connections in the pool (per instance). Default 16.
    pub max_connections: u32,
    /// Server-side limit on each statement of a pool connection (`statement_timeout`); zero
    /// disables it. Default 5 s. Migrations run on a separate connection without this limit.
    pub statement_timeout: Duration,
    /// How long a call waits for a pool connection, including (re)connecting to the server,
    /// before failing with `Unavailable`. Default 5 s.
    pub acquire_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            statement_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The PostgreSQL [`Store`](crate::Store). Cheap to clone (the pool is reference-counted).
#[derive(Clone, Debug)]
pub struct PostgresStore {
    sql: SqlStore,
    /// The pool of `sql`, for [`PostgresStore::pool`].
    pool: PgPool,
}

impl SqlBacked for PostgresStore {
    fn sql(&self) -> &SqlStore {
        &self.sql
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database?sslmode=...`) with the
    /// default [`PostgresOptions`] and applies pending migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects to `url` with `options` and applies pending migrations (concurrent instances
    /// serialise on the migrator's advisory lock).
    pub async fn connect_with(url: &str, options: PostgresOptions) -> StoreResult<Self> {
        let base =
            PgConnectOptions::from_str(url).map_err(|e| unavailable("parse database URL", &e))?;

        let bootstrap = tokio::time::timeout(options.acquire_timeout, base.connect())
            .await
            .map_err(|_| unavailable("connect to database", &"timed out"))?
            .map_err(|e| unavailable("connect to database", &e))?;
        migrate_and_close(&MIGRATOR, bootstrap, "connect to database").await?;

        let statement_timeout = format!("{}ms", options.statement_timeout.as_millis());
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .test_before_acquire(true)
            .connect_with(base.options([("statement_timeout", statement_timeout)]))
            .await
            .map_err(|e| unavailable("connect to database", &e))?;
        Ok(Self {
            sql: SqlStore::new(Pools::Postgres(pool.clone())),
            pool,
        })
    }

    /// The connection pool (diagnostics and tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Seals new signing keys and secrets under `master_key` from now on, and opens sealed ones
    /// with it. Without this, values are written as given and sealed rows cannot be read.
    pub fn with_master_key(mut self, master_key: Arc<MasterKey>) -> Self {
        self.sql.at_rest = AtRest::new(Some(master_key));
        self
    }
}
