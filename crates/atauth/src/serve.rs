//! `atauth serve`: open the store (and the Redis replay cache, if asked), prepare dev mode if
//! asked, and run the HTTP(S) server.

use crate::cli::ServeArgs;
use crate::commands::{redact, DatabaseTarget};
use anyhow::Context;
use atauth_fetch::{FetchConfig, SafeFetcher};
use atauth_lexicon::{LexiconResolver, ResolverConfig, SystemTxtResolver};
use atauth_protocol::clock::{Clock, SystemClock};
use atauth_protocol::permission::PermissionSet;
use atauth_protocol::random::SystemRandom;
use atauth_server::accounts::{create_account, AccountSpec};
use atauth_server::client_address::TrustedProxies;
use atauth_server::permission_sets::{PermissionSetSource, PermissionSets};
use atauth_server::{AppState, PasswordCost, ServerConfig};
use atauth_store::{DatabaseReplayStore, RedisReplayStore, ReplayStore, Store};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub const DEV_ISSUER: &str = "http://127.0.0.1:2583";
pub const DEV_HANDLE: &str = "alice.localhost";
pub const DEV_PASSWORD: &str = "atauth-demo";
const DEV_EMAIL: &str = "alice@example.com";
const DEV_COOPERATIVE_NAME: &str = "Demo Cooperative";
const PURGE_INTERVAL: Duration = Duration::from_secs(60);

pub async fn serve(database: &DatabaseTarget, args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_json);
    let store = database.open().await?;
    tracing::info!(
        database = %database.display(),
        backend = if database.is_postgres() { "postgres" } else { "sqlite" },
        "database opened"
    );
    check_encryption_at_rest(database, &store, args.dev).await?;
    let replay = open_replay_store(args.redis.as_deref()).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    if args.dev {
        prepare_dev(&store, clock.now()).await?;
    }

    let fetcher = SafeFetcher::new(fetch_config(&args)?)
        .map_err(|e| anyhow::anyhow!("cannot build the outbound HTTP client: {e}"))?;
    let config = ServerConfig {
        dev: args.dev,
        trusted_host_header: args.trusted_host_header.clone(),
        trusted_proxies: TrustedProxies::new(args.trusted_proxies.clone()),
        password_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
        password_cost: PasswordCost::PRODUCTION,
    };
    let mut permission_sets = permission_sets(&args)?;
    // Sets no file pins come from the network (DNS TXT → DID → PDS → verified record); never in
    // dev mode, which must stay on loopback.
    if !args.dev {
        match SystemTxtResolver::new() {
            Ok(txt) => {
                let resolver = LexiconResolver::new(
                    ResolverConfig::default(),
                    Arc::new(txt),
                    fetcher.clone(),
                    clock.clone(),
                );
                permission_sets =
                    permission_sets.with_fallback(Arc::new(NetworkPermissionSets(resolver)));
            }
            Err(e) => {
                tracing::warn!(error = %e, "no DNS resolver: only pinned permission sets will resolve")
            }
        }
    }
    let state = AppState::with_replay_store(
        store.clone(),
        replay,
        Arc::new(fetcher),
        clock.clone(),
        Arc::new(SystemRandom),
        config,
    )
    .with_permission_sets(permission_sets);
    let metrics = match args.metrics_listen {
        Some(addr) => Some(serve_metrics(addr, state.clone()).await?),
        None => None,
    };
    let admin = match admin_token(args.admin_token_file.as_deref())? {
        Some(token) => Some(serve_admin(args.admin_listen, state.clone(), &token).await?),
        None => None,
    };
    let app = atauth_server::router(state).into_make_service_with_connect_info::<SocketAddr>();

    // Housekeeping: forget expired single-use markers and abandoned requests.
    // Every instance may run it: the deletes are idempotent.
    let purge_clock = clock.clone();
    let purge_store = store.clone();
    let purge_limits = store.rate_limits();
    let purge = tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_INTERVAL);
        loop {
            tick.tick().await;
            if let Err(e) = purge_store.purge_expired(purge_clock.now()).await {
                tracing::warn!(error = %e, "purge of expired rows failed");
            }
            if let Err(e) = purge_limits.purge_expired(purge_clock.now()).await {
                tracing::warn!(error = %e, "purge of expired rate-limit counters failed");
            }
        }
    });

    let default_listen = if args.dev {
        "127.0.0.1:2583"
    } else {
        "127.0.0.1:8080"
    };
    let listen = args.listen.unwrap_or_else(|| {
        default_listen
            .parse()
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)))
    });
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;

    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .context("cannot load the TLS certificate or key")?;
            println!("atauth listening on https://{local}");
            axum_server::from_tcp_rustls(listener, tls)
                .serve(app)
                .await?;
        }
        _ => {
            println!("atauth listening on http://{local}");
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown_signal())
                .await?;
        }
    }
    purge.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    if let Some(admin) = admin {
        admin.abort();
    }
    store.close().await;
    Ok(())
}

