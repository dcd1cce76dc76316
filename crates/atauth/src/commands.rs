//! Operator commands on a data directory.

use crate::cli::{AccountCommand, Cli, Command, TenantCommand};
use anyhow::Context;
use atauth_protocol::clock::{Clock, SystemClock};
use atauth_protocol::random::SystemRandom;
use atauth_server::accounts::{create_account, AccountSpec};
use atauth_store::sqlite::SqliteStore;
use atauth_store::Store;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

pub async fn open_store(data_dir: &Path) -> anyhow::Result<Arc<SqliteStore>> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let path = data_dir.join("atauth.db");
    let store = SqliteStore::open(&path)
        .await
        .with_context(|| format!("cannot open database {}", path.display()))?;
    Ok(Arc::new(store))
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => crate::serve::serve(&cli.data_dir, args).await,
        Command::Tenant(cmd) => tenant(&cli.data_dir, cmd).await,
        Command::Account(cmd) => account(&cli.data_dir, cmd).await,
    }
}

async fn tenant(data_dir: &Path, cmd: TenantCommand) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = open_store(data_dir).await?;
    match cmd {
        TenantCommand::Create {
            issuer,
            name,
            resource_server,
        } => {
            let tenant = atauth_server::provision_tenant(
                &store,
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

async fn account(data_dir: &Path, cmd: AccountCommand) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = open_store(data_dir).await?;
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
                &store,
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
