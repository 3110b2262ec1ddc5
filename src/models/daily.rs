//! The `daily_usage` table: requests per subject (`u:<id>` or `a:<address>`) and UTC day.
//! Admission is one atomic statement, so any number of gateways sharing the database admit
//! exactly the limit. Like every write, the counts are written inside a write transaction
//! (`db::write_tx`); the caller keeps it short (`limits::daily`).

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::schema::daily_usage;
use crate::db::{DbConnection, WriteTx};

/// Counts `n` requests for `subject` on `day` if `limit` leaves room for all of them; returns
/// the new count, or `None` when it does not (nothing counted). `1 ≤ n ≤ limit`: a limit of 0
/// is refused by the caller without a statement (the insert arm would admit).
///
/// On PostgreSQL the enclosing transaction's commit no longer waits for the WAL flush: count
/// in a transaction that writes nothing else.
pub fn count_within_limit(
    c: &mut WriteTx<'_>,
    subject: &str,
    day: NaiveDate,
    limit: i64,
    n: i64,
) -> QueryResult<Option<i64>> {
    use diesel::query_dsl::methods::FilterDsl;
    let insert = diesel::insert_into(daily_usage::table)
        .values((
            daily_usage::subject.eq(subject),
            daily_usage::day.eq(day),
            daily_usage::used.eq(n),
        ))
        .on_conflict((daily_usage::subject, daily_usage::day))
        .do_update()
        .set(daily_usage::used.eq(daily_usage::used + n))
        .filter(daily_usage::used.le(limit - n));
    match c.conn() {
        DbConnection::Sqlite(conn) => insert
            .returning(daily_usage::used)
            .get_result(conn)
            .optional(),
        // A counter commit need not wait for the WAL flush: admission is decided by the
        // statement's row lock, not by durability, and waiting for an fsync on every request
        // would make every read as slow as a durable write. A crash may forget the last few
        // hundred milliseconds of counts; indicator writes keep synchronous commits.
        DbConnection::Postgresql(conn) => {
            diesel::sql_query("SET LOCAL synchronous_commit = off").execute(conn)?;
            insert
                .returning(daily_usage::used)
                .get_result(conn)
                .optional()
        }
    }
}

/// Adds `n` requests without a limit (unlimited users' batched counts).
pub fn add(c: &mut WriteTx<'_>, subject: &str, day: NaiveDate, n: i64) -> QueryResult<()> {
    let insert = diesel::insert_into(daily_usage::table)
        .values((
            daily_usage::subject.eq(subject),
            daily_usage::day.eq(day),
            daily_usage::used.eq(n),
        ))
        .on_conflict((daily_usage::subject, daily_usage::day))
        .do_update()
        .set(daily_usage::used.eq(daily_usage::used + n));
    crate::on_backend!(c.conn(), |conn| insert.execute(conn).map(|_| ()))
}

/// The requests counted for `subject` on `day`.
pub fn used(c: &mut DbConnection, subject: &str, day: NaiveDate) -> QueryResult<i64> {
    daily_usage::table
        .filter(daily_usage::subject.eq(subject))
        .filter(daily_usage::day.eq(day))
        .select(daily_usage::used)
        .get_result(c)
        .optional()
        .map(|n| n.unwrap_or(0))
}

/// Deletes the rows of days before `day`.
pub fn prune(c: &mut WriteTx<'_>, before: NaiveDate) -> QueryResult<usize> {
    let c = c.conn();
    diesel::delete(daily_usage::table.filter(daily_usage::day.lt(before))).execute(c)
}

/// The subject key of a user.
pub fn user_subject(user_id: i64) -> String {
    format!("u:{user_id}")
}

/// The subject key of an anonymous client address.
pub fn address_subject(address: &str) -> String {
    format!("a:{address}")
}
