//! Indicator values (spec §7.4): detecting the itype of a raw value and normalising it. One
//! procedure serves submitted values, bulk items, import rows and the search `q`.
//!
//! Besides the stored text, a [`Thing`] exposes the keys the search (§8.2) needs:
//!
//! - **IP ranges.** Every address or network is a range of 16-byte big-endian addresses,
//!   `ip_lo..=ip_hi`. IPv4 is mapped into `::ffff:0:0/96`, so `198.51.100.0/24` is
//!   `::ffff:198.51.100.0 ..= ::ffff:198.51.100.255`, and an address is a range of one.
//!   A network's `ip_lo` is its network address: [`enclosing_networks`] lists the few `ip_lo`
//!   values a network containing a given address can have.
//! - **Reversed host names.** [`Thing::host_rev`] turns `www.example.com` into
//!   `com.example.www.`, so "this domain and its subdomains" is a prefix match.
//!
//! Type checks of other fields (ports, tags, times) live in their own files.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::DomainError;

/// The longest normalised value, in characters (§10).
pub const MAX_LEN: usize = 255;
/// The broadest IPv4 network accepted (§7.4, §10): `/8`.
pub const MIN_V4_PREFIX: u8 = 8;
/// The broadest IPv6 network accepted (§7.4, §10): `/32`.
pub const MIN_V6_PREFIX: u8 = 32;

/// The longest fully qualified domain name, in characters.
const MAX_FQDN_LEN: usize = 253;
/// The longest label of a domain name.
const MAX_LABEL_LEN: usize = 63;
/// The longest local part of an e-mail address.
const MAX_LOCAL_LEN: usize = 64;
/// Where IPv4 lives inside the 16-byte address space: `::ffff:0:0/96`.
const V4_MAPPED_PREFIX: u8 = 96;

/// The type of an indicator value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Itype {
    /// An IPv4 address or network.
    Ipv4,
    /// An IPv6 address or network.
    Ipv6,
    /// A domain name.
    Fqdn,
    /// An `http`, `https` or `ftp` URL.
    Url,
    /// An e-mail address.
    Email,
    /// An MD5 hash (32 hex digits).
    Md5,
    /// A SHA-1 hash (40 hex digits).
    Sha1,
    /// A SHA-256 hash (64 hex digits).
    Sha256,
    /// A SHA-512 hash (128 hex digits).
    Sha512,
}

impl Itype {
    /// Every itype, in the order of the spec's list (§7.1).
    pub const ALL: [Itype; 9] = [
        Itype::Ipv4,
        Itype::Ipv6,
        Itype::Fqdn,
        Itype::Url,
        Itype::Email,
        Itype::Md5,
        Itype::Sha1,
        Itype::Sha256,
        Itype::Sha512,
    ];

    /// The wire and column name: `ipv4`, `ipv6`, `fqdn`, `url`, `email`, `md5`, `sha1`,
    /// `sha256` or `sha512`.
    pub fn as_str(self) -> &'static str {
        match self {
            Itype::Ipv4 => "ipv4",
            Itype::Ipv6 => "ipv6",
            Itype::Fqdn => "fqdn",
            Itype::Url => "url",
            Itype::Email => "email",
            Itype::Md5 => "md5",
            Itype::Sha1 => "sha1",
            Itype::Sha256 => "sha256",
            Itype::Sha512 => "sha512",
        }
    }

    /// The itype with this name (ASCII case ignored, surrounding whitespace trimmed), if any.
    pub fn parse_name(raw: &str) -> Option<Itype> {
        let raw = raw.trim();
        Itype::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(raw))
    }

    /// Whether values of this type are IP addresses or networks.
    pub fn is_ip(self) -> bool {
        matches!(self, Itype::Ipv4 | Itype::Ipv6)
    }

    /// Whether values of this type are hashes.
    pub fn is_hash(self) -> bool {
        matches!(
            self,
            Itype::Md5 | Itype::Sha1 | Itype::Sha256 | Itype::Sha512
        )
    }
}

impl fmt::Display for Itype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The host part of a url or email value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct HostSpan {
    /// Byte range of the host in the value (without the brackets of an IPv6 literal).
    start: usize,
    end: usize,
    /// `true` for a domain name, `false` for an IP literal.
    is_name: bool,
}

