//! Database rows and their conversion into the crate's values, shared by the backends. The derives
//! are generic over the database: both schemas use column types that decode to these fields
//! (`BIGINT`/`INTEGER` to `i64`, `BOOLEAN`/`INTEGER 0/1` to `bool`, `BYTEA`/`BLOB` to bytes).

use crate::sealed::{AtRest, Kind};
use crate::{
    Account, AdminToken, ApprovalRecord, AuthRequestRecord, Session, SigningKeyRecord, StoreResult,
    Tenant, TenantId,
};

#[derive(sqlx::FromRow)]
pub(crate) struct TenantRow {
    id: TenantId,
    issuer: String,
    name: String,
    resource_server: String,
    created_at: i64,
    disabled: bool,
    branding: String,
    policies: String,
}

impl From<TenantRow> for Tenant {
    fn from(r: TenantRow) -> Self {
        Tenant {
            id: r.id,
            issuer: r.issuer,
            name: r.name,
            resource_server: r.resource_server,
            created_at: r.created_at,
            disabled: r.disabled,
            branding: r.branding,
            policies: r.policies,
        }
    }
}

pub(crate) const ACCOUNT_COLUMNS: &str =
    "id, did, handle, email, password_hash, created_at, disabled";

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: String,
    did: String,
    handle: String,
    email: Option<String>,
    password_hash: String,
    created_at: i64,
    disabled: bool,
}

impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Self {
        Account {
            id: r.id,
            did: r.did,
            handle: r.handle,
            email: r.email,
            password_hash: r.password_hash,
            created_at: r.created_at,
            disabled: r.disabled,
        }
    }
}

/// Everything but `code_hash` (which never leaves the database).
pub(crate) const REQUEST_COLUMNS: &str = "id, client_id, request_json, device_id, expires_at, \
     created_at, account_id, granted_scope, code_expires_at, code_used_at, approved_at";

#[derive(sqlx::FromRow)]
pub(crate) struct RequestRow {
    id: String,
    client_id: String,
    request_json: String,
    device_id: Option<String>,
    expires_at: i64,
    created_at: i64,
    account_id: Option<String>,
    granted_scope: Option<String>,
    code_expires_at: Option<i64>,
    code_used_at: Option<i64>,
    approved_at: Option<i64>,
}

impl From<RequestRow> for AuthRequestRecord {
    fn from(r: RequestRow) -> Self {
        // approve_request sets these four together.
        let approval = match (
            r.account_id,
            r.granted_scope,
            r.code_expires_at,
            r.approved_at,
        ) {
            (Some(account_id), Some(granted_scope), Some(code_expires_at), Some(approved_at)) => {
                Some(ApprovalRecord {
                    account_id,
                    granted_scope,
                    code_expires_at,
                    code_used_at: r.code_used_at,
                    approved_at,
                })
            }
            _ => None,
        };
        AuthRequestRecord {
            id: r.id,
            client_id: r.client_id,
            request_json: r.request_json,
            device_id: r.device_id,
            expires_at: r.expires_at,
            created_at: r.created_at,
            approval,
        }
    }
}

pub(crate) const SESSION_COLUMNS: &str = "id, account_id, did, client_id, request_id, dpop_jkt, \
     scope, client_key_thumbprint, refresh_hash, previous_refresh_hash, rotated_at, expires_at, \
     refresh_expires_at, created_at, revoked_at";

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: String,
    account_id: String,
    did: String,
    client_id: String,
    request_id: String,
    dpop_jkt: String,
    scope: String,
    client_key_thumbprint: Option<String>,
    refresh_hash: Option<String>,
    previous_refresh_hash: Option<String>,
    rotated_at: Option<i64>,
    expires_at: Option<i64>,
    refresh_expires_at: i64,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Session {
            id: r.id,
            account_id: r.account_id,
            did: r.did,
            client_id: r.client_id,
            request_id: r.request_id,
            dpop_jkt: r.dpop_jkt,
            scope: r.scope,
            client_key_thumbprint: r.client_key_thumbprint,
            refresh_hash: r.refresh_hash,
            previous_refresh_hash: r.previous_refresh_hash,
            rotated_at: r.rotated_at,
            expires_at: r.expires_at,
            refresh_expires_at: r.refresh_expires_at,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        }
    }
}

pub(crate) const SIGNING_KEY_COLUMNS: &str = "kid, pkcs8, created_at, \
     COALESCE(activates_at, created_at) AS activates_at, retires_at, retired_at";

#[derive(sqlx::FromRow)]
pub(crate) struct SigningKeyRow {
    pub(crate) kid: String,
    /// Sealed under the master key, or plaintext (see `crate::sealed`).
    pub(crate) pkcs8: Vec<u8>,
    pub(crate) created_at: i64,
    pub(crate) activates_at: i64,
    pub(crate) retires_at: Option<i64>,
    pub(crate) retired_at: Option<i64>,
}

impl SigningKeyRow {
    /// The record, its private key decrypted.
    pub(crate) fn open(
        self,
        at_rest: &AtRest,
        tenant_id: TenantId,
    ) -> StoreResult<SigningKeyRecord> {
        let pkcs8 = at_rest.open(Kind::SigningKey, tenant_id, &self.kid, self.pkcs8)?;
        Ok(SigningKeyRecord {
            kid: self.kid,
            pkcs8,
            created_at: self.created_at,
            activates_at: self.activates_at,
            retires_at: self.retires_at,
            retired_at: self.retired_at,
        })
    }
}

/// An account joined with its sign-in time on a device.
#[derive(sqlx::FromRow)]
pub(crate) struct DeviceAccountRow {
    #[sqlx(flatten)]
    pub(crate) account: AccountRow,
    pub(crate) signed_in_at: i64,
}

pub(crate) const TENANT_COLUMNS: &str =
    "id, issuer, name, resource_server, created_at, disabled, branding, policies";
/// [`TENANT_COLUMNS`] of a `tenants t` in a join.
pub(crate) const TENANT_COLUMNS_T: &str = "t.id, t.issuer, t.name, t.resource_server, \
     t.created_at, t.disabled, t.branding, t.policies";

#[derive(sqlx::FromRow)]
pub(crate) struct AdminTokenRow {
    id: String,
    tenant_id: TenantId,
    label: String,
    created_at: i64,
}

impl From<AdminTokenRow> for AdminToken {
    fn from(r: AdminTokenRow) -> Self {
        AdminToken {
            id: r.id,
            tenant_id: r.tenant_id,
            label: r.label,
            created_at: r.created_at,
        }
    }
}

pub(crate) const ADMIN_TOKEN_COLUMNS: &str = "id, tenant_id, label, created_at";
/// [`ADMIN_TOKEN_COLUMNS`] of `admin_tokens k` in a join.
pub(crate) const ADMIN_TOKEN_COLUMNS_K: &str = "k.id, k.tenant_id, k.label, k.created_at";
