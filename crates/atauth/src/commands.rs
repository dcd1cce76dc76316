//! Operator commands on the database (`--database`, or the data directory's SQLite file).

use crate::cli::{AccountCommand, Cli, Command, TenantCommand};
use anyhow::Context;
use atauth_protocol::clock::{Clock, SystemClock};
use atauth_protocol::random::SystemRandom;
use atauth_server::accounts::{create_account, AccountSpec};
use atauth_store::Store;
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
}

impl DatabaseTarget {
    pub fn new(data_dir: &Path, database: Option<&str>) -> anyhow::Result<Self> {
        match database.map(str::trim) {
            Some("") => anyhow::bail!("--database must not be empty"),
            Some(url) => Ok(Self {
                url: url.to_string(),
                default_dir: None,
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
                })
            }
        }
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
        atauth_store::open_database(&self.url)
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
    let database = DatabaseTarget::new(&cli.data_dir, cli.database.as_deref())?;
    match cli.command {
        Command::Serve(args) => crate::serve::serve(&database, args).await,
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
    }
}

async fn tenant(store: &Arc<dyn Store>, cmd: TenantCommand) -> anyhow::Result<()> {
    match cmd {
        TenantCommand::Create {
            issuer,
            name,
            resource_server,
        } => {
            let tenant = atauth_server::provision_tenant(
                store,
                &SystemRandom,
                &issuer,
                &name,
                resource_server.as_deref(),
                SystemClock.now(),
            )
            .await?;
            println!("created cooperative \"{}\"", tenant.name);
            println!("{}", tenant.issuer);
        }
        TenantCommand::List => {
            for t in store.list_tenants().await? {
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
            let account = create_account(
                store,
                &tenant,
                AccountSpec {
                    handle: &handle,
                    email: email.as_deref(),
                    did: did.as_deref(),
                    password,
                },
                &SystemRandom,
                SystemClock.now(),
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
            for a in store.tenant_repo(&tenant).list_accounts().await? {
                println!("{}\t{}\t{}", a.did, a.handle, a.email.unwrap_or_default());
            }
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
