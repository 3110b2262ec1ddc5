//! Rule 3 of §7.4, addresses and networks: parsing them, and the arithmetic of the 16-byte
//! address space they are stored in (IPv4 mapped into `::ffff:0:0/96`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{DomainError, Itype, MIN_V4_PREFIX, MIN_V6_PREFIX, Thing, invalid};

/// Where IPv4 lives inside the 16-byte address space: `::ffff:0:0/96`.
const V4_MAPPED_PREFIX: u8 = 96;

/// The network addresses (`ip_lo`) of every accepted network that could contain `addr`, a
/// 16-byte big-endian address as in [`Thing::ip_range`] (IPv4 mapped into `::ffff:0:0/96`).
///
/// For IPv4 (`v4`) these are the starts of its /8 to /32 networks, for IPv6 of its /32 to
/// /128 networks, the last being `addr` itself; duplicates are removed, so there are at most
/// 25 or 97, in ascending order. A stored address or network contains `addr` exactly when
/// its `ip_lo` is in this list and its `ip_hi` is at least `addr`. IPv4 starts all lie in
/// `::ffff:0:0/96` and those of an ipv6 value's address never do (such addresses become
/// ipv4), so neither family matches the other.
///
/// Only the prefix lengths (in bits of the 16-byte form) that `keep` accepts are listed, so
/// a search probes just the lengths stored; `addr` itself (128) is always among them.
pub fn enclosing_networks(addr: [u8; 16], v4: bool, keep: impl Fn(u8) -> bool) -> Vec<[u8; 16]> {
    let bits = u128::from_be_bytes(addr);
    let broadest = broadest_prefix(v4);
    let mut out: Vec<[u8; 16]> = Vec::with_capacity(most_enclosing_networks(v4));
    for prefix in (broadest..=128).filter(|&p| p == 128 || keep(p)) {
        let start = (bits & mask(prefix)).to_be_bytes();
        if out.last() != Some(&start) {
            out.push(start);
        }
    }
    out
}

/// The broadest stored prefix, in bits of the 16-byte form.
fn broadest_prefix(v4: bool) -> u8 {
    if v4 {
        V4_MAPPED_PREFIX + MIN_V4_PREFIX
    } else {
        MIN_V6_PREFIX
    }
}

/// The most starts [`enclosing_networks`] returns for an address of the family.
pub fn most_enclosing_networks(v4: bool) -> usize {
    usize::from(129 - broadest_prefix(v4))
}

/// Rule 3: an address or a network, possibly IPv4-mapped; `Ok(None)` when `s` is not an
/// address at all (so a later rule may apply).
pub(super) fn parse_ip(s: &str) -> Result<Option<Thing>, DomainError> {
    let (addr_text, prefix_text) = match s.split_once('/') {
        Some((a, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (a, Some(p)),
        Some(_) => return Ok(None),
        None => (s, None),
    };
    let addr = match addr_text
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
    {
        Some(inner) => parse_v6(inner)?.map(IpAddr::V6),
        None => match parse_v4(addr_text) {
            Some(a) => Some(IpAddr::V4(a)),
            None => parse_v6(addr_text)?.map(IpAddr::V6),
        },
    };
    let Some(mut addr) = addr else {
        return Ok(None);
    };
    let max = max_prefix(addr);
    let mut prefix = match prefix_text {
        None => max,
        Some(p) if p.len() > 1 && p.starts_with('0') => {
            return Err(invalid("a prefix length has no leading zeros"));
        }
        Some(p) => match p.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => return Err(invalid(format!("a prefix length is 0-{max}"))),
        },
    };
    if let IpAddr::V6(v6) = addr
        && prefix >= V4_MAPPED_PREFIX
        && let Some(v4) = v6.to_ipv4_mapped()
    {
        addr = IpAddr::V4(v4);
        prefix -= V4_MAPPED_PREFIX;
    }
    let (broadest, max) = match addr {
        IpAddr::V4(_) => (MIN_V4_PREFIX, 32),
        IpAddr::V6(_) => (MIN_V6_PREFIX, 128),
    };
    if prefix < broadest {
        return Err(DomainError::new(
            "cidr_too_broad",
            format!("networks broader than /{broadest} are not accepted"),
        ));
    }
    let network = network_address(addr, prefix);
    if network != addr {
        return Err(invalid(format!(
            "host bits are set: send {network}/{prefix} for that network"
        )));
    }
    let value = if prefix == max {
        addr.to_string()
    } else {
        format!("{addr}/{prefix}")
    };
    let itype = match addr {
        IpAddr::V4(_) => Itype::Ipv4,
        IpAddr::V6(_) => Itype::Ipv6,
    };
    Ok(Some(Thing {
        value,
        itype,
        ip: Some((addr, prefix)),
        host: None,
    }))
}

/// Four decimal octets 0–255 without leading zeros (std's parser is that strict).
pub(super) fn parse_v4(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

/// Any RFC 4291 text form; a zone identifier is an error, anything else not an address is
/// `Ok(None)`.
pub(super) fn parse_v6(s: &str) -> Result<Option<Ipv6Addr>, DomainError> {
    if let Some((addr, _zone)) = s.split_once('%')
        && addr.parse::<Ipv6Addr>().is_ok()
    {
        return Err(invalid("IPv6 zone identifiers are not accepted"));
    }
    Ok(s.parse().ok())
}

pub(super) fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// The address as a 128-bit number (IPv4 mapped) and the prefix in that space.
pub(super) fn to_u128(addr: IpAddr, prefix: u8) -> (u128, u8) {
    match addr {
        IpAddr::V4(v4) => (u128::from(v4.to_ipv6_mapped()), prefix + V4_MAPPED_PREFIX),
        IpAddr::V6(v6) => (u128::from(v6), prefix),
    }
}

/// The network mask of a 128-bit prefix.
pub(super) fn mask(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p => u128::MAX << (128 - u32::from(p.min(128))),
    }
}

pub(super) fn network_address(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let m = match prefix {
                0 => 0,
                p => u32::MAX << (32 - u32::from(p.min(32))),
            };
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & m))
        }
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask(prefix))),
    }
}
