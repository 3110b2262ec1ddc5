//! The query parameters that decide which rows a read shows, shared by feed pages, indicator
//! lists, searches, exports and exclusions: `expired=include` (live rows only by default),
//! `confidence=N` (at least N) and `tlp=a,b` (those levels). With the TLP rule (AMBER and RED
//! only for the owner and admins) they become a `models::indicator::Shown`.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use crate::domain::expiry::parse_confidence;
use crate::domain::tlp::{Tlp, TlpSet};
use crate::domain::viewer::Viewer;
use crate::error::ApiError;
use crate::models::feed::FeedRow;
use crate::models::indicator::{PageKey, PageOf, Shown};

/// The parameters [`RowFilters::read`] reads; list them among a route's allowed ones.
pub const PARAMS: [&str; 3] = ["expired", "confidence", "tlp"];

/// What a request asks to see.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RowFilters {
    /// `expired=include`: expired rows too.
    pub include_expired: bool,
    pub min_confidence: Option<f64>,
    pub tlps: Option<TlpSet>,
}

impl RowFilters {
    /// Reads `expired`, `confidence` and `tlp`; a bad value is a 422 naming the parameter.
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
        Ok(RowFilters {
            include_expired,
            min_confidence,
            tlps,
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
        }
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
    fn bad_values_are_422_naming_the_parameter() {
        for (name, value) in [("expired", "yes"), ("confidence", "11"), ("tlp", "blue")] {
            match read(&[(name, value)]) {
                Err(ApiError::Invalid(errors)) => assert_eq!(errors[0].field, name),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }
}
