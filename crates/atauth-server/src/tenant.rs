//! Tenant resolution: the request's `Host` picks the cooperative whose issuer host matches.
//! Everything a handler touches afterwards (keys, nonces, the store) is bound to that tenant.

use crate::error::unknown_host;
use crate::keys::{key_states, KeyState, KeyTimes};
use crate::state::AppState;
use atauth_protocol::clock::Clock;
use atauth_protocol::dpop::NonceIssuer;
use atauth_protocol::error::OAuthError;
use atauth_protocol::jose::{PublicJwk, SigningKey};
use atauth_protocol::random::{self, RandomSource};
use atauth_store::{
    NewSigningKey, NewTenant, ReplayStore, Store, StoreError, Tenant, TenantReplay, TenantRepo,
};
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use std::sync::Arc;
use std::time::Duration;

/// How long a loaded tenant (keys, secrets) is reused before it is read again, so changes made
/// by the CLI or another instance (key rotation, disabling) are seen without a restart.
const TENANT_CACHE_TTL: Duration = Duration::from_secs(15);

/// Everything about one cooperative that a request needs, loaded once and cached.
pub struct TenantContext {
    pub tenant: Tenant,
    pub repo: Arc<dyn TenantRepo>,
    /// Single-use markers checked on every request (DPoP and client assertion `jti`s): the
    /// database, or Redis when configured.
    pub replay: Arc<dyn TenantReplay>,
    /// Every key not yet marked retired, newest first, with its lifecycle times: which one
    /// signs and which ones verify is decided at use time from the clock (the context is
    /// cached, a key's activation or retirement is not).
    pub keys: Vec<TenantKey>,
    pub clock: Arc<dyn Clock>,
    pub nonces: NonceIssuer,
    /// HMAC key for CSRF tokens and device cookies.
    pub cookie_secret: Vec<u8>,
    /// HMAC key deriving a refresh token's successor (so a retried refresh gets the same one).
    pub refresh_secret: Vec<u8>,
    /// The cooperative's policies (admin API), read from the tenant row.
    pub policies: crate::admin::settings::Policies,
    /// How the member pages look (admin API), read from the tenant row.
    pub branding: crate::admin::settings::Branding,
}

impl TenantContext {
    pub fn issuer(&self) -> &str {
        &self.tenant.issuer
    }

    /// An absolute URL on this tenant's issuer origin; never built from request headers.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.tenant.issuer, path)
    }

    /// Whether cookies may omit `Secure` (plain-http dev issuers only).
    pub fn is_http(&self) -> bool {
        self.tenant.issuer.starts_with("http://")
    }

    /// The states of [`TenantContext::keys`] now.
    fn key_states(&self) -> impl Iterator<Item = (&TenantKey, KeyState)> {
        let times: Vec<KeyTimes> = self.keys.iter().map(|k| k.times).collect();
        self.keys.iter().zip(key_states(&times, self.clock.now()))
    }

    /// The key that signs new tokens now.
    pub fn signing_key(&self) -> Result<&SigningKey, OAuthError> {
        self.key_states()
            .find(|(_, state)| *state == KeyState::Active)
            .map(|(k, _)| &k.key)
            .ok_or_else(|| OAuthError::server_error("the cooperative has no active signing key"))
    }

    /// A key that verifies tokens now (published, active or retiring).
    pub fn public_key(&self, kid: &str) -> Option<PublicJwk> {
        self.key_states()
            .find(|(k, state)| k.key.kid() == kid && state.verifies())
            .map(|(k, _)| k.public.clone())
    }

    /// The JWKS document's keys now (public, with `kid`, `alg`, `use`).
    pub fn public_jwks(&self) -> Vec<serde_json::Value> {
        self.key_states()
            .filter(|(_, state)| state.verifies())
            .map(|(k, _)| k.jwk.clone())
            .collect()
    }

    /// Loads `tenant`'s keys and secrets; a secret not stored yet is created from `rng`.
    async fn load(
        store: &Arc<dyn Store>,
        replay: &Arc<dyn ReplayStore>,
        clock: &Arc<dyn Clock>,
        rng: &dyn RandomSource,
        tenant: Tenant,
    ) -> Result<Self, StoreError> {
        let repo = store.tenant_repo(&tenant);
        let replay = replay.tenant_replay(&repo);
        let mut candidate = [0u8; 32];
        rng.fill(&mut candidate);
        let nonce_secret = repo.secret_get_or_create("dpop_nonce", &candidate).await?;
        rng.fill(&mut candidate);
        let cookie_secret = repo.secret_get_or_create("cookie", &candidate).await?;
        rng.fill(&mut candidate);
        let refresh_secret = repo.secret_get_or_create("refresh", &candidate).await?;

        let mut keys = Vec::new();
        for record in repo.signing_keys().await? {
            let unreadable = |e: &dyn std::fmt::Display| {
                StoreError::Unavailable(format!("signing key {} unreadable: {e}", record.kid))
            };
            let key = SigningKey::from_pkcs8(record.kid.clone(), &record.pkcs8)
                .map_err(|e| unreadable(&e))?;
            let jwk = key.public_jwk();
            let public = PublicJwk::from_json(&jwk).map_err(|e| unreadable(&e))?;
            keys.push(TenantKey {
                times: KeyTimes::from(&record),
                key,
                public,
                jwk,
            });
        }
        if keys.is_empty() {
            return Err(StoreError::Unavailable(format!(
                "tenant {} has no signing key",
                tenant.issuer
            )));
        }
        Ok(Self {
            policies: crate::admin::settings::Policies::from_stored(&tenant.policies),
            branding: crate::admin::settings::Branding::from_stored(&tenant.branding),
            nonces: NonceIssuer::new(&nonce_secret),
            tenant,
            repo,
            replay,
            keys,
            clock: clock.clone(),
            cookie_secret,
            refresh_secret,
        })
    }
}

