//! Sign-in throttling per account and per client address (fixed windows), per cooperative.
//!
//! The counters live in a [`RateLimitStore`] shared by every instance: Redis with `--redis`,
//! else the database's `rate_limits` table. Keys are SHA-256 hashes of the account or address
//! key, so neither a handle nor an address is stored in clear. A counter backend that cannot
//! be reached is an error the caller turns into 503 (fail closed, like the replay caches).

use atauth_store::{RateLimitStore, StoreResult, TenantId};
use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::sync::Arc;

/// Failed sign-ins allowed per account, and per client address, in one window.
pub const MAX_FAILURES_PER_ACCOUNT: u64 = 10;
pub const MAX_FAILURES_PER_ADDRESS: u64 = 50;
pub const WINDOW_SECS: i64 = 15 * 60;
/// Namespace of the counters (`atauth:{tenant}:throttle:{hash}` in Redis).
const NAMESPACE: &str = "throttle";

pub struct SignInThrottle {
    limits: Arc<dyn RateLimitStore>,
}

/// The stored form of a counter key: its SHA-256, base64url.
fn hashed(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, key.as_bytes()))
}

impl SignInThrottle {
    pub fn new(limits: Arc<dyn RateLimitStore>) -> Self {
        Self { limits }
    }

    /// Seconds to wait if `account_key` or `address_key` is currently locked out.
    pub async fn retry_after(
        &self,
        tenant: TenantId,
        account_key: &str,
        address_key: &str,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        for (key, max) in [
            (account_key, MAX_FAILURES_PER_ACCOUNT),
            (address_key, MAX_FAILURES_PER_ADDRESS),
        ] {
            let counter = self
                .limits
                .peek(tenant, NAMESPACE, &hashed(key), now)
                .await?;
            if let Some(c) = counter.filter(|c| c.count >= max) {
                return Ok(Some(c.resets_in_secs.max(1)));
            }
        }
        Ok(None)
    }

    pub async fn record_failure(
        &self,
        tenant: TenantId,
        account_key: &str,
        address_key: &str,
        now: i64,
    ) -> StoreResult<()> {
        for key in [account_key, address_key] {
            self.limits
                .hit(tenant, NAMESPACE, &hashed(key), WINDOW_SECS, now)
                .await?;
        }
        Ok(())
    }

    pub async fn record_success(&self, tenant: TenantId, account_key: &str) -> StoreResult<()> {
        self.limits
            .clear(tenant, NAMESPACE, &hashed(account_key))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atauth_store::MemoryRateLimits;

    fn throttle() -> SignInThrottle {
        SignInThrottle::new(Arc::new(MemoryRateLimits::default()))
    }

    #[tokio::test]
    async fn locks_an_account_after_too_many_failures_then_releases_it() {
        let t = throttle();
        for _ in 0..MAX_FAILURES_PER_ACCOUNT {
            assert_eq!(t.retry_after(1, "acct:a", "ip:1", 100).await.unwrap(), None);
            t.record_failure(1, "acct:a", "ip:1", 100).await.unwrap();
        }
        let wait = t.retry_after(1, "acct:a", "ip:2", 160).await.unwrap();
        assert_eq!(wait, Some(WINDOW_SECS - 60));
        assert_eq!(t.retry_after(1, "acct:b", "ip:2", 160).await.unwrap(), None);
        // Another cooperative keeps its own counters.
        assert_eq!(t.retry_after(2, "acct:a", "ip:2", 160).await.unwrap(), None);
        let later = 100 + WINDOW_SECS;
        assert_eq!(
            t.retry_after(1, "acct:a", "ip:2", later).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn locks_an_address_across_accounts() {
        let t = throttle();
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            t.record_failure(1, &format!("acct:{i}"), "ip:9", 0)
                .await
                .unwrap();
        }
        assert!(t
            .retry_after(1, "acct:new", "ip:9", 1)
            .await
            .unwrap()
            .is_some());
        assert!(t
            .retry_after(1, "acct:new", "ip:8", 1)
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn a_success_clears_the_account_counter() {
        let t = throttle();
        for _ in 0..MAX_FAILURES_PER_ACCOUNT {
            t.record_failure(1, "acct:a", "ip:1", 0).await.unwrap();
        }
        t.record_success(1, "acct:a").await.unwrap();
        assert_eq!(t.retry_after(1, "acct:a", "ip:2", 1).await.unwrap(), None);
    }

    #[test]
    fn stored_keys_do_not_show_the_handle_or_address() {
        let key = hashed("address:203.0.113.7");
        assert!(!key.contains("203.0.113"));
        assert_eq!(key.len(), 43);
        assert_ne!(key, hashed("address:203.0.113.8"));
    }
}
