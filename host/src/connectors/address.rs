//! Which network addresses a plugin's request may reach without the operator naming the
//! host: only public (globally routed) ones. [`kind`] names what else an address is —
//! loopback, link-local (where cloud metadata lives), private, shared (CGNAT),
//! unique-local, unspecified, multicast, broadcast, reserved or documentation — so a
//! refusal can say why. IPv6 forms that carry an IPv4 address (IPv4-mapped
//! `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`) are judged by the
//! IPv4 address they carry.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// Why an address is not public.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Unspecified,
    Loopback,
    /// 169.254.0.0/16 and fe80::/10; cloud metadata (169.254.169.254) lives here.
    LinkLocal,
    /// RFC 1918.
    Private,
    /// 100.64.0.0/10, carrier-grade NAT.
    Shared,
    /// fc00::/7.
    UniqueLocal,
    Multicast,
    Broadcast,
    /// Documentation, benchmarking, IETF protocol assignments, the old 240/4 class,
    /// IPv6 site-local.
    Reserved,
}

impl Kind {
    /// In plain words: "a loopback address".
    pub(crate) fn words(self) -> &'static str {
        match self {
            Kind::Unspecified => "an unspecified address",
            Kind::Loopback => "a loopback address",
            Kind::LinkLocal => "a link-local address (where cloud metadata lives)",
            Kind::Private => "a private address",
            Kind::Shared => "a shared (carrier-grade NAT) address",
            Kind::UniqueLocal => "a unique-local address",
            Kind::Multicast => "a multicast address",
            Kind::Broadcast => "a broadcast address",
            Kind::Reserved => "a reserved address",
        }
    }
}

const V4: &[(Ipv4Net, Kind)] = &[
    (
        Ipv4Net::new_assert(Ipv4Addr::new(0, 0, 0, 0), 8),
        Kind::Unspecified,
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(10, 0, 0, 0), 8),
        Kind::Private,
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(100, 64, 0, 0), 10),
        Kind::Shared,
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(127, 0, 0, 0), 8),
        Kind::Loopback,
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(169, 254, 0, 0), 16),
        Kind::LinkLocal,
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(172, 16, 0, 0), 12),
        Kind::Private,
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 0, 0), 24),
        Kind::Reserved,
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 2, 0), 24),
        Kind::Reserved,
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(192, 168, 0, 0), 16),
        Kind::Private,
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(198, 18, 0, 0), 15),
        Kind::Reserved,
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(198, 51, 100, 0), 24),
        Kind::Reserved,
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(203, 0, 113, 0), 24),
        Kind::Reserved,
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(224, 0, 0, 0), 4),
        Kind::Multicast,
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(255, 255, 255, 255), 32),
        Kind::Broadcast,
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(240, 0, 0, 0), 4),
        Kind::Reserved,
    ),
];

const V6: &[(Ipv6Net, Kind)] = &[
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 128),
        Kind::Unspecified,
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0x1), 128),
        Kind::Loopback,
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
        Kind::LinkLocal,
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),
        Kind::Reserved,
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),
        Kind::UniqueLocal,
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
        Kind::Multicast,
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32),
        Kind::Reserved,
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64),
        Kind::Reserved,
    ),
];

/// What `ip` is when it is not public; `None` for a public address.
pub(crate) fn kind(ip: IpAddr) -> Option<Kind> {
    match ip {
        IpAddr::V4(v4) => kind_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => kind_v4(v4),
            None => V6
                .iter()
                .find(|(net, _)| net.contains(&v6))
                .map(|(_, k)| *k),
        },
    }
}

fn kind_v4(ip: Ipv4Addr) -> Option<Kind> {
    V4.iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, k)| *k)
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped, IPv4-compatible (but not
/// `::` and `::1`, which are IPv6's own) or NAT64.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let compatible = s[..6].iter().all(|x| *x == 0) && !ip.is_unspecified() && !ip.is_loopback();
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    (compatible || nat64).then_some(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Option<Kind> {
        kind(s.parse().unwrap())
    }

    #[test]
    fn every_internal_range_is_named_and_public_addresses_pass() {
        for (ip, want) in [
            ("127.0.0.1", Kind::Loopback),
            ("127.255.0.9", Kind::Loopback),
            ("::1", Kind::Loopback),
            ("169.254.169.254", Kind::LinkLocal),
            ("fe80::1", Kind::LinkLocal),
            ("10.1.2.3", Kind::Private),
            ("172.16.0.1", Kind::Private),
            ("172.31.255.255", Kind::Private),
            ("192.168.1.1", Kind::Private),
            ("100.64.0.1", Kind::Shared),
            ("100.127.255.255", Kind::Shared),
            ("fc00::1", Kind::UniqueLocal),
            ("fd12:3456::1", Kind::UniqueLocal),
            ("0.0.0.0", Kind::Unspecified),
            ("0.1.2.3", Kind::Unspecified),
            ("::", Kind::Unspecified),
            ("224.0.0.1", Kind::Multicast),
            ("ff02::1", Kind::Multicast),
            ("255.255.255.255", Kind::Broadcast),
            ("203.0.113.7", Kind::Reserved),
            ("2001:db8::1", Kind::Reserved),
            ("240.0.0.1", Kind::Reserved),
        ] {
            assert_eq!(k(ip), Some(want), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "169.253.255.255",
            "2a03:2880:f10c::1",
            "2606:4700::1111",
        ] {
            assert_eq!(k(ip), None, "{ip} is public");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_addresses_are_judged_by_the_ipv4_address() {
        assert_eq!(k("::ffff:127.0.0.1"), Some(Kind::Loopback));
        assert_eq!(k("::ffff:169.254.169.254"), Some(Kind::LinkLocal));
        assert_eq!(k("::ffff:10.0.0.1"), Some(Kind::Private));
        assert_eq!(k("::127.0.0.1"), Some(Kind::Loopback), "IPv4-compatible");
        assert_eq!(k("64:ff9b::a9fe:a9fe"), Some(Kind::LinkLocal), "NAT64");
        assert_eq!(k("::ffff:8.8.8.8"), None);
        assert_eq!(k("64:ff9b::808:808"), None);
    }
}
