//! Client identification: loopback clients, client metadata documents, redirect URI rules.
//!
//! - [`classify_client_id`] and [`loopback_client_metadata`]: `client_id` forms (`client_id.rs`).
//! - [`validate_client_metadata`]: fetched metadata documents (`metadata.rs`).
//! - Redirect URI registration and matching rules (`redirect.rs`).
//!
//! Sources: atproto OAuth spec ("Clients", "Localhost Client Development", "Request Fields"),
//! RFC 7591 (client metadata), RFC 8252 (native apps), and the reference server's behaviour,
//! as profile section 6 states them.

mod client_id;
mod metadata;
mod redirect;
mod uri;

pub use client_id::{classify_client_id, loopback_client_metadata, LOOPBACK_DEFAULT_REDIRECT_URIS};
pub use metadata::validate_client_metadata;

use crate::OAuthError;
use serde_json::Value;

/// What the server may relax in dev mode (profile section 4); everything strict by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientPolicy {
    /// Dev mode: `http://` is accepted wherever `https://` is required (client_id, redirect,
    /// logo/tos/policy/client/jwks URIs), for any host (dev tests map names to loopback), and
    /// host restrictions (IP literals, dotless or local names, explicit ports) are lifted.
    /// Structural rules (no fragment, no user info, path shape, loopback client rules) stay.
    pub dev: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientIdKind {
    /// `http://localhost` with optional `redirect_uri` / `scope` query parameters.
    Loopback,
    /// An https URL whose document must be fetched.
    Discoverable { metadata_url: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    None,
    PrivateKeyJwt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationType {
    Web,
    Native,
}

#[derive(Debug, Clone)]
pub struct ClientMetadata {
    pub client_id: String,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    /// Space-separated scope values the client declared.
    pub scope: String,
    pub token_endpoint_auth_method: AuthMethod,
    pub application_type: ApplicationType,
    pub dpop_bound_access_tokens: bool,
    /// Inline JWKS (confidential clients).
    pub jwks: Option<Value>,
    /// JWKS URL (confidential clients), fetched by the server.
    pub jwks_uri: Option<String>,
}

impl ClientMetadata {
    pub fn is_confidential(&self) -> bool {
        self.token_endpoint_auth_method == AuthMethod::PrivateKeyJwt
    }
    pub fn allows_refresh(&self) -> bool {
        self.grant_types.iter().any(|g| g == "refresh_token")
    }
    /// The name shown to members: `client_name`, else the client_id host.
    ///
    /// A blank `client_name` counts as absent; a loopback client therefore shows `localhost`.
    pub fn display_name(&self) -> String {
        if let Some(name) = self
            .client_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            return name.to_owned();
        }
        url::Url::parse(&self.client_id)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| self.client_id.clone())
    }
    /// Picks the redirect URI for a request (RFC 6749 section 3.1.2.3, RFC 8252 section 7.3):
    /// exact match, except loopback IP redirects where the port is ignored; when omitted, the
    /// only registered one. Errors are `invalid_request`.
    ///
    /// The loopback exception is exact too: a requested `http://127.0.0.1:<port>...` or
    /// `http://[::1]:<port>...` matches a registered URI that is the same string without the
    /// `:<port>`. A registered URI with a port needs that port.
    pub fn resolve_redirect_uri(&self, requested: Option<&str>) -> Result<String, OAuthError> {
        let Some(requested) = requested else {
            return match self.redirect_uris.as_slice() {
                [only] => Ok(only.clone()),
                [] => Err(OAuthError::invalid_request(
                    "The client has no registered redirect_uris",
                )),
                several => Err(OAuthError::invalid_request(format!(
                    "Missing required parameter \"redirect_uri\": the client registered {} redirect URIs",
                    several.len()
                ))),
            };
        };
        if self.redirect_uris.iter().any(|r| r == requested) {
            return Ok(requested.to_owned());
        }
        if self
            .redirect_uris
            .iter()
            .any(|registered| redirect::loopback_port_match(registered, requested))
        {
            return Ok(requested.to_owned());
        }
        Err(OAuthError::invalid_request(format!(
            "redirect_uri {} is not registered in the client metadata",
            uri::quote(requested)
        )))
    }
}

#[cfg(test)]
mod tests;
