//! Which URLs may be fetched at all, decided before any lookup or connection.

use crate::error::FetchError;
use crate::policy;
use crate::resolve::normalise_host;
use crate::MAX_URL_LENGTH;
use std::collections::HashSet;
use std::net::IpAddr;
use url::{Host, Url};

#[derive(Debug, Clone)]
pub(crate) struct UrlPolicy {
    /// Dev mode: `http://`, any port, loopback addresses.
    pub(crate) allow_loopback: bool,
    /// Hosts in `host_overrides` (normalised); they may use any port.
    pub(crate) override_hosts: HashSet<String>,
}

impl UrlPolicy {
    /// Parses `raw` and checks it: https (http only in dev mode), no user info, no fragment,
    /// a host, the default port (any port in dev mode or for an overridden host), and an
    /// IP-literal host must pass the address policy. The `url` crate has already turned forms
    /// like `2130706433` and `0x7f.1` into `Host::Ipv4`, so the parsed host is what is judged,
    /// the same host the connector will connect to.
    pub(crate) fn check(&self, raw: &str) -> Result<Url, FetchError> {
        if raw.len() > MAX_URL_LENGTH {
            return Err(FetchError::UrlTooLong(MAX_URL_LENGTH));
        }
        let url = Url::parse(raw).map_err(|e| FetchError::InvalidUrl(e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_loopback => {}
            other => return Err(FetchError::SchemeNotAllowed(other.to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::UserInfo);
        }
        if url.fragment().is_some() {
            return Err(FetchError::Fragment);
        }
        let host = url.host().ok_or(FetchError::MissingHost)?;
        let literal = match host {
            Host::Domain("") => return Err(FetchError::MissingHost),
            Host::Domain(_) => None,
            Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        };
        if let Some(port) = url.port() {
            let overridden =
                matches!(host, Host::Domain(d) if self.override_hosts.contains(&normalise_host(d)));
            if !(self.allow_loopback || overridden) {
                return Err(FetchError::PortNotAllowed(port));
            }
        }
        if let Some(addr) = literal {
            policy::check_ip(addr, self.allow_loopback)
                .map_err(|reason| FetchError::ForbiddenIpLiteral { addr, reason })?;
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Forbidden;

    fn strict() -> UrlPolicy {
        UrlPolicy {
            allow_loopback: false,
            override_hosts: ["meta.test".to_owned()].into_iter().collect(),
        }
    }

    fn dev() -> UrlPolicy {
        UrlPolicy {
            allow_loopback: true,
            override_hosts: HashSet::new(),
        }
    }

    fn literal(addr: &str, reason: Forbidden) -> Result<Url, FetchError> {
        Err(FetchError::ForbiddenIpLiteral {
            addr: addr.parse().unwrap(),
            reason,
        })
    }

    #[test]
    fn accepted() {
        for url in [
            "https://app.example/client-metadata.json",
            "https://app.example:443/x?y=1",
            "https://meta.test:8443/x",
            "https://8.8.8.8/x",
            "https://[2606:4700:4700::1111]/x",
        ] {
            assert!(strict().check(url).is_ok(), "{url}");
        }
        for url in [
            "http://127.0.0.1:8080/x",
            "http://[::1]:1/x",
            "https://dev.test:9/x",
        ] {
            assert!(dev().check(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn refused() {
        let p = strict();
        assert_eq!(
            p.check("http://app.example/x"),
            Err(FetchError::SchemeNotAllowed("http".into()))
        );
        assert_eq!(
            p.check("file:///etc/passwd"),
            Err(FetchError::SchemeNotAllowed("file".into()))
        );
        assert_eq!(
            dev().check("ftp://app.example/x"),
            Err(FetchError::SchemeNotAllowed("ftp".into()))
        );
        assert_eq!(
            p.check("https://app.example:8443/x"),
            Err(FetchError::PortNotAllowed(8443))
        );
        assert_eq!(
            p.check("https://user@app.example/x"),
            Err(FetchError::UserInfo)
        );
        assert_eq!(
            p.check("https://:pw@app.example/x"),
            Err(FetchError::UserInfo)
        );
        assert_eq!(
            p.check("https://app.example/x#frag"),
            Err(FetchError::Fragment)
        );
        assert_eq!(p.check("https://app.example/x#"), Err(FetchError::Fragment));
        assert!(matches!(
            p.check("not a url"),
            Err(FetchError::InvalidUrl(_))
        ));
        assert!(matches!(
            p.check("https://"),
            Err(FetchError::InvalidUrl(_))
        ));
        let long = format!("https://app.example/{}", "a".repeat(MAX_URL_LENGTH));
        assert_eq!(p.check(&long), Err(FetchError::UrlTooLong(MAX_URL_LENGTH)));
    }

    #[test]
    fn ip_literals_are_judged_after_normalisation() {
        let p = strict();
        assert_eq!(
            p.check("https://127.0.0.1/x"),
            literal("127.0.0.1", Forbidden::Loopback)
        );
        assert_eq!(
            p.check("https://[::1]/x"),
            literal("::1", Forbidden::Loopback)
        );
        assert_eq!(
            p.check("https://2130706433/x"),
            literal("127.0.0.1", Forbidden::Loopback)
        );
        assert_eq!(
            p.check("https://0x7f.1/x"),
            literal("127.0.0.1", Forbidden::Loopback)
        );
        assert_eq!(
            p.check("https://0177.0.0.1/x"),
            literal("127.0.0.1", Forbidden::Loopback)
        );
        assert_eq!(
            p.check("https://127.0.0.1./x"),
            literal("127.0.0.1", Forbidden::Loopback)
        );
        assert_eq!(
            p.check("https://[::ffff:127.0.0.1]/x"),
            literal("::ffff:127.0.0.1", Forbidden::Loopback)
        );
        assert_eq!(
            p.check("https://169.254.169.254/latest"),
            literal("169.254.169.254", Forbidden::LinkLocal)
        );
        assert_eq!(
            p.check("https://[fd00::1]/x"),
            literal("fd00::1", Forbidden::UniqueLocal)
        );
        assert_eq!(
            p.check("https://0/x"),
            literal("0.0.0.0", Forbidden::Unspecified)
        );
        // Dev mode lets plain loopback through, nothing else.
        assert!(dev().check("https://127.0.0.1/x").is_ok());
        assert_eq!(
            dev().check("https://10.0.0.1/x"),
            literal("10.0.0.1", Forbidden::Private)
        );
    }

    #[test]
    fn messages() {
        let p = strict();
        let msg = |u: &str| p.check(u).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            msg("http://app.example/x"),
            "the URL must use https, not http"
        );
        assert_eq!(
            msg("https://app.example:8443/x"),
            "the URL must use the default port, not 8443"
        );
        assert_eq!(
            msg("https://0x7f.1/x"),
            "the URL host 127.0.0.1 is a loopback address"
        );
    }
}
