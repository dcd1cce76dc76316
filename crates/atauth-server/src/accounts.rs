//! Creating member accounts (shared by the CLI, dev start-up and the admin API through
//! `admin::service`).

use crate::password::{hash_password, PasswordCost};
use crate::password_policy;
use atauth_protocol::identity;
use atauth_protocol::random::{self, RandomSource};
use atauth_store::{Account, NewAccount, Store, Tenant};
use std::sync::Arc;

pub struct AccountSpec<'a> {
    pub handle: &'a str,
    pub email: Option<&'a str>,
    /// An external DID; `None` creates a hosted `did:web` on the handle's host.
    pub did: Option<&'a str>,
    pub password: &'a str,
}

/// Creates an account; its password meets [`password_policy::check`] (the handle, e-mail and
/// cooperative name count as guessable).
pub async fn create_account(
    store: &Arc<dyn Store>,
    tenant: &Tenant,
    spec: AccountSpec<'_>,
    cost: PasswordCost,
    rng: &dyn RandomSource,
    now: i64,
) -> anyhow::Result<Account> {
    let handle = spec
        .handle
        .trim()
        .trim_start_matches('@')
        .to_ascii_lowercase();
    if !identity::is_valid_handle(&handle) {
        anyhow::bail!(
            "\"{handle}\" is not a valid handle (a domain name such as alice.coop.example)"
        );
    }
    let email = spec.email.map(|e| e.trim().to_ascii_lowercase());
    if let Some(email) = &email {
        let valid = email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
        if !valid {
            anyhow::bail!("\"{email}\" is not a valid e-mail address");
        }
    }
    let about_the_member = [
        handle.as_str(),
        email.as_deref().unwrap_or(""),
        &tenant.name,
    ];
    password_policy::check(spec.password, &about_the_member)?;
    let did = match spec.did {
        Some(did) if identity::is_valid_did(did) => did.to_string(),
        Some(did) => anyhow::bail!("\"{did}\" is not a valid DID"),
        None => hosted_did(tenant, &handle)?,
    };
    let password_hash = hash_password(spec.password, cost, rng).await?;
    let account = store
        .tenant_repo(tenant)
        .create_account(NewAccount {
            id: random::hex_id(rng, 16),
            did,
            handle,
            email,
            password_hash,
            now,
        })
        .await?;
    Ok(account)
}

/// `did:web:<handle>`, carrying the port of the cooperative's issuer when it is not the default
/// (atauth serves the DID document on the same port as the issuer).
pub(crate) fn hosted_did(tenant: &Tenant, handle: &str) -> anyhow::Result<String> {
    let issuer = url::Url::parse(&tenant.issuer)?;
    Ok(identity::did_web_for_host(handle, issuer.port()))
}