/// The environment variable holding the operator's admin API token itself.
pub const ADMIN_TOKEN_VAR: &str = "ATAUTH_ADMIN_TOKEN";

/// The operator's admin token from `ATAUTH_ADMIN_TOKEN` or `--admin-token-file`, if any (both
/// at once is refused). Messages never show the token.
fn admin_token(file: Option<&std::path::Path>) -> anyhow::Result<Option<String>> {
    let from_env = std::env::var(ADMIN_TOKEN_VAR)
        .ok()
        .filter(|t| !t.trim().is_empty());
    match (from_env, file) {
        (Some(_), Some(_)) => {
            anyhow::bail!("set either {ADMIN_TOKEN_VAR} or --admin-token-file, not both")
        }
        (Some(token), None) => Ok(Some(token.trim().to_string())),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the admin token file {}", path.display()))?;
            Ok(Some(text.trim().to_string()))
        }
        (None, None) => Ok(None),
    }
}

/// The admin API (`/admin/v1`) on a listener of its own, plain HTTP, never on the public one.
async fn serve_admin(
    addr: SocketAddr,
    state: AppState,
    operator_token: &str,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let app = atauth_server::admin::router(state, operator_token)?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "the admin API listens beyond loopback: keep it on a private network");
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for the admin API"))?;
    let local = listener.local_addr()?;
    println!("atauth admin API on http://{local}/admin/v1");
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "admin listener stopped");
        }
    }))
}

/// `/metrics` on a listener of its own (`--metrics-listen`), plain HTTP.
async fn serve_metrics(
    addr: SocketAddr,
    state: AppState,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for metrics"))?;
    let local = listener.local_addr()?;
    println!("atauth metrics on http://{local}/metrics");
    let app = atauth_server::metrics::router(state);
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "metrics listener stopped");
        }
    }))
}

/// With a master key, encrypts the signing keys and secrets still stored in plaintext; with
/// or without one, refuses to start when an encrypted row does not open (missing or wrong
/// master key), instead of failing the first requests. Without one outside dev mode, warns.
async fn check_encryption_at_rest(
    database: &DatabaseTarget,
    store: &Arc<dyn Store>,
    dev: bool,
) -> anyhow::Result<()> {
    let report = store
        .seal_at_rest()
        .await
        .context("cannot start: the signing keys and secrets cannot be read")?;
    if database.has_master_key() {
        tracing::info!(
            encrypted_now = report.sealed_now,
            encrypted_before = report.already_sealed,
            "signing keys and secrets are encrypted at rest"
        );
    } else if !dev {
        tracing::warn!(
            plaintext_values = report.plaintext,
            "no master key (ATAUTH_MASTER_KEY or --master-key-file): signing keys and secrets \
             are stored unencrypted in the database"
        );
        eprintln!(
            "warning: no master key is configured; signing keys and secrets are stored \
             unencrypted (set ATAUTH_MASTER_KEY or --master-key-file)"
        );
    }
    Ok(())
}

