//! A real atauth server on an ephemeral loopback port, two cooperatives, and a test client
//! that speaks DPoP. Hosts are sent in the `Host` header, so issuers are production-like
//! (`https://coop-a.test`) while the socket is plain HTTP on 127.0.0.1.
#![allow(dead_code)]

use atauth_fetch::{FetchConfig, SafeFetcher};
use atauth_protocol::clock::{Clock, ManualClock};
use atauth_protocol::random::SystemRandom;
use atauth_server::accounts::{create_account, AccountSpec};
use atauth_server::client_address::TrustedProxies;
use atauth_server::{AppState, PasswordCost, ServerConfig};
use atauth_store::sqlite::SqliteStore;
use atauth_store::{Account, DatabaseReplayStore, ReplayStore, Store, Tenant};
use atauth_test_support::browser::{self as support_browser, http_client};
use atauth_test_support::net::loopback_listener;
use atauth_test_support::oauth::{self, next_sequence};
use serde_json::Value;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;

pub use atauth_test_support::browser::{redirect_params, Page};
pub use atauth_test_support::oauth::{jwt_parts, pkce, DpopKey};

pub const COOP_A: &str = "coop-a.test";
pub const COOP_B: &str = "coop-b.test";
pub const PASSWORD: &str = "correct horse battery";
pub const LOOPBACK_REDIRECT: &str = "http://127.0.0.1/callback";
/// Tests hash passwords at the smallest argon2 cost: the production cost is tested once, in
/// the server's `password` module.
pub const PASSWORD_COST: PasswordCost = PasswordCost::MINIMAL_FOR_TESTS;

pub struct TestServer {
    pub addr: SocketAddr,
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    pub http: reqwest::Client,
    pub tenant_a: Tenant,
    pub tenant_b: Tenant,
    pub alice: Account,
    pub bob: Account,
    _dir: tempfile::TempDir,
}

