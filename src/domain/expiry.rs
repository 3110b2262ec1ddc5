//! When an indicator stops being served: the default lifetime of each indicator type (a server
//! setting, CIF's look-back windows by default), the lifetime of what each Shadowserver report
//! type imports (scan reports age out in a week), the expiry a first submission gets and the
//! one a re-submission leaves, and the confidence scale indicators carry beside it.

use std::fmt;
use std::str::FromStr;

use chrono::{Duration, NaiveDateTime};

use super::DomainError;
use super::thing::Itype;

/// The longest lifetime a setting may name, in days (100 years).
const MAX_DAYS: i64 = 36_500;

/// How long an indicator of each type lives when its publisher names no expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Days, in the order of `Itype::ALL`.
    days: [i64; 9],
}

impl Default for Lifetimes {
    /// CIF v3's feed windows: addresses 21 days, everything else 45.
    fn default() -> Self {
        let mut days = [45; 9];
        days[index(Itype::Ipv4)] = 21;
        days[index(Itype::Ipv6)] = 21;
        Lifetimes { days }
    }
}

fn index(itype: Itype) -> usize {
    Itype::ALL.iter().position(|t| *t == itype).unwrap_or(0)
}

impl Lifetimes {
    /// The lifetime of `itype`.
    pub fn of(&self, itype: Itype) -> Duration {
        Duration::days(self.days[index(itype)])
    }

    /// Every type given the same lifetime (a feed's override).
    pub fn uniform(days: i64) -> Self {
        Lifetimes { days: [days; 9] }
    }

    /// When an indicator of `itype` seen at `now` expires by default.
    pub fn expiry(&self, itype: Itype, now: NaiveDateTime) -> NaiveDateTime {
        now + self.of(itype)
    }
}

impl Lifetimes {
    /// These lifetimes with the types `overrides` names set to its days.
    pub fn with(&self, overrides: &Overrides) -> Lifetimes {
        let mut out = *self;
        for (i, days) in overrides.days.iter().enumerate() {
            if let Some(days) = days {
                out.days[i] = *days;
            }
        }
        out
    }
}

/// `ipv4=21,fqdn=30,…`: the types named get those days, the others keep the defaults.
impl FromStr for Lifetimes {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, DomainError> {
        Ok(Lifetimes::default().with(&s.parse()?))
    }
}

/// Lifetimes for some types only (a feed's, over the server's): `TYPE=DAYS` pairs where
/// `ip` names both address types, `hash` every hash type and `*` every type; later pairs win.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overrides {
    days: [Option<i64>; 9],
}

impl Overrides {
    /// Whether no type is named.
    pub fn is_empty(&self) -> bool {
        self.days.iter().all(Option::is_none)
    }
}

impl FromStr for Overrides {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, DomainError> {
        const FORM: &str = "TYPE=DAYS (TYPE an itype, `ip`, `hash` or `*`; DAYS 1 to 36500)";
        let mut out = Overrides::default();
        for Pair { part, name, value } in pairs(s, FORM)? {
            let days = days(value).ok_or_else(|| refuse(part, FORM))?;
            let types: Vec<Itype> = match name {
                "*" => Itype::ALL.to_vec(),
                "ip" => vec![Itype::Ipv4, Itype::Ipv6],
                "hash" => vec![Itype::Md5, Itype::Sha1, Itype::Sha256, Itype::Sha512],
                other => vec![Itype::parse_name(other).ok_or_else(|| refuse(part, FORM))?],
            };
            for t in types {
                out.days[index(t)] = Some(days);
            }
        }
        Ok(out)
    }
}

/// The types named, in `Itype::ALL` order: `ipv4=7,ipv6=7`.
impl fmt::Display for Overrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (t, days) in Itype::ALL.iter().zip(self.days) {
            if let Some(days) = days {
                if !first {
                    f.write_str(",")?;
                }
                first = false;
                write!(f, "{}={days}", t.as_str())?;
            }
        }
        Ok(())
    }
}

/// One `NAME=VALUE` part of a lifetimes setting, trimmed.
struct Pair<'s> {
    part: &'s str,
    name: &'s str,
    value: &'s str,
}

/// The parts of a lifetimes setting (comma-separated, empty ones skipped); a part without `=`
/// is refused as not of `form`.
fn pairs<'s>(s: &'s str, form: &str) -> Result<Vec<Pair<'s>>, DomainError> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').ok_or_else(|| refuse(part, form))?;
            Ok(Pair {
                part,
                name: name.trim(),
                value: value.trim(),
            })
        })
        .collect()
}

/// A number of days a setting may name (1 to [`MAX_DAYS`]).
fn days(value: &str) -> Option<i64> {
    value.parse().ok().filter(|d| (1..=MAX_DAYS).contains(d))
}

fn refuse(part: &str, form: &str) -> DomainError {
    DomainError::new("invalid_format", format!("`{part}`: expected {form}"))
}

impl fmt::Display for Lifetimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in Itype::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={}", t.as_str(), self.days[i])?;
        }
        Ok(())
    }
}

