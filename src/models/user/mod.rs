//! The `users` table: rows, insert form, roles, the queries on it and deleting a user. The
//! limits an admin may override are in `limits`, what a user uses of them in `usage`.

mod limits;
mod usage;

pub use limits::{LimitChanges, LimitKind, set_limits};
pub use usage::{
    ExtraUsage, add_feed_count, add_indicator_count, extra_usage, extra_usage_of,
    lock_indicator_quota,
};

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_tokens, comments, feeds, indicators, users};
use crate::db::{DbConnection, WriteTx};

/// One user as stored.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub disabled: bool,
    pub requests_per_day: Option<i64>,
    pub max_private_feeds: Option<i64>,
    pub max_public_feeds: Option<i64>,
    pub max_indicators: Option<i64>,
    pub private_feed_count: i64,
    pub public_feed_count: i64,
    pub indicator_count: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl UserRow {
    /// Whether this user has the admin role.
    pub fn is_admin(&self) -> bool {
        self.role == ROLE_ADMIN
    }
}

/// The role names stored in `users.role`.
pub const ROLE_ADMIN: &str = "admin";
pub const ROLE_USER: &str = "user";

/// A user to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: Option<&'a str>,
    pub role: &'a str,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Inserts a user; a taken name is a `UniqueViolation`.
pub fn insert(c: &mut WriteTx<'_>, new: &NewUser<'_>) -> QueryResult<UserRow> {
    let c = c.conn();
    let insert = diesel::insert_into(users::table).values(new);
    crate::on_backend!(c, |conn| insert
        .returning(UserRow::as_returning())
        .get_result(conn))
}

/// Finds a user by its (lower-case) name.
pub fn find_by_name(c: &mut DbConnection, name: &str) -> QueryResult<UserRow> {
    users::table
        .filter(users::username.eq(name.to_lowercase()))
        .select(UserRow::as_select())
        .get_result(c)
}

/// Finds a user by id.
pub fn find(c: &mut DbConnection, id: i64) -> QueryResult<UserRow> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .get_result(c)
}

/// How many users exist.
pub fn count(c: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(c)
}

/// Sets or clears the password hash.
pub fn set_password(
    c: &mut WriteTx<'_>,
    id: i64,
    hash: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let c = c.conn();
    diesel::update(users::table.find(id))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
        .execute(c)
}

/// Sets the role (`ROLE_USER` or `ROLE_ADMIN`).
pub fn set_role(
    c: &mut WriteTx<'_>,
    id: i64,
    role: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let c = c.conn();
    diesel::update(users::table.find(id))
        .set((users::role.eq(role), users::updated_at.eq(now)))
        .execute(c)
}

/// Disables or enables a user; a disabled user's tokens fail from the next request on.
pub fn set_disabled(
    c: &mut WriteTx<'_>,
    id: i64,
    disabled: bool,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let c = c.conn();
    diesel::update(users::table.find(id))
        .set((users::disabled.eq(disabled), users::updated_at.eq(now)))
        .execute(c)
}

/// A page of users by name, after `after` (exclusive).
pub fn list(c: &mut DbConnection, after: Option<&str>, limit: i64) -> QueryResult<Vec<UserRow>> {
    let mut query = users::table.into_boxed();
    if let Some(after) = after {
        query = query.filter(users::username.gt(after.to_string()));
    }
    query
        .order(users::username.asc())
        .limit(limit)
        .select(UserRow::as_select())
        .load(c)
}

/// The ids of the enabled admins. On PostgreSQL their rows stay locked for the rest of the
/// transaction, so two admins demoting each other at once cannot both see "another one is
/// left" (SQLite's write transaction already serialises writers).
fn enabled_admin_ids(c: &mut DbConnection) -> QueryResult<Vec<i64>> {
    macro_rules! query {
        () => {
            users::table
                .filter(users::role.eq(ROLE_ADMIN))
                .filter(users::disabled.eq(false))
                .select(users::id)
        };
    }
    match c {
        DbConnection::Postgresql(conn) => query!().for_update().load(conn),
        DbConnection::Sqlite(conn) => query!().load(conn),
    }
}

/// How many admins are enabled (their rows locked on PostgreSQL, as [`would_remove_last_admin`]).
pub fn count_enabled_admins(c: &mut DbConnection) -> QueryResult<i64> {
    Ok(enabled_admin_ids(c)?.len() as i64)
}

/// Whether a change that leaves user `id` an enabled admin or not (`stays_enabled_admin`)
/// would remove the last enabled admin: true when `id` is now the only one. Call it inside the
/// write transaction of that change; it decides on rows it has locked, not on an earlier read.
pub fn would_remove_last_admin(
    c: &mut DbConnection,
    id: i64,
    stays_enabled_admin: bool,
) -> QueryResult<bool> {
    if stays_enabled_admin {
        return Ok(false);
    }
    Ok(enabled_admin_ids(c)? == [id])
}

/// What deleting a user removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deleted {
    pub feeds: i64,
    pub indicators: i64,
    /// Unrevoked tokens (revoked ones go too, but no longer counted for anything).
    pub tokens: i64,
}

/// Deletes a user with their feeds, indicators (with their comments and attachments), tokens,
/// and the comments they wrote on other users' indicators, whose `comments_count` is lowered
/// to match. Run it inside a write transaction; it frees no other user's quota.
pub fn delete(c: &mut WriteTx<'_>, id: i64) -> QueryResult<Deleted> {
    let c = c.conn();
    uncount_comments_elsewhere(c, id)?;
    // Counted here rather than through `models::token`, which depends on this module.
    let tokens: i64 = api_tokens::table
        .filter(api_tokens::user_id.eq(id))
        .filter(api_tokens::revoked_at.is_null())
        .count()
        .get_result(c)?;
    let own_feeds = feeds::table.filter(feeds::user_id.eq(id)).select(feeds::id);
    let indicators = diesel::delete(indicators::table.filter(indicators::feed_id.eq_any(own_feeds)))
        .execute(c)? as i64;
    let feeds = diesel::delete(feeds::table.filter(feeds::user_id.eq(id))).execute(c)? as i64;
    diesel::delete(comments::table.filter(comments::user_id.eq(id))).execute(c)?;
    diesel::delete(api_tokens::table.filter(api_tokens::user_id.eq(id))).execute(c)?;
    let gone = diesel::delete(users::table.find(id)).execute(c)?;
    if gone == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(Deleted {
        feeds,
        indicators,
        tokens,
    })
}

/// Lowers `comments_count` of other users' indicators by the comments `author` wrote there:
/// one statement per distinct count, not one per indicator.
fn uncount_comments_elsewhere(c: &mut DbConnection, author: i64) -> QueryResult<()> {
    let per_indicator: Vec<(i64, i64)> = comments::table
        .inner_join(indicators::table)
        .filter(comments::user_id.eq(author))
        .filter(indicators::user_id.ne(author))
        .group_by(comments::indicator_id)
        .select((comments::indicator_id, diesel::dsl::count_star()))
        .load(c)?;
    let mut by_count: HashMap<i64, Vec<i64>> = HashMap::new();
    for (indicator, n) in per_indicator {
        by_count.entry(n).or_default().push(indicator);
    }
    for (n, ids) in by_count {
        for chunk in ids.chunks(900) {
            diesel::update(indicators::table.filter(indicators::id.eq_any(chunk)))
                .set(indicators::comments_count.eq(indicators::comments_count - n))
                .execute(c)?;
        }
    }
    Ok(())
}
