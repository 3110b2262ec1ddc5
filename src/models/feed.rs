//! The `feeds` table. Names are unique per owner; `indicator_count` is kept by every write that
//! adds or removes indicators, in the same transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{feeds, indicators, users};
use crate::db::{DbConnection, WriteTx};
use crate::domain::expiry::Overrides;
use crate::domain::feed::FeedKind;
use crate::domain::viewer::Viewer;
use crate::models::change::FeedWritten;
use crate::models::user::UserRow;
use diesel::connection::DefaultLoadingMode;

/// One feed as stored.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = feeds)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct FeedRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub private: bool,
    pub license_name: String,
    pub license_url: Option<String>,
    pub indicator_count: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// `indicators` or `whitelist` (`domain::feed::FeedKind`).
    pub kind: String,
    /// A whitelist applied to every export, not only its owner's (set by admins).
    pub global: bool,
    /// The feed's own bound on the IPv4 networks its exports carry (`None`: the server's).
    pub max_prefix: Option<i32>,
    /// The same for IPv6.
    pub max_prefix6: Option<i32>,
    /// The feed's own default lifetimes over the server's (`domain::expiry::Overrides`).
    pub lifetimes: Option<String>,
    /// Moves with every write to the feed or its indicators ([`add_indicators`], [`update`]).
    pub version: i64,
    /// The largest change-log seq the retention deleted from the feed (`models::change`).
    pub changes_pruned_seq: i64,
}

impl FeedRow {
    /// The feed's own default lifetimes (none named when it has none; a stored text was
    /// checked when written).
    pub fn lifetime_overrides(&self) -> Overrides {
        self.lifetimes
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or_default()
    }

    /// Whether this is a whitelist feed.
    pub fn is_whitelist(&self) -> bool {
        self.kind == FeedKind::Whitelist.as_str()
    }
}

/// What an indicator's object shows of its feed: a search reads this for every hit, where
/// the whole row (two timestamps parsed, the description copied) was thrown away unread.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = feeds)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct FeedLabel {
    pub name: String,
    pub license_name: String,
    pub license_url: Option<String>,
    /// Decides the default TLP of its unmarked indicators.
    pub private: bool,
}

/// A feed to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = feeds)]
pub struct NewFeed<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub private: bool,
    pub license_name: &'a str,
    pub license_url: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub kind: &'a str,
    pub global: bool,
    pub max_prefix: Option<i32>,
    pub max_prefix6: Option<i32>,
    pub lifetimes: Option<&'a str>,
}

/// Changes to a feed; `Some(None)` sets NULL.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = feeds)]
pub struct FeedChanges {
    pub description: Option<Option<String>>,
    pub private: Option<bool>,
    pub license_name: Option<String>,
    pub license_url: Option<Option<String>>,
    pub updated_at: Option<NaiveDateTime>,
    pub kind: Option<String>,
    pub global: Option<bool>,
    pub max_prefix: Option<Option<i32>>,
    pub max_prefix6: Option<Option<i32>>,
    pub lifetimes: Option<Option<String>>,
}

/// Inserts a feed; a taken name is a `UniqueViolation`.
pub fn insert(c: &mut WriteTx<'_>, new: &NewFeed<'_>) -> QueryResult<FeedRow> {
    let c = c.conn();
    let insert = diesel::insert_into(feeds::table).values(new);
    crate::on_backend!(c, |conn| insert
        .returning(FeedRow::as_returning())
        .get_result(conn))
}

/// Finds a feed by owner and (lower-case) name, whatever its visibility.
pub fn find_by_name(c: &mut DbConnection, owner_id: i64, name: &str) -> QueryResult<FeedRow> {
    feeds::table
        .filter(feeds::user_id.eq(owner_id))
        .filter(feeds::name.eq(name.to_lowercase()))
        .select(FeedRow::as_select())
        .get_result(c)
}

/// Finds a feed by id.
pub fn find(c: &mut DbConnection, id: i64) -> QueryResult<FeedRow> {
    feeds::table
        .find(id)
        .select(FeedRow::as_select())
        .get_result(c)
}

