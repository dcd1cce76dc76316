//! Authorization request validation at PAR (RFC 9126, RFC 6749 section 4.1.1, atproto profile).
//!
//! Checks, in order (first failure wins):
//! 1. `request` (JAR) and `request_uri` are refused (`invalid_request`; RFC 9126 section 2.1
//!    forbids `request_uri` at PAR, and we do not support JAR).
//! 2. OpenID Connect parameters `nonce`, `claims`, `id_token_hint` are refused (`invalid_request`),
//!    like the reference. So is `authorization_details` (RFC 9396): no types are supported, and
//!    the reference's `invalid_authorization_details` becomes `invalid_request` at PAR anyway.
//!    `acr_values`, `max_age`, `display` and `ui_locales` are accepted and ignored (OIDC
//!    treats them as voluntary).
//! 3. `response_type` is required (`invalid_request`) and must be `code`
//!    (`unsupported_response_type`).
//! 4. `client_id` must equal the authenticated client's (`invalid_request`; missing is
//!    `invalid_client`, as at PAR without a client).
//! 5. `redirect_uri` via [`ClientMetadata::resolve_redirect_uri`].
//! 6. `state` is required (atproto spec; profile difference 2) and at most 2048 characters.
//! 7. PKCE: `code_challenge` required, `code_challenge_method` required and `S256`
//!    ([`crate::pkce::validate_challenge`]).
//! 8. `scope` is required: the atproto spec lists it as required, and RFC 6749 section 3.3 lets
//!    a server "fail the request indicating an invalid scope" when it is omitted, so a missing
//!    scope is `invalid_scope` (we do not substitute the client's declared scope). It is then
//!    validated by [`scope::validate_requested`].
//! 9. `response_mode`: `query` (default), `fragment` or `form_post`, else `invalid_request`.
//! 10. `prompt`: `none`, `login`, `consent` or `select_account` (one value), else
//!     `invalid_request`; `create` is accepted and ignored (accounts are created by cooperative
//!     operators, so the normal sign-in is shown). `prompt=none` from a public client is
//!     `invalid_request`: their consent cannot be skipped (reference: `consent_required`,
//!     remapped to `invalid_request` at PAR).
//! 11. `login_hint`: a DID (kept as is; DIDs are case-sensitive) or a handle (normalised: `@`
//!     stripped, lowercased), else `invalid_request`.
//! 12. `dpop_jkt`, if present, must equal the PAR proof's thumbprint (RFC 9449 section 10.1).
//!     RFC 9449 names no error code for this; we answer `invalid_request` (a 400 in the PAR error
//!     set) rather than the reference's 401 `invalid_token`, since no token is involved.
//!     The stored `dpop_jkt` is always the proof's thumbprint.

use crate::client::ClientMetadata;
use crate::params::Params;
use crate::scope::{self, ScopeSet};
use crate::{identity, pkce, ErrorCode, OAuthError};
use serde::{Deserialize, Serialize};

/// Maximum `state` length we store and echo.
pub const STATE_MAX_LEN: usize = 2048;
/// Maximum `login_hint` length (a DID may be up to 2048 characters; a handle 253, plus `@`).
pub const LOGIN_HINT_MAX_LEN: usize = identity::DID_MAX_LEN;

/// Parameters refused at PAR, with the reason shown to the client.
const REFUSED_PARAMS: [(&str, &str); 6] = [
    (
        "request",
        "request objects (JAR) are not supported; send the parameters directly",
    ),
    (
        "request_uri",
        "it must not be sent to the pushed authorization request endpoint (RFC 9126 section 2.1)",
    ),
    ("nonce", "OpenID Connect is not supported"),
    ("claims", "OpenID Connect is not supported"),
    ("id_token_hint", "OpenID Connect is not supported"),
    (
        "authorization_details",
        "no authorization_details types are supported",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    None,
    Login,
    Consent,
    SelectAccount,
}

/// A validated authorization request, as stored behind a `request_uri`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub scope: String,
    pub code_challenge: String,
    pub response_mode: ResponseMode,
    pub login_hint: Option<String>,
    pub prompt: Option<Prompt>,
    /// Thumbprint of the DPoP key used at PAR; the code can only be redeemed with that key.
    pub dpop_jkt: String,
}

impl AuthorizationRequest {
    pub fn scopes(&self) -> ScopeSet {
        ScopeSet::parse(&self.scope)
    }
}

