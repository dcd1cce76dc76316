//! Sign-in throttling per account and per client address (fixed windows), per cooperative.
//!
//! The counters live in a [`RateLimitStore`] shared by every instance: Redis with `--redis`,
//! else the database's `rate_limits` table. Keys are SHA-256 hashes of the account or address
//! key, so neither a handle nor an address is stored in clear. A counter backend that cannot
//! be reached is an error the caller turns into 503 (fail closed, like the replay caches).

use atauth_store::{Account, RateLimitStore, StoreResult, TenantId};
use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::net::IpAddr;
use std::sync::Arc;

/// Failed sign-ins allowed per account, and per client address, in one window.
pub const MAX_FAILURES_PER_ACCOUNT: u64 = 10;
pub const MAX_FAILURES_PER_ADDRESS: u64 = 50;
pub const WINDOW_SECS: i64 = 15 * 60;
/// Namespace of the counters (`atauth:{tenant}:throttle:{hash}` in Redis).
const NAMESPACE: &str = "throttle";

/// The two counters a sign-in attempt counts against (deliberate difference 12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleKeys {
    account: String,
    address: String,
}

impl ThrottleKeys {
    /// The keys of an attempt with `identifier` (normalised) from `address`. Failures count
    /// per account, whether the member typed the handle, e-mail or DID, so spreading guesses
    /// over them gains nothing; an identifier of no account (or of a disabled one) is counted
    /// as typed. A server started without connection info counts every attempt under one
    /// empty address.
    pub fn for_sign_in(
        account: Option<&Account>,
        identifier: &str,
        address: Option<IpAddr>,
    ) -> Self {
        Self {
            account: match account {
                Some(a) => format!("account:{}", a.id),
                None => format!("identifier:{identifier}"),
            },
            address: format!(
                "address:{}",
                address.map(|ip| ip.to_string()).unwrap_or_default()
            ),
        }
    }
}

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

    /// Seconds to wait if the account or the address of `keys` is currently locked out.
    pub async fn retry_after(
        &self,
        tenant: TenantId,
        keys: &ThrottleKeys,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        for (key, max) in [
            (&keys.account, MAX_FAILURES_PER_ACCOUNT),
            (&keys.address, MAX_FAILURES_PER_ADDRESS),
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
        keys: &ThrottleKeys,
        now: i64,
    ) -> StoreResult<()> {
        for key in [&keys.account, &keys.address] {
            self.limits
                .hit(tenant, NAMESPACE, &hashed(key), WINDOW_SECS, now)
                .await?;
        }
        Ok(())
    }

    /// A successful sign-in clears the account's counter (not the address's).
    pub async fn record_success(&self, tenant: TenantId, keys: &ThrottleKeys) -> StoreResult<()> {
        self.limits
            .clear(tenant, NAMESPACE, &hashed(&keys.account))
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

    fn keys(account: &str, address: &str) -> ThrottleKeys {
        ThrottleKeys {
            account: account.into(),
            address: address.into(),
        }
    }

    #[test]
    fn attempts_count_per_account_whatever_was_typed_and_per_address() {
        let alice = Account {
            id: "a1".into(),
            did: "did:web:alice.test".into(),
            handle: "alice.test".into(),
            email: Some("alice@example.com".into()),
            password_hash: String::new(),
            created_at: 0,
            disabled: false,
        };
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let by_handle = ThrottleKeys::for_sign_in(Some(&alice), "alice.test", Some(ip));
        let by_email = ThrottleKeys::for_sign_in(Some(&alice), "alice@example.com", Some(ip));
        assert_eq!(by_handle, by_email);
        assert_eq!(by_handle, keys("account:a1", "address:203.0.113.7"));
        assert_eq!(
            ThrottleKeys::for_sign_in(None, "nobody.test", None),
            keys("identifier:nobody.test", "address:")
        );
    }

    #[tokio::test]
    async fn locks_an_account_after_too_many_failures_then_releases_it() {
        let t = throttle();
        for _ in 0..MAX_FAILURES_PER_ACCOUNT {
            assert_eq!(
                t.retry_after(1, &keys("acct:a", "ip:1"), 100)
                    .await
                    .unwrap(),
                None
            );
            t.record_failure(1, &keys("acct:a", "ip:1"), 100)
                .await
                .unwrap();
        }
        let wait = t
            .retry_after(1, &keys("acct:a", "ip:2"), 160)
            .await
            .unwrap();
        assert_eq!(wait, Some(WINDOW_SECS - 60));
        assert_eq!(
            t.retry_after(1, &keys("acct:b", "ip:2"), 160)
                .await
                .unwrap(),
            None
        );
        // Another cooperative keeps its own counters.
        assert_eq!(
            t.retry_after(2, &keys("acct:a", "ip:2"), 160)
                .await
                .unwrap(),
            None
        );
        let later = 100 + WINDOW_SECS;
        assert_eq!(
            t.retry_after(1, &keys("acct:a", "ip:2"), later)
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn locks_an_address_across_accounts() {
        let t = throttle();
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            t.record_failure(1, &keys(&format!("acct:{i}"), "ip:9"), 0)
                .await
                .unwrap();
        }
        assert!(t
            .retry_after(1, &keys("acct:new", "ip:9"), 1)
            .await
            .unwrap()
            .is_some());
        assert!(t
            .retry_after(1, &keys("acct:new", "ip:8"), 1)
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn a_success_clears_the_account_counter() {
        let t = throttle();
        for _ in 0..MAX_FAILURES_PER_ACCOUNT {
            t.record_failure(1, &keys("acct:a", "ip:1"), 0)
                .await
                .unwrap();
        }
        t.record_success(1, &keys("acct:a", "ip:1")).await.unwrap();
        assert_eq!(
            t.retry_after(1, &keys("acct:a", "ip:2"), 1).await.unwrap(),
            None
        );
    }

    #[test]
    fn stored_keys_do_not_show_the_handle_or_address() {
        let key = hashed("address:203.0.113.7");
        assert!(!key.contains("203.0.113"));
        assert_eq!(key.len(), 43);
        assert_ne!(key, hashed("address:203.0.113.8"));
    }
}