/// Redis (`--redis`) or the database for the DPoP and client assertion replay caches. Redis
/// being unreachable at start-up is not fatal: requests needing it get 503 (and `/readyz`
/// reports it) until it answers.
async fn open_replay_store(redis: Option<&str>) -> anyhow::Result<Arc<dyn ReplayStore>> {
    let Some(url) = redis.map(str::trim) else {
        return Ok(Arc::new(DatabaseReplayStore));
    };
    anyhow::ensure!(!url.is_empty(), "--redis must not be empty");
    let redis = RedisReplayStore::new(url)
        .with_context(|| format!("cannot use Redis at {}", redact(url)))?;
    match redis.ping().await {
        Ok(()) => tracing::info!(redis = %redact(url), "replay cache: Redis"),
        Err(e) => tracing::warn!(
            redis = %redact(url),
            error = %e,
            "replay cache: Redis is not reachable yet; DPoP and client assertion requests get 503 until it is"
        ),
    }
    Ok(Arc::new(redis))
}

fn fetch_config(args: &ServeArgs) -> anyhow::Result<FetchConfig> {
    let mut host_overrides = HashMap::new();
    for entry in &args.dev_resolve {
        let (host, addr) = entry
            .split_once('=')
            .with_context(|| format!("--dev-resolve expects HOST=ADDR, got {entry}"))?;
        let addr: IpAddr = addr
            .parse()
            .with_context(|| format!("--dev-resolve: {addr} is not an IP address"))?;
        host_overrides.insert(host.to_ascii_lowercase(), addr);
    }
    let extra_ca_pem = match &args.extra_ca_file {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?)
        }
        None => None,
    };
    Ok(FetchConfig {
        allow_loopback: args.dev,
        host_overrides,
        extra_ca_pem,
        ..FetchConfig::default()
    })
}

/// The demo cooperative and account of `--dev`, created once and reused afterwards.
async fn prepare_dev(store: &Arc<dyn Store>, now: i64) -> anyhow::Result<()> {
    let tenant = match store.tenant_by_issuer(DEV_ISSUER).await? {
        Some(t) => t,
        None => {
            atauth_server::provision_tenant(
                store,
                &SystemRandom,
                DEV_ISSUER,
                DEV_COOPERATIVE_NAME,
                None,
                now,
            )
            .await?
        }
    };
    let repo = store.tenant_repo(&tenant);
    let account = match repo.account_by_handle(DEV_HANDLE).await? {
        Some(a) => a,
        None => {
            let spec = AccountSpec {
                handle: DEV_HANDLE,
                email: Some(DEV_EMAIL),
                did: None,
                password: DEV_PASSWORD,
            };
            create_account(
                store,
                &tenant,
                spec,
                PasswordCost::PRODUCTION,
                &SystemRandom,
                now,
            )
            .await?
        }
    };
    println!(
        "dev mode: cooperative \"{}\" at {}",
        tenant.name, tenant.issuer
    );
    println!(
        "dev mode: demo account handle {} / password {} ({})",
        account.handle, DEV_PASSWORD, account.did
    );
    Ok(())
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ATAUTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// The pinned permission sets (`--permission-sets`, or the shipped examples in dev mode).
fn permission_sets(args: &ServeArgs) -> anyhow::Result<PermissionSets> {
    let dev_default = std::path::Path::new("permission-sets");
    let dir = match &args.permission_sets {
        Some(dir) => dir.as_path(),
        None if args.dev && dev_default.is_dir() => dev_default,
        None => return Ok(PermissionSets::default()),
    };
    let sets = PermissionSets::load_dir(dir)?;
    tracing::info!(dir = %dir.display(), count = sets.pinned_count(), "pinned permission sets loaded");
    Ok(sets)
}

/// Permission sets resolved from the network by `atauth-lexicon` (verified, cached).
struct NetworkPermissionSets(LexiconResolver);

#[async_trait::async_trait]
impl PermissionSetSource for NetworkPermissionSets {
    async fn permission_set(&self, nsid: &str) -> Result<PermissionSet, String> {
        let resolved = self
            .0
            .resolve_permission_set(nsid)
            .await
            .map_err(|e| e.to_string())?;
        PermissionSet::from_lexicon(nsid, &resolved.document).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_account_password_meets_the_password_rule() {
        let about_the_member = [DEV_HANDLE, DEV_EMAIL, DEV_COOPERATIVE_NAME];
        assert_eq!(
            atauth_server::password_policy::check(DEV_PASSWORD, &about_the_member),
            Ok(())
        );
    }
}
