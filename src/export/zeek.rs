//! A Zeek Intel framework file: a `#fields` header, then one tab-separated line per
//! indicator. Zeek's ASCII reader splits on tabs and lines, so text fields lose them; an
//! unset field is `-`.

use std::fmt::Write as _;

use super::{FeedInfo, Item};
use crate::domain::thing::Itype;

pub(super) fn head(out: &mut String) {
    out.push_str("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n");
}

pub(super) fn item(feed: &FeedInfo<'_>, item: &Item<'_>, out: &mut String) -> bool {
    let thing = item.thing;
    let (value, kind) = match thing.itype() {
        Itype::Ipv4 | Itype::Ipv6 if thing.prefix_len().is_some() => {
            (thing.as_str(), "Intel::SUBNET")
        }
        Itype::Ipv4 | Itype::Ipv6 => (thing.as_str(), "Intel::ADDR"),
        Itype::Fqdn => (thing.as_str(), "Intel::DOMAIN"),
        // Zeek compares URLs without their scheme.
        Itype::Url => (
            thing
                .as_str()
                .split_once("://")
                .map_or(thing.as_str(), |(_, rest)| rest),
            "Intel::URL",
        ),
        Itype::Email => (thing.as_str(), "Intel::EMAIL"),
        Itype::Md5 | Itype::Sha1 | Itype::Sha256 | Itype::Sha512 => {
            (thing.as_str(), "Intel::FILE_HASH")
        }
    };
    field(out, value);
    out.push('\t');
    out.push_str(kind);
    out.push('\t');
    let _ = write!(out, "feedgate:{}/{}", feed.owner, feed.name);
    out.push('\t');
    let desc = match (item.description, item.tags.is_empty()) {
        (Some(d), _) if !d.trim().is_empty() => d,
        (_, false) => item.tags,
        _ => "",
    };
    field(out, desc);
    out.push('\t');
    field(out, feed.url);
    out.push('\n');
    true
}

/// A field without tabs or line breaks; `-` (unset) when empty.
fn field(out: &mut String, text: &str) {
    if text.is_empty() {
        out.push('-');
        return;
    }
    out.extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }));
}
