//! The change log's expiry scan (issue 20): an indicator's expiry is a change nobody writes,
//! so every gateway looks every `--expiry-scan-millis` for indicators whose expiry passed
//! since the last look and appends their `expired` change (`models::change`).
//!
//! How far the scan got is one mark in `server_meta` (the expiry time and id of the last
//! indicator logged). A scan reads the mark, the next indicators after it, and moves the mark
//! with a compare-and-set in the same write transaction as the changes it appends: two
//! gateways scanning at once append each expiry once, and a gateway that stops half-way
//! leaves the mark where its last commit put it. The scan looks [`LAG`] behind the clock, so a
//! write still in flight when its row expires is seen (a row written already expired gets its
//! `expired` from the write itself).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDateTime};
use diesel::QueryResult;
use tokio::sync::watch;

use crate::db::{Db, RunError, WriteTx};
use crate::models::change::{self, Op, Rows};
use crate::models::{feed, meta};

/// The `server_meta` key of the scan's mark.
pub const EXPIRY_MARK: &str = "change_expiry_mark";

/// How far behind the clock the scan looks.
pub const LAG: Duration = change::EXPIRY_LAG;

/// Indicators per transaction.
pub const BATCH: i64 = 2000;

/// Runs the scan up to `now` − [`LAG`] in transactions of [`BATCH`]; returns how many
/// `expired` changes this gateway appended.
pub async fn scan(db: &Db, now: NaiveDateTime) -> Result<u64, RunError> {
    let until = now - LAG;
    let mut logged = 0;
    loop {
        let (n, more) = db
            .write(move |c| scan_batch(c, until, now).map_err(RunError::from))
            .await?;
        logged += n;
        if !more {
            return Ok(logged);
        }
    }
}

/// One batch: `(changes appended, whether more may follow)`.
fn scan_batch(
    c: &mut WriteTx<'_>,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<(u64, bool)> {
    let stored = meta::value(c, EXPIRY_MARK)?;
    let Some(mark) = stored.as_deref().and_then(parse_mark) else {
        // The first scan of this database: expiries before it are history, not changes.
        meta::swap(
            c,
            EXPIRY_MARK,
            stored.as_deref(),
            &mark_text((until, i64::MAX)),
            now,
        )?;
        return Ok((0, false));
    };
    if until <= mark.0 {
        return Ok((0, false));
    }
    let rows = change::expiring(c, mark, until, BATCH)?;
    let full = rows.len() as i64 >= BATCH;
    let next = match rows.last() {
        Some((id, _, at)) if full => (*at, *id),
        _ => (until, i64::MAX),
    };
    if !meta::swap(c, EXPIRY_MARK, stored.as_deref(), &mark_text(next), now)? {
        // Another gateway moved the mark first: this range is its.
        return Ok((0, false));
    }
    let mut by_feed: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (id, feed_id, _) in &rows {
        by_feed.entry(*feed_id).or_default().push(*id);
    }
    // Feeds in id order, as every writer of several feeds takes them.
    for (feed_id, ids) in &by_feed {
        let written = feed::add_indicators(c, *feed_id, 0, now)?;
        change::append(c, &written, Op::Expired, Rows::Ids(ids))?;
    }
    Ok((rows.len() as u64, full))
}

/// The mark as stored: `<expiry, microseconds since the epoch>:<id>`.
fn mark_text((t, id): (NaiveDateTime, i64)) -> String {
    format!("{}:{id}", t.and_utc().timestamp_micros())
}

fn parse_mark(text: &str) -> Option<(NaiveDateTime, i64)> {
    let (micros, id) = text.split_once(':')?;
    let t = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
    Some((t, id.parse().ok()?))
}

/// What the open change streams of this gateway wait on: every `--stream-poll-millis` one
/// query reads the `version` of the feeds they follow (it moves in every transaction that
/// appends to a feed's changes, whichever gateway wrote), and a stream whose feed's version
/// moved reads its changes. One cheap query per look, however many streams are open.
#[derive(Debug)]
pub struct Watch {
    followed: Mutex<HashMap<i64, usize>>,
    versions: watch::Sender<Arc<HashMap<i64, i64>>>,
}

/// A stream's interest in one feed; dropping it ends the interest.
#[derive(Debug)]
pub struct Following {
    watch: Arc<Watch>,
    feed_id: i64,
    /// Wakes when a look found any followed feed's version moved.
    pub versions: watch::Receiver<Arc<HashMap<i64, i64>>>,
}

impl Following {
    /// The feed's version at the last look (`None` before the first look that saw it).
    pub fn version(&mut self) -> Option<i64> {
        self.versions
            .borrow_and_update()
            .get(&self.feed_id)
            .copied()
    }
}

impl Default for Watch {
    fn default() -> Self {
        Watch {
            followed: Mutex::new(HashMap::new()),
            versions: watch::Sender::new(Arc::new(HashMap::new())),
        }
    }
}

impl Watch {
    /// Starts following `feed_id`.
    pub fn follow(self: &Arc<Self>, feed_id: i64) -> Following {
        *self
            .followed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(feed_id)
            .or_default() += 1;
        Following {
            watch: self.clone(),
            feed_id,
            versions: self.versions.subscribe(),
        }
    }

    /// One look: reads the followed feeds' versions and wakes the streams when one moved.
    pub async fn look(&self, db: &Db) -> Result<(), RunError> {
        let ids: Vec<i64> = {
            let followed = self.followed.lock().unwrap_or_else(|p| p.into_inner());
            followed.keys().copied().collect()
        };
        if ids.is_empty() {
            return Ok(());
        }
        let found = db
            .read(move |c| feed::versions(c, &ids).map_err(RunError::from))
            .await?;
        let now: HashMap<i64, i64> = found.into_iter().collect();
        self.versions.send_if_modified(|known| {
            if **known == now {
                return false;
            }
            *known = Arc::new(now);
            true
        });
        Ok(())
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let mut followed = self
            .watch
            .followed
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = followed.get_mut(&self.feed_id) {
            *n -= 1;
            if *n == 0 {
                followed.remove(&self.feed_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_time;

    #[test]
    fn marks_read_back_as_written() {
        let t = parse_time("2026-12-07T08:09:10.123456Z").unwrap();
        assert_eq!(parse_mark(&mark_text((t, 42))), Some((t, 42)));
        assert_eq!(parse_mark(&mark_text((t, i64::MAX))), Some((t, i64::MAX)));
        assert_eq!(parse_mark("garbage"), None);
        assert_eq!(parse_mark("12:x"), None);
    }
}
