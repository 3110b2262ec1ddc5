//! The `indicator_changes` table (issue 20): the change log of every feed. Each create,
//! update, delete and expiry of an indicator appends a row numbered by `seq`, which only grows.
//!
//! Changes are appended only through a [`FeedWritten`], which `models::feed::add_indicators`
//! returns once it updated the feed's row in the same transaction: that row's lock (PostgreSQL)
//! or the database's write lock (SQLite) is held until commit, so a feed's changes are numbered
//! in the order their transactions commit, whichever gateway wrote them, and a reader that read
//! up to `seq` never later finds a smaller one appear for that feed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, SmallInt, Text, Timestamp};

use crate::db::schema::{feeds, indicator_changes};
use crate::db::{DbConnection, WriteTx};

/// What happened to an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Created,
    Updated,
    Deleted,
    Expired,
}

impl Op {
    /// The stored number.
    pub fn code(self) -> i16 {
        match self {
            Op::Created => 1,
            Op::Updated => 2,
            Op::Deleted => 3,
            Op::Expired => 4,
        }
    }

    /// The op of a stored number (`None`: not one this version writes).
    pub fn from_code(code: i16) -> Option<Op> {
        Some(match code {
            1 => Op::Created,
            2 => Op::Updated,
            3 => Op::Deleted,
            4 => Op::Expired,
            _ => return None,
        })
    }

    /// The name clients see.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Created => "created",
            Op::Updated => "updated",
            Op::Deleted => "deleted",
            Op::Expired => "expired",
        }
    }

    /// Whether the change's indicator still exists to be shown (created, updated).
    pub fn shows_indicator(self) -> bool {
        matches!(self, Op::Created | Op::Updated)
    }
}

/// Proof that this transaction updated feed `feed_id`'s row (and so holds its lock until
/// commit): made only by `models::feed::add_indicators`.
#[derive(Debug)]
pub struct FeedWritten {
    pub(crate) feed_id: i64,
    pub(crate) at: NaiveDateTime,
}

impl FeedWritten {
    /// Made by `models::feed::add_indicators` right after its update.
    pub(crate) fn new(feed_id: i64, at: NaiveDateTime) -> FeedWritten {
        FeedWritten { feed_id, at }
    }
}

/// The indicators a change names: by id, or (imports) by import key within the feed.
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    Ids(&'a [i64]),
    ImportKeys(&'a [&'a str]),
}

impl Rows<'_> {
    fn is_empty(&self) -> bool {
        match self {
            Rows::Ids(ids) => ids.is_empty(),
            Rows::ImportKeys(keys) => keys.is_empty(),
        }
    }
}

/// How far behind the clock the expiry scan (`crate::change_log`) looks: a write logs the
/// `Expired` of a row it writes already expired longer than this ago, the scan any later one.
pub const EXPIRY_LAG: chrono::Duration = chrono::Duration::seconds(2);

/// Whether a row written now with this expiry needs its `Expired` appended by the write
/// (`Op::Expired` after its `Created` or `Updated`): the expiry scan has looked past it.
pub fn expired_at_write(expires_at: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    expires_at.is_some_and(|t| t <= now - EXPIRY_LAG)
}

/// Appends `op` for each of `rows` (indicators that exist in the feed, read for their
/// marking). For `Created` and `Updated` with an expiry at or before now − [`EXPIRY_LAG`] ago
/// ([`expired_at_write`]) the writer appends an `Expired` too, as the expiry scan has looked
/// past it.
pub fn append(
    c: &mut WriteTx<'_>,
    written: &FeedWritten,
    op: Op,
    rows: Rows<'_>,
) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    insert_select(c.conn(), written, op, rows)?;
    Ok(())
}

/// Appends `op` for one indicator whose marking the writer holds (a single create, update or
/// delete): one prepared insert, no read.
pub fn append_one(
    c: &mut WriteTx<'_>,
    written: &FeedWritten,
    op: Op,
    indicator_id: i64,
    tlp: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(indicator_changes::table)
        .values((
            indicator_changes::feed_id.eq(written.feed_id),
            indicator_changes::indicator_id.eq(indicator_id),
            indicator_changes::op.eq(op.code()),
            indicator_changes::tlp.eq(tlp),
            indicator_changes::at.eq(written.at),
        ))
        .execute(c.conn())?;
    Ok(())
}