/// One signing key of a cooperative, parsed, with its lifecycle times.
pub struct TenantKey {
    pub key: SigningKey,
    pub public: PublicJwk,
    /// Its JWKS entry.
    pub jwk: serde_json::Value,
    pub times: KeyTimes,
}

#[derive(Clone)]
pub struct TenantCache {
    store: Arc<dyn Store>,
    replay: Arc<dyn ReplayStore>,
    clock: Arc<dyn Clock>,
    /// Draws the secrets of a cooperative that has none stored yet.
    rng: Arc<dyn RandomSource>,
    by_host: moka::future::Cache<String, Arc<TenantContext>>,
}

impl TenantCache {
    pub fn new(
        store: Arc<dyn Store>,
        replay: Arc<dyn ReplayStore>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn RandomSource>,
    ) -> Self {
        Self {
            store,
            replay,
            clock,
            rng,
            by_host: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(TENANT_CACHE_TTL)
                .build(),
        }
    }

    /// The tenant serving `host` (`host[:port]`, lowercase). Unknown hosts are not cached, so a
    /// cooperative created meanwhile is served at once.
    pub async fn by_host(&self, host: &str) -> Result<Option<Arc<TenantContext>>, StoreError> {
        if let Some(ctx) = self.by_host.get(host).await {
            return Ok(Some(ctx));
        }
        let Some(tenant) = self.store.tenant_by_host(host).await? else {
            return Ok(None);
        };
        let ctx = Arc::new(
            TenantContext::load(
                &self.store,
                &self.replay,
                &self.clock,
                self.rng.as_ref(),
                tenant,
            )
            .await?,
        );
        self.by_host.insert(host.to_string(), ctx.clone()).await;
        Ok(Some(ctx))
    }

    /// Drops the cached context of `host`, so the next request reads the tenant again (the
    /// admin API calls it after a change; other instances see it within the cache TTL).
    pub async fn forget(&self, host: &str) {
        self.by_host.invalidate(host).await;
    }

    pub async fn by_tenant(&self, tenant: Tenant) -> Result<Arc<TenantContext>, StoreError> {
        let host = issuer_host(&tenant.issuer).to_string();
        if let Some(ctx) = self.by_host.get(&host).await {
            return Ok(ctx);
        }
        let ctx = Arc::new(
            TenantContext::load(
                &self.store,
                &self.replay,
                &self.clock,
                self.rng.as_ref(),
                tenant,
            )
            .await?,
        );
        self.by_host.insert(host, ctx.clone()).await;
        Ok(ctx)
    }
}

/// `host[:port]` of a bare-origin issuer.
pub fn issuer_host(issuer: &str) -> &str {
    issuer
        .strip_prefix("https://")
        .or_else(|| issuer.strip_prefix("http://"))
        .unwrap_or(issuer)
}