/// The feeds of a boxed query `viewer` may see: public ones, the viewer's own private ones,
/// every feed for an admin.
macro_rules! visible_to {
    ($query:expr, $viewer:expr) => {
        match $viewer {
            Viewer::Admin(_) => $query,
            Viewer::User(id) => $query.filter(feeds::private.eq(false).or(feeds::user_id.eq(id))),
            Viewer::Anonymous => $query.filter(feeds::private.eq(false)),
        }
    };
}

/// Finds the owner and the feed named in a path, applying visibility: another user's private
/// feed is `NotFound`, exactly like a missing one.
pub fn find_visible(
    c: &mut DbConnection,
    owner: &str,
    name: &str,
    viewer: Viewer,
) -> QueryResult<(UserRow, FeedRow)> {
    let (owner, name) = (owner.to_lowercase(), name.to_lowercase());
    // On the concrete connection: every request that names a feed runs this, and diesel's
    // multi-backend connection renders a statement's text up to three times per execution.
    crate::on_backend!(c, |conn| {
        let query = feeds::table
            .inner_join(users::table)
            .filter(users::username.eq(&owner))
            .filter(feeds::name.eq(&name))
            .into_boxed();
        visible_to!(query, viewer)
            .select((UserRow::as_select(), FeedRow::as_select()))
            .get_result(conn)
    })
}

/// A page of an owner's feeds by name, after `after` (exclusive); private ones only if asked.
pub fn list_for_owner(
    c: &mut DbConnection,
    owner_id: i64,
    include_private: bool,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<FeedRow>> {
    let mut query = feeds::table
        .filter(feeds::user_id.eq(owner_id))
        .into_boxed();
    if !include_private {
        query = query.filter(feeds::private.eq(false));
    }
    if let Some(after) = after {
        query = query.filter(feeds::name.gt(after.to_string()));
    }
    query
        .order(feeds::name.asc())
        .limit(limit)
        .select(FeedRow::as_select())
        .load(c)
}

/// How many of a feed's newest indicators (by effective time) the directory's `tag` filter
/// looks at: the `EXISTS` walks the feed's part of `indicators_feed_page` newest first and stops
/// there, so a feed of a million indicators without the tag costs this many rows, not a million.
pub const DIRECTORY_TAG_WINDOW: i64 = 1000;

/// What the directory of feeds ([`list_directory`]) is asked for.
#[derive(Debug, Clone, Default)]
pub struct DirectoryFilters {
    /// A case-insensitive substring of the feed's name or description (already lower-case).
    pub q: Option<String>,
    /// One normalised tag: feeds with an indicator carrying it among their newest
    /// [`DIRECTORY_TAG_WINDOW`] that the viewer may read and that has not expired at `now`.
    pub tag: Option<String>,
    /// The time expiry is judged at (the `tag` filter only).
    pub now: NaiveDateTime,
    /// The `(name, id)` the page starts after (exclusive).
    pub after: Option<(String, i64)>,
}

/// A page of the directory of feeds, by `(name, id)`, with each owner's name: every public
/// feed and the viewer's own private ones. An admin is a user here: the directory lists what a
/// consumer may read, and never another user's private feed.
pub fn list_directory(
    c: &mut DbConnection,
    viewer: Viewer,
    f: &DirectoryFilters,
    limit: i64,
) -> QueryResult<Vec<(FeedRow, String)>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text, Timestamp};
    let own = match viewer {
        Viewer::Anonymous => None,
        Viewer::User(id) | Viewer::Admin(id) => Some(id),
    };
    let mut query = feeds::table.inner_join(users::table).into_boxed();
    query = match own {
        None => query.filter(feeds::private.eq(false)),
        Some(id) => query.filter(feeds::private.eq(false).or(feeds::user_id.eq(id))),
    };
    if let Some(q) = &f.q {
        let pattern = format!("%{}%", crate::models::search::escape_tag(q));
        query = query.filter(
            sql::<Bool>("(lower(feeds.name) LIKE ")
                .bind::<Text, _>(pattern.clone())
                .sql(" ESCAPE '\\' OR lower(feeds.description) LIKE ")
                .bind::<Text, _>(pattern)
                .sql(" ESCAPE '\\')"),
        );
    }
    if let Some(tag) = &f.tag {
        let t = crate::models::search::escape_tag(tag);
        // The TLP rule: AMBER and RED indicators count only in the viewer's own feeds (an
        // unmarked one is CLEAR in a public feed, and the only private feeds listed are own).
        let open: Vec<String> = crate::domain::tlp::TlpSet::OPEN
            .names()
            .iter()
            .map(|n| format!("'{n}'"))
            .collect();
        let readable = match own {
            None => format!("(w.tlp IS NULL OR w.tlp IN ({}))", open.join(", ")),
            Some(id) => format!(
                "(w.tlp IS NULL OR w.tlp IN ({}) OR feeds.user_id = {id})",
                open.join(", ")
            ),
        };
        query = query.filter(
            sql::<Bool>(&format!(
                "EXISTS (SELECT 1 FROM indicators w WHERE w.id IN (SELECT i.id FROM indicators i \
                 WHERE i.feed_id = feeds.id ORDER BY i.effective_at DESC, i.id DESC LIMIT \
                 {DIRECTORY_TAG_WINDOW}) AND {readable} AND (w.tags = "
            ))
            .bind::<Text, _>(tag.clone())
            .sql(" OR w.tags LIKE ")
            .bind::<Text, _>(format!("{t},%"))
            .sql(" ESCAPE '\\' OR w.tags LIKE ")
            .bind::<Text, _>(format!("%,{t}"))
            .sql(" ESCAPE '\\' OR w.tags LIKE ")
            .bind::<Text, _>(format!("%,{t},%"))
            .sql(" ESCAPE '\\') AND (w.expires_at IS NULL OR w.expires_at > ")
            .bind::<Timestamp, _>(f.now)
            .sql("))"),
        );
    }
    if let Some((name, id)) = &f.after {
        query = query.filter(
            feeds::name
                .gt(name.clone())
                .or(feeds::name.eq(name.clone()).and(feeds::id.gt(*id))),
        );
    }
    query
        .order((feeds::name.asc(), feeds::id.asc()))
        .limit(limit)
        .select((FeedRow::as_select(), users::username))
        .load(c)
}

