//! Address blocks as disjoint intervals of the 16-byte address space (IPv4 mapped into
//! `::ffff:0:0/96`, as `Thing::ip_range` does), found by one binary search.

use std::fmt;
use std::net::IpAddr;

/// Where IPv4 lives inside the 16-byte address space.
const V4_MAPPED: u128 = 0xffff << 32;

/// An address block: its first address and prefix length in the 16-byte form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    lo: u128,
    prefix: u8,
}

impl Network {
    /// Parses `addr` or `addr/len` (IPv4 or IPv6); host bits are cleared, as the warninglists
    /// sometimes carry them. `None` when it is neither.
    pub fn parse(text: &str) -> Option<Network> {
        let text = text.trim();
        let (addr, len) = match text.split_once('/') {
            Some((addr, len)) => (addr, Some(len.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let (bits, max, offset) = match addr.parse::<IpAddr>().ok()? {
            IpAddr::V4(v4) => (V4_MAPPED | u128::from(u32::from(v4)), 32, 96),
            IpAddr::V6(v6) => (u128::from(v6), 128, 0),
        };
        let len = len.unwrap_or(max);
        if len > max {
            return None;
        }
        Some(Network::new(bits, len + offset))
    }

    /// The block of `prefix` bits (of the 16-byte form) holding `bits`.
    pub fn new(bits: u128, prefix: u8) -> Network {
        let lo = bits & mask(prefix);
        Network { lo, prefix }
    }

    /// The first address.
    pub fn lo(&self) -> u128 {
        self.lo
    }

    /// The last address.
    pub fn hi(&self) -> u128 {
        self.lo | !mask(self.prefix)
    }

    pub(super) fn is_v4(&self) -> bool {
        self.prefix >= 96 && self.lo & mask(96) == V4_MAPPED
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_v4() {
            let addr = std::net::Ipv4Addr::from(self.lo as u32);
            write!(f, "{addr}/{}", self.prefix - 96)
        } else {
            let addr = std::net::Ipv6Addr::from(self.lo);
            write!(f, "{addr}/{}", self.prefix)
        }
    }
}

fn mask(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p => u128::MAX << (128 - u32::from(p.min(128))),
    }
}

/// Blocks, each with the index of the source that listed it.
#[derive(Debug, Default)]
pub(super) struct Ranges {
    /// Sorted by first address, disjoint: a block inside another is kept only as the outer
    /// one (two blocks are either nested or apart).
    blocks: Vec<(Network, u16)>,
    /// The first addresses of the IPv4 blocks (the low 32 bits), then of the others: the
    /// binary search reads these small arrays instead of whole blocks.
    v4_starts: Vec<u32>,
    v6_starts: Vec<u128>,
}

impl Ranges {
    /// Sorts `blocks` and keeps the outermost of nested ones (the first listed of equal ones).
    pub(super) fn build(mut blocks: Vec<(Network, u16)>) -> Ranges {
        blocks.sort_by(|a, b| a.0.lo.cmp(&b.0.lo).then(a.0.prefix.cmp(&b.0.prefix)));
        let mut kept: Vec<(Network, u16)> = Vec::with_capacity(blocks.len());
        for block in blocks {
            match kept.last() {
                Some(last) if block.0.hi() <= last.0.hi() => {}
                _ => kept.push(block),
            }
        }
        kept.shrink_to_fit();
        // IPv4 sorts after `::`..`::fffe:ffff:ffff` and before the rest of IPv6.
        let v4_starts = kept
            .iter()
            .filter(|(n, _)| n.is_v4())
            .map(|(n, _)| n.lo as u32)
            .collect();
        let v6_starts = kept
            .iter()
            .filter(|(n, _)| !n.is_v4())
            .map(|(n, _)| n.lo)
            .collect();
        Ranges {
            blocks: kept,
            v4_starts,
            v6_starts,
        }
    }

    /// The block holding every address from `lo` to `hi`, if one does.
    pub(super) fn containing(&self, lo: u128, hi: u128) -> Option<(Network, u16)> {
        let index = if lo & mask(96) == V4_MAPPED {
            let before_v4 = self.v6_starts.partition_point(|s| *s < V4_MAPPED);
            let after = self.v4_starts.partition_point(|s| *s <= lo as u32);
            match after {
                // No IPv4 block starts at or below `lo`: the last IPv6 one before the
                // mapped range might still hold it (a block such as `::/0`).
                0 => before_v4.checked_sub(1)?,
                n => before_v4 + n - 1,
            }
        } else {
            let after = self.v6_starts.partition_point(|s| *s <= lo);
            let v6_index = after.checked_sub(1)?;
            // IPv6 blocks past the mapped range come after every IPv4 block.
            let before_v4 = self.v6_starts.partition_point(|s| *s < V4_MAPPED);
            if v6_index < before_v4 {
                v6_index
            } else {
                v6_index + self.v4_starts.len()
            }
        };
        let (network, source) = *self.blocks.get(index)?;
        (network.lo <= lo && network.hi() >= hi).then_some((network, source))
    }

    pub(super) fn len(&self) -> usize {
        self.blocks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> Network {
        Network::parse(text).unwrap()
    }

    #[test]
    fn parses_and_renders_both_families() {
        assert_eq!(net("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(net("192.0.2.7").to_string(), "192.0.2.7/32");
        assert_eq!(net("2001:db8::1/32").to_string(), "2001:db8::/32");
        assert_eq!(net("::1").to_string(), "::1/128");
        assert_eq!(Network::parse("10.0.0.0/33"), None);
        assert_eq!(Network::parse("example.com"), None);
        assert_eq!(Network::parse("10.0.0.0/x"), None);
    }

    #[test]
    fn nested_blocks_keep_the_outer_one() {
        let ranges = Ranges::build(vec![
            (net("10.1.0.0/16"), 1),
            (net("10.0.0.0/8"), 2),
            (net("192.168.1.0/24"), 3),
            (net("10.0.0.0/8"), 4),
        ]);
        assert_eq!(ranges.len(), 2);
        let ip = net("10.1.2.3");
        assert_eq!(
            ranges.containing(ip.lo(), ip.hi()),
            Some((net("10.0.0.0/8"), 2))
        );
        let inside = net("192.168.1.128/25");
        assert_eq!(
            ranges.containing(inside.lo(), inside.hi()).map(|h| h.1),
            Some(3)
        );
    }

    #[test]
    fn a_block_must_hold_the_whole_value() {
        let ranges = Ranges::build(vec![(net("192.168.1.0/24"), 0)]);
        for outside in [
            "192.168.0.0/16",
            "192.168.2.1",
            "192.168.0.255",
            "11.0.0.0/8",
        ] {
            let n = net(outside);
            assert_eq!(ranges.containing(n.lo(), n.hi()), None, "{outside}");
        }
        let v6 = net("::ffff:192.168.1.1");
        // An IPv6 spelling of a mapped address is the same address.
        assert!(ranges.containing(v6.lo(), v6.hi()).is_some());
        assert_eq!(Ranges::default().containing(0, 0), None);
    }
}
