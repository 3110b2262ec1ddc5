//! The gateway's memory of request counts: unlimited users' requests not yet added to the
//! database, and limited subjects' leases (requests counted in the database, not served yet).
//! `flush` and `release` write what it holds, each in one transaction.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDate;

use super::lease_size;
use crate::db::{self, DbConnection};
use crate::models::daily;

/// Requests counted in the database but not served yet (a lease), for one subject and day.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lease {
    /// The limit the lease was taken under; another limit (an admin changed it) drops it.
    pub(super) limit: i64,
    /// The day's count in the database right after the lease was written.
    pub(super) counted: i64,
    /// Requests of the lease not served yet.
    pub(super) left: i64,
    /// A renewal of this lease is under way (`renew`): no other request starts one.
    pub(super) renewing: bool,
    /// The lowest `X-Ratelimit-Remaining` shown for this subject and day: answers never
    /// show more, even when a renewal or a racing lease would compute a higher figure.
    pub(super) shown: i64,
}

/// In-memory request accounting: unlimited users' requests not yet added to the database, and
/// limited subjects' leases, by subject and day.
#[derive(Debug, Default)]
pub struct Pending {
    unlimited: Mutex<HashMap<(String, NaiveDate), i64>>,
    leases: Mutex<HashMap<(String, NaiveDate), Lease>>,
}

impl Pending {
    pub(super) fn add(&self, subject: &str, day: NaiveDate) {
        if let Ok(mut map) = self.unlimited.lock() {
            *map.entry((subject.to_string(), day)).or_insert(0) += 1;
        }
    }

    /// Serves one request from the subject's lease, if it holds one under this limit; returns
    /// the requests left for the day as far as this gateway knows.
    pub(super) fn serve_from_lease(
        &self,
        subject: &str,
        day: NaiveDate,
        limit: i64,
    ) -> Option<i64> {
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
    pub(super) fn renewed(&self, subject: &str, day: NaiveDate) {
        if let Ok(mut map) = self.leases.lock()
            && let Some(lease) = map.get_mut(&(subject.to_string(), day))
        {
            lease.renewing = false;
        }
    }

    /// The day's count this gateway last saw for the subject (to size the next lease).
    pub(super) fn last_counted(&self, subject: &str, day: NaiveDate) -> Option<i64> {
        let map = self.leases.lock().ok()?;
        map.get(&(subject.to_string(), day)).map(|l| l.counted)
    }

    /// Records a new lease. Requests of one subject racing past an empty lease each write
    /// one: they are merged, so none of their requests is lost (the later count in the
    /// database includes both). Returns what to show as remaining for a request served by
    /// this lease's statement: `remaining`, or less if less was shown before.
    pub(super) fn keep_lease(
        &self,
        subject: &str,
        day: NaiveDate,
        lease: Lease,
        remaining: i64,
    ) -> i64 {
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
