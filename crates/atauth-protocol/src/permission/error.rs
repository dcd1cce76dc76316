//! Why a scope value is not a valid atproto permission.

/// Why [`super::Permission::parse`] refused a scope value.
///
/// Every variant means the same thing to the authorization server: the value is not an atproto
/// scope (profile section 5.3 drops such values). The variants only exist to make
/// logs and tests precise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A character outside RFC 6749 section 3.3 `scope-token` (printable ASCII except space,
    /// `"` and `\`). The atproto spec ("Scope String Syntax") also limits scope strings to
    /// printable non-whitespace ASCII.
    #[error("scope value contains a character outside the scope-token syntax")]
    InvalidCharacter,
    /// The resource name (text before the first `:` or `?`) is not one the spec defines, or a
    /// static scope (`atproto`, `transition:*`) was followed by extra text.
    #[error("unknown scope resource `{0}`")]
    UnknownResource(String),
    /// The positional part has a `%` not followed by two hex digits, or decodes to invalid UTF-8.
    #[error("malformed percent-encoding in the positional parameter")]
    BadPercentEncoding,
    /// A query parameter the resource does not define (profile section 5.1).
    #[error("unknown parameter `{0}`")]
    UnknownParameter(String),
    /// The positional parameter was also given by name, e.g.
    /// `repo:com.example.record?collection=com.example.other` (spec "Scope String Syntax").
    #[error("parameter `{0}` given both positionally and by name")]
    PositionalAndNamed(&'static str),
    /// A single-valued parameter was given more than once.
    #[error("parameter `{0}` is single-valued but was given more than once")]
    Repeated(&'static str),
    /// A required parameter is absent.
    #[error("required parameter `{0}` is missing")]
    Missing(&'static str),
    /// A value failed the parameter's validator.
    #[error("invalid value `{value}` for parameter `{key}`")]
    InvalidValue { key: &'static str, value: String },
    /// `rpc` with both `lxm=*` and `aud=*` (spec "rpc": "aud and lxm can not both be wildcard").
    #[error("an rpc permission may not have both lxm=* and aud=*")]
    WildcardRpc,
}

impl ParseError {
    pub(crate) fn invalid(key: &'static str, value: &str) -> Self {
        Self::InvalidValue {
            key,
            value: value.to_owned(),
        }
    }
}
