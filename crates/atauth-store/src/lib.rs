//! Storage behind traits. Every row belongs to a tenant: tenant-scoped operations live on
//! [`TenantRepo`], which a backend hands out already bound to one tenant, so a handler cannot
//! forget the tenant. Single-use artefacts are consumed by one atomic statement each.
//!
//! Two backends implement the traits with the same statements, written once (`sql`):
//! [`sqlite::SqliteStore`] (one file, the embedded default) and [`postgres::PostgresStore`]
//! (shared by several instances).
//! [`open_database`] picks one from a URL or path. The hot replay markers (DPoP and client
//! assertion `jti`s) go through a [`ReplayStore`]: the database, or Redis ([`replay`]).

mod model;
mod open;
pub mod postgres;
pub mod rate_limit;
pub mod replay;
mod replay_batch;
mod rows;
pub mod sealed;
mod shared;
mod sql;
pub mod sqlite;

pub use model::*;
pub use open::{open_database, open_database_with};
pub use rate_limit::{
    DatabaseRateLimits, MemoryRateLimits, RateLimitStore, RedisRateLimits, WindowCount,
};
pub use replay::{DatabaseReplayStore, RedisReplayStore, ReplayStore, TenantReplay};
pub use replay_batch::{ReplayBatcher, ReplayMarker};
pub use sealed::{InvalidMasterKey, MasterKey};

use async_trait::async_trait;
use std::sync::Arc;

/// How long a used or expired authorization code is kept, so that a replay is recognised as
/// reuse (and the sessions it minted are revoked) instead of as an unknown code.
pub const USED_CODE_RETENTION_SECS: i64 = 24 * 60 * 60;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (e.g. an issuer or handle that already exists).
    #[error("already exists: {0}")]
    Conflict(String),
    /// The database cannot be reached or failed; callers answer 503 / `temporarily_unavailable`.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Deployment-wide operations: tenants, and handing out tenant-bound repositories.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn create_tenant(&self, tenant: NewTenant) -> StoreResult<Tenant>;
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;
    /// The enabled tenant whose issuer host (`host[:port]` as in the issuer origin) is `host`.
    async fn tenant_by_host(&self, host: &str) -> StoreResult<Option<Tenant>>;
    async fn tenant_by_issuer(&self, issuer: &str) -> StoreResult<Option<Tenant>>;
    /// The tenant owning a hosted handle whose host is `handle_host` (for did:web routing).
    async fn tenant_by_handle(&self, handle: &str) -> StoreResult<Option<Tenant>>;

    // --- administration (the admin API and the CLI)
    /// The tenant whose issuer host is `host`, disabled or not.
    async fn tenant_by_host_including_disabled(&self, host: &str) -> StoreResult<Option<Tenant>>;
    /// Applies `update` to tenant `id`; `None` when there is no such tenant.
    async fn update_tenant(
        &self,
        id: TenantId,
        update: TenantUpdate,
    ) -> StoreResult<Option<Tenant>>;
    /// Disables or enables tenant `id`; `None` when there is no such tenant.
    async fn set_tenant_disabled(
        &self,
        id: TenantId,
        disabled: bool,
    ) -> StoreResult<Option<Tenant>>;
    /// The admin token whose hash is `token_hash`, at whichever tenant it belongs to, if that
    /// tenant is enabled: a disabled cooperative's tokens open nothing.
    async fn admin_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<AdminToken>>;
    /// A repository bound to `tenant`.
    fn tenant_repo(&self, tenant: &Tenant) -> Arc<dyn TenantRepo>;
    /// Liveness of the backing database (`/readyz`).
    async fn ping(&self) -> StoreResult<()>;
    /// Housekeeping, for all tenants: deletes expired replay markers, expired requests that
    /// were never approved, and approved requests whose code was used or expired more than
    /// [`USED_CODE_RETENTION_SECS`] ago. Returns the number of rows deleted. (The default does
    /// nothing, for stores without expiring rows.)
    async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
        let _ = now;
        Ok(0)
    }
    /// Closes the connections, waiting for those in use to be returned (graceful shutdown).
    async fn close(&self) {}
    /// Encryption at rest, for all tenants: with a master key, encrypts the signing keys and
    /// secrets still stored in plaintext; with or without one, checks that every encrypted row
    /// opens (so a missing or wrong master key is reported at once, not at the first request).
    async fn seal_at_rest(&self) -> StoreResult<SealReport>;
    /// Rate-limit counters kept by this store and shared by every instance using it
    /// ([`rate_limit`]). The default keeps them in memory, for stores of one instance.
    fn rate_limits(&self) -> Arc<dyn RateLimitStore> {
        Arc::new(MemoryRateLimits::default())
    }
    /// Sessions neither revoked nor expired at `now`, per tenant issuer (metrics). The
    /// default reports none.
    async fn active_sessions(&self, now: i64) -> StoreResult<Vec<(String, u64)>> {
        let _ = now;
        Ok(Vec::new())
    }
}

