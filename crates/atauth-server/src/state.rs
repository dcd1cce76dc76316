//! Shared handles every handler may need. Kept small: store, replay cache, fetcher, clock,
//! randomness.

use crate::client_registry::ClientRegistry;
use crate::password::PasswordHasher;
use crate::permission_sets::PermissionSets;
use crate::tenant::TenantCache;
use crate::ServerConfig;
use atauth_fetch::SafeFetcher;
use atauth_protocol::clock::Clock;
use atauth_protocol::random::RandomSource;
use atauth_store::{DatabaseReplayStore, ReplayStore, Store};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
    /// Permission sets for `include:` scopes ([`Self::with_permission_sets`]); none by default.
    pub(crate) permission_sets: Arc<PermissionSets>,
}

pub(crate) struct Inner {
    pub store: Arc<dyn Store>,
    pub replay: Arc<dyn ReplayStore>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn RandomSource>,
    pub config: ServerConfig,
    pub tenants: TenantCache,
    pub clients: ClientRegistry,
    pub passwords: PasswordHasher,
    pub throttle: crate::ui::throttle::SignInThrottle,
    pub metrics: crate::metrics::Metrics,
}

impl AppState {
    /// State over `store`, which also keeps the replay markers ([`DatabaseReplayStore`]).
    pub fn new(
        store: Arc<dyn Store>,
        fetcher: Arc<SafeFetcher>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn RandomSource>,
        config: ServerConfig,
    ) -> Self {
        Self::with_replay_store(
            store,
            Arc::new(DatabaseReplayStore),
            fetcher,
            clock,
            rng,
            config,
        )
    }

    /// State over `store`, with the DPoP and client assertion `jti` markers kept in `replay`
    /// (e.g. a [`atauth_store::RedisReplayStore`] shared by several instances).
    pub fn with_replay_store(
        store: Arc<dyn Store>,
        replay: Arc<dyn ReplayStore>,
        fetcher: Arc<SafeFetcher>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn RandomSource>,
        config: ServerConfig,
    ) -> Self {
        let passwords =
            PasswordHasher::new(config.password_concurrency.max(1), config.password_cost);
        let metrics = crate::metrics::Metrics::new(fetcher.clone());
        let clients = ClientRegistry::new(fetcher, config.dev);
        // Sign-in counters: Redis when the replay markers are there too, else the database.
        let rate_limits = replay.rate_limits().unwrap_or_else(|| store.rate_limits());
        Self {
            inner: Arc::new(Inner {
                tenants: TenantCache::new(
                    store.clone(),
                    replay.clone(),
                    clock.clone(),
                    rng.clone(),
                ),
                store,
                replay,
                clock,
                rng,
                config,
                clients,
                passwords,
                throttle: crate::ui::throttle::SignInThrottle::new(rate_limits),
                metrics,
            }),
            permission_sets: Arc::default(),
        }
    }

    /// The same state resolving `include:` scopes from `sets` (pinned files, then their
    /// fallback source).
    pub fn with_permission_sets(mut self, sets: PermissionSets) -> Self {
        self.permission_sets = Arc::new(sets);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn replay_store(&self) -> &Arc<dyn ReplayStore> {
        &self.inner.replay
    }

    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now()
    }
}
