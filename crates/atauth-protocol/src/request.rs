//! Authorization request validation at PAR (RFC 9126, RFC 6749 section 4.1.1, atproto profile).
//!
//! HELPER-OWNED: signatures below are the contract.

use crate::client::ClientMetadata;
use crate::params::Params;
use crate::scope::ScopeSet;
use crate::OAuthError;
use serde::{Deserialize, Serialize};

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
    _params: &Params,
    _client: &ClientMetadata,
    _proof_jkt: &str,
) -> Result<AuthorizationRequest, OAuthError> {
    todo!()
}
