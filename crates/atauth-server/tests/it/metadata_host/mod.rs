//! Support for tests of discoverable clients: a real HTTP(S) server hosting client metadata
//! documents and JWKS under the name `app.test` (the atauth fetcher is told, through its host
//! overrides, that `app.test` is this server), client documents, and `private_key_jwt` client
//! assertions.
//!
//! Used together with `common` (both are modules of the test binary, `main.rs`).
#![allow(dead_code)]

use crate::common::{issuer, DpopKey, TestClient, TestServer};
use atauth_fetch::FetchConfig;
use atauth_protocol::client_auth::CLIENT_ASSERTION_TYPE;
use atauth_protocol::jose::SigningKey;
use atauth_test_support::net::loopback_listener;
use atauth_test_support::pki::TestPki;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The client's host name in every test.
pub const APP_HOST: &str = "app.test";

/// A canned answer of the metadata host.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Canned {
    pub fn json(value: &Value) -> Self {
        Self {
            status: 200,
            content_type: Some("application/json".into()),
            location: None,
            body: value.to_string().into_bytes(),
        }
    }
}

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Canned>>,
    hits: Mutex<HashMap<String, usize>>,
}

/// A server on loopback answering canned documents by path, counting requests per path.
pub struct MetadataHost {
    /// Where the server listens.
    pub addr: SocketAddr,
    /// `http://app.test:<port>` (dev mode) or `https://app.test` (production-like).
    pub origin: String,
    /// PEM of the CA that signed the server's certificate (HTTPS only).
    pub ca_pem: Option<String>,
    shared: Arc<Shared>,
}

async fn answer(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    *shared.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let canned = shared.routes.lock().unwrap().get(&path).cloned();
    let Some(canned) = canned else {
        let mut response = Response::new(Body::from("{}"));
        *response.status_mut() = StatusCode::NOT_FOUND;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return response;
    };
    let mut response = Response::new(Body::from(canned.body));
    *response.status_mut() = StatusCode::from_u16(canned.status).unwrap();
    if let Some(ct) = canned.content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_str(&ct).unwrap());
    }
    if let Some(location) = canned.location {
        response
            .headers_mut()
            .insert(header::LOCATION, HeaderValue::from_str(&location).unwrap());
    }
    response
}

impl MetadataHost {
    fn router(shared: Arc<Shared>) -> Router {
        Router::new().fallback(answer).with_state(shared)
    }

    /// Plain HTTP on 127.0.0.1 and an ephemeral port, for dev-mode servers.
    pub async fn http() -> Self {
        let listener = loopback_listener().await;
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let app = Self::router(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            origin: format!("http://{APP_HOST}:{}", addr.port()),
            ca_pem: None,
            shared,
        }
    }

