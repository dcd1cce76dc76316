//! Discovery documents, generated from the same constants the endpoints enforce.

use crate::tenant::CurrentTenant;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// What the server enforces, and therefore what it advertises.
pub const DPOP_SIGNING_ALGS: &[&str] = &["ES256", "ES256K"];
pub const CLIENT_AUTH_METHODS: &[&str] = &["none", "private_key_jwt"];
pub const CLIENT_AUTH_SIGNING_ALGS: &[&str] = &["ES256", "ES256K"];
pub const SCOPES: &[&str] = &[
    atauth_protocol::scope::ATPROTO,
    atauth_protocol::scope::TRANSITION_GENERIC,
    atauth_protocol::scope::TRANSITION_EMAIL,
    atauth_protocol::scope::TRANSITION_CHAT_BSKY,
];

/// RFC 8414 authorization server metadata with the atproto profile's fields.
pub async fn authorization_server(CurrentTenant(t): CurrentTenant) -> Response {
    let issuer = t.issuer();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": t.url("/oauth/authorize"),
        "token_endpoint": t.url("/oauth/token"),
        "pushed_authorization_request_endpoint": t.url("/oauth/par"),
        "revocation_endpoint": t.url("/oauth/revoke"),
        "introspection_endpoint": t.url("/oauth/introspect"),
        "jwks_uri": t.url("/oauth/jwks"),
        "require_pushed_authorization_requests": true,
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
        "scopes_supported": SCOPES,
        "subject_types_supported": ["public"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "ui_locales_supported": ["en-US"],
        "display_values_supported": ["page"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": CLIENT_AUTH_SIGNING_ALGS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": CLIENT_AUTH_SIGNING_ALGS,
        "introspection_endpoint_auth_methods_supported": ["private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": CLIENT_AUTH_SIGNING_ALGS,
        "dpop_signing_alg_values_supported": DPOP_SIGNING_ALGS,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": true,
        "require_request_uri_registration": true,
        "protected_resources": [t.tenant.resource_server],
    }))
    .into_response()
}

/// RFC 9728 protected resource metadata of the tenant's all-in-one resource server.
pub async fn protected_resource(CurrentTenant(t): CurrentTenant) -> Response {
    Json(json!({
        "resource": t.tenant.resource_server,
        "authorization_servers": [t.issuer()],
        "scopes_supported": SCOPES,
        "bearer_methods_supported": ["header"],
        "resource_documentation": "https://atproto.com",
    }))
    .into_response()
}

/// The tenant's public keys (no private material).
pub async fn jwks(CurrentTenant(t): CurrentTenant) -> Response {
    Json(json!({ "keys": t.public_jwks() })).into_response()
}
