//! Feed values (spec §6.5.2, §7.2): the feed name, the licence, and the free-text check shared
//! by descriptions, providers and comments. Quotas and uniqueness live in the models.

use std::fmt;

use super::DomainError;
use super::name::check_name;

/// The longest licence name, in characters (§10).
pub const MAX_LICENSE_NAME_CHARS: usize = 100;
/// The longest licence url, in characters (§10).
pub const MAX_LICENSE_URL_CHARS: usize = 255;

/// A valid feed name: lower case, `^[a-z0-9][a-z0-9._-]{0,62}$`, not ending in `.csv` or
/// `.json` (those paths are the exports).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedName(String);

impl FeedName {
    /// Lower-cases and checks `raw`.
    ///
    /// Error codes: `empty`, `invalid_format`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let name = check_name(raw)?;
        if name.ends_with(".csv") || name.ends_with(".json") {
            return Err(DomainError::new(
                "invalid_format",
                "a feed name must not end in .csv or .json",
            ));
        }
        Ok(Self(name))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FeedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a feed holds: indicators to block (the default), or values never to block, which
/// its owner's exports (or every export, for a global one) leave out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FeedKind {
    #[default]
    Indicators,
    Whitelist,
}

impl FeedKind {
    /// Reads `indicators` or `whitelist` (any case, surrounding whitespace ignored).
    ///
    /// Error code: `invalid_format`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "indicators" => Ok(FeedKind::Indicators),
            "whitelist" => Ok(FeedKind::Whitelist),
            _ => Err(DomainError::new(
                "invalid_format",
                "kind must be indicators or whitelist",
            )),
        }
    }

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Indicators => "indicators",
            FeedKind::Whitelist => "whitelist",
        }
    }
}

impl fmt::Display for FeedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A feed's licence: a name and an optional `http(s)` url.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct License {
    /// The licence name, 1–100 characters.
    pub name: String,
    /// A link to the licence text, `http://` or `https://`, at most 255 characters.
    pub url: Option<String>,
}

impl License {
    /// Checks a licence name and url. Surrounding whitespace is trimmed; an empty url is no
    /// url.
    ///
    /// Error codes: `empty` (no name), `too_long`, `invalid_format` (control characters, a
    /// url that is not `http(s)` or contains whitespace).
    pub fn parse(name: &str, url: Option<&str>) -> Result<Self, DomainError> {
        let name = check_text(name.trim(), MAX_LICENSE_NAME_CHARS, false)?;
        let url = match url.map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(u) => Some(check_license_url(u)?),
        };
        Ok(Self { name, url })
    }
}

impl Default for License {
    /// `CC BY-SA 4.0`, linked with the original page's `http` url.
    fn default() -> Self {
        Self {
            name: "CC BY-SA 4.0".to_owned(),
            url: Some("http://creativecommons.org/licenses/by-sa/4.0/".to_owned()),
        }
    }
}

fn check_license_url(url: &str) -> Result<String, DomainError> {
    if url.chars().count() > MAX_LICENSE_URL_CHARS {
        return Err(DomainError::new(
            "too_long",
            format!("a licence url has at most {MAX_LICENSE_URL_CHARS} characters"),
        ));
    }
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let valid = rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(DomainError::new(
            "invalid_format",
            "a licence url starts with http:// or https://",
        ));
    }
    Ok(url.to_owned())
}

