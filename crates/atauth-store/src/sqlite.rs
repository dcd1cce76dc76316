//! SQLite backend (the embedded default).
//!
//! One file (WAL journal) shared by all tenants; every statement of a [`TenantRepo`] carries the
//! tenant id. Single-use artefacts (codes, refresh tokens, replay markers, approvals) are each
//! consumed by one atomic statement. Reads use a pool of several connections; writes go through
//! one dedicated connection, so they queue in order instead of sleeping in SQLite's busy handler.

mod repo;

use crate::sealed::{AtRest, MasterKey, Reseal, SEALED_COLUMNS};
use crate::{
    AdminToken, NewTenant, SealReport, Store, StoreResult, Tenant, TenantId, TenantRepo,
    TenantUpdate,
};
use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::rows::{
    AdminTokenRow, TenantRow, ADMIN_TOKEN_COLUMNS, TENANT_COLUMNS, TENANT_COLUMNS_T,
};
use crate::shared::{issuer_host, map_err, unavailable};
use repo::SqliteTenantRepo;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

// Defined at the crate root (shared by the backends); kept reachable under its old path.
pub use crate::USED_CODE_RETENTION_SECS;

/// Connections in the pool of a file database.
const FILE_POOL_CONNECTIONS: u32 = 8;

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite [`Store`]. Cheap to clone (the pool is reference-counted).
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Every write goes through this one connection, so writers queue here in order instead of
    /// contending for SQLite's write lock (whose busy handler sleeps in steps of milliseconds).
    /// Reads use `pool` and never wait for writers (WAL). The same pool as `pool` in memory.
    writer: SqlitePool,
    /// In-memory databases live as long as one connection to them is open: this one is never
    /// used, it only keeps the database alive whatever the pool does with its connections.
    anchor: Option<Arc<Mutex<SqliteConnection>>>,
    /// Signing keys and secrets are sealed with it (see `crate::sealed`).
    at_rest: AtRest,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("in_memory", &self.anchor.is_some())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it if missing) the database file at `path`: WAL journal, foreign keys
    /// on, 5 s busy timeout, `synchronous = NORMAL`; applies pending migrations.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal);

        // Switching a database into WAL needs an exclusive lock that the busy timeout does not
        // wait for, so do it (and the migrations) on one connection before the pool opens more.
        // WAL is persistent: pool connections then find the file in WAL mode already.
        let mut bootstrap = options
            .clone()
            .journal_mode(SqliteJournalMode::Wal)
            .connect()
            .await
            .map_err(|e| unavailable("open database", &e))?;
        migrate(&mut bootstrap).await?;
        bootstrap
            .close()
            .await
            .map_err(|e| unavailable("open database", &e))?;

        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(|e| unavailable("open database", &e))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(FILE_POOL_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(|e| unavailable("open database", &e))?;
        Ok(Self {
            pool,
            writer,
            anchor: None,
            at_rest: AtRest::default(),
        })
    }

    /// A fresh private in-memory database (tests, demos). Each call gets its own database.
    ///
    /// The database is a uniquely named shared-cache memory database reached through a pool of
    /// ONE connection (shared-cache table locks are not covered by the busy timeout, so
    /// statements are serialised instead), plus an idle anchor connection that keeps the
    /// database alive even if the pool recycles its connection.
    pub async fn open_in_memory() -> StoreResult<Self> {
        // `sqlite::memory:` gives a unique `file:sqlx-in-memory-N` shared-cache name per parse.
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| unavailable("open database", &e))?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);

        let mut anchor = options
            .clone()
            .connect()
            .await
            .map_err(|e| unavailable("open database", &e))?;
        migrate(&mut anchor).await?;

        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|e| unavailable("open database", &e))?;
        Ok(Self {
            writer: pool.clone(),
            pool,
            anchor: Some(Arc::new(Mutex::new(anchor))),
            at_rest: AtRest::default(),
        })
    }

    /// Housekeeping, for all tenants: deletes expired replay markers, expired requests that
    /// were never approved, and approved requests whose code was used or expired more than
    /// [`USED_CODE_RETENTION_SECS`] ago. Returns the number of rows deleted.
    pub async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
        let cutoff = now.saturating_sub(USED_CODE_RETENTION_SECS);
        let replay = sqlx::query("DELETE FROM replay WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.writer)
            .await
            .map_err(|e| map_err("purge replay markers", e))?
            .rows_affected();
        let unapproved =
            sqlx::query("DELETE FROM auth_requests WHERE code_hash IS NULL AND expires_at <= ?")
                .bind(now)
                .execute(&self.writer)
                .await
                .map_err(|e| map_err("purge requests", e))?
                .rows_affected();
        let codes = sqlx::query(
            "DELETE FROM auth_requests WHERE code_hash IS NOT NULL \
             AND (code_used_at <= ?1 OR (code_used_at IS NULL AND code_expires_at <= ?1))",
        )
        .bind(cutoff)
        .execute(&self.writer)
        .await
        .map_err(|e| map_err("purge codes", e))?
        .rows_affected();
        Ok(replay + unapproved + codes)
    }

    /// Seals new signing keys and secrets under `master_key` from now on, and opens sealed ones
    /// with it. Without this, values are written as given and sealed rows cannot be read.
    pub fn with_master_key(mut self, master_key: Arc<MasterKey>) -> Self {
        self.at_rest = AtRest::new(Some(master_key));
        self
    }

    /// See [`Store::seal_at_rest`]. Each rewrite only replaces the value it read, so running
    /// it on several instances at once is harmless.
    pub async fn seal_at_rest(&self) -> StoreResult<SealReport> {
        let mut report = SealReport::default();
        for column in &SEALED_COLUMNS {
            let rows: Vec<(TenantId, String, Vec<u8>)> = sqlx::query_as(&column.select_sql())
                .fetch_all(&self.pool)
                .await
                .map_err(|e| map_err(column.read_op, e))?;
            let update = format!(
                "UPDATE {table} SET {value} = ? \
                 WHERE tenant_id = ? AND {name} = ? AND {value} = ?",
                table = column.table,
                value = column.value_column,
                name = column.name_column,
            );
            for (tenant_id, name, stored) in rows {
                let outcome = self
                    .at_rest
                    .reseal(column.kind, tenant_id, &name, &stored)?;
                report.count(&outcome);
                if let Reseal::Rewrite(sealed) = outcome {
                    sqlx::query(&update)
                        .bind(sealed)
                        .bind(tenant_id)
                        .bind(&name)
                        .bind(&stored)
                        .execute(&self.writer)
                        .await
                        .map_err(|e| map_err(column.write_op, e))?;
                }
            }
        }
        Ok(report)
    }

    /// Closes the pool, waiting for connections in use to be returned (graceful shutdown).
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

