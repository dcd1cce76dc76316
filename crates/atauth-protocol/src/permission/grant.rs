//! What a token's scope allows: [`PermissionRequest`] and [`ScopeGrant`] (the resource-server
//! side of the atproto permission spec; reference `ScopePermissionsTransition`).

use super::syntax::ScopeWriter;
use super::{AccountAction, AccountAttr, IdentityAttr, Permission, RepoAction, StaticScope};

/// One operation a resource server is about to perform on behalf of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionRequest<'a> {
    /// Write a record of `collection` (an NSID).
    RepoWrite {
        collection: &'a str,
        action: RepoAction,
    },
    /// Call method `lxm` (an NSID) on service `aud` (a DID service reference `did:…#fragment`).
    RpcCall { lxm: &'a str, aud: &'a str },
    /// Upload a blob of MIME type `mime` (`type/subtype`).
    BlobUpload { mime: &'a str },
    /// Read or change an account attribute.
    Account {
        attr: AccountAttr,
        action: AccountAction,
    },
    /// Change an identity attribute ([`IdentityAttr::Any`]: arbitrary DID document changes).
    Identity { attr: IdentityAttr },
}

impl PermissionRequest<'_> {
    /// The narrowest scope value that would allow this request, for error messages and
    /// `WWW-Authenticate` hints (reference `scopeNeededFor`). Not validated: it echoes the
    /// request's own strings.
    pub fn scope_needed(&self) -> String {
        match *self {
            Self::RepoWrite { collection, action } => ScopeWriter::new("repo")
                .positional(collection)
                .param("action", action.as_str())
                .finish(),
            Self::RpcCall { lxm, aud } => ScopeWriter::new("rpc")
                .positional(lxm)
                .param("aud", aud)
                .finish(),
            Self::BlobUpload { mime } => ScopeWriter::new("blob").positional(mime).finish(),
            Self::Account { attr, action } => {
                let w = ScopeWriter::new("account").positional(attr.as_str());
                match action {
                    AccountAction::Read => w,
                    AccountAction::Manage => w.param("action", action.as_str()),
                }
                .finish()
            }
            Self::Identity { attr } => ScopeWriter::new("identity")
                .positional(attr.as_str())
                .finish(),
        }
    }
}

/// The parsed permissions of a token's (or a grant's) space-separated scope string.
///
/// Values that do not parse are left out, as the reference resource server ignores them; they
/// can never allow anything. Duplicates (after normalisation) are kept once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeGrant {
    permissions: Vec<Permission>,
}

impl ScopeGrant {
    /// Parses a space-separated scope string, skipping empty and invalid values.
    pub fn parse(scope: &str) -> Self {
        Self::from_permissions(scope.split(' ').filter_map(|v| Permission::parse(v).ok()))
    }

    pub fn from_permissions(permissions: impl IntoIterator<Item = Permission>) -> Self {
        let mut out: Vec<Permission> = Vec::new();
        for p in permissions {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        Self { permissions: out }
    }

    pub fn permissions(&self) -> &[Permission] {
        &self.permissions
    }

    pub fn has_static(&self, scope: StaticScope) -> bool {
        self.permissions.contains(&Permission::Static(scope))
    }

    /// Whether the grant allows `request`: some granular permission allows it, or a `transition:*`
    /// scope does ([`StaticScope::transition_allows`]).
    pub fn allows(&self, request: &PermissionRequest<'_>) -> bool {
        self.permissions.iter().any(|p| match p {
            Permission::Static(s) => s.transition_allows(request),
            other => other.allows(request),
        })
    }

    /// The normalised scope string: each value normalised, then sorted and deduplicated (the
    /// reference's `normalizeAtprotoOauthScope`, plus deduplication).
    pub fn to_scope_string(&self) -> String {
        let mut values: Vec<String> = self
            .permissions
            .iter()
            .map(Permission::to_scope_string)
            .collect();
        values.sort();
        values.dedup();
        values.join(" ")
    }
}
