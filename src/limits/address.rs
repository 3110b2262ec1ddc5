//! The client address a request is charged to (spec §4.2): the TCP peer, or the right-most
//! untrusted `X-Forwarded-For` entry when the peer is a configured trusted proxy. IPv6
//! addresses are grouped by /64, so one host cannot multiply its budget.

use std::net::{IpAddr, Ipv6Addr};

use crate::domain::proxy::ProxyNet;

/// One `X-Forwarded-For` entry: an address, `[v6]`, `[v6]:port` or `v4:port`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        let (inner, tail) = rest.split_once(']')?;
        let port_ok = tail.is_empty()
            || tail
                .strip_prefix(':')
                .is_some_and(|p| p.parse::<u16>().is_ok());
        return port_ok
            .then(|| inner.parse::<std::net::Ipv6Addr>().ok())?
            .map(IpAddr::V6);
    }
    let (addr, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    addr.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The address to charge, as text: IPv4 as is, IPv6 as its /64 network.
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[ProxyNet],
) -> String {
    let mut ip = match peer {
        Some(ip) => ip,
        None => return "unknown".into(),
    };
    if trusted.iter().any(|t| t.contains(ip))
        && let Some(list) = forwarded_for
    {
        // Right to left: the first valid entry no trusted proxy holds is the client. Entries
        // that are not addresses are skipped, so junk can neither hide the client nor make
        // the proxy's own address pay.
        for hop_ip in list.rsplit(',').filter_map(parse_hop) {
            ip = hop_ip;
            if !trusted.iter().any(|t| t.contains(hop_ip)) {
                break;
            }
        }
    }
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => format!(
                "{}/64",
                Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))
            ),
        },
        v4 => v4.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever a forwarded-for header holds, an address comes out, and it is never the
        /// trusted proxy's own when a valid client address stands at the right.
        #[test]
        fn any_forwarded_for_yields_an_address(junk in ".{0,120}", a in 1u8..=223, b: u8) {
            let proxy: Vec<ProxyNet> = vec!["10.0.0.0/8".parse().unwrap()];
            let peer = Some("10.1.2.3".parse::<IpAddr>().unwrap());
            let _ = client_address(peer, Some(&junk), &proxy);
            let client = format!("{a}.{b}.0.1");
            let got = client_address(peer, Some(&format!("{junk},{client}")), &proxy);
            if a != 10 {
                proptest::prop_assert_eq!(got, client);
            }
        }
    }

    #[test]
    fn peers_forwarded_headers_and_v6_grouping() {
        let proxy: Vec<ProxyNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(
            client_address(peer("198.51.100.7"), Some("203.0.113.1"), &proxy),
            "198.51.100.7",
            "untrusted peers are taken as is"
        );
        assert_eq!(
            client_address(peer("10.1.2.3"), Some("203.0.113.1, 10.9.9.9"), &proxy),
            "203.0.113.1"
        );
        assert_eq!(
            client_address(peer("10.1.2.3"), Some("evil, 203.0.113.1"), &proxy),
            "203.0.113.1"
        );
        assert_eq!(client_address(peer("10.1.2.3"), None, &proxy), "10.1.2.3");
        // Junk right of the client is skipped instead of charging the proxy.
        for junk in [
            "garbage",
            "[",
            "[::1",
            "1.2.3.4:99999",
            "unknown",
            "300.1.1.1",
            "",
        ] {
            assert_eq!(
                client_address(
                    peer("10.1.2.3"),
                    Some(&format!("203.0.113.1, {junk}")),
                    &proxy
                ),
                "203.0.113.1",
                "{junk:?}"
            );
        }
        assert_eq!(
            client_address(peer("10.1.2.3"), Some("[2001:db8::1]:443"), &proxy),
            "2001:db8::/64"
        );
        assert_eq!(
            client_address(peer("10.1.2.3"), Some("[2001:db8::1], 10.0.0.9"), &proxy),
            "2001:db8::/64"
        );
        assert_eq!(
            client_address(peer("10.1.2.3"), Some("198.51.100.9:4711"), &proxy),
            "198.51.100.9"
        );
        assert_eq!(
            client_address(peer("2001:db8:1:2:3:4:5:6"), None, &[]),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            client_address(peer("::ffff:198.51.100.7"), None, &[]),
            "198.51.100.7"
        );
        assert!("300.0.0.0/8".parse::<ProxyNet>().is_err());
        assert!("10.0.0.0/33".parse::<ProxyNet>().is_err());
    }
}
