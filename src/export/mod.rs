//! The formats consumers' tools load: one value per line, Zeek's Intel framework, Suricata
//! rules, a BIND response-policy zone, a STIX 2.1 bundle and a MISP event. Each renders a
//! head, then one indicator at a time, then a tail, into a `String` the caller streams, so an
//! export's memory does not grow with the feed. Pure: the rows, the feed and the time come
//! from the caller.
//!
//! A format that has no way to say an indicator's type (an RPZ holds no hashes) leaves it
//! out: [`Writer::item`] says so, and the caller counts it.

pub mod cache;
mod misp;
mod rpz;
pub mod stix;
mod suricata;
mod zeek;

use chrono::NaiveDateTime;

use crate::domain::thing::Thing;
use crate::domain::tlp::Tlp;

/// The feed an export renders.
#[derive(Debug, Clone)]
pub struct FeedInfo<'a> {
    pub id: i64,
    pub owner: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    /// The feed's address in the API, for links back to the source.
    pub url: &'a str,
    /// The export's time (the zone serial, the STIX bundle and MISP event times).
    pub generated: NaiveDateTime,
}

/// One indicator, as the formats need it.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    pub id: i64,
    pub thing: &'a Thing,
    /// As stored: comma-joined.
    pub tags: &'a str,
    pub description: Option<&'a str>,
    pub firsttime: Option<NaiveDateTime>,
    pub lasttime: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// 0–10.
    pub confidence: Option<f64>,
    pub tlp: Tlp,
    pub expires_at: Option<NaiveDateTime>,
}

impl Item<'_> {
    fn tags(&self) -> impl Iterator<Item = &str> {
        self.tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }
}

/// The consumer formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Txt,
    Zeek,
    Suricata,
    Rpz,
    Stix,
    Misp,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Txt,
        Format::Zeek,
        Format::Suricata,
        Format::Rpz,
        Format::Stix,
        Format::Misp,
    ];

    /// The name in the URL (`.txt`, `?format=txt`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Zeek => "zeek",
            Format::Suricata => "suricata",
            Format::Rpz => "rpz",
            Format::Stix => "stix",
            Format::Misp => "misp",
        }
    }

    /// Whether the format shows only an item's `id`, `thing`, `tags` and `description`, so an
    /// export reads only those columns (the row's times, confidence, level and expiry are not
    /// read; `Item`'s other members are then placeholders).
    pub fn terse(self) -> bool {
        matches!(
            self,
            Format::Txt | Format::Zeek | Format::Suricata | Format::Rpz
        )
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The `Content-Type` of the answer.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Txt | Format::Zeek | Format::Suricata => "text/plain; charset=utf-8",
            Format::Rpz => "text/dns",
            Format::Stix => "application/stix+json;version=2.1",
            Format::Misp => "application/json",
        }
    }
}

/// Renders one export: [`Writer::head`], [`Writer::item`] for each indicator, [`Writer::tail`].
/// It holds no borrow, so it can travel between the chunks of a streamed export.
#[derive(Debug, Clone, Copy)]
pub struct Writer {
    format: Format,
    /// Indicators written so far (separators in the JSON formats).
    written: u64,
}

impl Writer {
    /// The format it writes.
    pub fn format(&self) -> Format {
        self.format
    }

    pub fn new(format: Format) -> Self {
        Writer { format, written: 0 }
    }

    pub fn head(&self, feed: &FeedInfo<'_>, out: &mut String) {
        match self.format {
            Format::Txt => {}
            Format::Zeek => zeek::head(out),
            Format::Suricata => suricata::head(feed, out),
            Format::Rpz => rpz::head(feed, out),
            Format::Stix => stix::head(feed, out),
            Format::Misp => misp::head(feed, out),
        }
    }

    /// Appends `item`; `false` when the format cannot carry it (nothing was written).
    pub fn item(&mut self, feed: &FeedInfo<'_>, item: &Item<'_>, out: &mut String) -> bool {
        let first = self.written == 0;
        let written = match self.format {
            Format::Txt => {
                out.push_str(item.thing.as_str());
                out.push('\n');
                true
            }
            Format::Zeek => zeek::item(feed, item, out),
            Format::Suricata => suricata::item(feed, item, out),
            Format::Rpz => rpz::item(item, out),
            Format::Stix => stix::item(item, out),
            Format::Misp => misp::item(item, first, out),
        };
        self.written += u64::from(written);
        written
    }

    pub fn tail(&self, out: &mut String) {
        match self.format {
            Format::Txt | Format::Zeek | Format::Suricata | Format::Rpz => {}
            Format::Stix => stix::tail(out),
            Format::Misp => misp::tail(out),
        }
    }
}

/// `text` as a JSON string literal.
fn json_str(out: &mut String, text: &str) {
    // Serialising a `str` cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

/// The name-based (version 5, SHA-1) UUID of `name` in `namespace` (RFC 9562 §5.5).
fn uuid_v5(namespace: [u8; 16], name: &str) -> String {
    name_uuid(namespace, name, 5)
}

/// A name-based UUID of `name` in `namespace`, with `version` in its version bits: STIX asks
/// for version 4 ids on its objects, yet a consumer must see the same id on every download,
/// so STIX ids are SHA-1 bits shaped as version 4.
fn name_uuid(namespace: [u8; 16], name: &str, version: u8) -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::new()
        .chain_update(namespace)
        .chain_update(name.as_bytes())
        .finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | (version << 4);
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_text(&b)
}

/// The 8-4-4-4-12 text of a UUID's bytes.
fn uuid_text(b: &[u8; 16]) -> String {
    let hex = crate::domain::hex::hex(b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A STIX/MISP timestamp: RFC 3339, UTC, milliseconds.
fn timestamp(t: NaiveDateTime) -> String {
    utc_text(t, 3)
}

/// `t` as RFC 3339 in UTC with `digits` (1 to 9) fraction digits. Written field by field:
/// chrono's `format` interprets its pattern anew on every call, and a STIX object has four
/// times (a sixth of a TAXII page's CPU went there).
pub fn utc_text(t: NaiveDateTime, digits: u32) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write as _;
    let digits = digits.clamp(1, 9);
    let fraction = t.nanosecond() % 1_000_000_000 / 10u32.pow(9 - digits);
    let mut out = String::with_capacity(32);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{fraction:0width$}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        width = digits as usize
    );
    out
}

#[cfg(test)]
pub(crate) mod tests;
