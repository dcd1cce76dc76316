//! The client address of a request: the TCP peer, or, when the peer is a trusted reverse
//! proxy (`--trusted-proxy CIDR`), the address that proxy chain forwarded.
//!
//! The rule ([`client_address`]): a request from a peer outside every trusted CIDR is judged by
//! its peer address alone; its `X-Forwarded-For` and `Forwarded` headers are ignored, since the
//! client wrote them. From a trusted peer, the forwarded chain is read right to left (each proxy
//! appends the address it saw) and the first address that is not itself a trusted proxy is the
//! client. The chain is `X-Forwarded-For` (every such header, in order; the de-facto standard
//! the README's proxy sets) when present, else `Forwarded` (RFC 7239 section 4, the `for=`
//! parameter, section 6 for its node syntax). An entry that is malformed, `unknown` or
//! obfuscated (section 6.2, 6.3) says nothing trustworthy about who is left of it, so the walk
//! stops there and the client address is the nearest trusted hop: never a value written by a
//! peer that is not trusted.
//!
//! Sign-in throttling counts failures per client address (`ui::throttle`).

use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use http::header::FORWARDED;
use http::request::Parts;
use http::HeaderMap;
pub use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The networks of the reverse proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks.into_iter().map(|net| net.trunc()).collect())
    }

    /// Parses each of `texts` with [`parse_trusted_proxy`].
    pub fn parse<S: AsRef<str>>(texts: &[S]) -> Result<Self, String> {
        let networks = texts
            .iter()
            .map(|text| parse_trusted_proxy(text.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(networks))
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|net| net.contains(&address))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A trusted proxy network: a CIDR (`10.0.0.0/8`, `fd00::/8`) or one address (`10.0.0.5`).
pub fn parse_trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net);
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("not a CIDR (such as 10.0.0.0/8) or an IP address: {text:?}"))
}

/// The client address of a request from `peer` carrying `headers` (see the module doc).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let mut nearest_trusted = peer.to_canonical();
    if !trusted.contains(nearest_trusted) {
        return nearest_trusted;
    }
    for hop in forwarded_chain(headers).into_iter().rev() {
        match hop {
            Hop::Address(address) if trusted.contains(address) => nearest_trusted = address,
            Hop::Address(address) => return address,
            Hop::Unusable => break,
        }
    }
    nearest_trusted
}

/// One entry of a forwarded chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hop {
    Address(IpAddr),
    /// Malformed, `unknown`, or obfuscated.
    Unusable,
}

/// The chain, leftmost (farthest from us) first: `X-Forwarded-For` if any, else `Forwarded`.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Hop> {
    if headers.contains_key(X_FORWARDED_FOR) {
        headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .flat_map(|value| match value.to_str() {
                Ok(text) => text.split(',').map(x_forwarded_for_hop).collect(),
                Err(_) => vec![Hop::Unusable],
            })
            .collect()
    } else {
        headers
            .get_all(FORWARDED)
            .iter()
            .flat_map(|value| match value.to_str() {
                Ok(text) => split_unquoted(text, ',')
                    .into_iter()
                    .map(forwarded_element_hop)
                    .collect(),
                Err(_) => vec![Hop::Unusable],
            })
            .collect()
    }
}

/// An `X-Forwarded-For` entry: an address, tolerating a port (`1.2.3.4:80`, `[::1]:80`) and
/// brackets (`[::1]`) as some proxies write them.
fn x_forwarded_for_hop(entry: &str) -> Hop {
    let entry = entry.trim();
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Hop::Address(address.to_canonical());
    }
    if let Ok(socket) = entry.parse::<SocketAddr>() {
        return Hop::Address(socket.ip().to_canonical());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<Ipv6Addr>().ok())
        .map_or(Hop::Unusable, |v6| {
            Hop::Address(IpAddr::V6(v6).to_canonical())
        })
}

/// A `forwarded-element` (RFC 7239 section 4): `;`-separated `name=value` pairs, exactly one of
/// them `for`.
fn forwarded_element_hop(element: &str) -> Hop {
    let mut node = None;
    for pair in split_unquoted(element, ';') {
        let Some((name, value)) = pair.split_once('=') else {
            return Hop::Unusable;
        };
        if name.trim().eq_ignore_ascii_case("for") {
            if node.is_some() {
                return Hop::Unusable;
            }
            node = Some(value.trim());
        }
    }
    node.and_then(unquote)
        .map_or(Hop::Unusable, |node| forwarded_node_hop(&node))
}