/// Checks free text (a description, provider or comment): not empty or only whitespace, at
/// most `max_chars` characters, and no control characters, except line breaks (`\n`, `\r`)
/// and tabs when `allow_newlines`. The text is returned unchanged.
///
/// Error codes: `empty`, `too_long`, `invalid_format`.
pub fn check_text(
    raw: &str,
    max_chars: usize,
    allow_newlines: bool,
) -> Result<String, DomainError> {
    if raw.trim().is_empty() {
        return Err(DomainError::new("empty", "must not be empty"));
    }
    if raw.chars().count() > max_chars {
        return Err(DomainError::new(
            "too_long",
            format!("must be at most {max_chars} characters"),
        ));
    }
    let allowed = |c: char| allow_newlines && matches!(c, '\n' | '\r' | '\t');
    if raw.chars().any(|c| c.is_control() && !allowed(c)) {
        let what = if allow_newlines {
            "control characters other than line breaks and tabs"
        } else {
            "control characters (including line breaks and tabs)"
        };
        return Err(DomainError::new(
            "invalid_format",
            format!("must not contain {what}"),
        ));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn feed_kinds_are_indicators_or_whitelist() {
        assert_eq!(FeedKind::parse("indicators"), Ok(FeedKind::Indicators));
        assert_eq!(FeedKind::parse(" Whitelist "), Ok(FeedKind::Whitelist));
        assert_eq!(FeedKind::default().as_str(), "indicators");
        for bad in ["", "allowlist", "white list"] {
            assert_eq!(FeedKind::parse(bad).unwrap_err().code, "invalid_format");
        }
    }

    #[test]
    fn feed_names_follow_the_name_rule_and_avoid_export_suffixes() {
        let good = [
            ("smtp-relays", "smtp-relays"),
            ("SSH-Scanners", "ssh-scanners"),
            ("a", "a"),
            ("v1.2_x", "v1.2_x"),
            ("feed.csv2", "feed.csv2"),
            ("csv", "csv"),
        ];
        for (raw, want) in good {
            assert_eq!(FeedName::parse(raw).unwrap().as_str(), want, "{raw:?}");
        }
        assert_eq!(FeedName::parse("").unwrap_err().code, "empty");
        let too_long = "a".repeat(64);
        for bad in [
            "feed.csv",
            "feed.JSON",
            "-feed",
            "a b",
            "ä",
            "a/b",
            too_long.as_str(),
        ] {
            assert_eq!(
                FeedName::parse(bad).unwrap_err().code,
                "invalid_format",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn licences_default_to_cc_by_sa() {
        let license = License::default();
        assert_eq!(license.name, "CC BY-SA 4.0");
        assert_eq!(
            license.url.as_deref(),
            Some("http://creativecommons.org/licenses/by-sa/4.0/")
        );
        assert_eq!(
            License::parse(&license.name, license.url.as_deref()).unwrap(),
            license
        );
    }

    #[test]
    fn licence_names_and_urls_are_checked() {
        let l = License::parse(" MIT ", Some(" HTTPS://opensource.org/license/mit ")).unwrap();
        assert_eq!(l.name, "MIT");
        assert_eq!(l.url.as_deref(), Some("HTTPS://opensource.org/license/mit"));
        assert_eq!(License::parse("TLP:CLEAR", None).unwrap().url, None);
        assert_eq!(License::parse("TLP:CLEAR", Some("")).unwrap().url, None);
        assert!(License::parse(&"n".repeat(100), None).is_ok());

        let long_url = format!("https://example.org/{}", "x".repeat(236));
        assert!(License::parse("x", Some(&long_url[..255])).is_ok());
        let bad: [(&str, Option<&str>, &str); 9] = [
            ("", None, "empty"),
            ("  ", None, "empty"),
            (&"n".repeat(101), None, "too_long"),
            ("a\nb", None, "invalid_format"),
            ("x", Some("ftp://example.org/l"), "invalid_format"),
            ("x", Some("example.org/l"), "invalid_format"),
            ("x", Some("https://"), "invalid_format"),
            ("x", Some("https://example.org/a b"), "invalid_format"),
            ("x", Some(&long_url), "too_long"),
        ];
        for (name, url, want) in bad {
            assert_eq!(
                License::parse(name, url).unwrap_err().code,
                want,
                "{name:?} {url:?}"
            );
        }
    }

    #[test]
    fn text_is_checked_for_length_and_control_characters() {
        assert_eq!(
            check_text("open relays", 255, false).unwrap(),
            "open relays"
        );
        assert_eq!(
            check_text(" kept as is ", 255, false).unwrap(),
            " kept as is "
        );
        assert_eq!(
            check_text(&"é".repeat(255), 255, false)
                .unwrap()
                .chars()
                .count(),
            255
        );
        assert_eq!(check_text("a\r\n\tb", 4096, true).unwrap(), "a\r\n\tb");
        let bad = [
            ("", 255, false, "empty"),
            (" \n ", 4096, true, "empty"),
            ("abcd", 3, false, "too_long"),
            ("a\nb", 255, false, "invalid_format"),
            ("a\tb", 255, false, "invalid_format"),
            ("a\u{0}b", 4096, true, "invalid_format"),
            ("a\u{1b}[31mb", 4096, true, "invalid_format"),
            ("a\u{85}b", 4096, true, "invalid_format"),
        ];
        for (raw, max, newlines, want) in bad {
            assert_eq!(
                check_text(raw, max, newlines).unwrap_err().code,
                want,
                "{raw:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn arbitrary_feed_names_never_panic_and_round_trip(s in ".{0,70}") {
            if let Ok(name) = FeedName::parse(&s) {
                prop_assert_eq!(FeedName::parse(name.as_str()), Ok(name.clone()));
                prop_assert_eq!(name.to_string(), name.as_str());
            }
        }

        #[test]
        fn valid_feed_names_round_trip(s in "[a-z0-9][a-z0-9._-]{0,62}") {
            prop_assume!(!s.ends_with(".csv") && !s.ends_with(".json"));
            let name = FeedName::parse(&s).unwrap();
            prop_assert_eq!(name.as_str(), s.as_str());
        }

        #[test]
        fn licences_and_text_never_panic_and_are_idempotent(
            name in "\\PC{0,110}",
            url in proptest::option::of("(https?://)?\\PC{0,40}"),
            newlines in any::<bool>(),
        ) {
            if let Ok(l) = License::parse(&name, url.as_deref()) {
                prop_assert_eq!(License::parse(&l.name, l.url.as_deref()), Ok(l.clone()));
            }
            if let Ok(text) = check_text(&name, 100, newlines) {
                prop_assert_eq!(check_text(&text, 100, newlines), Ok(text.clone()));
            }
        }
    }
}
