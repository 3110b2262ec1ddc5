//! What a user uses of their limits: the counter columns of `users` (changed under the quota
//! by `limits::quota`), and requests today and unrevoked tokens, counted in other tables.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::schema::{api_tokens, daily_usage, users};
use crate::db::{DbConnection, WriteTx};
use crate::models::daily;

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

/// [`ExtraUsage`] of one user on `day`.
pub fn extra_usage_of(c: &mut DbConnection, id: i64, day: NaiveDate) -> QueryResult<ExtraUsage> {
    Ok(extra_usage(c, &[id], day)?.remove(&id).unwrap_or_default())
}
