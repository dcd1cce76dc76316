//! Handle and DID syntax (atproto specs "Handle" and "DID"), hosted did:web identifiers.
//!
//! Only *syntax* is checked here. The handle spec also disallows some top-level domains
//! (`.local`, `.arpa`, `.internal`, ...); that is a deployment policy, not syntax, and our own
//! test deployments use `*.atauth-test.internal` handles, so it lives in the separate
//! [`has_disallowed_tld`] for callers that want it.

/// Maximum handle length (atproto spec "Handle": 253 characters, like a DNS name).
pub const HANDLE_MAX_LEN: usize = 253;
/// Maximum DID length in atproto (spec "DID": initial hard limit of 2048 characters).
pub const DID_MAX_LEN: usize = 2048;
/// Top-level domains the handle spec disallows for real handles (policy, see module docs).
pub const DISALLOWED_HANDLE_TLDS: &[&str] = &[
    "local",
    "arpa",
    "invalid",
    "localhost",
    "internal",
    "example",
    "alt",
    "onion",
];

/// Whether `handle` has valid atproto handle *syntax*: ASCII, at most 253 characters, at least
/// two `.`-separated labels of 1-63 characters from `[a-zA-Z0-9-]` that neither start nor end
/// with `-`, and a last label (TLD) that does not start with a digit.
pub fn is_valid_handle_syntax(handle: &str) -> bool {
    if handle.is_empty() || handle.len() > HANDLE_MAX_LEN || !handle.is_ascii() {
        return false;
    }
    let labels: Vec<&str> = handle.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let labels_ok = labels.iter().all(|label| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    let tld_ok = labels
        .last()
        .and_then(|tld| tld.bytes().next())
        .is_some_and(|b| !b.is_ascii_digit());
    labels_ok && tld_ok
}

/// Handle validity as used everywhere in atauth: syntax only (see the module docs for why the
/// disallowed-TLD list is not applied here).
pub fn is_valid_handle(handle: &str) -> bool {
    is_valid_handle_syntax(handle)
}

/// Whether a handle ends in a top-level domain the handle spec disallows (case-insensitive).
pub fn has_disallowed_tld(handle: &str) -> bool {
    handle.rsplit('.').next().is_some_and(|tld| {
        DISALLOWED_HANDLE_TLDS
            .iter()
            .any(|d| d.eq_ignore_ascii_case(tld))
    })
}

/// Normalises user input naming a handle: trims whitespace, strips one leading `@`, lowercases
/// (handles are case-insensitive). Returns `None` when the result is not valid handle syntax.
pub fn normalize_handle(input: &str) -> Option<String> {
    let trimmed = input.trim();
    let bare = trimmed.strip_prefix('@').unwrap_or(trimmed);
    let lower = bare.to_ascii_lowercase();
    is_valid_handle_syntax(&lower).then_some(lower)
}

/// Whether `did` has valid atproto DID syntax: `did:` + lowercase method + `:` + an identifier of
/// `[a-zA-Z0-9._:%-]` not ending in `:` or `%`, at most 2048 characters in total. Percent
/// encoding itself is not validated (the spec says implementations need not).
pub fn is_valid_did(did: &str) -> bool {
    if did.len() > DID_MAX_LEN {
        return false;
    }
    let Some(rest) = did.strip_prefix("did:") else {
        return false;
    };
    let Some((method, identifier)) = rest.split_once(':') else {
        return false;
    };
    !method.is_empty()
        && method.bytes().all(|b| b.is_ascii_lowercase())
        && !identifier.is_empty()
        && identifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'%' | b'-'))
        && !identifier.ends_with(':')
        && !identifier.ends_with('%')
}

