//! Scope values: `atproto`, `transition:*`, and pass-through of others the client declared.
//! (The full permission grammar arrives with its own issue.)
//!
//! HELPER-OWNED: signatures below are the contract.

use crate::OAuthError;

pub const ATPROTO: &str = "atproto";
pub const TRANSITION_GENERIC: &str = "transition:generic";
pub const TRANSITION_EMAIL: &str = "transition:email";
pub const TRANSITION_CHAT_BSKY: &str = "transition:chat.bsky";

/// An ordered set of distinct scope values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(Vec<String>);

impl ScopeSet {
    pub fn parse(_s: &str) -> Self {
        todo!()
    }
    pub fn contains(&self, _v: &str) -> bool {
        todo!()
    }
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Space-separated form.
    pub fn to_scope_string(&self) -> String {
        self.0.join(" ")
    }
}

/// Validates a requested scope against the client's declared scope (which acts as an allow-list):
/// `atproto` is required, `openid` refused, undeclared values refused (`invalid_scope`);
/// declared values that are not syntactically valid scopes are dropped (profile section 3).
pub fn validate_requested(_requested: &str, _declared: &str) -> Result<ScopeSet, OAuthError> {
    todo!()
}

/// Narrowing at consent: the granted scope is the requested one minus what the member withheld;
/// values never requested are ignored; `atproto` cannot be withheld (`access_denied`).
pub fn narrow(_requested: &ScopeSet, _granted: &str) -> Result<ScopeSet, OAuthError> {
    todo!()
}

/// Plain-language descriptions for the consent page, one per scope value.
pub fn describe(_scope: &ScopeSet) -> Vec<String> {
    todo!()
}
