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
//! Here the value and its itype, and which rule of §7.4 applies (`detect`); the rules that
//! read addresses and networks are in `ip`, those that read names (urls, e-mails, domain
//! names) in `host`. Type checks of other fields (ports, tags, times) live in their own files.

mod host;
mod ip;
#[cfg(test)]
mod tests;

pub use ip::{enclosing_networks, most_enclosing_networks};

use std::fmt;
use std::net::IpAddr;

use super::DomainError;
use host::{is_scheme, normalise_fqdn, parse_email, parse_url};
use ip::{mask, max_prefix, parse_ip, to_u128};

/// The longest normalised value, in characters (§10).
pub const MAX_LEN: usize = 255;
/// The broadest IPv4 network accepted (§7.4, §10): `/8`.
pub const MIN_V4_PREFIX: u8 = 8;
/// The broadest IPv6 network accepted (§7.4, §10): `/32`.
pub const MIN_V6_PREFIX: u8 = 32;

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

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::new("invalid_indicator", message)
}
