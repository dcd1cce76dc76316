//! `include`: a reference to a permission set published as a lexicon (atproto spec "Permission
//! Sets"). Not a permission itself: the authorization server expands it (profile section 5.4,
//! not implemented here).
//!
//! Parameters: `nsid` (single, required, positional: the permission-set NSID) and `aud` (single,
//! optional: an atproto DID service reference, passed down to the set's `inheritAud` rpc
//! entries; `*` is not accepted here).

use super::did::is_atproto_did_ref;
use super::nsid::is_valid_nsid;
use super::syntax::{Params, RawScope, ScopeWriter};
use super::ParseError;

/// A parsed `include:` scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IncludeScope {
    nsid: String,
    aud: Option<String>,
}

impl IncludeScope {
    pub(crate) const RESOURCE: &'static str = "include";

    pub(crate) fn from_raw(raw: &RawScope<'_>) -> Result<Self, ParseError> {
        let params = Params::new(raw, &["nsid", "aud"], "nsid")?;
        let nsid = match params.single("nsid")? {
            Some(v) if is_valid_nsid(v) => v.to_owned(),
            Some(v) => return Err(ParseError::invalid("nsid", v)),
            None => return Err(ParseError::Missing("nsid")),
        };
        let aud = match params.single("aud")? {
            Some(v) if is_atproto_did_ref(v) => Some(v.to_owned()),
            Some(v) => return Err(ParseError::invalid("aud", v)),
            None => None,
        };
        Ok(Self { nsid, aud })
    }

    /// The permission-set NSID.
    pub fn nsid(&self) -> &str {
        &self.nsid
    }

    /// The audience handed to the set's `inheritAud` rpc permissions.
    pub fn aud(&self) -> Option<&str> {
        self.aud.as_deref()
    }

    /// Namespace authority (atproto spec "Namespace Authority"): whether a set with this NSID may
    /// grant permissions on `nsid`, i.e. `nsid` starts with this NSID minus its final name segment,
    /// dot included (`com.example.foo.auth` covers `com.example.foo.*` at any depth). A wildcard is
    /// never covered.
    pub fn is_parent_authority_of(&self, nsid: &str) -> bool {
        if nsid == "*" {
            return false;
        }
        match self.nsid.rfind('.') {
            Some(dot) => {
                nsid.len() > dot + 1 && nsid.as_bytes().starts_with(&self.nsid.as_bytes()[..=dot])
            }
            None => false,
        }
    }

    pub fn to_scope_string(&self) -> String {
        let w = ScopeWriter::new(Self::RESOURCE).positional(&self.nsid);
        match &self.aud {
            Some(aud) => w.param("aud", aud),
            None => w,
        }
        .finish()
    }
}
