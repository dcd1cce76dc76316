//! Examples from the atproto spec ("Permissions"), profile section 5, and
//! the reference library's own test tables.

use crate::permission::*;

fn norm(s: &str) -> Option<String> {
    normalize_scope_value(s)
}

fn assert_norm(cases: &[(&str, &str)]) {
    for (input, expected) in cases {
        assert_eq!(norm(input).as_deref(), Some(*expected), "{input}");
    }
}

fn assert_invalid(cases: &[&str]) {
    for input in cases {
        assert_eq!(norm(input), None, "{input} should be invalid");
    }
}

#[test]
fn reference_doc_section_5_valid() {
    for s in [
        "repo:*",
        "repo:*?action=create",
        "repo:com.example.foo?action=create&action=update",
        "rpc:com.example.method1?aud=*",
        "rpc?lxm=*&aud=did:web:api.example.com%23svc_appview",
        "blob:*/*",
        "blob?accept=video/*&accept=text/html",
        "account:email",
        "account:repo?action=manage",
        "identity:*",
        "identity:*?",
        "include:app.example.authFull?aud=did:web:api.example.com%23svc_chat",
    ] {
        assert!(Permission::parse(s).is_ok(), "{s}");
    }
}

#[test]
fn reference_doc_section_5_invalid() {
    assert_invalid(&[
        "repo:*?action=*",
        "repo:foo bar",
        "repo:.foo",
        "repo:bar.",
        "rpc:*?aud=*",
        "rpc?aud=*&lxm=*",
        "rpc:com.example.service",
        "rpc:com.example.service?aud=invalid",
        "rpc?aud=did:web:example.com",
        "blob",
        "account",
        "account:",
        "account:invalid",
        "include:com.example",
        "include:com..example",
        "include:com.example.baz?aud=did:web:example.com",
        "resource:positional?key=québec",
    ]);
}

#[test]
fn reference_doc_section_5_normalisation() {
    assert_norm(&[
        (
            "blob?accept=image/png&accept=image/jpeg",
            "blob?accept=image/jpeg&accept=image/png",
        ),
        ("blob?accept=image/*&accept=image/png", "blob:image/*"),
        (
            "rpc:com.example.method1?aud=did:web:example.com#foo",
            "rpc:com.example.method1?aud=did:web:example.com%23foo",
        ),
    ]);
}

#[test]
fn spec_examples() {
    assert_norm(&[
        ("repo:app.example.profile", "repo:app.example.profile"),
        (
            "repo:app.example.profile?action=create&action=update&action=delete",
            "repo:app.example.profile",
        ),
        (
            "repo?collection=app.example.profile&collection=app.example.post",
            "repo?collection=app.example.post&collection=app.example.profile",
        ),
        ("repo:*", "repo:*"),
        ("repo:*?action=delete", "repo:*?action=delete"),
        (
            "rpc:app.example.moderation.createReport?aud=*",
            "rpc:app.example.moderation.createReport?aud=*",
        ),
        (
            "rpc?lxm=*&aud=did:web:api.example.com%23svc_appview",
            "rpc:*?aud=did:web:api.example.com%23svc_appview",
        ),
        ("blob:*/*", "blob:*/*"),
        (
            "blob?accept=video/*&accept=text/html",
            "blob?accept=text/html&accept=video/*",
        ),
        ("account:email", "account:email"),
        ("account:repo?action=manage", "account:repo?action=manage"),
        (
            "account?action=manage&attr=repo",
            "account:repo?action=manage",
        ),
        ("identity:handle", "identity:handle"),
        ("identity:*", "identity:*"),
        ("identity:*?", "identity:*"),
        (
            "include:app.example.authFull?aud=did:web:api.example.com%23svc_chat",
            "include:app.example.authFull?aud=did:web:api.example.com%23svc_chat",
        ),
        (
            "include:com.example.authBasicFeatures?aud=did:web:api.example.com%23svc_appview",
            "include:com.example.authBasicFeatures?aud=did:web:api.example.com%23svc_appview",
        ),
    ]);
    // "match the general syntax, but do not have valid semantics" and "do not match the general
    // syntax".
    assert_invalid(&[
        "repo:com.example.record?collection=com.example.other",
        "resource",
        "resource:positional?key=val",
        "resource:positional&thing?key=val",
        "service:did:web:com.example#type?key=val",
        "resource:",
        "resource:?",
        "resource:&",
        "resource?",
        "resource:positional?key=québec",
        "emoji:☺️",
    ]);
}

