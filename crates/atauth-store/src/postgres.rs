//! PostgreSQL backend (several instances sharing one database).
//!
//! Same schema shape and semantics as the SQLite backend: every statement of a [`TenantRepo`]
//! carries the tenant id, and single-use artefacts (codes, refresh tokens, replay markers,
//! approvals, device binding) are each consumed by one atomic statement. Under PostgreSQL's
//! default READ COMMITTED isolation a conditional `UPDATE ... WHERE <still unused>` that lost a
//! race re-evaluates its condition on the winner's row version and matches nothing, and
//! `INSERT ... ON CONFLICT` waits for a concurrent insert of the same key: exactly one caller
//! wins, on any number of connections and instances.
//!
//! Connection loss surfaces as [`StoreError::Unavailable`](crate::StoreError::Unavailable): the
//! pool tests each connection before handing it out, drops broken ones and opens new ones, so
//! it recovers by itself once the database is back; while it is down, a call fails after at
//! most [`PostgresOptions::acquire_timeout`].

mod repo;

use crate::rows::{
    AdminTokenRow, TenantRow, ADMIN_TOKEN_COLUMNS, TENANT_COLUMNS, TENANT_COLUMNS_T,
};
use crate::sealed::{AtRest, MasterKey, Reseal, SEALED_COLUMNS};
use crate::shared::{issuer_host, map_err, unavailable};
use crate::{
    AdminToken, NewTenant, SealReport, Store, StoreResult, Tenant, TenantId, TenantRepo,
    TenantUpdate, USED_CODE_RETENTION_SECS,
};
use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use repo::PostgresTenantRepo;

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

/// The PostgreSQL [`Store`]. Cheap to clone (the pool is reference-counted).
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Signing keys and secrets are sealed with it (see `crate::sealed`).
    at_rest: AtRest,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
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

        let mut bootstrap = tokio::time::timeout(options.acquire_timeout, base.connect())
            .await
            .map_err(|_| unavailable("connect to database", &"timed out"))?
            .map_err(|e| unavailable("connect to database", &e))?;
        migrate(&mut bootstrap).await?;
        bootstrap
            .close()
            .await
            .map_err(|e| unavailable("connect to database", &e))?;

        let statement_timeout = format!("{}ms", options.statement_timeout.as_millis());
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .test_before_acquire(true)
            .connect_with(base.options([("statement_timeout", statement_timeout)]))
            .await
            .map_err(|e| unavailable("connect to database", &e))?;
        Ok(Self {
            pool,
            at_rest: AtRest::default(),
        })
    }

    /// The connection pool (diagnostics and tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Housekeeping, for all tenants: deletes expired replay markers, expired requests that
    /// were never approved, and approved requests whose code was used or expired more than
    /// [`USED_CODE_RETENTION_SECS`] ago. Returns the number of rows deleted.
    pub async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
        let cutoff = now.saturating_sub(USED_CODE_RETENTION_SECS);
        let replay = sqlx::query("DELETE FROM replay WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| map_err("purge replay markers", e))?
            .rows_affected();
        let unapproved =
            sqlx::query("DELETE FROM auth_requests WHERE code_hash IS NULL AND expires_at <= $1")
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(|e| map_err("purge requests", e))?
                .rows_affected();
        let codes = sqlx::query(
            "DELETE FROM auth_requests WHERE code_hash IS NOT NULL \
             AND (code_used_at <= $1 OR (code_used_at IS NULL AND code_expires_at <= $1))",
        )
        .bind(cutoff)
        .execute(&self.pool)
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
                "UPDATE {table} SET {value} = $1 \
                 WHERE tenant_id = $2 AND {name} = $3 AND {value} = $4",
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
                        .execute(&self.pool)
                        .await
                        .map_err(|e| map_err(column.write_op, e))?;
                }
            }
        }
        Ok(report)
    }

    /// Closes the pool, waiting for connections in use to be returned (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn migrate(conn: &mut PgConnection) -> StoreResult<()> {
    MIGRATOR
        .run(conn)
        .await
        .map_err(|e| unavailable("migrate database", &e))
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_tenant(&self, tenant: NewTenant) -> StoreResult<Tenant> {
        let host = issuer_host(&tenant.issuer);
        let sql = format!(
            "INSERT INTO tenants (issuer, host, name, resource_server, created_at, disabled) \
             VALUES ($1, $2, $3, $4, $5, FALSE) RETURNING {TENANT_COLUMNS}"
        );
        let row: TenantRow = sqlx::query_as(&sql)
            .bind(&tenant.issuer)
            .bind(&host)
            .bind(&tenant.name)
            .bind(&tenant.resource_server)
            .bind(tenant.now)
            .fetch_one(&self.pool)
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
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE host = $1 AND NOT disabled");
        let row: Option<TenantRow> = sqlx::query_as(&sql)
            .bind(host.trim().to_ascii_lowercase())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_err("find tenant by host", e))?;
        Ok(row.map(Into::into))
    }

    async fn tenant_by_issuer(&self, issuer: &str) -> StoreResult<Option<Tenant>> {
        let sql =
            format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE issuer = $1 AND NOT disabled");
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
             WHERE a.handle = $1 AND NOT t.disabled"
        );
        let row: Option<TenantRow> = sqlx::query_as(&sql)
            .bind(handle.to_lowercase())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_err("find tenant by handle", e))?;
        Ok(row.map(Into::into))
    }

    async fn tenant_by_host_including_disabled(&self, host: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE host = $1");
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
            "UPDATE tenants SET name = COALESCE($1, name), \
             branding = COALESCE($2, branding), policies = COALESCE($3, policies) \
             WHERE id = $4 RETURNING {TENANT_COLUMNS}"
        );
        let row: Option<TenantRow> = sqlx::query_as(&sql)
            .bind(update.name)
            .bind(update.branding)
            .bind(update.policies)
            .bind(id)
            .fetch_optional(&self.pool)
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
            format!("UPDATE tenants SET disabled = $1 WHERE id = $2 RETURNING {TENANT_COLUMNS}");
        let row: Option<TenantRow> = sqlx::query_as(&sql)
            .bind(disabled)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_err("disable tenant", e))?;
        Ok(row.map(Into::into))
    }

    async fn admin_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<AdminToken>> {
        let sql = format!("SELECT {ADMIN_TOKEN_COLUMNS} FROM admin_tokens WHERE token_hash = $1");
        let row: Option<AdminTokenRow> = sqlx::query_as(&sql)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_err("find admin token", e))?;
        Ok(row.map(Into::into))
    }

    fn tenant_repo(&self, tenant: &Tenant) -> Arc<dyn TenantRepo> {
        Arc::new(PostgresTenantRepo::new(
            self.pool.clone(),
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
        PostgresStore::purge_expired(self, now).await
    }

    async fn seal_at_rest(&self) -> StoreResult<SealReport> {
        PostgresStore::seal_at_rest(self).await
    }

    async fn close(&self) {
        PostgresStore::close(self).await;
    }

    fn rate_limits(&self) -> Arc<dyn crate::RateLimitStore> {
        Arc::new(crate::DatabaseRateLimits::Postgres(self.pool.clone()))
    }

    async fn active_sessions(&self, now: i64) -> StoreResult<Vec<(String, u64)>> {
        crate::stats::active_sessions_postgres(&self.pool, now).await
    }
}
