//! Scope values: `atproto`, `transition:*`, and pass-through of others the client declared.
//! (The full permission grammar arrives with its own issue: see [`is_understood`].)

use crate::OAuthError;

pub const ATPROTO: &str = "atproto";
pub const TRANSITION_GENERIC: &str = "transition:generic";
pub const TRANSITION_EMAIL: &str = "transition:email";
pub const TRANSITION_CHAT_BSKY: &str = "transition:chat.bsky";
/// OpenID Connect's scope; atproto is not OIDC, so it is always refused.
pub const OPENID: &str = "openid";

/// Resource names of the atproto permission grammar (atproto spec "Permission").
pub const PERMISSION_RESOURCES: &[&str] =
    &["repo", "rpc", "blob", "account", "identity", "include"];

/// An ordered set of distinct scope values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(Vec<String>);

impl ScopeSet {
    /// Splits on ASCII space (RFC 6749 section 3.3), dropping empty values and duplicates while
    /// keeping the first occurrence's order. No syntax check: see [`is_valid_token`].
    pub fn parse(s: &str) -> Self {
        let mut values: Vec<String> = Vec::new();
        for v in s.split(' ').filter(|v| !v.is_empty()) {
            if !values.iter().any(|existing| existing == v) {
                values.push(v.to_owned());
            }
        }
        Self(values)
    }
    pub fn contains(&self, v: &str) -> bool {
        self.0.iter().any(|existing| existing == v)
    }
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Space-separated form.
    pub fn to_scope_string(&self) -> String {
        self.0.join(" ")
    }
}

