//! Fetch failures. Every `Display` is one precise sentence, lower-case first, fit to follow
//! "Client metadata could not be loaded: " in an OAuth `error_description`. None of them
//! carries any part of a response body.

use crate::policy::Forbidden;
use std::net::IpAddr;
use std::time::Duration;

/// Why a fetch failed; `Display` is a precise sentence fit for an OAuth `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// A free-form refusal (kept for callers and test doubles that build their own).
    #[error("{0}")]
    Refused(String),

    // --- The URL ---
    #[error("the URL is not valid ({0})")]
    InvalidUrl(String),
    #[error("the URL is longer than {0} bytes")]
    UrlTooLong(usize),
    #[error("the URL must use https, not {0}")]
    SchemeNotAllowed(String),
    #[error("the URL must not contain a user name or password")]
    UserInfo,
    #[error("the URL must not contain a fragment")]
    Fragment,
    #[error("the URL has no host")]
    MissingHost,
    #[error("the URL must use the default port, not {0}")]
    PortNotAllowed(u16),
    #[error("the URL host {addr} is {reason}")]
    ForbiddenIpLiteral { addr: IpAddr, reason: Forbidden },

    // --- Resolution ---
    #[error("could not resolve host {host} ({reason})")]
    Resolve { host: String, reason: String },
    #[error("host {0} has no addresses")]
    NoAddresses(String),
    #[error("host {host} resolves to {reason} ({addr})")]
    ForbiddenAddress {
        host: String,
        addr: IpAddr,
        reason: Forbidden,
    },

    // --- The exchange ---
    #[error("could not connect to {host} ({reason})")]
    Connect { host: String, reason: String },
    #[error("the request to {host} failed ({reason})")]
    Request { host: String, reason: String },
    #[error("the server did not answer within {}", describe_duration(.0))]
    Timeout(Duration),
    #[error("too many documents are being fetched at once; try again later")]
    Busy,
    #[error("the server answered HTTP {0}, a redirect; redirects are not followed")]
    Redirect(u16),
    #[error("the server answered HTTP {0}, expected 200")]
    Status(u16),
    #[error("the response has no Content-Type, expected application/json")]
    MissingContentType,
    #[error("the response was not application/json ({0})")]
    ContentType(String),
    #[error("the response has no Content-Type, expected {0}")]
    MissingMediaType(String),
    #[error("the response was not {expected} ({found})")]
    MediaType { expected: String, found: String },
    #[error("the document exceeds {0} bytes")]
    TooLarge(usize),
    #[error("the response body could not be read ({0})")]
    Body(String),
    #[error("the document is not valid JSON ({0})")]
    NotJson(String),

    // --- Set-up ---
    #[error("the extra CA certificates could not be used ({0})")]
    ExtraCa(String),
    #[error("the HTTP client could not be built ({0})")]
    Client(String),
}

/// "10 seconds", "1 second", "1500 milliseconds".
pub(crate) fn describe_duration(d: &Duration) -> String {
    let millis = d.as_millis();
    let (secs, rest) = (millis / 1000, millis % 1000);
    if rest == 0 {
        format!("{secs} second{}", if secs == 1 { "" } else { "s" })
    } else {
        format!("{millis} milliseconds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences() {
        assert_eq!(
            FetchError::Timeout(Duration::from_secs(10)).to_string(),
            "the server did not answer within 10 seconds"
        );
        assert_eq!(
            FetchError::Timeout(Duration::from_secs(1)).to_string(),
            "the server did not answer within 1 second"
        );
        assert_eq!(
            FetchError::Timeout(Duration::from_millis(1500)).to_string(),
            "the server did not answer within 1500 milliseconds"
        );
        assert_eq!(
            FetchError::ForbiddenAddress {
                host: "app.example".into(),
                addr: "10.0.0.1".parse().unwrap(),
                reason: Forbidden::Private,
            }
            .to_string(),
            "host app.example resolves to a private address (10.0.0.1)"
        );
        assert_eq!(
            FetchError::Status(404).to_string(),
            "the server answered HTTP 404, expected 200"
        );
        assert_eq!(
            FetchError::TooLarge(524288).to_string(),
            "the document exceeds 524288 bytes"
        );
    }
}
