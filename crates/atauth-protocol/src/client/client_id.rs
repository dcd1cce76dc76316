//! `client_id` forms (atproto spec "Clients" and "Localhost Client Development").
//!
//! A **loopback** client_id is, as a raw string, `http://localhost`, optionally followed by `/`,
//! optionally followed by `?` and a query: no port, no other path, no fragment, and only the
//! query keys `redirect_uri` (repeatable) and `scope` (at most once). The spec says the path
//! "must be empty (`/`)"; the reference accepts both spellings, and so do we. IP addresses
//! (`http://127.0.0.1/`) and ports (`http://localhost:8080/`) are never loopback client ids.
//!
//! Anything else is a **discoverable** client_id: an https URL in canonical form (as the WHATWG
//! parser serialises it), without user info or fragment, whose path is neither empty, `/`, nor
//! ends in `/`. In production the host must be a public-looking domain name (not an IP literal,
//! not single-label, not `*.localhost`/`*.local`/`*.invalid`) and no port may be written. Dev
//! mode also accepts `http`, any host and any port. Whether the host resolves to a public
//! address is the fetcher's business (atauth-fetch).

use super::redirect::check_loopback_ip;
use super::uri::{has_explicit_port, has_userinfo, is_local_hostname, quote};
use super::{ApplicationType, AuthMethod, ClientIdKind, ClientMetadata, ClientPolicy};
use crate::scope::{self, ScopeSet};
use crate::OAuthError;
use url::{Host, Url};

const LOOPBACK_ORIGIN: &str = "http://localhost";
/// Redirect URIs of a loopback client that declares none (atproto spec).
pub const LOOPBACK_DEFAULT_REDIRECT_URIS: [&str; 2] = ["http://127.0.0.1/", "http://[::1]/"];

/// Classifies a `client_id` and checks its URL form. Errors are `invalid_client_metadata`
/// (or `invalid_client` for an empty / non-URL value).
pub fn classify_client_id(
    client_id: &str,
    policy: ClientPolicy,
) -> Result<ClientIdKind, OAuthError> {
    if client_id.is_empty() {
        return Err(OAuthError::invalid_client(
            "Missing required parameter \"client_id\"",
        ));
    }
    if let Some(query) = loopback_query(client_id) {
        parse_loopback_query(query)?;
        return Ok(ClientIdKind::Loopback);
    }
    let url = Url::parse(client_id).map_err(|_| {
        OAuthError::invalid_client(format!("client_id {} is not a URL", quote(client_id)))
    })?;
    check_discoverable(client_id, &url, policy).map_err(OAuthError::invalid_client_metadata)?;
    Ok(ClientIdKind::Discoverable {
        metadata_url: client_id.to_owned(),
    })
}

/// The implied metadata of a loopback client (`http://localhost?redirect_uri=..&scope=..`).
pub fn loopback_client_metadata(client_id: &str) -> Result<ClientMetadata, OAuthError> {
    let query = loopback_query(client_id).ok_or_else(|| {
        OAuthError::invalid_client_metadata(format!(
            "client_id {} is not a loopback client id (\"http://localhost\" without port or path)",
            quote(client_id)
        ))
    })?;
    let (redirect_uris, scope) = parse_loopback_query(query)?;
    Ok(ClientMetadata {
        client_id: client_id.to_owned(),
        client_name: None,
        client_uri: None,
        logo_uri: None,
        tos_uri: None,
        policy_uri: None,
        redirect_uris,
        grant_types: vec!["authorization_code".to_owned(), "refresh_token".to_owned()],
        response_types: vec!["code".to_owned()],
        scope,
        token_endpoint_auth_method: AuthMethod::None,
        application_type: ApplicationType::Native,
        dpop_bound_access_tokens: true,
        jwks: None,
        jwks_uri: None,
    })
}

/// `Some(query)` when `raw` has the loopback form; the inner value is the query (after `?`),
/// which may still contain a fragment (refused by the query parser).
fn loopback_query(raw: &str) -> Option<Option<&str>> {
    let rest = raw.strip_prefix(LOOPBACK_ORIGIN)?;
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Some(None);
    }
    rest.strip_prefix('?').map(Some)
}

