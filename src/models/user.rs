//! The `users` table: rows, insert form and the queries on it. Limit overrides use one
//! encoding: NULL = the server default, -1 = unlimited, N >= 0 = that limit (see `domain::limit`).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::config::DefaultLimits;
use crate::db::schema::{api_tokens, comments, daily_usage, feeds, indicators, users};
use crate::db::{DbConnection, WriteTx};
use crate::domain::limit::Limit;
use crate::models::daily;

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

/// The four per-user limits an admin may override (spec §4.1, §4.4), in the order the API shows
/// them. `name` is the member name in `limits`, `usage` and `overridden`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    RequestsPerDay,
    PrivateFeeds,
    PublicFeeds,
    Indicators,
}

impl LimitKind {
    /// Every kind, in display order.
    pub const ALL: [LimitKind; 4] = [
        LimitKind::RequestsPerDay,
        LimitKind::PrivateFeeds,
        LimitKind::PublicFeeds,
        LimitKind::Indicators,
    ];

    /// The member name in API objects.
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::RequestsPerDay => "requests_per_day",
            LimitKind::PrivateFeeds => "private_feeds",
            LimitKind::PublicFeeds => "public_feeds",
            LimitKind::Indicators => "indicators",
        }
    }

    /// The member name of what is used of it in `usage` (`requests_today` for the daily limit).
    pub fn usage_name(self) -> &'static str {
        match self {
            LimitKind::RequestsPerDay => "requests_today",
            other => other.name(),
        }
    }

    /// The server default of this kind.
    pub fn default_in(self, defaults: &DefaultLimits) -> Limit {
        match self {
            LimitKind::RequestsPerDay => defaults.requests_per_day,
            LimitKind::PrivateFeeds => defaults.private_feeds,
            LimitKind::PublicFeeds => defaults.public_feeds,
            LimitKind::Indicators => defaults.indicators,
        }
    }
}

impl UserRow {
    /// The override column of a limit: NULL = default, -1 = unlimited, N = that limit.
    pub fn limit_override(&self, kind: LimitKind) -> Option<i64> {
        match kind {
            LimitKind::RequestsPerDay => self.requests_per_day,
            LimitKind::PrivateFeeds => self.max_private_feeds,
            LimitKind::PublicFeeds => self.max_public_feeds,
            LimitKind::Indicators => self.max_indicators,
        }
    }

    /// The effective limit of a kind: the override, else the server default.
    pub fn limit(&self, kind: LimitKind, defaults: &DefaultLimits) -> Limit {
        Limit::effective(self.limit_override(kind), kind.default_in(defaults))
    }

    /// What this user uses of a kind; requests are counted elsewhere (`daily_usage`).
    pub fn used(&self, kind: LimitKind, requests_today: i64) -> i64 {
        match kind {
            LimitKind::RequestsPerDay => requests_today,
            LimitKind::PrivateFeeds => self.private_feed_count,
            LimitKind::PublicFeeds => self.public_feed_count,
            LimitKind::Indicators => self.indicator_count,
        }
    }
}

/// New limit overrides, indexed like [`LimitKind::ALL`]: `None` leaves a limit alone,
/// `Some(None)` drops the override (back to the server default), `Some(Some(l))` sets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitChanges(pub [Option<Option<Limit>>; 4]);

impl LimitChanges {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// Sets the change for one kind.
    pub fn set(&mut self, kind: LimitKind, change: Option<Limit>) {
        if let Some(i) = LimitKind::ALL.iter().position(|k| *k == kind) {
            self.0[i] = Some(change);
        }
    }

