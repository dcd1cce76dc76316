//! An OAuth client speaking DPoP to one cooperative, and the tests' browser for the
//! authorization pages. The requests mirror crates/atauth-server/tests/it/common/mod.rs.

use anyhow::{anyhow, bail, Context};
use atauth_protocol::jose::SigningKey;
use atauth_protocol::random::hash_secret;
use atauth_test_support::browser::{self as support_browser, CONSENT_PATH, SIGN_IN_PATH};
use atauth_test_support::oauth::pkce;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

pub const PASSWORD: &str = "correct horse battery staple";
pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";
pub const SCOPE: &str = "atproto transition:generic";
const GET_SESSION: &str = "/xrpc/com.atproto.server.getSession";

/// A plain HTTP connection pool to the server; the cooperative is chosen by `Host`.
#[derive(Clone)]
pub struct Target {
    pub http: reqwest::Client,
    pub addr: SocketAddr,
    /// The cooperative's host (issuer `https://{host}`).
    pub host: String,
}

impl Target {
    pub fn new(addr: SocketAddr, host: &str, pool: usize) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(pool)
            .build()?;
        Ok(Self {
            http,
            addr,
            host: host.to_string(),
        })
    }

    pub fn issuer(&self) -> String {
        format!("https://{}", self.host)
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("http://{}{}", self.addr, path))
            .header("host", &self.host)
    }
}

/// A simple response: status, the headers we need, body.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    async fn read(r: reqwest::Response) -> anyhow::Result<Self> {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.text().await?;
        Ok(Self {
            status,
            headers,
            body,
        })
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.body)
            .with_context(|| format!("status {}: not JSON: {}", self.status, self.body))
    }
}

static JTI: AtomicU64 = AtomicU64::new(1);

