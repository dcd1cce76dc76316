//! What is stored behind a `request_uri`: the validated request, plus how the client
//! authenticated when it pushed it.

use atauth_protocol::permission::PermissionSet;
use atauth_protocol::request::AuthorizationRequest;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRequest {
    #[serde(flatten)]
    pub request: AuthorizationRequest,
    /// Thumbprint of the key a confidential client authenticated with at PAR: only that key may
    /// redeem the code (the reference provider binds the client key at this point as well).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_thumbprint: Option<String>,
    /// The permission set of every `include:` in the scope, resolved once at PAR so consent and
    /// the token use the same version (profile section 5.4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permission_sets: Vec<PermissionSet>,
}

impl StoredRequest {
    pub fn to_json(&self) -> Option<String> {
        serde_json::to_string(self).ok()
    }

    pub fn from_json(json: &str) -> Option<Self> {
        serde_json::from_str(json).ok()
    }
}
