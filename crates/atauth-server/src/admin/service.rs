//! The administration service: every operation on cooperatives, accounts, sessions, admin
//! tokens and keys, as plain async functions shared by the admin API and the CLI. Scope
//! checks (which caller may touch which cooperative) are the caller's job; everything below a
//! cooperative goes through its tenant-bound repository, so an id of another cooperative is
//! simply not found.

use super::error::AdminError;
use super::settings::{Branding, Policies};
use crate::accounts::{self, AccountSpec};
use crate::password::{hash_password, PasswordCost};
use crate::password_policy;
use crate::state::AppState;
use crate::tenant::{issuer_host, validate_issuer, TenantCache};
use crate::{keys, provision_tenant};
use atauth_protocol::clock::Clock;
use atauth_protocol::identity;
use atauth_protocol::random::{self, RandomSource};
use atauth_store::{
    Account, AdminToken, NewAdminToken, Session, SessionFilter, Store, StoreError, Tenant,
    TenantUpdate,
};
use std::sync::Arc;

/// Admin tokens read `atadm_<43 base64url characters>`; the prefix makes a leaked one easy to
/// recognise (secret scanners).
pub const ADMIN_TOKEN_PREFIX: &str = "atadm_";
/// Most sessions one listing returns (newest first).
pub const SESSION_LIST_LIMIT: u32 = 1000;
const NAME_MAX_CHARS: usize = 200;
const LABEL_MAX_CHARS: usize = 200;

/// A new cooperative.
pub struct TenantSpec<'a> {
    pub issuer: &'a str,
    pub name: &'a str,
    pub resource_server: Option<&'a str>,
}

/// Changes to a cooperative; `None` leaves a field as it is. `branding` and `policies`
/// replace the whole object (absent fields take their defaults).
#[derive(Debug, Default)]
pub struct TenantChanges {
    pub name: Option<String>,
    pub branding: Option<Branding>,
    pub policies: Option<Policies>,
}

/// Changes to an account; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct AccountChanges {
    pub disabled: Option<bool>,
    /// An external DID (`did:plc`, or a `did:web` not hosted by this deployment).
    pub did: Option<String>,
}

#[derive(Clone)]
pub struct AdminService {
    store: Arc<dyn Store>,
    rng: Arc<dyn RandomSource>,
    clock: Arc<dyn Clock>,
    /// The argon2id cost of the password hashes it writes.
    password_cost: PasswordCost,
    /// The running server's tenant cache, refreshed after changes (none for the CLI).
    cache: Option<TenantCache>,
}