/// A valid, normalised indicator value together with its detected [`Itype`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Thing {
    value: String,
    itype: Itype,
    /// For ipv4 and ipv6: the address (the network address of a network) and the prefix
    /// length (32 or 128 for a plain address).
    ip: Option<(IpAddr, u8)>,
    /// For fqdn, url and email: where the host name or IP literal is in `value`.
    host: Option<HostSpan>,
}

impl Thing {
    /// Detects the type of `raw` and normalises it (spec §7.4).
    ///
    /// Error codes: `empty`, `invalid_indicator`, `cidr_too_broad`, `too_long`.
    pub fn parse(raw: &str) -> Result<Thing, DomainError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(DomainError::new("empty", "must not be empty"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("must not contain whitespace or control characters"));
        }
        let s = strip_prefix_ignore_case(s, "mailto:").unwrap_or(s);
        let thing = detect(s)?;
        if thing.value.chars().count() > MAX_LEN {
            return Err(DomainError::new(
                "too_long",
                format!("the normalised value is longer than {MAX_LEN} characters"),
            ));
        }
        Ok(thing)
    }

    /// The normalised value, as stored and rendered.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The detected type.
    pub fn itype(&self) -> Itype {
        self.itype
    }

    /// The normalised value, consuming the thing.
    pub fn into_string(self) -> String {
        self.value
    }

    /// The prefix length of an ipv4 or ipv6 network (`None` for a plain address and for
    /// every other itype). IPv4 prefixes are 8–31, IPv6 prefixes 32–127.
    pub fn prefix_len(&self) -> Option<u8> {
        match self.ip {
            Some((addr, prefix)) if prefix < max_prefix(addr) => Some(prefix),
            _ => None,
        }
    }

    /// The lowest and highest address of an ipv4 or ipv6 value, as 16-byte big-endian
    /// addresses; IPv4 is mapped into `::ffff:0:0/96`. A plain address gives `(a, a)`.
    pub fn ip_range(&self) -> Option<([u8; 16], [u8; 16])> {
        let (addr, prefix) = self.ip?;
        let (bits, prefix) = to_u128(addr, prefix);
        let mask = mask(prefix);
        let lo = bits & mask;
        Some((lo.to_be_bytes(), (lo | !mask).to_be_bytes()))
    }

    /// The host of the value: the fqdn itself, the domain of an email, or the host of a url
    /// (a domain name, an IPv4 address, or an IPv6 address without its brackets).
    pub fn host(&self) -> Option<&str> {
        let span = self.host.as_ref()?;
        self.value.get(span.start..span.end)
    }

    /// The host name with its labels reversed and a trailing dot (`www.example.com` gives
    /// `com.example.www.`), for fqdn values and for the host of url and email values when
    /// that host is a name rather than an IP address. A domain and its subdomains share
    /// this prefix; the trailing dot keeps `badexample.com` out of `example.com`.
    pub fn host_rev(&self) -> Option<Vec<u8>> {
        let span = self.host.as_ref().filter(|span| span.is_name)?;
        let host = self.value.get(span.start..span.end)?;
        let mut out = Vec::with_capacity(host.len() + 1);
        for label in host.rsplit('.') {
            out.extend_from_slice(label.as_bytes());
            out.push(b'.');
        }
        Some(out)
    }
}

impl fmt::Display for Thing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

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

/// Rules 2–8 of §7.4, on a trimmed value without `mailto:`.
fn detect(s: &str) -> Result<Thing, DomainError> {
    if let Some(i) = s.find("://") {
        // Only a real scheme makes a url here: `example.org/r?u=http://x` is a url without
        // a scheme whose query happens to hold another url (rule 6).
        if is_scheme(&s[..i]) {
            return parse_url(&s[..i], &s[i + 3..]);
        }
    }
    if let Some(thing) = parse_ip(s)? {
        return Ok(thing);
    }
    if let Some(itype) = hash_itype(s) {
        return Ok(Thing {
            value: s.to_ascii_lowercase(),
            itype,
            ip: None,
            host: None,
        });
    }
    if s.contains('@') && !s.contains('/') {
        return parse_email(s);
    }
    if let Some(i) = s.find('/') {
        // The part before the first '/' is the host and optional port; `parse_url` checks
        // them. Anything a url's authority may hold beyond that is refused here.
        if s[..i].contains(['@', '[', '?', '#']) {
            return Err(invalid(
                "before the first '/' there must be a domain name or an IPv4 address",
            ));
        }
        return parse_url("http", s);
    }
    let name = normalise_fqdn(s)?;
    let end = name.len();
    Ok(Thing {
        value: name,
        itype: Itype::Fqdn,
        ip: None,
        host: Some(HostSpan {
            start: 0,
            end,
            is_name: true,
        }),
    })
}

