//! Sign-in throttling per account and per client address (fixed windows, in memory).
//! Multi-instance deployments move these counters to Redis (a later issue).

use std::collections::HashMap;
use std::sync::Mutex;

/// Failed sign-ins allowed per account, and per client address, in one window.
pub const MAX_FAILURES_PER_ACCOUNT: u32 = 10;
pub const MAX_FAILURES_PER_ADDRESS: u32 = 50;
pub const WINDOW_SECS: i64 = 15 * 60;
const MAX_TRACKED_KEYS: usize = 100_000;

#[derive(Default)]
pub struct SignInThrottle {
    failures: Mutex<HashMap<String, (u32, i64)>>,
}

impl SignInThrottle {
    /// Seconds to wait if `account_key` or `address_key` is currently locked out.
    pub fn retry_after(&self, account_key: &str, address_key: &str, now: i64) -> Option<i64> {
        let map = self.failures.lock().ok()?;
        let blocked = |key: &str, max: u32| {
            map.get(key)
                .filter(|(count, start)| *count >= max && now - start < WINDOW_SECS)
                .map(|(_, start)| WINDOW_SECS - (now - start))
        };
        blocked(account_key, MAX_FAILURES_PER_ACCOUNT)
            .or_else(|| blocked(address_key, MAX_FAILURES_PER_ADDRESS))
    }

    pub fn record_failure(&self, account_key: &str, address_key: &str, now: i64) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= MAX_TRACKED_KEYS {
            map.retain(|_, (_, start)| now - *start < WINDOW_SECS);
        }
        for key in [account_key, address_key] {
            let entry = map.entry(key.to_string()).or_insert((0, now));
            if now - entry.1 >= WINDOW_SECS {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    pub fn record_success(&self, account_key: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(account_key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_an_account_after_too_many_failures_then_releases_it() {
        let t = SignInThrottle::default();
        for _ in 0..MAX_FAILURES_PER_ACCOUNT {
            assert_eq!(t.retry_after("acct:a", "ip:1", 100), None);
            t.record_failure("acct:a", "ip:1", 100);
        }
        assert_eq!(t.retry_after("acct:a", "ip:2", 160), Some(WINDOW_SECS - 60));
        assert_eq!(t.retry_after("acct:b", "ip:2", 160), None);
        assert_eq!(t.retry_after("acct:a", "ip:2", 100 + WINDOW_SECS), None);
    }

    #[test]
    fn locks_an_address_across_accounts() {
        let t = SignInThrottle::default();
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            t.record_failure(&format!("acct:{i}"), "ip:9", 0);
        }
        assert!(t.retry_after("acct:new", "ip:9", 1).is_some());
        assert!(t.retry_after("acct:new", "ip:8", 1).is_none());
    }
}
