//! The query parameters that decide which rows a read shows, shared by feed pages, indicator
//! lists, searches, exports and exclusions: `expired=include` (live rows only by default),
//! `confidence=N` (at least N), `tlp=a,b` (those levels), `asn=N,M` (those autonomous
//! systems), `cc=de,fr` (those countries) and `provider=P` (exactly that provider). With the
//! TLP rule (AMBER and RED only for the owner and admins) they become a
//! `models::indicator::Shown`.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use crate::api::paging::{self, PageQuery};
use crate::api::query::QueryPairs;
use crate::domain::expiry::parse_confidence;
use crate::domain::tlp::{Tlp, TlpSet};
use crate::domain::viewer::Viewer;
use crate::error::ApiError;
use crate::models::feed::FeedRow;
use crate::models::indicator::{PageKey, PageOf, Shown};

/// The parameters [`RowFilters::read`] reads; list them among a route's allowed ones.
pub const PARAMS: [&str; 6] = ["expired", "confidence", "tlp", "asn", "cc", "provider"];

/// A route's own parameters and the row filters' ([`PARAMS`]): what it allows.
pub fn allowed(own: &[&'static str]) -> Vec<&'static str> {
    own.iter().chain(PARAMS.iter()).copied().collect()
}

/// At most this many values in an `asn` or `cc` list.
pub const MAX_LISTED: usize = 20;

/// What a request asks to see.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowFilters {
    /// `expired=include`: expired rows too.
    pub include_expired: bool,
    pub min_confidence: Option<f64>,
    pub tlps: Option<TlpSet>,
    /// `asn=`: autonomous system numbers (empty: any).
    pub asns: Vec<i64>,
    /// `cc=`: two-letter country codes, upper-case as stored (empty: any).
    pub ccs: Vec<String>,
    /// `provider=`: the provider exactly as stored.
    pub provider: Option<String>,
}

/// The values of a comma list, trimmed, empty ones skipped; 422 when none or too many.
fn listed<'a>(name: &'static str, raw: &'a str) -> Result<Vec<&'a str>, ApiError> {
    let values: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if values.is_empty() {
        return Err(ApiError::invalid(name, "blank", "must not be blank"));
    }
    if values.len() > MAX_LISTED {
        return Err(ApiError::invalid(
            name,
            "too_many",
            format!("must list at most {MAX_LISTED} values"),
        ));
    }
    Ok(values)
}

/// `asn=`: one autonomous system number or a comma list (`AS` prefixes allowed), 1..=4294967295.
fn read_asns(raw: &str) -> Result<Vec<i64>, ApiError> {
    listed("asn", raw)?
        .into_iter()
        .map(|v| {
            let digits = match v.get(..2) {
                Some(p) if p.eq_ignore_ascii_case("as") => &v[2..],
                _ => v,
            };
            digits
                .parse::<u32>()
                .ok()
                .filter(|n| *n != 0 && digits.bytes().all(|b| b.is_ascii_digit()))
                .map(i64::from)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "asn",
                        "invalid_format",
                        format!("{v:?} is not an autonomous system number (1 to 4294967295)"),
                    )
                })
        })
        .collect()
}

/// `cc=`: ISO 3166 two-letter country codes in any case, a comma list.
fn read_ccs(raw: &str) -> Result<Vec<String>, ApiError> {
    listed("cc", raw)?
        .into_iter()
        .map(|v| {
            (v.len() == 2 && v.bytes().all(|b| b.is_ascii_alphabetic()))
                .then(|| v.to_ascii_uppercase())
                .ok_or_else(|| {
                    ApiError::invalid(
                        "cc",
                        "invalid_format",
                        format!("{v:?} is not a two-letter country code"),
                    )
                })
        })
        .collect()
}

/// `provider=`: one provider, compared exactly (as stored: trimmed, at most 255 characters).
fn read_provider(raw: &str) -> Result<String, ApiError> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(ApiError::invalid("provider", "blank", "must not be blank"));
    }
    if v.chars().count() > 255 || v.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "provider",
            "invalid_format",
            "must be at most 255 characters without control characters",
        ));
    }
    Ok(v.to_string())
}

impl RowFilters {
    /// Reads `expired`, `confidence`, `tlp`, `asn`, `cc` and `provider`; a bad value is a 422
    /// naming the parameter.
    pub fn read(params: &BTreeMap<&'static str, String>) -> Result<Self, ApiError> {
        let include_expired = match params.get("expired").map(|s| s.trim()) {
            None | Some("exclude") => false,
            Some("include") => true,
            Some(_) => {
                return Err(ApiError::invalid(
                    "expired",
                    "invalid_format",
                    "must be include or exclude",
                ));
            }
        };
        let min_confidence = params
            .get("confidence")
            .map(|raw| parse_confidence(raw))
            .transpose()
            .map_err(|e| ApiError::invalid("confidence", e.code, e.message))?;
        let tlps = params
            .get("tlp")
            .map(|raw| TlpSet::parse(raw))
            .transpose()
            .map_err(|e| ApiError::invalid("tlp", e.code, e.message))?;
        let asns = params
            .get("asn")
            .map(|raw| read_asns(raw))
            .transpose()?
            .unwrap_or_default();
        let ccs = params
            .get("cc")
            .map(|raw| read_ccs(raw))
            .transpose()?
            .unwrap_or_default();
        let provider = params
            .get("provider")
            .map(|raw| read_provider(raw))
            .transpose()?;
        Ok(RowFilters {
            include_expired,
            min_confidence,
            tlps,
            asns,
            ccs,
            provider,
        })
    }

