//! The `users` table: rows, insert form and the queries on it. Limit overrides use one
//! encoding: NULL = the server default, -1 = unlimited, N >= 0 = that limit (see `domain::limit`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::users;

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
pub fn insert(c: &mut DbConnection, new: &NewUser<'_>) -> QueryResult<UserRow> {
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
        .first(c)
}

/// Finds a user by id.
pub fn find(c: &mut DbConnection, id: i64) -> QueryResult<UserRow> {
    users::table.find(id).select(UserRow::as_select()).first(c)
}

/// How many users exist.
pub fn count(c: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(c)
}

/// Sets or clears the password hash.
pub fn set_password(
    c: &mut DbConnection,
    id: i64,
    hash: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
        .execute(c)
}
