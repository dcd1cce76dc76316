//! MIME types and `accept` patterns for `blob` permissions (atproto spec "blob": `*/*`,
//! `type/*` or `type/subtype`, "same syntax as the accept field in the blob lexicon type").

/// `type/subtype` with exactly one `/`, both sides non-empty, and no space.
fn is_slash_pair(value: &str) -> bool {
    match value.split_once('/') {
        Some((ty, sub)) => {
            !ty.is_empty() && !sub.is_empty() && !sub.contains('/') && !value.contains(' ')
        }
        None => false,
    }
}

/// A concrete MIME type: `type/subtype`, no wildcard.
pub fn is_mime(value: &str) -> bool {
    is_slash_pair(value) && !value.contains('*')
}

/// An `accept` pattern: `*/*`, `type/*` or `type/subtype`. Partial wildcards such as
/// `image/p*` or `*/png` are refused.
pub fn is_accept(value: &str) -> bool {
    value == "*/*" || (is_slash_pair(value) && (!value.contains('*') || value.ends_with("/*")))
}

/// Whether the (normalised, lowercase) `accept` pattern admits `mime`. `mime` must be a concrete
/// MIME type; it is compared case-insensitively (RFC 2045 section 5.1), which the reference does
/// not do (it compares exactly, but its granted patterns are lowercase too).
pub fn accept_matches(accept: &str, mime: &str) -> bool {
    if !is_mime(mime) {
        return false;
    }
    let mime = mime.to_lowercase();
    if accept == "*/*" {
        return true;
    }
    match accept.strip_suffix('*') {
        Some(prefix) if prefix.ends_with('/') => mime.starts_with(prefix),
        _ => accept == mime,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_validity() {
        for ok in [
            "image/png",
            "application/json",
            "text/html",
            "image/*",
            "*/*",
            "image/svg+xml",
        ] {
            assert!(is_accept(ok), "{ok}");
        }
        for bad in [
            "image//png",
            "/png",
            "image/",
            "image/**",
            "*/png",
            "*",
            "image/png/extra",
            "image",
            "image/p*",
            "image/ png",
        ] {
            assert!(!is_accept(bad), "{bad}");
        }
    }

    #[test]
    fn mime_validity() {
        assert!(is_mime("image/png"));
        for bad in [
            "image/*",
            "*/*",
            "image/png/extra",
            "*/mime",
            "/png",
            "image/",
            "image",
            "image/ png",
            "image//png",
        ] {
            assert!(!is_mime(bad), "{bad}");
        }
    }

    #[test]
    fn matching() {
        assert!(accept_matches("image/png", "image/png"));
        assert!(accept_matches("image/png", "Image/PNG"));
        assert!(accept_matches("image/*", "image/gif"));
        assert!(accept_matches("*/*", "application/json"));
        assert!(!accept_matches("image/png", "image/jpeg"));
        assert!(!accept_matches("image/*", "text/html"));
        assert!(!accept_matches("image/*", "imagex/png"));
        assert!(!accept_matches("image/png", "*/mime"));
        assert!(!accept_matches("image/*", "image//png"));
        assert!(!accept_matches("image/*", "image/ png"));
        assert!(!accept_matches("*/*", "image/"));
        assert!(!accept_matches("*/*", "/mime"));
        assert!(!accept_matches("*/*", "image/*"));
    }
}