fn unique(prefix: &str) -> String {
    let mut r = [0u8; 8];
    aws_lc_rs::rand::fill(&mut r).expect("rng");
    format!(
        "{prefix}-{}-{}",
        JTI.fetch_add(1, Ordering::Relaxed),
        URL_SAFE_NO_PAD.encode(r)
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn loopback_client_id() -> String {
    atauth_test_support::oauth::loopback_client_id(REDIRECT_URI, SCOPE)
}

/// How the client authenticates at the token endpoint.
pub enum ClientAuth {
    Public,
    /// `private_key_jwt` with this key (its `kid` is in the client's published JWKS).
    PrivateKeyJwt(Box<SigningKey>),
}

/// One OAuth client with one DPoP key, shared by all workers; the DPoP nonce is fetched once
/// and reused until the server answers `use_dpop_nonce`.
pub struct Client {
    pub target: Target,
    pub client_id: String,
    pub redirect_uri: String,
    pub auth: ClientAuth,
    dpop_key: SigningKey,
    dpop_header: Map<String, Value>,
    nonce: RwLock<Option<String>>,
    /// How many times the server asked for a new nonce.
    pub nonce_retries: AtomicU64,
}

/// A signed-in session: the latest tokens.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
}

/// A pending authorization code with its PKCE verifier.
#[derive(Debug, Clone)]
pub struct Code {
    pub code: String,
    pub verifier: String,
}

impl Client {
    pub fn new(
        target: Target,
        client_id: String,
        redirect_uri: String,
        auth: ClientAuth,
    ) -> anyhow::Result<Arc<Self>> {
        let dpop_key = SigningKey::generate("dpop".into())?;
        let mut jwk = dpop_key.public_jwk();
        if let Some(o) = jwk.as_object_mut() {
            o.remove("kid");
        }
        let mut dpop_header = Map::new();
        dpop_header.insert("typ".into(), json!("dpop+jwt"));
        dpop_header.insert("jwk".into(), jwk);
        Ok(Arc::new(Self {
            target,
            client_id,
            redirect_uri,
            auth,
            dpop_key,
            dpop_header,
            nonce: RwLock::new(None),
            nonce_retries: AtomicU64::new(0),
        }))
    }

    fn proof(&self, method: &str, url: &str, access_token: Option<&str>) -> String {
        let mut claims = json!({
            "jti": unique("p"),
            "htm": method,
            "htu": url,
            "iat": now(),
        });
        if let Some(nonce) = self.nonce.read().expect("lock").clone() {
            claims["nonce"] = json!(nonce);
        }
        if let Some(token) = access_token {
            claims["ath"] = json!(hash_secret(token));
        }
        self.dpop_key
            .sign_with_header(&self.dpop_header, &claims)
            .expect("sign proof")
    }

    fn auth_fields(&self) -> Vec<(String, String)> {
        match &self.auth {
            ClientAuth::Public => Vec::new(),
            ClientAuth::PrivateKeyJwt(key) => {
                let iat = now();
                let claims = json!({
                    "iss": self.client_id,
                    "sub": self.client_id,
                    "aud": self.target.issuer(),
                    "jti": unique("a"),
                    "iat": iat,
                    "exp": iat + 60,
                });
                vec![
                    (
                        "client_assertion_type".into(),
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                    ),
                    (
                        "client_assertion".into(),
                        key.sign_jwt("JWT", &claims).expect("sign assertion"),
                    ),
                ]
            }
        }
    }

    fn remember_nonce(&self, answer: &Answer) {
        let n = answer.header("dpop-nonce");
        if !n.is_empty() {
            *self.nonce.write().expect("lock") = Some(n.to_string());
        }
    }

    /// POSTs a form to a DPoP endpoint; retries once on `use_dpop_nonce`.
    pub async fn dpop_post(&self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<Answer> {
        let url = format!("{}{}", self.target.issuer(), path);
        for attempt in 0..2 {
            let mut fields: Vec<(String, String)> = form
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            fields.extend(self.auth_fields());
            let proof = self.proof("POST", &url, None);
            let r = self
                .target
                .request(reqwest::Method::POST, path)
                .header("dpop", proof)
                .form(&fields)
                .send()
                .await?;
            let answer = Answer::read(r).await?;
            if answer.status == 400 && attempt == 0 && answer.body.contains("use_dpop_nonce") {
                self.remember_nonce(&answer);
                self.nonce_retries.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            return Ok(answer);
        }
        bail!("the server kept asking for a new DPoP nonce at {path}")
    }

    /// PAR; returns the request_uri and the PKCE verifier.
    pub async fn par(&self, login_hint: Option<&str>) -> anyhow::Result<(String, String)> {
        let (verifier, challenge) = pkce();
        let state = unique("s");
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("state", state.as_str()),
            ("scope", SCOPE),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        if let Some(hint) = login_hint {
            form.push(("login_hint", hint));
        }
        let answer = self.dpop_post("/oauth/par", &form).await?;
        if answer.status != 201 {
            bail!("PAR: {} {}", answer.status, answer.body);
        }
        let body = answer.json()?;
        let request_uri = body["request_uri"]
            .as_str()
            .context("no request_uri")?
            .to_string();
        Ok((request_uri, verifier))
    }

    pub fn authorize_path(&self, request_uri: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("request_uri", request_uri)
            .finish();
        format!("/oauth/authorize?{query}")
    }

    /// The whole flow in a fresh browser: PAR → authorize page → sign-in (argon2) → consent →
    /// code. Returns the code and the browser, whose device now remembers the account.
    pub async fn sign_in_flow(&self, handle: &str) -> anyhow::Result<(Code, Browser)> {
        let (request_uri, verifier) = self.par(None).await?;
        let mut browser = Browser::new(self.target.clone());
        let page = browser.get(&self.authorize_path(&request_uri)).await?;
        if page.status != 200 {
            bail!("authorize page: {} {}", page.status, page.body);
        }
        let form = support_browser::Browser::sign_in_form(&page, handle, PASSWORD);
        let consent = browser.post(SIGN_IN_PATH, form).await?;
        let code = browser.allow(&consent).await?;
        Ok((Code { code, verifier }, browser))
    }

    /// A code without a password: PAR with `login_hint` → authorize (the device remembers the
    /// account, so the consent page comes straight away) → Allow.
    pub async fn code_for_known_device(
        &self,
        browser: &mut Browser,
        handle: &str,
    ) -> anyhow::Result<Code> {
        let (request_uri, verifier) = self.par(Some(handle)).await?;
        let consent = browser.get(&self.authorize_path(&request_uri)).await?;
        let code = browser.allow(&consent).await?;
        Ok(Code { code, verifier })
    }

    /// authorization_code grant.
    pub async fn exchange(&self, code: &Code) -> anyhow::Result<Session> {
        let answer = self
            .dpop_post(
                "/oauth/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", &self.client_id),
                    ("redirect_uri", &self.redirect_uri),
                    ("code", &code.code),
                    ("code_verifier", &code.verifier),
                ],
            )
            .await?;
        session(answer)
    }

    /// refresh_token grant.
    pub async fn refresh(&self, refresh_token: &str) -> anyhow::Result<Session> {
        let answer = self
            .dpop_post(
                "/oauth/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", &self.client_id),
                    ("refresh_token", refresh_token),
                ],
            )
            .await?;
        session(answer)
    }

    /// `GET getSession` with the DPoP-bound access token; retries once on `use_dpop_nonce`.
    pub async fn get_session(&self, access_token: &str) -> anyhow::Result<Value> {
        let url = format!("{}{}", self.target.issuer(), GET_SESSION);
        for attempt in 0..2 {
            let proof = self.proof("GET", &url, Some(access_token));
            let r = self
                .target
                .request(reqwest::Method::GET, GET_SESSION)
                .header("authorization", format!("DPoP {access_token}"))
                .header("dpop", proof)
                .send()
                .await?;
            let answer = Answer::read(r).await?;
            if answer.status == 401
                && attempt == 0
                && answer.header("www-authenticate").contains("use_dpop_nonce")
            {
                self.remember_nonce(&answer);
                self.nonce_retries.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if answer.status != 200 {
                bail!(
                    "getSession: {} {} {}",
                    answer.status,
                    answer.header("www-authenticate"),
                    answer.body
                );
            }
            return answer.json();
        }
        bail!("the server kept asking for a new DPoP nonce at getSession")
    }
}

