//! The `comments` table: comments on indicators, oldest first.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{comments, users};
use crate::db::{DbConnection, WriteTx};

/// A comment with its author's name.
#[derive(Debug, Clone)]
pub struct CommentView {
    pub id: i64,
    pub indicator_id: i64,
    pub text: String,
    pub user: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

type CommentTuple = (i64, i64, String, String, NaiveDateTime, NaiveDateTime);

fn view((id, indicator_id, text, user, created_at, updated_at): CommentTuple) -> CommentView {
    CommentView {
        id,
        indicator_id,
        text,
        user,
        created_at,
        updated_at,
    }
}

/// Inserts a comment and returns it.
pub fn insert(
    c: &mut WriteTx<'_>,
    indicator_id: i64,
    user_id: i64,
    text: &str,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    let c = c.conn();
    let insert = diesel::insert_into(comments::table).values((
        comments::indicator_id.eq(indicator_id),
        comments::user_id.eq(user_id),
        comments::text.eq(text),
        comments::created_at.eq(now),
        comments::updated_at.eq(now),
    ));
    crate::on_backend!(c, |conn| insert.returning(comments::id).get_result(conn))
}

/// Inserts many `(indicator id, author id, text)` comments in multi-row statements.
pub fn insert_many(
    c: &mut WriteTx<'_>,
    rows: &[(i64, i64, String)],
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let c = c.conn();
    let mut n = 0;
    for chunk in rows.chunks(1000) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(indicator_id, user_id, text)| {
                (
                    comments::indicator_id.eq(*indicator_id),
                    comments::user_id.eq(*user_id),
                    comments::text.eq(text.as_str()),
                    comments::created_at.eq(now),
                    comments::updated_at.eq(now),
                )
            })
            .collect();
        let insert = diesel::insert_into(comments::table).values(values);
        n += crate::on_backend!(c, |conn| insert.execute(conn))?;
    }
    Ok(n)
}

/// A page of an indicator's comments, oldest first, after id `after`.
pub fn list(
    c: &mut DbConnection,
    indicator_id: i64,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<CommentView>> {
    let mut query = comments::table
        .inner_join(users::table)
        .filter(comments::indicator_id.eq(indicator_id))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(comments::id.gt(after));
    }
    let rows: Vec<CommentTuple> = query
        .order(comments::id.asc())
        .limit(limit)
        .select((
            comments::id,
            comments::indicator_id,
            comments::text,
            users::username,
            comments::created_at,
            comments::updated_at,
        ))
        .load(c)?;
    Ok(rows.into_iter().map(view).collect())
}

/// The comments of many indicators in one query, oldest first; with `newest`, only that many
/// of the newest per indicator (list contexts show at most 10).
pub fn for_indicators(
    c: &mut DbConnection,
    ids: &[i64],
    newest: Option<usize>,
) -> QueryResult<HashMap<i64, Vec<CommentView>>> {
    let mut out: HashMap<i64, Vec<CommentView>> = HashMap::new();
    for chunk in ids.chunks(900) {
        let rows: Vec<CommentTuple> = comments::table
            .inner_join(users::table)
            .filter(comments::indicator_id.eq_any(chunk))
            .order((comments::indicator_id.asc(), comments::id.asc()))
            .select((
                comments::id,
                comments::indicator_id,
                comments::text,
                users::username,
                comments::created_at,
                comments::updated_at,
            ))
            .load(c)?;
        for row in rows {
            let v = view(row);
            out.entry(v.indicator_id).or_default().push(v);
        }
    }
    if let Some(n) = newest {
        for list in out.values_mut() {
            if list.len() > n {
                list.drain(..list.len() - n);
            }
        }
    }
    Ok(out)
}

/// Re-counts after inserts (the indicator's `comments_count` column is updated by the caller).
pub fn count(c: &mut DbConnection, indicator_id: i64) -> QueryResult<i64> {
    comments::table
        .filter(comments::indicator_id.eq(indicator_id))
        .count()
        .get_result(c)
}
