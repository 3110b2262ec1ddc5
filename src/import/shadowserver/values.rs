//! Interpreting single cell values (spec `shadowserver.md` §2.5): timestamps (V6), AS numbers
//! and ports (V3), countries (V4), tags (V5) and the transport protocol (§3.4).
//!
//! What the CSIRTG contract already defines comes from `domain/`: a tag's validity
//! ([`Tags`]), protocol names and numbers ([`Protocol`]) and port text ([`Portlist`]). The
//! import's own rules stay here: a V6 timestamp is not a request time (no bare dates, an
//! optional space before the zone), a V3 port is one number (a portlist may be a range), and
//! V5 turns inner whitespace into `-` and drops what does not fit instead of refusing.
//!
//! Only these fields are interpreted; every other value stays text. Each function takes a value
//! already trimmed and non-empty (V1, done when a row is decoded) and answers `None` for
//! anything it does not accept: none of them is a reason to skip a row except the timestamp,
//! and that decision belongs to the row pipeline (`map.rs`).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

use crate::domain::portlist::Portlist;
use crate::domain::protocol::Protocol;
use crate::domain::tags::{MAX_JOINED_CHARS, Tags};

/// The latest accepted instant relative to the import's start (V6): 24 hours ahead.
const MAX_FUTURE_HOURS: i64 = 24;
/// The earliest accepted year (V6).
const MIN_YEAR: i32 = 1970;

/// Parses a V6 timestamp and checks it against `now` (the import's start): `YYYY-MM-DD`, a space
/// or `T`, `HH:MM:SS`, an optional fraction of 1–9 digits (discarded), then optionally a space
/// and `Z`, `UTC` or an offset `±HH`, `±HHMM`, `±HH:MM`. No zone means UTC; the result is UTC.
pub fn parse_timestamp(s: &str, now: NaiveDateTime) -> Option<NaiveDateTime> {
    let t = parse_timestamp_text(s)?;
    if t.year() < MIN_YEAR || t > now + Duration::hours(MAX_FUTURE_HOURS) {
        return None;
    }
    Some(t)
}

/// The syntax part of [`parse_timestamp`], without the range checks.
fn parse_timestamp_text(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19 || !matches!(b[10], b' ' | b'T') {
        return None;
    }
    let date = parse_date(s.get(..10)?)?;
    let time = parse_time(s.get(11..19)?)?;
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        rest = &frac[digits..];
    }
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let offset_minutes = match rest {
        "" | "Z" | "UTC" => 0,
        _ => parse_offset(rest)?,
    };
    Some(NaiveDateTime::new(date, time) - Duration::minutes(offset_minutes))
}

/// `YYYY-MM-DD`, a date that exists.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(
        i32::try_from(digits(&b[0..4])?).ok()?,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
    )
}

/// `HH:MM:SS` without leap seconds.
fn parse_time(s: &str) -> Option<NaiveTime> {
    let b = s.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    NaiveTime::from_hms_opt(digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?)
}

/// `±HH`, `±HHMM` or `±HH:MM` as signed minutes east of UTC.
fn parse_offset(s: &str) -> Option<i64> {
    let (sign, body) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let b = body.as_bytes();
    let (h, m) = match b.len() {
        2 => (digits(b)?, 0),
        4 => (digits(&b[0..2])?, digits(&b[2..4])?),
        5 if b[2] == b':' => (digits(&b[0..2])?, digits(&b[3..5])?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * i64::from(h * 60 + m))
}

/// The value of a run of ASCII digits (`None` if any byte is not a digit, or it is empty).
fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

/// V3: an AS number, decimal digits optionally prefixed `AS` (any case), 1..=4294967295.
pub fn parse_asn(s: &str) -> Option<i64> {
    let digits = match s.get(..2) {
        Some(p) if p.eq_ignore_ascii_case("as") => &s[2..],
        _ => s,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    (n != 0).then_some(i64::from(n))
}

/// V3: a port, an integer in 1..=65535, as the decimal text a portlist stores.
pub fn parse_port(s: &str) -> Option<String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u16 = s.parse().ok()?;
    Portlist::from_number(i64::from(n))
        .ok()
        .map(|p| p.as_str().to_owned())
}

/// V4: a country, exactly two ASCII letters, upper-cased.
pub fn parse_country(s: &str) -> Option<String> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic())).then(|| s.to_ascii_uppercase())
}

