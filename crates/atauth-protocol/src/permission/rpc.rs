//! `rpc`: authenticated calls to remote services, proxied by the PDS or via
//! `com.atproto.server.getServiceAuth` (atproto spec "rpc").
//!
//! Parameters: `lxm` (multi, required, positional: NSID or `*`) and `aud` (single, required in
//! scope strings: `*` or an atproto DID service reference such as
//! `did:web:api.bsky.app#bsky_appview`). `lxm=*` together with `aud=*` is refused: "aud and lxm
//! can not both be wildcard". Normalised form: `lxm` collapsed to `*` or sorted and deduplicated;
//! `aud` written with `#` as `%23`.

use super::did::is_atproto_did_ref;
use super::nsid::NsidSelector;
use super::syntax::{Params, RawScope, ScopeWriter};
use super::ParseError;

/// The service an `rpc` permission may call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Audience {
    /// `*`: any service.
    Any,
    /// A DID service reference, `did:…#fragment`, compared exactly.
    Did(String),
}

impl Audience {
    pub(crate) fn parse(key: &'static str, value: &str) -> Result<Self, ParseError> {
        if value == "*" {
            Ok(Self::Any)
        } else if is_atproto_did_ref(value) {
            Ok(Self::Did(value.to_owned()))
        } else {
            Err(ParseError::invalid(key, value))
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Any => "*",
            Self::Did(did) => did,
        }
    }

    pub fn matches(&self, aud: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Did(did) => did == aud,
        }
    }
}

/// A parsed, normalised `rpc` permission.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RpcPermission {
    lxm: NsidSelector,
    aud: Audience,
}

impl RpcPermission {
    pub(crate) const RESOURCE: &'static str = "rpc";

    pub(crate) fn from_raw(raw: &RawScope<'_>) -> Result<Self, ParseError> {
        let params = Params::new(raw, &["lxm", "aud"], "lxm")?;
        let lxm = match params.multi("lxm")? {
            Some(values) => NsidSelector::from_values("lxm", &values)?,
            None => return Err(ParseError::Missing("lxm")),
        };
        let aud = match params.single("aud")? {
            Some(value) => Audience::parse("aud", value)?,
            None => return Err(ParseError::Missing("aud")),
        };
        if lxm.is_any() && aud == Audience::Any {
            return Err(ParseError::WildcardRpc);
        }
        Ok(Self { lxm, aud })
    }

    pub fn lxm(&self) -> &NsidSelector {
        &self.lxm
    }

    pub fn aud(&self) -> &Audience {
        &self.aud
    }

    /// Whether this permission allows calling method `lxm` on service `aud` (a DID service
    /// reference, `did:…#fragment`, compared exactly).
    pub fn allows(&self, lxm: &str, aud: &str) -> bool {
        self.aud.matches(aud) && self.lxm.matches(lxm)
    }

    pub fn to_scope_string(&self) -> String {
        let mut w = ScopeWriter::new(Self::RESOURCE);
        let lxm = self.lxm.values();
        if let [one] = lxm.as_slice() {
            w = w.positional(one);
        } else {
            for l in &lxm {
                w = w.param("lxm", l);
            }
        }
        w.param("aud", self.aud.as_str()).finish()
    }
}
