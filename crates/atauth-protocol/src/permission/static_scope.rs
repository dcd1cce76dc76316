//! The static scopes: `atproto` and the `transition:*` scopes (atproto OAuth spec "Scopes";
//! profile section 5.2). They take no parameters and are matched literally.

use super::grant::PermissionRequest;
use super::AccountAction;
use super::AccountAttr;

/// A literal, parameterless scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaticScope {
    /// `atproto`: required for every atproto session; grants nothing by itself.
    Atproto,
    /// `transition:generic`: the legacy "App Password"-like access.
    TransitionGeneric,
    /// `transition:email`: read the account e-mail.
    TransitionEmail,
    /// `transition:chat.bsky`: Bluesky chat rpc calls.
    TransitionChatBsky,
}

/// The lxm prefix `transition:generic` excludes and `transition:chat.bsky` covers.
const CHAT_BSKY_PREFIX: &str = "chat.bsky.";

impl StaticScope {
    pub const ALL: [StaticScope; 4] = [
        Self::Atproto,
        Self::TransitionGeneric,
        Self::TransitionEmail,
        Self::TransitionChatBsky,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Atproto => "atproto",
            Self::TransitionGeneric => "transition:generic",
            Self::TransitionEmail => "transition:email",
            Self::TransitionChatBsky => "transition:chat.bsky",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// What the transition scopes allow at a resource server, as the reference PDS enforces them
    /// (profile section 5.2, the transition scopes):
    /// - `transition:generic`: every repo write and blob upload, and every rpc call whose lxm is
    ///   `*` or does not start with `chat.bsky.`;
    /// - `transition:chat.bsky`: rpc calls whose lxm starts with `chat.bsky.`;
    /// - `transition:email`: reading `account:email`.
    ///
    /// Nothing else (no `identity`, no other `account` attribute, no e-mail change).
    pub fn transition_allows(self, request: &PermissionRequest<'_>) -> bool {
        match (self, request) {
            (
                Self::TransitionGeneric,
                PermissionRequest::RepoWrite { .. } | PermissionRequest::BlobUpload { .. },
            ) => true,
            (Self::TransitionGeneric, PermissionRequest::RpcCall { lxm, .. }) => {
                *lxm == "*" || !lxm.starts_with(CHAT_BSKY_PREFIX)
            }
            (Self::TransitionChatBsky, PermissionRequest::RpcCall { lxm, .. }) => {
                lxm.starts_with(CHAT_BSKY_PREFIX)
            }
            (
                Self::TransitionEmail,
                PermissionRequest::Account {
                    attr: AccountAttr::Email,
                    action: AccountAction::Read,
                },
            ) => true,
            _ => false,
        }
    }
}