pub fn issuer(host: &str) -> String {
    format!("https://{host}")
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(FetchConfig::default(), false).await
    }

    pub async fn start_with(fetch: FetchConfig, dev: bool) -> Self {
        Self::start_with_resolver(fetch, dev, Arc::new(atauth_fetch::SystemResolver)).await
    }

    /// Like [`TestServer::start_with`], with the fetcher resolving host names through
    /// `resolver` (every answer still goes through the address policy).
    pub async fn start_with_resolver(
        fetch: FetchConfig,
        dev: bool,
        resolver: Arc<dyn atauth_fetch::Resolve>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = SqliteStore::open(&dir.path().join("atauth.db"))
            .await
            .expect("store");
        let store: Arc<dyn Store> = Arc::new(sqlite);
        Self::start_on_with(
            store,
            Arc::new(DatabaseReplayStore),
            fetch,
            dev,
            resolver,
            dir,
            TrustedProxies::default(),
        )
        .await
    }

    /// Like [`TestServer::start`], believing the forwarding headers of requests from
    /// `trusted_proxies` (CIDRs, as `atauth serve --trusted-proxy`).
    pub async fn start_behind_proxies(trusted_proxies: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = SqliteStore::open(&dir.path().join("atauth.db"))
            .await
            .expect("store");
        Self::start_on_with(
            Arc::new(sqlite),
            Arc::new(DatabaseReplayStore),
            FetchConfig::default(),
            false,
            Arc::new(atauth_fetch::SystemResolver),
            dir,
            TrustedProxies::parse(trusted_proxies).expect("trusted proxies"),
        )
        .await
    }

    /// A server over `store` (provisioned here with the two cooperatives and their accounts)
    /// keeping DPoP and client assertion `jti`s in `replay`.
    pub async fn start_on(store: Arc<dyn Store>, replay: Arc<dyn ReplayStore>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_on_with(
            store,
            replay,
            FetchConfig::default(),
            false,
            Arc::new(atauth_fetch::SystemResolver),
            dir,
            TrustedProxies::default(),
        )
        .await
    }

    async fn start_on_with(
        store: Arc<dyn Store>,
        replay: Arc<dyn ReplayStore>,
        fetch: FetchConfig,
        dev: bool,
        resolver: Arc<dyn atauth_fetch::Resolve>,
        dir: tempfile::TempDir,
        trusted_proxies: TrustedProxies,
    ) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let clock = Arc::new(ManualClock::new(now));
        let rng = SystemRandom;
        let tenant_a = atauth_server::provision_tenant(
            &store,
            &rng,
            &issuer(COOP_A),
            "Cooperative A",
            None,
            now,
        )
        .await
        .expect("tenant a");
        let tenant_b = atauth_server::provision_tenant(
            &store,
            &rng,
            &issuer(COOP_B),
            "Cooperative B",
            None,
            now,
        )
        .await
        .expect("tenant b");
        let alice = create_account(
            &store,
            &tenant_a,
            AccountSpec {
                handle: "alice.coop-a.test",
                email: Some("alice@coop-a.test"),
                did: None,
                password: PASSWORD,
            },
            PASSWORD_COST,
            &rng,
            now,
        )
        .await
        .expect("alice");
        let bob = create_account(
            &store,
            &tenant_b,
            AccountSpec {
                handle: "bob.coop-b.test",
                email: None,
                did: Some("did:plc:bobbobbobbobbobbobbobbob"),
                password: PASSWORD,
            },
            PASSWORD_COST,
            &rng,
            now,
        )
        .await
        .expect("bob");
        let fetcher = SafeFetcher::with_resolver(fetch, resolver).expect("fetcher");
        let (addr, http) = launch(
            store.clone(),
            replay,
            fetcher,
            clock.clone(),
            dev,
            trusted_proxies,
        )
        .await;
        Self {
            addr,
            clock,
            store,
            http,
            tenant_a,
            tenant_b,
            alice,
            bob,
            _dir: dir,
        }
    }

    /// Another instance serving the same database (same cooperatives, accounts and clock) on
    /// its own port, with its own caches and `replay` as its replay store: what a second atauth
    /// process behind the same load balancer is.
    pub async fn another_instance(&self, replay: Arc<dyn ReplayStore>) -> Self {
        let fetcher = SafeFetcher::new(FetchConfig::default()).expect("fetcher");
        let (addr, http) = launch(
            self.store.clone(),
            replay,
            fetcher,
            self.clock.clone(),
            false,
            TrustedProxies::default(),
        )
        .await;
        Self {
            addr,
            clock: self.clock.clone(),
            store: self.store.clone(),
            http,
            tenant_a: self.tenant_a.clone(),
            tenant_b: self.tenant_b.clone(),
            alice: self.alice.clone(),
            bob: self.bob.clone(),
            _dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A request to `path` on the cooperative served at `host`.
    pub fn request(
        &self,
        method: reqwest::Method,
        host: &str,
        path_and_query: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("http://{}{}", self.addr, path_and_query))
            .header("host", host)
    }

    pub fn get(&self, host: &str, path_and_query: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::GET, host, path_and_query)
    }

    pub async fn post_form(
        &self,
        host: &str,
        path: &str,
        form: &[(&str, &str)],
        dpop: Option<String>,
    ) -> reqwest::Response {
        let mut req = self.request(reqwest::Method::POST, host, path).form(form);
        if let Some(proof) = dpop {
            req = req.header("dpop", proof);
        }
        req.send().await.expect("request")
    }
}

/// The pinned permission sets every test server serves (`tests/permission-sets`).
fn test_permission_sets() -> atauth_server::permission_sets::PermissionSets {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/permission-sets");
    atauth_server::permission_sets::PermissionSets::load_dir(&dir).expect("test permission sets")
}

