//! Shared handles every handler may need. Kept small: store, fetcher, clock, randomness.

use crate::client_registry::ClientRegistry;
use crate::password::PasswordHasher;
use crate::tenant::TenantCache;
use crate::ServerConfig;
use atauth_fetch::SafeFetcher;
use atauth_protocol::clock::Clock;
use atauth_protocol::random::RandomSource;
use atauth_store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn RandomSource>,
    pub config: ServerConfig,
    pub tenants: TenantCache,
    pub clients: ClientRegistry,
    pub passwords: PasswordHasher,
    pub throttle: crate::ui::throttle::SignInThrottle,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        fetcher: Arc<SafeFetcher>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn RandomSource>,
        config: ServerConfig,
    ) -> Self {
        let passwords = PasswordHasher::new(config.password_concurrency.max(1));
        let clients = ClientRegistry::new(fetcher, config.dev);
        Self {
            inner: Arc::new(Inner {
                tenants: TenantCache::new(store.clone()),
                store,
                clock,
                rng,
                config,
                clients,
                passwords,
                throttle: crate::ui::throttle::SignInThrottle::default(),
            }),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now()
    }
}
