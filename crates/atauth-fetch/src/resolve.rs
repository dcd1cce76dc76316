//! Name resolution, checked and pinned.
//!
//! [`Resolve`] is the injectable lookup (the system resolver by default; a fake in tests).
//! [`CheckedResolver`] is what the reqwest client is given as its `dns_resolver`: for each
//! host name the connector asks about, it
//! 1. takes the address from `host_overrides` if the host is there (exempt from the policy:
//!    an explicit operator switch for tests), or else
//! 2. resolves the name through [`Resolve`] and refuses the whole host if **any** address
//!    fails the address policy (so a name that answers with a public and a private address,
//!    as a DNS-rebinding attacker would, is refused outright),
//! 3. hands exactly those checked addresses back to the connector, which connects only to
//!    addresses from that list.
//!
//! The check and the connection therefore use the same lookup result: there is no second
//! lookup between "checked" and "connected" for a rebinding DNS server to answer differently.
//! reqwest does not consult a resolver for IP-literal hosts; those are checked before the
//! request by [`crate::url_policy`].

use crate::error::FetchError;
use crate::policy;
use async_trait::async_trait;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Looks up the addresses of a host name.
#[async_trait]
pub trait Resolve: Send + Sync {
    async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver, through `tokio::net::lookup_host`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

#[async_trait]
impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        let addrs = tokio::net::lookup_host((host, 0)).await?;
        Ok(addrs.map(|a| a.ip()).collect())
    }
}

/// The form under which override keys are stored and looked up: lower case, no trailing dot.
pub(crate) fn normalise_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Resolves and checks host names for the HTTP client; see the module documentation.
#[derive(Clone)]
pub(crate) struct CheckedResolver {
    resolver: Arc<dyn Resolve>,
    overrides: Arc<HashMap<String, IpAddr>>,
    allow_loopback: bool,
}

impl CheckedResolver {
    /// `overrides` must have normalised keys ([`normalise_host`]).
    pub(crate) fn new(
        resolver: Arc<dyn Resolve>,
        overrides: Arc<HashMap<String, IpAddr>>,
        allow_loopback: bool,
    ) -> Self {
        Self {
            resolver,
            overrides,
            allow_loopback,
        }
    }

    /// The addresses the connection to `host` may use, every one of them checked.
    pub(crate) async fn resolve_checked(&self, host: &str) -> Result<Vec<IpAddr>, FetchError> {
        if let Some(addr) = self.overrides.get(&normalise_host(host)) {
            tracing::debug!(host, %addr, "host override (exempt from the address policy)");
            return Ok(vec![*addr]);
        }
        let mut addrs = self
            .resolver
            .resolve(host)
            .await
            .map_err(|e| FetchError::Resolve {
                host: host.to_owned(),
                reason: e.to_string(),
            })?;
        if addrs.is_empty() {
            return Err(FetchError::NoAddresses(host.to_owned()));
        }
        for addr in &addrs {
            if let Err(reason) = policy::check_ip(*addr, self.allow_loopback) {
                tracing::warn!(host, %addr, %reason, "refused to fetch from a non-public address");
                return Err(FetchError::ForbiddenAddress {
                    host: host.to_owned(),
                    addr: *addr,
                    reason,
                });
            }
        }
        let mut seen = Vec::with_capacity(addrs.len());
        addrs.retain(|a| {
            let fresh = !seen.contains(a);
            seen.push(*a);
            fresh
        });
        Ok(addrs)
    }
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        Box::pin(async move {
            let addrs = this.resolve_checked(name.as_str()).await?;
            // Port 0: the connector puts the URL's port in.
            let addrs: reqwest::dns::Addrs =
                Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// The [`FetchError`] a [`CheckedResolver`] returned, if it is somewhere in `err`'s chain.
pub(crate) fn find_fetch_error(err: &(dyn std::error::Error + 'static)) -> Option<FetchError> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<FetchError>() {
            return Some(found.clone());
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Forbidden;

    struct Fixed(Vec<IpAddr>);

    #[async_trait]
    impl Resolve for Fixed {
        async fn resolve(&self, _host: &str) -> io::Result<Vec<IpAddr>> {
            Ok(self.0.clone())
        }
    }

    fn checked(
        addrs: &[&str],
        overrides: &[(&str, &str)],
        allow_loopback: bool,
    ) -> CheckedResolver {
        let addrs = addrs.iter().map(|a| a.parse().unwrap()).collect();
        let overrides = overrides
            .iter()
            .map(|(h, a)| (normalise_host(h), a.parse().unwrap()))
            .collect();
        CheckedResolver::new(Arc::new(Fixed(addrs)), Arc::new(overrides), allow_loopback)
    }

    #[tokio::test]
    async fn every_address_must_pass() {
        let r = checked(&["93.184.216.34", "10.0.0.1"], &[], false);
        assert_eq!(
            r.resolve_checked("app.example").await,
            Err(FetchError::ForbiddenAddress {
                host: "app.example".into(),
                addr: "10.0.0.1".parse().unwrap(),
                reason: Forbidden::Private,
            })
        );
        let r = checked(
            &["93.184.216.34", "93.184.216.34", "2606:4700::1"],
            &[],
            false,
        );
        assert_eq!(
            r.resolve_checked("app.example").await,
            Ok(vec![
                "93.184.216.34".parse().unwrap(),
                "2606:4700::1".parse().unwrap()
            ])
        );
    }

    #[tokio::test]
    async fn overrides_win_and_are_exempt() {
        let r = checked(&["10.0.0.1"], &[("Meta.Test.", "127.0.0.1")], false);
        assert_eq!(
            r.resolve_checked("meta.test").await,
            Ok(vec!["127.0.0.1".parse().unwrap()])
        );
        assert!(r.resolve_checked("other.test").await.is_err());
    }

    #[tokio::test]
    async fn empty_answer_is_refused() {
        let r = checked(&[], &[], false);
        assert_eq!(
            r.resolve_checked("app.example").await,
            Err(FetchError::NoAddresses("app.example".into()))
        );
    }
}
