//! SSRF-safe fetching of client metadata documents and JWKS (atauth profile section 1):
//! https only, default port, public unicast addresses only (checked for IP literals and for
//! every resolved address), no proxies, no redirects, 10 s timeout, 512 KiB cap,
//! status 200 and `Content-Type: application/json` exactly, bounded success cache.
//!
//! HELPER-OWNED: signatures below are the contract.
//!
//! # How the connected address is pinned to the checked one
//!
//! One shared `reqwest::Client` is built with a custom `reqwest::dns::Resolve`
//! (module `resolve`). When the connector needs the addresses of a host name, that resolver
//! looks the name up (through the injectable [`Resolve`], or `host_overrides`), refuses the
//! host if any address fails the [address policy](policy), and returns exactly the checked
//! addresses to the connector, which connects only to those. Lookup, check and connection use
//! one and the same answer, so a rebinding DNS server gets no second question. reqwest skips
//! the resolver for IP-literal hosts, so [`SafeFetcher::get_json`] checks the parsed host
//! (after the `url` crate's normalisation of forms like `2130706433` or `0x7f.1`) before any
//! request; proxies, which would also bypass the resolver, are disabled.

mod error;
mod fetch;
pub mod policy;
mod resolve;
mod url_policy;

pub use error::FetchError;
pub use policy::Forbidden;
pub use resolve::{Resolve, SystemResolver};

use resolve::{normalise_host, CheckedResolver};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use url_policy::UrlPolicy;

/// Whole-fetch deadline (profile section 1: "10 s timeout").
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Deadline for the TCP connection alone (capped by the whole-fetch deadline).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest accepted body (profile section 1: "512 KiB").
pub const MAX_BODY_BYTES: usize = 512 * 1024;
/// How long a fetched document is served from the cache (profile section 1: "cached 10 min").
pub const CACHE_TTL: Duration = Duration::from_secs(10 * 60);
/// Most documents kept in the cache (profile section 1: "bounded cache").
pub const CACHE_MAX_ENTRIES: u64 = 10_000;
/// Most body bytes kept in the cache, all documents together (the reference server caps its
/// client metadata cache at 50 MB).
pub const CACHE_MAX_BYTES: u64 = 50 * 1024 * 1024;
/// Longest URL accepted.
pub const MAX_URL_LENGTH: usize = 2048;
/// Most fetches in flight at once; further ones wait (within their own deadline).
pub const MAX_CONCURRENT_FETCHES: usize = 64;
/// `User-Agent` of every outbound request.
pub const USER_AGENT: &str = "atauth";

/// Dev-mode relaxations; all off by default.
#[derive(Debug, Clone, Default)]
pub struct FetchConfig {
    /// Accept `http://` and loopback addresses (dev mode only).
    pub allow_loopback: bool,
    /// Test-only host -> address overrides (`--dev-resolve HOST=ADDR`); implies nothing else.
    /// The address is used instead of DNS and is exempt from the address policy, and URLs on
    /// such a host may carry a port.
    pub host_overrides: HashMap<String, IpAddr>,
    /// An extra PEM CA to trust (`--extra-ca-file`); may hold several certificates.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Whole-fetch deadline; `None` means [`FETCH_TIMEOUT`]. Meant for tests.
    pub timeout: Option<Duration>,
}

/// A cached document with its body size (the cache's weight).
#[derive(Clone)]
struct Cached {
    value: Arc<serde_json::Value>,
    body_len: usize,
}

/// Fetches JSON documents under the rules above. Cheap to clone; clones share the client,
/// the cache and the concurrency limit.
#[derive(Clone)]
pub struct SafeFetcher {
    client: reqwest::Client,
    url_policy: Arc<UrlPolicy>,
    cache: moka::future::Cache<String, Cached>,
    permits: Arc<Semaphore>,
    timeout: Duration,
    counters: Arc<CacheCounters>,
}

/// Lookups of [`SafeFetcher::get_json`] that passed the URL policy, and how many of them went
/// to the network (the others were cache hits, or waited for a fetch another call started).
#[derive(Debug, Default)]
struct CacheCounters {
    lookups: AtomicU64,
    fetches: AtomicU64,
}

/// A snapshot of the document cache's use since the fetcher was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

