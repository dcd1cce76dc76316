//! The address policy: which IP addresses an outbound fetch may connect to.
//!
//! Only public unicast addresses pass. Every special-purpose range from the IANA IPv4 and IPv6
//! special-purpose registries that is not globally reachable is refused, and IPv6 forms that
//! embed an IPv4 address (IPv4-mapped, IPv4-compatible, IPv4-translated, NAT64, 6to4) are judged
//! by the IPv4 address they embed, so `::ffff:127.0.0.1` is as loopback as `127.0.0.1`.
//!
//! In dev mode (`allow_loopback`) exactly two more things pass: `127.0.0.0/8` and `::1`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused. `Display` gives a noun phrase with its article
/// ("a private address"), to be used inside a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forbidden {
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// `0.0.0.0/8` other than `0.0.0.0` ("this network", RFC 791).
    ThisNetwork,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` (RFC 1918).
    Private,
    /// `100.64.0.0/10` (carrier-grade NAT, RFC 6598).
    SharedCgnat,
    /// `169.254.0.0/16` (includes cloud metadata at `169.254.169.254`), `fe80::/10`.
    LinkLocal,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// Other special-purpose or unallocated space: `192.0.0.0/24`, `192.88.99.0/24`,
    /// `240.0.0.0/4`, IPv6 outside `2000::/3`, `2001::/23`, deprecated IPv4-compatible forms.
    Reserved,
    /// `fc00::/7` (RFC 4193).
    UniqueLocal,
    /// `fec0::/10` (deprecated, RFC 3879).
    SiteLocal,
    /// `2001::/32` (RFC 4380): the IPv4 server and client inside are obfuscated and
    /// cannot be judged.
    Teredo,
    /// `100::/64` (RFC 6666).
    DiscardOnly,
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unspecified => "an unspecified address",
            Self::ThisNetwork => "a \"this network\" (0.0.0.0/8) address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::SharedCgnat => "a shared carrier-grade NAT address",
            Self::LinkLocal => "a link-local address",
            Self::Documentation => "a documentation address",
            Self::Benchmarking => "a benchmarking address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "a broadcast address",
            Self::Reserved => "a reserved address",
            Self::UniqueLocal => "a unique local address",
            Self::SiteLocal => "a site-local address",
            Self::Teredo => "a Teredo address",
            Self::DiscardOnly => "a discard-only address",
        })
    }
}

/// Checks `ip` against the policy: `Ok` for public unicast addresses, and in dev mode
/// (`allow_loopback`) also for `127.0.0.0/8` and `::1` (and nothing else).
pub fn check_ip(ip: IpAddr, allow_loopback: bool) -> Result<(), Forbidden> {
    match classify(ip) {
        None => Ok(()),
        Some(Forbidden::Loopback) if allow_loopback && is_plain_loopback(ip) => Ok(()),
        Some(reason) => Err(reason),
    }
}

/// `None` for a public unicast address, otherwise why it is not one.
pub fn classify(ip: IpAddr) -> Option<Forbidden> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn is_plain_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.octets()[0] == 127,
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST,
    }
}

/// Whether `addr` lies in `net/len`.
fn in_v4(addr: Ipv4Addr, net: [u8; 4], len: u32) -> bool {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    u32::from(addr) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

/// Whether `addr` lies in `net/len`.
fn in_v6(addr: Ipv6Addr, net: [u16; 8], len: u32) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    u128::from(addr) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

fn classify_v4(ip: Ipv4Addr) -> Option<Forbidden> {
    use Forbidden::*;
    const TABLE: &[([u8; 4], u32, Forbidden)] = &[
        ([0, 0, 0, 0], 32, Unspecified),
        ([0, 0, 0, 0], 8, ThisNetwork),
        ([127, 0, 0, 0], 8, Loopback),
        ([10, 0, 0, 0], 8, Private),
        ([172, 16, 0, 0], 12, Private),
        ([192, 168, 0, 0], 16, Private),
        ([100, 64, 0, 0], 10, SharedCgnat),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 0, 2, 0], 24, Documentation),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([192, 88, 99, 0], 24, Reserved),
        ([198, 18, 0, 0], 15, Benchmarking),
        ([224, 0, 0, 0], 4, Multicast),
        ([255, 255, 255, 255], 32, Broadcast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    TABLE
        .iter()
        .find(|(net, len, _)| in_v4(ip, *net, *len))
        .map(|(_, _, reason)| *reason)
}

/// The IPv4 address in the low 32 bits of `ip`.
fn low_v4(ip: Ipv6Addr) -> Ipv4Addr {
    Ipv4Addr::from((u128::from(ip) & 0xffff_ffff) as u32)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Forbidden> {
    use Forbidden::*;
    if ip == Ipv6Addr::UNSPECIFIED {
        return Some(Unspecified);
    }
    if ip == Ipv6Addr::LOCALHOST {
        return Some(Loopback);
    }
    // ::ffff:a.b.c.d (IPv4-mapped) and 64:ff9b::a.b.c.d (NAT64 well-known prefix) reach the
    // embedded IPv4 address: judge that address.
    if in_v6(ip, [0, 0, 0, 0, 0, 0xffff, 0, 0], 96)
        || in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96)
    {
        return classify_v4(low_v4(ip));
    }
    // ::a.b.c.d (IPv4-compatible, deprecated) and ::ffff:0:a.b.c.d (IPv4-translated): refuse,
    // naming the embedded address's problem when it has one.
    if in_v6(ip, [0; 8], 96) || in_v6(ip, [0, 0, 0, 0, 0xffff, 0, 0, 0], 96) {
        return Some(classify_v4(low_v4(ip)).unwrap_or(Reserved));
    }
    // 6to4: 2002:AABB:CCDD::/48 routes to the IPv4 address AA.BB.CC.DD.
    if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        let embedded = Ipv4Addr::from(((u128::from(ip) >> 80) & 0xffff_ffff) as u32);
        return classify_v4(embedded);
    }
    const TABLE: &[([u16; 8], u32, Forbidden)] = &[
        ([0x0064, 0xff9b, 0x0001, 0, 0, 0, 0, 0], 48, Reserved),
        ([0x0100, 0, 0, 0, 0, 0, 0, 0], 64, DiscardOnly),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Multicast),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, UniqueLocal),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, LinkLocal),
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, SiteLocal),
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, Teredo),
        ([0x2001, 0x0002, 0, 0, 0, 0, 0, 0], 48, Benchmarking),
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, Reserved),
        ([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32, Documentation),
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, Documentation),
    ];
    if let Some((_, _, reason)) = TABLE.iter().find(|(net, len, _)| in_v6(ip, *net, *len)) {
        return Some(*reason);
    }
    // Global unicast is allocated from 2000::/3 only.
    if !in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) {
        return Some(Reserved);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use Forbidden::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn table() {
        let cases: &[(&str, Option<Forbidden>)] = &[
            // IPv4 public
            ("1.1.1.1", None),
            ("8.8.8.8", None),
            ("93.184.216.34", None),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("100.63.255.255", None),
            ("100.128.0.0", None),
            ("198.17.255.255", None),
            ("198.20.0.0", None),
            ("223.255.255.255", None),
            ("192.0.1.1", None),
            ("192.167.255.255", None),
            ("11.0.0.1", None),
            // IPv4 refused
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(ThisNetwork)),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("10.0.0.1", Some(Private)),
            ("10.255.255.255", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("192.168.1.1", Some(Private)),
            ("100.64.0.1", Some(SharedCgnat)),
            ("100.127.255.255", Some(SharedCgnat)),
            ("169.254.169.254", Some(LinkLocal)),
            ("169.254.0.1", Some(LinkLocal)),
            ("192.0.0.8", Some(Reserved)),
            ("192.0.2.1", Some(Documentation)),
            ("198.51.100.7", Some(Documentation)),
            ("203.0.113.9", Some(Documentation)),
            ("192.88.99.1", Some(Reserved)),
            ("198.18.0.1", Some(Benchmarking)),
            ("198.19.255.255", Some(Benchmarking)),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.250", Some(Multicast)),
            ("240.0.0.1", Some(Reserved)),
            ("254.1.2.3", Some(Reserved)),
            ("255.255.255.255", Some(Broadcast)),
            // IPv6 public
            ("2606:4700:4700::1111", None),
            ("2a00:1450:4001:80b::200e", None),
            ("2001:4860:4860::8888", None),
            ("2002:0808:0808::1", None),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::808:808", None),
            ("3ffe::1", None),
            // IPv6 refused
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:10.0.0.1", Some(Private)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:0.0.0.0", Some(Unspecified)),
            ("::127.0.0.1", Some(Loopback)),
            ("::8.8.8.8", Some(Reserved)),
            ("::ffff:0:127.0.0.1", Some(Loopback)),
            ("::ffff:0:8.8.8.8", Some(Reserved)),
            ("64:ff9b::7f00:1", Some(Loopback)),
            ("64:ff9b::a00:1", Some(Private)),
            ("64:ff9b:1::1", Some(Reserved)),
            ("2002:7f00:0001::1", Some(Loopback)),
            ("2002:0a00:0001::1", Some(Private)),
            ("2002:a9fe:a9fe::1", Some(LinkLocal)),
            ("2001::1", Some(Teredo)),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Some(Teredo)),
            ("2001:2::1", Some(Benchmarking)),
            ("2001:10::1", Some(Reserved)),
            ("2001:1ff:ffff::1", Some(Reserved)),
            ("2001:db8::1", Some(Documentation)),
            ("3fff::1", Some(Documentation)),
            ("100::1", Some(DiscardOnly)),
            ("100::1:0:0:0:1", Some(Reserved)),
            ("fc00::1", Some(UniqueLocal)),
            ("fd00::1", Some(UniqueLocal)),
            ("fdff:ffff::1", Some(UniqueLocal)),
            ("fe80::1", Some(LinkLocal)),
            ("febf::1", Some(LinkLocal)),
            ("fec0::1", Some(SiteLocal)),
            ("ff02::1", Some(Multicast)),
            ("ff0e::1", Some(Multicast)),
            ("5f00::1", Some(Reserved)),
            ("4000::1", Some(Reserved)),
            ("1::1", Some(Reserved)),
        ];
        for (addr, expected) in cases {
            assert_eq!(classify(ip(addr)), *expected, "{addr}");
        }
    }

    #[test]
    fn dev_mode_allows_plain_loopback_only() {
        assert_eq!(check_ip(ip("127.0.0.1"), true), Ok(()));
        assert_eq!(check_ip(ip("127.1.2.3"), true), Ok(()));
        assert_eq!(check_ip(ip("::1"), true), Ok(()));
        assert_eq!(check_ip(ip("::ffff:127.0.0.1"), true), Err(Loopback));
        assert_eq!(check_ip(ip("10.0.0.1"), true), Err(Private));
        assert_eq!(check_ip(ip("169.254.169.254"), true), Err(LinkLocal));
        assert_eq!(check_ip(ip("0.0.0.0"), true), Err(Unspecified));
        assert_eq!(check_ip(ip("127.0.0.1"), false), Err(Loopback));
        assert_eq!(check_ip(ip("::1"), false), Err(Loopback));
        assert_eq!(check_ip(ip("8.8.8.8"), false), Ok(()));
    }

    #[test]
    fn reasons_read_as_noun_phrases() {
        assert_eq!(Private.to_string(), "a private address");
        assert_eq!(Unspecified.to_string(), "an unspecified address");
    }
}
