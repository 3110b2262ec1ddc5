//! `shadowserver_runs`: each run of a scheduled pull (issue 21), with what it did. A `running`
//! run is leased: it belongs to the gateway in `lease_owner` until `lease_expires_at`, and the
//! holder renews the lease while it works ([`renew`]). A run whose lease expired (its gateway
//! died) is taken over by the next gateway with [`take_over`], a compare-and-set like the
//! schedule's claim, which finishes it.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::shadowserver_runs;
use crate::db::{DbConnection, WriteTx};

/// A run's state.
pub const RUNNING: &str = "running";
/// A run that went through every listed report.
pub const FINISHED: &str = "finished";
/// A run that could not list its reports (credentials, the API, the database).
pub const FAILED: &str = "failed";

/// One run as stored; `errors` is a JSON array of objects.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = shadowserver_runs)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct RunRow {
    pub id: i64,
    pub schedule_id: i64,
    pub kind: String,
    pub state: String,
    pub lease_owner: String,
    pub lease_expires_at: NaiveDateTime,
    pub attempts: i32,
    pub date_from: NaiveDate,
    pub date_to: NaiveDate,
    pub reports_listed: i64,
    pub reports_imported: i64,
    pub reports_skipped: i64,
    pub reports_failed: i64,
    pub rows_read: i64,
    pub errors: String,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

/// A run to insert, leased to its gateway.
#[derive(Debug, Insertable)]
#[diesel(table_name = shadowserver_runs)]
pub struct NewRun<'a> {
    pub schedule_id: i64,
    pub kind: &'a str,
    pub state: &'a str,
    pub lease_owner: &'a str,
    pub lease_expires_at: NaiveDateTime,
    pub date_from: NaiveDate,
    pub date_to: NaiveDate,
    pub started_at: NaiveDateTime,
}

/// How a run ended.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = shadowserver_runs)]
pub struct RunOutcome<'a> {
    pub state: &'a str,
    pub reports_listed: i64,
    pub reports_imported: i64,
    pub reports_skipped: i64,
    pub reports_failed: i64,
    pub rows_read: i64,
    pub errors: &'a str,
    pub finished_at: Option<NaiveDateTime>,
}

/// Inserts a run leased to `new.lease_owner`.
pub fn insert(c: &mut WriteTx<'_>, new: &NewRun<'_>) -> QueryResult<RunRow> {
    let c = c.conn();
    let insert = diesel::insert_into(shadowserver_runs::table).values(new);
    crate::on_backend!(c, |conn| insert
        .returning(RunRow::as_returning())
        .get_result(conn))
}

/// A run by id.
pub fn find(c: &mut DbConnection, id: i64) -> QueryResult<RunRow> {
    shadowserver_runs::table
        .find(id)
        .select(RunRow::as_select())
        .get_result(c)
}

/// The schedule's `running` run, if any (live or with an expired lease).
pub fn running_of(c: &mut DbConnection, schedule_id: i64) -> QueryResult<Option<RunRow>> {
    shadowserver_runs::table
        .filter(shadowserver_runs::schedule_id.eq(schedule_id))
        .filter(shadowserver_runs::state.eq(RUNNING))
        .order(shadowserver_runs::id.desc())
        .select(RunRow::as_select())
        .first(c)
        .optional()
}

/// `running` runs whose lease expired before `now`, oldest first, at most `limit`.
pub fn expired(c: &mut DbConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<RunRow>> {
    shadowserver_runs::table
        .filter(shadowserver_runs::state.eq(RUNNING))
        .filter(shadowserver_runs::lease_expires_at.lt(now))
        .order(shadowserver_runs::id.asc())
        .limit(limit)
        .select(RunRow::as_select())
        .load(c)
}

/// Takes over run `id` for `owner` until `until` if it is still `running` with a lease that
/// expired before `now` (a compare-and-set: one gateway wins); counts the attempt.
pub fn take_over(
    c: &mut WriteTx<'_>,
    id: i64,
    owner: &str,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let c = c.conn();
    let n = diesel::update(
        shadowserver_runs::table
            .find(id)
            .filter(shadowserver_runs::state.eq(RUNNING))
            .filter(shadowserver_runs::lease_expires_at.lt(now)),
    )
    .set((
        shadowserver_runs::lease_owner.eq(owner),
        shadowserver_runs::lease_expires_at.eq(until),
        shadowserver_runs::attempts.eq(shadowserver_runs::attempts + 1),
    ))
    .execute(c)?;
    Ok(n == 1)
}

/// Extends `owner`'s lease on run `id` to `until`; `false` when the run is no longer its own
/// (taken over after its lease expired) or no longer running.
pub fn renew(c: &mut WriteTx<'_>, id: i64, owner: &str, until: NaiveDateTime) -> QueryResult<bool> {
    let c = c.conn();
    let n = diesel::update(
        shadowserver_runs::table
            .find(id)
            .filter(shadowserver_runs::state.eq(RUNNING))
            .filter(shadowserver_runs::lease_owner.eq(owner)),
    )
    .set(shadowserver_runs::lease_expires_at.eq(until))
    .execute(c)?;
    Ok(n == 1)
}

/// Records how `owner`'s run `id` ended; `false` when another gateway holds it now.
pub fn finish(
    c: &mut WriteTx<'_>,
    id: i64,
    owner: &str,
    outcome: &RunOutcome<'_>,
) -> QueryResult<bool> {
    let c = c.conn();
    let n = diesel::update(
        shadowserver_runs::table
            .find(id)
            .filter(shadowserver_runs::state.eq(RUNNING))
            .filter(shadowserver_runs::lease_owner.eq(owner)),
    )
    .set(outcome)
    .execute(c)?;
    Ok(n == 1)
}

/// Runs newest first (by id) before `before`, at most `limit`; only one schedule's when given.
pub fn list(
    c: &mut DbConnection,
    schedule_id: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<RunRow>> {
    let mut q = shadowserver_runs::table
        .select(RunRow::as_select())
        .order(shadowserver_runs::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(s) = schedule_id {
        q = q.filter(shadowserver_runs::schedule_id.eq(s));
    }
    if let Some(b) = before {
        q = q.filter(shadowserver_runs::id.lt(b));
    }
    q.load(c)
}
