//! Values exchanged with the store. Database rows never leave this crate; these do.

use serde::{Deserialize, Serialize};

pub type TenantId = i64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    /// Bare origin, e.g. `https://coop-a.example`.
    pub issuer: String,
    pub name: String,
    /// The cooperative's resource server (PDS) URL; the issuer in all-in-one mode.
    pub resource_server: String,
    pub created_at: i64,
    pub disabled: bool,
    /// Branding shown to members: a JSON object validated by the server (`{}`: defaults).
    pub branding: String,
    /// Per-cooperative policies (token lifetimes, ...): a JSON object validated by the server
    /// (`{}`: defaults).
    pub policies: String,
}

/// A change to a tenant's settings; `None` leaves the field as it is.
#[derive(Debug, Clone, Default)]
pub struct TenantUpdate {
    pub name: Option<String>,
    pub branding: Option<String>,
    pub policies: Option<String>,
}

/// A tenant-scoped admin API token (the token itself is never stored, only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminToken {
    pub id: String,
    pub tenant_id: TenantId,
    pub label: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewAdminToken {
    pub id: String,
    /// `atauth_protocol::random::hash_secret` of the token.
    pub token_hash: String,
    pub label: String,
    pub now: i64,
}

/// Which sessions an admin listing or bulk revocation is about: those of an account, of a
/// client, or both (`None`: any).
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub account_id: Option<String>,
    pub client_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewTenant {
    pub issuer: String,
    pub name: String,
    pub resource_server: String,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct NewSigningKey {
    pub kid: String,
    /// PKCS#8 DER of the private key.
    pub pkcs8: Vec<u8>,
    pub now: i64,
}

/// A signing key and its lifecycle: published in the JWKS from `created_at`, signing from
/// `activates_at` (while it is the newest active key), accepted for verification until
/// `retires_at`, then marked `retired_at`.
#[derive(Debug, Clone)]
pub struct SigningKeyRecord {
    pub kid: String,
    /// PKCS#8 DER of the private key (decrypted).
    pub pkcs8: Vec<u8>,
    pub created_at: i64,
    pub activates_at: i64,
    /// Set when a successor is published: the end of the overlap.
    pub retires_at: Option<i64>,
    pub retired_at: Option<i64>,
}

/// What [`crate::Store::seal_at_rest`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SealReport {
    /// Plaintext rows encrypted by this call.
    pub sealed_now: u64,
    /// Rows found encrypted (and opened with the configured master key).
    pub already_sealed: u64,
    /// Plaintext rows left as they are (no master key configured).
    pub plaintext: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub did: String,
    pub handle: String,
    pub email: Option<String>,
    /// PHC string (argon2id).
    pub password_hash: String,
    pub created_at: i64,
    pub disabled: bool,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub id: String,
    pub did: String,
    pub handle: String,
    pub email: Option<String>,
    pub password_hash: String,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct NewAuthRequest {
    pub id: String,
    pub client_id: String,
    /// The validated request (serialized `atauth_protocol::request::AuthorizationRequest`).
    pub request_json: String,
    pub expires_at: i64,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequestRecord {
    pub id: String,
    pub client_id: String,
    pub request_json: String,
    pub device_id: Option<String>,
    pub expires_at: i64,
    pub created_at: i64,
    /// Set once approved.
    pub approval: Option<ApprovalRecord>,
}

#[derive(Debug, Clone)]
pub struct Approval {
    pub account_id: String,
    pub granted_scope: String,
    pub code_hash: String,
    pub code_expires_at: i64,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRecord {
    pub account_id: String,
    pub granted_scope: String,
    pub code_expires_at: i64,
    pub code_used_at: Option<i64>,
    pub approved_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeConsumption {
    /// First use: the request it belongs to.
    Consumed(AuthRequestRecord),
    /// The code was used before: the request it belongs to (whose sessions must be revoked).
    Reused(AuthRequestRecord),
    Unknown,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub account_id: String,
    pub did: String,
    pub client_id: String,
    pub request_id: String,
    pub dpop_jkt: String,
    pub scope: String,
    /// Thumbprint of the client key that authenticated (confidential clients).
    pub client_key_thumbprint: Option<String>,
    pub refresh_hash: Option<String>,
    /// Hard end of the session (public clients: 14 days), if any.
    pub expires_at: Option<i64>,
    /// Refresh token inactivity deadline.
    pub refresh_expires_at: i64,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub account_id: String,
    pub did: String,
    pub client_id: String,
    pub request_id: String,
    pub dpop_jkt: String,
    pub scope: String,
    pub client_key_thumbprint: Option<String>,
    pub refresh_hash: Option<String>,
    pub previous_refresh_hash: Option<String>,
    pub rotated_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub refresh_expires_at: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl Session {
    /// Whether the session is live at `now`: not revoked, not past its end, and its refresh token
    /// not past its deadline. The definition: the SQL backends' form of it is one fragment
    /// (`sql::live_session`), and `tests/liveness.rs` checks on every backend that they agree.
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none()
            && self.expires_at.is_none_or(|end| end > now)
            && self.refresh_expires_at > now
    }
}

#[derive(Debug, Clone)]
pub struct Rotation {
    pub new_hash: String,
    pub refresh_expires_at: i64,
    pub now: i64,
}

/// A refresh-token rotation that also checks, in the same statement, everything a refresh must
/// match ([`TenantRepo::rotate_refresh_bound`](crate::TenantRepo::rotate_refresh_bound)).
#[derive(Debug, Clone)]
pub struct BoundRotation {
    pub new_hash: String,
    pub now: i64,
    /// The session's client, DPoP key and client authentication key must be these.
    pub client_id: String,
    pub dpop_jkt: String,
    pub client_key_thumbprint: Option<String>,
    /// Confidential clients: the new refresh deadline, capped by the session's end. Public
    /// clients (`None`): the refresh deadline does not move.
    pub inactivity_deadline: Option<i64>,
}

impl BoundRotation {
    /// Whether `session` may be rotated: same client and keys, and live at `now`.
    pub fn matches(&self, session: &Session) -> bool {
        session.client_id == self.client_id
            && session.dpop_jkt == self.dpop_jkt
            && session.client_key_thumbprint == self.client_key_thumbprint
            && session.is_live(self.now)
    }

    /// The refresh deadline of `session` after this rotation.
    pub fn refresh_deadline(&self, session: &Session) -> i64 {
        match self.inactivity_deadline {
            None => session.refresh_expires_at,
            Some(limit) => session.expires_at.map_or(limit, |end| end.min(limit)),
        }
    }
}
