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

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use chrono::{NaiveDate, NaiveDateTime};

use crate::db::{self, DbConnection};
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

/// The most requests counted by one statement. Each renewal is a write transaction on the
/// one SQLite writer (and a few pages more in the WAL that reads consult), so leases are
/// large enough that a limited user's requests cost no more than an unlimited user's
/// (measured in `bench/README.md`).
pub const MAX_LEASE: i64 = 1000;

/// Requests counted in the database but not served yet (a lease), for one subject and day.
#[derive(Debug, Clone, Copy)]
struct Lease {
    /// The limit the lease was taken under; another limit (an admin changed it) drops it.
    limit: i64,
    /// The day's count in the database right after the lease was written.
    counted: i64,
    /// Requests of the lease not served yet.
    left: i64,
    /// A renewal of this lease is under way (`renew`): no other request starts one.
    renewing: bool,
    /// The lowest `X-Ratelimit-Remaining` shown for this subject and day: answers never
    /// show more, even when a renewal or a racing lease would compute a higher figure.
    shown: i64,
}

/// In-memory request accounting: unlimited users' requests not yet added to the database, and
/// limited subjects' leases, by subject and day.
#[derive(Debug, Default)]
pub struct Pending {
    unlimited: Mutex<HashMap<(String, NaiveDate), i64>>,
    leases: Mutex<HashMap<(String, NaiveDate), Lease>>,
}

impl Pending {
    fn add(&self, subject: &str, day: NaiveDate) {
        if let Ok(mut map) = self.unlimited.lock() {
            *map.entry((subject.to_string(), day)).or_insert(0) += 1;
        }
    }

    /// Serves one request from the subject's lease, if it holds one under this limit; returns
    /// the requests left for the day as far as this gateway knows.
    fn serve_from_lease(&self, subject: &str, day: NaiveDate, limit: i64) -> Option<i64> {
        let mut map = self.leases.lock().ok()?;
        let key = (subject.to_string(), day);
        let lease = map.get_mut(&key)?;
        if lease.limit != limit {
            map.remove(&key);
            return None;
        }
        if lease.left == 0 {
            return None;
        }
        lease.left -= 1;
        let remaining = (limit - (lease.counted - lease.left)).min(lease.shown);
        lease.shown = remaining;
        Some(remaining)
    }

    /// Whether the subject's lease is running low and nobody renews it yet; if so, the caller
    /// is now the one that renews it (`renew`, in the background). Far from the limit a lease
    /// is renewed when half of it is left, so the requests that follow keep being served
    /// from memory: renewing only once it was empty would send every request that arrives
    /// during the renewal's write to the database as well.
    /// Within 100 of the limit leases are single requests and nothing is renewed ahead.
    pub fn renewal_due(&self, subject: &str, day: NaiveDate) -> bool {
        let Ok(mut map) = self.leases.lock() else {
            return false;
        };
        let Some(lease) = map.get_mut(&(subject.to_string(), day)) else {
            return false;
        };
        let size = lease_size(lease.limit, lease.counted);
        if lease.renewing || size <= 1 || lease.left > size / 2 {
            return false;
        }
        lease.renewing = true;
        true
    }

    /// Ends a renewal, whatever its outcome.
    fn renewed(&self, subject: &str, day: NaiveDate) {
        if let Ok(mut map) = self.leases.lock()
            && let Some(lease) = map.get_mut(&(subject.to_string(), day))
        {
            lease.renewing = false;
        }
    }

    /// The day's count this gateway last saw for the subject (to size the next lease).
    fn last_counted(&self, subject: &str, day: NaiveDate) -> Option<i64> {
        let map = self.leases.lock().ok()?;
        map.get(&(subject.to_string(), day)).map(|l| l.counted)
    }

    /// Records a new lease. Requests of one subject racing past an empty lease each write
    /// one: they are merged, so none of their requests is lost (the later count in the
    /// database includes both). Returns what to show as remaining for a request served by
    /// this lease's statement: `remaining`, or less if less was shown before.
    fn keep_lease(&self, subject: &str, day: NaiveDate, lease: Lease, remaining: i64) -> i64 {
        let Ok(mut map) = self.leases.lock() else {
            return remaining;
        };
        let slot = map
            .entry((subject.to_string(), day))
            .or_insert(Lease { left: 0, ..lease });
        // A renewal under way stays marked until it ends (`renewed`).
        let renewing = slot.renewing;
        if slot.limit == lease.limit {
            slot.left += lease.left;
            slot.counted = slot.counted.max(lease.counted);
        } else {
            *slot = Lease { renewing, ..lease };
        }
        slot.shown = slot.shown.min(remaining);
        slot.shown
    }

