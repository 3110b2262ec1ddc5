//! Port lists (`portlist`, `portlist_src`, spec §7.6): comma-separated ports `P` and ordered
//! ranges `A-B`, ports 1–65535. Only the text is kept; nothing here sorts, merges or expands.

use std::fmt;

use super::DomainError;

/// The longest port list, in characters (§10).
pub const MAX_LEN: usize = 255;

/// A valid port list such as `22`, `80,443` or `6881-6889,22`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Portlist(String);

impl Portlist {
    /// Checks and normalises a port list: whitespace around items is removed, `A-A` becomes
    /// `A`, leading zeros are dropped; the order of the items is kept.
    ///
    /// Error codes: `empty` (nothing but whitespace), `invalid_format` (an empty item,
    /// anything but digits and one `-` in an item, a descending range), `out_of_range` (a port
    /// outside 1–65535), `too_long` (more than 255 characters once normalised).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if raw.trim().is_empty() {
            return Err(DomainError::new("empty", "must not be empty"));
        }
        let mut out = String::new();
        for item in raw.split(',') {
            if !out.is_empty() {
                out.push(',');
            }
            let item = item.trim();
            match item.split_once('-') {
                None => out.push_str(&port(item)?.to_string()),
                Some((a, b)) => {
                    let (a, b) = (port(a)?, port(b)?);
                    if a > b {
                        return Err(DomainError::new(
                            "invalid_format",
                            format!("the range {a}-{b} is descending (write {b}-{a})"),
                        ));
                    }
                    out.push_str(&a.to_string());
                    if a != b {
                        out.push('-');
                        out.push_str(&b.to_string());
                    }
                }
            }
            if out.len() > MAX_LEN {
                break;
            }
        }
        if out.len() > MAX_LEN {
            return Err(DomainError::new(
                "too_long",
                format!("a port list has at most {MAX_LEN} characters"),
            ));
        }
        Ok(Self(out))
    }

    /// The port list of a JSON integer: one port, 1–65535 (else `out_of_range`).
    pub fn from_number(n: i64) -> Result<Self, DomainError> {
        match u16::try_from(n) {
            Ok(p) if p > 0 => Ok(Self(p.to_string())),
            _ => Err(out_of_range(&n.to_string())),
        }
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Portlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One port of an item: ASCII digits, 1–65535.
fn port(text: &str) -> Result<u16, DomainError> {
    if text.is_empty() {
        return Err(DomainError::new(
            "invalid_format",
            "a port list is ports and ranges separated by commas, such as 22,80-89",
        ));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DomainError::new(
            "invalid_format",
            format!("{text:?} is not a port or a range such as 80-89"),
        ));
    }
    let digits = text.trim_start_matches('0');
    match digits.parse::<u16>() {
        Ok(p) if p > 0 && digits.len() <= 5 => Ok(p),
        _ => Err(out_of_range(text)),
    }
}

fn out_of_range(text: &str) -> DomainError {
    // Long digit strings are cut so the message stays one short line.
    let shown: String = text.chars().take(12).collect();
    DomainError::new("out_of_range", format!("port {shown} is outside 1-65535"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn good_port_lists_are_normalised() {
        let table = [
            ("22", "22"),
            ("22,23", "22,23"),
            ("23,22", "23,22"),
            (" 22 , 80-89 ", "22,80-89"),
            ("443-443", "443"),
            ("1,65535", "1,65535"),
            ("1-65535", "1-65535"),
            ("022", "22"),
            ("22,22", "22,22"),
        ];
        for (raw, want) in table {
            assert_eq!(Portlist::parse(raw).unwrap().as_str(), want, "{raw:?}");
        }
    }

    #[test]
    fn bad_port_lists_are_refused_with_their_codes() {
        let table = [
            ("", "empty"),
            ("  ", "empty"),
            ("22,,23", "invalid_format"),
            ("22,", "invalid_format"),
            (",22", "invalid_format"),
            ("tcp/22", "invalid_format"),
            ("5-1", "invalid_format"),
            ("1-2-3", "invalid_format"),
            ("-5", "invalid_format"),
            ("5-", "invalid_format"),
            ("+22", "invalid_format"),
            ("22 23", "invalid_format"),
            ("2２", "invalid_format"),
            ("0", "out_of_range"),
            ("70000", "out_of_range"),
            ("65536", "out_of_range"),
            ("1-99999999999999999999", "out_of_range"),
            ("0-5", "out_of_range"),
        ];
        for (raw, want) in table {
            assert_eq!(Portlist::parse(raw).unwrap_err().code, want, "{raw:?}");
        }
    }

    #[test]
    fn length_is_limited_after_normalising() {
        let fits = vec!["65535"; 42].join(",");
        assert_eq!(fits.len(), 251);
        assert!(Portlist::parse(&fits).is_ok());
        let long = vec!["65535"; 43].join(",");
        assert_eq!(Portlist::parse(&long).unwrap_err().code, "too_long");
        // Spaces and `A-A` do not count: only the stored form does.
        let spaced = vec![" 1-1 "; 120].join(",");
        assert_eq!(Portlist::parse(&spaced).unwrap().as_str().len(), 239);
    }

    #[test]
    fn json_integers_are_single_ports() {
        assert_eq!(Portlist::from_number(22).unwrap().as_str(), "22");
        assert_eq!(Portlist::from_number(65535).unwrap().as_str(), "65535");
        for bad in [0, -1, 65536, i64::MAX, i64::MIN] {
            assert_eq!(Portlist::from_number(bad).unwrap_err().code, "out_of_range");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics_and_normalising_is_idempotent(s in "\\PC{0,40}") {
            if let Ok(p) = Portlist::parse(&s) {
                prop_assert_eq!(Portlist::parse(p.as_str()), Ok(p.clone()));
                prop_assert_eq!(p.to_string(), p.as_str());
            }
        }

        #[test]
        fn port_like_text_normalises_idempotently(s in "[0-9, -]{0,30}") {
            if let Ok(p) = Portlist::parse(&s) {
                prop_assert_eq!(Portlist::parse(p.as_str()), Ok(p));
            }
        }

        #[test]
        fn valid_lists_round_trip(items in prop::collection::vec((1u16.., 0u16..100), 1..10)) {
            let text = items
                .iter()
                .map(|&(a, len)| match a.checked_add(len) {
                    Some(b) if len > 0 => format!("{a}-{b}"),
                    _ => a.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",");
            let list = Portlist::parse(&text).unwrap();
            prop_assert_eq!(list.as_str(), text.as_str());
        }
    }
}
