//! The generic scope-string syntax shared by every resource: `resource[:positional][?k=v&k=v…]`.
//!
//! atproto spec "Scope String Syntax"; profile section 5.1:
//! - the resource name ends at the first `:` or `?`;
//! - the positional part runs from the first `:` to the first `?` and is percent-decoded
//!   (strictly, like `decodeURIComponent`);
//! - the query is parsed as `application/x-www-form-urlencoded` (`+` is a space, repeated keys
//!   give arrays, a trailing empty `?` is ignored).
//!
//! Output ([`ScopeWriter`]) follows the reference's `toString`: the characters `: / , @ %` stay
//! unescaped, everything else outside the unreserved set is percent-encoded (so `#` becomes `%23`).
//! Two deliberate deviations keep the output re-parseable (see the module docs in
//! [`super`]): a `+` inside a query value is written `%2B`, and a `%` inside a positional value
//! is written `%25`.

use super::ParseError;

/// A scope value split into its parts, values decoded. Resource parsers read it through
/// [`Params`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawScope<'a> {
    pub(crate) resource: &'a str,
    pub(crate) positional: Option<String>,
    pub(crate) params: Vec<(String, String)>,
}

impl<'a> RawScope<'a> {
    /// Splits a scope value. Fails only on malformed percent-encoding in the positional part
    /// (the query part is decoded leniently, as URL query strings are).
    pub(crate) fn split(scope: &'a str) -> Result<Self, ParseError> {
        let question = scope.find('?');
        let colon = scope.find(':');
        let resource_end = match (question, colon) {
            (Some(q), Some(c)) => q.min(c),
            (Some(i), None) | (None, Some(i)) => i,
            (None, None) => scope.len(),
        };
        let positional = match colon {
            Some(c) if question.is_none_or(|q| c < q) => {
                let end = question.unwrap_or(scope.len());
                Some(decode_component(&scope[c + 1..end])?)
            }
            _ => None,
        };
        let params = match question {
            Some(q) => form_urlencoded::parse(&scope.as_bytes()[q + 1..])
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            None => Vec::new(),
        };
        Ok(Self {
            resource: &scope[..resource_end],
            positional,
            params,
        })
    }
}

/// Strict percent-decoding, like JavaScript's `decodeURIComponent`: every `%` must start a
/// `%XX` escape and the result must be UTF-8. `+` stays a literal `+`.
fn decode_component(s: &str) -> Result<String, ParseError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|b| hex_value(*b));
            let lo = bytes.get(i + 2).and_then(|b| hex_value(*b));
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                _ => return Err(ParseError::BadPercentEncoding),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ParseError::BadPercentEncoding)
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Typed access to a [`RawScope`]'s parameters following the reference parser's rules
/// (profile section 5.1).
pub(crate) struct Params<'r, 'a> {
    raw: &'r RawScope<'a>,
    positional_key: &'static str,
}

