//! Small URL helpers shared by the client rules. They look at the *raw* string where the WHATWG
//! parser would normalise away what we must see (explicit default ports, fragments).

use super::ClientPolicy;
use std::net::IpAddr;
use url::{Host, Url};

/// Quotes client-supplied text for an error description, truncated to 200 characters and with
/// control characters escaped.
pub(super) fn quote(s: &str) -> String {
    let shown: String = s.chars().take(200).collect();
    let ellipsis = if shown.len() < s.len() { "..." } else { "" };
    format!("\"{}{ellipsis}\"", shown.escape_debug())
}

/// The authority of `scheme://authority/...` as written, if the URL has one.
fn raw_authority(raw: &str) -> Option<&str> {
    let (_, after) = raw.split_once("://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    Some(&after[..end])
}

/// Whether the raw URL writes a port, even a default one the parser would drop.
pub(super) fn has_explicit_port(raw: &str) -> bool {
    let Some(authority) = raw_authority(raw) else {
        return false;
    };
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    match host_port.strip_prefix('[') {
        Some(v6) => v6
            .split_once(']')
            .is_some_and(|(_, rest)| rest.starts_with(':')),
        None => host_port.contains(':'),
    }
}

pub(super) fn has_userinfo(url: &Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// Host names that never denote a public server: `localhost`, `*.localhost`, `*.local` (mDNS),
/// `*.invalid` (RFC 6761), and single-label names.
pub(super) fn is_local_hostname(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    !host.contains('.')
        || ["localhost", "local", "invalid"]
            .iter()
            .any(|tld| host.rsplit('.').next() == Some(tld))
}

pub(super) fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
        Host::Domain(d) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    }
}

/// Checks an informational or key URL (`client_uri`, `logo_uri`, `tos_uri`, `policy_uri`,
/// `jwks_uri`): an absolute https URL (http too in dev mode) without user info.
/// Returns the parsed URL, or a description of the problem naming `field`.
pub(super) fn check_web_url(field: &str, raw: &str, policy: ClientPolicy) -> Result<Url, String> {
    let url = Url::parse(raw)
        .map_err(|_| format!("{field} {} is not a valid absolute URL", quote(raw)))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.dev => {}
        _ => return Err(format!("{field} {} must be an https URL", quote(raw))),
    }
    if has_userinfo(&url) {
        return Err(format!(
            "{field} {} must not contain user credentials",
            quote(raw)
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_ports_are_seen_even_when_default() {
        assert!(has_explicit_port("https://a.example:443/x"));
        assert!(has_explicit_port("http://[::1]:80/"));
        assert!(has_explicit_port("https://u:p@a.example:8443"));
        assert!(!has_explicit_port("https://u:p@a.example/x:1"));
        assert!(!has_explicit_port("http://[::1]/"));
        assert!(!has_explicit_port("com.example.app:/cb"));
    }

    #[test]
    fn local_hostnames() {
        for h in [
            "localhost",
            "a.localhost",
            "printer.local",
            "x.invalid",
            "intranet",
        ] {
            assert!(is_local_hostname(h), "{h}");
        }
        for h in ["app.example.com", "a.test", "coop.atauth-test.internal"] {
            assert!(!is_local_hostname(h), "{h}");
        }
    }

    #[test]
    fn quote_truncates_and_escapes() {
        assert_eq!(quote("a\nb"), "\"a\\nb\"");
        assert!(quote(&"x".repeat(500)).ends_with("...\""));
    }
}
