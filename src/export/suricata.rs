//! Suricata rules: IP reputation rules for addresses and networks (either direction), a
//! `dns.query` rule for a domain and its subdomains, an `http` rule for a URL's host and
//! path. E-mail addresses and hashes have no rule that works on traffic alone and are left
//! out. Each rule's `sid` is [`SID_BASE`] plus the indicator's id, so a rule keeps its sid
//! from one download to the next.

use std::fmt::Write as _;

use super::{FeedInfo, Item};
use crate::domain::thing::Itype;

/// The first sid: ids above `u32::MAX - SID_BASE` have no sid and are left out.
pub const SID_BASE: u64 = 1_000_000_000;

pub(super) fn head(feed: &FeedInfo<'_>, out: &mut String) {
    let _ = writeln!(
        out,
        "# feedgate {}/{}, generated {} UTC: {}",
        one_line(feed.owner),
        one_line(feed.name),
        feed.generated.format("%Y-%m-%d %H:%M:%S"),
        one_line(feed.url)
    );
}

pub(super) fn item(feed: &FeedInfo<'_>, item: &Item<'_>, out: &mut String) -> bool {
    let Some(sid) = u64::try_from(item.id)
        .ok()
        .and_then(|id| id.checked_add(SID_BASE))
        .filter(|sid| *sid <= u64::from(u32::MAX))
    else {
        return false;
    };
    let thing = item.thing;
    let value = thing.as_str();
    match thing.itype() {
        Itype::Ipv4 | Itype::Ipv6 => {
            let _ = write!(out, "alert ip any any <> [{value}] any (");
        }
        Itype::Fqdn => {
            out.push_str("alert dns any any -> any any (");
        }
        Itype::Url if value.starts_with("http") => {
            out.push_str("alert http any any -> any any (");
        }
        _ => return false,
    }
    out.push_str("msg:\"feedgate ");
    msg_text(out, feed.owner);
    out.push('/');
    msg_text(out, feed.name);
    out.push(' ');
    msg_text(out, value);
    out.push_str("\"; ");
    match thing.itype() {
        Itype::Fqdn => {
            out.push_str("dns.query; dotprefix; content:\"");
            content(out, &format!(".{value}"));
            out.push_str("\"; nocase; endswith; ");
        }
        Itype::Url => {
            let host = thing.host().unwrap_or_default();
            out.push_str("flow:established,to_server; http.host; content:\"");
            content(out, host);
            out.push_str("\"; nocase; startswith; endswith; ");
            let path = path_of(value);
            if path.len() > 1 {
                out.push_str("http.uri; content:\"");
                content(out, path);
                out.push_str("\"; startswith; ");
            }
        }
        _ => {}
    }
    let _ = writeln!(
        out,
        "classtype:misc-attack; metadata:feedgate_id {}; sid:{sid}; rev:1;)",
        item.id
    );
    true
}

/// The path and query of a URL value (`/` when it has none).
fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    // The fragment never goes on the wire.
    path.split('#').next().unwrap_or(path)
}

/// Text inside `msg:"…"`: `"`, `;` and `\` escaped, control characters dropped.
fn msg_text(out: &mut String, text: &str) {
    for c in text.chars().filter(|c| !c.is_control()) {
        if matches!(c, '"' | ';' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Bytes inside `content:"…"`: printable ASCII as is, everything a rule parser reads
/// specially (`"`, `;`, `\`, `|`) and every other byte as `|hex|`.
fn content(out: &mut String, text: &str) {
    for &b in text.as_bytes() {
        if b.is_ascii_graphic() && !matches!(b, b'"' | b';' | b'\\' | b'|') || b == b' ' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "|{b:02X}|");
        }
    }
}

/// Text for a comment line.
fn one_line(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}
