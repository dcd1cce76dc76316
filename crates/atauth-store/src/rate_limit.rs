//! Fixed-window rate-limit counters (sign-in throttling), shared by every instance of a
//! deployment.
//!
//! A [`RateLimitStore`] counts hits per `(tenant, namespace, key)` in a window that opens with
//! the first hit and closes `window_secs` later. Callers pass keys that are already hashed, so
//! no handle, e-mail or client address is stored in clear. Three implementations:
//!
//! * [`DatabaseRateLimits`]: the `rate_limits` table of the SQLite or PostgreSQL backend, one
//!   atomic upsert per hit ([`Store::rate_limits`](crate::Store::rate_limits)).
//! * [`RedisRateLimits`] (`--redis`): one atomic script per hit (`INCR`, then `PEXPIRE` on the
//!   first hit) on `atauth:{tenant_id}:{namespace}:{key}`; Redis expires the windows itself.
//! * [`MemoryRateLimits`]: one process only, for stores that have nothing better.
//!
//! As with the replay caches, an unreachable backend is [`StoreError::Unavailable`] and the
//! caller refuses the request (fail closed).

use crate::replay::{redis_key, RedisReplayStore};
use crate::sql::conn::{statement, Pools};
use crate::{StoreError, StoreResult, TenantId};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// A counter's state: hits in the current window, and seconds until the window closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCount {
    pub count: u64,
    pub resets_in_secs: i64,
}

/// Deployment-wide rate-limit counters.
#[async_trait]
pub trait RateLimitStore: Send + Sync + 'static {
    /// Adds one hit to the counter and returns its new state. A counter whose window has
    /// closed starts again at 1 with a new window of `window_secs`. Atomic across instances.
    async fn hit(
        &self,
        tenant_id: TenantId,
        namespace: &str,
        key: &str,
        window_secs: i64,
        now: i64,
    ) -> StoreResult<WindowCount>;

    /// The counter's state, if its window is open.
    async fn peek(
        &self,
        tenant_id: TenantId,
        namespace: &str,
        key: &str,
        now: i64,
    ) -> StoreResult<Option<WindowCount>>;

    /// Forgets the counter.
    async fn clear(&self, tenant_id: TenantId, namespace: &str, key: &str) -> StoreResult<()>;

    /// Deletes counters whose window closed (backends without their own expiry).
    async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
        let _ = now;
        Ok(0)
    }

    /// A short name for logs (`database`, `redis`, `memory`).
    fn kind(&self) -> &'static str;
}

/// The stored key: namespace and key in one column.
fn row_key(namespace: &str, key: &str) -> String {
    format!("{namespace}:{key}")
}

fn window_count(count: i64, window_ends_at: i64, now: i64) -> WindowCount {
    WindowCount {
        count: u64::try_from(count).unwrap_or(0),
        resets_in_secs: window_ends_at.saturating_sub(now).max(0),
    }
}

// --- database -------------------------------------------------------------------------------

/// Counters in the database's `rate_limits` table. Every statement goes to the database's
/// writer (one connection with SQLite), so a counter is read in the order it is written.
#[derive(Clone)]
pub struct DatabaseRateLimits {
    pools: Pools,
}

impl DatabaseRateLimits {
    pub(crate) fn new(pools: Pools) -> Self {
        Self { pools }
    }
}

impl std::fmt::Debug for DatabaseRateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseRateLimits({})", self.pools.dialect().name)
    }
}

/// A new key is inserted with count 1; a live one is incremented; an expired one restarts.
const HIT: &str = "INSERT INTO rate_limits (tenant_id, key, count, window_ends_at) \
     VALUES ($1, $2, 1, $3) ON CONFLICT (tenant_id, key) DO UPDATE SET \
     count = CASE WHEN rate_limits.window_ends_at <= $4 THEN 1 ELSE rate_limits.count + 1 END, \
     window_ends_at = CASE WHEN rate_limits.window_ends_at <= $4 \
       THEN excluded.window_ends_at ELSE rate_limits.window_ends_at END \
     RETURNING count, window_ends_at";

