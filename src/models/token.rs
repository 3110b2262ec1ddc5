//! The `api_tokens` table. Rows hold only the SHA-256 of a token; lookups are by that hash.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_tokens, users};
use crate::db::{DbConnection, WriteTx};
use crate::models::user::UserRow;

/// One token as stored (never the plaintext).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_tokens)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    #[diesel(deserialize_as = Vec<u8>)]
    pub token_hash: RedactedHash,
    pub prefix: String,
    pub name: String,
    pub scope: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// The stored hash, kept out of `Debug` output.
#[derive(Clone)]
pub struct RedactedHash(pub Vec<u8>);

impl From<Vec<u8>> for RedactedHash {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl std::fmt::Debug for RedactedHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<hash>")
    }
}

/// Scope names stored in `api_tokens.scope`.
pub const SCOPE_READ: &str = "read";
pub const SCOPE_WRITE: &str = "write";

/// A token to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewToken<'a> {
    pub user_id: i64,
    pub token_hash: &'a [u8],
    pub prefix: &'a str,
    pub name: &'a str,
    pub scope: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
}

/// Inserts a token row.
pub fn insert(c: &mut WriteTx<'_>, new: &NewToken<'_>) -> QueryResult<TokenRow> {
    let c = c.conn();
    let insert = diesel::insert_into(api_tokens::table).values(new);
    crate::on_backend!(c, |conn| insert
        .returning(TokenRow::as_returning())
        .get_result(conn))
}

/// Finds a token by hash together with its owner, whatever its state (the caller decides).
pub fn find_by_hash(c: &mut DbConnection, hash: &[u8]) -> QueryResult<Option<(TokenRow, UserRow)>> {
    api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(hash))
        .select((TokenRow::as_select(), UserRow::as_select()))
        .get_result(c)
        .optional()
}

/// Unrevoked tokens of a user, newest first.
pub fn list_active(c: &mut DbConnection, user_id: i64) -> QueryResult<Vec<TokenRow>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::revoked_at.is_null())
        .order(api_tokens::id.desc())
        .select(TokenRow::as_select())
        .load(c)
}

/// How many unrevoked tokens a user has.
pub fn count_active(c: &mut DbConnection, user_id: i64) -> QueryResult<i64> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::revoked_at.is_null())
        .count()
        .get_result(c)
}

/// Finds an unrevoked token by id (optionally only if it belongs to `user_id`).
pub fn find_active(c: &mut DbConnection, id: i64, user_id: Option<i64>) -> QueryResult<TokenRow> {
    let mut query = api_tokens::table
        .filter(api_tokens::id.eq(id))
        .filter(api_tokens::revoked_at.is_null())
        .into_boxed();
    if let Some(user) = user_id {
        query = query.filter(api_tokens::user_id.eq(user));
    }
    query.select(TokenRow::as_select()).get_result(c)
}

/// Revokes an unrevoked token; `NotFound` when it is unknown or already revoked.
pub fn revoke(
    c: &mut WriteTx<'_>,
    id: i64,
    user_id: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<TokenRow> {
    let c = c.conn();
    let row = find_active(c, id, user_id)?;
    let update = diesel::update(api_tokens::table.find(row.id))
        .filter(api_tokens::revoked_at.is_null())
        .set(api_tokens::revoked_at.eq(now));
    crate::on_backend!(c, |conn| update
        .returning(TokenRow::as_returning())
        .get_result(conn))
}

/// Records use, at most once a minute per token, so reads do not become writes.
pub fn touch(c: &mut WriteTx<'_>, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    let c = c.conn();
    let stale = now - chrono::Duration::seconds(60);
    diesel::update(api_tokens::table.find(id))
        .filter(
            api_tokens::last_used_at
                .is_null()
                .or(api_tokens::last_used_at.lt(stale)),
        )
        .set(api_tokens::last_used_at.eq(now))
        .execute(c)
}