/// How long what a Shadowserver report imports lives, per report type: `scan_*=7` gives every
/// scan report's indicators 7 days, renewed by the next report that lists them. A type no
/// rule names keeps the per-indicator-type [`Lifetimes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLifetimes {
    /// `(pattern, days)` in the order given: a pattern is a report type (`blocklist`), a
    /// prefix ending in `*` (`scan_*`) or `*`; `None` days = the per-type lifetimes.
    rules: Vec<(String, Option<i64>)>,
}

/// The default rules: scan reports (IPv4 and IPv6) live a week.
pub const DEFAULT_REPORT_LIFETIMES: &str = "scan_*=7,scan6_*=7";

impl Default for ReportLifetimes {
    fn default() -> Self {
        ReportLifetimes {
            rules: vec![("scan_*".into(), Some(7)), ("scan6_*".into(), Some(7))],
        }
    }
}

impl ReportLifetimes {
    /// The lifetime of `report_type`'s indicators, when a rule names it: the exact type wins,
    /// else the longest matching prefix; `None` means the per-type lifetimes apply.
    pub fn of(&self, report_type: &str) -> Option<Duration> {
        let exact = self.rules.iter().find(|(p, _)| p == report_type);
        let best = exact.or_else(|| {
            self.rules
                .iter()
                .filter(|(p, _)| {
                    p.strip_suffix('*')
                        .is_some_and(|prefix| report_type.starts_with(prefix))
                })
                .max_by_key(|(p, _)| p.len())
        });
        best.and_then(|(_, days)| days.map(Duration::days))
    }

    /// The lifetimes an import of `report_type` writes with: `per_type`, or every type given
    /// the report's lifetime when a rule names it.
    pub fn apply(&self, report_type: &str, per_type: Lifetimes) -> Lifetimes {
        self.of(report_type)
            .map_or(per_type, |d| Lifetimes::uniform(d.num_days()))
    }
}

/// `REPORT=DAYS` pairs, added to the defaults (a pair naming a default pattern replaces it):
/// REPORT a report type, a prefix ending in `*` or `*`; DAYS 1 to 36,500, or `type` for the
/// per-type lifetimes (`scan_*=type` turns the scan default off).
impl FromStr for ReportLifetimes {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, DomainError> {
        const FORM: &str = "REPORT=DAYS (REPORT a report type such as scan_ssl, a prefix such as scan_* or *; DAYS 1 to 36500 or `type`)";
        let mut out = ReportLifetimes::default();
        for Pair { part, name, value } in pairs(s, FORM)? {
            let name = name.to_ascii_lowercase();
            let stem = name.strip_suffix('*').unwrap_or(&name);
            let valid_stem = stem
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid_stem || name.is_empty() {
                return Err(refuse(part, FORM));
            }
            let days = match value {
                "type" => None,
                n => Some(days(n).ok_or_else(|| refuse(part, FORM))?),
            };
            match out.rules.iter_mut().find(|(p, _)| *p == name) {
                Some(rule) => rule.1 = days,
                None => out.rules.push((name, days)),
            }
        }
        Ok(out)
    }
}

impl fmt::Display for ReportLifetimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (pattern, days)) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match days {
                Some(d) => write!(f, "{pattern}={d}")?,
                None => write!(f, "{pattern}=type")?,
            }
        }
        Ok(())
    }
}

/// The expiry of a first submission: the one it names (`Some(None)`: never), else `renewed`
/// (now plus the type's lifetime).
pub fn first_expiry(
    given: Option<Option<NaiveDateTime>>,
    renewed: NaiveDateTime,
) -> Option<NaiveDateTime> {
    given.unwrap_or(Some(renewed))
}

/// The expiry after a re-submission: the one it names, else the stored one pushed forward to
/// `renewed` (never moved earlier; an indicator that never expires keeps never expiring).
pub fn merged_expiry(
    stored: Option<NaiveDateTime>,
    given: Option<Option<NaiveDateTime>>,
    renewed: NaiveDateTime,
) -> Option<NaiveDateTime> {
    match given {
        Some(named) => named,
        None => stored.map(|t| t.max(renewed)),
    }
}

/// The highest confidence (CIF's 0–10 scale).
pub const MAX_CONFIDENCE: f64 = 10.0;

