//! Page rendering, cookies and CSRF for the member UI.

use crate::tenant::{CurrentTenant, TenantContext};
use askama::Template;
use atauth_protocol::random::{self, secure_eq, RandomSource};
use aws_lc_rs::hmac;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::{header, HeaderMap, HeaderValue, StatusCode};

/// `frame-ancestors 'none'` stops clickjacking of the consent page; no scripts are needed.
const PAGE_CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'";

pub fn with_page_headers(mut response: Response, csp: &str) -> Response {
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Renders a template as an HTML page with the UI's security headers.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    let response = match page.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.",
            )
                .into_response()
        }
    };
    with_page_headers(response, PAGE_CSP)
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub coop_name: &'a str,
    pub heading: &'a str,
    pub text: &'a str,
}

/// A page that explains what happened, in words a member understands.
pub fn message(tenant: &TenantContext, status: StatusCode, heading: &str, text: &str) -> Response {
    render(
        status,
        &MessagePage {
            coop_name: &tenant.tenant.name,
            heading,
            text,
        },
    )
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../templates/atauth.css"),
    )
        .into_response()
}

/// The cooperative's own look, after the shared stylesheet: its accent colour and logo (admin
/// API). Values were validated when stored and are checked again here, so nothing a stored row
/// holds can break out of the CSS string or declaration it is written into.
pub async fn branding_stylesheet(CurrentTenant(tenant): CurrentTenant) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            // Short: a branding change shows within a minute (plus the tenant cache's 15 s).
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        branding_css(&tenant.branding),
    )
        .into_response()
}

fn branding_css(branding: &crate::admin::settings::Branding) -> String {
    let mut css = String::new();
    if branding.validate().is_err() {
        return css;
    }
    if let Some(color) = &branding.accent_color {
        css.push_str(&format!(":root {{ --accent: {color}; }}\n"));
    }
    if let Some(logo) = branding.logo_url.as_deref().and_then(css_safe_url) {
        css.push_str(&format!(
            ".coop::before {{ content: \"\"; display: block; width: 3rem; height: 3rem; \
             margin-bottom: .5rem; background: url(\"{logo}\") center / contain no-repeat; }}\n"
        ));
    }
    css
}

/// The URL re-serialised by the URL parser (which percent-encodes quotes, spaces and controls),
/// refused if it still holds a character that could end a CSS string.
fn css_safe_url(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    let text = url.as_str();
    (url.scheme() == "https" && !text.contains(['"', '\\', '\'', '\n', '\r', '<', '>', ')', '(']))
        .then(|| text.to_string())
}

/// The device cookie identifies this browser across sign-ins (account chooser, request binding).
/// `__Host-` requires `Secure`, so plain-http dev issuers use an unprefixed name.
pub fn device_cookie_name(tenant: &TenantContext) -> &'static str {
    if tenant.is_http() {
        "atauth-device"
    } else {
        "__Host-atauth-device"
    }
}

pub fn device_id(tenant: &TenantContext, headers: &HeaderMap) -> Option<String> {
    let name = device_cookie_name(tenant);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

pub fn new_device_id(rng: &dyn RandomSource) -> String {
    random::token(rng, 32)
}

pub fn set_device_cookie(tenant: &TenantContext, response: &mut Response, device_id: &str) {
    let secure = if tenant.is_http() { "" } else { "; Secure" };
    let cookie = format!(
        "{}={device_id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000{secure}",
        device_cookie_name(tenant)
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// CSRF token bound to the device: HMAC(tenant cookie secret, device id).
pub fn csrf_token(tenant: &TenantContext, device_id: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, &tenant.cookie_secret);
    URL_SAFE_NO_PAD.encode(hmac::sign(&key, format!("csrf:{device_id}").as_bytes()).as_ref())
}

/// Checks a form POST came from our own page: the CSRF token matches the device, and the
/// browser's `Sec-Fetch-Site` / `Origin` (when sent) name this origin.
pub fn check_form_origin(
    tenant: &TenantContext,
    headers: &HeaderMap,
    device_id: &str,
    token: &str,
) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site").is_some_and(|site| site != "same-origin") {
        return false;
    }
    if header("origin").is_some_and(|origin| origin != tenant.issuer()) {
        return false;
    }
    secure_eq(csrf_token(tenant, device_id).as_bytes(), token.as_bytes())
}

#[cfg(test)]
mod branding_tests {
    use super::*;
    use crate::admin::settings::Branding;

    #[test]
    fn the_accent_colour_and_logo_become_css() {
        let css = branding_css(&Branding {
            accent_color: Some("#aa3300".into()),
            logo_url: Some("https://coop.example/logo.png".into()),
        });
        assert!(css.contains("--accent: #aa3300;"), "{css}");
        assert!(
            css.contains("url(\"https://coop.example/logo.png\")"),
            "{css}"
        );
        assert_eq!(branding_css(&Branding::default()), "");
    }

    #[test]
    fn nothing_unvalidated_reaches_the_stylesheet() {
        let bad_colour = Branding {
            accent_color: Some("red; } body { display: none".into()),
            logo_url: None,
        };
        assert_eq!(branding_css(&bad_colour), "");
        for logo in [
            "https://coop.example/a\") ; } body { display:none }",
            "https://coop.example/a'b",
            "https://coop.example/a(b)",
            "http://coop.example/logo.png",
        ] {
            let css = branding_css(&Branding {
                accent_color: None,
                logo_url: Some(logo.into()),
            });
            assert!(!css.contains("display:none"), "{logo}: {css}");
            assert!(
                !css.contains("a'b") && !css.contains("a(b)"),
                "{logo}: {css}"
            );
        }
    }
}
