//! Operator commands on the database (`--database`, or the data directory's SQLite file).

use crate::cli::{AccountCommand, AdminCommand, Cli, Command, KeysCommand, TenantCommand};
use anyhow::Context;
use atauth_protocol::clock::{Clock, SystemClock};
use atauth_protocol::random::SystemRandom;
use atauth_server::accounts::AccountSpec;
use atauth_server::admin::service::{AccountChanges, AdminService, TenantSpec};
use atauth_server::keys::{self, KeyInfo};
use atauth_store::{MasterKey, Store};
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

/// Where the database is: `--database` as given, or `<data-dir>/atauth.db`.
#[derive(Debug, Clone)]
pub struct DatabaseTarget {
    /// A URL or path for [`atauth_store::open_database`].
    pub url: String,
    /// The data directory, when the default file inside it is used (created if missing).
    default_dir: Option<std::path::PathBuf>,
    /// Seals signing keys and secrets at rest (`--master-key-file` / `ATAUTH_MASTER_KEY`).
    master_key: Option<Arc<MasterKey>>,
}

impl DatabaseTarget {
    pub fn new(data_dir: &Path, database: Option<&str>) -> anyhow::Result<Self> {
        match database.map(str::trim) {
            Some("") => anyhow::bail!("--database must not be empty"),
            Some(url) => Ok(Self {
                url: url.to_string(),
                default_dir: None,
                master_key: None,
            }),
            None => {
                let path = data_dir.join("atauth.db");
                let url = path
                    .to_str()
                    .with_context(|| format!("data directory {} is not UTF-8", data_dir.display()))?
                    .to_string();
                Ok(Self {
                    url,
                    default_dir: Some(data_dir.to_path_buf()),
                    master_key: None,
                })
            }
        }
    }

    /// Opens the database with this master key (see [`load_master_key`]).
    pub fn with_master_key(mut self, master_key: Option<Arc<MasterKey>>) -> Self {
        self.master_key = master_key;
        self
    }

    pub fn has_master_key(&self) -> bool {
        self.master_key.is_some()
    }

    /// The database for messages: a URL's password is never shown.
    pub fn display(&self) -> String {
        redact(&self.url)
    }

    /// Whether this is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        let lower = self.url.to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        if let Some(dir) = &self.default_dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create data directory {}", dir.display()))?;
        }
        atauth_store::open_database_with(&self.url, self.master_key.clone())
            .await
            .with_context(|| format!("cannot open database {}", self.display()))
    }
}

/// `url` with its password (if any) replaced by `***`; anything that is not a URL unchanged.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            if parsed.set_password(Some("***")).is_ok() {
                parsed.to_string()
            } else {
                "<database URL>".to_string()
            }
        }
        _ => url.to_string(),
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let master_key = load_master_key(
        std::env::var(MASTER_KEY_VAR).ok().as_deref(),
        cli.master_key_file.as_deref(),
    )?;
    let database = DatabaseTarget::new(&cli.data_dir, cli.database.as_deref())?
        .with_master_key(master_key.map(Arc::new));
    match cli.command {
        Command::Serve(args) => crate::serve::serve(&database, *args).await,
        Command::Tenant(cmd) => {
            let store = database.open().await?;
            let result = tenant(&store, cmd).await;
            store.close().await;
            result
        }
        Command::Account(cmd) => {
            let store = database.open().await?;
            let result = account(&store, cmd).await;
            store.close().await;
            result
        }
        Command::Admin(cmd) => {
            let store = database.open().await?;
            let result = admin(&store, cmd).await;
            store.close().await;
            result
        }
        Command::Keys(cmd) => {
            let store = database.open().await?;
            let result = keys_command(&store, cmd, database.has_master_key()).await;
            store.close().await;
            result
        }
    }
}

/// The environment variable holding the master key itself.
pub const MASTER_KEY_VAR: &str = "ATAUTH_MASTER_KEY";

/// The master key from `ATAUTH_MASTER_KEY` (its value) or `--master-key-file` (a file holding
/// the same text), if any. Both at once is refused, as is a malformed key; messages never
/// show the key.
pub fn load_master_key(
    from_env: Option<&str>,
    file: Option<&Path>,
) -> anyhow::Result<Option<MasterKey>> {
    let from_env = from_env.filter(|v| !v.trim().is_empty());
    match (from_env, file) {
        (Some(_), Some(_)) => {
            anyhow::bail!("set either {MASTER_KEY_VAR} or --master-key-file, not both")
        }
        (Some(text), None) => MasterKey::parse(text)
            .map(Some)
            .with_context(|| format!("{MASTER_KEY_VAR} is not a usable master key")),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the master key file {}", path.display()))?;
            MasterKey::parse(&text)
                .map(Some)
                .with_context(|| format!("{} does not hold a usable master key", path.display()))
        }
        (None, None) => Ok(None),
    }
}