/// Rule 3: an address or a network, possibly IPv4-mapped; `Ok(None)` when `s` is not an
/// address at all (so a later rule may apply).
fn parse_ip(s: &str) -> Result<Option<Thing>, DomainError> {
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
fn parse_v4(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

/// Any RFC 4291 text form; a zone identifier is an error, anything else not an address is
/// `Ok(None)`.
fn parse_v6(s: &str) -> Result<Option<Ipv6Addr>, DomainError> {
    if let Some((addr, _zone)) = s.split_once('%')
        && addr.parse::<Ipv6Addr>().is_ok()
    {
        return Err(invalid("IPv6 zone identifiers are not accepted"));
    }
    Ok(s.parse().ok())
}

/// Rule 4: the itype of a hash by its number of hex digits.
fn hash_itype(s: &str) -> Option<Itype> {
    if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match s.len() {
        32 => Some(Itype::Md5),
        40 => Some(Itype::Sha1),
        64 => Some(Itype::Sha256),
        128 => Some(Itype::Sha512),
        _ => None,
    }
}

/// Rule 5: `local@domain`, lower-cased whole.
fn parse_email(s: &str) -> Result<Thing, DomainError> {
    let bad = || invalid("not an e-mail address");
    let (local, domain) = s.split_once('@').ok_or_else(bad)?;
    let local_ok = (1..=MAX_LOCAL_LEN).contains(&local.len())
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+=?^_`{|}~-.".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok || domain.contains('@') {
        return Err(bad());
    }
    let domain = normalise_fqdn(domain)?;
    let start = local.len() + 1;
    let value = format!("{}@{domain}", local.to_ascii_lowercase());
    let end = value.len();
    Ok(Thing {
        value,
        itype: Itype::Email,
        ip: None,
        host: Some(HostSpan {
            start,
            end,
            is_name: true,
        }),
    })
}

/// Rule 2: a url with scheme `scheme` and everything after `://` in `rest`.
fn parse_url(scheme: &str, rest: &str) -> Result<Thing, DomainError> {
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https" | "ftp") {
        return Err(invalid("a url's scheme is http, https or ftp"));
    }
    let rest = rest
        .split_once('#')
        .map_or(rest, |(before, _fragment)| before);
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };

    let (host, is_name, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (inside, after) = bracketed
            .split_once(']')
            .ok_or_else(|| invalid("an IPv6 host is closed by ']'"))?;
        let addr = parse_v6(inside)?.ok_or_else(|| invalid("not an IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| invalid("a url's host is followed by ':port'"))?,
            ),
        };
        (addr.to_string(), false, port)
    } else {
        let (host, port) = split_port(hostport);
        match parse_v4(host.strip_suffix('.').unwrap_or(host)) {
            Some(v4) => (v4.to_string(), false, port),
            None => (normalise_fqdn(host)?, true, port),
        }
    };
    let port = port.map(parse_port).transpose()?;

    let (path, query) = match tail.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (tail, None),
    };
    let path = if path == "/" {
        ""
    } else if query.is_none() {
        // The spec drops one trailing '/'; dropping them all keeps normalising idempotent
        // (`/dl//` would otherwise become `/dl/`, then `/dl`).
        path.trim_end_matches('/')
    } else {
        path
    };

    let mut value = format!("{scheme}://");
    if let Some(userinfo) = userinfo {
        value.push_str(userinfo);
        value.push('@');
    }
    if !is_name && host.contains(':') {
        value.push('[');
    }
    let start = value.len();
    value.push_str(&host);
    let end = value.len();
    if !is_name && host.contains(':') {
        value.push(']');
    }
    if let Some(port) = port {
        value.push_str(&format!(":{port}"));
    }
    value.push_str(path);
    if let Some(query) = query {
        value.push('?');
        value.push_str(query);
    }
    Ok(Thing {
        value,
        itype: Itype::Url,
        ip: None,
        host: Some(HostSpan {
            start,
            end,
            is_name,
        }),
    })
}

/// Splits `host:port` at its last colon (`host` alone when there is none).
fn split_port(hostport: &str) -> (&str, Option<&str>) {
    match hostport.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (hostport, None),
    }
}

/// A url port: 1–65535 in decimal.
fn parse_port(p: &str) -> Result<u16, DomainError> {
    let bad = || invalid("a url's port is 1-65535");
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(bad()),
    }
}