/// Builds the state and serves it on an ephemeral loopback port.
async fn launch(
    store: Arc<dyn Store>,
    replay: Arc<dyn ReplayStore>,
    fetcher: SafeFetcher,
    clock: Arc<ManualClock>,
    dev: bool,
    trusted_proxies: TrustedProxies,
) -> (SocketAddr, reqwest::Client) {
    let config = ServerConfig {
        dev,
        trusted_host_header: None,
        trusted_proxies,
        password_concurrency: 2,
        password_cost: PASSWORD_COST,
    };
    let state = AppState::with_replay_store(
        store,
        replay,
        Arc::new(fetcher),
        clock,
        Arc::new(SystemRandom),
        config,
    )
    .with_permission_sets(test_permission_sets());
    let app = atauth_server::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let listener = loopback_listener().await;
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (addr, http_client())
}

/// A loopback client id redirecting to [`LOOPBACK_REDIRECT`] with `scope`.
pub fn loopback_client_id(scope: &str) -> String {
    oauth::loopback_client_id(LOOPBACK_REDIRECT, scope)
}

/// A client taking part in flows: DPoP key, client id, redirect.
pub struct TestClient<'a> {
    pub server: &'a TestServer,
    pub host: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub dpop: DpopKey,
    /// Extra form fields sent with PAR/token/revoke (client authentication).
    pub auth: Box<dyn Fn() -> Vec<(String, String)> + Send + Sync + 'a>,
}

pub struct Par {
    pub request_uri: String,
    pub verifier: String,
    pub state: String,
}

pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub body: Value,
}

impl<'a> TestClient<'a> {
    pub fn loopback(server: &'a TestServer, host: &str) -> Self {
        Self::loopback_with_scope(server, host, "atproto transition:generic transition:email")
    }

