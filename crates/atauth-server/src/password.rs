//! Password hashing with argon2id on the blocking pool, behind a concurrency cap so sign-in
//! bursts cannot starve the runtime.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Hashes a password (argon2id, default parameters) into a PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

/// Verified against when the account does not exist, so a miss costs as much as a hit. Any valid
/// PHC string with the parameters `hash_password` uses will do; a constant keeps the work out of
/// start-up (a test checks the parameters stay equal).
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$YXRhdXRoZHVtbXlzYWx0$kDbX1s6wY0a0m5Yq1c8zq9uJ4bO4HqTzZ4m3bG3x9mQ";

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
        }
    }

    /// Verifies `password` against `phc` (or against a dummy hash when `phc` is `None`, always
    /// answering false). Errors only if the runtime is shutting down.
    pub async fn verify(&self, password: String, phc: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let exists = phc.is_some();
        let phc = phc.unwrap_or_else(|| DUMMY_HASH.to_string());
        let result = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&phc)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        exists && result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_costs_what_a_real_hash_costs() {
        let dummy = PasswordHash::new(DUMMY_HASH).expect("dummy hash parses");
        let real_phc = hash_password("some password").unwrap();
        let real = PasswordHash::new(&real_phc).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert_eq!(dummy.hash.map(|h| h.len()), real.hash.map(|h| h.len()));
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let hasher = PasswordHasher::new(1);
        assert!(!hasher.verify("anything".into(), None).await);
        let phc = hash_password("right").unwrap();
        assert!(hasher.verify("right".into(), Some(phc.clone())).await);
        assert!(!hasher.verify("wrong".into(), Some(phc)).await);
    }
}