#[async_trait]
impl RateLimitStore for DatabaseRateLimits {
    async fn hit(
        &self,
        tenant_id: TenantId,
        namespace: &str,
        key: &str,
        window_secs: i64,
        now: i64,
    ) -> StoreResult<WindowCount> {
        let ends = now.saturating_add(window_secs.max(1));
        let upsert = statement(HIT)
            .bind(tenant_id)
            .bind(row_key(namespace, key))
            .bind(ends)
            .bind(now);
        let (count, ends_at): (i64, i64) = self
            .pools
            .writer()
            .fetch_one("count a rate-limited hit", upsert)
            .await?;
        Ok(window_count(count, ends_at, now))
    }

    async fn peek(
        &self,
        tenant_id: TenantId,
        namespace: &str,
        key: &str,
        now: i64,
    ) -> StoreResult<Option<WindowCount>> {
        let select = statement(
            "SELECT count, window_ends_at FROM rate_limits \
             WHERE tenant_id = $1 AND key = $2 AND window_ends_at > $3",
        )
        .bind(tenant_id)
        .bind(row_key(namespace, key))
        .bind(now);
        let row: Option<(i64, i64)> = self
            .pools
            .writer()
            .fetch_optional("read a rate-limit counter", select)
            .await?;
        Ok(row.map(|(count, ends_at)| window_count(count, ends_at, now)))
    }

    async fn clear(&self, tenant_id: TenantId, namespace: &str, key: &str) -> StoreResult<()> {
        let delete = statement("DELETE FROM rate_limits WHERE tenant_id = $1 AND key = $2")
            .bind(tenant_id)
            .bind(row_key(namespace, key));
        self.pools
            .writer()
            .execute("clear a rate-limit counter", delete)
            .await?;
        Ok(())
    }

    async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
        let delete = statement("DELETE FROM rate_limits WHERE window_ends_at <= $1").bind(now);
        self.pools
            .writer()
            .execute("purge rate-limit counters", delete)
            .await
    }

    fn kind(&self) -> &'static str {
        "database"
    }
}

// --- Redis ----------------------------------------------------------------------------------

/// Counters in Redis, over the replay cache's connection (same URL, same timeouts).
#[derive(Clone, Debug)]
pub struct RedisRateLimits {
    redis: RedisReplayStore,
}

impl RedisRateLimits {
    pub fn new(redis: RedisReplayStore) -> Self {
        Self { redis }
    }
}

/// `INCR`, and on the first hit (or a key left without expiry) `PEXPIRE`; answers the count
/// and the milliseconds left. One script, so atomic.
const HIT_SCRIPT: &str = "local n = redis.call('INCR', KEYS[1]) \
    local ttl = redis.call('PTTL', KEYS[1]) \
    if n == 1 or ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end \
    return {n, ttl}";
const PEEK_SCRIPT: &str = "local n = redis.call('GET', KEYS[1]) \
    if not n then return false end \
    return {tonumber(n), redis.call('PTTL', KEYS[1])}";

/// Seconds left of a window with `millis` milliseconds left, rounded up.
fn millis_to_secs(millis: i64) -> i64 {
    (millis.max(0) + 999) / 1000
}

#[async_trait]
impl RateLimitStore for RedisRateLimits {
    async fn hit(
        &self,
        tenant_id: TenantId,
        namespace: &str,
        key: &str,
        window_secs: i64,
        _now: i64,
    ) -> StoreResult<WindowCount> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(HIT_SCRIPT)
            .arg(1)
            .arg(redis_key(tenant_id, namespace, key))
            .arg(window_secs.clamp(1, 24 * 60 * 60) * 1000);
        let (count, ttl): (i64, i64) = self.redis.run("count a rate-limited hit", cmd).await?;
        Ok(WindowCount {
            count: u64::try_from(count).unwrap_or(0),
            resets_in_secs: millis_to_secs(ttl),
        })
    }

    async fn peek(
        &self,
        tenant_id: TenantId,
        namespace: &str,
        key: &str,
        _now: i64,
    ) -> StoreResult<Option<WindowCount>> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(PEEK_SCRIPT)
            .arg(1)
            .arg(redis_key(tenant_id, namespace, key));
        let state: Option<(i64, i64)> = self.redis.run("read a rate-limit counter", cmd).await?;
        Ok(state.map(|(count, ttl)| WindowCount {
            count: u64::try_from(count).unwrap_or(0),
            resets_in_secs: millis_to_secs(ttl),
        }))
    }

    async fn clear(&self, tenant_id: TenantId, namespace: &str, key: &str) -> StoreResult<()> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(redis_key(tenant_id, namespace, key));
        let _: i64 = self.redis.run("clear a rate-limit counter", cmd).await?;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

