//! When an indicator stops being served: the default lifetime of each indicator type (a server
//! setting, CIF's look-back windows by default), the expiry a first submission gets and the one
//! a re-submission leaves, and the confidence scale indicators carry beside it.

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
        let mut out = Overrides::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || {
                DomainError::new(
                    "invalid_format",
                    format!(
                        "`{part}`: expected TYPE=DAYS (TYPE an itype, `ip`, `hash` or `*`; DAYS 1 to {MAX_DAYS})"
                    ),
                )
            };
            let (name, days) = part.split_once('=').ok_or_else(bad)?;
            let days: i64 = days.trim().parse().map_err(|_| bad())?;
            if !(1..=MAX_DAYS).contains(&days) {
                return Err(bad());
            }
            let types: Vec<Itype> = match name.trim() {
                "*" => Itype::ALL.to_vec(),
                "ip" => vec![Itype::Ipv4, Itype::Ipv6],
                "hash" => vec![Itype::Md5, Itype::Sha1, Itype::Sha256, Itype::Sha512],
                other => vec![Itype::parse_name(other).ok_or_else(bad)?],
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
