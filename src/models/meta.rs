//! The `server_meta` table: facts about this database that outlive any one user, such as
//! whether the admin was ever bootstrapped, and work every gateway shares that one of them
//! claims (the purge cycle, the change log's expiry mark).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::server_meta;
use crate::db::{DbConnection, WriteTx};

/// The key recording that the first admin was created.
pub const BOOTSTRAPPED: &str = "bootstrapped_at";

/// Inserts `key` once; returns `false` when it already existed.
pub fn insert_once(
    c: &mut WriteTx<'_>,
    key: &str,
    value: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let c = c.conn();
    if exists(c, key)? {
        return Ok(false);
    }
    diesel::insert_into(server_meta::table)
        .values((
            server_meta::key.eq(key),
            server_meta::value.eq(value),
            server_meta::created_at.eq(now),
        ))
        .execute(c)?;
    Ok(true)
}

/// Whether `key` has been recorded.
pub fn exists(c: &mut DbConnection, key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        server_meta::table.filter(server_meta::key.eq(key)),
    ))
    .get_result(c)
}

/// The key holding the start (Unix seconds) of the last purge cycle a gateway claimed.
pub const PURGE_CYCLE: &str = "purge_cycle";

/// Claims the cycle starting at `start` (Unix seconds) under `key` for this transaction's
/// gateway: `true` when no gateway claimed it or a later one yet. A value that is not a
/// number is claimed over.
pub fn claim_cycle(
    c: &mut WriteTx<'_>,
    key: &str,
    start: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let stored = value(c, key)?;
    if stored
        .as_deref()
        .and_then(|text| text.parse::<i64>().ok())
        .is_some_and(|claimed| claimed >= start)
    {
        return Ok(false);
    }
    swap(c, key, stored.as_deref(), &start.to_string(), now)
}

/// The value stored under `key`.
pub fn value(c: &mut DbConnection, key: &str) -> QueryResult<Option<String>> {
    server_meta::table
        .find(key)
        .select(server_meta::value)
        .first(c)
        .optional()
}

/// Replaces the value under `key` with `new` if it still is `old` (`None`: absent); `true`
/// when this transaction did. A compare-and-set: on PostgreSQL a concurrent swap waits for
/// this one's row lock, then finds the value changed and swaps nothing; on SQLite
/// `BEGIN IMMEDIATE` admits one at a time.
pub fn swap(
    c: &mut WriteTx<'_>,
    key: &str,
    old: Option<&str>,
    new: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let c = c.conn();
    let changed = match old {
        None => {
            let insert = diesel::insert_into(server_meta::table)
                .values((
                    server_meta::key.eq(key),
                    server_meta::value.eq(new),
                    server_meta::created_at.eq(now),
                ))
                .on_conflict_do_nothing();
            crate::on_backend!(c, |conn| insert.execute(conn))?
        }
        Some(old) => diesel::update(
            server_meta::table
                .find(key)
                .filter(server_meta::value.eq(old)),
        )
        .set(server_meta::value.eq(new))
        .execute(c)?,
    };
    Ok(changed == 1)
}
