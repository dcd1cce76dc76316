//! Interop: `atrium-oauth` (the Rust atproto OAuth client, unmodified) against a real `atauth`
//! process over https, as a loopback client of a hosted `did:web` account.
//!
//! The same set-up as `scripts/interop`: a throw-away CA and a certificate for
//! `*.atauth-test.internal`, a cooperative `https://coop-a.atauth-test.internal` with one member,
//! and atauth listening on port 443 of a random `127.77.x.y` (atproto forbids ports in `did:web`),
//! which needs root or `CAP_NET_BIND_SERVICE`. Nothing leaves loopback: every HTTP request of the
//! client, its identity resolvers and the "browser" goes through one reqwest client whose DNS
//! resolver answers `*.atauth-test.internal` with that address and refuses every other name.
//! The member's sign-in and consent are done over HTTP (the HTML forms), not in a browser.
//!
//! The atauth binary is `target/<profile>/atauth` next to this test's own binary (so
//! `CARGO_TARGET_DIR` is honoured), or `$ATAUTH_BIN`. Build it first: `cargo build -p atauth`
//! (a `--workspace` test run builds it anyway, for the `atauth` crate's own tests).
//!
//! Prints one line per check (`ok - ...` / `not ok - ...`) and fails if any check fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and processes, on real time, with real keys"
)]

use atauth_test_support::browser::{Browser, Page, CONSENT_PATH, SIGN_IN_PATH};
use atauth_test_support::pki::TestPki;
use atauth_test_support::process::{clean_command, run_ok, ServedProcess};
use atrium_api::agent::{Agent, SessionManager};
use atrium_api::types::string::{Datetime, Did};
use atrium_common::store::Store;
use atrium_identity::did::{CommonDidResolver, CommonDidResolverConfig};
use atrium_identity::handle::{AtprotoHandleResolver, AtprotoHandleResolverConfig, DnsTxtResolver};
use atrium_oauth::store::session::MemorySessionStore;
use atrium_oauth::store::state::MemoryStateStore;
use atrium_oauth::{
    AtprotoLocalhostClientMetadata, AuthorizeOptions, CallbackParams, DpopClient, KnownScope,
    OAuthClient, OAuthClientConfig, OAuthResolverConfig, Scope,
};
use atrium_xrpc::http::{Request, Response};
use atrium_xrpc::HttpClient;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DOMAIN: &str = "atauth-test.internal";
const CHECK_TIMEOUT: Duration = Duration::from_secs(40);

type BoxError = Box<dyn StdError + Send + Sync + 'static>;
type Fallible<T> = Result<T, String>;

// ---------------------------------------------------------------------------------------------
// Network: one reqwest client, test names only, the throw-away CA only.

/// Answers `*.atauth-test.internal` with the server's address; every other name fails.
struct TestDns {
    addr: IpAddr,
}

impl reqwest::dns::Resolve for TestDns {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let answer: Result<reqwest::dns::Addrs, BoxError> =
            if host == DOMAIN || host.ends_with(&format!(".{DOMAIN}")) {
                Ok(Box::new(std::iter::once(SocketAddr::new(self.addr, 0))))
            } else {
                Err(format!("{host}: not a test name (nothing leaves loopback)").into())
            };
        Box::pin(std::future::ready(answer))
    }
}

fn reqwest_client(addr: IpAddr, ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(TestDns { addr }))
        .no_proxy()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA pem"))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("reqwest client")
}

/// atrium's `HttpClient` over our reqwest client; records every request it makes.
#[derive(Clone)]
struct TestHttp {
    client: reqwest::Client,
    seen: Arc<Mutex<Vec<String>>>,
}

