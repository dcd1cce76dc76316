//! Replay caches: the hot single-use markers (DPoP proof `jti`s, client assertion `jti`s),
//! checked on every DPoP or `private_key_jwt` request.
//!
//! A [`ReplayStore`] serves the whole deployment and hands out a [`TenantReplay`] bound to one
//! tenant, like [`Store::tenant_repo`](crate::Store::tenant_repo), so a caller cannot mix
//! tenants up. Two implementations:
//!
//! * [`DatabaseReplayStore`] (the default) writes to the `replay` table of whichever database
//!   backend is in use, in batches ([`ReplayBatcher`](crate::ReplayBatcher): markers that arrive
//!   while one batch is written go together in the next statement).
//! * [`RedisReplayStore`] keeps the markers in Redis (`--redis`): one atomic
//!   `SET atauth:{tenant_id}:{namespace}:{key} 1 NX PX <ttl>` per marker, expired by Redis
//!   itself. Several instances sharing one Redis see each other's markers.
//!
//! Either way an unreachable backend is [`StoreError::Unavailable`]: the caller refuses the
//! request (503 `temporarily_unavailable`) and never treats the marker as new (fail closed).
//! Redis calls are bounded by [`RedisOptions::operation_timeout`].

use crate::{RateLimitStore, RedisRateLimits, StoreError, StoreResult, TenantId, TenantRepo};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::time::Duration;

/// Deployment-wide replay cache; hands out tenant-bound [`TenantReplay`]s.
#[async_trait]
pub trait ReplayStore: Send + Sync + 'static {
    /// The replay cache of the tenant `repo` is bound to.
    fn tenant_replay(&self, repo: &Arc<dyn TenantRepo>) -> Arc<dyn TenantReplay>;
    /// Whether the backing service answers (`/readyz`).
    async fn ping(&self) -> StoreResult<()>;
    /// A short name for logs (`database`, `redis`).
    fn kind(&self) -> &'static str;
    /// Rate-limit counters on the same backend, when it keeps them itself (Redis); `None`
    /// leaves them to the database ([`Store::rate_limits`](crate::Store::rate_limits)).
    fn rate_limits(&self) -> Option<Arc<dyn RateLimitStore>> {
        None
    }
}

/// One tenant's replay cache.
#[async_trait]
pub trait TenantReplay: Send + Sync + 'static {
    /// Records `key` in `namespace` until `expires_at` (seconds, on the caller's clock `now`).
    /// Returns `true` the first time, `false` while it is recorded and not expired. Atomic
    /// across instances sharing the backend.
    async fn record_once(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool>;
}

// --- database -------------------------------------------------------------------------------

/// Replay markers in the database ([`TenantRepo::record_once`]). The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct DatabaseReplayStore;

struct DatabaseTenantReplay {
    batcher: crate::ReplayBatcher,
}

#[async_trait]
impl ReplayStore for DatabaseReplayStore {
    fn tenant_replay(&self, repo: &Arc<dyn TenantRepo>) -> Arc<dyn TenantReplay> {
        Arc::new(DatabaseTenantReplay {
            batcher: crate::ReplayBatcher::new(repo.clone()),
        })
    }

    /// The database's own readiness is checked by [`Store::ping`](crate::Store::ping).
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "database"
    }
}

#[async_trait]
impl TenantReplay for DatabaseTenantReplay {
    async fn record_once(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        self.batcher
            .record_once(namespace, key, expires_at, now)
            .await
    }
}

// --- Redis ----------------------------------------------------------------------------------

/// Timeouts of the Redis replay cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisOptions {
    /// Limit on establishing one connection. Default 1 s.
    pub connection_timeout: Duration,
    /// Limit on one command's answer. Default 1 s.
    pub response_timeout: Duration,
    /// Limit on a whole call, reconnection attempts included: past it the call fails with
    /// [`StoreError::Unavailable`]. Default 2 s.
    pub operation_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            connection_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            operation_timeout: Duration::from_secs(2),
        }
    }
}

/// Replay markers in Redis. Cheap to clone. The connection is made lazily and re-made by the
/// connection manager after a failure, so a Redis restart needs no atauth restart.
#[derive(Clone)]
pub struct RedisReplayStore {
    manager: ConnectionManager,
    options: RedisOptions,
}