/// Rule 7: lower-case, Unicode to punycode, one trailing dot stripped, then the name rules.
fn normalise_fqdn(s: &str) -> Result<String, DomainError> {
    let bad = || invalid("not an indicator (ip address, domain name, url, e-mail address or hash)");
    let ascii: Cow<'_, str> = if s.is_ascii() {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        idna::domain_to_ascii_cow(s.as_bytes(), idna::AsciiDenyList::URL).map_err(|_| bad())?
    };
    let name = ascii.strip_suffix('.').unwrap_or(&ascii);
    let labels: Vec<&str> = name.split('.').collect();
    let Some((last, others)) = labels.split_last() else {
        return Err(bad());
    };
    let label_ok = |label: &str, underscore: bool| {
        (1..=MAX_LABEL_LEN).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'-'
                    || (underscore && b == b'_')
            })
    };
    let valid = !others.is_empty()
        && others.iter().all(|l| label_ok(l, true))
        && label_ok(last, false)
        && !last.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return Err(bad());
    }
    if name.len() > MAX_FQDN_LEN {
        // A well-formed name that is merely long: say so, as for any other long value.
        let code = if name.len() > MAX_LEN {
            "too_long"
        } else {
            "invalid_indicator"
        };
        return Err(DomainError::new(
            code,
            format!("a domain name has at most {MAX_FQDN_LEN} characters"),
        ));
    }
    Ok(name.to_owned())
}

/// RFC 3986: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::new("invalid_indicator", message)
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// The address as a 128-bit number (IPv4 mapped) and the prefix in that space.
fn to_u128(addr: IpAddr, prefix: u8) -> (u128, u8) {
    match addr {
        IpAddr::V4(v4) => (u128::from(v4.to_ipv6_mapped()), prefix + V4_MAPPED_PREFIX),
        IpAddr::V6(v6) => (u128::from(v6), prefix),
    }
}

/// The network mask of a 128-bit prefix.
fn mask(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p => u128::MAX << (128 - u32::from(p.min(128))),
    }
}