/// `did:web` for a handle host with an optional non-default port (`%3A`-encoded per the
/// did:web spec), e.g. `alice.coop.example` -> `did:web:alice.coop.example`,
/// (`localhost`, 8443) -> `did:web:localhost%3A8443`.
///
/// The host is lowercased; port 443 (the did:web default, always https) is omitted so every
/// host has exactly one DID.
pub fn did_web_for_host(host: &str, port: Option<u16>) -> String {
    let host = host.to_ascii_lowercase().replace(':', "%3A");
    match port {
        Some(p) if p != 443 => format!("did:web:{host}%3A{p}"),
        _ => format!("did:web:{host}"),
    }
}

/// The inverse: the host (and port) a hosted `did:web` is served from.
///
/// Only the canonical form [`did_web_for_host`] produces is accepted: a lowercase host that is a
/// valid domain name (or `localhost`), optionally `%3A` and a port in 1..=65535 other than 443,
/// and no path segments (`did:web:host:path` is not supported by atproto).
pub fn host_for_did_web(did: &str) -> Option<(String, Option<u16>)> {
    if !is_valid_did(did) {
        return None;
    }
    // A path segment would add `:` to the host, which the host check below refuses.
    let rest = did.strip_prefix("did:web:")?;
    let (host, port) = match rest.split_once("%3A") {
        Some((host, port)) => (host, Some(parse_port(port)?)),
        None => (rest, None),
    };
    let host_ok = host == "localhost" || is_valid_handle_syntax(host);
    if !host_ok || host.bytes().any(|b| b.is_ascii_uppercase()) || host.contains('%') {
        return None;
    }
    Some((host.to_owned(), port))
}

