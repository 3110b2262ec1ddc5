//! The purge's statements on `indicators`: one batch of the rows expired before a cutoff,
//! found through the `indicators_expires` index (oldest expiry first) and deleted with their
//! comments and attachments (by cascade). What a batch deleted is counted per feed and per
//! owner, for the counters the caller gives back in the same transaction (`crate::purge`).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::WriteTx;
use crate::db::schema::indicators;
use crate::models::import_batch;

/// What one batch deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PurgedBatch {
    /// Rows the batch found expired before the cutoff (at most its limit): fewer than the
    /// limit means nothing older is left.
    pub found: usize,
    /// Rows deleted (fewer than `found` when a writer renewed some in between).
    pub deleted: u64,
    /// Rows deleted per feed, by feed id.
    pub by_feed: BTreeMap<i64, i64>,
    /// Rows deleted per owner, by user id.
    pub by_owner: BTreeMap<i64, i64>,
}

/// Deletes at most `limit` indicators whose `expires_at` is before `cutoff`. On PostgreSQL the
/// feeds they are in are locked first like an import batch locks its feed (in id order, so
/// two purges never wait on each other in a circle): an import never counts as stored a row
/// this batch deletes. A row renewed since it was found is kept (the delete checks the expiry
/// again).
pub fn delete_expired(
    c: &mut WriteTx<'_>,
    cutoff: NaiveDateTime,
    limit: i64,
) -> QueryResult<PurgedBatch> {
    let found: Vec<(i64, i64)> = indicators::table
        .filter(indicators::expires_at.lt(cutoff))
        .order(indicators::expires_at.asc())
        .limit(limit)
        .select((indicators::id, indicators::feed_id))
        .load(c.conn())?;
    let mut out = PurgedBatch {
        found: found.len(),
        ..PurgedBatch::default()
    };
    if found.is_empty() {
        return Ok(out);
    }
    let mut feeds: Vec<i64> = found.iter().map(|(_, feed)| *feed).collect();
    feeds.sort_unstable();
    feeds.dedup();
    for feed in feeds {
        import_batch::lock_feed(c, feed)?;
    }
    let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
    let target = indicators::table
        .filter(indicators::id.eq_any(&ids))
        .filter(indicators::expires_at.lt(cutoff));
    let conn = c.conn();
    let deleted: Vec<(i64, i64)> = crate::on_backend!(conn, |conn| diesel::delete(target)
        .returning((indicators::feed_id, indicators::user_id))
        .load(conn))?;
    out.deleted = deleted.len() as u64;
    for (feed, owner) in deleted {
        *out.by_feed.entry(feed).or_default() += 1;
        *out.by_owner.entry(owner).or_default() += 1;
    }
    Ok(out)
}