impl TestHttp {
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl HttpClient for TestHttp {
    async fn send_http(&self, request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, BoxError> {
        let headers = request.headers();
        let mut line = format!("{} {}", request.method(), request.uri());
        if headers.contains_key("dpop") {
            line.push_str(" [DPoP proof]");
        }
        if headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("DPoP "))
        {
            line.push_str(" [DPoP token]");
        }
        self.seen.lock().unwrap().push(line);
        let response = self.client.execute(request.try_into()?).await?;
        let mut builder = Response::builder().status(response.status());
        for (k, v) in response.headers() {
            builder = builder.header(k, v);
        }
        Ok(builder.body(response.bytes().await?.to_vec())?)
    }
}

/// No DNS TXT records for test names: handle resolution falls back to
/// `https://<handle>/.well-known/atproto-did`, as it does for any handle without `_atproto` TXT.
struct NoTxt;

impl DnsTxtResolver for NoTxt {
    async fn resolve(&self, query: &str) -> Result<Vec<String>, BoxError> {
        Err(format!("{query}: no DNS in this test").into())
    }
}

// ---------------------------------------------------------------------------------------------
// The atauth process.

/// A throw-away CA and a certificate for the test names. Wildcards cover one label only, hence
/// one name per level used.
fn pki() -> TestPki {
    TestPki::issue(&[
        DOMAIN,
        &format!("*.{DOMAIN}"),
        &format!("*.coop-a.{DOMAIN}"),
    ])
}

/// `target/<profile>/atauth`, beside this test binary (`target/<profile>/deps/...`).
fn atauth_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("ATAUTH_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary in target/<profile>/deps");
    profile_dir.join(format!("atauth{}", std::env::consts::EXE_SUFFIX))
}

fn atauth(bin: &Path, data: &Path) -> Command {
    let data = data.to_str().expect("utf-8 temp dir");
    clean_command(bin, &["--data-dir", data])
}

/// A random `127.77.x.y`: port 443 of it is where atauth listens (atproto forbids ports in
/// `did:web`), which needs root or CAP_NET_BIND_SERVICE.
fn random_address(attempt: u64) -> IpAddr {
    let seed = std::process::id() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
    let n = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(attempt * 1442695040888963407);
    IpAddr::V4(Ipv4Addr::new(
        127,
        77,
        (n >> 24) as u8 % 250 + 1,
        (n >> 40) as u8 % 250 + 1,
    ))
}

/// The last `lines` lines of the server's log.
fn log_tail(server: &ServedProcess, lines: usize) -> String {
    let text = server.logs();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

struct Env {
    _dir: tempfile::TempDir,
    server: ServedProcess,
    addr: IpAddr,
    ca_pem: String,
    issuer: String,
    handle: String,
    did: String,
    password: String,
}

fn start_env() -> Env {
    let bin = atauth_bin();
    assert!(
        bin.is_file(),
        "{} does not exist: run `cargo build -p atauth` first (or set ATAUTH_BIN)",
        bin.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let pki = pki();
    for (name, pem) in [
        ("ca.pem", &pki.ca_pem),
        ("cert.pem", &pki.cert_pem),
        ("key.pem", &pki.key_pem),
    ] {
        std::fs::write(dir.path().join(name), pem).unwrap();
    }
    let issuer = format!("https://coop-a.{DOMAIN}");
    let handle = format!("alice.coop-a.{DOMAIN}");
    let password = format!("interop-alice-{}", std::process::id());

    let mut cmd = atauth(&bin, &data);
    cmd.args(["tenant", "create", "--issuer", &issuer, "--name", "Co-op A"]);
    run_ok(cmd, "");
    let mut cmd = atauth(&bin, &data);
    cmd.args([
        "account",
        "create",
        "--tenant",
        &issuer,
        "--handle",
        &handle,
        "--password-stdin",
    ]);
    let did = run_ok(cmd, &format!("{password}\n"))
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(
        did.starts_with("did:web:"),
        "account create printed {did:?}"
    );

    // atauth binds the address itself: a taken one (another test's) is tried again elsewhere.
    let mut attempt = 0;
    let (addr, server) = loop {
        let addr = random_address(attempt);
        let mut cmd = atauth(&bin, &data);
        cmd.args(["serve", "--dev", "--listen", &format!("{addr}:443")])
            .arg("--tls-cert")
            .arg(dir.path().join("cert.pem"))
            .arg("--tls-key")
            .arg(dir.path().join("key.pem"))
            .arg("--extra-ca-file")
            .arg(dir.path().join("ca.pem"));
        for host in [format!("coop-a.{DOMAIN}"), handle.clone()] {
            cmd.arg("--dev-resolve").arg(format!("{host}={addr}"));
        }
        match ServedProcess::try_spawn(cmd) {
            Ok(server) => break (addr, server),
            Err(why) if why.contains("in use") && attempt < 20 => attempt += 1,
            Err(why) => panic!(
                "atauth serve did not start on {addr}:443 (needs root or \
                 CAP_NET_BIND_SERVICE): {why}"
            ),
        }
    };
    assert!(server.https, "atauth serves https");
    Env {
        _dir: dir,
        server,
        addr,
        ca_pem: pki.ca_pem,
        issuer,
        handle,
        did,
        password,
    }
}

// ---------------------------------------------------------------------------------------------
// Reporting.

#[derive(Default)]
struct Report {
    passed: usize,
    failed: Vec<String>,
}

impl Report {
    /// Runs one check (with a deadline); `None` if it failed.
    async fn check<T>(&mut self, name: &str, fut: impl Future<Output = Fallible<T>>) -> Option<T> {
        let outcome = match tokio::time::timeout(CHECK_TIMEOUT, fut).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("timed out after {} s", CHECK_TIMEOUT.as_secs())),
        };
        match outcome {
            Ok(v) => {
                self.passed += 1;
                println!("ok - {name}");
                Some(v)
            }
            Err(e) => {
                // One line per check: whitespace collapsed, long details (HTML pages) cut.
                let detail = e.split_whitespace().collect::<Vec<_>>().join(" ");
                let detail: String = detail.chars().take(600).collect();
                println!("not ok - {name} ({detail})");
                self.failed.push(name.to_string());
                None
            }
        }
    }

    /// A check that cannot run because an earlier one failed.
    fn skip(&mut self, name: &str) {
        println!("not ok - {name} (skipped: an earlier step failed)");
        self.failed.push(name.to_string());
    }
}