fn session(answer: Answer) -> anyhow::Result<Session> {
    if answer.status != 200 {
        bail!("token: {} {}", answer.status, answer.body);
    }
    let body = answer.json()?;
    Ok(Session {
        access_token: body["access_token"]
            .as_str()
            .context("no access_token")?
            .into(),
        refresh_token: body["refresh_token"]
            .as_str()
            .context("no refresh_token")?
            .into(),
    })
}

pub use atauth_test_support::browser::Page;

/// One cookie jar for one host, sending what a top-level navigation and a same-origin form
/// post send.
#[derive(Clone)]
pub struct Browser {
    inner: support_browser::Browser,
}

impl Browser {
    pub fn new(target: Target) -> Self {
        Self {
            inner: support_browser::Browser::at_loopback(target.http, target.addr, &target.host),
        }
    }

    pub async fn get(&mut self, path: &str) -> anyhow::Result<Page> {
        Ok(self.inner.get(path).await?)
    }

    pub async fn post(&mut self, path: &str, form: Vec<(String, String)>) -> anyhow::Result<Page> {
        Ok(self.inner.post(path, &form).await?)
    }

    /// Submits the consent page with Allow; returns the code from the redirect.
    pub async fn allow(&mut self, consent: &Page) -> anyhow::Result<String> {
        if consent.status != 200 || !consent.body.contains("decision") {
            bail!(
                "expected the consent page, got {}: {}",
                consent.status,
                &consent.body[..consent.body.len().min(400)]
            );
        }
        let form = support_browser::Browser::allow_form(consent);
        let done = self.post(CONSENT_PATH, form).await?;
        let location = done
            .location
            .ok_or_else(|| anyhow!("consent: no redirect ({}): {}", done.status, done.body))?;
        code_from_location(&location)
    }
}

/// The `code` parameter of a redirect to the client.
pub fn code_from_location(location: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(location)?;
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| anyhow!("no code in {location}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_read_from_the_redirect() {
        assert_eq!(
            code_from_location("http://127.0.0.1/callback?state=s&code=cod-1&iss=x").unwrap(),
            "cod-1"
        );
        assert!(code_from_location("http://127.0.0.1/callback?error=access_denied").is_err());
    }
}