    /// HTTPS on port 443 of a loopback address of its own (127.x.y.z), with a certificate for
    /// `app.test` from a throw-away CA: what a production (non-dev) server fetches, since client
    /// ids may not carry a port. Binding port 443 needs root or `CAP_NET_BIND_SERVICE`; without
    /// it this panics, unless `ATAUTH_TEST_SKIP_PORT_443=1` is set, which makes it `None` (the
    /// caller then skips, saying so).
    pub async fn https_on_443() -> Option<Self> {
        let pki = TestPki::issue(&[APP_HOST]);
        let listener = match bind_443() {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                if std::env::var("ATAUTH_TEST_SKIP_PORT_443").as_deref() == Ok("1") {
                    eprintln!(
                        "SKIPPED: cannot bind port 443 ({e}) and ATAUTH_TEST_SKIP_PORT_443=1"
                    );
                    return None;
                }
                panic!(
                    "this test serves client metadata on 127.x.y.z:443 and needs root or \
                     CAP_NET_BIND_SERVICE ({e}); set ATAUTH_TEST_SKIP_PORT_443=1 to skip it"
                );
            }
            Err(e) => panic!("cannot bind a loopback address on port 443: {e}"),
        };
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        pki.serve_https(listener, Self::router(shared.clone()));
        Some(Self {
            addr,
            origin: format!("https://{APP_HOST}"),
            ca_pem: Some(pki.ca_pem),
            shared,
        })
    }

    /// The fetch settings of an atauth server that reaches this host as `app.test`: dev mode
    /// (http, loopback) for the HTTP host, production rules plus the test CA for the HTTPS one.
    pub fn fetch_config(&self) -> FetchConfig {
        FetchConfig {
            allow_loopback: self.ca_pem.is_none(),
            host_overrides: [(APP_HOST.to_owned(), self.addr.ip())]
                .into_iter()
                .collect(),
            extra_ca_pem: self.ca_pem.clone().map(String::into_bytes),
            timeout: Some(Duration::from_secs(5)),
        }
    }

    /// An atauth server fetching from this host: dev mode for the HTTP host, production mode
    /// for the HTTPS one.
    pub async fn atauth(&self) -> TestServer {
        TestServer::start_with(self.fetch_config(), self.ca_pem.is_none()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    pub fn put(&self, path: &str, canned: Canned) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), canned);
    }

    /// Serves `document` as `application/json` at `path`.
    pub fn put_json(&self, path: &str, document: &Value) {
        self.put(path, Canned::json(document));
    }

    /// How many requests reached `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.shared
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

/// Binds port 443 on a loopback address not used by another test (127.0.0.0/8 is all local).
fn bind_443() -> io::Result<std::net::TcpListener> {
    let seed = u64::from(std::process::id())
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as u64;
    let mut last = None;
    for i in 0..64u64 {
        // 127.0.0.2 ..= 127.255.255.241: never 127.0.0.1, always inside 127.0.0.0/8.
        let n = seed.wrapping_mul(2_654_435_761).wrapping_add(i * 7919) % 0x00FF_FFF0;
        let ip = Ipv4Addr::from(0x7F00_0002 + n as u32);
        match std::net::TcpListener::bind(SocketAddr::from((ip, 443))) {
            Ok(listener) => {
                listener.set_nonblocking(true)?;
                return Ok(listener);
            }
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap())
}

pub use atauth_test_support::net::FakeDns;

// ---------------------------------------------------------------------------------------------
// Client documents

/// A public web client (`token_endpoint_auth_method: none`).
pub fn public_web_document(client_id: &str, redirect_uris: &[&str]) -> Value {
    json!({
        "client_id": client_id,
        "client_name": "Test App",
        "application_type": "web",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "redirect_uris": redirect_uris,
        "scope": "atproto transition:generic",
        "dpop_bound_access_tokens": true,
        "token_endpoint_auth_method": "none",
    })
}

/// A confidential web client (`private_key_jwt`) with inline `jwks`.
pub fn confidential_document(client_id: &str, redirect_uris: &[&str], jwks: Value) -> Value {
    json!({
        "client_id": client_id,
        "client_name": "Confidential Test App",
        "application_type": "web",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "redirect_uris": redirect_uris,
        "scope": "atproto transition:generic",
        "dpop_bound_access_tokens": true,
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "ES256",
        "jwks": jwks,
    })
}

/// The public JWKS of `keys` (each JWK with its `kid`).
pub fn jwks(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>() })
}

pub fn client_key(kid: &str) -> Arc<SigningKey> {
    Arc::new(SigningKey::generate(kid.to_owned()).expect("key"))
}

/// A second handle on the same private key (e.g. to sign DPoP proofs with a client key).
pub fn same_key(key: &SigningKey) -> SigningKey {
    SigningKey::from_pkcs8(key.kid().to_owned(), &key.to_pkcs8()).expect("key")
}

static ASSERTION_JTI: AtomicU64 = AtomicU64::new(1);

pub fn fresh_jti() -> String {
    format!(
        "assertion-{}-{}",
        std::process::id(),
        ASSERTION_JTI.fetch_add(1, Ordering::SeqCst)
    )
}