fn ensure(cond: bool, message: impl FnOnce() -> String) -> Fallible<()> {
    if cond {
        Ok(())
    } else {
        Err(message())
    }
}

fn chain(e: &dyn StdError) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(" <- ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The member, over HTTP: sign-in and consent forms.

/// A form posted from the cooperative's own page, as a browser sends it.
async fn post(
    browser: &mut Browser,
    origin: &str,
    path: &str,
    form: &[(String, String)],
) -> Fallible<Page> {
    let headers = [
        ("origin", origin),
        ("sec-fetch-mode", "navigate"),
        ("sec-fetch-dest", "document"),
        ("sec-fetch-site", "same-origin"),
    ];
    browser
        .post_with(path, form, &headers)
        .await
        .map_err(|e| chain(&e))
}

/// Opens the authorization URL, signs in and allows; returns the redirect to the client.
async fn sign_in_and_allow(
    client: reqwest::Client,
    authorize_url: &str,
    issuer: &str,
    identifier: &str,
    password: &str,
) -> Fallible<String> {
    let mut browser = Browser::at_origin(client, issuer);
    let page = browser.get(authorize_url).await.map_err(|e| chain(&e))?;
    ensure(page.status == 200 && page.has_field("csrf_token"), || {
        format!("authorization page: {} {}", page.status, page.body)
    })?;
    let form = Browser::sign_in_form(&page, identifier, password);
    let page = post(&mut browser, issuer, SIGN_IN_PATH, &form).await?;
    ensure(page.status == 200 && page.body.contains("Allow"), || {
        format!(
            "after sign-in, no consent page: {} {}",
            page.status, page.body
        )
    })?;
    let form = Browser::allow_form(&page);
    let done = post(&mut browser, issuer, CONSENT_PATH, &form).await?;
    ensure(done.status == 303, || {
        format!("consent answered {} {}", done.status, done.body)
    })?;
    done.location.ok_or_else(|| "303 without Location".into())
}

// ---------------------------------------------------------------------------------------------
// The test.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atrium_oauth_full_session_against_atauth() {
    let started = Instant::now();
    let env = start_env();
    println!(
        "# atauth on https://{}:443, names under {DOMAIN} map to it; issuer {}, member {} ({})",
        env.addr, env.issuer, env.handle, env.did
    );
    let mut report = Report::default();
    run_checks(&env, &mut report).await;

    println!(
        "# {} passed, {} failed ({:.1} s)",
        report.passed,
        report.failed.len(),
        started.elapsed().as_secs_f64()
    );
    if !report.failed.is_empty() {
        panic!(
            "{} check(s) failed: {:?}\n--- atauth log (last 60 lines) ---\n{}",
            report.failed.len(),
            report.failed,
            log_tail(&env.server, 60)
        );
    }
}

