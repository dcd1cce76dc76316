//! Deployment-wide counts for metrics, shared by the SQL backends.

use crate::shared::map_err;
use crate::StoreResult;

/// Sessions neither revoked nor expired, per tenant issuer.
const ACTIVE_SESSIONS: &str = "SELECT t.issuer, count(*) FROM sessions s \
     JOIN tenants t ON t.id = s.tenant_id \
     WHERE s.revoked_at IS NULL AND s.refresh_expires_at > $1 \
       AND (s.expires_at IS NULL OR s.expires_at > $1) \
     GROUP BY t.issuer ORDER BY t.issuer";

fn counts(rows: Vec<(String, i64)>) -> Vec<(String, u64)> {
    rows.into_iter()
        .map(|(issuer, n)| (issuer, u64::try_from(n).unwrap_or(0)))
        .collect()
}

pub(crate) async fn active_sessions_sqlite(
    pool: &sqlx::SqlitePool,
    now: i64,
) -> StoreResult<Vec<(String, u64)>> {
    // SQLite reads `$1` as one named parameter, bound once.
    let rows: Vec<(String, i64)> = sqlx::query_as(ACTIVE_SESSIONS)
        .bind(now)
        .fetch_all(pool)
        .await
        .map_err(|e| map_err("count active sessions", e))?;
    Ok(counts(rows))
}

pub(crate) async fn active_sessions_postgres(
    pool: &sqlx::PgPool,
    now: i64,
) -> StoreResult<Vec<(String, u64)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(ACTIVE_SESSIONS)
        .bind(now)
        .fetch_all(pool)
        .await
        .map_err(|e| map_err("count active sessions", e))?;
    Ok(counts(rows))
}
