//! Times in requests (spec §7.5): RFC 3339 with `Z` or an offset, the v0 form
//! `2026-11-20 07:55:12 UTC`, the same without zone or with `T` (UTC implied), and a bare date
//! (midnight UTC). Fractions are truncated; results are UTC with whole seconds.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound};

use super::DomainError;

/// Parses one time text.
pub fn parse_time(raw: &str) -> Result<NaiveDateTime, DomainError> {
    let s = raw.trim();
    let bad = || {
        DomainError::new(
            "invalid_format",
            format!("{s:?} is not a time (use 2026-11-20T07:55:12Z)"),
        )
    };
    if s.is_empty() {
        return Err(DomainError::new("empty", "must not be empty"));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.naive_utc().trunc_subsecs(0));
    }
    let body = s
        .strip_suffix(" UTC")
        .or_else(|| s.strip_suffix('Z'))
        .unwrap_or(s);
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(body, fmt) {
            return Ok(t.trunc_subsecs(0));
        }
    }
    if body.len() == 10
        && let Ok(d) = NaiveDate::parse_from_str(body, "%Y-%m-%d")
    {
        return d.and_hms_opt(0, 0, 0).ok_or_else(bad);
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn every_documented_form_parses() {
        let want = t("2026-11-20 07:55:12");
        for s in [
            "2026-11-20T07:55:12Z",
            "2026-11-20T08:55:12+01:00",
            "2026-11-20 07:55:12 UTC",
            "2026-11-20 07:55:12",
            "2026-11-20T07:55:12",
            "2026-11-20T07:55:12.987Z",
            " 2026-11-20T07:55:12Z ",
        ] {
            assert_eq!(parse_time(s).unwrap(), want, "{s}");
        }
        assert_eq!(parse_time("2026-11-20").unwrap(), t("2026-11-20 00:00:00"));
    }

    #[test]
    fn junk_is_refused() {
        for s in [
            "yesterday",
            "2026-13-01",
            "2026-11-20 25:00:00",
            "1700000000",
            "2026-11-20T07:55",
        ] {
            assert_eq!(parse_time(s).unwrap_err().code, "invalid_format", "{s}");
        }
        assert_eq!(parse_time("").unwrap_err().code, "empty");
    }

    proptest! {
        #[test]
        fn no_text_panics(s in ".{0,40}") {
            let _ = parse_time(&s);
        }
    }
}
