//! The importer's statements around one batch (spec `shadowserver.md` §4.2, §4.6), besides
//! the upsert itself (`models::indicator::upsert_imported`) and the quota
//! (`limits::quota::ImportAllowance`): the per-feed lock, the lookup of the stored
//! indicators of a batch's import keys, the planner statistics of those keys, and the page
//! cache of the connection that imports.

use std::collections::HashMap;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::db::schema::indicators;
use crate::db::{DbConnection, WriteTx};
use crate::domain::merge::Sightings;

/// The page cache of a SQLite connection that imports (negative: KiB). A batch of packed rows
/// dirties a few MB; a larger cache was no faster and kept the server's RSS higher (the freed
/// pages stay with the allocator).
const IMPORT_CACHE_PRAGMA: &str = "PRAGMA cache_size = -32768";
/// SQLite's default page cache (2 MB), restored after an import.
const DEFAULT_CACHE_PRAGMA: &str = "PRAGMA cache_size = -2000";
/// Keys per lookup query.
const LOOKUP_CHUNK: usize = 5000;

/// SQLite: gives the connection the import's page cache. A batch of wide rows outgrows the
/// default 2 MB, which then spills dirty pages to the WAL mid-transaction.
pub fn widen_cache(c: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Sqlite(conn) = c {
        conn.batch_execute(IMPORT_CACHE_PRAGMA)?;
    }
    Ok(())
}

/// SQLite: gives back the import's page cache (the connection may go back to a pool).
pub fn restore_cache(c: &mut DbConnection) {
    if let DbConnection::Sqlite(conn) = c {
        let _ = conn.batch_execute(DEFAULT_CACHE_PRAGMA);
    }
}

/// PostgreSQL: serialises imports into one feed for the rest of the transaction
/// (`pg_advisory_xact_lock(feed id)`; imports into other feeds go on). SQLite's `BEGIN
/// IMMEDIATE` already admits one writer.
pub fn lock_feed(c: &mut WriteTx<'_>, feed_id: i64) -> QueryResult<()> {
    if let DbConnection::Postgresql(conn) = c.conn() {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(feed_id)
            .execute(conn)?;
    }
    Ok(())
}

/// PostgreSQL: `ANALYZE` of the columns the batch lookup filters on. With statistics from
/// before a feed had imported rows, the planner scans the feed's whole range of the key index
/// for every lookup (`feed_id` as the only index condition) and a large file's import turns
/// quadratic. SQLite plans the lookup as index probes anyway.
pub fn refresh_key_statistics(c: &mut DbConnection) {
    if let DbConnection::Postgresql(conn) = c
        && let Err(e) = conn.batch_execute("ANALYZE indicators (feed_id, import_key)")
    {
        // Only the speed of this import depends on it.
        tracing::debug!(error = %e, "ANALYZE before the import's next batches failed");
    }
}

/// The times, count and tags of the feed's indicators with these import keys (distinct), by
/// key: what §4.2's merge needs of a stored row.
pub fn stored_sightings(
    c: &mut DbConnection,
    feed_id: i64,
    keys: &[&str],
) -> QueryResult<HashMap<String, Sightings>> {
    type Found = (
        Option<String>,
        (
            Option<chrono::NaiveDateTime>,
            Option<chrono::NaiveDateTime>,
            i64,
            String,
        ),
    );
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(LOOKUP_CHUNK) {
        let rows: Vec<Found> = match c {
            DbConnection::Sqlite(conn) => {
                // One statement for any number of keys, prepared once per connection: with
                // an `IN (?, ?, …)` list diesel rendered and SQLite parsed and planned a new
                // 5,000-parameter statement for every batch.
                let keys = serde_json::to_string(chunk)
                    .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
                StoredByKeys { feed_id, keys }.load(conn)?
            }
            // diesel binds the keys as one array there (`= ANY($2)`).
            DbConnection::Postgresql(conn) => indicators::table
                .filter(indicators::feed_id.eq(feed_id))
                .filter(indicators::import_key.eq_any(chunk))
                .select((
                    indicators::import_key,
                    (
                        indicators::firsttime,
                        indicators::lasttime,
                        indicators::count,
                        indicators::tags,
                    ),
                ))
                .load(conn)?,
        };
        for (key, (firsttime, lasttime, count, tags)) in rows {
            if let Some(key) = key {
                out.insert(
                    key,
                    Sightings {
                        firsttime,
                        lasttime,
                        count,
                        tags,
                    },
                );
            }
        }
    }
    Ok(out)
}

/// SQLite: the feed's indicators whose import key is in `keys`, a JSON array of distinct
/// strings. No `import_key IS NOT NULL` although the index is partial: the `=` implies it, and
/// with it SQLite chose the range `import_key > NULL` and scanned every key the feed already
/// held, once per batch (quadratic in the file's size).
struct StoredByKeys {
    feed_id: i64,
    keys: String,
}

impl QueryId for StoredByKeys {
    type QueryId = StoredByKeys;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for StoredByKeys {
    type SqlType = (
        Nullable<Text>,
        (Nullable<Timestamp>, Nullable<Timestamp>, BigInt, Text),
    );
}

impl<Conn> RunQueryDsl<Conn> for StoredByKeys {}

impl QueryFragment<diesel::sqlite::Sqlite> for StoredByKeys {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::sqlite::Sqlite>) -> QueryResult<()> {
        // A loop over the keys probing the index (`CROSS JOIN` fixes the order): `IN (SELECT
        // …)` first copied the keys into a temporary b-tree.
        out.push_sql(
            "SELECT i.import_key, i.firsttime, i.lasttime, i.count, i.tags FROM json_each(",
        );
        out.push_bind_param::<Text, str>(&self.keys)?;
        out.push_sql(") AS k CROSS JOIN indicators AS i WHERE i.feed_id = ");
        out.push_bind_param::<BigInt, i64>(&self.feed_id)?;
        out.push_sql(" AND i.import_key = k.value");
        Ok(())
    }
}