    fn column(&self, i: usize) -> Option<Option<i64>> {
        self.0[i].map(|change| change.map(Limit::to_column))
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct LimitColumns {
    requests_per_day: Option<Option<i64>>,
    max_private_feeds: Option<Option<i64>>,
    max_public_feeds: Option<Option<i64>>,
    max_indicators: Option<Option<i64>>,
    updated_at: NaiveDateTime,
}

/// Applies limit overrides (none given: only `updated_at` moves).
pub fn set_limits(
    c: &mut WriteTx<'_>,
    id: i64,
    changes: &LimitChanges,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let c = c.conn();
    let columns = LimitColumns {
        requests_per_day: changes.column(0),
        max_private_feeds: changes.column(1),
        max_public_feeds: changes.column(2),
        max_indicators: changes.column(3),
        updated_at: now,
    };
    diesel::update(users::table.find(id))
        .set(&columns)
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

/// Usage that is not a counter column of `users`: requests today and unrevoked tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtraUsage {
    pub requests_today: i64,
    pub tokens: i64,
}

/// [`ExtraUsage`] of many users on `day`, in two queries however many users (absent: zero).
pub fn extra_usage(
    c: &mut DbConnection,
    ids: &[i64],
    day: NaiveDate,
) -> QueryResult<HashMap<i64, ExtraUsage>> {
    let mut out: HashMap<i64, ExtraUsage> = HashMap::new();
    // Chunked under the smaller bind limit of the two backends.
    for chunk in ids.chunks(900) {
        let subjects: HashMap<String, i64> = chunk
            .iter()
            .map(|id| (daily::user_subject(*id), *id))
            .collect();
        let requests: Vec<(String, i64)> = daily_usage::table
            .filter(daily_usage::day.eq(day))
            .filter(daily_usage::subject.eq_any(subjects.keys()))
            .select((daily_usage::subject, daily_usage::used))
            .load(c)?;
        for (subject, used) in requests {
            if let Some(id) = subjects.get(&subject) {
                out.entry(*id).or_default().requests_today = used;
            }
        }
        let tokens: Vec<(i64, i64)> = api_tokens::table
            .filter(api_tokens::user_id.eq_any(chunk))
            .filter(api_tokens::revoked_at.is_null())
            .group_by(api_tokens::user_id)
            .select((api_tokens::user_id, diesel::dsl::count_star()))
            .load(c)?;
        for (id, n) in tokens {
            out.entry(id).or_default().tokens = n;
        }
    }
    Ok(out)
}

/// The user's indicator quota override and indicator count, the row locked for the rest of
/// the transaction on PostgreSQL (SQLite's write transaction holds the database), so that
/// what is left stays exact until it ends.
pub fn lock_indicator_quota(c: &mut WriteTx<'_>, id: i64) -> QueryResult<(Option<i64>, i64)> {
    let query = users::table
        .find(id)
        .select((users::max_indicators, users::indicator_count));
    match c.conn() {
        DbConnection::Postgresql(conn) => query.for_update().get_result(conn),
        DbConnection::Sqlite(conn) => query.get_result(conn),
    }
}

/// Adds `n` to the user's indicator count (a negative `n` gives units back). With `most`, only
/// while the new total stays within it: one conditional statement, so concurrent writers
/// cannot overshoot (`limits::quota` owns the rule). Whether the row changed; `false` with
/// `most` means the quota refused.
pub fn add_indicator_count(
    c: &mut WriteTx<'_>,
    id: i64,
    n: i64,
    most: Option<i64>,
) -> QueryResult<bool> {
    let c = c.conn();
    let target = users::table.filter(users::id.eq(id));
    let changed = match most {
        None => crate::on_backend!(c, |conn| diesel::update(target)
            .set(users::indicator_count.eq(users::indicator_count + n))
            .execute(conn))?,
        Some(most) => crate::on_backend!(c, |conn| diesel::update(
            target.filter((users::indicator_count + n).le(most))
        )
        .set(users::indicator_count.eq(users::indicator_count + n))
        .execute(conn))?,
    };
    Ok(changed == 1)
}

/// Adds `n` to the user's private or public feed count, like [`add_indicator_count`].
pub fn add_feed_count(
    c: &mut WriteTx<'_>,
    id: i64,
    private: bool,
    n: i64,
    most: Option<i64>,
) -> QueryResult<bool> {
    let c = c.conn();
    let target = users::table.filter(users::id.eq(id));
    let changed = match (private, most) {
        (true, None) => diesel::update(target)
            .set(users::private_feed_count.eq(users::private_feed_count + n))
            .execute(c)?,
        (false, None) => diesel::update(target)
            .set(users::public_feed_count.eq(users::public_feed_count + n))
            .execute(c)?,
        (true, Some(most)) => {
            diesel::update(target.filter((users::private_feed_count + n).le(most)))
                .set(users::private_feed_count.eq(users::private_feed_count + n))
                .execute(c)?
        }
        (false, Some(most)) => {
            diesel::update(target.filter((users::public_feed_count + n).le(most)))
                .set(users::public_feed_count.eq(users::public_feed_count + n))
                .execute(c)?
        }
    };
    Ok(changed == 1)
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

/// [`ExtraUsage`] of one user on `day`.
pub fn extra_usage_of(c: &mut DbConnection, id: i64, day: NaiveDate) -> QueryResult<ExtraUsage> {
    Ok(extra_usage(c, &[id], day)?.remove(&id).unwrap_or_default())
}
