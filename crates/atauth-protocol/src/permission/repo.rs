//! `repo`: write access to records in the account's public repository (atproto spec "repo").
//!
//! Parameters: `collection` (multi, required, positional: NSID or `*`) and `action` (multi,
//! optional, `create` / `update` / `delete`, default all three). Normalised form: collections
//! collapsed to `*` or sorted and deduplicated, actions in the order create, update, delete and
//! omitted when all three (profile section 5.2).

use std::collections::BTreeSet;

use super::nsid::NsidSelector;
use super::syntax::{Params, RawScope, ScopeWriter};
use super::ParseError;

/// A record operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RepoAction {
    Create,
    Update,
    Delete,
}

impl RepoAction {
    pub const ALL: [RepoAction; 3] = [Self::Create, Self::Update, Self::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A parsed, normalised `repo` permission.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoPermission {
    collections: NsidSelector,
    actions: BTreeSet<RepoAction>,
}

impl RepoPermission {
    pub(crate) const RESOURCE: &'static str = "repo";

    pub(crate) fn from_raw(raw: &RawScope<'_>) -> Result<Self, ParseError> {
        let params = Params::new(raw, &["collection", "action"], "collection")?;
        let collections = match params.multi("collection")? {
            Some(values) => NsidSelector::from_values("collection", &values)?,
            None => return Err(ParseError::Missing("collection")),
        };
        let actions = match params.multi("action")? {
            Some(values) => values
                .iter()
                .map(|v| RepoAction::from_name(v).ok_or_else(|| ParseError::invalid("action", v)))
                .collect::<Result<BTreeSet<_>, _>>()?,
            None => RepoAction::ALL.into_iter().collect(),
        };
        Ok(Self {
            collections,
            actions,
        })
    }

    pub fn collections(&self) -> &NsidSelector {
        &self.collections
    }

    /// The allowed actions, in the order create, update, delete (never empty).
    pub fn actions(&self) -> impl Iterator<Item = RepoAction> + '_ {
        self.actions.iter().copied()
    }

    /// Whether this permission allows `action` on records of `collection`.
    pub fn allows(&self, collection: &str, action: RepoAction) -> bool {
        self.actions.contains(&action) && self.collections.matches(collection)
    }

    pub fn to_scope_string(&self) -> String {
        let mut w = ScopeWriter::new(Self::RESOURCE);
        let collections = self.collections.values();
        if let [one] = collections.as_slice() {
            w = w.positional(one);
        } else {
            for c in &collections {
                w = w.param("collection", c);
            }
        }
        if self.actions.len() != RepoAction::ALL.len() {
            for a in &self.actions {
                w = w.param("action", a.as_str());
            }
        }
        w.finish()
    }
}
