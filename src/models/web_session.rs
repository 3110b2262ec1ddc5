//! The `web_sessions` table: the sign-in sessions of the web pages. A row holds the SHA-256 of
//! the random id in the visitor's cookie (never the id, never the token) and the token the
//! visitor pasted, whose state (revoked, expired, its user disabled) the session shares.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_tokens, web_sessions};
use crate::db::{DbConnection, WriteTx};

/// A session to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = web_sessions)]
pub struct NewWebSession<'a> {
    pub session_hash: &'a [u8],
    pub token_id: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// Inserts a session.
pub fn insert(c: &mut WriteTx<'_>, new: &NewWebSession<'_>) -> QueryResult<usize> {
    diesel::insert_into(web_sessions::table)
        .values(new)
        .execute(c.conn())
}

/// The stored hash of the token behind the unexpired session `session_hash`, and when the
/// session ends; `None` when there is no such session (unknown, signed out, or expired at
/// `now`).
pub fn find_token_hash(
    c: &mut DbConnection,
    session_hash: &[u8],
    now: NaiveDateTime,
) -> QueryResult<Option<(Vec<u8>, NaiveDateTime)>> {
    web_sessions::table
        .inner_join(api_tokens::table)
        .filter(web_sessions::session_hash.eq(session_hash))
        .filter(web_sessions::expires_at.gt(now))
        .select((api_tokens::token_hash, web_sessions::expires_at))
        .get_result(c)
        .optional()
}

/// Deletes the session `session_hash` (sign-out); the number of rows deleted (0 or 1).
pub fn delete_by_hash(c: &mut WriteTx<'_>, session_hash: &[u8]) -> QueryResult<usize> {
    diesel::delete(web_sessions::table.filter(web_sessions::session_hash.eq(session_hash)))
        .execute(c.conn())
}

/// Deletes the sessions that ended before `now` (housekeeping).
pub fn prune(c: &mut WriteTx<'_>, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(web_sessions::table.filter(web_sessions::expires_at.le(now))).execute(c.conn())
}