/// The host a request was addressed to: the trusted proxy header when configured, else `Host`
/// (HTTP/1.1) or the URI authority (HTTP/2). Lowercased; `None` when absent or malformed.
pub fn request_host(parts: &Parts, trusted_header: Option<&str>) -> Option<String> {
    let from_header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(',').next().unwrap_or("").trim().to_string())
    };
    let host = trusted_header
        .and_then(from_header)
        .or_else(|| from_header(http::header::HOST.as_str()))
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))?;
    let host = host.to_ascii_lowercase();
    let valid = !host.is_empty()
        && host.len() <= 260
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    valid.then_some(host)
}

/// Extractor: the tenant addressed by the request. Unknown hosts get a 404 that does not
/// reflect the host anywhere.
pub struct CurrentTenant(pub Arc<TenantContext>);

impl FromRequestParts<AppState> for CurrentTenant {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let host = request_host(parts, state.inner.config.trusted_host_header.as_deref())
            .ok_or_else(|| unknown_host().into_response())?;
        match state.inner.tenants.by_host(&host).await {
            Ok(Some(ctx)) => Ok(CurrentTenant(ctx)),
            Ok(None) => Err(unknown_host().into_response()),
            Err(err) => Err(crate::error::ApiError::from(err).into_response()),
        }
    }
}

/// Validates an issuer as a bare origin: scheme https (http only on loopback hosts, which only
/// dev mode serves), a host, no path, query, fragment or credentials.
pub fn validate_issuer(issuer: &str) -> Result<String, String> {
    let url = url::Url::parse(issuer).map_err(|e| format!("issuer is not a URL: {e}"))?;
    let host = url.host_str().ok_or("issuer must have a host")?.to_string();
    match url.scheme() {
        "https" => {}
        "http" if matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]") => {}
        "http" => return Err("http issuers are only allowed on loopback hosts (dev mode)".into()),
        _ => return Err("issuer must use https".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("issuer must not contain credentials".into());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("issuer must be a bare origin (no path, query or fragment)".into());
    }
    // Url::origin serialisation drops the trailing slash and default ports.
    Ok(url.origin().ascii_serialization())
}

/// Creates a cooperative with a fresh ES256 signing key. Shared by the CLI and dev start-up.
pub async fn provision_tenant(
    store: &Arc<dyn Store>,
    rng: &dyn RandomSource,
    issuer: &str,
    name: &str,
    resource_server: Option<&str>,
    now: i64,
) -> anyhow::Result<Tenant> {
    let issuer = validate_issuer(issuer).map_err(anyhow::Error::msg)?;
    let resource_server = match resource_server {
        Some(rs) => validate_issuer(rs).map_err(|e| anyhow::anyhow!("resource server: {e}"))?,
        None => issuer.clone(),
    };
    let tenant = store
        .create_tenant(NewTenant {
            issuer,
            name: name.to_string(),
            resource_server,
            now,
        })
        .await?;
    let kid = random::hex_id(rng, 8);
    let key = SigningKey::generate(kid.clone())
        .map_err(|e| anyhow::anyhow!("key generation failed: {e}"))?;
    store
        .tenant_repo(&tenant)
        .add_signing_key(NewSigningKey {
            kid,
            pkcs8: key.to_pkcs8(),
            now,
        })
        .await?;
    Ok(tenant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys;
    use atauth_protocol::clock::ManualClock;
    use atauth_store::DatabaseReplayStore;

    /// Fills every buffer with one byte, so that what was drawn from it is recognisable.
    struct RepeatedByte(u8);

    impl RandomSource for RepeatedByte {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    #[tokio::test]
    async fn key_ids_and_secrets_are_drawn_from_the_injected_randomness() {
        let store = atauth_store::open_database("sqlite::memory:")
            .await
            .unwrap();
        let now = 1_700_000_000;
        let tenant = provision_tenant(
            &store,
            &RepeatedByte(1),
            "https://coop.test",
            "Coop",
            None,
            now,
        )
        .await
        .unwrap();
        let rotated = keys::rotate_keys(&store, &tenant.issuer, 0, &RepeatedByte(2), now)
            .await
            .unwrap();
        assert_eq!(rotated.kid, "0202020202020202");

        let tenants = TenantCache::new(
            store,
            Arc::new(DatabaseReplayStore),
            Arc::new(ManualClock::new(now)),
            Arc::new(RepeatedByte(3)),
        );
        let context = tenants.by_tenant(tenant).await.unwrap();
        let kids: Vec<&str> = context.keys.iter().map(|k| k.key.kid()).collect();
        assert_eq!(kids, ["0202020202020202", "0101010101010101"]);
        assert_eq!(context.cookie_secret, [3; 32]);
        assert_eq!(context.refresh_secret, [3; 32]);
    }
}