    pub fn loopback_with_scope(server: &'a TestServer, host: &str, scope: &str) -> Self {
        Self {
            server,
            host: host.to_string(),
            client_id: loopback_client_id(scope),
            redirect_uri: LOOPBACK_REDIRECT.to_string(),
            dpop: DpopKey::new(),
            auth: Box::new(Vec::new),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", issuer(&self.host), path)
    }

    /// POSTs to a DPoP endpoint, retrying once on `use_dpop_nonce` like real clients.
    pub async fn dpop_post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let auth = (self.auth)();
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.extend(auth.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        for _ in 0..2 {
            let proof = self
                .dpop
                .proof("POST", &self.url(path), self.server.now(), None);
            let response = self
                .server
                .post_form(&self.host, path, &fields, Some(proof))
                .await;
            self.dpop.remember_nonce(&response);
            if response.status() == 400 {
                let body: Value = response.json().await.expect("json");
                if body["error"] == "use_dpop_nonce" {
                    continue;
                }
                return rebuild(400, body);
            }
            return response;
        }
        panic!("server kept asking for a new DPoP nonce");
    }

    pub async fn par_with(&self, extra: &[(&str, &str)]) -> reqwest::Response {
        let (_, challenge) = pkce();
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("state", "state-123"),
            ("scope", "atproto transition:generic"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        for (k, v) in extra {
            form.retain(|(name, _)| name != k);
            if !v.is_empty() {
                form.push((k, v));
            }
        }
        self.dpop_post("/oauth/par", &form).await
    }

    pub async fn par(&self, scope: &str, extra: &[(&str, &str)]) -> Par {
        let (verifier, challenge) = pkce();
        let state = format!("state-{}", next_sequence());
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("state", state.as_str()),
            ("scope", scope),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        form.extend_from_slice(extra);
        let response = self.dpop_post("/oauth/par", &form).await;
        assert_eq!(
            response.status(),
            201,
            "PAR failed: {:?}",
            response.text().await
        );
        let body: Value = response.json().await.expect("json");
        Par {
            request_uri: body["request_uri"]
                .as_str()
                .expect("request_uri")
                .to_string(),
            verifier,
            state,
        }
    }

    pub fn authorize_path(&self, request_uri: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("request_uri", request_uri)
            .finish();
        format!("/oauth/authorize?{query}")
    }

    pub async fn exchange(&self, code: &str, verifier: &str) -> reqwest::Response {
        self.dpop_post(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &self.client_id),
                ("redirect_uri", &self.redirect_uri),
                ("code", code),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.dpop_post(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &self.client_id),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    pub async fn revoke(&self, token: &str) -> reqwest::Response {
        self.dpop_post(
            "/oauth/revoke",
            &[("client_id", &self.client_id), ("token", token)],
        )
        .await
    }

    /// The whole flow: PAR → authorize → sign in → Allow → code.
    pub async fn authorize(&self, scope: &str, identifier: &str) -> (Par, String) {
        let par = self.par(scope, &[]).await;
        let mut browser = Browser::new(self.server, &self.host);
        let page = browser.get(&self.authorize_path(&par.request_uri)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Handle or email"), "{}", page.body);
        let page = browser
            .post(
                "/oauth/authorize/sign-in",
                &[
                    ("csrf_token", &page.hidden("csrf_token")),
                    ("request_uri", &par.request_uri),
                    ("client_id", &self.client_id),
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
        let location = done.location.expect("redirect");
        let url = url::Url::parse(&location).expect("location");
        let params: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(params.get("state"), Some(&par.state));
        assert_eq!(params.get("iss"), Some(&issuer(&self.host)));
        let code = params
            .get("code")
            .unwrap_or_else(|| panic!("no code in {location}"))
            .clone();
        (par, code)
    }

    /// Signs in and exchanges the code.
    pub async fn sign_in(&self, scope: &str, identifier: &str) -> Tokens {
        let (par, code) = self.authorize(scope, identifier).await;
        let response = self.exchange(&code, &par.verifier).await;
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
        tokens(response).await
    }
}

pub async fn tokens(response: reqwest::Response) -> Tokens {
    let body: Value = response.json().await.expect("json");
    Tokens {
        access_token: body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string(),
        refresh_token: body["refresh_token"].as_str().map(str::to_string),
        body,
    }
}

fn rebuild(status: u16, body: Value) -> reqwest::Response {
    let response = http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string())
        .expect("response");
    reqwest::Response::from(response)
}

/// A minimal browser: one cookie jar for one host of a [`TestServer`].
pub struct Browser<'a> {
    inner: support_browser::Browser,
    _server: PhantomData<&'a TestServer>,
}

impl<'a> Browser<'a> {
    pub fn new(server: &'a TestServer, host: &str) -> Self {
        Self {
            inner: support_browser::Browser::at_loopback(server.http.clone(), server.addr, host),
            _server: PhantomData,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.inner.get(path).await.expect("get")
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let owned = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.post_owned(path, owned).await
    }

    pub async fn post_owned(&mut self, path: &str, form: Vec<(String, String)>) -> Page {
        self.inner.post(path, &form).await.expect("post")
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers for the conformance tests (docs/spec/checklist.md). Additive only.
// ---------------------------------------------------------------------------------------------

/// A response header as a string ("" when absent).
pub fn header_of(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Status and JSON body of an error (or any JSON) answer; panics if the body is not JSON.
pub async fn status_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text:?}"));
    (status, body)
}

/// Asserts an OAuth JSON error with this status and `error` code; returns the body.
pub async fn expect_error(response: reqwest::Response, status: u16, error: &str) -> Value {
    let (got, body) = status_json(response).await;
    assert_eq!(
        (got, body["error"].as_str().unwrap_or("")),
        (status, error),
        "{body}"
    );
    body
}

impl TestServer {
    /// The DPoP nonce `host` hands out right now (read from an answer of its revocation endpoint).
    pub async fn nonce(&self, host: &str) -> String {
        let response = self.post_form(host, "/oauth/revoke", &[], None).await;
        let nonce = header_of(&response, "dpop-nonce");
        assert!(!nonce.is_empty(), "no DPoP-Nonce from {host}");
        nonce
    }

    /// Another account at `tenant` with the test password.
    pub async fn add_account(&self, tenant: &Tenant, handle: &str, email: Option<&str>) -> Account {
        create_account(
            &self.store,
            tenant,
            AccountSpec {
                handle,
                email,
                did: None,
                password: PASSWORD,
            },
            PASSWORD_COST,
            &SystemRandom,
            self.now(),
        )
        .await
        .expect("account")
    }
}

impl<'a> TestClient<'a> {
    /// A public client with an explicit (loopback) `client_id`.
    pub fn with_client_id(server: &'a TestServer, host: &str, client_id: &str) -> Self {
        let mut client = Self::loopback(server, host);
        client.client_id = client_id.to_string();
        client
    }

    /// The same client (client_id, redirect, DPoP key) talking to another host.
    pub fn at_host(&self, host: &str) -> TestClient<'a> {
        TestClient {
            server: self.server,
            host: host.to_string(),
            client_id: self.client_id.clone(),
            redirect_uri: self.redirect_uri.clone(),
            dpop: self.dpop.duplicate(),
            auth: Box::new(Vec::new),
        }
    }

    /// The same client with another DPoP key.
    pub fn with_new_dpop_key(&self) -> TestClient<'a> {
        TestClient {
            server: self.server,
            host: self.host.clone(),
            client_id: self.client_id.clone(),
            redirect_uri: self.redirect_uri.clone(),
            dpop: DpopKey::new(),
            auth: Box::new(Vec::new),
        }
    }

    /// Makes sure the client holds a current nonce of its host.
    pub async fn ensure_nonce(&self) -> String {
        if let Some(nonce) = self.dpop.current_nonce() {
            return nonce;
        }
        let nonce = self.server.nonce(&self.host).await;
        self.dpop.set_nonce(Some(nonce.clone()));
        nonce
    }

    /// A valid proof for `POST <host><path>` with a current nonce.
    pub async fn fresh_proof(&self, path: &str) -> String {
        self.ensure_nonce().await;
        self.dpop
            .proof("POST", &self.url(path), self.server.now(), None)
    }

    /// POSTs `form` with exactly this proof (or none): no nonce retry, headers intact.
    pub async fn post_with_proof(
        &self,
        path: &str,
        form: &[(&str, &str)],
        proof: Option<String>,
    ) -> reqwest::Response {
        self.server.post_form(&self.host, path, form, proof).await
    }

    /// The standard PAR form (fresh PKCE and state), with `extra` replacing fields of the same
    /// name (an empty value removes the field).
    pub fn par_form(&self, extra: &[(&str, &str)]) -> (Vec<(String, String)>, Par) {
        let (verifier, challenge) = pkce();
        let state = format!("state-{}", next_sequence());
        let mut form: Vec<(String, String)> = vec![
            ("client_id".into(), self.client_id.clone()),
            ("response_type".into(), "code".into()),
            ("redirect_uri".into(), self.redirect_uri.clone()),
            ("state".into(), state.clone()),
            ("scope".into(), "atproto transition:generic".into()),
            ("code_challenge".into(), challenge),
            ("code_challenge_method".into(), "S256".into()),
        ];
        for (k, v) in extra {
            form.retain(|(name, _)| name != k);
            if !v.is_empty() {
                form.push((k.to_string(), v.to_string()));
            }
        }
        let par = Par {
            request_uri: String::new(),
            verifier,
            state,
        };
        (form, par)
    }

    /// PAR with [`TestClient::par_form`] (nonce retry included); the `Par` gets the request_uri
    /// when the answer is 201. The response body is returned as JSON.
    pub async fn par_raw(&self, extra: &[(&str, &str)]) -> (u16, Value, Par) {
        let (form, mut par) = self.par_form(extra);
        let fields: Vec<(&str, &str)> =
            form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let response = self.dpop_post("/oauth/par", &fields).await;
        let (status, body) = status_json(response).await;
        if status == 201 {
            par.request_uri = body["request_uri"]
                .as_str()
                .expect("request_uri")
                .to_string();
        }
        (status, body, par)
    }

    /// `GET /xrpc/com.atproto.server.getSession` with a DPoP-bound token (nonce retry included).
    pub async fn get_session(&self, token: &str) -> reqwest::Response {
        let url = self.url("/xrpc/com.atproto.server.getSession");
        let mut last = None;
        for _ in 0..2 {
            let proof = self.dpop.proof("GET", &url, self.server.now(), Some(token));
            let response = self
                .server
                .get(&self.host, "/xrpc/com.atproto.server.getSession")
                .header("authorization", format!("DPoP {token}"))
                .header("dpop", proof)
                .send()
                .await
                .expect("getSession");
            self.dpop.remember_nonce(&response);
            if response.status() == 401
                && header_of(&response, "www-authenticate").contains("use_dpop_nonce")
            {
                last = Some(response);
                continue;
            }
            return response;
        }
        last.expect("response")
    }

    /// Opens the authorization page of `par` in a fresh browser and signs in `identifier`;
    /// returns the browser and the consent page.
    pub async fn open_consent(&self, par: &Par, identifier: &str) -> (Browser<'a>, Page) {
        let mut browser = Browser::new(self.server, &self.host);
        let page = browser.get(&self.authorize_path(&par.request_uri)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let page = browser.submit_sign_in(&page, identifier, PASSWORD).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Allow"), "{}", page.body);
        (browser, page)
    }

    /// PAR with `extra`, sign-in and Allow: the final answer (a 303 to the client, or a
    /// form_post page).
    pub async fn approve_with(&self, scope: &str, extra: &[(&str, &str)]) -> (Par, Page) {
        let par = self.par(scope, extra).await;
        let (mut browser, consent) = self.open_consent(&par, "alice.coop-a.test").await;
        let done = browser.allow(&consent).await;
        (par, done)
    }
}

impl<'a> Browser<'a> {
    /// GET with exactly these request headers (besides cookies): for Sec-Fetch-* tests.
    pub async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> Page {
        self.inner.get_with(path, headers).await.expect("get")
    }

    /// POST a form with exactly these request headers (besides cookies): for CSRF tests.
    pub async fn post_with(
        &mut self,
        path: &str,
        form: Vec<(String, String)>,
        headers: &[(&str, &str)],
    ) -> Page {
        self.inner
            .post_with(path, &form, headers)
            .await
            .expect("post")
    }

    /// Submits the sign-in form of `page` with these credentials.
    pub async fn submit_sign_in(&mut self, page: &Page, identifier: &str, password: &str) -> Page {
        self.inner
            .sign_in(page, identifier, password)
            .await
            .expect("post")
    }

    /// Submits the consent form of `page` with Allow (all boxes as rendered).
    pub async fn allow(&mut self, page: &Page) -> Page {
        self.inner.allow(page).await.expect("post")
    }

    /// The value of a cookie in the jar.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.inner.jar.get(name)
    }
}

/// The operator token of [`TestServer::start_with_admin`].
pub const OPERATOR_TOKEN: &str = "operator-token-for-the-admin-api-tests-0123456789";

impl TestServer {
    /// A server like [`TestServer::start`] plus the admin API on a port of its own (returned),
    /// both over one state, as `atauth serve --admin-listen` runs them: admin changes are seen
    /// by the public router at once.
    pub async fn start_with_admin() -> (Self, SocketAddr) {
        let mut server = Self::start().await;
        let config = ServerConfig {
            dev: false,
            trusted_host_header: None,
            trusted_proxies: TrustedProxies::default(),
            password_concurrency: 2,
            password_cost: PASSWORD_COST,
        };
        let fetcher = SafeFetcher::new(FetchConfig::default()).expect("fetcher");
        let state = AppState::new(
            server.store.clone(),
            Arc::new(fetcher),
            server.clock.clone(),
            Arc::new(SystemRandom),
            config,
        )
        .with_permission_sets(test_permission_sets());
        let public = atauth_server::router(state.clone())
            .into_make_service_with_connect_info::<SocketAddr>();
        let admin = atauth_server::admin::router(state, OPERATOR_TOKEN).expect("admin router");
        let public_listener = loopback_listener().await;
        let admin_listener = loopback_listener().await;
        server.addr = public_listener.local_addr().expect("addr");
        let admin_addr = admin_listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(public_listener, public).await.expect("serve");
        });
        tokio::spawn(async move {
            axum::serve(admin_listener, admin)
                .await
                .expect("serve admin");
        });
        (server, admin_addr)
    }
}