#[test]
fn reference_repo_table() {
    assert_norm(&[
        ("repo:com.example.foo", "repo:com.example.foo"),
        (
            "repo:com.example.foo?action=create",
            "repo:com.example.foo?action=create",
        ),
        ("repo:*?action=create&action=update&action=delete", "repo:*"),
        ("repo:*?action=update", "repo:*?action=update"),
        ("repo?collection=*&action=update", "repo:*?action=update"),
        (
            "repo?collection=*&collection=com.example.foo&action=update",
            "repo:*?action=update",
        ),
        ("repo?collection=*", "repo:*"),
        (
            "repo?collection=*&action=create&action=update&action=delete",
            "repo:*",
        ),
        ("repo?collection=*&collection=com.example.foo", "repo:*"),
        (
            "repo?action=create&collection=com.example.foo",
            "repo:com.example.foo?action=create",
        ),
        (
            "repo?collection=com.example.foo&action=create&action=update&action=delete",
            "repo:com.example.foo",
        ),
        (
            "repo?action=create&collection=com.example.foo&collection=com.example.bar",
            "repo?collection=com.example.bar&collection=com.example.foo&action=create",
        ),
    ]);
    assert_invalid(&[
        "invalid",
        "repo:invalid",
        "repo:com.example.foo?action=invalid",
        "repo?collection=invalid&action=invalid",
    ]);
}

#[test]
fn reference_rpc_table() {
    assert_norm(&[
        (
            "rpc:com.example.service?aud=did:web:example.com%23service_id",
            "rpc:com.example.service?aud=did:web:example.com%23service_id",
        ),
        (
            "rpc:com.example.service?aud=did:web:example.com#service_id",
            "rpc:com.example.service?aud=did:web:example.com%23service_id",
        ),
        ("rpc?lxm=com.example.method1&aud=*", "rpc:com.example.method1?aud=*"),
        (
            "rpc?lxm=com.example.method1&lxm=com.example.method2&aud=*",
            "rpc?lxm=com.example.method1&lxm=com.example.method2&aud=*",
        ),
        (
            "rpc?aud=*&lxm=com.example.method2&lxm=com.example.method1",
            "rpc?lxm=com.example.method1&lxm=com.example.method2&aud=*",
        ),
        (
            "rpc?lxm=com.example.method1&lxm=com.example.method2&lxm=*&aud=did:web:example.com%23service_id",
            "rpc:*?aud=did:web:example.com%23service_id",
        ),
        (
            "rpc?aud=did:web:example.com%23foo&lxm=com.example.service",
            "rpc:com.example.service?aud=did:web:example.com%23foo",
        ),
        ("rpc:com.example.method1?&aud=*", "rpc:com.example.method1?aud=*"),
    ]);
    assert_invalid(&[
        "rpc?aud=did:web:example.com%23service_id",
        "rpc:?aud=did:web:example.com%23service_id",
        "rpc?lxm=com.example.method1",
        "rpc:com.example.method1",
        "rpc:com.example.method1?aud=did:web:example.com&lxm=com.example.method2",
        "rpc:*",
        "rpc:invalid",
        "rpc:invalid?aud=did:web:example.com",
        "rpc:invalid?aud=did:web:example.com%23service_id",
        "rpc:foo.bar",
        "rpc:com.example.service?aud=did:web:example.com%23service_id&invalid=param",
        "rpc:foo.bar.baz?aud=did:web",
        "rpc:foo.bar.baz?aud=did:web%23service_id",
        "rpc:foo.bar.baz?aud=did:plc:111",
        "rpc:foo.bar.baz?aud=did:plc:111%23service_id",
        "rpc:foo.bar.baz?aud=did:foo:bar",
        "rpc:foo.bar.baz?aud=did:foo:bar%23service_id",
        "rpc:foo.bar.baz?aud=did:web:example.com%23service_id&lxm=foo.bar.baz",
        "notrpc:com.example.service?aud=did:web:example.com%23service_id",
        "rpc?lxm=invalid&aud=invalid",
    ]);
}

#[test]
fn reference_blob_table() {
    assert_norm(&[
        ("blob:image/png", "blob:image/png"),
        ("blob?accept=*/*&accept=image/*", "blob:*/*"),
        ("blob?accept=*/*&accept=image/png", "blob:*/*"),
        ("blob?accept=image/*&accept=image/png", "blob:image/*"),
        (
            "blob?accept=image/png&accept=image/jpeg",
            "blob?accept=image/jpeg&accept=image/png",
        ),
        ("blob?accept=image/png", "blob:image/png"),
        ("blob:image/svg+xml", "blob:image/svg+xml"),
    ]);
    assert_invalid(&[
        "blob:invalid",
        "blob?accept=invalid-mime",
        "blob?accept=invalid",
        "blob:*/**",
        "blob:*/png",
        // A raw `+` in a query value is a space (form encoding), and spaces are refused.
        "blob?accept=image/svg+xml",
    ]);
}

#[test]
fn reference_account_and_identity_tables() {
    for s in [
        "account:email",
        "account:email?action=manage",
        "account:repo",
        "account:repo?action=manage",
        "account:status",
        "account:status?action=manage",
        "identity:handle",
        "identity:*",
    ] {
        assert_eq!(norm(s).as_deref(), Some(s));
    }
    assert_norm(&[
        ("account:status?action=read", "account:status"),
        ("account:email?action=read&action=read", "account:email"),
        (
            "account:email?action=manage&action=manage",
            "account:email?action=manage",
        ),
        (
            "account:email?action=read&action=manage",
            "account:email?action=read&action=manage",
        ),
    ]);
    assert_invalid(&[
        "account:email?action=invalid",
        "invalid:email",
        "",
        "identity:invalid",
        "identity:*?action=*",
        "identity:*?action=manage",
        "identity:handle?action=invalid",
        "identity?attribute=invalid&action=invalid",
        "identity?attr=handle&attr=*",
    ]);
}

