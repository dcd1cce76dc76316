//! Redirect URI rules: which URIs a client may register (atproto spec "Request Fields",
//! RFC 8252 sections 7.1-7.3 and 8.3), and the loopback port exception when matching.
//!
//! Registration, production mode:
//! - never a fragment (RFC 6749 section 3.1.2) nor user info;
//! - `https`: web and native clients; the host must be a public-looking domain (not `localhost`,
//!   a loopback IP, or a local name) and an explicit default port (`:443`) is refused (atproto
//!   spec: "may include a port number, but not if it is the default port number"). The spec asks
//!   native https redirects to share the client_id origin; like the reference we do not check it
//!   (a web client may redirect to any https origin anyway, so it adds no protection);
//! - `http`: only native clients, only `http://127.0.0.1` or `http://[::1]` written exactly so
//!   (any port); `localhost` is refused (RFC 8252 section 8.3);
//! - private-use scheme (contains a `.`): only native clients, the scheme must equal the
//!   client_id host reversed (`app.example.com` -> `com.example.app`), followed by `:/` and a
//!   path (a single slash, no authority);
//! - anything else is refused.
//!
//! Dev mode: `http` is accepted where `https` is, and host restrictions are lifted, for both
//! application types. Scheme, fragment and private-use rules stay.

use super::uri::{has_explicit_port, has_userinfo, is_local_hostname, is_loopback_host, quote};
use super::{ApplicationType, ClientPolicy};
use url::{Host, Url};

/// Checks one registered redirect URI. Errors are descriptions (the caller picks the code).
pub(super) fn check_registered(
    raw: &str,
    application_type: ApplicationType,
    client_host: &str,
    policy: ClientPolicy,
) -> Result<(), String> {
    let shown = quote(raw);
    if raw.contains('#') {
        return Err(format!("redirect_uri {shown} must not contain a fragment"));
    }
    let url =
        Url::parse(raw).map_err(|_| format!("redirect_uri {shown} is not a valid absolute URL"))?;
    if has_userinfo(&url) {
        return Err(format!(
            "redirect_uri {shown} must not contain user credentials"
        ));
    }
    let native = application_type == ApplicationType::Native;
    match url.scheme() {
        "https" => check_web_host(&url, raw, policy),
        "http" if policy.dev => Ok(()),
        "http" if native => check_loopback_ip(raw),
        "http" => Err(format!(
            "redirect_uri {shown} must use https: http is only allowed for native clients \
             (application_type \"native\") on http://127.0.0.1 or http://[::1]"
        )),
        scheme if scheme.contains('.') => {
            if !native {
                return Err(format!(
                    "redirect_uri {shown} uses a custom URI scheme, which is only allowed for native \
                     clients (application_type \"native\")"
                ));
            }
            check_private_use(&url, raw, client_host)
        }
        scheme => Err(format!(
            "redirect_uri {shown} uses the scheme \"{scheme}\", which is not allowed: use https, \
             or for native clients a loopback http URI or a reverse-domain scheme"
        )),
    }
}

/// Host rules of an https redirect URI.
fn check_web_host(url: &Url, raw: &str, policy: ClientPolicy) -> Result<(), String> {
    let shown = quote(raw);
    if policy.dev {
        return Ok(());
    }
    let Some(host) = url.host() else {
        return Err(format!("redirect_uri {shown} has no host"));
    };
    if is_loopback_host(&host) {
        return Err(format!(
            "redirect_uri {shown} must not use a loopback host with https: native clients use \
             http://127.0.0.1 or http://[::1], and web clients may not redirect to loopback"
        ));
    }
    if let Host::Domain(domain) = host {
        if is_local_hostname(domain) {
            return Err(format!(
                "redirect_uri {shown} must use a public domain name"
            ));
        }
    }
    if url.port().is_none() && has_explicit_port(raw) {
        return Err(format!(
            "redirect_uri {shown} must not include the default port number"
        ));
    }
    Ok(())
}

/// A loopback IP redirect split into host, optional port and the rest (path, query).
#[derive(Debug, PartialEq, Eq)]
struct LoopbackParts<'a> {
    host: &'a str,
    port: Option<&'a str>,
    rest: &'a str,
}