/// A confidence from its text (`7`, `7.5`). Error code `out_of_range` outside 0–10,
/// `invalid_format` for anything not a number.
pub fn parse_confidence(raw: &str) -> Result<f64, DomainError> {
    let v: f64 = raw
        .trim()
        .parse()
        .map_err(|_| DomainError::new("invalid_format", "must be a number from 0 to 10"))?;
    if !v.is_finite() || !(0.0..=MAX_CONFIDENCE).contains(&v) {
        return Err(DomainError::new(
            "out_of_range",
            "must be a number from 0 to 10",
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_time;

    fn t(s: &str) -> NaiveDateTime {
        parse_time(s).unwrap()
    }

    #[test]
    fn defaults_are_cifs_windows_and_settings_override_them() {
        let d = Lifetimes::default();
        assert_eq!(d.of(Itype::Ipv4), Duration::days(21));
        assert_eq!(d.of(Itype::Ipv6), Duration::days(21));
        for t in [Itype::Fqdn, Itype::Url, Itype::Email, Itype::Sha256] {
            assert_eq!(d.of(t), Duration::days(45));
        }
        let s: Lifetimes = "ip=7, hash=365,url=2".parse().unwrap();
        assert_eq!(s.of(Itype::Ipv6), Duration::days(7));
        assert_eq!(s.of(Itype::Md5), Duration::days(365));
        assert_eq!(s.of(Itype::Url), Duration::days(2));
        assert_eq!(s.of(Itype::Fqdn), Duration::days(45));
        assert_eq!(s.to_string().parse::<Lifetimes>().unwrap(), s);
        assert_eq!("*=3".parse::<Lifetimes>().unwrap(), Lifetimes::uniform(3));
        let feed: Overrides = "hash=1, ip=2".parse().unwrap();
        assert_eq!(
            feed.to_string(),
            "ipv4=2,ipv6=2,md5=1,sha1=1,sha256=1,sha512=1"
        );
        assert_eq!(feed.to_string().parse::<Overrides>().unwrap(), feed);
        let over = s.with(&feed);
        assert_eq!(
            (over.of(Itype::Ipv4), over.of(Itype::Url)),
            (Duration::days(2), Duration::days(2))
        );
        assert_eq!(over.of(Itype::Fqdn), Duration::days(45));
        assert!("".parse::<Overrides>().unwrap().is_empty());
        for bad in ["ipv4", "ipv4=0", "nope=3", "ipv4=x", "ipv4=99999999"] {
            assert!(bad.parse::<Lifetimes>().is_err(), "{bad}");
        }
    }

    #[test]
    fn scan_reports_live_a_week_and_settings_name_other_reports() {
        let d = ReportLifetimes::default();
        assert_eq!(d.of("scan_ssl"), Some(Duration::days(7)));
        assert_eq!(d.of("scan6_telnet"), Some(Duration::days(7)));
        assert_eq!(d.of("blocklist"), None);
        assert_eq!(d.of("unknown"), None);
        assert_eq!(
            DEFAULT_REPORT_LIFETIMES.parse::<ReportLifetimes>().unwrap(),
            d
        );
        let per_type = Lifetimes::default();
        assert_eq!(d.apply("scan_ssl", per_type), Lifetimes::uniform(7));
        assert_eq!(d.apply("blocklist", per_type), per_type);

        let s: ReportLifetimes = "blocklist=2, scan_ssl=30, SCAN6_*=type, *=60"
            .parse()
            .unwrap();
        assert_eq!(s.of("blocklist"), Some(Duration::days(2)));
        // The exact type wins over a prefix, the longer prefix over the shorter.
        assert_eq!(s.of("scan_ssl"), Some(Duration::days(30)));
        assert_eq!(s.of("scan_dns"), Some(Duration::days(7)));
        assert_eq!(s.of("scan6_dns"), None);
        assert_eq!(s.of("event4_sinkhole"), Some(Duration::days(60)));
        assert_eq!(s.to_string().parse::<ReportLifetimes>().unwrap(), s);
        assert_eq!("".parse::<ReportLifetimes>().unwrap(), d);
        for bad in [
            "scan_*",
            "scan_*=0",
            "scan_*=x",
            "scan ssl=3",
            "=3",
            "a-b=3",
            "scan_*=99999999",
        ] {
            assert!(bad.parse::<ReportLifetimes>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_resubmission_pushes_the_expiry_forward_never_back() {
        let (old, now) = (t("2026-12-01T00:00:00Z"), t("2026-12-20T00:00:00Z"));
        assert_eq!(merged_expiry(Some(old), None, now), Some(now));
        assert_eq!(merged_expiry(Some(now), None, old), Some(now));
        assert_eq!(merged_expiry(None, None, now), None);
        assert_eq!(merged_expiry(Some(now), Some(Some(old)), now), Some(old));
        assert_eq!(merged_expiry(Some(now), Some(None), now), None);
        assert_eq!(first_expiry(None, now), Some(now));
        assert_eq!(first_expiry(Some(Some(old)), now), Some(old));
        assert_eq!(first_expiry(Some(None), now), None);
    }

    #[test]
    fn confidence_is_cifs_scale() {
        assert_eq!(parse_confidence("7.5"), Ok(7.5));
        assert_eq!(parse_confidence("0"), Ok(0.0));
        assert_eq!(parse_confidence("10"), Ok(10.0));
        assert_eq!(parse_confidence("10.5").unwrap_err().code, "out_of_range");
        assert_eq!(parse_confidence("-1").unwrap_err().code, "out_of_range");
        assert_eq!(parse_confidence("NaN").unwrap_err().code, "out_of_range");
        assert_eq!(parse_confidence("high").unwrap_err().code, "invalid_format");
    }
}
