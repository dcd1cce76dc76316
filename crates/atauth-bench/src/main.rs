//! atauth-bench: how fast atauth is next to the ES256 floor, and how much memory it takes.
//!
//! ```text
//! cargo build --release -p atauth -p atauth-bench
//! cargo run --release -p atauth-bench -- [--quick] [--json out.json] [--duration 10]
//!     [--concurrency 16] [--database postgres://...]
//! ```
//!
//! It measures the crypto floor in this process, then starts the release `atauth` binary as a
//! child on a temporary data directory, creates a cooperative and an account with its CLI, and
//! drives it over HTTP on loopback. Every phase is bounded in operations and in time. Numbers
//! are measurements, never assertions: nothing here passes or fails on timing.

// A measuring tool, not the server: it reads the real clocks and waits on them (that is what it
// measures), draws real random bytes for its clients, and stops with a panic when something it
// relies on breaks (a poisoned lock, a failed signature inside a timed loop) rather than report
// numbers about work that did not happen.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "a benchmark tool (see above)"
)]

mod client;
mod crypto;
mod load;
mod server;
mod stats;

use anyhow::Context;
use clap::Parser;
use client::{Client, ClientAuth, Code, Session, Target};
use crypto::Floor;
use load::LoadResult;
use server::Atauth;
use stats::Row;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser, Debug, Clone)]
#[command(
    name = "atauth-bench",
    about = "Benchmark atauth against the ES256 floor"
)]
struct Args {
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Seconds per measured HTTP phase (default 10, or 1.5 with --quick).
    #[arg(long)]
    duration: Option<f64>,
    /// Concurrent requests in flight (closed loop).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Also run the HTTP phases on this PostgreSQL database (tenants get unique names).
    #[arg(long)]
    database: Option<String>,
    /// Everything in about 20 s, with smaller counts.
    #[arg(long)]
    quick: bool,
    /// The atauth binary (default: `atauth` next to this binary, i.e. target/release/atauth).
    #[arg(long)]
    atauth: Option<PathBuf>,
    /// Cooperatives for the footprint phase (default 10,000, or 1,000 with --quick; 0 skips).
    #[arg(long)]
    tenants: Option<usize>,
    /// How many of them to create one CLI process each (the rest through the store library).
    #[arg(long)]
    cli_tenants: Option<usize>,
    /// Skip the confidential-client (private_key_jwt) phases.
    #[arg(long)]
    no_confidential: bool,
    /// Concurrency sweep of the public refresh phase (comma-separated levels, half a phase
    /// each), to find the concurrency of best throughput and its p99. Empty: no sweep.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16,32,64")]
    sweep: Vec<usize>,
}

/// Counts and time limits of one run.
#[derive(Debug, Clone)]
struct Plan {
    phase: Duration,
    floor_budget: Duration,
    argon2_runs: usize,
    codes: usize,
    code_budget: Duration,
    flows: usize,
    tenants: usize,
    cli_tenants: usize,
    cli_budget: Duration,
    tenant_budget: Duration,
}

impl Plan {
    fn new(args: &Args) -> Self {
        let quick = args.quick;
        let phase =
            Duration::from_secs_f64(args.duration.unwrap_or(if quick { 1.5 } else { 10.0 }));
        Self {
            phase,
            floor_budget: Duration::from_millis(if quick { 300 } else { 3000 }),
            argon2_runs: if quick { 8 } else { 40 },
            codes: if quick { 400 } else { 20_000 },
            code_budget: if quick {
                Duration::from_secs(2)
            } else {
                Duration::from_secs(20)
            },
            flows: if quick { 400 } else { 20_000 },
            tenants: args.tenants.unwrap_or(if quick { 1_000 } else { 10_000 }),
            cli_tenants: args.cli_tenants.unwrap_or(if quick { 5 } else { 1_000 }),
            cli_budget: Duration::from_secs(if quick { 2 } else { 60 }),
            tenant_budget: Duration::from_secs(if quick { 4 } else { 120 }),
        }
    }
}

