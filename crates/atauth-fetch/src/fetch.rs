//! One HTTP exchange: the client settings and the checks on the response.

use crate::error::FetchError;
use crate::resolve::{find_fetch_error, CheckedResolver};
use crate::{CONNECT_TIMEOUT, MAX_BODY_BYTES, USER_AGENT};
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::redirect::Policy;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Builds the one client every fetch goes through.
pub(crate) fn build_client(
    resolver: CheckedResolver,
    allow_loopback: bool,
    timeout: Duration,
    extra_ca_pem: Option<&[u8]>,
) -> Result<reqwest::Client, FetchError> {
    let mut builder = reqwest::Client::builder()
        // Proxies would see the name instead of our resolver, and the proxy would connect.
        .no_proxy()
        // All names go through the checking resolver; IP literals are checked beforehand.
        .dns_resolver(Arc::new(resolver))
        .redirect(Policy::none())
        .https_only(!allow_loopback)
        .timeout(timeout)
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(2)
        .user_agent(USER_AGENT)
        .use_rustls_tls()
        .tls_built_in_root_certs(true);
    if let Some(pem) = extra_ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| FetchError::ExtraCa(e.to_string()))?;
        if certs.is_empty() {
            return Err(FetchError::ExtraCa("no PEM certificate found".to_owned()));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| FetchError::Client(innermost_message(&e)))
}

/// A fetched, parsed document and the size of its body.
pub(crate) struct Fetched {
    pub(crate) value: serde_json::Value,
    pub(crate) body_len: usize,
}

/// GETs `url` and checks the answer: status 200, `application/json`, at most
/// [`MAX_BODY_BYTES`], valid JSON. Carries no deadline of its own (the caller wraps it).
pub(crate) async fn fetch_json(
    client: &reqwest::Client,
    url: &Url,
    timeout: Duration,
) -> Result<Fetched, FetchError> {
    let body = fetch_body(client, url, timeout, &[JSON]).await?;
    let value = serde_json::from_slice(&body).map_err(|e| FetchError::NotJson(e.to_string()))?;
    Ok(Fetched {
        value,
        body_len: body.len(),
    })
}

