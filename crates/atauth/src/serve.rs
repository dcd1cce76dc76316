//! `atauth serve`: open the store (and the Redis replay cache, if asked), prepare dev mode if
//! asked, and run the HTTP(S) server.

use crate::cli::ServeArgs;
use crate::commands::{redact, DatabaseTarget};
use anyhow::Context;
use atauth_fetch::{FetchConfig, SafeFetcher};
use atauth_protocol::clock::{Clock, SystemClock};
use atauth_protocol::random::SystemRandom;
use atauth_server::accounts::{create_account, AccountSpec};
use atauth_server::{AppState, ServerConfig};
use atauth_store::{DatabaseReplayStore, RedisReplayStore, ReplayStore, Store};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub const DEV_ISSUER: &str = "http://127.0.0.1:2583";
pub const DEV_HANDLE: &str = "alice.localhost";
pub const DEV_PASSWORD: &str = "atauth-demo";
const PURGE_INTERVAL: Duration = Duration::from_secs(60);

pub async fn serve(database: &DatabaseTarget, args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_json);
    let store = database.open().await?;
    tracing::info!(
        database = %database.display(),
        backend = if database.is_postgres() { "postgres" } else { "sqlite" },
        "database opened"
    );
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
        password_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let state = AppState::with_replay_store(
        store.clone(),
        replay,
        Arc::new(fetcher),
        clock.clone(),
        Arc::new(SystemRandom),
        config,
    );
    let app = atauth_server::router(state).into_make_service_with_connect_info::<SocketAddr>();

    // Housekeeping: forget expired single-use markers and abandoned requests.
    // Every instance may run it: the deletes are idempotent.
    let purge_clock = clock.clone();
    let purge_store = store.clone();
    let purge = tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_INTERVAL);
        loop {
            tick.tick().await;
            if let Err(e) = purge_store.purge_expired(purge_clock.now()).await {
                tracing::warn!(error = %e, "purge of expired rows failed");
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
    store.close().await;
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
                "Demo Cooperative",
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
                email: Some("alice@example.com"),
                did: None,
                password: DEV_PASSWORD,
            };
            create_account(store, &tenant, spec, &SystemRandom, now).await?
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