/// A whitelist feed that applies to an export, with its owner's name.
#[derive(Debug, Clone, Queryable)]
pub struct WhitelistFeed {
    pub feed: FeedRow,
    pub owner: String,
}

/// The whitelist feeds that apply to the exports of `owner_id`'s feeds: the owner's own and
/// every global one, by id.
pub fn list_whitelists(c: &mut DbConnection, owner_id: i64) -> QueryResult<Vec<WhitelistFeed>> {
    feeds::table
        .inner_join(users::table)
        .filter(feeds::kind.eq(FeedKind::Whitelist.as_str()))
        .filter(feeds::user_id.eq(owner_id).or(feeds::global.eq(true)))
        .order(feeds::id.asc())
        .select((FeedRow::as_select(), users::username))
        .load(c)
}

/// The largest indicator id of a feed (`None` when it has none). With the feed's
/// `indicator_count` it says whether the feed's set of values changed: ids are never reused
/// and a stored value never changes, so an insert raises it and a delete lowers the count.
/// An index-only read of the feed's part of `indicators_feed_page`.
pub fn newest_indicator_id(c: &mut DbConnection, feed_id: i64) -> QueryResult<Option<i64>> {
    indicators::table
        .filter(indicators::feed_id.eq(feed_id))
        .select(diesel::dsl::max(indicators::id))
        .get_result(c)
}

