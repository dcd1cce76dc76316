//! Validation of a fetched client metadata document (atproto spec "Client ID Metadata
//! Document", RFC 7591 section 2, reference `validateClientMetadata`).
//!
//! Field rules, in the order they are checked:
//! - `client_id`: required, equal to the requested client_id;
//! - `dpop_bound_access_tokens`: must be `true`;
//! - `application_type`: `web` (default) or `native`;
//! - `token_endpoint_auth_method`: required (RFC 7591's default `client_secret_basic` is not
//!   supported), `none` or `private_key_jwt`. `none` takes no `token_endpoint_auth_signing_alg`.
//!   `private_key_jwt`: the alg is optional (atproto spec) but, if present, `ES256` or `ES256K`;
//!   exactly one of `jwks` (non-empty public keys) / `jwks_uri` (https); not for native clients;
//! - `grant_types`: default `["authorization_code"]` (RFC 7591), must include it, only it and
//!   `refresh_token`, no duplicates;
//! - `response_types`: default `["code"]`, only `code`;
//! - `scope`: required, RFC 6749 tokens, no duplicates, includes `atproto`;
//! - `redirect_uris`: required, non-empty, each per `redirect.rs` (`invalid_redirect_uri`);
//! - `client_uri` (same host as the client_id, atproto spec), `logo_uri`, `tos_uri`,
//!   `policy_uri`: https if present (profile difference 10; http too in dev mode).
//!
//! Optional display fields that are `null` or `""` count as absent. For public clients `jwks`
//! and `jwks_uri` are ignored (dropped from the result). Other fields are ignored.

use super::client_id::check_declared_scope;
use super::redirect::check_registered;
use super::uri::{check_web_url, quote};
use super::{
    classify_client_id, ApplicationType, AuthMethod, ClientIdKind, ClientMetadata, ClientPolicy,
};
use crate::OAuthError;
use serde_json::{Map, Value};

/// Client-assertion algorithms we verify (profile section 1: ES256, ES256K accepted).
const CLIENT_ASSERTION_ALGS: [&str; 2] = ["ES256", "ES256K"];
/// JWK members that only private or symmetric keys have (RFC 7518 section 6).
const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn bad(d: impl Into<String>) -> OAuthError {
    OAuthError::invalid_client_metadata(d.into())
}

/// Validates a fetched client metadata document for `client_id`.
/// Errors are `invalid_client_metadata` or `invalid_redirect_uri` with a precise description.
pub fn validate_client_metadata(
    client_id: &str,
    document: &Value,
    policy: ClientPolicy,
) -> Result<ClientMetadata, OAuthError> {
    if classify_client_id(client_id, policy)? == ClientIdKind::Loopback {
        return Err(bad("Loopback client ids have no metadata document"));
    }
    let client_url = url::Url::parse(client_id).map_err(|_| {
        OAuthError::invalid_client(format!("client_id {} is not a URL", quote(client_id)))
    })?;
    let client_host = client_url.host_str().unwrap_or_default();
    let doc = Doc(document
        .as_object()
        .ok_or_else(|| bad("Client metadata must be a JSON object"))?);

    match doc.string("client_id")? {
        Some(id) if id == client_id => {}
        Some(id) => {
            return Err(bad(format!(
                "Client metadata client_id {} does not match the requested client_id {}",
                quote(id),
                quote(client_id)
            )))
        }
        None => {
            return Err(bad(
                "Client metadata is missing the required field \"client_id\"",
            ))
        }
    }
    if doc.get("dpop_bound_access_tokens") != Some(&Value::Bool(true)) {
        return Err(bad(
            "Client metadata must set \"dpop_bound_access_tokens\" to true",
        ));
    }
    let application_type = match doc.string("application_type")? {
        None | Some("web") => ApplicationType::Web,
        Some("native") => ApplicationType::Native,
        Some(other) => {
            return Err(bad(format!(
                "application_type {} is not supported (use \"web\" or \"native\")",
                quote(other)
            )))
        }
    };
    let (token_endpoint_auth_method, jwks, jwks_uri) = auth_method(&doc, application_type, policy)?;

    let grant_types = doc
        .string_array("grant_types")?
        .unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    check_values(
        "grant_types",
        &grant_types,
        &["authorization_code", "refresh_token"],
    )?;
    if !grant_types.iter().any(|g| g == "authorization_code") {
        return Err(bad("grant_types must include \"authorization_code\""));
    }
    let response_types = doc
        .string_array("response_types")?
        .unwrap_or_else(|| vec!["code".to_owned()]);
    check_values("response_types", &response_types, &["code"])?;
    if response_types.is_empty() {
        return Err(bad("response_types must include \"code\""));
    }

    let scope = match doc.string("scope")? {
        Some(raw) => check_declared_scope(raw, "Client metadata scope")?,
        None => {
            return Err(bad(
                "Client metadata is missing the required field \"scope\"",
            ))
        }
    };

    let redirect_uris = doc
        .string_array("redirect_uris")?
        .ok_or_else(|| bad("Client metadata is missing the required field \"redirect_uris\""))?;
    if redirect_uris.is_empty() {
        return Err(bad("redirect_uris must contain at least one redirect URI"));
    }
    for uri in &redirect_uris {
        check_registered(uri, application_type, client_host, policy)
            .map_err(OAuthError::invalid_redirect_uri)?;
    }

    let client_uri = doc.optional_url("client_uri", policy)?;
    if let Some(uri) = &client_uri {
        let same_host = url::Url::parse(uri).is_ok_and(|u| u.host_str() == Some(client_host));
        if !same_host {
            return Err(bad(format!(
                "client_uri {} must have the same host as the client_id ({client_host})",
                quote(uri)
            )));
        }
    }

    Ok(ClientMetadata {
        client_id: client_id.to_owned(),
        client_name: doc.optional_string("client_name")?,
        client_uri,
        logo_uri: doc.optional_url("logo_uri", policy)?,
        tos_uri: doc.optional_url("tos_uri", policy)?,
        policy_uri: doc.optional_url("policy_uri", policy)?,
        redirect_uris,
        grant_types,
        response_types,
        scope,
        token_endpoint_auth_method,
        application_type,
        dpop_bound_access_tokens: true,
        jwks,
        jwks_uri,
    })
}