async fn run_checks(env: &Env, report: &mut Report) {
    let issuer = env.issuer.as_str();
    let did: Did = env.did.parse().expect("account DID");
    let net = reqwest_client(env.addr, &env.ca_pem);
    let http = TestHttp {
        client: net.clone(),
        seen: Arc::default(),
    };

    // --- harness --------------------------------------------------------------------------
    report
        .check(
            &format!(
                "harness: *.{DOMAIN} resolves to {} over verified TLS",
                env.addr
            ),
            async {
                let url = format!("{issuer}/.well-known/oauth-authorization-server");
                let r = net.get(&url).send().await.map_err(|e| chain(&e))?;
                ensure(r.status() == 200, || format!("{url}: {}", r.status()))
            },
        )
        .await;
    report
        .check(
            "harness: any other name fails to resolve (nothing leaves loopback)",
            async {
                match net.get("https://plc.directory/").send().await {
                    Err(e) if chain(&e).contains("not a test name") => Ok(()),
                    other => Err(format!("expected a refused lookup, got {other:?}")),
                }
            },
        )
        .await;

    // --- the client -------------------------------------------------------------------------
    // A loopback client (client_id http://localhost?redirect_uri=...&scope=...). Nothing listens
    // on the redirect port: the "browser" below takes the redirect's Location itself.
    let callback = std::net::TcpListener::bind("127.0.0.1:0").expect("callback port");
    let redirect_uri = format!(
        "http://127.0.0.1:{}/callback",
        callback.local_addr().unwrap().port()
    );
    let scopes = vec![
        Scope::Known(KnownScope::Atproto),
        Scope::Known(KnownScope::TransitionGeneric),
    ];
    let session_store = MemorySessionStore::default();
    let client = OAuthClient::new(OAuthClientConfig {
        client_metadata: AtprotoLocalhostClientMetadata {
            redirect_uris: Some(vec![redirect_uri.clone()]),
            scopes: Some(scopes.clone()),
        },
        keys: None,
        state_store: MemoryStateStore::default(),
        session_store: session_store.clone(),
        resolver: OAuthResolverConfig {
            did_resolver: CommonDidResolver::new(CommonDidResolverConfig {
                // Never asked: the member's DID is a did:web (and the resolver refuses it).
                plc_directory_url: "https://plc.directory".into(),
                http_client: Arc::new(http.clone()),
            }),
            handle_resolver: AtprotoHandleResolver::new(AtprotoHandleResolverConfig {
                dns_txt_resolver: NoTxt,
                http_client: Arc::new(http.clone()),
            }),
            authorization_server_metadata: Default::default(),
            protected_resource_metadata: Default::default(),
        },
        http_client: http.clone(),
    })
    .expect("OAuthClient::new");

    // --- authorize → sign in → Allow → callback ---------------------------------------------
    let authorize_url = report
        .check(
            "authorize(handle) gives a PAR request_uri on the issuer's authorization endpoint",
            async {
                let url = client
                    .authorize(
                        &env.handle,
                        AuthorizeOptions {
                            scopes: scopes.clone(),
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(|e| chain(&e))?;
                ensure(
                    url.starts_with(&format!("{issuer}/oauth/authorize?"))
                        && url.contains("request_uri=")
                        && url.contains("client_id=http%3A%2F%2Flocalhost"),
                    || format!("unexpected authorization URL {url}"),
                )?;
                Ok(url)
            },
        )
        .await;

    let name = "member signs in and allows over HTTP; the redirect goes to the loopback callback";
    let params = match &authorize_url {
        Some(url) => {
            report
                .check(name, async {
                    let location =
                        sign_in_and_allow(net.clone(), url, issuer, &env.handle, &env.password)
                            .await?;
                    ensure(location.starts_with(&format!("{redirect_uri}?")), || {
                        format!("redirect to {location}")
                    })?;
                    let parsed = url::Url::parse(&location).map_err(|e| e.to_string())?;
                    Ok(parsed
                        .query_pairs()
                        .into_owned()
                        .collect::<HashMap<String, String>>())
                })
                .await
        }
        None => {
            report.skip(name);
            None
        }
    };

    let name = "callback carries code, state and iss = issuer";
    let callback_params = match &params {
        Some(p) => {
            report
                .check(name, async {
                    ensure(p.get("iss").map(String::as_str) == Some(issuer), || {
                        format!("iss {:?}", p.get("iss"))
                    })?;
                    Ok(CallbackParams {
                        code: p.get("code").cloned().ok_or("no code")?,
                        state: Some(p.get("state").cloned().ok_or("no state")?),
                        iss: p.get("iss").cloned(),
                    })
                })
                .await
        }
        None => {
            report.skip(name);
            None
        }
    };

    let name = "client.callback() gives a session for the account's DID";
    let session = match callback_params {
        Some(p) => {
            report
                .check(name, async {
                    let (session, _state) = client.callback(p).await.map_err(|e| chain(&e))?;
                    let got = session.did().await;
                    ensure(got.as_ref() == Some(&did), || {
                        format!("session DID {got:?}")
                    })?;
                    Ok(session)
                })
                .await
        }
        None => {
            report.skip(name);
            None
        }
    };

    let name = "identity verified for real (atproto-did → did.json → protected resource → AS \
                metadata → PAR → token)";
    if session.is_some() {
        report
            .check(name, async {
                let seen = http.seen();
                let handle_host = format!("https://{}", env.handle);
                for want in [
                    format!("GET {handle_host}/.well-known/atproto-did"),
                    format!("GET {handle_host}/.well-known/did.json"),
                    format!("GET {issuer}/.well-known/oauth-protected-resource"),
                    format!("GET {issuer}/.well-known/oauth-authorization-server"),
                    format!("POST {issuer}/oauth/par [DPoP proof]"),
                    format!("POST {issuer}/oauth/token [DPoP proof]"),
                ] {
                    ensure(seen.contains(&want), || format!("no `{want}` in {seen:#?}"))?;
                }
                Ok(())
            })
            .await;
    } else {
        report.skip(name);
    }

    // --- API call through the session's DPoP-bound agent -------------------------------------
    let get_session_line =
        format!("GET {issuer}/xrpc/com.atproto.server.getSession [DPoP proof] [DPoP token]");
    let name = "com.atproto.server.getSession through the session's DPoP-bound Agent";
    let had_session = session.is_some();
    match session {
        Some(session) => {
            report
                .check(name, async {
                    let agent = Agent::new(session);
                    let out = agent
                        .api
                        .com
                        .atproto
                        .server
                        .get_session()
                        .await
                        .map_err(|e| chain(&e))?;
                    ensure(out.did == did && out.handle.as_str() == env.handle, || {
                        format!("getSession answered {out:?}")
                    })?;
                    let seen = http.seen();
                    ensure(seen.contains(&get_session_line), || {
                        format!("no `{get_session_line}` in {seen:#?}")
                    })
                })
                .await;
        }
        None => report.skip(name),
    }

    let name = "client.restore(did) restores the session and it works";
    let restored = if !had_session {
        report.skip(name);
        None
    } else {
        report
            .check(name, async {
                let session = client.restore(&did).await.map_err(|e| chain(&e))?;
                let out = Agent::new(session)
                    .api
                    .com
                    .atproto
                    .server
                    .get_session()
                    .await
                    .map_err(|e| chain(&e))?;
                ensure(out.did == did, || format!("getSession answered {out:?}"))
            })
            .await
    };

    // --- refresh ------------------------------------------------------------------------------
    // atrium-oauth 0.2 has no public refresh call: it refreshes only when the resource server
    // answers 401 `invalid_token` AND the stored `expires_at` has passed. So the test plays an
    // access token that expired: in the app's own session store (the public `SessionStore`),
    // `expires_at` goes into the past and the access token stops being valid (its signature is
    // spoilt). The next API call must then refresh through atauth and retry.
    let name = "expired access token: the next API call refreshes (both tokens rotate) and \
                succeeds";
    let refreshed = if restored.is_some() {
        report
            .check(name, async {
                let before = session_store
                    .get(&did)
                    .await
                    .map_err(|e| chain(&e))?
                    .ok_or("no stored session")?;
                let mut expired = before.clone();
                let token = &before.token_set.access_token;
                let (head, _signature) = token.rsplit_once('.').ok_or("access token is no JWT")?;
                expired.token_set.access_token = format!("{head}.AAAA");
                expired.token_set.expires_at =
                    Some("2000-01-01T00:00:00.000Z".parse::<Datetime>().unwrap());
                session_store
                    .set(did.clone(), expired)
                    .await
                    .map_err(|e| chain(&e))?;
                let seen_before = http.seen().len();
                let session = client.restore(&did).await.map_err(|e| chain(&e))?;
                let out = Agent::new(session)
                    .api
                    .com
                    .atproto
                    .server
                    .get_session()
                    .await
                    .map_err(|e| chain(&e))?;
                ensure(out.did == did, || format!("getSession answered {out:?}"))?;
                let after = session_store
                    .get(&did)
                    .await
                    .map_err(|e| chain(&e))?
                    .ok_or("no stored session after refresh")?;
                ensure(
                    after.token_set.access_token != before.token_set.access_token
                        && after.token_set.refresh_token.is_some()
                        && after.token_set.refresh_token != before.token_set.refresh_token,
                    || "the tokens did not change".into(),
                )?;
                ensure(
                    after
                        .token_set
                        .expires_at
                        .as_ref()
                        .is_some_and(|t| t > &Datetime::now()),
                    || format!("new expires_at {:?}", after.token_set.expires_at),
                )?;
                let seen = http.seen()[seen_before..].to_vec();
                let refresh = format!("POST {issuer}/oauth/token [DPoP proof]");
                ensure(
                    seen.iter().filter(|l| **l == get_session_line).count() >= 2
                        && seen.contains(&refresh),
                    || format!("expected getSession, refresh, getSession: {seen:#?}"),
                )?;
                Ok(after)
            })
            .await
    } else {
        report.skip(name);
        None
    };

    // --- sign out -----------------------------------------------------------------------------
    let name = "client.revoke(did) revokes the session at atauth";
    let revoked = match refreshed {
        Some(last) => {
            report
                .check(name, async {
                    match client.revoke(&did).await {
                        Ok(()) => {}
                        // atrium-oauth 0.2.0 expects 204 from the revocation endpoint; RFC 7009
                        // (and the reference provider, and atauth) answer 200. The request was
                        // made and honoured; atrium just reports the status as an error and
                        // keeps the session in its store.
                        Err(e) if chain(&e).contains("http status: 200") => println!(
                            "# note: atrium-oauth 0.2.0 reports RFC 7009's `200` from \
                             /oauth/revoke as an error (it expects 204) and keeps the session \
                             in its store: {}",
                            chain(&e)
                        ),
                        Err(e) => return Err(chain(&e)),
                    }
                    let seen = http.seen();
                    let want = format!("POST {issuer}/oauth/revoke [DPoP proof]");
                    ensure(seen.contains(&want), || format!("no `{want}` in {seen:#?}"))?;
                    Ok(last)
                })
                .await
        }
        None => {
            report.skip(name);
            None
        }
    };

    let names = [
        "the revoked access token is refused (DPoP getSession → 401 invalid_token)",
        "the revoked refresh token is refused (DPoP refresh → 400 invalid_grant)",
    ];
    let Some(last) = revoked else {
        names.iter().for_each(|n| report.skip(n));
        return;
    };
    let resource = DpopClient::new(last.dpop_key.clone(), Arc::new(http.clone()), false, &None)
        .expect("DpopClient");
    report
        .check(names[0], async {
            let request = Request::get(format!("{issuer}/xrpc/com.atproto.server.getSession"))
                .header(
                    "authorization",
                    format!("DPoP {}", last.token_set.access_token),
                )
                .body(Vec::new())
                .unwrap();
            let r = resource.send_http(request).await.map_err(|e| chain(&*e))?;
            let www = r
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            ensure(r.status() == 401 && www.contains("invalid_token"), || {
                format!("{} {www} {}", r.status(), String::from_utf8_lossy(r.body()))
            })
        })
        .await;
    let auth_server = DpopClient::new(last.dpop_key.clone(), Arc::new(http.clone()), true, &None)
        .expect("DpopClient");
    report
        .check(names[1], async {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "refresh_token")
                .append_pair(
                    "refresh_token",
                    last.token_set.refresh_token.as_deref().unwrap_or_default(),
                )
                .append_pair("client_id", &client.client_metadata.client_id)
                .finish();
            let request = Request::post(format!("{issuer}/oauth/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.into_bytes())
                .unwrap();
            let r = auth_server
                .send_http(request)
                .await
                .map_err(|e| chain(&*e))?;
            let json: serde_json::Value = serde_json::from_slice(r.body()).unwrap_or_default();
            ensure(
                r.status() == 400 && json["error"] == "invalid_grant",
                || format!("{} {json}", r.status()),
            )
        })
        .await;
}
