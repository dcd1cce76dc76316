//! `account`: control of PDS account hosting details (atproto spec "account").
//!
//! Parameters: `attr` (single, required, positional: `email`, `repo`, and `status`, which the
//! reference adds beyond the spec text) and `action` (multi, optional, `read` / `manage`, default
//! `read`). `manage` includes `read`. Normalised form: `action` omitted when it is just `read`;
//! otherwise deduplicated in the order given (the reference does not sort it).

use super::syntax::{Params, RawScope, ScopeWriter};
use super::ParseError;

/// An account attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountAttr {
    /// The account e-mail address and its verification status.
    Email,
    /// The whole repository as a CAR file (`manage` = import, e.g. for migration).
    Repo,
    /// Hosting status (activation); reference only, not in the spec text.
    Status,
}

impl AccountAttr {
    pub const ALL: [AccountAttr; 3] = [Self::Email, Self::Repo, Self::Status];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Repo => "repo",
            Self::Status => "status",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The degree of control over an account attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountAction {
    Read,
    /// Change the attribute; implies [`AccountAction::Read`].
    Manage,
}

impl AccountAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Manage => "manage",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [Self::Read, Self::Manage]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// A parsed, normalised `account` permission.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountPermission {
    attr: AccountAttr,
    /// Distinct, in first-given order, never empty.
    actions: Vec<AccountAction>,
}

impl AccountPermission {
    pub(crate) const RESOURCE: &'static str = "account";

    pub(crate) fn from_raw(raw: &RawScope<'_>) -> Result<Self, ParseError> {
        let params = Params::new(raw, &["attr", "action"], "attr")?;
        let attr = match params.single("attr")? {
            Some(v) => AccountAttr::from_name(v).ok_or_else(|| ParseError::invalid("attr", v))?,
            None => return Err(ParseError::Missing("attr")),
        };
        let mut actions = Vec::new();
        match params.multi("action")? {
            Some(values) => {
                for v in values {
                    let action = AccountAction::from_name(v)
                        .ok_or_else(|| ParseError::invalid("action", v))?;
                    if !actions.contains(&action) {
                        actions.push(action);
                    }
                }
            }
            None => actions.push(AccountAction::Read),
        }
        Ok(Self { attr, actions })
    }

    pub fn attr(&self) -> AccountAttr {
        self.attr
    }

    pub fn actions(&self) -> &[AccountAction] {
        &self.actions
    }

    /// Whether `action` on `attr` is allowed (`manage` implies `read`).
    pub fn allows(&self, attr: AccountAttr, action: AccountAction) -> bool {
        self.attr == attr
            && (self.actions.contains(&AccountAction::Manage) || self.actions.contains(&action))
    }

    pub fn to_scope_string(&self) -> String {
        let mut w = ScopeWriter::new(Self::RESOURCE).positional(self.attr.as_str());
        if self.actions != [AccountAction::Read] {
            for a in &self.actions {
                w = w.param("action", a.as_str());
            }
        }
        w.finish()
    }
}
