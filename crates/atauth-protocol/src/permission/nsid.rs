//! NSIDs and NSID-or-wildcard lists (`repo` collections, `rpc` lxm).

/// Whether `s` is a syntactically valid NSID (atproto spec "NSID"): at least three
/// `.`-separated segments, at most 317 characters; the first segment starts with a letter,
/// domain segments are 1-63 of `[A-Za-z0-9-]` not starting or ending with `-` (the first also not
/// with a digit), and the final name segment is a letter followed by up to 62 letters or digits.
/// Case is kept (`Com.Example.Foo` is valid).
pub fn is_valid_nsid(s: &str) -> bool {
    if s.len() < 5 || s.len() > 253 + 1 + 63 {
        return false;
    }
    let segments: Vec<&str> = s.split('.').collect();
    let [first, middle @ .., name] = segments.as_slice() else {
        return false;
    };
    if middle.is_empty() {
        return false;
    }
    let domain_segment = |seg: &str, first: bool| {
        let bytes = seg.as_bytes();
        let (Some(&head), Some(&tail)) = (bytes.first(), bytes.last()) else {
            return false;
        };
        bytes.len() <= 63
            && (if first {
                head.is_ascii_alphabetic()
            } else {
                head.is_ascii_alphanumeric()
            })
            && tail.is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    };
    let name_ok = name.len() <= 63
        && name
            .as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric());
    domain_segment(first, true) && middle.iter().all(|seg| domain_segment(seg, false)) && name_ok
}

/// A set of NSIDs or the wildcard `*`, as used by `repo` `collection` and `rpc` `lxm`.
///
/// Normalised as the reference does (profile section 5.2): a `*` anywhere collapses the list
/// to `*`; otherwise the NSIDs are deduplicated and sorted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NsidSelector {
    /// `*`: every NSID.
    Any,
    /// These NSIDs (sorted, distinct, never empty).
    Only(Vec<String>),
}

impl NsidSelector {
    /// Validates and normalises parameter values (each `*` or an NSID).
    pub(crate) fn from_values(
        key: &'static str,
        values: &[&str],
    ) -> Result<Self, super::ParseError> {
        if let Some(bad) = values.iter().find(|v| **v != "*" && !is_valid_nsid(v)) {
            return Err(super::ParseError::invalid(key, bad));
        }
        if values.is_empty() {
            return Err(super::ParseError::Missing(key));
        }
        if values.contains(&"*") {
            return Ok(Self::Any);
        }
        let mut list: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        list.sort();
        list.dedup();
        Ok(Self::Only(list))
    }

    /// Whether `nsid` is selected (exact, case-sensitive comparison, or the wildcard).
    pub fn matches(&self, nsid: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Only(list) => list.iter().any(|n| n == nsid),
        }
    }

    pub fn is_any(&self) -> bool {
        matches!(self, Self::Any)
    }

    /// The values in normalised order (`["*"]` for the wildcard).
    pub fn values(&self) -> Vec<&str> {
        match self {
            Self::Any => vec!["*"],
            Self::Only(list) => list.iter().map(String::as_str).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsid_validity() {
        for ok in [
            "com.example.foo",
            "Com.Example.Foo",
            "app.bsky.feed.post",
            "a.b.c",
            "a-b.c-d.e",
            "com.1example.foo",
            "com.example.fooBar2",
        ] {
            assert!(is_valid_nsid(ok), "{ok}");
        }
        for bad in [
            "",
            "com.example",
            "foo",
            ".foo",
            "bar.",
            "com..example",
            "1com.example.foo",
            "-com.example.foo",
            "com.example-.foo",
            "com.example.foo-bar",
            "com.example.2foo",
            "com.example.foo bar",
            "com.example.*",
            "com.exämple.foo",
        ] {
            assert!(!is_valid_nsid(bad), "{bad}");
        }
        let long_segment = "a".repeat(64);
        assert!(!is_valid_nsid(&format!("com.{long_segment}.foo")));
        assert!(is_valid_nsid(&format!("com.{}.foo", "a".repeat(63))));
    }

    #[test]
    fn selector_normalises() {
        let sel = NsidSelector::from_values("lxm", &["b.c.d", "a.b.c", "b.c.d"]).unwrap();
        assert_eq!(sel.values(), vec!["a.b.c", "b.c.d"]);
        assert_eq!(
            NsidSelector::from_values("lxm", &["a.b.c", "*"]).unwrap(),
            NsidSelector::Any
        );
        assert!(NsidSelector::from_values("lxm", &["a.b"]).is_err());
    }
}