/// §3.4: the protocol number of `tcp`/`6`, `udp`/`17`, `icmp`/`1` (names in any case).
pub fn parse_protocol(s: &str) -> Option<i64> {
    Protocol::parse_str(s).ok().map(Protocol::number)
}

/// V5: an ordered, duplicate-free tag list whose comma-joined text stays within 255 characters.
///
/// Candidates are normalised (trimmed, lower-cased, runs of whitespace turned into `-`) and
/// kept only when they are valid CSIRTG tags (1–64 letters, digits, `-_.:+`). Invalid
/// candidates and those that no longer fit are counted in [`TagList::dropped`]; a duplicate
/// loses nothing and is not counted.
#[derive(Debug, Default)]
pub struct TagList {
    tags: Vec<String>,
    joined_chars: usize,
    dropped: u64,
}

impl TagList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Offers one candidate tag.
    pub fn push(&mut self, raw: &str) {
        let Some(tag) = normalise_tag(raw) else {
            if !raw.trim().is_empty() {
                self.dropped += 1;
            }
            return;
        };
        if self.tags.contains(&tag) {
            return;
        }
        let chars = tag.chars().count();
        let needed = if self.tags.is_empty() {
            chars
        } else {
            chars + 1
        };
        if self.joined_chars + needed > MAX_JOINED_CHARS {
            self.dropped += 1;
            return;
        }
        self.joined_chars += needed;
        self.tags.push(tag);
    }

    /// Offers every part of a `tag` cell, split on both `;` and `,`.
    pub fn push_split(&mut self, raw: &str) {
        for part in raw.split([';', ',']) {
            self.push(part);
        }
    }

    /// How many candidates were discarded (invalid or over the length budget).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The tags, in the order they were accepted.
    pub fn into_vec(self) -> Vec<String> {
        self.tags
    }
}

