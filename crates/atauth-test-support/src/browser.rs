//! A minimal browser for the member pages: one cookie jar, redirects not followed, the
//! `Sec-Fetch-*` and `Origin` headers of a top-level navigation and of a same-origin form post.

use crate::html;
use reqwest::header::HeaderMap;
use std::collections::HashMap;
use std::net::SocketAddr;

/// The sign-in form's target.
pub const SIGN_IN_PATH: &str = "/oauth/authorize/sign-in";
/// The consent form's target.
pub const CONSENT_PATH: &str = "/oauth/authorize/consent";

/// Cookies as a browser keeps them for one site: the latest value of each name.
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    pairs: Vec<(String, String)>,
}

impl CookieJar {
    /// Keeps the `name=value` of every `Set-Cookie` in `headers` (attributes ignored).
    pub fn keep(&mut self, headers: &HeaderMap) {
        for value in headers.get_all("set-cookie") {
            let text = value.to_str().unwrap_or("");
            if let Some((k, v)) = text.split(';').next().and_then(|kv| kv.split_once('=')) {
                self.pairs.retain(|(name, _)| name != k);
                self.pairs.push((k.to_string(), v.to_string()));
            }
        }
    }

    /// The `Cookie` request header.
    pub fn header(&self) -> String {
        self.pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The value of a cookie.
    pub fn get(&self, name: &str) -> Option<String> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

/// A page as the browser got it.
pub struct Page {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
    pub headers: HeaderMap,
}

impl Page {
    /// The page `response` carries, keeping the cookies it sets in `jar`.
    pub async fn read(jar: &mut CookieJar, response: reqwest::Response) -> reqwest::Result<Self> {
        jar.keep(response.headers());
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.text().await?;
        Ok(Self {
            status,
            body,
            location,
            headers,
        })
    }

    /// Hidden inputs and checked checkboxes of the page's form.
    pub fn form_fields(&self) -> Vec<(String, String)> {
        html::form_fields(&self.body)
    }

    pub fn has_field(&self, name: &str) -> bool {
        html::form_field(&self.body, name).is_some()
    }

    /// The value of the hidden input `name`; panics (showing the page) when there is none.
    pub fn hidden(&self, name: &str) -> String {
        html::form_field(&self.body, name)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body))
    }

    /// A header as a string ("" when absent).
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }

    /// The code from a successful redirect to the client; panics otherwise.
    pub fn code(&self) -> String {
        let location = self
            .location
            .as_deref()
            .unwrap_or_else(|| panic!("no redirect: {} {}", self.status, self.body));
        redirect_params(location)
            .remove("code")
            .unwrap_or_else(|| panic!("no code in {location}"))
    }
}

/// The parameters of a redirect to the client, from the query or (fragment mode) the fragment.
pub fn redirect_params(location: &str) -> HashMap<String, String> {
    let url = url::Url::parse(location).expect("location is a URL");
    match url.fragment() {
        Some(fragment) => url::form_urlencoded::parse(fragment.as_bytes())
            .into_owned()
            .collect(),
        None => url.query_pairs().into_owned().collect(),
    }
}

/// An HTTP client as the tests use one: redirects are answers, no proxy.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("HTTP client")
}

/// One browser at one cooperative.
#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
    /// Where requests go: `http://127.0.0.1:PORT` (the site named in `Host`), or the origin.
    base: String,
    /// The `Host` header to send, when `base` is a loopback address.
    host: Option<String>,
    /// The site's origin, sent as `Origin` with form posts.
    origin: String,
    pub jar: CookieJar,
}

impl Browser {
    /// A browser reaching `https://{host}` over plain HTTP at `addr` (`Host: host`).
    pub fn at_loopback(http: reqwest::Client, addr: SocketAddr, host: &str) -> Self {
        Self {
            http,
            base: format!("http://{addr}"),
            host: Some(host.to_string()),
            origin: format!("https://{host}"),
            jar: CookieJar::default(),
        }
    }

    /// A browser reaching `origin` itself (name resolution and trust are `http`'s).
    pub fn at_origin(http: reqwest::Client, origin: &str) -> Self {
        Self {
            http,
            base: origin.to_string(),
            host: None,
            origin: origin.to_string(),
            jar: CookieJar::default(),
        }
    }

    /// A request to `target`: a path on the site, or an absolute URL.
    fn request(&self, method: reqwest::Method, target: &str) -> reqwest::RequestBuilder {
        let url = if target.starts_with('/') {
            format!("{}{target}", self.base)
        } else {
            target.to_string()
        };
        let mut request = self
            .http
            .request(method, url)
            .header("cookie", self.jar.header());
        if let Some(host) = &self.host {
            request = request.header("host", host);
        }
        request
    }

    async fn send(
        &mut self,
        request: reqwest::RequestBuilder,
        headers: &[(&str, &str)],
    ) -> reqwest::Result<Page> {
        let mut request = request;
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await?;
        Page::read(&mut self.jar, response).await
    }

    /// A top-level navigation to `target` (a link followed from another site).
    pub async fn get(&mut self, target: &str) -> reqwest::Result<Page> {
        let headers = [
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-dest", "document"),
            ("sec-fetch-site", "cross-site"),
        ];
        self.get_with(target, &headers).await
    }

    /// GET with exactly these request headers (besides cookies).
    pub async fn get_with(
        &mut self,
        target: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Result<Page> {
        let request = self.request(reqwest::Method::GET, target);
        self.send(request, headers).await
    }

    /// A form posted from one of the site's own pages.
    pub async fn post(&mut self, path: &str, form: &[(String, String)]) -> reqwest::Result<Page> {
        let origin = self.origin.clone();
        let headers = [
            ("origin", origin.as_str()),
            ("sec-fetch-site", "same-origin"),
        ];
        self.post_with(path, form, &headers).await
    }

    /// POST a form with exactly these request headers (besides cookies).
    pub async fn post_with(
        &mut self,
        path: &str,
        form: &[(String, String)],
        headers: &[(&str, &str)],
    ) -> reqwest::Result<Page> {
        let request = self.request(reqwest::Method::POST, path).form(form);
        self.send(request, headers).await
    }

    /// The sign-in form of `page`, submitted with these credentials.
    pub fn sign_in_form(page: &Page, identifier: &str, password: &str) -> Vec<(String, String)> {
        let mut form = page.form_fields();
        form.retain(|(k, _)| k != "identifier");
        form.push(("identifier".into(), identifier.into()));
        form.push(("password".into(), password.into()));
        form.push(("action".into(), "sign_in".into()));
        form
    }

    /// The consent form of `page` with Allow (every box as rendered).
    pub fn allow_form(page: &Page) -> Vec<(String, String)> {
        let mut form = page.form_fields();
        form.push(("decision".into(), "allow".into()));
        form
    }

    /// Submits the sign-in form of `page` with these credentials.
    pub async fn sign_in(
        &mut self,
        page: &Page,
        identifier: &str,
        password: &str,
    ) -> reqwest::Result<Page> {
        let form = Self::sign_in_form(page, identifier, password);
        self.post(SIGN_IN_PATH, &form).await
    }

    /// Submits the consent form of `page` with Allow.
    pub async fn allow(&mut self, page: &Page) -> reqwest::Result<Page> {
        let form = Self::allow_form(page);
        self.post(CONSENT_PATH, &form).await
    }
}