// --- memory ---------------------------------------------------------------------------------

/// (tenant, row key) → (count, window end).
type MemoryCounters = HashMap<(TenantId, String), (i64, i64)>;

/// Counters in this process's memory (a store of one instance only).
#[derive(Debug, Default)]
pub struct MemoryRateLimits {
    counters: Mutex<MemoryCounters>,
}

/// Beyond this many counters, closed windows are swept before adding one.
const MEMORY_MAX_COUNTERS: usize = 100_000;

impl MemoryRateLimits {
    fn lock(&self) -> StoreResult<std::sync::MutexGuard<'_, MemoryCounters>> {
        self.counters
            .lock()
            .map_err(|_| StoreError::Unavailable("rate-limit counters poisoned".into()))
    }
}

#[async_trait]
impl RateLimitStore for MemoryRateLimits {
    async fn hit(
        &self,
        tenant_id: TenantId,
        namespace: &str,
        key: &str,
        window_secs: i64,
        now: i64,
    ) -> StoreResult<WindowCount> {
        let mut map = self.lock()?;
        if map.len() >= MEMORY_MAX_COUNTERS {
            map.retain(|_, (_, ends)| *ends > now);
        }
        let entry = map
            .entry((tenant_id, row_key(namespace, key)))
            .or_insert((0, 0));
        if entry.1 <= now {
            *entry = (0, now.saturating_add(window_secs.max(1)));
        }
        entry.0 += 1;
        Ok(window_count(entry.0, entry.1, now))
    }

    async fn peek(
        &self,
        tenant_id: TenantId,
        namespace: &str,
        key: &str,
        now: i64,
    ) -> StoreResult<Option<WindowCount>> {
        let map = self.lock()?;
        Ok(map
            .get(&(tenant_id, row_key(namespace, key)))
            .filter(|(_, ends)| *ends > now)
            .map(|(count, ends)| window_count(*count, *ends, now)))
    }

    async fn clear(&self, tenant_id: TenantId, namespace: &str, key: &str) -> StoreResult<()> {
        self.lock()?.remove(&(tenant_id, row_key(namespace, key)));
        Ok(())
    }

    async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
        let mut map = self.lock()?;
        let before = map.len();
        map.retain(|_, (_, ends)| *ends > now);
        Ok((before - map.len()) as u64)
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_counters_count_within_a_window_then_restart() {
        let limits = MemoryRateLimits::default();
        assert_eq!(limits.peek(1, "t", "k", 100).await.unwrap(), None);
        for expected in 1..=3 {
            let c = limits.hit(1, "t", "k", 60, 100).await.unwrap();
            assert_eq!(c.count, expected);
        }
        let c = limits.peek(1, "t", "k", 130).await.unwrap().unwrap();
        assert_eq!((c.count, c.resets_in_secs), (3, 30));
        // Another tenant, another namespace: other counters.
        assert_eq!(limits.peek(2, "t", "k", 130).await.unwrap(), None);
        assert_eq!(limits.peek(1, "u", "k", 130).await.unwrap(), None);
        // The window closes at 160.
        assert_eq!(limits.peek(1, "t", "k", 160).await.unwrap(), None);
        assert_eq!(limits.hit(1, "t", "k", 60, 160).await.unwrap().count, 1);
        limits.clear(1, "t", "k").await.unwrap();
        assert_eq!(limits.peek(1, "t", "k", 161).await.unwrap(), None);
    }

    #[test]
    fn redis_windows_round_up_to_whole_seconds() {
        assert_eq!(millis_to_secs(1), 1);
        assert_eq!(millis_to_secs(1000), 1);
        assert_eq!(millis_to_secs(1001), 2);
        assert_eq!(millis_to_secs(-2), 0);
    }
}