/// `INSERT … SELECT` of the rows' changes, in the order given.
fn insert_select(
    c: &mut DbConnection,
    written: &FeedWritten,
    op: Op,
    rows: Rows<'_>,
) -> QueryResult<usize> {
    match c {
        DbConnection::Sqlite(conn) => {
            // One statement for any number of rows (a JSON array), prepared once; the CROSS
            // JOIN probes the index once per listed row, in the listed order.
            let (list, join) = match rows {
                Rows::Ids(ids) => (json_list(ids)?, "i.id = k.value"),
                Rows::ImportKeys(keys) => (json_list(keys)?, "i.import_key = k.value"),
            };
            let sql = format!(
                "INSERT INTO indicator_changes (feed_id, indicator_id, op, tlp, at) \
                 SELECT i.feed_id, i.id, ?, i.tlp, k.at FROM \
                 (SELECT value, key, ? AS at FROM json_each(?)) AS k \
                 CROSS JOIN indicators AS i WHERE i.feed_id = ? AND {join} ORDER BY k.key"
            );
            diesel::sql_query(sql)
                .bind::<SmallInt, _>(op.code())
                .bind::<Timestamp, _>(written.at)
                .bind::<Text, _>(list)
                .bind::<BigInt, _>(written.feed_id)
                .execute(conn)
        }
        DbConnection::Postgresql(conn) => {
            let base = |kind: &str, join: &str| {
                format!(
                    "INSERT INTO indicator_changes (feed_id, indicator_id, op, tlp, at) \
                     SELECT i.feed_id, i.id, $1, i.tlp, k.at FROM \
                     (SELECT v, n, $2::timestamp AS at \
                      FROM unnest($3::{kind}[]) WITH ORDINALITY AS u(v, n)) AS k \
                     JOIN indicators AS i ON i.feed_id = $4 AND {join} ORDER BY k.n"
                )
            };
            match rows {
                Rows::Ids(ids) => diesel::sql_query(base("bigint", "i.id = k.v"))
                    .bind::<SmallInt, _>(op.code())
                    .bind::<Timestamp, _>(written.at)
                    .bind::<diesel::sql_types::Array<BigInt>, _>(ids)
                    .bind::<BigInt, _>(written.feed_id)
                    .execute(conn),
                Rows::ImportKeys(keys) => diesel::sql_query(base("text", "i.import_key = k.v"))
                    .bind::<SmallInt, _>(op.code())
                    .bind::<Timestamp, _>(written.at)
                    .bind::<diesel::sql_types::Array<Text>, _>(keys)
                    .bind::<BigInt, _>(written.feed_id)
                    .execute(conn),
            }
        }
    }
}

/// A list as a JSON array (SQLite's `json_each`).
fn json_list<T: serde::Serialize>(values: &[T]) -> QueryResult<String> {
    serde_json::to_string(values)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
}

/// One stored change.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = indicator_changes)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ChangeRow {
    pub seq: i64,
    pub feed_id: i64,
    pub indicator_id: i64,
    pub op: i16,
    pub tlp: Option<String>,
    pub at: NaiveDateTime,
}

/// The feed's changes after `since`, oldest first, at most `limit`.
pub fn after(
    c: &mut DbConnection,
    feed_id: i64,
    since: i64,
    limit: i64,
) -> QueryResult<Vec<ChangeRow>> {
    indicator_changes::table
        .filter(indicator_changes::feed_id.eq(feed_id))
        .filter(indicator_changes::seq.gt(since))
        .order(indicator_changes::seq.asc())
        .limit(limit)
        .select(ChangeRow::as_select())
        .load(c)
}

/// The feed's latest seq (0 when it has none).
pub fn last_of_feed(c: &mut DbConnection, feed_id: i64) -> QueryResult<i64> {
    indicator_changes::table
        .filter(indicator_changes::feed_id.eq(feed_id))
        .select(diesel::dsl::max(indicator_changes::seq))
        .first::<Option<i64>>(c)
        .map(|s| s.unwrap_or(0))
}

/// Deletes up to `limit` of the oldest changes made before `cutoff` and records, per feed,
/// the largest seq deleted (`feeds.changes_pruned_seq`: an older `since` is refused). Returns
/// how many were deleted. The oldest are read in seq order (the primary key), which is the
/// order they were made in, and the batch stops at the first one kept: no index on the time.
pub fn prune(c: &mut WriteTx<'_>, cutoff: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let c = c.conn();
    let oldest: Vec<(i64, i64, NaiveDateTime)> = indicator_changes::table
        .order(indicator_changes::seq.asc())
        .limit(limit)
        .select((
            indicator_changes::seq,
            indicator_changes::feed_id,
            indicator_changes::at,
        ))
        .load(c)?;
    let doomed: Vec<(i64, i64)> = oldest
        .into_iter()
        .take_while(|(_, _, at)| *at < cutoff)
        .map(|(seq, feed, _)| (seq, feed))
        .collect();
    let Some(&(last, _)) = doomed.last() else {
        return Ok(0);
    };
    let mut top: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    for (seq, feed) in &doomed {
        let e = top.entry(*feed).or_insert(*seq);
        *e = (*e).max(*seq);
    }
    // Feeds in id order, as every writer of several feeds takes them.
    for (feed, seq) in &top {
        diesel::update(
            feeds::table
                .find(*feed)
                .filter(feeds::changes_pruned_seq.lt(*seq)),
        )
        .set(feeds::changes_pruned_seq.eq(*seq))
        .execute(c)?;
    }
    diesel::delete(indicator_changes::table.filter(indicator_changes::seq.le(last))).execute(c)
}

/// Indicators whose expiry is after `after` (time, then id) and at or before `until`, in
/// that order, at most `limit`: `(id, feed_id, expires_at)`.
pub fn expiring(
    c: &mut DbConnection,
    (t, id): (NaiveDateTime, i64),
    until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(i64, i64, NaiveDateTime)>> {
    use crate::db::schema::indicators;
    indicators::table
        .filter(indicators::expires_at.is_not_null())
        .filter(indicators::expires_at.le(until))
        .filter(
            indicators::expires_at
                .gt(t)
                .or(indicators::expires_at.eq(t).and(indicators::id.gt(id))),
        )
        .order((indicators::expires_at.asc(), indicators::id.asc()))
        .limit(limit)
        .select((
            indicators::id,
            indicators::feed_id,
            indicators::expires_at.assume_not_null(),
        ))
        .load(c)
}
