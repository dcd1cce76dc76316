//! End-to-end tests against real HTTPS servers on 127.0.0.1 (a throw-away CA made by rcgen,
//! trusted through `extra_ca_pem`), and SSRF refusals with an injected resolver.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and processes, on real time, with real keys"
)]

use atauth_fetch::{FetchConfig, FetchError, Forbidden, SafeFetcher, MAX_BODY_BYTES};
use atauth_test_support::net::{loopback_listener, FakeDns};
use atauth_test_support::pki::TestPki;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, StreamExt};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};

// ---------------------------------------------------------------------------------------------
// The test server

struct Shared {
    hits: Mutex<HashMap<String, usize>>,
    /// Signalled when a request reaches `/gate`.
    entered: Notify,
    /// `/gate` answers once it gets a permit from here.
    release: Semaphore,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            hits: Mutex::default(),
            entered: Notify::new(),
            release: Semaphore::new(0),
        }
    }
}

struct Server {
    port: u16,
    ca_pem: String,
    shared: Arc<Shared>,
}

impl Server {
    fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.port)
    }

    fn hits(&self, path: &str) -> usize {
        self.shared
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

fn json(body: impl Into<Body>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body.into()).into_response()
}

fn router(shared: Arc<Shared>) -> Router {
    async fn count(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
        *shared
            .hits
            .lock()
            .unwrap()
            .entry(req.uri().path().to_owned())
            .or_default() += 1;
        next.run(req).await
    }
    async fn gate(State(shared): State<Arc<Shared>>) -> Response {
        shared.entered.notify_one();
        shared.release.acquire().await.unwrap().forget();
        json(r#"{"gate":true}"#)
    }
    let chunk = || Ok::<_, Infallible>(Bytes::from(vec![b' '; 16 * 1024]));
    Router::new()
        .route(
            "/ok",
            get(|| async { json(r#"{"client_id":"https://meta.test/ok","n":1}"#) }),
        )
        .route(
            "/charset",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                    "[1,2]",
                )
            }),
        )
        .route(
            "/missing",
            get(|| async { (StatusCode::NOT_FOUND, json("{}")) }),
        )
        .route(
            "/redirect",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/ok")]).into_response() }),
        )
        .route(
            "/text",
            get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "{}") }),
        )
        .route(
            "/no-content-type",
            get(|| async { Response::new(Body::from("{}")) }),
        )
        .route("/not-json", get(|| async { json("this is not json") }))
        .route(
            "/exact",
            get(|| async {
                let mut body = vec![b'"'; 1];
                body.resize(MAX_BODY_BYTES - 1, b'a');
                body.push(b'"');
                json(body)
            }),
        )
        .route(
            "/big",
            get(|| async { json(vec![b' '; MAX_BODY_BYTES + 1]) }),
        )
        .route(
            "/chunked-big",
            get(
                move || async move { json(Body::from_stream(stream::repeat_with(chunk).take(40))) },
            ),
        )
        .route(
            "/endless",
            get(move || async move { json(Body::from_stream(stream::repeat_with(chunk))) }),
        )
        .route(
            "/stall-body",
            get(|| async {
                let first = stream::once(async { Ok::<_, Infallible>(Bytes::from_static(b"{")) });
                json(Body::from_stream(first.chain(stream::pending())))
            }),
        )
        .route(
            "/stall-headers",
            get(|| async { std::future::pending::<Response>().await }),
        )
        .route("/gate", get(gate))
        .layer(middleware::from_fn_with_state(shared.clone(), count))
        .with_state(shared)
}

