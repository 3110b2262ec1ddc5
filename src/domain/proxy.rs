//! A trusted proxy's address or network, as configured (`--trusted-proxies`, spec §4.2).
//! `limits::address` uses it to find the client behind a proxy.

use std::net::IpAddr;

/// A trusted proxy: an address or a network (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for ProxyNet {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let (addr, prefix) = match raw.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw.trim(), None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("not an address or network: {raw:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("bad prefix in {raw:?}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

fn bits(addr: IpAddr) -> (u128, u8) {
    match addr {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

impl ProxyNet {
    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let ((a, width), (b, other)) = (bits(self.addr), bits(ip));
        if width != other {
            return false;
        }
        let shift = u32::from(width - self.prefix);
        shift >= 128 || (a >> shift) == (b >> shift)
    }
}
