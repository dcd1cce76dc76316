//! The SQL backends, written once. [`SqliteStore`](crate::sqlite::SqliteStore) and
//! [`PostgresStore`](crate::postgres::PostgresStore) differ only in how they open their
//! connections ([`Pools`]); every statement, the [`Store`] implementation and the tenant-bound
//! [`TenantRepo`](crate::TenantRepo) ([`repo::SqlTenantRepo`]) serve both. Where the two SQL
//! dialects really differ, the statement takes the spelling from [`dialect::Dialect`].

pub(crate) mod conn;
pub(crate) mod dialect;
mod repo;

use crate::rows::{
    AdminTokenRow, TenantRow, ADMIN_TOKEN_COLUMNS_K, TENANT_COLUMNS, TENANT_COLUMNS_T,
};
use crate::sealed::{AtRest, Reseal, SEALED_COLUMNS};
use crate::shared::{issuer_host, unavailable};
use crate::{
    AdminToken, DatabaseRateLimits, NewTenant, RateLimitStore, SealReport, Store, StoreResult,
    Tenant, TenantId, TenantRepo, TenantUpdate, USED_CODE_RETENTION_SECS,
};
use async_trait::async_trait;
use conn::{statement, Pools};
use repo::SqlTenantRepo;
use sqlx::migrate::Migrator;
use std::sync::Arc;

/// The SQL condition "the session is live at `now`" over the columns of `sessions`, `now`
/// being a placeholder such as `$2`. The SQL form of [`Session::is_live`](crate::Session::is_live),
/// which is the definition: every statement that needs the condition uses this fragment, and
/// the conformance tests check that both agree at every boundary.
pub(crate) fn live_session(now: &str) -> String {
    format!(
        "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > {now}) \
         AND refresh_expires_at > {now}"
    )
}

/// Applies `migrator`'s pending migrations on `conn`.
pub(crate) async fn migrate<'a, A>(migrator: &Migrator, conn: A) -> StoreResult<()>
where
    A: sqlx::Acquire<'a>,
    <A::Connection as std::ops::Deref>::Target: sqlx::migrate::Migrate,
{
    migrator
        .run(conn)
        .await
        .map_err(|e| unavailable("migrate database", &e))
}

/// Applies `migrator`'s pending migrations on `conn`, a connection opened for that alone, then
/// closes it (`op` names the opening in errors).
pub(crate) async fn migrate_and_close<C>(
    migrator: &Migrator,
    mut conn: C,
    op: &'static str,
) -> StoreResult<()>
where
    C: sqlx::Connection,
    for<'c> &'c mut C: sqlx::Acquire<'c>,
    for<'c> <<&'c mut C as sqlx::Acquire<'c>>::Connection as std::ops::Deref>::Target:
        sqlx::migrate::Migrate,
{
    migrate(migrator, &mut conn).await?;
    conn.close().await.map_err(|e| unavailable(op, &e))
}

/// A database's connections and how values are protected at rest: what every SQL store is.
#[derive(Clone, Debug)]
pub(crate) struct SqlStore {
    pub(crate) pools: Pools,
    /// Signing keys and secrets are sealed with it (see `crate::sealed`).
    pub(crate) at_rest: AtRest,
}

impl SqlStore {
    pub(crate) fn new(pools: Pools) -> Self {
        Self {
            pools,
            at_rest: AtRest::default(),
        }
    }

    async fn tenant_where(
        &self,
        op: &'static str,
        condition: &str,
        value: &str,
    ) -> StoreResult<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE {condition}");
        let row: Option<TenantRow> = self
            .pools
            .reader()
            .fetch_optional(op, statement(sql).bind(value))
            .await?;
        Ok(row.map(Into::into))
    }
}

/// A store over a SQL database: [`Store`] is implemented once for all of them.
pub(crate) trait SqlBacked: Send + Sync + 'static {
    fn sql(&self) -> &SqlStore;
}

