//! Password hashing with argon2id on the blocking pool, behind a concurrency cap so sign-in
//! bursts cannot starve the runtime. The cost comes from the server's configuration
//! ([`PasswordCost`]); the salt from the injected randomness.

use argon2::password_hash::{
    PasswordHash, PasswordHasher as _, PasswordVerifier, Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use atauth_protocol::random::RandomSource;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Bytes of salt per password (the PHC recommendation, and what `SaltString::generate` draws).
const SALT_BYTES: usize = Salt::RECOMMENDED_LENGTH;

/// The cost parameters of argon2id (RFC 9106): memory in KiB, passes, lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl PasswordCost {
    /// What the server uses: m = 19 MiB, t = 2, p = 1, the first configuration of the OWASP
    /// Password Storage Cheat Sheet (section "Argon2id") and the argon2 crate's defaults.
    pub const PRODUCTION: Self = Self {
        memory_kib: Params::DEFAULT_M_COST,
        iterations: Params::DEFAULT_T_COST,
        parallelism: Params::DEFAULT_P_COST,
    };

    /// Tests only: the smallest cost argon2 accepts (m = 8 KiB, t = 1, p = 1), so test suites
    /// that create accounts and sign in do not spend their time hashing. Never for real members.
    pub const MINIMAL_FOR_TESTS: Self = Self {
        memory_kib: Params::MIN_M_COST,
        iterations: Params::MIN_T_COST,
        parallelism: Params::MIN_P_COST,
    };

    fn argon2(self) -> anyhow::Result<Argon2<'static>> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// A well-formed PHC string with these parameters, verified against when the account does
    /// not exist so that a miss costs as much as a hit. Built from the parameters (no hashing,
    /// so no work at start-up); a test checks it matches what [`hash_password`] writes.
    fn dummy_hash(self) -> String {
        format!(
            "$argon2id$v=19$m={},t={},p={}$YXRhdXRoZHVtbXlzYWx0$kDbX1s6wY0a0m5Yq1c8zq9uJ4bO4HqTzZ4m3bG3x9mQ",
            self.memory_kib, self.iterations, self.parallelism
        )
    }
}

impl Default for PasswordCost {
    fn default() -> Self {
        Self::PRODUCTION
    }
}

/// Hashes `password` into a PHC string: argon2id at `cost`, with a salt drawn from `rng`. The
/// hashing runs on the blocking pool (at production cost it takes tens of milliseconds).
pub async fn hash_password(
    password: &str,
    cost: PasswordCost,
    rng: &dyn RandomSource,
) -> anyhow::Result<String> {
    let mut salt = [0u8; SALT_BYTES];
    rng.fill(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("password salt: {e}"))?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        cost.argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
    })
    .await?
}

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Verified against when the account does not exist ([`PasswordCost::dummy_hash`]).
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// At most `concurrency` verifications at once; unknown accounts cost what `cost` costs.
    pub fn new(concurrency: usize, cost: PasswordCost) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            dummy_hash: cost.dummy_hash().into(),
        }
    }

    /// Verifies `password` against `phc` (or against a dummy hash when `phc` is `None`, always
    /// answering false). The parameters are those in `phc`. Errors only if the runtime is
    /// shutting down.
    pub async fn verify(&self, password: String, phc: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let exists = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy_hash.to_string());
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
    use atauth_protocol::random::SystemRandom;

    /// A source that repeats one byte: the salt is exactly what the injected randomness gives.
    struct Repeating(u8);

    impl RandomSource for Repeating {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    #[tokio::test]
    async fn production_hashes_are_argon2id_with_the_owasp_parameters_and_verify() {
        let phc = hash_password("some password", PasswordCost::PRODUCTION, &SystemRandom)
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        assert_eq!(parsed.salt.map(|s| s.len()), Some(22), "16 bytes of salt");
        assert_eq!(parsed.hash.map(|h| h.len()), Some(32));
        let hasher = PasswordHasher::new(1, PasswordCost::PRODUCTION);
        assert!(
            hasher
                .verify("some password".into(), Some(phc.clone()))
                .await
        );
        assert!(!hasher.verify("other password".into(), Some(phc)).await);
    }

    #[tokio::test]
    async fn the_salt_comes_from_the_injected_randomness() {
        let cost = PasswordCost::MINIMAL_FOR_TESTS;
        let a = hash_password("pw", cost, &Repeating(7)).await.unwrap();
        let b = hash_password("pw", cost, &Repeating(7)).await.unwrap();
        let c = hash_password("pw", cost, &Repeating(8)).await.unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let salt = PasswordHash::new(&a).unwrap().salt.unwrap().to_string();
        assert_eq!(
            salt,
            SaltString::encode_b64(&[7; SALT_BYTES]).unwrap().as_str()
        );
    }

    #[tokio::test]
    async fn the_dummy_hash_costs_what_a_real_hash_costs() {
        for cost in [PasswordCost::PRODUCTION, PasswordCost::MINIMAL_FOR_TESTS] {
            let dummy_phc = cost.dummy_hash();
            let dummy = PasswordHash::new(&dummy_phc).expect("dummy hash parses");
            let real_phc = hash_password("some password", cost, &SystemRandom)
                .await
                .unwrap();
            let real = PasswordHash::new(&real_phc).unwrap();
            assert_eq!(dummy.algorithm, real.algorithm);
            assert_eq!(dummy.version, real.version);
            assert_eq!(dummy.params, real.params);
            assert_eq!(dummy.hash.map(|h| h.len()), real.hash.map(|h| h.len()));
        }
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let cost = PasswordCost::MINIMAL_FOR_TESTS;
        let hasher = PasswordHasher::new(1, cost);
        assert!(!hasher.verify("anything".into(), None).await);
        let phc = hash_password("right", cost, &SystemRandom).await.unwrap();
        assert!(hasher.verify("right".into(), Some(phc.clone())).await);
        assert!(!hasher.verify("wrong".into(), Some(phc)).await);
    }
}
