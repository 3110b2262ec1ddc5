//! The background purge (issue 19): indicators expired for longer than the grace period
//! (`--purge-grace-days`) are deleted, with their comments and attachments, and their owners'
//! quota and their feeds' counts given back.
//!
//! Time is cut into cycles of `--purge-interval-secs` (aligned on the Unix epoch), and each
//! cycle is purged once however many gateways share the database: a gateway first claims the
//! cycle in `server_meta` (`models::meta::claim_cycle`, a compare-and-set in its own write
//! transaction) and only the one that claimed it deletes. It then deletes in batches of
//! `--purge-batch-rows`, one write transaction each (`models::purge::delete_expired`, the
//! counters given back in the same transaction), so a huge purge never holds the write lock
//! long and other writers go between its batches. A gateway that stops half-way leaves the rest
//! to the next cycle's claimant. Each gateway runs [`run_cycle`] every interval from its start
//! (`startup`); `POST /api/admin/purge` runs it at once. The same cycle deletes the change
//! log's changes older than `--changes-retention-days`.

use chrono::{DateTime, Duration, NaiveDateTime};
use diesel::QueryResult;

use crate::config::Settings;
use crate::db::{Db, RunError, WriteTx};
use crate::limits::quota;
use crate::metrics::Metrics;
use crate::models::{change, feed, meta, purge};

/// The purge's settings.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// How long an expired indicator is kept.
    pub grace: Duration,
    /// The length of a cycle, in seconds (at least 1).
    pub interval_secs: i64,
    /// Rows per batch and transaction (at least 1).
    pub batch_rows: i64,
    /// How long the change log keeps a change (`--changes-retention-days`).
    pub retention: Duration,
}

impl Plan {
    /// The plan the settings give.
    pub fn from_settings(settings: &Settings) -> Plan {
        Plan {
            grace: Duration::days(i64::from(settings.purge_grace_days)),
            interval_secs: i64::try_from(settings.purge_interval_secs)
                .unwrap_or(i64::MAX)
                .max(1),
            batch_rows: i64::from(settings.purge_batch_rows).max(1),
            retention: Duration::days(i64::from(settings.changes_retention_days)),
        }
    }

    /// The wait between two runs of this gateway.
    pub fn period(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::try_from(self.interval_secs).unwrap_or(1))
    }

    /// The start of the cycle `now` falls in, in Unix seconds.
    pub fn cycle_start(&self, now: NaiveDateTime) -> i64 {
        let secs = now.and_utc().timestamp();
        secs - secs.rem_euclid(self.interval_secs)
    }
}

/// What one call of [`run_cycle`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleOutcome {
    /// Whether this gateway claimed the cycle (`false`: another run already had it).
    pub claimed: bool,
    /// Indicators deleted.
    pub purged: u64,
    /// The start of the cycle.
    pub cycle_start: NaiveDateTime,
    /// Indicators that expired before this were deleted.
    pub cutoff: NaiveDateTime,
    /// Changes deleted from the change log (made before now − the retention).
    pub changes_pruned: u64,
}

/// Runs the purge of the cycle `now` falls in, unless a gateway already claimed it: the
/// claim, then one write transaction per batch until a batch finds fewer rows than its size.
/// Counts what it deleted in `metrics` batch by batch, as each commits.
pub async fn run_cycle(
    db: &Db,
    metrics: &Metrics,
    plan: Plan,
    now: NaiveDateTime,
) -> Result<CycleOutcome, RunError> {
    let start = plan.cycle_start(now);
    let mut outcome = CycleOutcome {
        claimed: false,
        purged: 0,
        cycle_start: DateTime::from_timestamp(start, 0).map_or(now, |t| t.naive_utc()),
        cutoff: now - plan.grace,
        changes_pruned: 0,
    };
    outcome.claimed = db
        .write(move |c| meta::claim_cycle(c, meta::PURGE_CYCLE, start, now).map_err(RunError::from))
        .await?;
    if !outcome.claimed {
        return Ok(outcome);
    }
    metrics.purge_cycle();
    let cutoff = outcome.cutoff;
    loop {
        let batch = db
            .write(move |c| purge_batch(c, cutoff, plan.batch_rows, now).map_err(RunError::from))
            .await?;
        metrics.indicators_purged(batch.deleted);
        outcome.purged += batch.deleted;
        if i64::try_from(batch.found).unwrap_or(i64::MAX) < plan.batch_rows {
            break;
        }
    }
    if outcome.purged > 0 {
        tracing::info!(purged = outcome.purged, cutoff = %cutoff, "expired indicators purged");
    }
    // The change log's retention, in batches the same way: a `since` before what it deletes
    // is then refused with 410 (`models::change::prune` records how far each feed's went).
    let kept_from = now - plan.retention;
    loop {
        let n = db
            .write(move |c| change::prune(c, kept_from, plan.batch_rows).map_err(RunError::from))
            .await?;
        outcome.changes_pruned += n as u64;
        if (n as i64) < plan.batch_rows {
            break;
        }
    }
    Ok(outcome)
}

/// One batch: the rows deleted, and what they counted given back to their feeds and owners.
fn purge_batch(
    c: &mut WriteTx<'_>,
    cutoff: NaiveDateTime,
    limit: i64,
    now: NaiveDateTime,
) -> QueryResult<purge::PurgedBatch> {
    let batch = purge::delete_expired(c, cutoff, limit)?;
    for (&feed_id, &n) in &batch.by_feed {
        feed::add_indicators(c, feed_id, -n, now)?;
    }
    for (&owner_id, &n) in &batch.by_owner {
        quota::give_back_indicators(c, owner_id, n)?;
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_time;

    #[test]
    fn cycles_are_aligned_on_the_epoch() {
        let plan = Plan {
            grace: Duration::days(30),
            interval_secs: 3600,
            batch_rows: 10,
            retention: Duration::days(30),
        };
        let at = |s: &str| plan.cycle_start(parse_time(s).unwrap());
        assert_eq!(at("2026-12-07T10:00:00Z"), at("2026-12-07T10:59:59Z"));
        assert_eq!(
            at("2026-12-07T11:00:00Z") - at("2026-12-07T10:59:59Z"),
            3600
        );
        assert_eq!(at("1970-01-01T00:30:00Z"), 0);
    }
}