/// Validates PAR parameters for `client`. `proof_jkt` is the thumbprint of the PAR's DPoP proof
/// (a `dpop_jkt` parameter must equal it). Errors follow the checklist: `invalid_request`,
/// `invalid_scope`, `unsupported_response_type`, ...
pub fn validate_par(
    params: &Params,
    client: &ClientMetadata,
    proof_jkt: &str,
) -> Result<AuthorizationRequest, OAuthError> {
    if proof_jkt.is_empty() {
        return Err(OAuthError::invalid_dpop_proof(
            "A DPoP proof is required at the pushed authorization request endpoint",
        ));
    }
    for (name, reason) in REFUSED_PARAMS {
        if params.contains(name) {
            return Err(OAuthError::invalid_request(format!(
                "Unsupported parameter \"{name}\": {reason}"
            )));
        }
    }
    check_response_type(params, client)?;
    match params.get("client_id") {
        None => {
            return Err(OAuthError::invalid_client(
                "Missing required parameter \"client_id\"",
            ))
        }
        Some(id) if id != client.client_id => {
            return Err(OAuthError::invalid_request(format!(
                "client_id \"{}\" does not match the authenticated client \"{}\"",
                shorten(id),
                client.client_id
            )))
        }
        Some(_) => {}
    }
    let redirect_uri = client.resolve_redirect_uri(params.get("redirect_uri"))?;
    let state = params.require("state")?;
    if state.chars().count() > STATE_MAX_LEN {
        return Err(OAuthError::invalid_request(format!(
            "state is too long: at most {STATE_MAX_LEN} characters are allowed"
        )));
    }
    let code_challenge = pkce_challenge(params)?;
    let requested_scope = params.get("scope").ok_or_else(|| {
        OAuthError::invalid_scope(
            "Missing required parameter \"scope\"; it must include \"atproto\"",
        )
    })?;
    let scope = scope::validate_requested(requested_scope, &client.scope)?;
    let response_mode = response_mode(params)?;
    let prompt = prompt(params, client)?;
    let login_hint = params
        .get("login_hint")
        .map(normalize_login_hint)
        .transpose()?;
    if let Some(jkt) = params.get("dpop_jkt") {
        if jkt != proof_jkt {
            return Err(OAuthError::invalid_request(
                "dpop_jkt does not match the thumbprint of the DPoP proof key",
            ));
        }
    }
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        state: state.to_owned(),
        scope: scope.to_scope_string(),
        code_challenge: code_challenge.to_owned(),
        response_mode,
        login_hint,
        prompt,
        dpop_jkt: proof_jkt.to_owned(),
    })
}

fn check_response_type(params: &Params, client: &ClientMetadata) -> Result<(), OAuthError> {
    let response_type = params.require("response_type")?;
    if response_type != "code" {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            format!(
                "response_type \"{}\" is not supported; atproto requires \"code\"",
                shorten(response_type)
            ),
        ));
    }
    let client_may_use_code = client.response_types.iter().any(|r| r == "code")
        && client.grant_types.iter().any(|g| g == "authorization_code");
    if !client_may_use_code {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "The client metadata does not allow response_type \"code\" with the authorization_code grant",
        ));
    }
    Ok(())
}

fn pkce_challenge(params: &Params) -> Result<&str, OAuthError> {
    let Some(challenge) = params.get("code_challenge") else {
        return Err(OAuthError::invalid_request(
            "Use of PKCE is required: missing parameter \"code_challenge\"",
        ));
    };
    pkce::validate_challenge(challenge, params.get("code_challenge_method"))?;
    Ok(challenge)
}

fn response_mode(params: &Params) -> Result<ResponseMode, OAuthError> {
    match params.get("response_mode") {
        None | Some("query") => Ok(ResponseMode::Query),
        Some("fragment") => Ok(ResponseMode::Fragment),
        Some("form_post") => Ok(ResponseMode::FormPost),
        Some(other) => Err(OAuthError::invalid_request(format!(
            "response_mode \"{}\" is not supported (use \"query\", \"fragment\" or \"form_post\")",
            shorten(other)
        ))),
    }
}

fn prompt(params: &Params, client: &ClientMetadata) -> Result<Option<Prompt>, OAuthError> {
    let prompt = match params.get("prompt") {
        None | Some("create") => None,
        Some("none") => Some(Prompt::None),
        Some("login") => Some(Prompt::Login),
        Some("consent") => Some(Prompt::Consent),
        Some("select_account") => Some(Prompt::SelectAccount),
        Some(other) => {
            return Err(OAuthError::invalid_request(format!(
                "prompt \"{}\" is not supported (use one of \"none\", \"login\", \"consent\", \
                 \"select_account\")",
                shorten(other)
            )))
        }
    };
    if prompt == Some(Prompt::None) && !client.is_confidential() {
        return Err(OAuthError::invalid_request(
            "prompt \"none\" is not allowed for public clients: the member must consent on the \
             authorization page",
        ));
    }
    Ok(prompt)
}

/// A DID stays as sent; a handle loses a leading `@` and is lowercased.
fn normalize_login_hint(hint: &str) -> Result<String, OAuthError> {
    if hint.len() <= LOGIN_HINT_MAX_LEN {
        if hint.starts_with("did:") {
            if identity::is_valid_did(hint) {
                return Ok(hint.to_owned());
            }
        } else if let Some(handle) = identity::normalize_handle(hint) {
            return Ok(handle);
        }
    }
    Err(OAuthError::invalid_request(format!(
        "login_hint \"{}\" is neither a valid handle nor a valid DID",
        shorten(hint)
    )))
}

/// Echoes at most 100 characters of client input in an error description.
fn shorten(s: &str) -> String {
    let shown: String = s.chars().take(100).collect();
    let ellipsis = if shown.len() < s.len() { "..." } else { "" };
    format!("{}{ellipsis}", shown.escape_debug())
}

#[cfg(test)]
mod tests;