fn network_address(addr: IpAddr, prefix: u8) -> IpAddr {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(raw: &str) -> (Itype, String) {
        let t = Thing::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e:?}"));
        (t.itype(), t.as_str().to_owned())
    }

    fn code(raw: &str) -> &'static str {
        match Thing::parse(raw) {
            Ok(t) => panic!("{raw:?} was accepted as {:?} {:?}", t.itype(), t.as_str()),
            Err(e) => e.code,
        }
    }

    #[test]
    fn every_good_row_of_the_spec_table_normalises() {
        let h40 = "A".repeat(40);
        let h64 = "b".repeat(64);
        let h128 = "C0".repeat(64);
        let table: &[(&str, Itype, &str)] = &[
            ("198.51.100.23", Itype::Ipv4, "198.51.100.23"),
            ("  198.51.100.23\t", Itype::Ipv4, "198.51.100.23"),
            ("203.0.113.9/32", Itype::Ipv4, "203.0.113.9"),
            ("192.168.10.4", Itype::Ipv4, "192.168.10.4"),
            ("2001:DB8:0:0:0:0:0:1", Itype::Ipv6, "2001:db8::1"),
            ("[2001:db8::1]", Itype::Ipv6, "2001:db8::1"),
            ("2001:DB8:AA:0::/48", Itype::Ipv6, "2001:db8:aa::/48"),
            ("::ffff:198.51.100.23", Itype::Ipv4, "198.51.100.23"),
            ("::ffff:198.51.100.0/120", Itype::Ipv4, "198.51.100.0/24"),
            ("EXAMPLE.com.", Itype::Fqdn, "example.com"),
            (
                "Login-Verify.Example.NET",
                Itype::Fqdn,
                "login-verify.example.net",
            ),
            ("mail.corp.internal", Itype::Fqdn, "mail.corp.internal"),
            ("_dmarc.example.org", Itype::Fqdn, "_dmarc.example.org"),
            ("bücher.example", Itype::Fqdn, "xn--bcher-kva.example"),
            (
                "HTTP://Login.Example.NET/Account?ID=7#top",
                Itype::Url,
                "http://login.example.net/Account?ID=7",
            ),
            ("https://example.org/", Itype::Url, "https://example.org"),
            (
                "https://example.org/dl/",
                Itype::Url,
                "https://example.org/dl",
            ),
            (
                "example.org/dl/payload.exe",
                Itype::Url,
                "http://example.org/dl/payload.exe",
            ),
            (
                "198.51.100.23:8080/gate.php",
                Itype::Url,
                "http://198.51.100.23:8080/gate.php",
            ),
            (
                "http://[2001:db8::5]/x",
                Itype::Url,
                "http://[2001:db8::5]/x",
            ),
            (
                "Abuse.Desk@Example.org",
                Itype::Email,
                "abuse.desk@example.org",
            ),
            (
                "mailto:abuse@example.org",
                Itype::Email,
                "abuse@example.org",
            ),
            (
                "MAILTO:abuse@example.org",
                Itype::Email,
                "abuse@example.org",
            ),
            (
                "D41D8CD98F00B204E9800998ECF8427E",
                Itype::Md5,
                "d41d8cd98f00b204e9800998ecf8427e",
            ),
            (&h40, Itype::Sha1, &"a".repeat(40)),
            (&h64, Itype::Sha256, &h64),
            (&h128, Itype::Sha512, &"c0".repeat(64)),
        ];
        for (raw, itype, want) in table {
            assert_eq!(ok(raw), (*itype, (*want).to_owned()), "{raw:?}");
        }
    }

    #[test]
    fn every_bad_row_of_the_spec_table_is_refused_with_its_code() {
        let table: &[(&str, &str)] = &[
            ("198.51.100.77/24", "invalid_indicator"),
            ("10.0.0.0/7", "cidr_too_broad"),
            ("1.2.3", "invalid_indicator"),
            ("999.10.10.10", "invalid_indicator"),
            ("010.1.2.3", "invalid_indicator"),
            ("2001:db8::/31", "cidr_too_broad"),
            ("fe80::1%eth0", "invalid_indicator"),
            ("localhost", "invalid_indicator"),
            ("*.example.org", "invalid_indicator"),
            ("-bad.example.org", "invalid_indicator"),
            ("hxxp://example.org/", "invalid_indicator"),
            ("example.org:8080", "invalid_indicator"),
            ("root@localhost", "invalid_indicator"),
            ("AS64500", "invalid_indicator"),
            ("", "empty"),
            ("   ", "empty"),
        ];
        for (raw, want) in table {
            assert_eq!(code(raw), *want, "{raw:?}");
        }
        assert_eq!(code(&"a".repeat(33)), "invalid_indicator");
    }

    #[test]
    fn host_bits_set_names_the_network_to_send() {
        let err = Thing::parse("198.51.100.77/24").unwrap_err();
        assert!(err.message.contains("198.51.100.0/24"), "{}", err.message);
        let err = Thing::parse("2001:db8::1/32").unwrap_err();
        assert!(err.message.contains("2001:db8::/32"), "{}", err.message);
        let err = Thing::parse("::ffff:198.51.100.77/120").unwrap_err();
        assert!(err.message.contains("198.51.100.0/24"), "{}", err.message);
    }

    #[test]
    fn more_addresses_and_networks() {
        let good: &[(&str, Itype, &str)] = &[
            ("10.0.0.0/8", Itype::Ipv4, "10.0.0.0/8"),
            ("0.0.0.0", Itype::Ipv4, "0.0.0.0"),
            ("255.255.255.255", Itype::Ipv4, "255.255.255.255"),
            ("2001:db8::/32", Itype::Ipv6, "2001:db8::/32"),
            ("[2001:db8::]/32", Itype::Ipv6, "2001:db8::/32"),
            ("2001:db8::1/128", Itype::Ipv6, "2001:db8::1"),
            ("::ffff:10.0.0.0/104", Itype::Ipv4, "10.0.0.0/8"),
            ("::ffff:c633:6417", Itype::Ipv4, "198.51.100.23"),
            // IPv4-compatible addresses are deprecated and stay IPv6.
            ("::198.51.100.23", Itype::Ipv6, "::c633:6417"),
            ("1:0:0:0:0:0:0:2", Itype::Ipv6, "1::2"),
            ("FE80::1", Itype::Ipv6, "fe80::1"),
            ("224.0.0.1", Itype::Ipv4, "224.0.0.1"),
        ];
        for (raw, itype, want) in good {
            assert_eq!(ok(raw), (*itype, (*want).to_owned()), "{raw:?}");
        }
        let bad: &[(&str, &str)] = &[
            ("1.2.3.4/33", "invalid_indicator"),
            ("1.2.3.0/024", "invalid_indicator"),
            ("1.2.3.4/0", "cidr_too_broad"),
            ("2001:db8::/129", "invalid_indicator"),
            ("::/0", "cidr_too_broad"),
            ("::ffff:0:0/96", "cidr_too_broad"),
            ("1.2.3.04", "invalid_indicator"),
            ("1.2.3.4.5", "invalid_indicator"),
            ("[1.2.3.4]", "invalid_indicator"),
            ("2001:db8::g", "invalid_indicator"),
            ("fe80::1%25eth0/64", "invalid_indicator"),
        ];
        for (raw, want) in bad {
            assert_eq!(code(raw), *want, "{raw:?}");
        }
    }

    #[test]
    fn more_names_urls_and_emails() {
        let good: &[(&str, Itype, &str)] = &[
            ("a.b", Itype::Fqdn, "a.b"),
            (
                "xn--bcher-kva.example",
                Itype::Fqdn,
                "xn--bcher-kva.example",
            ),
            ("BÜCHER.example", Itype::Fqdn, "xn--bcher-kva.example"),
            ("1.2.3.com", Itype::Fqdn, "1.2.3.com"),
            ("a-b.c_d.example", Itype::Fqdn, "a-b.c_d.example"),
            (
                "ftp://Files.Example.org/pub/",
                Itype::Url,
                "ftp://files.example.org/pub",
            ),
            (
                "https://example.org/dl//",
                Itype::Url,
                "https://example.org/dl",
            ),
            (
                "https://example.org/?q=1",
                Itype::Url,
                "https://example.org?q=1",
            ),
            (
                "https://example.org/dl/?q=A",
                Itype::Url,
                "https://example.org/dl/?q=A",
            ),
            (
                "https://example.org.:443/X",
                Itype::Url,
                "https://example.org:443/X",
            ),
            (
                "https://User:PW@Example.org/",
                Itype::Url,
                "https://User:PW@example.org",
            ),
            (
                "http://bücher.example/ä",
                Itype::Url,
                "http://xn--bcher-kva.example/ä",
            ),
            (
                "http://[::ffff:1.2.3.4]:81",
                Itype::Url,
                "http://[::ffff:1.2.3.4]:81",
            ),
            ("http://198.51.100.23", Itype::Url, "http://198.51.100.23"),
            (
                "example.org/r?u=http://evil.example/",
                Itype::Url,
                "http://example.org/r?u=http://evil.example/",
            ),
            ("example.org:8080/", Itype::Url, "http://example.org:8080"),
            ("x@mail.example.net", Itype::Email, "x@mail.example.net"),
            ("a.b+c@EXAMPLE.net.", Itype::Email, "a.b+c@example.net"),
            (
                "o'hara@bücher.example",
                Itype::Email,
                "o'hara@xn--bcher-kva.example",
            ),
        ];
        for (raw, itype, want) in good {
            assert_eq!(ok(raw), (*itype, (*want).to_owned()), "{raw:?}");
        }
        let long_label = format!("{}.example", "a".repeat(64));
        let bad: &[&str] = &[
            "example",
            "example.123",
            "example.c_m",
            "bad-.example.org",
            "a..example",
            ".example.org",
            "example.org..",
            &long_label,
            "exa mple.org",
            "example.org\u{0}",
            "gopher://example.org/",
            "http://",
            "http:///x",
            "http://example.org:0/",
            "http://example.org:65536/",
            "http://example.org:/",
            "http://999.1.1.1/",
            "http://[2001:db8::1/",
            "http://[fe80::1%25eth0]/",
            "http://localhost/",
            "user@example.org/x",
            "[2001:db8::1]/x",
            "example.org?x=/y",
            "a@b@example.org",
            ".a@example.org",
            "a.@example.org",
            "a..b@example.org",
            "a(b)@example.org",
            "@example.org",
            "mailto:",
        ];
        for raw in bad {
            assert_eq!(code(raw), "invalid_indicator", "{raw:?}");
        }
    }

    #[test]
    fn lengths_are_limited() {
        let label = "a".repeat(63);
        // Well-formed labels, but 255 characters: not a domain name (at most 253).
        assert_eq!(code(&[label.as_str(); 4].join(".")), "invalid_indicator");
        // Longer than any value may be.
        assert_eq!(code(&[label.as_str(); 5].join(".")), "too_long");
        let name = format!("{}example", "a.".repeat(123));
        assert_eq!(name.len(), 253);
        assert_eq!(ok(&name).0, Itype::Fqdn);
        assert_eq!(ok(&format!("{name}.")).1, name);
        assert_eq!(code(&format!("b.{name}")), "invalid_indicator");
        let url = format!("http://example.org/{}", "x".repeat(236));
        assert_eq!(url.len(), 255);
        assert_eq!(ok(&url).1, url);
        assert_eq!(code(&format!("{url}y")), "too_long");
    }

    #[test]
    fn ip_ranges_are_16_byte_and_ipv4_is_mapped() {
        let t = Thing::parse("198.51.100.0/24").unwrap();
        let (lo, hi) = t.ip_range().unwrap();
        let v4 = |a: [u8; 4]| u128::from(Ipv4Addr::from(a).to_ipv6_mapped()).to_be_bytes();
        assert_eq!(lo, v4([198, 51, 100, 0]));
        assert_eq!(hi, v4([198, 51, 100, 255]));
        assert_eq!(t.prefix_len(), Some(24));

        let t = Thing::parse("198.51.100.23").unwrap();
        assert_eq!(
            t.ip_range().unwrap(),
            (v4([198, 51, 100, 23]), v4([198, 51, 100, 23]))
        );
        assert_eq!(t.prefix_len(), None);

        let t = Thing::parse("2001:db8::/32").unwrap();
        let (lo, hi) = t.ip_range().unwrap();
        assert_eq!(
            Ipv6Addr::from(lo),
            "2001:db8::".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            Ipv6Addr::from(hi),
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
                .parse::<Ipv6Addr>()
                .unwrap()
        );
        assert_eq!(t.prefix_len(), Some(32));
        assert_eq!(Thing::parse("example.org").unwrap().ip_range(), None);
    }

    #[test]
    fn enclosing_networks_list_each_possible_network_start_once() {
        let addr = u128::from(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped()).to_be_bytes();
        let starts = enclosing_networks(addr, true, |_| true);
        let v4: Vec<Ipv4Addr> = starts
            .iter()
            .map(|s| Ipv6Addr::from(*s).to_ipv4_mapped().unwrap())
            .collect();
        assert_eq!(v4, [Ipv4Addr::new(10, 0, 0, 0), Ipv4Addr::new(10, 0, 0, 1)]);

        let addr = u128::from(Ipv4Addr::new(255, 255, 255, 255).to_ipv6_mapped()).to_be_bytes();
        assert_eq!(enclosing_networks(addr, true, |_| true).len(), 25);
        assert_eq!(enclosing_networks([0xff; 16], false, |_| true).len(), 97);
        assert_eq!(enclosing_networks([0; 16], false, |_| true), [[0; 16]]);
    }

    #[test]
    fn hosts_and_reversed_hosts() {
        let rev = |raw: &str| {
            Thing::parse(raw)
                .unwrap()
                .host_rev()
                .map(|v| String::from_utf8(v).unwrap())
        };
        assert_eq!(rev("www.example.com").as_deref(), Some("com.example.www."));
        assert_eq!(
            rev("https://User@Login.Example.net:8443/x").as_deref(),
            Some("net.example.login.")
        );
        assert_eq!(rev("billing@Example.net").as_deref(), Some("net.example."));
        assert_eq!(rev("http://198.51.100.23/x"), None);
        assert_eq!(rev("http://[2001:db8::5]/x"), None);
        assert_eq!(rev("198.51.100.23"), None);
        assert_eq!(rev(&"a".repeat(32)), None);

        let host = |raw: &str| Thing::parse(raw).unwrap().host().map(str::to_owned);
        assert_eq!(
            host("http://[2001:db8::5]:80/x").as_deref(),
            Some("2001:db8::5")
        );
        assert_eq!(
            host("198.51.100.23:8080/gate.php").as_deref(),
            Some("198.51.100.23")
        );
        assert_eq!(host("a@b.example").as_deref(), Some("b.example"));
        assert_eq!(host("2001:db8::5"), None);
    }

    #[test]
    fn itype_names_round_trip() {
        for t in Itype::ALL {
            assert_eq!(Itype::parse_name(t.as_str()), Some(t));
            assert_eq!(Itype::parse_name(&t.as_str().to_uppercase()), Some(t));
            assert_eq!(t.to_string(), t.as_str());
        }
        assert_eq!(Itype::parse_name("domain"), None);
        assert_eq!(Itype::parse_name(""), None);
    }

    fn assert_idempotent(raw: &str) -> Result<(), TestCaseError> {
        if let Ok(t) = Thing::parse(raw) {
            let again = Thing::parse(t.as_str());
            prop_assert_eq!(again.as_ref(), Ok(&t), "{:?} -> {:?}", raw, t.as_str());
            prop_assert_eq!(t.to_string(), t.as_str());
        }
        Ok(())
    }

    fn label() -> impl Strategy<Value = String> {
        "[a-z0-9]([a-z0-9_-]{0,8}[a-z0-9])?"
    }

    fn fqdn() -> impl Strategy<Value = String> {
        (prop::collection::vec(label(), 1..4), "[a-z][a-z0-9]{1,5}")
            .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics_and_normalising_is_idempotent(s in "\\PC{0,60}") {
            assert_idempotent(&s)?;
        }

        #[test]
        fn indicator_like_text_normalises_idempotently(
            s in "(mailto:|[hH][tT][tT][pP][sS]?://|[fF][tT][pP]://)?[a-zA-Z0-9äü.:/@?#%_\\[\\]-]{0,40}"
        ) {
            assert_idempotent(&s)?;
        }

        #[test]
        fn ipv4_addresses_and_networks_round_trip(a in any::<Ipv4Addr>(), p in 8u8..=32) {
            let plain = a.to_string();
            prop_assert_eq!(ok(&plain), (Itype::Ipv4, plain.clone()));
            let net = network_address(IpAddr::V4(a), p);
            let text = if p == 32 { net.to_string() } else { format!("{net}/{p}") };
            let t = Thing::parse(&text).unwrap();
            prop_assert_eq!(t.as_str(), text.as_str());
            let (lo, hi) = t.ip_range().unwrap();
            let addr = u128::from(a.to_ipv6_mapped());
            prop_assert!(u128::from_be_bytes(lo) <= addr && addr <= u128::from_be_bytes(hi));
            prop_assert!(enclosing_networks(addr.to_be_bytes(), true, |_| true).contains(&lo));
        }

        #[test]
        fn ipv6_addresses_and_networks_round_trip(a in any::<Ipv6Addr>(), p in 32u8..=128) {
            // IPv4-mapped addresses become IPv4: move them out of ::ffff:0:0/96.
            let a = match a.to_ipv4_mapped() {
                Some(_) => Ipv6Addr::from(u128::from(a) | 1 << 127),
                None => a,
            };
            let plain = a.to_string();
            prop_assert_eq!(ok(&plain), (Itype::Ipv6, plain.clone()));
            prop_assert_eq!(ok(&format!("[{plain}]")), (Itype::Ipv6, plain.clone()));
            let net = network_address(IpAddr::V6(a), p);
            let text = if p == 128 { net.to_string() } else { format!("{net}/{p}") };
            let t = Thing::parse(&text).unwrap();
            prop_assert_eq!(t.as_str(), text.as_str());
            let (lo, hi) = t.ip_range().unwrap();
            let addr = u128::from(a);
            prop_assert!(u128::from_be_bytes(lo) <= addr && addr <= u128::from_be_bytes(hi));
            prop_assert!(enclosing_networks(addr.to_be_bytes(), false, |_| true).contains(&lo));
        }

        #[test]
        fn names_urls_and_emails_round_trip(
            name in fqdn(),
            local in "[a-z0-9!#$%&'*+=?^_`{|}~-]{1,10}(\\.[a-z0-9_-]{1,5})?",
            path in "(/[a-zA-Z0-9._~%-]{1,8}){0,3}",
            query in "(\\?[a-zA-Z0-9=&/:]{0,10})?",
        ) {
            prop_assert_eq!(ok(&name), (Itype::Fqdn, name.clone()));
            prop_assert_eq!(ok(&name.to_uppercase()), (Itype::Fqdn, name.clone()));
            let email = format!("{local}@{name}");
            prop_assert_eq!(ok(&email), (Itype::Email, email.clone()));
            let url = format!("https://{name}{path}{query}");
            prop_assert_eq!(ok(&url), (Itype::Url, url.clone()));
            let rev = Thing::parse(&url).unwrap().host_rev().unwrap();
            let mut labels: Vec<&str> = name.split('.').collect();
            labels.reverse();
            prop_assert_eq!(rev, format!("{}.", labels.join(".")).into_bytes());
        }

        #[test]
        fn hashes_round_trip(h in "([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})") {
            let t = Thing::parse(&h.to_uppercase()).unwrap();
            prop_assert!(t.itype().is_hash());
            prop_assert_eq!(t.as_str(), h.as_str());
        }
    }
}
