//! `identity`: control over the account DID document and handle (atproto spec "identity").
//!
//! Parameter: `attr` (single, required, positional): `handle`, or `*` for full control of the DID
//! document and handle.

use super::syntax::{Params, RawScope, ScopeWriter};
use super::ParseError;

/// An identity attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityAttr {
    /// Update the handle (including its registration in the DID document).
    Handle,
    /// `*`: full control over the DID document and handle.
    Any,
}

impl IdentityAttr {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Handle => "handle",
            Self::Any => "*",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [Self::Handle, Self::Any]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// A parsed `identity` permission.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdentityPermission {
    attr: IdentityAttr,
}

impl IdentityPermission {
    pub(crate) const RESOURCE: &'static str = "identity";

    pub(crate) fn from_raw(raw: &RawScope<'_>) -> Result<Self, ParseError> {
        let params = Params::new(raw, &["attr"], "attr")?;
        match params.single("attr")? {
            Some(v) => Ok(Self {
                attr: IdentityAttr::from_name(v).ok_or_else(|| ParseError::invalid("attr", v))?,
            }),
            None => Err(ParseError::Missing("attr")),
        }
    }

    pub fn attr(&self) -> IdentityAttr {
        self.attr
    }

    /// `identity:*` allows everything; `identity:handle` allows only a handle request (a request
    /// for full control, [`IdentityAttr::Any`], needs `identity:*`).
    pub fn allows(&self, attr: IdentityAttr) -> bool {
        self.attr == IdentityAttr::Any || self.attr == attr
    }

    pub fn to_scope_string(&self) -> String {
        ScopeWriter::new(Self::RESOURCE)
            .positional(self.attr.as_str())
            .finish()
    }
}