/// Splits `http://127.0.0.1[:port]rest` or `http://[::1][:port]rest` exactly as written.
fn split_loopback(raw: &str) -> Option<LoopbackParts<'_>> {
    let after = raw.strip_prefix("http://")?;
    let host = ["127.0.0.1", "[::1]"]
        .into_iter()
        .find(|h| after.starts_with(h))?;
    let rest = &after[host.len()..];
    let (port, rest) = match rest.strip_prefix(':') {
        Some(p) => {
            let end = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
            let (digits, rest) = p.split_at(end);
            digits.parse::<u16>().ok()?;
            (Some(digits), rest)
        }
        None => (None, rest),
    };
    let rest_ok = rest.is_empty() || rest.starts_with('/') || rest.starts_with('?');
    (rest_ok && !rest.contains('#')).then_some(LoopbackParts { host, port, rest })
}

/// A loopback IP redirect (RFC 8252 section 7.3): `http://127.0.0.1` or `http://[::1]`, written
/// exactly so, optional port, no fragment; `localhost` refused (section 8.3).
pub(super) fn check_loopback_ip(raw: &str) -> Result<(), String> {
    let shown = quote(raw);
    let url =
        Url::parse(raw).map_err(|_| format!("redirect_uri {shown} is not a valid absolute URL"))?;
    if let Some(Host::Domain(d)) = url.host() {
        if d.eq_ignore_ascii_case("localhost") {
            return Err(format!(
                "redirect_uri {shown} must not use \"localhost\": use http://127.0.0.1 or \
                 http://[::1] (RFC 8252 section 8.3)"
            ));
        }
    }
    if url.scheme() != "http" || split_loopback(raw).is_none() || has_userinfo(&url) {
        return Err(format!(
            "redirect_uri {shown} must be a loopback redirect starting with http://127.0.0.1 or \
             http://[::1] (optionally with a port), without a fragment"
        ));
    }
    Ok(())
}

/// A private-use scheme redirect (RFC 8252 section 7.1; atproto spec "Request Fields").
fn check_private_use(url: &Url, raw: &str, client_host: &str) -> Result<(), String> {
    let shown = quote(raw);
    let expected: Vec<&str> = client_host.split('.').rev().collect();
    let expected = expected.join(".").to_ascii_lowercase();
    if url.scheme() != expected {
        return Err(format!(
            "redirect_uri {shown} must use the client_id host in reverse-domain order as its \
             scheme (\"{expected}:\")"
        ));
    }
    let after_colon = raw.split_once(':').map_or("", |(_, rest)| rest);
    if !after_colon.starts_with('/') || after_colon.starts_with("//") || url.host().is_some() {
        return Err(format!(
            "redirect_uri {shown} must be the scheme followed by \":/\" and a path, with a single \
             slash (e.g. \"{expected}:/callback\")"
        ));
    }
    Ok(())
}

