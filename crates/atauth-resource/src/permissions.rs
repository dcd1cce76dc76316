//! "May this token do X": the granted scope of a verified access token, read once, with the
//! checks a resource server makes before acting (atproto spec "Permissions"; the reference
//! resource server's `ScopePermissionsTransition`, profile section 5.2).
//!
//! `include:` scopes never reach a token (atauth expands them when it issues it), and a value
//! that does not parse allows nothing. The `transition:*` scopes keep their legacy meaning:
//! `transition:generic` allows every repo write and blob upload and every rpc call outside
//! `chat.bsky.*`; `transition:chat.bsky` allows `chat.bsky.*` calls; `transition:email` allows
//! reading the e-mail address.

use atauth_protocol::permission::{
    AccountAction, AccountAttr, IdentityAttr, PermissionRequest, RepoAction, ScopeGrant,
    StaticScope,
};
use atauth_protocol::{ErrorCode, OAuthError};

/// The permissions of one access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPermissions {
    grant: ScopeGrant,
}

impl TokenPermissions {
    /// Reads a token's space-separated `scope` claim.
    pub fn from_scope(scope: &str) -> Self {
        Self {
            grant: ScopeGrant::parse(scope),
        }
    }

    /// The parsed grant, for checks this type has no shortcut for.
    pub fn grant(&self) -> &ScopeGrant {
        &self.grant
    }

    /// Whether the token carries `atproto` (every atproto session has it; the PDS refuses a
    /// token without it).
    pub fn is_atproto(&self) -> bool {
        self.grant.has_static(StaticScope::Atproto)
    }

    pub fn allows(&self, request: &PermissionRequest<'_>) -> bool {
        self.grant.allows(request)
    }

    /// Create, update or delete a record of `collection` (an NSID).
    pub fn may_write_record(&self, collection: &str, action: RepoAction) -> bool {
        self.allows(&PermissionRequest::RepoWrite { collection, action })
    }

    /// Call method `lxm` on the service `aud` (`did:…#service`).
    pub fn may_call(&self, lxm: &str, aud: &str) -> bool {
        self.allows(&PermissionRequest::RpcCall { lxm, aud })
    }

    /// Upload a blob of MIME type `mime`.
    pub fn may_upload_blob(&self, mime: &str) -> bool {
        self.allows(&PermissionRequest::BlobUpload { mime })
    }

    /// Read or manage an account attribute.
    pub fn may_account(&self, attr: AccountAttr, action: AccountAction) -> bool {
        self.allows(&PermissionRequest::Account { attr, action })
    }

    /// Change an identity attribute.
    pub fn may_identity(&self, attr: IdentityAttr) -> bool {
        self.allows(&PermissionRequest::Identity { attr })
    }

    /// `Ok` when the token allows `request`, else 403 `insufficient_scope` (RFC 6750 section
    /// 3.1) naming the scope that would allow it.
    pub fn require(&self, request: &PermissionRequest<'_>) -> Result<(), OAuthError> {
        if self.allows(request) {
            return Ok(());
        }
        Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            format!("Missing required scope \"{}\"", request.scope_needed()),
        ))
    }
}