/// Everything stored for one tenant. Implementations bind the tenant id at construction and
/// add it to every statement.
#[async_trait]
pub trait TenantRepo: Send + Sync + 'static {
    fn tenant_id(&self) -> TenantId;

    // --- secrets and keys
    /// Returns the named secret, creating it from `candidate` if absent (atomic; all instances
    /// end up with the same value).
    async fn secret_get_or_create(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>>;
    async fn add_signing_key(&self, key: NewSigningKey) -> StoreResult<()>;
    /// Keys not yet retired, newest first.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Every key, retired ones included, newest first.
    async fn signing_key_history(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Key rotation, in one transaction: publishes `key`, which starts signing at
    /// `activates_at`, and schedules every key not yet scheduled (not retired, `retires_at`
    /// unset) to retire at `predecessors_retire_at`.
    async fn add_successor_signing_key(
        &self,
        key: NewSigningKey,
        activates_at: i64,
        predecessors_retire_at: i64,
    ) -> StoreResult<()>;
    /// Marks the keys whose `retires_at` has come as retired. Returns how many.
    async fn retire_signing_keys(&self, now: i64) -> StoreResult<u64>;

    // --- accounts
    async fn create_account(&self, account: NewAccount) -> StoreResult<Account>;
    async fn account_by_id(&self, id: &str) -> StoreResult<Option<Account>>;
    async fn account_by_did(&self, did: &str) -> StoreResult<Option<Account>>;
    /// Case-insensitive handle match.
    async fn account_by_handle(&self, handle: &str) -> StoreResult<Option<Account>>;
    /// Case-insensitive e-mail match.
    async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>>;
    async fn list_accounts(&self) -> StoreResult<Vec<Account>>;
    /// Disables or enables an account; `None` when there is no such account here.
    async fn set_account_disabled(&self, id: &str, disabled: bool) -> StoreResult<Option<Account>>;
    async fn set_account_password_hash(
        &self,
        id: &str,
        password_hash: &str,
    ) -> StoreResult<Option<Account>>;
    /// Replaces the account's DID (an external DID attached by the operator); a DID another
    /// account of the tenant has is a conflict.
    async fn set_account_did(&self, id: &str, did: &str) -> StoreResult<Option<Account>>;

    // --- admin tokens of this tenant
    async fn create_admin_token(&self, token: NewAdminToken) -> StoreResult<AdminToken>;
    async fn list_admin_tokens(&self) -> StoreResult<Vec<AdminToken>>;
    /// Deletes a token; `false` when there is no such token here.
    async fn delete_admin_token(&self, id: &str) -> StoreResult<bool>;

    // --- single-use markers (DPoP jti, client assertion jti, PKCE challenges)
    /// Records `key` in `namespace` until `expires_at`. Returns `true` the first time, `false`
    /// if it is already recorded and not expired. One atomic statement.
    async fn record_once(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool>;
    /// [`record_once`](Self::record_once) for several markers, whose `(namespace, key)` pairs
    /// are distinct, in one atomic statement: for each marker, in order, `true` if it was new.
    /// (The default records them one by one.)
    async fn record_once_batch(
        &self,
        markers: &[ReplayMarker],
        now: i64,
    ) -> StoreResult<Vec<bool>> {
        let mut firsts = Vec::with_capacity(markers.len());
        for m in markers {
            firsts.push(
                self.record_once(&m.namespace, &m.key, m.expires_at, now)
                    .await?,
            );
        }
        Ok(firsts)
    }

    // --- authorization requests (PAR) and codes
    async fn insert_request(&self, request: NewAuthRequest) -> StoreResult<()>;
    async fn request_by_id(&self, id: &str) -> StoreResult<Option<AuthRequestRecord>>;
    /// Binds the request to a device on first load. Returns the bound device id afterwards
    /// (which differs from `device_id` if another device got there first).
    async fn bind_request_device(
        &self,
        id: &str,
        device_id: &str,
        new_expires_at: i64,
    ) -> StoreResult<Option<String>>;
    /// Stores the approval and the code hash, once: returns `false` if the request already had a
    /// code or is gone.
    async fn approve_request(&self, id: &str, approval: Approval) -> StoreResult<bool>;
    async fn delete_request(&self, id: &str) -> StoreResult<()>;
    /// Consumes a code atomically: returns the request if the code was unused, marking it used.
    async fn consume_code(&self, code_hash: &str, now: i64) -> StoreResult<CodeConsumption>;

    // --- sessions (token families)
    async fn create_session(&self, session: NewSession) -> StoreResult<Session>;
    async fn session_by_id(&self, id: &str) -> StoreResult<Option<Session>>;
    /// Rotates the refresh token atomically: only if `old_hash` is the current one and the
    /// session is not revoked (the caller has checked `Session::is_live` and the binding first;
    /// `rotate_refresh_bound` checks both in the statement). Returns the updated session.
    async fn rotate_refresh(
        &self,
        old_hash: &str,
        rotation: Rotation,
    ) -> StoreResult<Option<Session>>;
    /// [`rotate_refresh`](Self::rotate_refresh) for the usual refresh, in one statement: only
    /// if the session's current token is `old_hash` and [`BoundRotation::matches`] it (same
    /// client and keys, live). `None` otherwise, whatever the reason: the caller then reads the
    /// session to tell which. (The default reads, checks, then rotates.)
    async fn rotate_refresh_bound(
        &self,
        old_hash: &str,
        rotation: &BoundRotation,
    ) -> StoreResult<Option<Session>> {
        let Some(session) = self.session_by_refresh(old_hash).await? else {
            return Ok(None);
        };
        if !rotation.matches(&session) {
            return Ok(None);
        }
        let plain = Rotation {
            new_hash: rotation.new_hash.clone(),
            refresh_expires_at: rotation.refresh_deadline(&session),
            now: rotation.now,
        };
        self.rotate_refresh(old_hash, plain).await
    }
    /// The session whose *previous* refresh token hash is `hash` (for retry grace / reuse).
    async fn session_by_previous_refresh(&self, hash: &str) -> StoreResult<Option<Session>>;
    async fn session_by_refresh(&self, hash: &str) -> StoreResult<Option<Session>>;
    async fn revoke_session(&self, id: &str, now: i64) -> StoreResult<()>;
    async fn revoke_sessions_of_request(&self, request_id: &str, now: i64) -> StoreResult<()>;
    /// Sessions matching `filter`, newest first, at most `limit`.
    async fn list_sessions(&self, filter: &SessionFilter, limit: u32) -> StoreResult<Vec<Session>>;
    /// Revokes the live sessions matching `filter` (which must name an account or a client).
    /// Returns how many were revoked.
    async fn revoke_sessions(&self, filter: &SessionFilter, now: i64) -> StoreResult<u64>;

    // --- consent and device sign-ins
    async fn remember_consent(
        &self,
        account_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<()>;
    async fn consent(&self, account_id: &str, client_id: &str) -> StoreResult<Option<String>>;
    async fn add_device_account(
        &self,
        device_id: &str,
        account_id: &str,
        now: i64,
    ) -> StoreResult<()>;
    /// Accounts signed in on a device, most recent first, with their sign-in time.
    async fn device_accounts(&self, device_id: &str) -> StoreResult<Vec<(Account, i64)>>;
}
