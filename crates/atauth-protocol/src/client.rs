//! Client identification: loopback clients, client metadata documents, redirect URI rules.
//!
//! HELPER-OWNED: signatures below are the contract.

use crate::OAuthError;
use serde_json::Value;

/// What the server may relax in dev mode (profile section 4); everything strict by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientPolicy {
    /// Accept `http://` client_id URLs and logo/tos/policy URIs on loopback hosts.
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
    pub fn display_name(&self) -> String {
        todo!()
    }
    /// Picks the redirect URI for a request (RFC 6749 section 3.1.2.3, RFC 8252 section 7.3):
    /// exact match, except loopback IP redirects where the port is ignored; when omitted, the
    /// only registered one. Errors are `invalid_request`.
    pub fn resolve_redirect_uri(&self, _requested: Option<&str>) -> Result<String, OAuthError> {
        todo!()
    }
}

/// Classifies a `client_id` and checks its URL form. Errors are `invalid_client_metadata`
/// (or `invalid_client` for an empty / non-URL value).
pub fn classify_client_id(_client_id: &str, _policy: ClientPolicy) -> Result<ClientIdKind, OAuthError> {
    todo!()
}

/// The implied metadata of a loopback client (`http://localhost?redirect_uri=..&scope=..`).
pub fn loopback_client_metadata(_client_id: &str) -> Result<ClientMetadata, OAuthError> {
    todo!()
}

/// Validates a fetched client metadata document for `client_id`.
/// Errors are `invalid_client_metadata` or `invalid_redirect_uri` with a precise description.
pub fn validate_client_metadata(
    _client_id: &str,
    _document: &Value,
    _policy: ClientPolicy,
) -> Result<ClientMetadata, OAuthError> {
    todo!()
}