/// RFC 8252 section 7.3: a requested loopback IP redirect with a port matches a registered one
/// that is the same string without a port.
pub(super) fn loopback_port_match(registered: &str, requested: &str) -> bool {
    let (Some(reg), Some(req)) = (split_loopback(registered), split_loopback(requested)) else {
        return false;
    };
    reg.port.is_none()
        && req.port.is_some()
        && reg.host == req.host
        && reg.rest == req.rest
        && Url::parse(requested).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "app.example.com";
    const PROD: ClientPolicy = ClientPolicy { dev: false };
    const DEV: ClientPolicy = ClientPolicy { dev: true };

    fn web(raw: &str) -> Result<(), String> {
        check_registered(raw, ApplicationType::Web, HOST, PROD)
    }
    fn native(raw: &str) -> Result<(), String> {
        check_registered(raw, ApplicationType::Native, HOST, PROD)
    }

    #[test]
    fn https_redirects_are_allowed_for_both_types() {
        assert!(web("https://app.example.com/cb").is_ok());
        assert!(web("https://other.example.net:8443/cb?x=1").is_ok());
        assert!(native("https://app.example.com/cb").is_ok());
    }

    #[test]
    fn redirect_fragment_is_refused() {
        assert!(web("https://app.example.com/cb#x").is_err());
        assert!(native("com.example.app:/cb#x").is_err());
        assert!(native("http://127.0.0.1/cb#").is_err());
    }

    #[test]
    fn redirect_userinfo_is_refused() {
        assert!(web("https://u:p@app.example.com/cb").is_err());
        assert!(native("http://u@127.0.0.1/cb").is_err());
    }

    #[test]
    fn redirect_must_be_absolute_url() {
        assert!(web("/cb").is_err());
        assert!(web("").is_err());
    }

    #[test]
    fn https_redirect_default_port_is_refused() {
        assert!(web("https://app.example.com:443/cb")
            .unwrap_err()
            .contains("default port"));
    }

    #[test]
    fn https_redirect_local_or_loopback_host_is_refused() {
        for raw in [
            "https://localhost/cb",
            "https://127.0.0.1/cb",
            "https://[::1]/cb",
            "https://intranet/cb",
            "https://printer.local/cb",
        ] {
            assert!(web(raw).is_err(), "{raw}");
            assert!(native(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn http_non_loopback_redirect_is_refused() {
        // checklist 116 (first half)
        assert!(web("http://app.example.com/cb").is_err());
        assert!(native("http://app.example.com/cb").is_err());
    }

    #[test]
    fn loopback_redirect_is_refused_for_web_clients() {
        // checklist 116 (second half)
        assert!(web("http://127.0.0.1/cb").is_err());
        assert!(web("http://[::1]:8080/cb").is_err());
    }

    #[test]
    fn loopback_ip_redirect_is_allowed_for_native_clients() {
        assert!(native("http://127.0.0.1/cb").is_ok());
        assert!(native("http://127.0.0.1:8080/cb?x=1").is_ok());
        assert!(native("http://[::1]/").is_ok());
        assert!(native("http://127.0.0.1").is_ok());
    }

    #[test]
    fn localhost_redirect_is_refused_even_for_native_clients() {
        let err = native("http://localhost:8080/cb").unwrap_err();
        assert!(err.contains("RFC 8252 section 8.3"), "{err}");
    }

    #[test]
    fn loopback_redirect_must_be_written_exactly() {
        assert!(native("http://127.1/cb").is_err());
        assert!(native("http://127.0.0.2/cb").is_err());
        assert!(native("http://[0:0::1]/cb").is_err());
    }

    #[test]
    fn custom_scheme_is_refused_for_web_clients() {
        // checklist 113
        assert!(web("com.example.app:/cb").is_err());
    }

    #[test]
    fn custom_scheme_must_be_reversed_client_host() {
        // checklist 114
        assert!(native("com.example.app:/cb").is_ok());
        assert!(native("com.other.app:/cb")
            .unwrap_err()
            .contains("com.example.app"));
        assert!(native("com.example:/cb").is_err());
        assert!(native("com.example.app.evil:/cb").is_err());
    }

    #[test]
    fn custom_scheme_needs_a_single_slash() {
        assert!(native("com.example.app://cb").is_err());
        assert!(native("com.example.app:cb").is_err());
        assert!(native("com.example.app:/").is_ok());
    }

    #[test]
    fn other_schemes_are_refused() {
        for raw in [
            "myapp:/cb",
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
        ] {
            assert!(native(raw).is_err(), "{raw}");
            assert!(web(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn dev_mode_accepts_http_and_local_hosts() {
        for raw in [
            "http://app.atauth-test.internal:8080/cb",
            "http://127.0.0.1:1/cb",
            "https://localhost/cb",
        ] {
            assert!(
                check_registered(raw, ApplicationType::Web, HOST, DEV).is_ok(),
                "{raw}"
            );
        }
        assert!(check_registered("myapp:/cb", ApplicationType::Native, HOST, DEV).is_err());
        assert!(check_registered("https://a.test/#x", ApplicationType::Web, HOST, DEV).is_err());
    }

    #[test]
    fn loopback_port_is_ignored_only_when_registered_without_port() {
        // checklist 109
        assert!(loopback_port_match(
            "http://127.0.0.1/",
            "http://127.0.0.1:5173/"
        ));
        assert!(loopback_port_match(
            "http://[::1]/cb?a=1",
            "http://[::1]:1/cb?a=1"
        ));
        assert!(!loopback_port_match(
            "http://127.0.0.1:80/",
            "http://127.0.0.1:5173/"
        ));
        assert!(!loopback_port_match(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:5173/other"
        ));
        assert!(!loopback_port_match(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:5173/cb?x"
        ));
        assert!(!loopback_port_match(
            "http://127.0.0.1/",
            "http://[::1]:5173/"
        ));
        assert!(!loopback_port_match(
            "http://127.0.0.1/",
            "http://localhost:5173/"
        ));
        assert!(!loopback_port_match(
            "https://app.example.com/",
            "https://app.example.com:1/"
        ));
        assert!(!loopback_port_match(
            "http://127.0.0.1/",
            "http://127.0.0.1:99999/"
        ));
    }
}
