//! `shadowserver_schedules`: scheduled Reports API pulls into one feed (issue 21). A schedule
//! is due once `next_run_at` has passed; a gateway claims a due run by moving `next_run_at`
//! forward with a compare-and-set ([`claim_due`]) in its write transaction, so however many
//! gateways share the database, one of them runs it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{feeds, shadowserver_schedules, users};
use crate::db::{DbConnection, WriteTx};

/// One schedule as stored; `reports` and `types` are JSON arrays of strings.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = shadowserver_schedules)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ScheduleRow {
    pub id: i64,
    pub feed_id: i64,
    pub reports: String,
    pub types: String,
    pub interval_hours: i32,
    pub days_back: i32,
    pub enabled: bool,
    pub next_run_at: NaiveDateTime,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ScheduleRow {
    /// The JSON array of `reports` (empty when unreadable).
    pub fn report_names(&self) -> Vec<String> {
        serde_json::from_str(&self.reports).unwrap_or_default()
    }

    /// The JSON array of `types` (empty when unreadable).
    pub fn type_names(&self) -> Vec<String> {
        serde_json::from_str(&self.types).unwrap_or_default()
    }
}

/// A schedule with the names of its feed and the feed's owner.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub row: ScheduleRow,
    pub owner_id: i64,
    pub owner: String,
    pub feed: String,
}

/// A schedule to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = shadowserver_schedules)]
pub struct NewSchedule<'a> {
    pub feed_id: i64,
    pub reports: &'a str,
    pub types: &'a str,
    pub interval_hours: i32,
    pub days_back: i32,
    pub enabled: bool,
    pub next_run_at: NaiveDateTime,
    pub created_by: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What a PATCH changes (`None`: unchanged).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = shadowserver_schedules)]
pub struct ScheduleChanges {
    pub feed_id: Option<i64>,
    pub reports: Option<String>,
    pub types: Option<String>,
    pub interval_hours: Option<i32>,
    pub days_back: Option<i32>,
    pub enabled: Option<bool>,
    pub next_run_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
}

type Joined = (ScheduleRow, (i64, String), String);

fn joined(rows: Vec<Joined>) -> Vec<Schedule> {
    rows.into_iter()
        .map(|(row, (owner_id, owner), feed)| Schedule {
            row,
            owner_id,
            owner,
            feed,
        })
        .collect()
}

macro_rules! with_names {
    () => {
        shadowserver_schedules::table
            .inner_join(feeds::table.inner_join(users::table))
            .select((
                ScheduleRow::as_select(),
                (users::id, users::username),
                feeds::name,
            ))
    };
}

/// Inserts a schedule; returns its id.
pub fn insert(c: &mut WriteTx<'_>, new: &NewSchedule<'_>) -> QueryResult<i64> {
    let c = c.conn();
    let insert = diesel::insert_into(shadowserver_schedules::table).values(new);
    crate::on_backend!(c, |conn| insert
        .returning(shadowserver_schedules::id)
        .get_result(conn))
}

/// A schedule by id, with its feed's and owner's names.
pub fn find(c: &mut DbConnection, id: i64) -> QueryResult<Schedule> {
    let rows: Vec<Joined> = with_names!()
        .filter(shadowserver_schedules::id.eq(id))
        .load(c)?;
    joined(rows)
        .into_iter()
        .next()
        .ok_or(diesel::result::Error::NotFound)
}

/// Schedules by id after `after`, at most `limit`.
pub fn list(c: &mut DbConnection, after: Option<i64>, limit: i64) -> QueryResult<Vec<Schedule>> {
    let rows: Vec<Joined> = with_names!()
        .filter(shadowserver_schedules::id.gt(after.unwrap_or(0)))
        .order(shadowserver_schedules::id.asc())
        .limit(limit)
        .load(c)?;
    Ok(joined(rows))
}

/// Applies a PATCH; `NotFound` for an unknown id.
pub fn update(c: &mut WriteTx<'_>, id: i64, changes: &ScheduleChanges) -> QueryResult<()> {
    let c = c.conn();
    let n = diesel::update(shadowserver_schedules::table.find(id))
        .set(changes)
        .execute(c)?;
    if n == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(())
}

/// Deletes a schedule and, by cascade, its runs; `NotFound` for an unknown id.
pub fn delete(c: &mut WriteTx<'_>, id: i64) -> QueryResult<()> {
    let c = c.conn();
    let n = diesel::delete(shadowserver_schedules::table.find(id)).execute(c)?;
    if n == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(())
}

/// The enabled schedules due at `now`, oldest due first, at most `limit`: (id, next_run_at).
pub fn due(
    c: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(i64, NaiveDateTime)>> {
    shadowserver_schedules::table
        .filter(shadowserver_schedules::enabled.eq(true))
        .filter(shadowserver_schedules::next_run_at.le(now))
        .order((
            shadowserver_schedules::next_run_at.asc(),
            shadowserver_schedules::id.asc(),
        ))
        .limit(limit)
        .select((
            shadowserver_schedules::id,
            shadowserver_schedules::next_run_at,
        ))
        .load(c)
}

/// Claims the due run of schedule `id` read as due at `seen`: moves `next_run_at` to `next`
/// only if it still is `seen`. On PostgreSQL a concurrent claim waits for this row lock, then
/// finds the value changed; on SQLite `BEGIN IMMEDIATE` admits one writer at a time. `true`:
/// this transaction's gateway runs it.
pub fn claim_due(
    c: &mut WriteTx<'_>,
    id: i64,
    seen: NaiveDateTime,
    next: NaiveDateTime,
) -> QueryResult<bool> {
    let c = c.conn();
    let n = diesel::update(
        shadowserver_schedules::table
            .find(id)
            .filter(shadowserver_schedules::enabled.eq(true))
            .filter(shadowserver_schedules::next_run_at.eq(seen)),
    )
    .set(shadowserver_schedules::next_run_at.eq(next))
    .execute(c)?;
    Ok(n == 1)
}