#[test]
fn include_and_namespace_authority() {
    let Ok(Permission::Include(inc)) = Permission::parse("include:com.example.foo.auth") else {
        panic!("include should parse");
    };
    assert_eq!(inc.nsid(), "com.example.foo.auth");
    assert_eq!(inc.aud(), None);
    for ok in [
        "com.example.foo.bar",
        "com.example.foo.bar.baz",
        "com.example.foo.auth",
    ] {
        assert!(inc.is_parent_authority_of(ok), "{ok}");
    }
    for bad in [
        "*",
        "com.example.bar",
        "com.example.foobar.baz",
        "com.example.foo",
        "com.example.foo.",
    ] {
        assert!(!inc.is_parent_authority_of(bad), "{bad}");
    }
    assert_invalid(&[
        "include:com.example.foo?aud=*",
        "include:*",
        "include:com.example.foo?nsid=com.example.bar",
    ]);
}

#[test]
fn parse_errors_are_precise() {
    assert_eq!(
        Permission::parse("repo:a b"),
        Err(ParseError::InvalidCharacter)
    );
    assert_eq!(
        Permission::parse("blob:image/é"),
        Err(ParseError::InvalidCharacter)
    );
    assert_eq!(
        Permission::parse("repo:%zz"),
        Err(ParseError::BadPercentEncoding)
    );
    assert_eq!(
        Permission::parse("nope:x"),
        Err(ParseError::UnknownResource("nope".into()))
    );
    assert_eq!(
        Permission::parse("transition:foo"),
        Err(ParseError::UnknownResource("transition".into()))
    );
    assert_eq!(
        Permission::parse("atproto?x=1"),
        Err(ParseError::UnknownResource("atproto".into()))
    );
    assert_eq!(
        Permission::parse("repo:*?color=blue"),
        Err(ParseError::UnknownParameter("color".into()))
    );
    assert_eq!(
        Permission::parse("repo:a.b.c?collection=a.b.d"),
        Err(ParseError::PositionalAndNamed("collection"))
    );
    assert_eq!(
        Permission::parse("rpc:a.b.c?aud=*&aud=*"),
        Err(ParseError::Repeated("aud"))
    );
    assert_eq!(
        Permission::parse("rpc:a.b.c"),
        Err(ParseError::Missing("aud"))
    );
    assert_eq!(
        Permission::parse("rpc:*?aud=*"),
        Err(ParseError::WildcardRpc)
    );
    assert!(matches!(
        Permission::parse("repo:a.b.c?action=read"),
        Err(ParseError::InvalidValue { key: "action", .. })
    ));
}

#[test]
fn percent_encoding_round_trips() {
    // Non-ASCII may arrive percent-encoded; it is written back percent-encoded.
    assert_norm(&[
        ("blob:image/%C3%A9", "blob:image/%C3%A9"),
        (
            "blob?accept=image/svg%2Bxml&accept=image/png",
            "blob?accept=image/png&accept=image/svg%2Bxml",
        ),
        ("blob:image%2Fpng", "blob:image/png"),
        ("repo:%61pp.bsky.feed.post", "repo:app.bsky.feed.post"),
        (
            "rpc:a.b.c?aud=did:web:example.com%23a%2Bb",
            "rpc:a.b.c?aud=did:web:example.com%23a%2Bb",
        ),
        ("blob:image/%2541", "blob:image/%2541"),
        ("blob?accept=image/png&accept=IMAGE/PNG", "blob:image/png"),
    ]);
    // The reference quirk kept for the vector: a literal `%` in a query value is written raw.
    assert_norm(&[(
        "rpc:com.example.service?aud=did:web:localhost%253A2583%23svc",
        "rpc:com.example.service?aud=did:web:localhost%3A2583%23svc",
    )]);
}

#[test]
fn display_and_from_str() {
    let p: Permission = "repo?collection=app.bsky.feed.post".parse().unwrap();
    assert_eq!(p.to_string(), "repo:app.bsky.feed.post");
    assert_eq!(
        "atproto".parse::<Permission>(),
        Ok(Permission::Static(StaticScope::Atproto))
    );
}

#[test]
fn grant_normalises_sorts_and_drops_invalid() {
    let grant = ScopeGrant::parse(
        "atproto  repo?collection=b.c.d repo:b.c.d?action=create&action=update&action=delete bogus rpc:*?aud=* blob:image/*",
    );
    assert_eq!(grant.to_scope_string(), "atproto blob:image/* repo:b.c.d");
    assert_eq!(grant.permissions().len(), 3);
    assert!(grant.has_static(StaticScope::Atproto));
    assert!(!grant.has_static(StaticScope::TransitionGeneric));
    assert_eq!(ScopeGrant::parse("").to_scope_string(), "");
}