/// The redirect URIs and normalised scope a loopback client_id's query declares.
fn parse_loopback_query(query: Option<&str>) -> Result<(Vec<String>, String), OAuthError> {
    let query = query.unwrap_or("");
    if query.contains('#') {
        return Err(OAuthError::invalid_client_metadata(
            "Loopback client_id must not contain a fragment",
        ));
    }
    let mut redirect_uris = Vec::new();
    let mut scope: Option<String> = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "redirect_uri" => {
                check_loopback_ip(&value).map_err(|e| {
                    OAuthError::invalid_client_metadata(format!("Loopback client_id: {e}"))
                })?;
                redirect_uris.push(value.into_owned());
            }
            "scope" if scope.is_some() => {
                return Err(OAuthError::invalid_client_metadata(
                    "Loopback client_id query parameter \"scope\" is included more than once",
                ))
            }
            "scope" => scope = Some(check_declared_scope(&value, "Loopback client_id scope")?),
            other => {
                return Err(OAuthError::invalid_client_metadata(format!(
                    "Loopback client_id query parameter {} is not allowed (only redirect_uri and scope)",
                    quote(other)
                )))
            }
        }
    }
    if redirect_uris.is_empty() {
        redirect_uris = LOOPBACK_DEFAULT_REDIRECT_URIS.map(str::to_owned).to_vec();
    }
    Ok((
        redirect_uris,
        scope.unwrap_or_else(|| scope::ATPROTO.to_owned()),
    ))
}

/// A declared scope (loopback query or metadata `scope`): RFC 6749 scope tokens separated by
/// single spaces, no duplicates, including `atproto`. Returns it normalised.
pub(super) fn check_declared_scope(raw: &str, what: &str) -> Result<String, OAuthError> {
    let set = ScopeSet::parse(raw);
    if let Some(bad) = set.iter().find(|v| !scope::is_valid_token(v)) {
        return Err(OAuthError::invalid_client_metadata(format!(
            "{what} value {} contains characters not allowed in a scope (RFC 6749 section 3.3)",
            quote(bad)
        )));
    }
    if set.iter().count() != raw.split(' ').filter(|v| !v.is_empty()).count() {
        return Err(OAuthError::invalid_client_metadata(format!(
            "{what} {} contains duplicate values",
            quote(raw)
        )));
    }
    if !set.contains(scope::ATPROTO) {
        return Err(OAuthError::invalid_client_metadata(format!(
            "{what} {} must include \"atproto\"",
            quote(raw)
        )));
    }
    Ok(set.to_scope_string())
}

/// The discoverable client_id rules; the error is a description.
fn check_discoverable(raw: &str, url: &Url, policy: ClientPolicy) -> Result<(), String> {
    let shown = quote(raw);
    let host = url.host();
    match url.scheme() {
        "https" => {}
        "http" if policy.dev => {}
        "http" => {
            let loopback_like = matches!(&host, Some(Host::Domain(d)) if d.eq_ignore_ascii_case("localhost"))
                || matches!(&host, Some(Host::Ipv4(_) | Host::Ipv6(_)));
            return Err(if loopback_like {
                format!(
                    "client_id {shown} is not a valid loopback client id: it must be exactly \
                     \"http://localhost\" (no port, no path, no IP address), optionally with \
                     redirect_uri and scope query parameters"
                )
            } else {
                format!("client_id {shown} must use https")
            });
        }
        _ => return Err(format!("client_id {shown} must be an https URL")),
    }
    if has_userinfo(url) {
        return Err(format!(
            "client_id {shown} must not contain user credentials"
        ));
    }
    if raw.contains('#') {
        return Err(format!("client_id {shown} must not contain a fragment"));
    }
    if !policy.dev {
        match &host {
            Some(Host::Domain(d)) if !is_local_hostname(d) => {}
            Some(Host::Domain(_)) => {
                return Err(format!("client_id {shown} must use a public domain name"));
            }
            Some(Host::Ipv4(_) | Host::Ipv6(_)) => {
                return Err(format!(
                    "client_id {shown} must use a domain name, not an IP address"
                ));
            }
            None => return Err(format!("client_id {shown} has no host")),
        }
        if has_explicit_port(raw) {
            return Err(format!("client_id {shown} must not include a port number"));
        }
    }
    let path = url.path();
    if path == "/" {
        return Err(format!(
            "client_id {shown} must have a path (e.g. /client-metadata.json), not an empty path or \"/\""
        ));
    }
    if path.ends_with('/') {
        return Err(format!(
            "client_id {shown} must not end its path with \"/\""
        ));
    }
    if url.as_str() != raw {
        return Err(format!(
            "client_id {shown} is not in canonical URL form (expected {})",
            quote(url.as_str())
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