impl std::fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisReplayStore")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl RedisReplayStore {
    /// A store for `url` (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS is not
    /// built in) with the default [`RedisOptions`]. Only the URL is checked here; the
    /// connection is made on first use (see [`ReplayStore::ping`]). Must be called inside a
    /// Tokio runtime.
    pub fn new(url: &str) -> StoreResult<Self> {
        Self::with_options(url, RedisOptions::default())
    }

    pub fn with_options(url: &str, options: RedisOptions) -> StoreResult<Self> {
        let client =
            redis::Client::open(url).map_err(|e| redis_unavailable("parse Redis URL", &e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connection_timeout))
            .set_response_timeout(Some(options.response_timeout))
            // Few, quick reconnection attempts per failure: the operation timeout bounds a call
            // anyway, and the next call starts a new round.
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| redis_unavailable("create Redis connection manager", &e))?;
        Ok(Self { manager, options })
    }

    /// Runs one command under the operation timeout.
    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        op: &'static str,
        cmd: redis::Cmd,
    ) -> StoreResult<T> {
        let mut conn = self.manager.clone();
        match tokio::time::timeout(self.options.operation_timeout, cmd.query_async(&mut conn)).await
        {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(redis_unavailable(op, &e)),
            Err(_) => Err(redis_unavailable(op, &"timed out")),
        }
    }
}

/// Failed Redis calls since start-up, all stores of the process together (for metrics).
static REDIS_ERRORS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many Redis calls (replay markers, rate-limit counters, pings) failed since start-up.
pub fn redis_error_count() -> u64 {
    REDIS_ERRORS.load(std::sync::atomic::Ordering::Relaxed)
}

fn redis_unavailable(op: &str, e: &dyn std::fmt::Display) -> StoreError {
    REDIS_ERRORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::warn!(operation = op, error = %e, "replay cache error");
    StoreError::Unavailable(format!("{op}: {e}"))
}

/// The Redis key of a marker: `atauth:{tenant_id}:{namespace}:{key}`.
pub fn redis_key(tenant_id: TenantId, namespace: &str, key: &str) -> String {
    format!("atauth:{tenant_id}:{namespace}:{key}")
}

/// Longest lifetime of a Redis marker. Callers record markers for minutes (proof and assertion
/// lifetimes are bounded by the protocol core); this only keeps `PX` in Redis's range.
const MAX_TTL_SECS: i64 = 24 * 60 * 60;

/// Milliseconds a marker expiring at `expires_at` (seconds) lives from `now`: at least 1 s, so
/// that a marker is never skipped because its lifetime rounds to nothing, at most a day.
fn ttl_millis(expires_at: i64, now: i64) -> u64 {
    let secs = expires_at.saturating_sub(now).clamp(1, MAX_TTL_SECS);
    u64::try_from(secs).unwrap_or(1) * 1000
}

#[async_trait]
impl ReplayStore for RedisReplayStore {
    fn tenant_replay(&self, repo: &Arc<dyn TenantRepo>) -> Arc<dyn TenantReplay> {
        Arc::new(RedisTenantReplay {
            store: self.clone(),
            tenant_id: repo.tenant_id(),
        })
    }

    async fn ping(&self) -> StoreResult<()> {
        let pong: String = self.run("ping Redis", redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(redis_unavailable(
                "ping Redis",
                &format!("unexpected answer {pong:?}"),
            ))
        }
    }

    fn kind(&self) -> &'static str {
        "redis"
    }

    fn rate_limits(&self) -> Option<Arc<dyn RateLimitStore>> {
        Some(Arc::new(RedisRateLimits::new(self.clone())))
    }
}

struct RedisTenantReplay {
    store: RedisReplayStore,
    tenant_id: TenantId,
}

#[async_trait]
impl TenantReplay for RedisTenantReplay {
    async fn record_once(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(redis_key(self.tenant_id, namespace, key))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(expires_at, now));
        // `OK` when set, nil when the key already exists.
        let set: Option<String> = self.store.run("record single-use marker", cmd).await?;
        Ok(set.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_per_tenant() {
        assert_eq!(redis_key(7, "dpop", "jkt:jti"), "atauth:7:dpop:jkt:jti");
        assert_ne!(redis_key(1, "dpop", "k"), redis_key(2, "dpop", "k"));
        assert_ne!(
            redis_key(1, "dpop", "k"),
            redis_key(1, "client_assertion", "k")
        );
    }

    #[test]
    fn ttl_is_positive() {
        assert_eq!(ttl_millis(160, 100), 60_000);
        assert_eq!(ttl_millis(100, 100), 1000);
        assert_eq!(ttl_millis(50, 100), 1000);
        assert_eq!(ttl_millis(i64::MAX, i64::MIN), 86_400_000);
    }

    #[tokio::test]
    async fn malformed_urls_are_refused() {
        assert!(matches!(
            RedisReplayStore::new("not a url"),
            Err(StoreError::Unavailable(_))
        ));
        assert!(RedisReplayStore::new("redis://127.0.0.1:1/").is_ok());
    }
}
