//! Atproto DID service references (`did:plc:…#frag`, `did:web:…#frag`), the syntax of `rpc` and
//! `include` `aud` values (atproto spec "rpc": "DID followed by required service type fragment").
//!
//! The checks mirror what the reference accepts (W3C DID syntax, then the atproto "blessed"
//! methods from atproto spec "DID"): `did:plc` is exactly 24 base32 characters; `did:web` has no
//! path, and no port except for `localhost` (`did:web:localhost%3A2583`).

const DID_PLC_PREFIX: &str = "did:plc:";
const DID_WEB_PREFIX: &str = "did:web:";

/// Whether `value` is `<atproto DID>#<fragment>` with exactly one `#` and a non-empty fragment.
pub fn is_atproto_did_ref(value: &str) -> bool {
    let Some((did, fragment)) = value.split_once('#') else {
        return false;
    };
    !fragment.is_empty()
        && !fragment.contains('#')
        && is_fragment(fragment)
        && is_did(did)
        && is_atproto_did(did)
}

/// W3C DID core syntax: `did:` method-name `:` method-specific-id, at most 2048 characters;
/// method-name is `[a-z0-9]+`; the method-specific id uses `[A-Za-z0-9._-]`, `:` (not last) and
/// `%XX` escapes with uppercase hex (as the reference checks).
fn is_did(did: &str) -> bool {
    if did.len() > 2048 {
        return false;
    }
    let Some(rest) = did.strip_prefix("did:") else {
        return false;
    };
    let Some((method, msid)) = rest.split_once(':') else {
        return false;
    };
    !method.is_empty()
        && method
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && is_msid(msid)
}

fn is_msid(msid: &str) -> bool {
    let bytes = msid.as_bytes();
    if bytes.is_empty() || bytes.last() == Some(&b':') {
        return false;
    }
    let upper_hex =
        |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b));
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':') {
            i += 1;
        } else if b == b'%' && upper_hex(bytes.get(i + 1)) && upper_hex(bytes.get(i + 2)) {
            i += 3;
        } else {
            return false;
        }
    }
    true
}

/// RFC 3986 `fragment = *( pchar / "/" / "?" )`.
fn is_fragment(fragment: &str) -> bool {
    let bytes = fragment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&b) {
            i += 1;
        } else if b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        {
            i += 3;
        } else {
            return false;
        }
    }
    true
}

fn is_atproto_did(did: &str) -> bool {
    if let Some(id) = did.strip_prefix(DID_PLC_PREFIX) {
        return id.len() == 24
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
    }
    let Some(msid) = did.strip_prefix(DID_WEB_PREFIX) else {
        return false;
    };
    // No path component (atproto spec "DID": did:web is hostname-only).
    if msid.contains(':') {
        return false;
    }
    let is_localhost = msid == "localhost" || msid.starts_with("localhost%3A");
    // No port number except for localhost.
    if !is_localhost && msid.contains("%3A") {
        return false;
    }
    let host = msid.replace("%3A", ":");
    let scheme = if host == "localhost" || host.starts_with("localhost:") {
        "http"
    } else {
        "https"
    };
    url::Url::parse(&format!("{scheme}://{host}")).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_refs() {
        for ok in [
            "did:web:api.bsky.app#bsky_appview",
            "did:web:example.com#service_id",
            "did:plc:abcdefghijklmnopqrstuvwx#atproto_labeler",
            "did:web:localhost%3A2583#svc",
            "did:web:localhost#svc",
            "did:web:example.com#a%2Fb",
            "did:web:example.com#a+b/c?d",
        ] {
            assert!(is_atproto_did_ref(ok), "{ok}");
        }
        for bad in [
            "",
            "*",
            "invalid",
            "did:web:example.com",
            "did:web:example.com#",
            "did:web:example.com#a#b",
            "did:web:example.com%3A443#svc",
            "did:web:localhost:2583#svc",
            "did:web:example.com:user#svc",
            "did:web:localhost%3a2583#svc",
            "did:web:localhost%3Aabc#svc",
            "did:web#svc",
            "did:web:#svc",
            "did:plc:111#svc",
            "did:plc:abcdefghijklmnopqrstuvw1#svc",
            "did:foo:bar#svc",
            "did:web:exa mple.com#svc",
            "did:web:example.com#a b",
            "did:web:example.com#%zz",
            "did:web:%25#svc",
        ] {
            assert!(!is_atproto_did_ref(bad), "{bad}");
        }
    }
}