/// A `node` (RFC 7239 section 6): `IPv4[:port]`, `"[IPv6][:port]"`, `unknown` or `_obfuscated`;
/// the port may itself be obfuscated.
fn forwarded_node_hop(node: &str) -> Hop {
    let (address, port) = if let Some(rest) = node.strip_prefix('[') {
        let Some((inner, port)) = rest.split_once(']') else {
            return Hop::Unusable;
        };
        let Ok(v6) = inner.parse::<Ipv6Addr>() else {
            return Hop::Unusable;
        };
        (IpAddr::V6(v6), port)
    } else {
        let (host, port) = node.find(':').map_or((node, ""), |i| node.split_at(i));
        // `unknown`, `_hidden` and anything else that is not an IPv4 address end up here.
        let Ok(v4) = host.parse::<Ipv4Addr>() else {
            return Hop::Unusable;
        };
        (IpAddr::V4(v4), port)
    };
    let port_ok = port.is_empty() || port.strip_prefix(':').is_some_and(valid_node_port);
    if port_ok {
        Hop::Address(address.to_canonical())
    } else {
        Hop::Unusable
    }
}

/// `node-port` (RFC 7239 section 6): a port number or an obfuscated one.
fn valid_node_port(port: &str) -> bool {
    if let Some(obfuscated) = port.strip_prefix('_') {
        return !obfuscated.is_empty()
            && obfuscated
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    }
    !port.is_empty() && port.len() <= 5 && port.parse::<u16>().is_ok()
}

