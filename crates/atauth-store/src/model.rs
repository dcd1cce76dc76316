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

#[derive(Debug, Clone)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub pkcs8: Vec<u8>,
    pub created_at: i64,
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

#[derive(Debug, Clone)]
pub struct Rotation {
    pub new_hash: String,
    pub refresh_expires_at: i64,
    pub now: i64,
}
