//! `blob`: uploading media files to the PDS (atproto spec "blob").
//!
//! Parameter: `accept` (multi, required, positional): `*/*`, `type/*` or `type/subtype`.
//! Normalised form (profile section 5.2): anything containing `*/*` collapses to it;
//! otherwise lowercased, `type/subtype` dropped when `type/*` is present, deduplicated and sorted.

use super::mime::{accept_matches, is_accept};
use super::syntax::{Params, RawScope, ScopeWriter};
use super::ParseError;

/// A parsed, normalised `blob` permission.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobPermission {
    /// Lowercase, distinct, sorted by UTF-16 code units (JavaScript's default sort), never empty.
    accept: Vec<String>,
}

impl BlobPermission {
    pub(crate) const RESOURCE: &'static str = "blob";

    pub(crate) fn from_raw(raw: &RawScope<'_>) -> Result<Self, ParseError> {
        let params = Params::new(raw, &["accept"], "accept")?;
        let Some(values) = params.multi("accept")? else {
            return Err(ParseError::Missing("accept"));
        };
        if let Some(bad) = values.iter().find(|v| !is_accept(v)) {
            return Err(ParseError::invalid("accept", bad));
        }
        Ok(Self {
            accept: normalise(&values),
        })
    }

    /// The accepted patterns, normalised.
    pub fn accept(&self) -> impl Iterator<Item = &str> {
        self.accept.iter().map(String::as_str)
    }

    /// Whether uploading a blob of MIME type `mime` is allowed. `mime` must be a concrete
    /// `type/subtype`; case does not matter.
    pub fn allows(&self, mime: &str) -> bool {
        self.accept.iter().any(|a| accept_matches(a, mime))
    }

    pub fn to_scope_string(&self) -> String {
        let w = ScopeWriter::new(Self::RESOURCE);
        match self.accept.as_slice() {
            [one] => w.positional(one),
            many => many.iter().fold(w, |w, a| w.param("accept", a)),
        }
        .finish()
    }
}

fn normalise(values: &[&str]) -> Vec<String> {
    if values.contains(&"*/*") {
        return vec!["*/*".to_owned()];
    }
    let lower: Vec<String> = values.iter().map(|v| v.to_lowercase()).collect();
    let mut kept: Vec<String> = lower
        .iter()
        .filter(|v| {
            v.ends_with("/*")
                || !v
                    .split_once('/')
                    .is_some_and(|(ty, _)| lower.iter().any(|o| o.strip_suffix("/*") == Some(ty)))
        })
        .cloned()
        .collect();
    kept.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
    kept.dedup();
    kept
}