/// The claims of a valid client assertion for `client_id` at the issuer of `host`.
pub fn assertion_claims(client_id: &str, host: &str, now: i64) -> Value {
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": issuer(host),
        "jti": fresh_jti(),
        "iat": now,
        "exp": now + 60,
    })
}

/// A client assertion with header `{alg, typ: JWT, kid}` and `claims`.
pub fn sign_assertion(key: &SigningKey, claims: &Value) -> String {
    key.sign_jwt("JWT", claims).expect("sign")
}

/// A client assertion with exactly the header members given (besides `alg`).
pub fn sign_assertion_with_header(
    key: &SigningKey,
    header: &[(&str, Value)],
    claims: &Value,
) -> String {
    let mut map = Map::new();
    for (k, v) in header {
        map.insert((*k).to_owned(), v.clone());
    }
    key.sign_with_header(&map, claims).expect("sign")
}

/// The form fields carrying `assertion`.
pub fn assertion_fields(assertion: &str) -> Vec<(String, String)> {
    vec![
        (
            "client_assertion_type".to_owned(),
            CLIENT_ASSERTION_TYPE.to_owned(),
        ),
        ("client_assertion".to_owned(), assertion.to_owned()),
    ]
}

/// A client that authenticates every PAR/token/revoke request with a fresh assertion signed by
/// `key` (a nonce retry inside [`TestClient::dpop_post`] resends the same assertion).
pub fn confidential_client<'a>(
    server: &'a TestServer,
    host: &str,
    client_id: &str,
    redirect_uri: &str,
    key: Arc<SigningKey>,
) -> TestClient<'a> {
    let id = client_id.to_owned();
    let host_owned = host.to_owned();
    TestClient {
        server,
        host: host.to_owned(),
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        dpop: DpopKey::new(),
        auth: Box::new(move || {
            let claims = assertion_claims(&id, &host_owned, server.now());
            assertion_fields(&sign_assertion(&key, &claims))
        }),
    }
}

/// A public client with a discoverable client id.
pub fn public_client<'a>(
    server: &'a TestServer,
    host: &str,
    client_id: &str,
    redirect_uri: &str,
) -> TestClient<'a> {
    TestClient {
        server,
        host: host.to_owned(),
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        dpop: DpopKey::new(),
        auth: Box::new(Vec::new),
    }
}

/// Asserts an OAuth error response: status, `error`, and a description containing `needle`.
#[track_caller]
pub fn assert_error(got: &(u16, Value), status: u16, error: &str, needle: &str) {
    let (s, body) = got;
    assert_eq!(*s, status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains(needle),
        "error_description {description:?} lacks {needle:?}"
    );
}

/// Drives the browser part for a pushed request: authorize page → sign in as `identifier` →
/// Allow. Returns the redirect `Location` to the client.
pub async fn approve(client: &TestClient<'_>, request_uri: &str, identifier: &str) -> String {
    use crate::common::{Browser, PASSWORD};
    let mut browser = Browser::new(client.server, &client.host);
    let page = browser.get(&client.authorize_path(request_uri)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let page = browser
        .post(
            "/oauth/authorize/sign-in",
            &[
                ("csrf_token", &page.hidden("csrf_token")),
                ("request_uri", request_uri),
                ("client_id", &client.client_id),
                ("identifier", identifier),
                ("password", PASSWORD),
                ("action", "sign_in"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Allow"), "{}", page.body);
    let mut form = page.form_fields();
    form.push(("decision".into(), "allow".into()));
    let done = browser.post_owned("/oauth/authorize/consent", form).await;
    assert_eq!(done.status, 303, "{}", done.body);
    done.location.expect("redirect to the client")
}

/// The query parameters of a redirect `Location`.
pub fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location)
        .expect("location")
        .query_pairs()
        .into_owned()
        .collect()
}

/// `POST /oauth/introspect` with `form`.
pub async fn introspect(
    server: &TestServer,
    host: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    server
        .post_form(host, "/oauth/introspect", form, None)
        .await
}
