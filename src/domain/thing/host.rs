//! The rules of §7.4 that read host names: urls (rule 2), e-mail addresses (rule 5) and
//! domain names (rule 7), with the ports and schemes of urls.

use std::borrow::Cow;

use super::ip::{parse_v4, parse_v6};
use super::{DomainError, HostSpan, Itype, MAX_LEN, Thing, invalid};

/// The longest fully qualified domain name, in characters.
const MAX_FQDN_LEN: usize = 253;
/// The longest label of a domain name.
const MAX_LABEL_LEN: usize = 63;
/// The longest local part of an e-mail address.
const MAX_LOCAL_LEN: usize = 64;

/// Rule 5: `local@domain`, lower-cased whole.
pub(super) fn parse_email(s: &str) -> Result<Thing, DomainError> {
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
pub(super) fn parse_url(scheme: &str, rest: &str) -> Result<Thing, DomainError> {
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
pub(super) fn normalise_fqdn(s: &str) -> Result<String, DomainError> {
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
pub(super) fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}