/// Calls `each` with the values of a feed's newest `limit` indicators (by effective time),
/// streamed, so a whitelist feed of a million values is never held as rows.
pub fn each_value(
    c: &mut DbConnection,
    feed_id: i64,
    limit: i64,
    mut each: impl FnMut(&str),
) -> QueryResult<()> {
    crate::on_backend!(c, |conn| {
        let iter = indicators::table
            .filter(indicators::feed_id.eq(feed_id))
            .order((indicators::effective_at.desc(), indicators::id.desc()))
            .limit(limit)
            .select(indicators::value)
            .load_iter::<String, DefaultLoadingMode>(conn)?;
        for value in iter {
            each(&value?);
        }
        Ok(())
    })
}

/// Applies changes and returns the new row.
pub fn update(c: &mut WriteTx<'_>, id: i64, changes: &FeedChanges) -> QueryResult<FeedRow> {
    let c = c.conn();
    let update =
        diesel::update(feeds::table.find(id)).set((changes, feeds::version.eq(feeds::version + 1)));
    crate::on_backend!(c, |conn| update
        .returning(FeedRow::as_returning())
        .get_result(conn))
}

/// Adds `delta` to the feed's indicator count, touches `updated_at` and moves `version`: every
/// write to a feed's indicators calls it in its transaction, so a cached export of the feed
/// is never served after one. The [`FeedWritten`] it returns lets the transaction append to
/// the feed's change log (`models::change`), under the lock this update took.
pub fn add_indicators(
    c: &mut WriteTx<'_>,
    id: i64,
    delta: i64,
    now: NaiveDateTime,
) -> QueryResult<FeedWritten> {
    let c = c.conn();
    crate::on_backend!(c, |conn| diesel::update(feeds::table.find(id))
        .set((
            feeds::indicator_count.eq(feeds::indicator_count + delta),
            feeds::updated_at.eq(now),
            feeds::version.eq(feeds::version + 1),
        ))
        .execute(conn))?;
    Ok(FeedWritten::new(id, now))
}

/// The `version` of each of `ids` that exists (the change streams' look for writes).
pub fn versions(c: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<(i64, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    feeds::table
        .filter(crate::db::sql::in_list(feeds::id, ids.to_vec()))
        .select((feeds::id, feeds::version))
        .load(c)
}

/// Deletes a feed (its indicators, comments and attachments go by cascade).
pub fn delete(c: &mut WriteTx<'_>, id: i64) -> QueryResult<usize> {
    let c = c.conn();
    diesel::delete(feeds::table.find(id)).execute(c)
}

/// The indicator feeds `viewer` may read, by id, with each owner's name, after `after` (TAXII
/// collections): public feeds, the viewer's own private ones, and every feed for an admin
/// (the visibility of [`find_visible`]). Whitelist feeds are no threat intelligence and are
/// left out.
pub fn list_readable(
    c: &mut DbConnection,
    viewer: Viewer,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<(FeedRow, String)>> {
    let mut query = feeds::table
        .inner_join(users::table)
        .filter(feeds::kind.eq(FeedKind::Indicators.as_str()))
        .into_boxed();
    query = visible_to!(query, viewer);
    if let Some(after) = after {
        query = query.filter(feeds::id.gt(after));
    }
    query
        .order(feeds::id.asc())
        .limit(limit)
        .select((FeedRow::as_select(), users::username))
        .load(c)
}

/// The indicator feed `id` with its owner's name, if `viewer` may read it (as
/// [`list_readable`] lists it); `None` for a missing feed and one the viewer may not see alike.
pub fn find_readable(
    c: &mut DbConnection,
    id: i64,
    viewer: Viewer,
) -> QueryResult<Option<(FeedRow, String)>> {
    let found: Option<(FeedRow, String)> = feeds::table
        .inner_join(users::table)
        .filter(feeds::id.eq(id))
        .filter(feeds::kind.eq(FeedKind::Indicators.as_str()))
        .select((FeedRow::as_select(), users::username))
        .get_result(c)
        .optional()?;
    Ok(found.filter(|(feed, _)| !feed.private || viewer.sees_private_of(feed.user_id)))
}