type AuthParts = (AuthMethod, Option<Value>, Option<String>);

/// `token_endpoint_auth_method` and its companions.
fn auth_method(
    doc: &Doc<'_>,
    application_type: ApplicationType,
    policy: ClientPolicy,
) -> Result<AuthParts, OAuthError> {
    let alg = doc.string("token_endpoint_auth_signing_alg")?;
    match doc.string("token_endpoint_auth_method")? {
        None => Err(bad(
            "Client metadata is missing the required field \"token_endpoint_auth_method\" \
             (\"none\" or \"private_key_jwt\")",
        )),
        Some("none") => match alg {
            Some(alg) => Err(bad(format!(
                "token_endpoint_auth_signing_alg {} must not be set when token_endpoint_auth_method is \"none\"",
                quote(alg)
            ))),
            None => Ok((AuthMethod::None, None, None)),
        },
        Some("private_key_jwt") => {
            if application_type == ApplicationType::Native {
                return Err(bad(
                    "Native clients (application_type \"native\") must use token_endpoint_auth_method \"none\"",
                ));
            }
            if let Some(alg) = alg.filter(|a| !CLIENT_ASSERTION_ALGS.contains(a)) {
                return Err(bad(format!(
                    "token_endpoint_auth_signing_alg {} is not supported (use \"ES256\" or \"ES256K\")",
                    quote(alg)
                )));
            }
            match (doc.get("jwks"), doc.optional_url("jwks_uri", policy)?) {
                (Some(jwks), None) => {
                    check_jwks(jwks)?;
                    Ok((AuthMethod::PrivateKeyJwt, Some(jwks.clone()), None))
                }
                (None, Some(uri)) => Ok((AuthMethod::PrivateKeyJwt, None, Some(uri))),
                (Some(_), Some(_)) => Err(bad(
                    "private_key_jwt clients must provide either \"jwks\" or \"jwks_uri\", not both",
                )),
                (None, None) => Err(bad(
                    "private_key_jwt clients must provide their public keys in \"jwks\" or \"jwks_uri\"",
                )),
            }
        }
        Some(other) => Err(bad(format!(
            "token_endpoint_auth_method {} is not supported (use \"none\" or \"private_key_jwt\")",
            quote(other)
        ))),
    }
}

/// An inline JWKS: an object whose `keys` is a non-empty array of public JWK objects.
fn check_jwks(jwks: &Value) -> Result<(), OAuthError> {
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("jwks must be a JSON object with a \"keys\" array"))?;
    if keys.is_empty() {
        return Err(bad("jwks must contain at least one key"));
    }
    for (i, key) in keys.iter().enumerate() {
        let key = key
            .as_object()
            .ok_or_else(|| bad(format!("jwks key {i} is not a JSON object")))?;
        if let Some(member) = PRIVATE_JWK_MEMBERS.iter().find(|m| key.contains_key(**m)) {
            return Err(bad(format!(
                "jwks key {i} contains the private member \"{member}\": publish public keys only"
            )));
        }
    }
    Ok(())
}

/// Each value allowed, none twice.
fn check_values(field: &str, values: &[String], allowed: &[&str]) -> Result<(), OAuthError> {
    for (i, v) in values.iter().enumerate() {
        if !allowed.contains(&v.as_str()) {
            return Err(bad(format!(
                "{field} contains {}, which is not allowed (allowed: {})",
                quote(v),
                allowed.join(", ")
            )));
        }
        if values[..i].contains(v) {
            return Err(bad(format!("{field} contains {} more than once", quote(v))));
        }
    }
    Ok(())
}

/// Typed access to the document's fields; `null` counts as absent.
struct Doc<'a>(&'a Map<String, Value>);

impl<'a> Doc<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }
    fn string(&self, key: &str) -> Result<Option<&'a str>, OAuthError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(bad(format!(
                "Client metadata field \"{key}\" must be a string"
            ))),
        }
    }
    /// A string where `""` also counts as absent (optional display fields).
    fn optional_string(&self, key: &str) -> Result<Option<String>, OAuthError> {
        Ok(self
            .string(key)?
            .filter(|s| !s.is_empty())
            .map(str::to_owned))
    }
    fn optional_url(&self, key: &str, policy: ClientPolicy) -> Result<Option<String>, OAuthError> {
        let Some(raw) = self.optional_string(key)? else {
            return Ok(None);
        };
        check_web_url(key, &raw, policy).map_err(bad)?;
        Ok(Some(raw))
    }
    fn string_array(&self, key: &str) -> Result<Option<Vec<String>>, OAuthError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let not_array = || {
            bad(format!(
                "Client metadata field \"{key}\" must be an array of strings"
            ))
        };
        value
            .as_array()
            .ok_or_else(not_array)?
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(not_array))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

#[cfg(test)]
mod tests;
