//! Storage behind traits. Every row belongs to a tenant: tenant-scoped operations live on
//! [`TenantRepo`], which a backend hands out already bound to one tenant, so a handler cannot
//! forget the tenant. Single-use artefacts are consumed by one atomic statement each.
//!
//! Two backends implement the traits with the same semantics: [`sqlite::SqliteStore`] (one
//! file, the embedded default) and [`postgres::PostgresStore`] (shared by several instances).
//! [`open_database`] picks one from a URL or path. The hot replay markers (DPoP and client
//! assertion `jti`s) go through a [`ReplayStore`]: the database, or Redis ([`replay`]).

mod model;
mod open;
pub mod postgres;
pub mod replay;
mod rows;
mod shared;
pub mod sqlite;

pub use model::*;
pub use open::open_database;
pub use replay::{DatabaseReplayStore, RedisReplayStore, ReplayStore, TenantReplay};

use async_trait::async_trait;
use std::sync::Arc;

/// How long a used or expired authorization code is kept, so that a replay is recognised as
/// reuse (and the sessions it minted are revoked) instead of as an unknown code.
pub const USED_CODE_RETENTION_SECS: i64 = 24 * 60 * 60;

#[derive(Debug, thiserror::Error)]
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

    // --- accounts
    async fn create_account(&self, account: NewAccount) -> StoreResult<Account>;
    async fn account_by_id(&self, id: &str) -> StoreResult<Option<Account>>;
    async fn account_by_did(&self, did: &str) -> StoreResult<Option<Account>>;
    /// Case-insensitive handle match.
    async fn account_by_handle(&self, handle: &str) -> StoreResult<Option<Account>>;
    /// Case-insensitive e-mail match.
    async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>>;
    async fn list_accounts(&self) -> StoreResult<Vec<Account>>;

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
    /// session is live. Returns the updated session.
    async fn rotate_refresh(
        &self,
        old_hash: &str,
        rotation: Rotation,
    ) -> StoreResult<Option<Session>>;
    /// The session whose *previous* refresh token hash is `hash` (for retry grace / reuse).
    async fn session_by_previous_refresh(&self, hash: &str) -> StoreResult<Option<Session>>;
    async fn session_by_refresh(&self, hash: &str) -> StoreResult<Option<Session>>;
    async fn revoke_session(&self, id: &str, now: i64) -> StoreResult<()>;
    async fn revoke_sessions_of_request(&self, request_id: &str, now: i64) -> StoreResult<()>;

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