impl fmt::Debug for SafeFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SafeFetcher")
            .field("url_policy", &self.url_policy)
            .field("timeout", &self.timeout)
            .field("cached_entries", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

impl SafeFetcher {
    /// A fetcher resolving names with the system resolver.
    pub fn new(config: FetchConfig) -> Result<Self, FetchError> {
        Self::with_resolver(config, Arc::new(SystemResolver))
    }

    /// A fetcher resolving names with `resolver` (every answer still goes through the policy).
    pub fn with_resolver(
        config: FetchConfig,
        resolver: Arc<dyn Resolve>,
    ) -> Result<Self, FetchError> {
        let timeout = config.timeout.unwrap_or(FETCH_TIMEOUT);
        let overrides: HashMap<String, IpAddr> = config
            .host_overrides
            .iter()
            .map(|(host, addr)| (normalise_host(host), *addr))
            .collect();
        let url_policy = UrlPolicy {
            allow_loopback: config.allow_loopback,
            override_hosts: overrides.keys().cloned().collect(),
        };
        let checked = CheckedResolver::new(resolver, Arc::new(overrides), config.allow_loopback);
        let client = fetch::build_client(
            checked,
            config.allow_loopback,
            timeout,
            config.extra_ca_pem.as_deref(),
        )?;
        // One weigher bounds both the entry count and the bytes: every entry weighs at least
        // CACHE_MAX_BYTES / CACHE_MAX_ENTRIES (rounded up), so at most CACHE_MAX_ENTRIES fit.
        let min_weight = CACHE_MAX_BYTES.div_ceil(CACHE_MAX_ENTRIES);
        let cache = moka::future::Cache::builder()
            .max_capacity(CACHE_MAX_BYTES)
            .weigher(move |_url: &String, doc: &Cached| -> u32 {
                let weight = (doc.body_len as u64).max(min_weight);
                u32::try_from(weight).unwrap_or(u32::MAX)
            })
            .time_to_live(CACHE_TTL)
            .build();
        Ok(Self {
            client,
            url_policy: Arc::new(url_policy),
            cache,
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_FETCHES)),
            timeout,
            counters: Arc::default(),
        })
    }

    /// Fetches and parses a JSON document, from cache when fresh (10 min, bounded).
    ///
    /// Only successes are cached; concurrent calls for the same URL share one fetch.
    pub async fn get_json(&self, url: &str) -> Result<Arc<serde_json::Value>, FetchError> {
        let url = self.url_policy.check(url).inspect_err(|e| {
            tracing::info!(url, error = %e, "refused to fetch");
        })?;
        let key = url.as_str().to_owned();
        self.counters.lookups.fetch_add(1, Ordering::Relaxed);
        let fetch = async {
            self.counters.fetches.fetch_add(1, Ordering::Relaxed);
            self.fetch(url).await
        };
        self.cache
            .try_get_with(key, fetch)
            .await
            .map(|doc| doc.value)
            .map_err(|e| (*e).clone())
    }

    /// Cache hits and misses so far (for metrics).
    pub fn cache_stats(&self) -> CacheStats {
        let lookups = self.counters.lookups.load(Ordering::Relaxed);
        let misses = self.counters.fetches.load(Ordering::Relaxed);
        CacheStats {
            hits: lookups.saturating_sub(misses),
            misses,
        }
    }

    /// Drops `url`'s document from the cache, so the next [`get_json`](Self::get_json)
    /// fetches it again.
    pub async fn invalidate(&self, url: &str) {
        match self.url_policy.check(url) {
            Ok(parsed) => self.cache.invalidate(parsed.as_str()).await,
            Err(_) => self.cache.invalidate(url).await,
        }
    }

    /// Fetches a body of one of the `media_types` (e.g. `application/vnd.ipld.car`) under the
    /// same rules as [`get_json`](Self::get_json) (URL and address policy, no redirects,
    /// status 200, deadline, size cap), uncached: the caller parses and caches what it needs.
    pub async fn get_bytes(&self, url: &str, media_types: &[&str]) -> Result<Vec<u8>, FetchError> {
        let url = self.url_policy.check(url).inspect_err(|e| {
            tracing::info!(url, error = %e, "refused to fetch");
        })?;
        let result = self
            .limited(fetch::fetch_body(
                &self.client,
                &url,
                self.timeout,
                media_types,
            ))
            .await;
        match &result {
            Ok(body) => tracing::debug!(url = %url, bytes = body.len(), "fetched document"),
            Err(e) => tracing::info!(url = %url, error = %e, "fetch failed"),
        }
        result
    }

    /// Runs one exchange under the concurrency limit and the whole-fetch deadline.
    async fn limited<T>(
        &self,
        exchange: impl std::future::Future<Output = Result<T, FetchError>>,
    ) -> Result<T, FetchError> {
        let deadline = Instant::now() + self.timeout;
        let _permit = match tokio::time::timeout_at(deadline, self.permits.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) | Err(_) => return Err(FetchError::Busy),
        };
        match tokio::time::timeout_at(deadline, exchange).await {
            Ok(result) => result,
            Err(_elapsed) => Err(FetchError::Timeout(self.timeout)),
        }
    }

    async fn fetch(&self, url: url::Url) -> Result<Cached, FetchError> {
        let result = self
            .limited(fetch::fetch_json(&self.client, &url, self.timeout))
            .await;
        match &result {
            Ok(doc) => tracing::debug!(url = %url, bytes = doc.body_len, "fetched JSON document"),
            Err(e) => tracing::info!(url = %url, error = %e, "fetch failed"),
        }
        result.map(|doc| Cached {
            value: Arc::new(doc.value),
            body_len: doc.body_len,
        })
    }
}