struct Report {
    rows: Vec<Row>,
}

impl Report {
    fn push(&mut self, row: Row) {
        eprintln!(
            "  {:<12} {:<52} {} {}",
            row.section,
            row.name,
            stats::human(row.value),
            row.unit
        );
        self.rows.push(row);
    }
}

fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn command_output(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn random_id() -> String {
    let mut b = [0u8; 4];
    aws_lc_rs::rand::fill(&mut b).expect("rng");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A load row with rate, latency, and both floor fractions.
fn load_row(section: &str, name: &str, r: &LoadResult, floor: Option<&'static str>) -> Row {
    let mut row = Row::new(section, name, r.rate(), "/s");
    row.p50_ms = r.p50_ms();
    row.p99_ms = r.p99_ms();
    row.server_us = r.server_us_per_op();
    if let Some(kind) = floor {
        row = row.against(kind, nproc() as f64);
    }
    let mut note = format!(
        "c={} n={} server {:.0} µs CPU/op, loadgen {:.0} µs CPU/op",
        r.concurrency,
        r.ok,
        r.server_us_per_op().unwrap_or(0.0),
        r.client_us_per_op().unwrap_or(0.0)
    );
    if r.errors > 0 {
        note.push_str(&format!(
            "; {} errors, first: {}",
            r.errors,
            r.first_error.as_deref().unwrap_or("")
        ));
    }
    row.note = note;
    row
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let plan = Plan::new(&args);
    let bin = args.atauth.clone().unwrap_or_else(server::default_binary);
    server::check_binary(&bin)?;
    let started = Instant::now();
    let load_start = loadavg();
    let mut report = Report { rows: Vec::new() };
    let cores = nproc();

    eprintln!(
        "atauth-bench: {} cores, {}; load {load_start}",
        cores,
        cpu_model()
    );
    eprintln!("crypto floor (one thread, aws-lc-rs)...");
    let floor = crypto::es256_floor(plan.floor_budget, 3)?;
    eprintln!(
        "  ES256 sign {:.0}/s, verify {:.0}/s per core",
        floor.sign, floor.verify
    );

    eprintln!("library pipelines and in-process resource verification (one thread)...");
    let lib = crypto::library(plan.floor_budget, 3)?;
    library_rows(&mut report, &lib);

    eprintln!("argon2...");
    let argon2_ms = crypto::argon2_ms(plan.argon2_runs)?;
    report.push(
        Row::new(
            "argon2",
            "argon2id verify, Argon2::default()",
            argon2_ms,
            "ms",
        )
        .note(format!(
            "{:.0} sign-ins/s per core, {:.0}/s on {cores} cores (median of {})",
            1000.0 / argon2_ms,
            cores as f64 * 1000.0 / argon2_ms,
            plan.argon2_runs
        )),
    );

    let tmp = tempfile::Builder::new().prefix("atauth-bench-").tempdir()?;
    let sqlite = Atauth {
        bin: bin.clone(),
        data_dir: tmp.path().join("sqlite"),
        database: None,
    };
    std::fs::create_dir_all(&sqlite.data_dir)?;
    let mut backends = vec![("sqlite", sqlite.clone())];
    if let Some(url) = &args.database {
        let data_dir = tmp.path().join("postgres");
        std::fs::create_dir_all(&data_dir)?;
        backends.push((
            "postgres",
            Atauth {
                bin: bin.clone(),
                data_dir,
                database: Some(url.clone()),
            },
        ));
    }
    for (label, atauth) in &backends {
        eprintln!("HTTP on {label}, public client...");
        http_suite(&mut report, &plan, &args, argon2_ms, label, atauth, false)
            .await
            .with_context(|| format!("HTTP suite on {label}"))?;
        if !args.no_confidential {
            eprintln!("HTTP on {label}, confidential client...");
            if let Err(e) =
                http_suite(&mut report, &plan, &args, argon2_ms, label, atauth, true).await
            {
                eprintln!("  confidential suite failed: {e:#}");
                report.push(
                    Row::new(&format!("http {label}"), "confidential client", 0.0, "")
                        .note(format!("failed: {e:#}")),
                );
            }
        }
    }

    if plan.tenants > 0 {
        eprintln!("footprint with {} cooperatives (SQLite)...", plan.tenants);
        let atauth = Atauth {
            bin: bin.clone(),
            data_dir: tmp.path().join("many"),
            database: None,
        };
        std::fs::create_dir_all(&atauth.data_dir)?;
        many_tenants(&mut report, &plan, &atauth).await?;
    }

    eprintln!("crypto floor again (one thread)...");
    let floor_end = crypto::es256_floor(plan.floor_budget, 3)?;
    let floor_start = floor;
    let floor = floor_start.best(&floor_end);
    let mut rows = crypto_rows(&floor, &floor_start, &floor_end, cores);
    rows.append(&mut report.rows);
    report.rows = rows;
    for row in &mut report.rows {
        if let Some(f) = row.floor_kind.and_then(|k| floor.get(k)) {
            row.apply_floor(f);
        }
    }

    let load_end = loadavg();
    let commit = command_output("git", &["rev-parse", "--short", "HEAD"]);
    let dirty =
        !command_output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let bin_time = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = format!(
        "atauth-bench{} on {cores} x {} ({date}), commit {commit}{}, concurrency {}, {:.1} s per phase, load average {load_start} -> {load_end}, total {:.0} s",
        if args.quick { " --quick" } else { "" },
        cpu_model(),
        if dirty { " (dirty tree)" } else { "" },
        args.concurrency,
        plan.phase.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    println!("\n{header}\n");
    println!("{}", stats::table(&report.rows));
    println!(
        "of floor = throughput / (per-core crypto floor x {cores} cores); floor/CPU = floor µs per request / server CPU µs per request.\n\
         The load generator runs on the same {cores} cores as the server (its CPU per request is in the notes)."
    );
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "tool": "atauth-bench",
            "quick": args.quick,
            "date": date,
            "commit": commit,
            "dirty_tree": dirty,
            "atauth_binary": bin.display().to_string(),
            "atauth_binary_mtime_unix": bin_time,
            "machine": {"nproc": cores, "cpu_model": cpu_model(),
                        "loadavg_start": load_start, "loadavg_end": load_end},
            "concurrency": args.concurrency,
            "phase_seconds": plan.phase.as_secs_f64(),
            "total_seconds": started.elapsed().as_secs_f64(),
            "floor_per_core": {
                "es256_sign": floor.sign, "es256_verify": floor.verify,
                "token_public": floor.token_public(),
                "token_confidential": floor.token_confidential(),
                "resource": floor.resource(),
            },
            "rows": report.rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The floor rows: the better of the measurements at start and end of the run.
fn crypto_rows(floor: &Floor, start: &Floor, end: &Floor, cores: usize) -> Vec<Row> {
    let c = cores as f64;
    let both = |per_core: f64| format!("per core; {:.0}/s on {cores} cores", per_core * c);
    vec![
        Row::new("floor", "ES256 sign (aws-lc-rs)", floor.sign, "/s").note(format!(
            "{}; best of {:.0} (start) and {:.0} (end)",
            both(floor.sign),
            start.sign,
            end.sign
        )),
        Row::new(
            "floor",
            "ES256 verify (aws-lc-rs, key parsed each time)",
            floor.verify,
            "/s",
        )
        .note(format!(
            "{}; best of {:.0} (start) and {:.0} (end)",
            both(floor.verify),
            start.verify,
            end.verify
        )),
        Row::new(
            "floor",
            "token request, public (1 verify + 1 sign)",
            floor.token_public(),
            "/s",
        )
        .note(both(floor.token_public())),
        Row::new(
            "floor",
            "token request, confidential (2 verifies + 1 sign)",
            floor.token_confidential(),
            "/s",
        )
        .note(both(floor.token_confidential())),
        Row::new(
            "floor",
            "resource check (2 verifies)",
            floor.resource(),
            "/s",
        )
        .note(both(floor.resource())),
    ]
}

fn library_rows(report: &mut Report, lib: &crypto::Library) {
    report.push(
        Row::new("library", "dpop::verify_proof", lib.dpop_verify, "/s")
            .against("verify", 1.0)
            .note("one thread; vs one ES256 verify"),
    );
    report.push(
        Row::new("library", "access_token::sign", lib.token_sign, "/s")
            .against("sign", 1.0)
            .note("one thread; vs one ES256 sign"),
    );
    report.push(
        Row::new("library", "access_token::verify", lib.token_verify, "/s")
            .against("verify", 1.0)
            .note("one thread; vs one ES256 verify"),
    );
    report.push(
        Row::new(
            "in-process",
            "atauth_resource::verify_request",
            lib.resource_request,
            "/s",
        )
        .against("resource", 1.0)
        .note("one thread, distinct proofs; vs resource floor per core"),
    );
}

/// Refreshes at `concurrency` for `budget`: each worker takes the session idle longest,
/// refreshes it and puts the new tokens at the back, so no session is refreshed twice at once.
async fn refresh_load(
    client: &Arc<Client>,
    sessions: &Arc<Mutex<VecDeque<Session>>>,
    concurrency: usize,
    budget: Duration,
    server_pid: u32,
) -> LoadResult {
    let (client, sessions) = (client.clone(), sessions.clone());
    load::run(concurrency, usize::MAX, budget, server_pid, move |_| {
        let client = client.clone();
        let sessions = sessions.clone();
        async move {
            let s = sessions
                .lock()
                .expect("lock")
                .pop_front()
                .context("no idle session")?;
            let s = client.refresh(&s.refresh_token).await?;
            sessions.lock().expect("lock").push_back(s);
            Ok(())
        }
    })
    .await
}

/// Cooperative, account, server, then the HTTP phases for one backend and one client kind.
#[allow(clippy::too_many_arguments)]
async fn http_suite(
    report: &mut Report,
    plan: &Plan,
    args: &Args,
    argon2_ms: f64,
    backend: &str,
    atauth: &Atauth,
    confidential: bool,
) -> anyhow::Result<()> {
    let section = format!("http {backend}");
    let kind = if confidential {
        "confidential"
    } else {
        "public"
    };
    let host = format!("bench-{}.test", random_id());
    let handle = format!("alice.{host}");
    let t = Instant::now();
    atauth.create_tenant(&host, "Bench Cooperative").await?;
    let tenant_cli = t.elapsed();
    let t = Instant::now();
    atauth
        .create_account(&host, &handle, client::PASSWORD)
        .await?;
    let account_cli = t.elapsed();

    // The confidential client publishes its metadata on loopback, which only dev mode fetches.
    let mut metadata_server = None;
    let server = if confidential {
        atauth.serve(&["--dev"]).await?
    } else {
        atauth.serve(&[]).await?
    };
    let concurrency = args.concurrency;
    let target = Target::new(server.addr, &host, concurrency * 2)?;
    let client = if confidential {
        let (meta, client_id, redirect, key) = client_metadata_server().await?;
        metadata_server = Some(meta);
        Client::new(
            target.clone(),
            client_id,
            redirect,
            ClientAuth::PrivateKeyJwt(Box::new(key)),
        )?
    } else {
        Client::new(
            target.clone(),
            client::loopback_client_id(),
            client::REDIRECT_URI.into(),
            ClientAuth::Public,
        )?
    };
    let token_floor = if confidential {
        "token_confidential"
    } else {
        "token_public"
    };

    if !confidential {
        report.push(
            Row::new(
                &section,
                "start-up: spawn to \"listening\" line",
                server.listening.as_secs_f64() * 1e3,
                "ms",
            )
            .note("existing database, one cooperative"),
        );
        report.push(Row::new(
            &section,
            "start-up: spawn to first 200 from /readyz",
            server.ready.as_secs_f64() * 1e3,
            "ms",
        ));
        report.push(
            Row::new(
                &section,
                "idle RSS after ready",
                server.rss_kb()? as f64 / 1024.0,
                "MiB",
            )
            .note("VmRSS, before any request"),
        );
        report.push(
            Row::new(
                &section,
                "CLI: tenant create / account create",
                tenant_cli.as_secs_f64() * 1e3,
                "ms",
            )
            .note(format!(
                "account create {:.0} ms (includes one argon2 hash)",
                account_cli.as_secs_f64() * 1e3
            )),
        );
    }

    // One sign-in with a password; its device then remembers the account.
    let (first, browser) = client
        .sign_in_flow(&handle)
        .await
        .context("first sign-in")?;
    let first = client.exchange(&first).await.context("first exchange")?;
    client
        .get_session(&first.access_token)
        .await
        .context("first getSession")?;

    eprintln!("  [server pid {}] codes...", server.pid);
    // (a) Codes first (PAR + authorize + consent, no password), then only the token requests.
    let codes = Arc::new(Mutex::new(Vec::<Code>::new()));
    let r = {
        let client = client.clone();
        let codes = codes.clone();
        let handle = handle.clone();
        load::run(
            concurrency,
            plan.codes,
            plan.code_budget,
            server.pid,
            move |_| {
                let client = client.clone();
                let codes = codes.clone();
                let handle = handle.clone();
                let mut browser = browser.clone();
                async move {
                    let code = client.code_for_known_device(&mut browser, &handle).await?;
                    codes.lock().expect("lock").push(code);
                    Ok(())
                }
            },
        )
        .await
    };
    report.push(load_row(
        &section,
        &format!("code issuance, {kind}: PAR+authorize+consent (3 requests)"),
        &r,
        None,
    ));
    let codes: Arc<Vec<Code>> = Arc::new(std::mem::take(&mut *codes.lock().expect("lock")));
    anyhow::ensure!(
        !codes.is_empty(),
        "no authorization codes: {:?}",
        r.first_error
    );

    eprintln!("  [server pid {}] exchange...", server.pid);
    let sessions = Arc::new(Mutex::new(VecDeque::<Session>::new()));
    let r = {
        let client = client.clone();
        let sessions = sessions.clone();
        let codes = codes.clone();
        load::run(
            concurrency,
            codes.len(),
            plan.phase * 3,
            server.pid,
            move |i| {
                let client = client.clone();
                let sessions = sessions.clone();
                let codes = codes.clone();
                async move {
                    let s = client.exchange(&codes[i]).await?;
                    sessions.lock().expect("lock").push_back(s);
                    Ok(())
                }
            },
        )
        .await
    };
    report.push(load_row(
        &section,
        &format!("token: authorization_code exchange, {kind}"),
        &r,
        Some(token_floor),
    ));

    eprintln!("  [server pid {}] refresh...", server.pid);
    // (b) Refresh: many sessions, each refreshed in turn.
    let count = sessions.lock().expect("lock").len();
    anyhow::ensure!(count > concurrency, "only {count} sessions for refresh");
    let r = refresh_load(&client, &sessions, concurrency, plan.phase, server.pid).await;
    report.push(load_row(
        &section,
        &format!("token: refresh, {kind} ({count} sessions)"),
        &r,
        Some(token_floor),
    ));

    // Concurrency sweep (public client only): throughput and p99 at each level.
    if !confidential {
        for &level in args.sweep.iter().filter(|&&c| c > 0 && c < count) {
            eprintln!("  [server pid {}] refresh sweep c={level}...", server.pid);
            let r = refresh_load(&client, &sessions, level, plan.phase / 2, server.pid).await;
            report.push(load_row(
                &section,
                &format!("refresh sweep, concurrency {level}"),
                &r,
                Some(token_floor),
            ));
        }
    }

    // (c) getSession: the resource check over HTTP (plus session and account lookups).
    if !confidential {
        eprintln!("  [server pid {}] getSession...", server.pid);
        let tokens: Arc<Vec<String>> = Arc::new(
            sessions
                .lock()
                .expect("lock")
                .iter()
                .map(|s| s.access_token.clone())
                .collect(),
        );
        let r = {
            let client = client.clone();
            let tokens = tokens.clone();
            load::run(concurrency, usize::MAX, plan.phase, server.pid, move |i| {
                let client = client.clone();
                let tokens = tokens.clone();
                async move {
                    client.get_session(&tokens[i % tokens.len()]).await?;
                    Ok(())
                }
            })
            .await
        };
        report.push(load_row(
            &section,
            "resource: getSession (DPoP + access token)",
            &r,
            Some("resource"),
        ));

        report.push(
            Row::new(
                &section,
                "RSS after token and resource load",
                server.rss_kb()? as f64 / 1024.0,
                "MiB",
            )
            .note("before any password sign-in beyond the first"),
        );

        // (d) Full sign-in flows, each in a fresh browser with a password.
        eprintln!("  [server pid {}] full sign-in flows...", server.pid);
        let r = {
            let client = client.clone();
            let handle = handle.clone();
            load::run(concurrency, plan.flows, plan.phase, server.pid, move |_| {
                let client = client.clone();
                let handle = handle.clone();
                async move {
                    let (code, _) = client.sign_in_flow(&handle).await?;
                    client.exchange(&code).await?;
                    Ok(())
                }
            })
            .await
        };
        let argon2_bound = nproc() as f64 * 1000.0 / argon2_ms;
        let mut row = load_row(
            &section,
            "full sign-in flow: PAR+authorize+sign-in+consent+token",
            &r,
            None,
        );
        row.of_floor = Some(r.rate() / argon2_bound);
        row.note = format!("vs argon2 bound {argon2_bound:.0}/s; {}", row.note);
        report.push(row);

        report.push(
            Row::new(
                &section,
                "RSS after sign-in flows",
                server.rss_kb()? as f64 / 1024.0,
                "MiB",
            )
            .note(format!(
                "DPoP nonce refetches: {}",
                client
                    .nonce_retries
                    .load(std::sync::atomic::Ordering::Relaxed)
            )),
        );
    }
    server.stop().await?;
    if let Some(meta) = metadata_server {
        meta.abort();
    }
    Ok(())
}

/// Serves a confidential client's metadata (private_key_jwt, inline JWKS) on loopback.
async fn client_metadata_server() -> anyhow::Result<(
    tokio::task::JoinHandle<()>,
    String,
    String,
    atauth_protocol::jose::SigningKey,
)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let client_id = format!("http://{addr}/client-metadata.json");
    let redirect = format!("http://{addr}/callback");
    let key = atauth_protocol::jose::SigningKey::generate("bench-client-key".into())?;
    let metadata = serde_json::json!({
        "client_id": client_id,
        "client_name": "atauth-bench confidential client",
        "application_type": "web",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": client::SCOPE,
        "redirect_uris": [redirect],
        "dpop_bound_access_tokens": true,
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "ES256",
        "jwks": {"keys": [key.public_jwk()]},
    })
    .to_string();
    let app = axum::Router::new().route(
        "/client-metadata.json",
        axum::routing::get(move || {
            let body = metadata.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }
        }),
    );
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((handle, client_id, redirect, key))
}

/// Creates many cooperatives (some with the CLI, the rest through the store library), then
/// measures start-up, idle RSS, and RSS once every cooperative has been loaded.
async fn many_tenants(report: &mut Report, plan: &Plan, atauth: &Atauth) -> anyhow::Result<()> {
    let section = "footprint";
    let host = |i: usize| format!("coop-{i:05}.many.test");
    let mut created = 0usize;
    let t = Instant::now();
    while created < plan.cli_tenants.min(plan.tenants) && t.elapsed() < plan.cli_budget {
        atauth
            .create_tenant(&host(created), &format!("Cooperative {created}"))
            .await?;
        created += 1;
    }
    let by_cli = created;
    let cli_ms = t.elapsed().as_secs_f64() * 1e3 / by_cli.max(1) as f64;
    let t = Instant::now();
    {
        let store = atauth_store::open_database(
            atauth
                .data_dir
                .join("atauth.db")
                .to_str()
                .context("data dir is not UTF-8")?,
        )
        .await?;
        let rng = atauth_protocol::random::SystemRandom;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64;
        while created < plan.tenants && t.elapsed() < plan.tenant_budget {
            atauth_server::provision_tenant(
                &store,
                &rng,
                &format!("https://{}", host(created)),
                &format!("Cooperative {created}"),
                None,
                now,
            )
            .await?;
            created += 1;
        }
        store.close().await;
    }
    let lib_ms = t.elapsed().as_secs_f64() * 1e3 / (created - by_cli).max(1) as f64;
    report.push(
        Row::new(section, "cooperatives created", created as f64, "").note(format!(
            "{by_cli} by CLI at {cli_ms:.0} ms each, {} through the store library at {lib_ms:.2} ms each",
            created - by_cli
        )),
    );

    let server = atauth.serve(&[]).await?;
    report.push(Row::new(
        section,
        &format!("start-up with {created} cooperatives: spawn to /readyz 200"),
        server.ready.as_secs_f64() * 1e3,
        "ms",
    ));
    let idle = server.rss_kb()?;
    report.push(
        Row::new(
            section,
            &format!("idle RSS, {created} cooperatives configured"),
            idle as f64 / 1024.0,
            "MiB",
        )
        .note("none loaded yet (atauth loads cooperatives on first request)"),
    );
    let target = Target::new(server.addr, &host(0), 16)?;
    // Warm the code paths with one cooperative first, so the increment is per cooperative.
    let warm = move |i: usize| {
        let target = Target {
            host: host(i),
            ..target.clone()
        };
        async move {
            let r = target
                .request(
                    reqwest::Method::GET,
                    "/.well-known/oauth-authorization-server",
                )
                .send()
                .await?;
            anyhow::ensure!(
                r.status() == 200,
                "metadata of {}: {}",
                target.host,
                r.status()
            );
            r.bytes().await?;
            Ok(())
        }
    };
    for i in 0..4.min(created) {
        warm(i).await?;
    }
    let before = server.rss_kb()?;
    let r = {
        let warm = Arc::new(warm);
        load::run(8, created, plan.tenant_budget, server.pid, move |i| {
            let warm = warm.clone();
            async move { warm(i).await }
        })
        .await
    };
    let after = server.rss_kb()?;
    let per = (after.saturating_sub(before)) as f64 / r.ok.max(1) as f64;
    report.push(
        Row::new(
            section,
            &format!("RSS after loading {} cooperatives", r.ok),
            after as f64 / 1024.0,
            "MiB",
        )
        .note(format!(
            "{:.1} MiB before; touched each once in {:.1} s ({:.0}/s){}",
            before as f64 / 1024.0,
            r.elapsed.as_secs_f64(),
            r.rate(),
            if r.errors > 0 {
                format!(
                    "; {} errors: {}",
                    r.errors,
                    r.first_error.unwrap_or_default()
                )
            } else {
                String::new()
            }
        )),
    );
    report.push(
        Row::new(section, "RSS increment per loaded cooperative", per, "KiB")
            .note("(RSS after - RSS before) / cooperatives touched; tenant cache TTL is 15 s"),
    );
    server.stop().await?;
    Ok(())
}
