//! The path of every route under one feed, and finding that feed as the caller may see or
//! write it (`auth::access` holds the rules); the feed, indicator, export, comment, attachment
//! and import handlers all start here.

use serde::Deserialize;

use crate::auth::access;
use crate::auth::caller::{AuthUser, Caller};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::models::feed::FeedRow;
use crate::models::user::UserRow;

/// Path of routes under one feed.
#[derive(Debug, Deserialize)]
pub struct FeedPath {
    pub user: String,
    pub feed: String,
}

/// Finds the feed of a path as `caller` may see it (404 otherwise); see `auth::access`.
pub fn visible_feed(
    c: &mut DbConnection,
    path: &FeedPath,
    caller: &Caller,
) -> Result<(UserRow, FeedRow), ApiError> {
    access::visible_feed(c, &path.user, &path.feed, caller)
}

/// Finds the feed of a path for a write: 404 when invisible, 403 when it is another user's.
pub fn writable_feed(
    c: &mut DbConnection,
    path: &FeedPath,
    writer: &AuthUser,
) -> Result<(UserRow, FeedRow), ApiError> {
    access::writable_feed(c, &path.user, &path.feed, writer)
}