async fn migrate(conn: &mut SqliteConnection) -> StoreResult<()> {
    MIGRATOR
        .run(conn)
        .await
        .map_err(|e| unavailable("migrate database", &e))
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_tenant(&self, tenant: NewTenant) -> StoreResult<Tenant> {
        let host = issuer_host(&tenant.issuer);
        let sql = format!(
            "INSERT INTO tenants (issuer, host, name, resource_server, created_at, disabled) \
             VALUES (?, ?, ?, ?, ?, 0) RETURNING {TENANT_COLUMNS}"
        );
        let row: TenantRow = sqlx::query_as(&sql)
            .bind(&tenant.issuer)
            .bind(&host)
            .bind(&tenant.name)
            .bind(&tenant.resource_server)
            .bind(tenant.now)
            .fetch_one(&self.writer)
            .await
            .map_err(|e| map_err("create tenant", e))?;
        Ok(row.into())
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY id");
        let rows: Vec<TenantRow> = sqlx::query_as(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_err("list tenants", e))?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn tenant_by_host(&self, host: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE host = ? AND disabled = 0");
        let row: Option<TenantRow> = sqlx::query_as(&sql)
            .bind(host.trim().to_ascii_lowercase())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_err("find tenant by host", e))?;
        Ok(row.map(Into::into))
    }

    async fn tenant_by_issuer(&self, issuer: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE issuer = ? AND disabled = 0");
        let row: Option<TenantRow> = sqlx::query_as(&sql)
            .bind(issuer)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_err("find tenant by issuer", e))?;
        Ok(row.map(Into::into))
    }

    async fn tenant_by_handle(&self, handle: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!(
            "SELECT {TENANT_COLUMNS_T} FROM tenants t JOIN accounts a ON a.tenant_id = t.id \
             WHERE a.handle = ? AND t.disabled = 0"
        );
        let row: Option<TenantRow> = sqlx::query_as(&sql)
            .bind(handle.to_lowercase())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_err("find tenant by handle", e))?;
        Ok(row.map(Into::into))
    }

    async fn tenant_by_host_including_disabled(&self, host: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE host = ?");
        let row: Option<TenantRow> = sqlx::query_as(&sql)
            .bind(host.trim().to_ascii_lowercase())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_err("find tenant by host", e))?;
        Ok(row.map(Into::into))
    }

    async fn update_tenant(
        &self,
        id: TenantId,
        update: TenantUpdate,
    ) -> StoreResult<Option<Tenant>> {
        let sql = format!(
            "UPDATE tenants SET name = COALESCE(?, name), \
             branding = COALESCE(?, branding), policies = COALESCE(?, policies) \
             WHERE id = ? RETURNING {TENANT_COLUMNS}"
        );
        let row: Option<TenantRow> = sqlx::query_as(&sql)
            .bind(update.name)
            .bind(update.branding)
            .bind(update.policies)
            .bind(id)
            .fetch_optional(&self.writer)
            .await
            .map_err(|e| map_err("update tenant", e))?;
        Ok(row.map(Into::into))
    }

    async fn set_tenant_disabled(
        &self,
        id: TenantId,
        disabled: bool,
    ) -> StoreResult<Option<Tenant>> {
        let sql =
            format!("UPDATE tenants SET disabled = ? WHERE id = ? RETURNING {TENANT_COLUMNS}");
        let row: Option<TenantRow> = sqlx::query_as(&sql)
            .bind(disabled)
            .bind(id)
            .fetch_optional(&self.writer)
            .await
            .map_err(|e| map_err("disable tenant", e))?;
        Ok(row.map(Into::into))
    }

    async fn admin_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<AdminToken>> {
        let sql = format!("SELECT {ADMIN_TOKEN_COLUMNS} FROM admin_tokens WHERE token_hash = ?");
        let row: Option<AdminTokenRow> = sqlx::query_as(&sql)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_err("find admin token", e))?;
        Ok(row.map(Into::into))
    }

    fn tenant_repo(&self, tenant: &Tenant) -> Arc<dyn TenantRepo> {
        Arc::new(SqliteTenantRepo::new(
            self.pool.clone(),
            self.writer.clone(),
            tenant.id,
            self.at_rest.clone(),
        ))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(|e| map_err("ping", e))?;
        Ok(())
    }

    async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
        SqliteStore::purge_expired(self, now).await
    }

    async fn seal_at_rest(&self) -> StoreResult<SealReport> {
        SqliteStore::seal_at_rest(self).await
    }

    async fn close(&self) {
        SqliteStore::close(self).await;
    }

    fn rate_limits(&self) -> Arc<dyn crate::RateLimitStore> {
        Arc::new(crate::DatabaseRateLimits::Sqlite(self.writer.clone()))
    }

    async fn active_sessions(&self, now: i64) -> StoreResult<Vec<(String, u64)>> {
        crate::stats::active_sessions_sqlite(&self.pool, now).await
    }
}