    /// Gives the unused part of today's leases back (clean shutdown), in one transaction.
    pub fn release(&self, c: &mut DbConnection, today: NaiveDate) -> diesel::QueryResult<()> {
        let unused: Vec<(String, i64)> = match self.leases.lock() {
            Ok(mut map) => map
                .drain()
                .filter(|((_, day), lease)| *day == today && lease.left > 0)
                .map(|((subject, _), lease)| (subject, lease.left))
                .collect(),
            Err(_) => return Ok(()),
        };
        if unused.is_empty() {
            return Ok(());
        }
        db::write_tx(c, |tx| {
            for (subject, left) in &unused {
                daily::add(tx, subject, today, -left)?;
            }
            Ok(())
        })
    }

    /// Adds every pending count to the database in one transaction; when it fails, the counts
    /// are kept for the next flush.
    pub fn flush(&self, c: &mut DbConnection) -> diesel::QueryResult<()> {
        // Leases of past days are worthless (their requests stay counted, failing closed).
        if let Ok(mut map) = self.leases.lock()
            && let Some(latest) = map.keys().map(|(_, d)| *d).max()
        {
            map.retain(|(_, d), _| *d == latest);
        }
        let drained: Vec<((String, NaiveDate), i64)> = match self.unlimited.lock() {
            Ok(mut map) => map.drain().collect(),
            Err(_) => return Ok(()),
        };
        if drained.is_empty() {
            return Ok(());
        }
        let written = db::write_tx(c, |tx| {
            for ((subject, day), n) in &drained {
                daily::add(tx, subject, *day, *n)?;
            }
            Ok(())
        });
        if written.is_err()
            && let Ok(mut map) = self.unlimited.lock()
        {
            // The transaction was rolled back: every count waits for the next flush.
            for (key, n) in drained {
                *map.entry(key).or_insert(0) += n;
            }
        }
        written
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn racing_leases_are_merged_and_served_to_their_last_request() {
        let p = Pending::default();
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let lease = |counted, left| Lease {
            limit: 1000,
            counted,
            left,
            renewing: false,
            shown: i64::MAX,
        };
        // Two requests found the lease empty and each counted 10 (the count went 100 → 120);
        // each served itself from its lease.
        p.keep_lease("u:1", day, lease(110, 9), i64::MAX);
        p.keep_lease("u:1", day, lease(120, 9), i64::MAX);
        for i in 0..18 {
            assert_eq!(
                p.serve_from_lease("u:1", day, 1000),
                Some(1000 - (120 - (17 - i)))
            );
        }
        assert_eq!(p.serve_from_lease("u:1", day, 1000), None);
        // A lease taken under another limit (an admin changed it) is dropped.
        p.keep_lease("u:1", day, lease(130, 5), i64::MAX);
        assert_eq!(p.serve_from_lease("u:1", day, 500), None);
        assert_eq!(p.serve_from_lease("u:1", day, 1000), None);
    }

    #[test]
    fn a_lease_at_half_is_renewed_by_one_request_at_a_time() {
        let p = Pending::default();
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let limit = 1_000_000_000;
        let size = lease_size(limit, 0);
        assert_eq!(size, MAX_LEASE);
        // The first request was counted alone, the second took a lease and served itself.
        let lease = |counted, left| Lease {
            limit,
            counted,
            left,
            renewing: false,
            shown: i64::MAX,
        };
        p.keep_lease("u:1", day, lease(1 + size, size - 1), i64::MAX);
        // Nothing to renew while more than half is left.
        assert!(!p.renewal_due("u:1", day));
        let mut served = 2;
        while !p.renewal_due("u:1", day) {
            served += 1;
            assert_eq!(p.serve_from_lease("u:1", day, limit), Some(limit - served));
        }
        assert_eq!(1 + size - served, size / 2);
        // One renewal at a time; another may start once it ended.
        assert!(!p.renewal_due("u:1", day));
        p.renewed("u:1", day);
        assert!(p.renewal_due("u:1", day));
        // A renewal's lease is added to what is left: the count goes on without a gap.
        p.keep_lease("u:1", day, lease(1 + 2 * size, size), i64::MAX);
        for _ in 0..size {
            served += 1;
            assert_eq!(p.serve_from_lease("u:1", day, limit), Some(limit - served));
        }
        // A subject within 100 of its limit counts every request alone: no lease ahead.
        p.keep_lease(
            "u:2",
            day,
            Lease {
                limit: 150,
                counted: 60,
                left: 0,
                renewing: false,
                shown: i64::MAX,
            },
            i64::MAX,
        );
        assert!(!p.renewal_due("u:2", day));
    }

    #[test]
    fn the_remaining_count_shown_never_rises() {
        let p = Pending::default();
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let lease = Lease {
            limit: 1000,
            counted: 100,
            left: 10,
            renewing: false,
            shown: i64::MAX,
        };
        // A statement counted up to 100 but a racing request already showed 880 left: the
        // lease's own figure (1000 - 91 = 909) is never shown after that.
        assert_eq!(p.keep_lease("u:1", day, lease, 880), 880);
        assert_eq!(p.serve_from_lease("u:1", day, 1000), Some(880));
        let mut last = 880;
        while let Some(r) = p.serve_from_lease("u:1", day, 1000) {
            assert!(r <= last);
            last = r;
        }
    }

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