/// A canonical decimal port: digits only, no leading zero, 1..=65535, not the default 443.
fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port: u16 = s.parse().ok()?;
    (port != 443).then_some(port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn handle_needs_two_labels() {
        assert!(is_valid_handle("alice.example.com"));
        assert!(is_valid_handle("a.co"));
        assert!(!is_valid_handle("alice"));
        assert!(!is_valid_handle(""));
    }

    #[test]
    fn handle_labels_are_1_to_63_alphanumeric_or_hyphen() {
        assert!(!is_valid_handle("alice..com"));
        assert!(!is_valid_handle(".alice.com"));
        assert!(!is_valid_handle("alice.com."));
        assert!(!is_valid_handle("al_ice.com"));
        assert!(!is_valid_handle("al ice.com"));
        assert!(!is_valid_handle("alíce.com"));
        assert!(is_valid_handle(&format!("{}.com", "a".repeat(63))));
        assert!(!is_valid_handle(&format!("{}.com", "a".repeat(64))));
    }

    #[test]
    fn handle_labels_do_not_start_or_end_with_hyphen() {
        assert!(is_valid_handle("al-ice.com"));
        assert!(!is_valid_handle("-alice.com"));
        assert!(!is_valid_handle("alice-.com"));
    }

    #[test]
    fn handle_is_at_most_253_chars() {
        let label = "a".repeat(63);
        let h = format!("{label}.{label}.{label}.{}.com", "b".repeat(57));
        assert_eq!(h.len(), 253);
        assert!(is_valid_handle(&h));
        let h = format!("{label}.{label}.{label}.{}.com", "b".repeat(58));
        assert!(!is_valid_handle(&h));
    }

    #[test]
    fn handle_tld_does_not_start_with_digit() {
        assert!(!is_valid_handle("alice.1com"));
        assert!(is_valid_handle("1alice.com"));
        assert!(is_valid_handle("alice.c0m"));
    }

    #[test]
    fn handle_syntax_does_not_apply_tld_policy() {
        assert!(is_valid_handle("alice.coop.atauth-test.internal"));
        assert!(has_disallowed_tld("alice.coop.atauth-test.internal"));
        assert!(has_disallowed_tld("alice.LOCAL"));
        assert!(!has_disallowed_tld("alice.bsky.social"));
    }

    #[test]
    fn handle_normalisation_strips_at_and_lowercases() {
        assert_eq!(
            normalize_handle("@Alice.Example.COM").as_deref(),
            Some("alice.example.com")
        );
        assert_eq!(normalize_handle(" bob.test ").as_deref(), Some("bob.test"));
        assert_eq!(normalize_handle("@@bob.test"), None);
        assert_eq!(normalize_handle("bob"), None);
    }

    #[test]
    fn did_syntax() {
        for ok in [
            "did:plc:z72i7hdynmk6r22z27h6tvur",
            "did:web:blueskyweb.xyz",
            "did:method:val:two",
            "did:m:v",
            "did:method::::val",
            "did:method:-:_:.",
            "did:web:localhost%3A8443",
        ] {
            assert!(is_valid_did(ok), "{ok}");
        }
        for bad in [
            "did:METHOD:val",
            "did:m123:val",
            "DID:method:val",
            "did:method:",
            "did:method:val/two",
            "did:method:val?two",
            "did:method:val#two",
            "did:method:val%",
            "did::val",
            "did:plc",
            "plc:abc",
        ] {
            assert!(!is_valid_did(bad), "{bad}");
        }
    }

    #[test]
    fn did_is_at_most_2048_chars() {
        let ok = format!("did:plc:{}", "a".repeat(DID_MAX_LEN - 8));
        assert!(is_valid_did(&ok));
        let too_long = format!("did:plc:{}", "a".repeat(DID_MAX_LEN - 7));
        assert!(!is_valid_did(&too_long));
    }

    #[test]
    fn did_web_encodes_port_and_lowercases_host() {
        assert_eq!(
            did_web_for_host("alice.coop.example", None),
            "did:web:alice.coop.example"
        );
        assert_eq!(
            did_web_for_host("localhost", Some(8443)),
            "did:web:localhost%3A8443"
        );
        assert_eq!(
            did_web_for_host("Alice.Coop.Example", None),
            "did:web:alice.coop.example"
        );
        assert_eq!(
            did_web_for_host("a.example", Some(443)),
            "did:web:a.example"
        );
    }

    #[test]
    fn host_for_did_web_inverts_did_web_for_host() {
        assert_eq!(
            host_for_did_web("did:web:alice.coop.example"),
            Some(("alice.coop.example".to_owned(), None))
        );
        assert_eq!(
            host_for_did_web("did:web:localhost%3A8443"),
            Some(("localhost".to_owned(), Some(8443)))
        );
    }

    #[test]
    fn host_for_did_web_refuses_paths_and_non_canonical_forms() {
        assert_eq!(host_for_did_web("did:web:example.com:user:alice"), None);
        assert_eq!(host_for_did_web("did:web:Example.com"), None);
        assert_eq!(host_for_did_web("did:web:localhost%3a8443"), None);
        assert_eq!(host_for_did_web("did:web:localhost%3A0"), None);
        assert_eq!(host_for_did_web("did:web:localhost%3A08443"), None);
        assert_eq!(host_for_did_web("did:web:localhost%3A99999"), None);
        assert_eq!(host_for_did_web("did:web:example.com%3A443"), None);
        assert_eq!(host_for_did_web("did:web:nodots"), None);
        assert_eq!(host_for_did_web("did:plc:abc"), None);
    }

    proptest! {
        #[test]
        fn identity_checks_never_panic(s in "\\PC{0,300}") {
            let _ = is_valid_handle(&s);
            let _ = is_valid_did(&s);
            let _ = normalize_handle(&s);
            let _ = has_disallowed_tld(&s);
            let _ = host_for_did_web(&s);
        }

        #[test]
        fn did_web_round_trips(host in "[a-z][a-z0-9]{0,10}(\\.[a-z][a-z0-9]{0,10}){1,3}", port in proptest::option::of(1u16..)) {
            let did = did_web_for_host(&host, port);
            prop_assert!(is_valid_did(&did));
            let expected_port = port.filter(|p| *p != 443);
            prop_assert_eq!(host_for_did_web(&did), Some((host, expected_port)));
        }
    }
}