/// GETs `url` and checks the answer: status 200, a media type among `accepted` (also sent as
/// `Accept`), at most [`MAX_BODY_BYTES`]. Returns the raw body. Carries no deadline of its own
/// (the caller wraps it).
pub(crate) async fn fetch_body(
    client: &reqwest::Client,
    url: &Url,
    timeout: Duration,
    accepted: &[&str],
) -> Result<Vec<u8>, FetchError> {
    let host = url.host_str().unwrap_or_default();
    let accept = HeaderValue::from_str(&accepted.join(", "))
        .map_err(|_| FetchError::Client("the accepted media types are not valid".to_owned()))?;
    let mut response = client
        .get(url.as_str())
        .header(ACCEPT, accept)
        .send()
        .await
        .map_err(|e| send_error(&e, host, timeout))?;

    let status = response.status();
    if status.is_redirection() {
        return Err(FetchError::Redirect(status.as_u16()));
    }
    if status != reqwest::StatusCode::OK {
        return Err(FetchError::Status(status.as_u16()));
    }
    check_media_type(response.headers().get(CONTENT_TYPE), accepted)?;
    if let Some(len) = response.content_length() {
        if len > MAX_BODY_BYTES as u64 {
            return Err(FetchError::TooLarge(MAX_BODY_BYTES));
        }
    }

    let capacity = response.content_length().map_or(8 * 1024, |n| n as usize);
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| body_error(&e, timeout))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(FetchError::TooLarge(MAX_BODY_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

const JSON: &str = "application/json";

/// The media type must be exactly `application/json` (compared without regard to case, as
/// media types are); parameters such as `charset` are allowed.
#[cfg(test)]
fn check_content_type(value: Option<&HeaderValue>) -> Result<(), FetchError> {
    check_media_type(value, &[JSON])
}

/// The media type must be one of `accepted` (compared without regard to case, as media types
/// are); parameters such as `charset` are allowed. JSON-only checks keep their own errors.
fn check_media_type(value: Option<&HeaderValue>, accepted: &[&str]) -> Result<(), FetchError> {
    let json_only = accepted == [JSON];
    let Some(value) = value else {
        return Err(if json_only {
            FetchError::MissingContentType
        } else {
            FetchError::MissingMediaType(accepted.join(" or "))
        });
    };
    let text = value.to_str().unwrap_or_default();
    let media_type = text.split(';').next().unwrap_or_default().trim();
    if accepted.iter().any(|a| media_type.eq_ignore_ascii_case(a)) {
        Ok(())
    } else if json_only {
        Err(FetchError::ContentType(printable(value.as_bytes(), 100)))
    } else {
        Err(FetchError::MediaType {
            expected: accepted.join(" or "),
            found: printable(value.as_bytes(), 100),
        })
    }
}

/// Server-chosen text made safe to echo: printable ASCII only, at most `max` characters.
fn printable(bytes: &[u8], max: usize) -> String {
    let mut out: String = bytes
        .iter()
        .take(max)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    if bytes.len() > max {
        out.push_str("...");
    }
    out
}

fn send_error(err: &reqwest::Error, host: &str, timeout: Duration) -> FetchError {
    if let Some(ours) = find_fetch_error(err) {
        return ours;
    }
    let reason = innermost_message(err);
    // Before `is_timeout`: a connect timeout (CONNECT_TIMEOUT) is a connection failure, not
    // the whole-fetch deadline.
    if err.is_connect() {
        FetchError::Connect {
            host: host.to_owned(),
            reason,
        }
    } else if err.is_timeout() {
        FetchError::Timeout(timeout)
    } else {
        FetchError::Request {
            host: host.to_owned(),
            reason,
        }
    }
}

fn body_error(err: &reqwest::Error, timeout: Duration) -> FetchError {
    if err.is_timeout() {
        FetchError::Timeout(timeout)
    } else {
        FetchError::Body(innermost_message(err))
    }
}

/// The message of the deepest error in the chain: the actual cause, without reqwest's
/// "error sending request for url (...)" wrappers.
fn innermost_message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let ok = |s: &'static str| check_content_type(Some(&HeaderValue::from_static(s)));
        assert_eq!(ok("application/json"), Ok(()));
        assert_eq!(ok("application/json; charset=utf-8"), Ok(()));
        assert_eq!(ok("Application/JSON;charset=UTF-8"), Ok(()));
        assert_eq!(
            ok("text/plain"),
            Err(FetchError::ContentType("text/plain".into()))
        );
        assert_eq!(
            ok("application/jwk-set+json"),
            Err(FetchError::ContentType("application/jwk-set+json".into()))
        );
        assert_eq!(
            ok("application/json-seq"),
            Err(FetchError::ContentType("application/json-seq".into()))
        );
        assert_eq!(
            check_content_type(None),
            Err(FetchError::MissingContentType)
        );
    }

    #[test]
    fn other_media_types() {
        let car = ["application/vnd.ipld.car"];
        let check = |s: &'static str| check_media_type(Some(&HeaderValue::from_static(s)), &car);
        assert_eq!(check("application/vnd.ipld.car"), Ok(()));
        assert_eq!(check("Application/VND.IPLD.CAR; version=1"), Ok(()));
        assert_eq!(
            check("application/json"),
            Err(FetchError::MediaType {
                expected: "application/vnd.ipld.car".into(),
                found: "application/json".into()
            })
        );
        assert_eq!(
            check_media_type(None, &car),
            Err(FetchError::MissingMediaType(
                "application/vnd.ipld.car".into()
            ))
        );
        let did = ["application/json", "application/did+ld+json"];
        assert_eq!(
            check_media_type(
                Some(&HeaderValue::from_static("application/did+ld+json")),
                &did
            ),
            Ok(())
        );
    }

    #[test]
    fn printable_truncates_and_masks() {
        assert_eq!(printable(b"a\x01b", 10), "a?b");
        assert_eq!(printable(b"abcdef", 3), "abc...");
    }
}
