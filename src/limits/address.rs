//! The client address a request is charged to (spec §4.2): the TCP peer, or the right-most
//! untrusted `X-Forwarded-For` entry when the peer is a configured trusted proxy. IPv6
//! addresses are grouped by /64, so one host cannot multiply its budget.

use std::net::{IpAddr, Ipv6Addr};

use crate::domain::proxy::ProxyNet;

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
        for hop in list.rsplit(',').map(str::trim) {
            match hop.parse::<IpAddr>() {
                Ok(hop_ip) if trusted.iter().any(|t| t.contains(hop_ip)) => ip = hop_ip,
                Ok(hop_ip) => {
                    ip = hop_ip;
                    break;
                }
                Err(_) => break,
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