impl<'r, 'a> Params<'r, 'a> {
    /// Refuses any parameter name outside `keys`.
    pub(crate) fn new(
        raw: &'r RawScope<'a>,
        keys: &[&'static str],
        positional_key: &'static str,
    ) -> Result<Self, ParseError> {
        if let Some((unknown, _)) = raw.params.iter().find(|(k, _)| !keys.contains(&k.as_str())) {
            return Err(ParseError::UnknownParameter(unknown.clone()));
        }
        Ok(Self {
            raw,
            positional_key,
        })
    }

    /// All values of a multi-valued key: the named values, else the positional value when `key`
    /// is the positional key, else `None`. Named and positional together are refused.
    pub(crate) fn multi(&self, key: &'static str) -> Result<Option<Vec<&'r str>>, ParseError> {
        let named: Vec<&'r str> = self
            .raw
            .params
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect();
        let positional = if key == self.positional_key {
            self.raw.positional.as_deref()
        } else {
            None
        };
        match (named.is_empty(), positional) {
            (false, Some(_)) => Err(ParseError::PositionalAndNamed(key)),
            (false, None) => Ok(Some(named)),
            (true, Some(p)) => Ok(Some(vec![p])),
            (true, None) => Ok(None),
        }
    }

    /// The value of a single-valued key; given twice is refused.
    pub(crate) fn single(&self, key: &'static str) -> Result<Option<&'r str>, ParseError> {
        match self.multi(key)? {
            None => Ok(None),
            Some(values) => match values.as_slice() {
                [one] => Ok(Some(one)),
                _ => Err(ParseError::Repeated(key)),
            },
        }
    }
}

/// Builds a normalised scope string. Call [`Self::positional`] (at most once) before any
/// [`Self::param`].
pub(crate) struct ScopeWriter {
    out: String,
    has_query: bool,
}

impl ScopeWriter {
    pub(crate) fn new(resource: &str) -> Self {
        Self {
            out: resource.to_owned(),
            has_query: false,
        }
    }

    pub(crate) fn positional(mut self, value: &str) -> Self {
        self.out.push(':');
        encode(value, &mut self.out, is_kept_in_positional);
        self
    }

    pub(crate) fn param(mut self, key: &str, value: &str) -> Self {
        self.out.push(if self.has_query { '&' } else { '?' });
        self.has_query = true;
        self.out.push_str(key);
        self.out.push('=');
        encode(value, &mut self.out, is_kept_in_query);
        self
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// `encodeURIComponent`'s unreserved set plus the reference's kept `: / + , @`. A literal `%` is
/// escaped (deviation: the reference writes it raw, which `decodeURIComponent` then misreads).
fn is_kept_in_positional(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'():/+,@".contains(&b)
}

/// The form-urlencoded unreserved set plus the reference's kept `: / , @ %`. A literal `+` is
/// escaped (deviation: the reference writes it raw, which a form parser then reads as a space).
fn is_kept_in_query(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"*-._:/,@%".contains(&b)
}

fn encode(value: &str, out: &mut String, keep: fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> RawScope<'_> {
        RawScope::split(s).unwrap()
    }

    #[test]
    fn splits_resource_positional_and_query() {
        let raw = split("my-res:foo?x=value&y=value-y");
        assert_eq!(raw.resource, "my-res");
        assert_eq!(raw.positional.as_deref(), Some("foo"));
        assert_eq!(
            raw.params,
            vec![
                ("x".to_owned(), "value".to_owned()),
                ("y".to_owned(), "value-y".to_owned())
            ]
        );
        assert_eq!(split("my-res").positional, None);
        assert_eq!(split("my-res:").positional.as_deref(), Some(""));
        assert_eq!(split("my-res:my:pos").positional.as_deref(), Some("my:pos"));
        assert_eq!(
            split("my-res:my%20pos").positional.as_deref(),
            Some("my pos")
        );
        assert_eq!(split("my-res:a+b").positional.as_deref(), Some("a+b"));
    }

    #[test]
    fn colon_after_question_mark_is_not_positional() {
        let raw = split("rpc?aud=did:web:x");
        assert_eq!(raw.resource, "rpc");
        assert_eq!(raw.positional, None);
        let raw = split("rpc:foo.bar?aud=did:foo:bar?lxm=bar.baz");
        assert_eq!(raw.positional.as_deref(), Some("foo.bar"));
        assert_eq!(raw.params[0].1, "did:foo:bar?lxm=bar.baz");
    }

    #[test]
    fn query_is_form_decoded() {
        let raw = split("r?x=a+b&x=c%2Bd&&y&z=%zz");
        assert_eq!(
            raw.params,
            vec![
                ("x".to_owned(), "a b".to_owned()),
                ("x".to_owned(), "c+d".to_owned()),
                ("y".to_owned(), String::new()),
                ("z".to_owned(), "%zz".to_owned()),
            ]
        );
        assert!(split("identity:*?").params.is_empty());
    }

    #[test]
    fn positional_decoding_is_strict() {
        for bad in ["r:%", "r:%2", "r:%zz", "r:%FF", "r:a%C3"] {
            assert_eq!(
                RawScope::split(bad),
                Err(ParseError::BadPercentEncoding),
                "{bad}"
            );
        }
    }

    #[test]
    fn params_rules() {
        let raw = split("r:p?b=1&b=2");
        let params = Params::new(&raw, &["a", "b"], "a").unwrap();
        assert_eq!(params.multi("a").unwrap(), Some(vec!["p"]));
        assert_eq!(params.multi("b").unwrap(), Some(vec!["1", "2"]));
        assert_eq!(params.single("b"), Err(ParseError::Repeated("b")));
        let raw = split("r:p?a=q");
        let params = Params::new(&raw, &["a"], "a").unwrap();
        assert_eq!(params.multi("a"), Err(ParseError::PositionalAndNamed("a")));
        let raw = split("r?c=1");
        assert!(matches!(
            Params::new(&raw, &["a"], "a"),
            Err(ParseError::UnknownParameter(k)) if k == "c"
        ));
    }

    #[test]
    fn writer_escapes_like_the_reference() {
        let s = ScopeWriter::new("rpc")
            .positional("a.b.c")
            .param("aud", "did:web:x%3A1#svc")
            .finish();
        assert_eq!(s, "rpc:a.b.c?aud=did:web:x%3A1%23svc");
        let s = ScopeWriter::new("blob")
            .positional("image/svg+xml")
            .finish();
        assert_eq!(s, "blob:image/svg+xml");
        let s = ScopeWriter::new("blob")
            .param("accept", "image/svg+xml")
            .param("accept", "a/é")
            .finish();
        assert_eq!(s, "blob?accept=image/svg%2Bxml&accept=a/%C3%A9");
        assert_eq!(
            ScopeWriter::new("blob").positional("a/%41").finish(),
            "blob:a/%2541"
        );
    }
}
