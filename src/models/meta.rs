//! The `server_meta` table: facts about this database that outlive any one user, such as
//! whether the admin was ever bootstrapped.

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