async fn keys_command(
    store: &Arc<dyn Store>,
    cmd: KeysCommand,
    has_master_key: bool,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match cmd {
        KeysCommand::List { tenant, json } => {
            let keys = keys::list_keys(store, &tenant, now).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                println!("kid\talg\tstate\tcreated\tactivates\tretires");
                for key in &keys {
                    println!("{}", key_line(key));
                }
            }
        }
        KeysCommand::Rotate {
            tenant,
            delay,
            json,
        } => {
            let key = keys::rotate_keys(store, &tenant, delay, &SystemRandom, now).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&key)?);
            } else {
                println!(
                    "published key {} in the JWKS; it signs from {} (in {delay} s); the \
                     previous keys retire {} s after that",
                    key.kid,
                    utc(key.activates_at),
                    keys::RETIREMENT_GRACE_SECS
                );
                println!("{}", key.kid);
            }
        }
        KeysCommand::EncryptExisting => {
            anyhow::ensure!(
                has_master_key,
                "no master key: set {MASTER_KEY_VAR} or --master-key-file"
            );
            let report = store.seal_at_rest().await?;
            println!(
                "encrypted {} values now; {} were encrypted already",
                report.sealed_now, report.already_sealed
            );
        }
    }
    Ok(())
}

fn key_line(key: &KeyInfo) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        key.kid,
        key.alg,
        key.state.as_str(),
        utc(key.created_at),
        utc(key.activates_at),
        key.retires_at.map_or_else(|| "-".to_string(), utc)
    )
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian calendar, UTC).
fn utc(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date: H. Hinnant, "chrono-Compatible Low-Level Date
    // Algorithms", days_from_civil's inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod utc_tests {
    use super::utc;

    #[test]
    fn unix_seconds_as_utc() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(-1), "1969-12-31T23:59:59Z");
    }
}

/// The admin service over the database (the admin API runs the same operations).
fn service(store: &Arc<dyn Store>) -> AdminService {
    AdminService::new(store.clone(), Arc::new(SystemRandom), Arc::new(SystemClock))
}

async fn tenant(store: &Arc<dyn Store>, cmd: TenantCommand) -> anyhow::Result<()> {
    let service = service(store);
    match cmd {
        TenantCommand::Create {
            issuer,
            name,
            resource_server,
        } => {
            let tenant = service
                .create_tenant(TenantSpec {
                    issuer: &issuer,
                    name: &name,
                    resource_server: resource_server.as_deref(),
                })
                .await?;
            println!("created cooperative \"{}\"", tenant.name);
            println!("{}", tenant.issuer);
        }
        TenantCommand::Disable { tenant } => {
            let found = service.tenant(&tenant).await?;
            let updated = service.set_tenant_disabled(&found, true).await?;
            println!("disabled cooperative \"{}\"", updated.name);
        }
        TenantCommand::Enable { tenant } => {
            let found = service.tenant(&tenant).await?;
            let updated = service.set_tenant_disabled(&found, false).await?;
            println!("enabled cooperative \"{}\"", updated.name);
        }
        TenantCommand::List => {
            for t in service.list_tenants().await? {
                let status = if t.disabled { "disabled" } else { "active" };
                println!(
                    "{}\t{}\t{}\t{}",
                    t.issuer, t.name, t.resource_server, status
                );
            }
        }
    }
    Ok(())
}