/// RFC 6749 section 3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )` (printable ASCII except
/// space, `"` and `\`).
pub fn is_valid_token(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Whether atauth understands a scope value (the extension point for the permission grammar).
///
/// For now: `atproto`, the three `transition:*` values, and any permission-resource value
/// (`repo`, `rpc`, `blob`, `account`, `identity`, `include`) followed by `:` or `?` and a
/// non-empty remainder, e.g. `repo:app.bsky.feed.post` or `rpc?lxm=x&aud=*`. The remainder is
/// not yet parsed. Declared-and-requested values that are not understood are dropped
/// (profile section 3), never refused.
pub fn is_understood(value: &str) -> bool {
    crate::permission::Permission::parse(value).is_ok()
}

/// Validates a requested scope against the client's declared scope (which acts as an allow-list):
/// `atproto` is required, `openid` refused, undeclared values refused (`invalid_scope`);
/// declared values that are not syntactically valid scopes are dropped (profile section 3).
///
/// Values that are not even RFC 6749 scope tokens are refused (`invalid_scope`). Checks run in
/// this order: token syntax, `openid`, declared, `atproto`; then unknown values are dropped.
pub fn validate_requested(requested: &str, declared: &str) -> Result<ScopeSet, OAuthError> {
    let requested = ScopeSet::parse(requested);
    let declared = ScopeSet::parse(declared);
    if let Some(bad) = requested.iter().find(|v| !is_valid_token(v)) {
        return Err(OAuthError::invalid_scope(format!(
            "Scope value \"{}\" contains characters not allowed in a scope (RFC 6749 section 3.3)",
            bad.escape_debug()
        )));
    }
    if requested.contains(OPENID) {
        return Err(OAuthError::invalid_scope(
            "The \"openid\" scope is not supported: this server does not implement OpenID Connect",
        ));
    }
    if let Some(undeclared) = requested.iter().find(|v| !declared.contains(v)) {
        return Err(OAuthError::invalid_scope(format!(
            "Scope \"{undeclared}\" is not declared in the client metadata"
        )));
    }
    if !requested.contains(ATPROTO) {
        return Err(missing_atproto());
    }
    Ok(ScopeSet(
        requested
            .0
            .into_iter()
            .filter(|v| is_understood(v))
            .collect(),
    ))
}

fn missing_atproto() -> OAuthError {
    OAuthError::invalid_scope("The \"atproto\" scope is required")
}

/// Narrowing at consent: the granted scope is the requested one minus what the member withheld;
/// values never requested are ignored; `atproto` cannot be withheld (`access_denied`).
pub fn narrow(requested: &ScopeSet, granted: &str) -> Result<ScopeSet, OAuthError> {
    let granted = ScopeSet::parse(granted);
    let narrowed: Vec<String> = requested
        .iter()
        .filter(|v| granted.contains(v))
        .map(str::to_owned)
        .collect();
    if !narrowed.iter().any(|v| v == ATPROTO) {
        return Err(OAuthError::access_denied(
            "The \"atproto\" scope cannot be withheld: it identifies the account to the app",
        ));
    }
    Ok(ScopeSet(narrowed))
}

/// Plain-language descriptions for the consent page, one per scope value.
pub fn describe(scope: &ScopeSet) -> Vec<String> {
    scope.iter().map(describe_value).collect()
}

fn describe_value(value: &str) -> String {
    match value {
        ATPROTO => "Identify you by your account (DID and handle)".to_owned(),
        TRANSITION_GENERIC => {
            "Read and write your data: posts, likes, follows, profile, and other \
                               records (everything except direct messages and account settings)"
                .to_owned()
        }
        TRANSITION_EMAIL => "See your e-mail address".to_owned(),
        TRANSITION_CHAT_BSKY => "Read and send your direct messages".to_owned(),
        other => format!("Use the permission \"{other}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use proptest::prelude::*;

    const DECLARED: &str = "atproto transition:generic transition:email repo:app.bsky.feed.post";

    fn values(s: &ScopeSet) -> Vec<&str> {
        s.iter().collect()
    }

    #[test]
    fn parse_splits_on_space_dropping_empties_and_duplicates_in_order() {
        let s = ScopeSet::parse("  b atproto  b a ");
        assert_eq!(values(&s), ["b", "atproto", "a"]);
        assert_eq!(s.to_scope_string(), "b atproto a");
        assert!(ScopeSet::parse("").is_empty());
        assert!(s.contains("a") && !s.contains("c"));
    }

    #[test]
    fn parse_splits_on_ascii_space_only() {
        assert_eq!(values(&ScopeSet::parse("a\tb")), ["a\tb"]);
    }

    #[test]
    fn requested_scope_must_contain_atproto() {
        // checklist 38
        let err = validate_requested("transition:generic", DECLARED).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidScope);
        assert_eq!(err.description, "The \"atproto\" scope is required");
        assert_eq!(
            validate_requested("", DECLARED).unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }

    #[test]
    fn undeclared_scope_is_refused() {
        // checklist 39
        let err = validate_requested("atproto transition:chat.bsky", DECLARED).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidScope);
        assert!(err.description.contains("\"transition:chat.bsky\""));
    }

    #[test]
    fn openid_is_refused_even_when_declared() {
        // checklist 40
        let err = validate_requested("atproto openid", "atproto openid").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidScope);
        assert!(err.description.contains("openid"));
    }

    #[test]
    fn non_token_scope_values_are_refused() {
        let err = validate_requested("atproto a\"b", "atproto a\"b").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidScope);
        assert!(validate_requested("atproto a\\b", "atproto a\\b").is_err());
        assert!(validate_requested("atproto é", "atproto é").is_err());
    }

    #[test]
    fn declared_but_unknown_scope_is_dropped() {
        // checklist 50
        let s = validate_requested(
            "atproto future:thing transition:generic",
            "atproto future:thing transition:generic",
        )
        .unwrap();
        assert_eq!(values(&s), ["atproto", "transition:generic"]);
    }

    #[test]
    fn permission_resources_are_understood() {
        for v in [
            "repo:app.bsky.feed.post",
            "rpc:app.bsky.actor.getProfile?aud=*",
            "rpc?lxm=app.bsky.actor.getProfile&aud=*",
            "blob:image/*",
            "account:email",
            "identity:handle",
            "include:com.example.perms",
        ] {
            assert!(is_understood(v), "{v}");
        }
        for v in [
            "repo",
            "repo:",
            "repo?",
            "repository:x",
            "transition:other",
            "atproto2",
        ] {
            assert!(!is_understood(v), "{v}");
        }
    }

    #[test]
    fn validated_scope_keeps_request_order_without_duplicates() {
        let s = validate_requested("transition:email atproto transition:email", DECLARED).unwrap();
        assert_eq!(values(&s), ["transition:email", "atproto"]);
    }

    #[test]
    fn narrow_intersects_with_requested() {
        let requested = ScopeSet::parse("atproto transition:generic transition:email");
        let s = narrow(&requested, "transition:email atproto transition:chat.bsky").unwrap();
        assert_eq!(values(&s), ["atproto", "transition:email"]);
    }

    #[test]
    fn narrow_cannot_withhold_atproto() {
        // checklist 74
        let requested = ScopeSet::parse("atproto transition:generic");
        let err = narrow(&requested, "transition:generic").unwrap_err();
        assert_eq!(err.code, ErrorCode::AccessDenied);
    }

    #[test]
    fn describe_uses_plain_words() {
        let d = describe(&ScopeSet::parse(
            "atproto transition:generic transition:email transition:chat.bsky repo:x.y.z",
        ));
        assert_eq!(d[0], "Identify you by your account (DID and handle)");
        assert!(d[1].starts_with("Read and write your data"));
        assert!(d[1].contains("everything except direct messages and account settings"));
        assert_eq!(d[2], "See your e-mail address");
        assert_eq!(d[3], "Read and send your direct messages");
        assert_eq!(d[4], "Use the permission \"repo:x.y.z\"");
    }

    proptest! {
        #[test]
        fn scope_functions_never_panic(a in "\\PC{0,100}", b in "\\PC{0,100}") {
            let s = ScopeSet::parse(&a);
            prop_assert!(s.iter().all(|v| !v.is_empty() && !v.contains(' ')));
            let _ = validate_requested(&a, &b);
            let _ = narrow(&s, &b);
            let _ = describe(&s);
        }

        #[test]
        fn parse_is_idempotent(a in "[a-c :]{0,40}") {
            let s = ScopeSet::parse(&a);
            prop_assert_eq!(ScopeSet::parse(&s.to_scope_string()), s);
        }
    }
}