    /// The rows shown at `now` to a reader who does (`restricted`) or does not read AMBER
    /// and RED indicators.
    pub fn shown(&self, now: NaiveDateTime, restricted: bool) -> Shown {
        let tlps = if restricted {
            self.tlps
        } else {
            Some(self.tlps.map_or(TlpSet::OPEN, |s| s.and(TlpSet::OPEN)))
        };
        Shown {
            live_at: (!self.include_expired).then_some(now),
            tlps,
            min_confidence: self.min_confidence,
            asns: self.asns.clone(),
            ccs: self.ccs.clone(),
            provider: self.provider.clone(),
        }
    }
}

/// A request for a page of one feed's indicators (the feed page and the indicator list):
/// its paging, where it starts, and which rows it shows.
pub struct FeedPageRequest {
    pub page: PageQuery<PageKey>,
    pub window: Window,
    pub filters: RowFilters,
}

impl FeedPageRequest {
    /// Reads `limit`, `lasttime`, `cursor` and the row filters; `now` resolves `lasttime`.
    pub fn read(query: &QueryPairs, anonymous: bool, now: NaiveDateTime) -> Result<Self, ApiError> {
        Self::read_with(query, &[], anonymous, now)
    }

    /// [`FeedPageRequest::read`] for a route that also takes the parameters `extra` (left in
    /// `page.params` for it to read).
    pub fn read_with(
        query: &QueryPairs,
        extra: &[&'static str],
        anonymous: bool,
        now: NaiveDateTime,
    ) -> Result<Self, ApiError> {
        let mut own = vec!["limit", "lasttime", "cursor"];
        own.extend_from_slice(extra);
        let page =
            PageQuery::<PageKey>::read(query, &allowed(&own), paging::INDICATOR_PAGES, anonymous)?;
        let window = Window {
            since: paging::lasttime(page.params.get("lasttime"), now)?,
            after: page.after,
            limit: page.limit,
        };
        let filters = RowFilters::read(&page.params)?;
        Ok(FeedPageRequest {
            page,
            window,
            filters,
        })
    }
}

/// Where a read of one feed starts and how much it takes.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub since: Option<NaiveDateTime>,
    pub after: Option<PageKey>,
    pub limit: i64,
}

impl RowFilters {
    /// The page of `feed` in `window` as `viewer` reads it at `now`.
    pub fn page_of(
        &self,
        feed: &FeedRow,
        viewer: Viewer,
        now: NaiveDateTime,
        window: Window,
    ) -> PageOf {
        PageOf {
            feed_id: feed.id,
            since: window.since,
            after: window.after,
            limit: window.limit,
            shown: self.shown(now, viewer.reads_restricted_of(feed.user_id)),
            default_tlp: Tlp::feed_default(feed.private),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&'static str, &str)]) -> Result<RowFilters, ApiError> {
        RowFilters::read(&pairs.iter().map(|(k, v)| (*k, v.to_string())).collect())
    }

    #[test]
    fn the_tlp_rule_narrows_what_a_reader_asked_for() {
        let now = NaiveDateTime::default();
        let f = read(&[("tlp", "green,red")]).unwrap();
        assert_eq!(f.shown(now, true).tlps.unwrap().names(), ["green", "red"]);
        assert_eq!(f.shown(now, false).tlps.unwrap().names(), ["green"]);
        let plain = read(&[]).unwrap();
        assert_eq!(plain.shown(now, true).tlps, None);
        assert_eq!(plain.shown(now, false).tlps, Some(TlpSet::OPEN));
        assert_eq!(plain.shown(now, true).live_at, Some(now));
        let all = read(&[("expired", "include"), ("confidence", "7.5")]).unwrap();
        assert_eq!(all.shown(now, true).live_at, None);
        assert_eq!(all.shown(now, true).min_confidence, Some(7.5));
    }

    #[test]
    fn asn_cc_and_provider_read_as_stored() {
        let f = read(&[
            ("asn", "AS64500, 3320"),
            ("cc", "de,Fr"),
            ("provider", " x y "),
        ])
        .unwrap();
        assert_eq!(f.asns, [64500, 3320]);
        assert_eq!(f.ccs, ["DE", "FR"]);
        assert_eq!(f.provider.as_deref(), Some("x y"));
        let shown = f.shown(NaiveDateTime::default(), false);
        assert_eq!(shown.asns, [64500, 3320]);
        assert!(shown.filters_rows());
    }

    #[test]
    fn bad_values_are_422_naming_the_parameter() {
        let many = (1..=21)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",");
        for (name, value) in [
            ("expired", "yes"),
            ("confidence", "11"),
            ("tlp", "blue"),
            ("asn", "x"),
            ("asn", "0"),
            ("asn", "-3"),
            ("asn", "4294967296"),
            ("asn", ","),
            ("asn", many.as_str()),
            ("cc", "deu"),
            ("cc", "d1"),
            ("cc", ""),
            ("provider", " "),
        ] {
            match read(&[(name, value)]) {
                Err(ApiError::Invalid(errors)) => assert_eq!(errors[0].field, name),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }
}