#[async_trait]
impl<T: SqlBacked> Store for T {
    async fn create_tenant(&self, tenant: NewTenant) -> StoreResult<Tenant> {
        let sql = format!(
            "INSERT INTO tenants (issuer, host, name, resource_server, created_at, disabled) \
             VALUES ($1, $2, $3, $4, $5, FALSE) RETURNING {TENANT_COLUMNS}"
        );
        let insert = statement(sql)
            .bind(&tenant.issuer)
            .bind(issuer_host(&tenant.issuer))
            .bind(&tenant.name)
            .bind(&tenant.resource_server)
            .bind(tenant.now);
        let row: TenantRow = self
            .sql()
            .pools
            .writer()
            .fetch_one("create tenant", insert)
            .await?;
        Ok(row.into())
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY id");
        let rows: Vec<TenantRow> = self
            .sql()
            .pools
            .reader()
            .fetch_all("list tenants", statement(sql))
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn tenant_by_host(&self, host: &str) -> StoreResult<Option<Tenant>> {
        let host = host.trim().to_ascii_lowercase();
        self.sql()
            .tenant_where("find tenant by host", "host = $1 AND NOT disabled", &host)
            .await
    }

    async fn tenant_by_issuer(&self, issuer: &str) -> StoreResult<Option<Tenant>> {
        self.sql()
            .tenant_where(
                "find tenant by issuer",
                "issuer = $1 AND NOT disabled",
                issuer,
            )
            .await
    }

    async fn tenant_by_handle(&self, handle: &str) -> StoreResult<Option<Tenant>> {
        let sql = format!(
            "SELECT {TENANT_COLUMNS_T} FROM tenants t JOIN accounts a ON a.tenant_id = t.id \
             WHERE a.handle = $1 AND NOT t.disabled"
        );
        let select = statement(sql).bind(handle.to_lowercase());
        let row: Option<TenantRow> = self
            .sql()
            .pools
            .reader()
            .fetch_optional("find tenant by handle", select)
            .await?;
        Ok(row.map(Into::into))
    }

    async fn tenant_by_host_including_disabled(&self, host: &str) -> StoreResult<Option<Tenant>> {
        let host = host.trim().to_ascii_lowercase();
        self.sql()
            .tenant_where("find tenant by host", "host = $1", &host)
            .await
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
        let update = statement(sql)
            .bind(update.name)
            .bind(update.branding)
            .bind(update.policies)
            .bind(id);
        let row: Option<TenantRow> = self
            .sql()
            .pools
            .writer()
            .fetch_optional("update tenant", update)
            .await?;
        Ok(row.map(Into::into))
    }

    async fn set_tenant_disabled(
        &self,
        id: TenantId,
        disabled: bool,
    ) -> StoreResult<Option<Tenant>> {
        let sql =
            format!("UPDATE tenants SET disabled = $1 WHERE id = $2 RETURNING {TENANT_COLUMNS}");
        let update = statement(sql).bind(disabled).bind(id);
        let row: Option<TenantRow> = self
            .sql()
            .pools
            .writer()
            .fetch_optional("disable tenant", update)
            .await?;
        Ok(row.map(Into::into))
    }

    async fn admin_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<AdminToken>> {
        let sql = format!(
            "SELECT {ADMIN_TOKEN_COLUMNS_K} FROM admin_tokens k JOIN tenants t ON t.id = k.tenant_id \
             WHERE k.token_hash = $1 AND NOT t.disabled"
        );
        let row: Option<AdminTokenRow> = self
            .sql()
            .pools
            .reader()
            .fetch_optional("find admin token", statement(sql).bind(token_hash))
            .await?;
        Ok(row.map(Into::into))
    }

    fn tenant_repo(&self, tenant: &Tenant) -> Arc<dyn TenantRepo> {
        let sql = self.sql();
        Arc::new(SqlTenantRepo::new(
            sql.pools.clone(),
            tenant.id,
            sql.at_rest.clone(),
        ))
    }

    async fn ping(&self) -> StoreResult<()> {
        let reader = self.sql().pools.reader();
        reader.execute("ping", statement("SELECT 1")).await?;
        Ok(())
    }

    async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
        let writer = self.sql().pools.writer();
        let cutoff = now.saturating_sub(USED_CODE_RETENTION_SECS);
        let replay = statement("DELETE FROM replay WHERE expires_at <= $1").bind(now);
        let replay = writer.execute("purge replay markers", replay).await?;
        let unapproved =
            statement("DELETE FROM auth_requests WHERE code_hash IS NULL AND expires_at <= $1")
                .bind(now);
        let unapproved = writer.execute("purge requests", unapproved).await?;
        let codes = statement(
            "DELETE FROM auth_requests WHERE code_hash IS NOT NULL \
             AND (code_used_at <= $1 OR (code_used_at IS NULL AND code_expires_at <= $1))",
        )
        .bind(cutoff);
        let codes = writer.execute("purge codes", codes).await?;
        Ok(replay + unapproved + codes)
    }

    async fn close(&self) {
        self.sql().pools.close().await;
    }

    /// Each rewrite only replaces the value it read, so running it on several instances at once
    /// is harmless.
    async fn seal_at_rest(&self) -> StoreResult<SealReport> {
        let SqlStore { pools, at_rest } = self.sql();
        let mut report = SealReport::default();
        for column in &SEALED_COLUMNS {
            let rows: Vec<(TenantId, String, Vec<u8>)> = pools
                .reader()
                .fetch_all(column.read_op, statement(column.select_sql()))
                .await?;
            let update = format!(
                "UPDATE {table} SET {value} = $1 \
                 WHERE tenant_id = $2 AND {name} = $3 AND {value} = $4",
                table = column.table,
                value = column.value_column,
                name = column.name_column,
            );
            for (tenant_id, name, stored) in rows {
                let outcome = at_rest.reseal(column.kind, tenant_id, &name, &stored)?;
                report.count(&outcome);
                if let Reseal::Rewrite(sealed) = outcome {
                    let rewrite = statement(update.as_str())
                        .bind(sealed)
                        .bind(tenant_id)
                        .bind(&name)
                        .bind(&stored);
                    pools.writer().execute(column.write_op, rewrite).await?;
                }
            }
        }
        Ok(report)
    }

    fn rate_limits(&self) -> Arc<dyn RateLimitStore> {
        Arc::new(DatabaseRateLimits::new(self.sql().pools.clone()))
    }

    async fn active_sessions(&self, now: i64) -> StoreResult<Vec<(String, u64)>> {
        let live = live_session("$1");
        let sql = format!(
            "SELECT t.issuer, count(*) FROM sessions s JOIN tenants t ON t.id = s.tenant_id \
             WHERE {live} GROUP BY t.issuer ORDER BY t.issuer"
        );
        let rows: Vec<(String, i64)> = self
            .sql()
            .pools
            .reader()
            .fetch_all("count active sessions", statement(sql).bind(now))
            .await?;
        Ok(rows
            .into_iter()
            .map(|(issuer, n)| (issuer, u64::try_from(n).unwrap_or(0)))
            .collect())
    }
}