/// Normalises one tag candidate; `None` when empty or not a valid tag.
fn normalise_tag(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.bytes().all(|b| b.is_ascii_graphic()) {
        // The usual case: one ASCII word, only lower-casing to do.
        let out = raw.to_ascii_lowercase();
        return (!out.is_empty() && Tags::from_list([out.as_str()]).is_ok()).then_some(out);
    }
    let mut out = String::with_capacity(raw.len());
    let mut in_space = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            in_space = true;
            continue;
        }
        if in_space {
            out.push('-');
            in_space = false;
        }
        out.extend(c.to_lowercase());
    }
    let valid = !out.is_empty() && Tags::from_list([out.as_str()]).is_ok();
    valid.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn now() -> NaiveDateTime {
        at("2024-01-05 12:00:00")
    }

    #[test]
    fn checklist_9_accepted_timestamps() {
        let want = at("2024-01-04 08:04:37");
        for s in [
            "2024-01-04 08:04:37",
            "2024-01-04 08:04:37Z",
            "2024-01-04 08:04:37 Z",
            "2024-01-04 08:04:37 UTC",
            "2024-01-04T08:04:37",
            "2024-01-04T10:04:37+02:00",
            "2024-01-04T10:04:37+0200",
            "2024-01-04T10:04:37+02",
            "2024-01-04 08:04:37+0000",
            "2024-01-04 08:04:37.123456",
            "2024-01-04 08:04:37.123456789 UTC",
            "2024-01-04 03:04:37 -05:00",
        ] {
            assert_eq!(parse_timestamp(s, now()), Some(want), "{s}");
        }
        assert_eq!(
            parse_timestamp("2024-01-04T08:04:37+02:00", now()),
            Some(at("2024-01-04 06:04:37"))
        );
    }

    #[test]
    fn checklist_9_refused_timestamps() {
        for s in [
            "",
            "yesterday",
            "2024-01-04",
            "2024-02-30 00:00:00",
            "2024-01-07 12:00:01",
            "1969-12-31 23:59:59",
            "2024-01-04 24:00:00",
            "2024-01-04 08:04:37.",
            "2024-01-04 08:04:37.1234567890",
            "2024-01-04 08:04:37 CET",
            "2024-01-04 08:04:37+2:00",
            "2024-01-04 08:04:37+24:00",
            "2024-01-04  08:04:37",
            "2024-1-04 08:04:37",
            "2024-01-04 08:04",
        ] {
            assert_eq!(parse_timestamp(s, now()), None, "{s:?}");
        }
    }

    #[test]
    fn a_timestamp_up_to_24_hours_ahead_is_accepted() {
        assert!(parse_timestamp("2024-01-06 12:00:00", now()).is_some());
        assert!(parse_timestamp("2024-01-06 12:00:01", now()).is_none());
    }

    #[test]
    fn checklist_8_asn() {
        for (s, want) in [
            ("0", None),
            ("AS64500", Some(64500)),
            ("as64500", Some(64500)),
            ("abc", None),
            ("4294967295", Some(4_294_967_295)),
            ("4294967296", None),
            ("AS", None),
            ("-1", None),
        ] {
            assert_eq!(parse_asn(s), want, "{s}");
        }
    }

    #[test]
    fn ports_are_1_to_65535() {
        assert_eq!(parse_port("80").as_deref(), Some("80"));
        assert_eq!(parse_port("080").as_deref(), Some("80"));
        for s in ["0", "65536", "-1", "80.0", "22-23", "tcp/22", ""] {
            assert_eq!(parse_port(s), None, "{s}");
        }
    }

    #[test]
    fn countries_are_two_letters() {
        assert_eq!(parse_country("at").as_deref(), Some("AT"));
        for s in ["AUT", "A", "1A", "ÄT"] {
            assert_eq!(parse_country(s), None, "{s}");
        }
    }

    #[test]
    fn checklist_10_protocol_names_and_numbers() {
        for (s, want) in [
            ("tcp", Some(6)),
            ("TCP", Some(6)),
            ("udp", Some(17)),
            ("icmp", Some(1)),
            ("6", Some(6)),
            ("17", Some(17)),
            ("1", Some(1)),
            ("http", None),
            ("42", None),
        ] {
            assert_eq!(parse_protocol(s), want, "{s}");
        }
    }

    #[test]
    fn checklist_11_tags_split_normalise_and_drop() {
        let mut a = TagList::new();
        a.push_split("ssl,vpn");
        let mut b = TagList::new();
        b.push_split("ssl;vpn");
        assert_eq!(a.into_vec(), b.into_vec());

        let mut t = TagList::new();
        t.push("shadowserver");
        t.push_split("CVE-2016-10372; Mirai Botnet ,,ssl;SSL");
        t.push(&"x".repeat(70));
        t.push("a/b");
        assert_eq!(t.dropped(), 2);
        assert_eq!(
            t.into_vec(),
            ["shadowserver", "cve-2016-10372", "mirai-botnet", "ssl"]
        );
    }

    #[test]
    fn tags_stop_at_255_joined_characters() {
        let mut t = TagList::new();
        for i in 0..10 {
            t.push(&format!("{i}{}", "a".repeat(29))); // 30 characters each
        }
        assert_eq!(t.dropped(), 2);
        let tags = t.into_vec();
        assert_eq!(tags.len(), 8);
        assert!(tags.join(",").chars().count() <= 255);
    }

    proptest! {
        #[test]
        fn no_cell_text_panics(s in "\\PC{0,40}") {
            let _ = parse_timestamp(&s, now());
            let _ = parse_asn(&s);
            let _ = parse_port(&s);
            let _ = parse_country(&s);
            let mut t = TagList::new();
            t.push_split(&s);
        }
    }
}