async fn account(store: &Arc<dyn Store>, cmd: AccountCommand) -> anyhow::Result<()> {
    let service = service(store);
    let find_tenant = |issuer: String| {
        let store = store.clone();
        async move {
            let normalized =
                atauth_server::tenant::validate_issuer(&issuer).map_err(anyhow::Error::msg)?;
            store
                .tenant_by_issuer(&normalized)
                .await?
                .with_context(|| format!("no cooperative with issuer {normalized}"))
        }
    };
    match cmd {
        AccountCommand::Create {
            tenant,
            handle,
            email,
            did,
            password_stdin: _,
        } => {
            let tenant = find_tenant(tenant).await?;
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let account = service
                .create_account(
                    &tenant,
                    AccountSpec {
                        handle: &handle,
                        email: email.as_deref(),
                        did: did.as_deref(),
                        password,
                    },
                )
                .await?;
            if let Some(warning) = did_web_port_warning(&account.did) {
                eprintln!("warning: {warning}");
            }
            println!("created account @{} in \"{}\"", account.handle, tenant.name);
            println!("{}", account.did);
        }
        AccountCommand::List { tenant } => {
            let tenant = find_tenant(tenant).await?;
            for a in service.list_accounts(&tenant).await? {
                println!("{}\t{}\t{}", a.did, a.handle, a.email.unwrap_or_default());
            }
        }
        AccountCommand::Disable { tenant, handle } => {
            let tenant = find_tenant(tenant).await?;
            let account = account_by_handle(store, &tenant, &handle).await?;
            let changes = AccountChanges {
                disabled: Some(true),
                did: None,
            };
            service
                .update_account(&tenant, &account.id, changes)
                .await?;
            println!(
                "disabled account @{} (its sessions are revoked)",
                account.handle
            );
        }
        AccountCommand::Enable { tenant, handle } => {
            let tenant = find_tenant(tenant).await?;
            let account = account_by_handle(store, &tenant, &handle).await?;
            let changes = AccountChanges {
                disabled: Some(false),
                did: None,
            };
            service
                .update_account(&tenant, &account.id, changes)
                .await?;
            println!("enabled account @{}", account.handle);
        }
    }
    Ok(())
}

async fn account_by_handle(
    store: &Arc<dyn Store>,
    tenant: &atauth_store::Tenant,
    handle: &str,
) -> anyhow::Result<atauth_store::Account> {
    let handle = handle.trim().trim_start_matches('@');
    store
        .tenant_repo(tenant)
        .account_by_handle(handle)
        .await?
        .with_context(|| format!("no account @{handle} in \"{}\"", tenant.name))
}

/// `atauth admin ...`: credentials of the admin API.
async fn admin(store: &Arc<dyn Store>, cmd: AdminCommand) -> anyhow::Result<()> {
    let service = service(store);
    match cmd {
        AdminCommand::CreateToken { tenant, label } => {
            let tenant = service.tenant(&tenant).await?;
            let (record, token) = service.create_admin_token(&tenant, &label).await?;
            eprintln!(
                "admin token {} for \"{}\" (shown once; it manages this cooperative only)",
                record.id, tenant.name
            );
            println!("{token}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://atauth:s3cret@db:5432/atauth"),
            "postgres://atauth:***@db:5432/atauth"
        );
        assert_eq!(
            redact("postgres://atauth@db/atauth"),
            "postgres://atauth@db/atauth"
        );
        assert_eq!(redact("/var/lib/atauth.db"), "/var/lib/atauth.db");
        assert_eq!(
            redact("redis://:pw@127.0.0.1:6379"),
            "redis://:***@127.0.0.1:6379"
        );
    }

    #[test]
    fn default_database_is_in_the_data_directory() {
        let t = DatabaseTarget::new(Path::new("/srv/atauth"), None).unwrap();
        assert_eq!(t.url, "/srv/atauth/atauth.db");
        assert!(!t.is_postgres());
        let t = DatabaseTarget::new(Path::new("x"), Some("postgresql://u@h/db")).unwrap();
        assert_eq!(t.url, "postgresql://u@h/db");
        assert!(t.is_postgres());
        assert!(DatabaseTarget::new(Path::new("x"), Some(" ")).is_err());
    }
}

/// atproto accepts a port in a did:web only for `localhost` (atproto DID spec), so a hosted
/// did:web carrying the issuer's port works with atauth's own tests but not with real clients.
fn did_web_port_warning(did: &str) -> Option<String> {
    let host = did.strip_prefix("did:web:")?;
    let (name, _) = host.split_once("%3A")?;
    (name != "localhost").then(|| {
        format!(
            "{did} carries a port; atproto clients accept did:web ports only for localhost. \
             Serve the cooperative on the default port, or attach an external DID with --did."
        )
    })
}

#[cfg(test)]
mod did_web_port_tests {
    use super::did_web_port_warning;

    #[test]
    fn warns_about_did_web_ports_except_on_localhost() {
        assert!(did_web_port_warning("did:web:alice.coop.example%3A8443").is_some());
        assert!(did_web_port_warning("did:web:localhost%3A2583").is_none());
        assert!(did_web_port_warning("did:web:alice.coop.example").is_none());
        assert!(did_web_port_warning("did:plc:abc").is_none());
    }
}
