//! `htu` comparison (RFC 9449 section 4.3 step 9): syntax-based normalisation (RFC 3986
//! section 6.2.2) and scheme-based normalisation (section 6.2.3), ignoring query and fragment.

use url::Url;

/// Normalises an http(s) URL to `scheme://host[:port]/path`: scheme and host lower-cased, the
/// default port dropped, dot segments removed (all by the WHATWG parser), percent-encoded
/// unreserved characters decoded and other escapes upper-cased; query and fragment dropped.
/// The error completes the sentence "DPoP proof htu ...".
pub(super) fn normalize(raw: &str) -> Result<String, &'static str> {
    let mut url = Url::parse(raw).map_err(|_| "is not a valid URL")?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http or https URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials");
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = normalize_percent_encoding(url.path());
    url.set_path(&path);
    Ok(url.into())
}

/// RFC 3986 section 6.2.2.1-2: `%7e` and `%7E` become `~`, `%2f` becomes `%2F`.
fn normalize_percent_encoding(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let (hi, lo) = (bytes[i + 1], bytes[i + 2]);
            if let (Some(h), Some(l)) = (hex(hi), hex(lo)) {
                let decoded = h << 4 | l;
                if decoded.is_ascii_alphanumeric() || matches!(decoded, b'-' | b'.' | b'_' | b'~') {
                    out.push(char::from(decoded));
                } else {
                    out.push('%');
                    out.push(char::from(hi.to_ascii_uppercase()));
                    out.push(char::from(lo.to_ascii_uppercase()));
                }
                i += 3;
                continue;
            }
        }
        out.push(char::from(bytes[i]));
        i += 1;
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_host_and_default_port_are_normalised() {
        let want = "https://coop.example/oauth/par";
        for raw in [
            "https://coop.example/oauth/par",
            "HTTPS://COOP.Example/oauth/par",
            "https://coop.example:443/oauth/par",
            "https://coop.example/oauth/./x/../par",
            "https://coop.example/oauth/p%61r",
        ] {
            assert_eq!(normalize(raw).as_deref(), Ok(want), "{raw}");
        }
        assert_eq!(
            normalize("http://127.0.0.1:80/x").as_deref(),
            Ok("http://127.0.0.1/x")
        );
        assert_eq!(
            normalize("https://coop.example:8443/x").as_deref(),
            Ok("https://coop.example:8443/x")
        );
    }

    #[test]
    fn query_and_fragment_are_ignored_but_path_case_is_not() {
        assert_eq!(
            normalize("https://coop.example/oauth/par?x=1#frag").as_deref(),
            Ok("https://coop.example/oauth/par")
        );
        assert_ne!(
            normalize("https://coop.example/OAuth/par"),
            normalize("https://coop.example/oauth/par")
        );
        assert_ne!(
            normalize("https://coop.example/oauth/par/"),
            normalize("https://coop.example/oauth/par")
        );
    }

    #[test]
    fn escapes_are_normalised() {
        assert_eq!(
            normalize("https://a.example/x%2fy"),
            normalize("https://a.example/x%2Fy")
        );
        assert_eq!(
            normalize("https://a.example/%7Euser").as_deref(),
            Ok("https://a.example/~user")
        );
        assert_eq!(
            normalize("https://a.example/100%").as_deref(),
            Ok("https://a.example/100%")
        );
        assert_eq!(
            normalize("https://a.example/%zz").as_deref(),
            Ok("https://a.example/%zz")
        );
    }

    #[test]
    fn refuses_non_http_urls_and_credentials() {
        assert!(normalize("/oauth/par").is_err());
        assert!(normalize("ftp://coop.example/oauth/par").is_err());
        assert!(normalize("urn:x:y").is_err());
        assert!(normalize("https://user:pw@coop.example/oauth/par").is_err());
        assert!(normalize("https://user@coop.example/oauth/par").is_err());
    }
}