impl AdminService {
    /// A service over `store` (the CLI).
    pub fn new(store: Arc<dyn Store>, rng: Arc<dyn RandomSource>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            rng,
            clock,
            password_cost: PasswordCost::PRODUCTION,
            cache: None,
        }
    }

    /// The service of a running server: changes take effect at once in this process.
    pub fn for_state(state: &AppState) -> Self {
        Self {
            store: state.inner.store.clone(),
            rng: state.inner.rng.clone(),
            clock: state.inner.clock.clone(),
            password_cost: state.inner.config.password_cost,
            cache: Some(state.inner.tenants.clone()),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    async fn forget_cached(&self, tenant: &Tenant) {
        if let Some(cache) = &self.cache {
            cache.forget(issuer_host(&tenant.issuer)).await;
        }
    }

    // --- cooperatives

    pub async fn create_tenant(&self, spec: TenantSpec<'_>) -> Result<Tenant, AdminError> {
        let name = valid_name(spec.name)?;
        let issuer = validate_issuer(spec.issuer).map_err(AdminError::Invalid)?;
        provision_tenant(
            &self.store,
            self.rng.as_ref(),
            &issuer,
            &name,
            spec.resource_server,
            self.now(),
        )
        .await
        .map_err(from_anyhow)
    }

    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, AdminError> {
        Ok(self.store.list_tenants().await?)
    }

    /// A cooperative, disabled or not, by its issuer host (`coop-a.example`) or its issuer
    /// (`https://coop-a.example`).
    pub async fn tenant(&self, host_or_issuer: &str) -> Result<Tenant, AdminError> {
        let host = if host_or_issuer.contains("://") {
            let issuer = validate_issuer(host_or_issuer).map_err(AdminError::Invalid)?;
            issuer_host(&issuer).to_string()
        } else {
            host_or_issuer.trim().to_ascii_lowercase()
        };
        self.store
            .tenant_by_host_including_disabled(&host)
            .await?
            .ok_or(AdminError::NotFound("cooperative"))
    }

    pub async fn update_tenant(
        &self,
        tenant: &Tenant,
        changes: TenantChanges,
    ) -> Result<Tenant, AdminError> {
        let name = changes.name.as_deref().map(valid_name).transpose()?;
        let branding = match changes.branding {
            Some(b) => {
                b.validate().map_err(AdminError::Invalid)?;
                Some(to_json(&b)?)
            }
            None => None,
        };
        let policies = match changes.policies {
            Some(p) => {
                p.validate().map_err(AdminError::Invalid)?;
                Some(to_json(&p)?)
            }
            None => None,
        };
        let update = TenantUpdate {
            name,
            branding,
            policies,
        };
        let updated = self
            .store
            .update_tenant(tenant.id, update)
            .await?
            .ok_or(AdminError::NotFound("cooperative"))?;
        self.forget_cached(&updated).await;
        Ok(updated)
    }

    /// Disables (its issuer answers 404: at once on this instance, within the tenant cache
    /// TTL on others) or enables a cooperative.
    pub async fn set_tenant_disabled(
        &self,
        tenant: &Tenant,
        disabled: bool,
    ) -> Result<Tenant, AdminError> {
        let updated = self
            .store
            .set_tenant_disabled(tenant.id, disabled)
            .await?
            .ok_or(AdminError::NotFound("cooperative"))?;
        self.forget_cached(&updated).await;
        tracing::info!(tenant = %updated.issuer, disabled, "admin: cooperative status changed");
        Ok(updated)
    }

    // --- admin tokens

    /// Mints an admin token with power over `tenant` only. Returns the record and the token,
    /// which is shown this once (only its hash is stored).
    pub async fn create_admin_token(
        &self,
        tenant: &Tenant,
        label: &str,
    ) -> Result<(AdminToken, String), AdminError> {
        let label = label.trim();
        if label.chars().count() > LABEL_MAX_CHARS {
            return Err(AdminError::Invalid(format!(
                "the label must have at most {LABEL_MAX_CHARS} characters"
            )));
        }
        let token = format!(
            "{ADMIN_TOKEN_PREFIX}{}",
            random::token(self.rng.as_ref(), 32)
        );
        let record = self
            .store
            .tenant_repo(tenant)
            .create_admin_token(NewAdminToken {
                id: random::hex_id(self.rng.as_ref(), 8),
                token_hash: random::hash_secret(&token),
                label: label.to_string(),
                now: self.now(),
            })
            .await?;
        tracing::info!(tenant = %tenant.issuer, token_id = %record.id, "admin: token created");
        Ok((record, token))
    }

    pub async fn list_admin_tokens(&self, tenant: &Tenant) -> Result<Vec<AdminToken>, AdminError> {
        Ok(self.store.tenant_repo(tenant).list_admin_tokens().await?)
    }

    pub async fn delete_admin_token(&self, tenant: &Tenant, id: &str) -> Result<(), AdminError> {
        if self
            .store
            .tenant_repo(tenant)
            .delete_admin_token(id)
            .await?
        {
            Ok(())
        } else {
            Err(AdminError::NotFound("admin token"))
        }
    }

    // --- accounts

    pub async fn create_account(
        &self,
        tenant: &Tenant,
        spec: AccountSpec<'_>,
    ) -> Result<Account, AdminError> {
        if let Some(did) = spec.did {
            self.check_external_did(did).await?;
        }
        accounts::create_account(
            &self.store,
            tenant,
            spec,
            self.password_cost,
            self.rng.as_ref(),
            self.now(),
        )
        .await
        .map_err(from_anyhow)
    }

    pub async fn list_accounts(&self, tenant: &Tenant) -> Result<Vec<Account>, AdminError> {
        Ok(self.store.tenant_repo(tenant).list_accounts().await?)
    }

    pub async fn account(&self, tenant: &Tenant, id: &str) -> Result<Account, AdminError> {
        self.store
            .tenant_repo(tenant)
            .account_by_id(id)
            .await?
            .ok_or(AdminError::NotFound("account"))
    }

    /// Disables or enables an account, or attaches an external DID. Disabling ends the
    /// account's sessions (so it can neither sign in nor refresh); so does a new DID (tokens
    /// name the DID as `sub`).
    pub async fn update_account(
        &self,
        tenant: &Tenant,
        id: &str,
        changes: AccountChanges,
    ) -> Result<Account, AdminError> {
        let repo = self.store.tenant_repo(tenant);
        let mut account = self.account(tenant, id).await?;
        let mut end_sessions = false;
        if let Some(did) = changes.did.as_deref().filter(|d| *d != account.did) {
            self.check_external_did(did).await?;
            account = repo
                .set_account_did(id, did)
                .await?
                .ok_or(AdminError::NotFound("account"))?;
            end_sessions = true;
        }
        if let Some(disabled) = changes.disabled {
            account = repo
                .set_account_disabled(id, disabled)
                .await?
                .ok_or(AdminError::NotFound("account"))?;
            end_sessions |= disabled;
        }
        if end_sessions {
            self.end_account_sessions(tenant, id).await?;
        }
        Ok(account)
    }

    /// Sets a new password (argon2id) and ends every session of the account. The password
    /// meets [`password_policy::check`].
    pub async fn reset_password(
        &self,
        tenant: &Tenant,
        id: &str,
        password: &str,
    ) -> Result<Account, AdminError> {
        let account = self.account(tenant, id).await?;
        let about_the_member = [
            account.handle.as_str(),
            account.email.as_deref().unwrap_or(""),
            &tenant.name,
        ];
        password_policy::check(password, &about_the_member)
            .map_err(|weak| AdminError::Invalid(weak.to_string()))?;
        let hash = hash_password(password, self.password_cost, self.rng.as_ref())
            .await
            .map_err(|e| AdminError::Internal(e.to_string()))?;
        let account = self
            .store
            .tenant_repo(tenant)
            .set_account_password_hash(id, &hash)
            .await?
            .ok_or(AdminError::NotFound("account"))?;
        self.end_account_sessions(tenant, id).await?;
        Ok(account)
    }

    async fn end_account_sessions(&self, tenant: &Tenant, id: &str) -> Result<u64, AdminError> {
        let filter = SessionFilter {
            account_id: Some(id.to_string()),
            client_id: None,
        };
        Ok(self
            .store
            .tenant_repo(tenant)
            .revoke_sessions(&filter, self.now())
            .await?)
    }

    /// An external DID may be attached: `did:plc` (24 base32 characters), or a `did:web` whose
    /// host is neither a cooperative's issuer nor a handle hosted here.
    async fn check_external_did(&self, did: &str) -> Result<(), AdminError> {
        if let Some(id) = did.strip_prefix("did:plc:") {
            let valid = id.len() == 24
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
            return if valid {
                Ok(())
            } else {
                Err(AdminError::Invalid(format!(
                    "\"{did}\" is not a valid DID: a did:plc has 24 characters of a-z and 2-7"
                )))
            };
        }
        let Some((host, _port)) = identity::host_for_did_web(did) else {
            return Err(AdminError::Invalid(format!(
                "\"{did}\" is not a valid DID: attach a did:plc or a did:web"
            )));
        };
        let hosted = self.store.tenant_by_handle(&host).await?.is_some()
            || self
                .store
                .tenant_by_host_including_disabled(&host)
                .await?
                .is_some();
        if hosted {
            return Err(AdminError::Invalid(
                "this did:web is hosted by this server; attach an external DID".into(),
            ));
        }
        Ok(())
    }

    // --- sessions

    pub async fn list_sessions(
        &self,
        tenant: &Tenant,
        filter: &SessionFilter,
    ) -> Result<Vec<Session>, AdminError> {
        Ok(self
            .store
            .tenant_repo(tenant)
            .list_sessions(filter, SESSION_LIST_LIMIT)
            .await?)
    }

    /// Revokes the live sessions of an account, of a client, or of an account at a client.
    pub async fn revoke_sessions(
        &self,
        tenant: &Tenant,
        filter: &SessionFilter,
    ) -> Result<u64, AdminError> {
        if filter.account_id.is_none() && filter.client_id.is_none() {
            return Err(AdminError::Invalid(
                "name an account or a client whose sessions to revoke".into(),
            ));
        }
        Ok(self
            .store
            .tenant_repo(tenant)
            .revoke_sessions(filter, self.now())
            .await?)
    }

    pub async fn revoke_session(&self, tenant: &Tenant, id: &str) -> Result<(), AdminError> {
        let repo = self.store.tenant_repo(tenant);
        if repo.session_by_id(id).await?.is_none() {
            return Err(AdminError::NotFound("session"));
        }
        repo.revoke_session(id, self.now()).await?;
        Ok(())
    }

    // --- signing keys (see `crate::keys`)

    pub async fn list_keys(&self, tenant: &Tenant) -> Result<Vec<keys::KeyInfo>, AdminError> {
        keys::list_keys(&self.store, &tenant.issuer, self.now())
            .await
            .map_err(from_key_error)
    }

    pub async fn rotate_keys(
        &self,
        tenant: &Tenant,
        delay_secs: i64,
    ) -> Result<keys::KeyInfo, AdminError> {
        let key = keys::rotate_keys(
            &self.store,
            &tenant.issuer,
            delay_secs,
            self.rng.as_ref(),
            self.now(),
        )
        .await
        .map_err(from_key_error)?;
        self.forget_cached(tenant).await;
        Ok(key)
    }
}

fn valid_name(name: &str) -> Result<String, AdminError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > NAME_MAX_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(AdminError::Invalid(format!(
            "the name must have 1 to {NAME_MAX_CHARS} characters and no control characters"
        )));
    }
    Ok(name.to_string())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, AdminError> {
    serde_json::to_string(value).map_err(|e| AdminError::Internal(e.to_string()))
}

/// Errors of the account and tenant helpers (anyhow): store errors keep their meaning, the
/// rest are validation messages.
fn from_anyhow(e: anyhow::Error) -> AdminError {
    match e.downcast::<StoreError>() {
        Ok(store) => store.into(),
        Err(other) => AdminError::Invalid(other.to_string()),
    }
}

fn from_key_error(e: keys::KeyError) -> AdminError {
    match e {
        // Keys are only managed for enabled cooperatives.
        keys::KeyError::UnknownTenant(_) => AdminError::NotFound("cooperative"),
        keys::KeyError::InvalidDelay => AdminError::Invalid(e.to_string()),
        keys::KeyError::KeyGeneration(m) => AdminError::Internal(m),
        keys::KeyError::Store(s) => s.into(),
    }
}
