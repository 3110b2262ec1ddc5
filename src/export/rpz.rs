//! A BIND response-policy zone (RPZ): names relative to the zone's origin, so one file
//! serves under whatever zone name the resolver gives it. A domain answers NXDOMAIN for
//! itself and its subdomains (`name CNAME .` and `*.name CNAME .`); an address or network
//! becomes an `rpz-ip` trigger (responses that contain it). URLs, e-mail addresses and hashes
//! have no DNS form and are left out.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};

use super::{FeedInfo, Item};
use crate::domain::thing::Itype;

/// A name the zone's origin leaves room for: 255 bytes on the wire less a short origin.
const MAX_NAME: usize = 200;

pub(super) fn head(feed: &FeedInfo<'_>, out: &mut String) {
    // The serial is the export time: a later download has a larger serial until 2106.
    let serial = u32::try_from(feed.generated.and_utc().timestamp()).unwrap_or(u32::MAX);
    let _ = write!(
        out,
        "; feedgate {}/{}\n$TTL 300\n@ SOA localhost. hostmaster.localhost. {serial} 3600 600 86400 300\n  NS localhost.\n",
        one_line(feed.owner),
        one_line(feed.name)
    );
}

pub(super) fn item(item: &Item<'_>, out: &mut String) -> bool {
    let thing = item.thing;
    match thing.itype() {
        Itype::Fqdn => {
            let name = thing.as_str();
            if name.len() > MAX_NAME {
                return false;
            }
            let _ = write!(out, "{name} CNAME .\n*.{name} CNAME .\n");
            true
        }
        Itype::Ipv4 | Itype::Ipv6 => match trigger(thing.as_str()) {
            Some(trigger) => {
                let _ = writeln!(out, "{trigger}.rpz-ip CNAME .");
                true
            }
            None => false,
        },
        _ => false,
    }
}

/// The `rpz-ip` owner of an address or network, without the `.rpz-ip` label: the prefix
/// length, then IPv4 octets or IPv6 groups (hex, leading zeros dropped, the longest run of
/// zero groups as `zz`) in reverse order.
fn trigger(value: &str) -> Option<String> {
    let (addr, prefix) = match value.split_once('/') {
        Some((addr, prefix)) => (
            addr.parse::<IpAddr>().ok()?,
            Some(prefix.parse::<u8>().ok()?),
        ),
        None => (value.parse::<IpAddr>().ok()?, None),
    };
    match addr {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            let prefix = prefix.unwrap_or(32);
            Some(format!("{prefix}.{}.{}.{}.{}", o[3], o[2], o[1], o[0]))
        }
        IpAddr::V6(v6) => Some(format!("{}.{}", prefix.unwrap_or(128), v6_labels(v6))),
    }
}

fn v6_labels(addr: Ipv6Addr) -> String {
    let groups = addr.segments();
    // The longest run of two or more zero groups (the first of equal runs) becomes `zz`.
    let (mut best, mut run) = ((0, 0), (0, 0));
    for (i, g) in groups.iter().enumerate() {
        if *g == 0 {
            run = if run.1 == 0 {
                (i, 1)
            } else {
                (run.0, run.1 + 1)
            };
            if run.1 > best.1 {
                best = run;
            }
        } else {
            run = (0, 0);
        }
    }
    let mut labels: Vec<String> = Vec::with_capacity(8);
    let mut i = 0;
    while i < 8 {
        if best.1 >= 2 && i == best.0 {
            labels.push("zz".into());
            i += best.1;
        } else {
            labels.push(format!("{:x}", groups[i]));
            i += 1;
        }
    }
    labels.reverse();
    labels.join(".")
}

fn one_line(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_reverse_addresses_as_rpz_writes_them() {
        assert_eq!(trigger("192.0.2.1").as_deref(), Some("32.1.2.0.192"));
        assert_eq!(trigger("10.0.0.0/8").as_deref(), Some("8.0.0.0.10"));
        assert_eq!(trigger("2001:db8::1").as_deref(), Some("128.1.zz.db8.2001"));
        assert_eq!(trigger("2001:db8::/32").as_deref(), Some("32.zz.db8.2001"));
        assert_eq!(
            trigger("2001:db8:0:1:0:0:0:1").as_deref(),
            Some("128.1.zz.1.0.db8.2001")
        );
        assert_eq!(trigger("example.com"), None);
    }
}