/// An HTTPS server on 127.0.0.1 with a certificate for `meta.test` and `dev.test`.
async fn https_server() -> Server {
    let pki = TestPki::issue(&["meta.test", "dev.test"]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let shared = Arc::new(Shared::default());
    pki.serve_https(listener, router(shared.clone()));
    Server {
        port,
        ca_pem: pki.ca_pem,
        shared,
    }
}

/// A plain-HTTP server on 127.0.0.1 (for dev mode).
async fn http_server() -> Server {
    let listener = loopback_listener().await;
    let port = listener.local_addr().unwrap().port();
    let shared = Arc::new(Shared::default());
    let app = router(shared.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        port,
        ca_pem: String::new(),
        shared,
    }
}

// ---------------------------------------------------------------------------------------------
// Resolvers and fetchers

const LOCALHOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// Strict mode; `meta.test` is overridden to 127.0.0.1, the server's CA is trusted, 1 s timeout.
fn fetcher_for(server: &Server) -> (SafeFetcher, Arc<FakeDns>) {
    let dns = FakeDns::new(&[]);
    let config = FetchConfig {
        host_overrides: [("meta.test".to_owned(), LOCALHOST)].into_iter().collect(),
        extra_ca_pem: Some(server.ca_pem.clone().into_bytes()),
        timeout: Some(Duration::from_secs(1)),
        ..FetchConfig::default()
    };
    (
        SafeFetcher::with_resolver(config, dns.clone()).unwrap(),
        dns,
    )
}

async fn fetch_err(fetcher: &SafeFetcher, url: &str) -> FetchError {
    match fetcher.get_json(url).await {
        Ok(v) => panic!("{url} was fetched: {v}"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------------------------
// Success and the cache

#[tokio::test]
async fn fetches_and_caches() {
    let server = https_server().await;
    let (fetcher, dns) = fetcher_for(&server);
    let url = server.url("meta.test", "/ok");

    let first = fetcher.get_json(&url).await.unwrap();
    assert_eq!(first["n"], 1);
    let second = fetcher.get_json(&url).await.unwrap();
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(server.hits("/ok"), 1, "the second call is a cache hit");
    assert!(dns.asked().is_empty(), "the override replaces DNS");
    let stats = fetcher.cache_stats();
    assert_eq!((stats.hits, stats.misses), (1, 1), "{stats:?}");

    fetcher.invalidate(&url).await;
    fetcher.get_json(&url).await.unwrap();
    assert_eq!(server.hits("/ok"), 2, "invalidate forces a new fetch");

    // Media type parameters are fine, and any JSON value is returned.
    let doc = fetcher
        .get_json(&server.url("meta.test", "/charset"))
        .await
        .unwrap();
    assert_eq!(*doc, serde_json::json!([1, 2]));
}

#[tokio::test]
async fn concurrent_requests_share_one_fetch() {
    let server = https_server().await;
    let (fetcher, _) = fetcher_for(&server);
    let url = server.url("meta.test", "/gate");
    let calls = (0..8).map(|_| fetcher.get_json(&url));
    let (results, ()) = tokio::join!(futures_util::future::join_all(calls), async {
        server.shared.entered.notified().await;
        server.shared.release.add_permits(100);
    });
    for result in results {
        assert_eq!(*result.unwrap(), serde_json::json!({"gate": true}));
    }
    assert_eq!(server.hits("/gate"), 1);
}

#[tokio::test]
async fn failures_are_not_cached() {
    let server = https_server().await;
    let (fetcher, _) = fetcher_for(&server);
    let url = server.url("meta.test", "/missing");
    assert_eq!(fetch_err(&fetcher, &url).await, FetchError::Status(404));
    assert_eq!(fetch_err(&fetcher, &url).await, FetchError::Status(404));
    assert_eq!(server.hits("/missing"), 2);
    let stats = fetcher.cache_stats();
    assert_eq!((stats.hits, stats.misses), (0, 2), "{stats:?}");
}

#[tokio::test]
async fn body_of_exactly_the_cap_is_accepted() {
    let server = https_server().await;
    let (fetcher, _) = fetcher_for(&server);
    let doc = fetcher
        .get_json(&server.url("meta.test", "/exact"))
        .await
        .unwrap();
    assert_eq!(doc.as_str().map(str::len), Some(MAX_BODY_BYTES - 2));
}

#[tokio::test]
async fn resolver_answer_is_what_gets_connected_to() {
    // No override: the injected resolver answers 127.0.0.1, allowed in dev mode only.
    let server = https_server().await;
    let dns = FakeDns::new(&["127.0.0.1"]);
    let config = FetchConfig {
        allow_loopback: true,
        extra_ca_pem: Some(server.ca_pem.clone().into_bytes()),
        ..FetchConfig::default()
    };
    let fetcher = SafeFetcher::with_resolver(config, dns.clone()).unwrap();
    fetcher
        .get_json(&server.url("dev.test", "/ok"))
        .await
        .unwrap();
    assert_eq!(dns.asked(), ["dev.test"]);

    // The same answer in strict mode is refused before connecting.
    let config = FetchConfig {
        extra_ca_pem: Some(server.ca_pem.clone().into_bytes()),
        ..FetchConfig::default()
    };
    let fetcher = SafeFetcher::with_resolver(config, dns.clone()).unwrap();
    assert_eq!(
        fetch_err(&fetcher, "https://dev.test/ok").await.to_string(),
        "host dev.test resolves to a loopback address (127.0.0.1)"
    );
    assert_eq!(server.hits("/ok"), 1);
}

#[tokio::test]
async fn dev_mode_allows_http() {
    let server = http_server().await;
    let dns = FakeDns::new(&["127.0.0.1"]);
    let config = FetchConfig {
        allow_loopback: true,
        ..FetchConfig::default()
    };
    let fetcher = SafeFetcher::with_resolver(config, dns).unwrap();
    let url = format!("http://dev.test:{}/ok", server.port);
    fetcher.get_json(&url).await.unwrap();
    let literal = format!("http://127.0.0.1:{}/charset", server.port);
    fetcher.get_json(&literal).await.unwrap();
    assert_eq!(server.hits("/ok") + server.hits("/charset"), 2);
}

// ---------------------------------------------------------------------------------------------
// Refused answers

#[tokio::test]
async fn refuses_bad_answers() {
    let server = https_server().await;
    let (fetcher, _) = fetcher_for(&server);
    let err = |path: &'static str| {
        let fetcher = fetcher.clone();
        let url = server.url("meta.test", path);
        async move { fetch_err(&fetcher, &url).await }
    };

    let e = err("/missing").await;
    assert_eq!(e.to_string(), "the server answered HTTP 404, expected 200");

    let e = err("/redirect").await;
    assert_eq!(e, FetchError::Redirect(302));
    assert!(e.to_string().contains("redirects are not followed"), "{e}");
    assert_eq!(server.hits("/ok"), 0, "the redirect was not followed");

    let e = err("/text").await;
    assert_eq!(
        e.to_string(),
        "the response was not application/json (text/plain)"
    );

    assert_eq!(
        err("/no-content-type").await,
        FetchError::MissingContentType
    );

    let e = err("/not-json").await;
    assert!(matches!(e, FetchError::NotJson(_)), "{e}");
    assert!(
        !e.to_string().contains("this is not json"),
        "no body in errors: {e}"
    );

    let e = err("/big").await;
    assert_eq!(e.to_string(), "the document exceeds 524288 bytes");
    assert_eq!(
        err("/chunked-big").await,
        FetchError::TooLarge(MAX_BODY_BYTES)
    );
    // An endless body is cut off at the cap (TooLarge, not the 1 s Timeout).
    assert_eq!(err("/endless").await, FetchError::TooLarge(MAX_BODY_BYTES));
}

#[tokio::test]
async fn slow_servers_time_out() {
    let server = https_server().await;
    let (fetcher, _) = fetcher_for(&server);
    for path in ["/stall-body", "/stall-headers"] {
        let started = Instant::now();
        let e = fetch_err(&fetcher, &server.url("meta.test", path)).await;
        assert_eq!(e, FetchError::Timeout(Duration::from_secs(1)), "{path}");
        assert_eq!(e.to_string(), "the server did not answer within 1 second");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path}: {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn tls_is_verified() {
    let server = https_server().await;
    let overrides: HashMap<String, IpAddr> =
        [("meta.test".to_owned(), LOCALHOST)].into_iter().collect();

    // Without the test CA the certificate is not trusted.
    let config = FetchConfig {
        host_overrides: overrides.clone(),
        ..FetchConfig::default()
    };
    let fetcher = SafeFetcher::new(config).unwrap();
    let e = fetch_err(&fetcher, &server.url("meta.test", "/ok")).await;
    assert!(matches!(e, FetchError::Connect { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("could not connect to meta.test ("),
        "{e}"
    );

    // A bundle holding another CA and then the test CA works.
    let other = TestPki::issue(&["other.test"]);
    let bundle = format!("{}{}", other.ca_pem, server.ca_pem);
    let config = FetchConfig {
        host_overrides: overrides.clone(),
        extra_ca_pem: Some(bundle.into_bytes()),
        ..FetchConfig::default()
    };
    let fetcher = SafeFetcher::new(config).unwrap();
    fetcher
        .get_json(&server.url("meta.test", "/ok"))
        .await
        .unwrap();

    // A name the certificate does not cover is refused.
    let overrides: HashMap<String, IpAddr> =
        [("wrong.test".to_owned(), LOCALHOST)].into_iter().collect();
    let config = FetchConfig {
        host_overrides: overrides,
        extra_ca_pem: Some(server.ca_pem.clone().into_bytes()),
        ..FetchConfig::default()
    };
    let fetcher = SafeFetcher::new(config).unwrap();
    let e = fetch_err(&fetcher, &server.url("wrong.test", "/ok")).await;
    assert!(matches!(e, FetchError::Connect { .. }), "{e}");
    assert_eq!(server.hits("/ok"), 1);
}

#[test]
fn extra_ca_must_hold_a_certificate() {
    let config = FetchConfig {
        extra_ca_pem: Some(b"not a certificate".to_vec()),
        ..FetchConfig::default()
    };
    assert!(matches!(
        SafeFetcher::new(config),
        Err(FetchError::ExtraCa(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// SSRF: nothing here connects anywhere

fn strict(dns: Arc<FakeDns>) -> SafeFetcher {
    SafeFetcher::with_resolver(FetchConfig::default(), dns).unwrap()
}

#[tokio::test]
async fn refuses_hosts_resolving_to_non_public_addresses() {
    let cases: &[(&[&str], &str, Forbidden)] = &[
        (&["10.0.0.1"], "10.0.0.1", Forbidden::Private),
        (
            &["169.254.169.254"],
            "169.254.169.254",
            Forbidden::LinkLocal,
        ),
        (
            &["::ffff:127.0.0.1"],
            "::ffff:127.0.0.1",
            Forbidden::Loopback,
        ),
        (&["fd00::1"], "fd00::1", Forbidden::UniqueLocal),
        (&["127.0.0.1"], "127.0.0.1", Forbidden::Loopback),
        (&["0.0.0.0"], "0.0.0.0", Forbidden::Unspecified),
        (&["100.64.1.1"], "100.64.1.1", Forbidden::SharedCgnat),
        // DNS rebinding: one good answer does not excuse a bad one.
        (
            &["93.184.216.34", "10.0.0.1"],
            "10.0.0.1",
            Forbidden::Private,
        ),
        (
            &["2606:4700::1", "fe80::1"],
            "fe80::1",
            Forbidden::LinkLocal,
        ),
    ];
    for (answer, bad, reason) in cases {
        let dns = FakeDns::new(answer);
        let e = fetch_err(
            &strict(dns.clone()),
            "https://app.example/client-metadata.json",
        )
        .await;
        assert_eq!(
            e,
            FetchError::ForbiddenAddress {
                host: "app.example".into(),
                addr: bad.parse().unwrap(),
                reason: *reason,
            },
            "{answer:?}"
        );
        assert_eq!(dns.asked(), ["app.example"]);
    }
    let e = fetch_err(
        &strict(FakeDns::new(&["10.0.0.1"])),
        "https://app.example/x",
    )
    .await;
    assert_eq!(
        e.to_string(),
        "host app.example resolves to a private address (10.0.0.1)"
    );
}

#[tokio::test]
async fn unresolvable_hosts_are_reported() {
    let e = fetch_err(&strict(FakeDns::new(&[])), "https://nowhere.example/x").await;
    assert_eq!(
        e.to_string(),
        "could not resolve host nowhere.example (no such host)"
    );
}

#[tokio::test]
async fn refuses_ip_literals_without_resolving() {
    let cases: &[(&str, &str, Forbidden)] = &[
        ("https://127.0.0.1/x", "127.0.0.1", Forbidden::Loopback),
        ("https://[::1]/x", "::1", Forbidden::Loopback),
        ("https://2130706433/x", "127.0.0.1", Forbidden::Loopback),
        ("https://0x7f.1/x", "127.0.0.1", Forbidden::Loopback),
        (
            "https://[::ffff:127.0.0.1]/x",
            "::ffff:127.0.0.1",
            Forbidden::Loopback,
        ),
        (
            "https://169.254.169.254/latest",
            "169.254.169.254",
            Forbidden::LinkLocal,
        ),
        ("https://10.0.0.1/x", "10.0.0.1", Forbidden::Private),
        ("https://[fd00::1]/x", "fd00::1", Forbidden::UniqueLocal),
    ];
    let dns = FakeDns::new(&["93.184.216.34"]);
    let fetcher = strict(dns.clone());
    for (url, addr, reason) in cases {
        assert_eq!(
            fetch_err(&fetcher, url).await,
            FetchError::ForbiddenIpLiteral {
                addr: addr.parse().unwrap(),
                reason: *reason,
            },
            "{url}"
        );
    }
    assert!(dns.asked().is_empty(), "asked {:?}", dns.asked());
}

#[tokio::test]
async fn refuses_bad_urls_without_resolving() {
    let dns = FakeDns::new(&["93.184.216.34"]);
    let fetcher = strict(dns.clone());
    let cases: &[(&str, FetchError)] = &[
        (
            "http://app.example/x",
            FetchError::SchemeNotAllowed("http".into()),
        ),
        (
            "https://app.example:8443/x",
            FetchError::PortNotAllowed(8443),
        ),
        ("https://user:pw@app.example/x", FetchError::UserInfo),
        ("https://app.example/x#top", FetchError::Fragment),
        (
            "file:///etc/passwd",
            FetchError::SchemeNotAllowed("file".into()),
        ),
    ];
    for (url, expected) in cases {
        assert_eq!(&fetch_err(&fetcher, url).await, expected, "{url}");
    }
    assert_eq!(
        fetch_err(&fetcher, "http://app.example/x")
            .await
            .to_string(),
        "the URL must use https, not http"
    );
    assert!(dns.asked().is_empty(), "asked {:?}", dns.asked());
}

#[tokio::test]
async fn overrides_do_not_open_other_hosts() {
    // An override lets its own host use a port; other hosts still may not.
    let dns = FakeDns::new(&["93.184.216.34"]);
    let config = FetchConfig {
        host_overrides: [("meta.test".to_owned(), LOCALHOST)].into_iter().collect(),
        ..FetchConfig::default()
    };
    let fetcher = SafeFetcher::with_resolver(config, dns.clone()).unwrap();
    assert_eq!(
        fetch_err(&fetcher, "https://app.example:8443/x").await,
        FetchError::PortNotAllowed(8443)
    );
    assert_eq!(
        fetch_err(&fetcher, "https://127.0.0.1/x").await,
        FetchError::ForbiddenIpLiteral {
            addr: "127.0.0.1".parse::<IpAddr>().unwrap(),
            reason: Forbidden::Loopback,
        }
    );
    assert!(dns.asked().is_empty());
}
