//! The daily request limit (spec §4.1–4.2): a fixed UTC day per user (or anonymous address),
//! counted in the database so every gateway shares it.
//!
//! A limited subject's requests are counted by one atomic conditional upsert. Far from the
//! limit, a gateway counts a block of requests at once (a *lease*, at most 1 % of what is
//! left and at most [`MAX_LEASE`]) and admits the next ones from it without a statement,
//! renewing it in the background when half of it is left (so a gateway holds at most one and
//! a half leases); within 100 requests of the limit every request is counted on its own, so
//! gateways sharing a database still admit exactly the limit. A lease is always written
//! before it is used: a gateway that dies with part of a lease unused has counted requests it
//! never served (failing closed: at most 1.5 % of what was left), and one that stops cleanly
//! gives the rest back.
//! An unlimited user's requests are summed in memory and added to the day's row every few
//! seconds and at shutdown, so they cost no write at all.
//!
//! Each count goes through the one write path, a short transaction of its own (`db::write_tx`)
//! on the connection the caller holds: a lease is served only once its transaction committed,
//! and a flush writes all its counts or none.

mod pending;
#[cfg(test)]
mod tests;

pub use pending::Pending;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use chrono::NaiveDateTime;

use crate::db::{self, DbConnection};
use crate::domain::limit::Limit;
use crate::models::daily;
use pending::Lease;

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

/// The most requests counted by one statement. Each renewal is a write transaction on the
/// one SQLite writer (and a few pages more in the WAL that reads consult), so leases are
/// large enough that a limited user's requests cost no more than an unlimited user's
/// (measured in `bench/README.md`).
pub const MAX_LEASE: i64 = 1000;

/// Charges one request of `subject` against `limit` at `now` when that needs no statement:
/// an unlimited subject, a zero limit, or a request served from this gateway's lease.
pub fn charge_in_memory(
    subject: &str,
    limit: Limit,
    now: NaiveDateTime,
    pending: &Pending,
) -> Option<Admission> {
    let reset = next_midnight(now).and_utc().timestamp();
    let day = now.date();
    match limit.0 {
        None => {
            pending.add(subject, day);
            Some(Admission::Admitted(None))
        }
        // The insert arm would admit one: a zero limit refuses without a statement.
        Some(0) => Some(Admission::Refused(DailyState {
            limit: 0,
            remaining: 0,
            reset,
        })),
        Some(n) => pending.serve_from_lease(subject, day, n).map(|remaining| {
            Admission::Admitted(Some(DailyState {
                limit: n,
                remaining: remaining.max(0),
                reset,
            }))
        }),
    }
}

/// The size of the next lease: 1 % of what is left of the limit after `counted`, at least one
/// and at most [`MAX_LEASE`].
fn lease_size(limit: i64, counted: i64) -> i64 {
    ((limit - counted) / 100).clamp(1, MAX_LEASE)
}

/// Renews the subject's lease ahead of need ([`Pending::renewal_due`] said so): counts a new
/// lease in the database and adds it to the one being served. Nothing is admitted here; a
/// failed or refused renewal only means the requests after the lease's end are counted as
/// before, one statement for whoever finds it empty.
pub fn renew(
    c: &mut DbConnection,
    subject: &str,
    limit: i64,
    now: NaiveDateTime,
    pending: &Pending,
) -> diesel::QueryResult<()> {
    let day = now.date();
    let result = (|| {
        let Some(counted) = pending.last_counted(subject, day) else {
            return Ok(());
        };
        let block = lease_size(limit, counted);
        let counted = db::write_tx(c, |tx| {
            daily::count_within_limit(tx, subject, day, limit, block)
        })?;
        if let Some(counted) = counted {
            pending.keep_lease(
                subject,
                day,
                Lease {
                    limit,
                    counted,
                    left: block,
                    renewing: false,
                    shown: i64::MAX,
                },
                i64::MAX,
            );
        }
        Ok(())
    })();
    pending.renewed(subject, day);
    result
}

/// Charges one request of `subject` against `limit` at `now`.
pub fn charge(
    c: &mut DbConnection,
    subject: &str,
    limit: Limit,
    now: NaiveDateTime,
    pending: &Pending,
) -> diesel::QueryResult<Admission> {
    if let Some(admission) = charge_in_memory(subject, limit, now, pending) {
        return Ok(admission);
    }
    // Unlimited subjects and zero limits were decided in memory.
    let Some(n) = limit.0 else {
        return Ok(Admission::Admitted(None));
    };
    let reset = next_midnight(now).and_utc().timestamp();
    let day = now.date();
    let state = |remaining: i64| DailyState {
        limit: n,
        remaining: remaining.max(0),
        reset,
    };
    // The first request of a subject is counted alone (nothing is known of the count);
    // later ones lease 1 % of what is left, exactly one within 100 of the limit.
    let block = pending
        .last_counted(subject, day)
        .map_or(1, |counted| lease_size(n, counted));
    // A lease is used only once its transaction committed.
    let (counted, taken) = db::write_tx(c, |tx| {
        let counted = daily::count_within_limit(tx, subject, day, n, block)?;
        if counted.is_none() && block > 1 {
            return Ok((daily::count_within_limit(tx, subject, day, n, 1)?, 1));
        }
        Ok::<_, diesel::result::Error>((counted, block))
    })?;
    Ok(match counted {
        Some(counted) => {
            let shown = pending.keep_lease(
                subject,
                day,
                Lease {
                    limit: n,
                    counted,
                    left: taken - 1,
                    renewing: false,
                    shown: i64::MAX,
                },
                n - (counted - (taken - 1)),
            );
            Admission::Admitted(Some(state(shown)))
        }
        None => Admission::Refused(state(0)),
    })
}