/// A `token` as is, or a `quoted-string` without its quotes and escapes (RFC 7230 section
/// 3.2.6); `None` for an unterminated quote.
fn unquote(value: &str) -> Option<String> {
    let Some(inner) = value.strip_prefix('"') else {
        return (!value.is_empty() && !value.contains('"')).then(|| value.to_string());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// `text` split at each `separator` outside quoted strings.
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The client address of the request, by [`client_address`] with the server's trusted
/// proxies; `None` when the server was started without connection info.
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let trusted = &state.inner.config.trusted_proxies;
        Ok(Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(
            |ConnectInfo(peer)| client_address(peer.ip(), &parts.headers, trusted),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn trusted(cidrs: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(cidrs).unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        map
    }

    fn from(peer: &str, pairs: &[(&str, &str)], proxies: &[&str]) -> IpAddr {
        client_address(ip(peer), &headers(pairs), &trusted(proxies))
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        assert_eq!(from("203.0.113.7", &[], &[]), ip("203.0.113.7"));
        assert_eq!(
            from("203.0.113.7", &[("x-forwarded-for", "198.51.100.1")], &[]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let proxies = ["10.0.0.0/8"];
        for spoofed in [
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-for", "10.0.0.1, 198.51.100.1"),
            ("forwarded", "for=198.51.100.1"),
        ] {
            assert_eq!(from("203.0.113.7", &[spoofed], &proxies), ip("203.0.113.7"));
        }
    }

    #[test]
    fn a_trusted_peer_forwards_the_address_it_saw() {
        let got = from(
            "10.0.0.2",
            &[("x-forwarded-for", "198.51.100.1")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("198.51.100.1"));
    }

    #[test]
    fn the_rightmost_untrusted_address_of_a_chain_of_proxies_is_the_client() {
        // The client claims 1.1.1.1; the edge proxy saw 198.51.100.1 and appended it; an inner
        // proxy appended the edge's address.
        let proxies = ["10.0.0.0/8", "192.0.2.10"];
        let chain = [("x-forwarded-for", "1.1.1.1, 198.51.100.1, 192.0.2.10")];
        assert_eq!(from("10.0.0.2", &chain, &proxies), ip("198.51.100.1"));
        // The same chain spread over several headers, in order.
        let split = [
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "198.51.100.1, 192.0.2.10"),
        ];
        assert_eq!(from("10.0.0.2", &split, &proxies), ip("198.51.100.1"));
    }

    #[test]
    fn a_chain_of_trusted_proxies_only_gives_the_farthest_proxy() {
        let got = from(
            "10.0.0.2",
            &[("x-forwarded-for", "10.0.0.9, 10.0.0.5")],
            &["10.0.0.0/8"],
        );
        assert_eq!(got, ip("10.0.0.9"));
        assert_eq!(from("10.0.0.2", &[], &["10.0.0.0/8"]), ip("10.0.0.2"));
    }

    #[test]
    fn ipv6_peers_proxies_and_clients() {
        let proxies = ["fd00::/8"];
        let got = from(
            "fd00::2",
            &[("x-forwarded-for", "2001:db8::1, fd00::5")],
            &proxies,
        );
        assert_eq!(got, ip("2001:db8::1"));
        let bracketed = from(
            "fd00::2",
            &[("x-forwarded-for", "[2001:db8::1]:443")],
            &proxies,
        );
        assert_eq!(bracketed, ip("2001:db8::1"));
        // An IPv4 peer seen through a dual-stack socket is matched as IPv4.
        let mapped = from(
            "::ffff:127.0.0.1",
            &[("x-forwarded-for", "198.51.100.1")],
            &["127.0.0.1/32"],
        );
        assert_eq!(mapped, ip("198.51.100.1"));
        assert_eq!(from("::ffff:203.0.113.7", &[], &[]), ip("203.0.113.7"));
    }

    #[test]
    fn forwarded_for_nodes() {
        let proxies = ["10.0.0.0/8"];
        let cases = [
            ("for=198.51.100.1", "198.51.100.1"),
            ("For=\"198.51.100.1:4711\"", "198.51.100.1"),
            ("for=\"[2001:db8:cafe::17]\"", "2001:db8:cafe::17"),
            ("for=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            ("for=\"[2001:db8:cafe::17]:_port\"", "2001:db8:cafe::17"),
            ("proto=https;for=198.51.100.1;by=10.0.0.2", "198.51.100.1"),
            (
                "for=1.1.1.1, for=198.51.100.1;proto=https, for=10.0.0.7",
                "198.51.100.1",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(
                from("10.0.0.2", &[("forwarded", value)], &proxies),
                ip(expected),
                "{value}"
            );
        }
        let split = [
            ("forwarded", "for=1.1.1.1"),
            ("forwarded", "for=198.51.100.2"),
        ];
        assert_eq!(from("10.0.0.2", &split, &proxies), ip("198.51.100.2"));
    }

    #[test]
    fn x_forwarded_for_is_read_when_both_headers_are_present() {
        let both = [
            ("forwarded", "for=1.1.1.1"),
            ("x-forwarded-for", "198.51.100.1"),
        ];
        assert_eq!(from("10.0.0.2", &both, &["10.0.0.0/8"]), ip("198.51.100.1"));
    }

    #[test]
    fn unknown_and_obfuscated_nodes_stop_at_the_nearest_trusted_hop() {
        let proxies = ["10.0.0.0/8"];
        for value in [
            "for=1.1.1.1, for=unknown",
            "for=1.1.1.1, for=_hidden",
            "for=1.1.1.1, for=\"_hidden:80\"",
            "for=1.1.1.1, for=unknown, for=10.0.0.7",
        ] {
            let got = from("10.0.0.2", &[("forwarded", value)], &proxies);
            let expected = if value.ends_with("10.0.0.7") {
                "10.0.0.7"
            } else {
                "10.0.0.2"
            };
            assert_eq!(got, ip(expected), "{value}");
        }
    }

    #[test]
    fn malformed_entries_fall_back_to_the_nearest_trusted_hop_never_to_what_lies_left() {
        let proxies = ["10.0.0.0/8"];
        for value in [
            "not an address",
            "1.1.1.1, garbage",
            "1.1.1.1,",
            "1.1.1.1, 300.1.1.1",
            "",
            "1.1.1.1, 2001:db8::1:80:99:99:99:99:99",
        ] {
            let got = from("10.0.0.2", &[("x-forwarded-for", value)], &proxies);
            assert_eq!(got, ip("10.0.0.2"), "{value:?}");
        }
        // Behind a second trusted hop, the fall-back is that hop.
        let got = from(
            "10.0.0.2",
            &[("x-forwarded-for", "1.1.1.1, junk, 10.0.0.8")],
            &proxies,
        );
        assert_eq!(got, ip("10.0.0.8"));
        for value in [
            "for=\"1.1.1.1",
            "for=[2001:db8::1]x",
            "for=1.1.1.1;for=2.2.2.2",
            "proto=https",
            "for",
            "for=1.1.1.1:99999",
            "for=\"[2001:db8::1\"",
        ] {
            let got = from("10.0.0.2", &[("forwarded", value)], &proxies);
            assert_eq!(got, ip("10.0.0.2"), "{value:?}");
        }
        // A header that is not visible ASCII.
        let got = from(
            "10.0.0.2",
            &[("x-forwarded-for", "1.1.1.1, \u{e9}")],
            &proxies,
        );
        assert_eq!(got, ip("10.0.0.2"));
    }

    #[test]
    fn trusted_proxies_parse_cidrs_and_single_addresses() {
        let proxies = trusted(&["10.0.0.5", "192.168.1.77/24", "fd00::/8"]);
        assert!(proxies.contains(ip("10.0.0.5")));
        assert!(!proxies.contains(ip("10.0.0.6")));
        assert!(proxies.contains(ip("192.168.1.1")));
        assert!(proxies.contains(ip("fd12::1")));
        assert!(!proxies.contains(ip("2001:db8::1")));
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::parse(&["proxy.internal"]).is_err());
    }
}
