//! The daily request limit (spec §4.1–4.2): a fixed UTC day per user (or anonymous address),
//! counted in the database so every gateway shares it. A limited subject costs one atomic
//! upsert per request; an unlimited user's requests are summed in memory and added to the
//! day's row every few seconds and at shutdown, so they cost no write at all.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use chrono::{NaiveDate, NaiveDateTime};

use crate::db::DbConnection;
use crate::domain::limit::Limit;
use crate::models::daily;

/// What the `X-Ratelimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyState {
    pub limit: i64,
    pub remaining: i64,
    /// Unix seconds of the next UTC midnight.
    pub reset: i64,
}

impl DailyState {
    /// Seconds until the counter restarts (at least 1), for `Retry-After`.
    pub fn retry_after(&self, now: NaiveDateTime) -> i64 {
        (self.reset - now.and_utc().timestamp()).max(1)
    }

    /// Writes the four headers.
    pub fn write(&self, headers: &mut HeaderMap) {
        let put = |h: &mut HeaderMap, name: &'static str, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(HeaderName::from_static(name), v);
            }
        };
        put(headers, "x-ratelimit-limit", self.limit.to_string());
        put(headers, "x-ratelimit-remaining", self.remaining.to_string());
        headers.insert(
            HeaderName::from_static("x-ratelimit-period"),
            HeaderValue::from_static("day"),
        );
        put(headers, "x-ratelimit-reset", self.reset.to_string());
    }
}

/// The start of the next UTC day.
pub fn next_midnight(now: NaiveDateTime) -> NaiveDateTime {
    (now.date() + chrono::Duration::days(1)).and_time(chrono::NaiveTime::MIN)
}

/// The outcome of charging one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Counted; the headers to show (`None` for unlimited subjects, which get none).
    Admitted(Option<DailyState>),
    /// The day's limit is spent; nothing was counted.
    Refused(DailyState),
}

/// Requests of unlimited users not yet added to the database, by subject and day.
#[derive(Debug, Default)]
pub struct Pending(Mutex<HashMap<(String, NaiveDate), i64>>);

impl Pending {
    fn add(&self, subject: &str, day: NaiveDate) {
        if let Ok(mut map) = self.0.lock() {
            *map.entry((subject.to_string(), day)).or_insert(0) += 1;
        }
    }

    /// Adds every pending count to the database; counts that fail to write are kept for the next flush.
    pub fn flush(&self, c: &mut DbConnection) -> diesel::QueryResult<()> {
        let drained: Vec<((String, NaiveDate), i64)> = match self.0.lock() {
            Ok(mut map) => map.drain().collect(),
            Err(_) => return Ok(()),
        };
        let mut result = Ok(());
        for ((subject, day), n) in drained {
            if let Err(e) = daily::add(c, &subject, day, n) {
                if let Ok(mut map) = self.0.lock() {
                    *map.entry((subject, day)).or_insert(0) += n;
                }
                result = Err(e);
            }
        }
        result
    }
}

/// Charges one request of `subject` against `limit` at `now`.
pub fn charge(
    c: &mut DbConnection,
    subject: &str,
    limit: Limit,
    now: NaiveDateTime,
    pending: &Pending,
) -> diesel::QueryResult<Admission> {
    let reset = next_midnight(now).and_utc().timestamp();
    let day = now.date();
    match limit.0 {
        None => {
            pending.add(subject, day);
            Ok(Admission::Admitted(None))
        }
        // The insert arm would admit one: a zero limit refuses without a statement.
        Some(0) => Ok(Admission::Refused(DailyState {
            limit: 0,
            remaining: 0,
            reset,
        })),
        Some(n) => Ok(match daily::charge(c, subject, day, n)? {
            Some(used) => Admission::Admitted(Some(DailyState {
                limit: n,
                remaining: (n - used).max(0),
                reset,
            })),
            None => Admission::Refused(DailyState {
                limit: n,
                remaining: 0,
                reset,
            }),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_ends_at_utc_midnight() {
        let now =
            NaiveDateTime::parse_from_str("2026-11-20 07:55:12", "%Y-%m-%d %H:%M:%S").unwrap();
        let next = next_midnight(now);
        assert_eq!(next.to_string(), "2026-11-21 00:00:00");
        let state = DailyState {
            limit: 5000,
            remaining: 0,
            reset: next.and_utc().timestamp(),
        };
        assert_eq!(state.retry_after(now), 16 * 3600 + 4 * 60 + 48);
        let mut headers = HeaderMap::new();
        state.write(&mut headers);
        assert_eq!(headers.get("x-ratelimit-limit").unwrap(), "5000");
        assert_eq!(headers.get("x-ratelimit-period").unwrap(), "day");
        assert_eq!(
            headers.get("x-ratelimit-reset").unwrap(),
            &next.and_utc().timestamp().to_string()
        );
    }
}
