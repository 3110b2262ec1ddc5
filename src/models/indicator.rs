//! The `indicators` table: rows, the insert and merge forms, and the per-feed queries (upsert
//! lookup, keyset pages). Search queries live in `models::search`.

use chrono::NaiveDateTime;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::indicators;
use crate::db::time::{DbTime, DbTimeOpt};

/// One indicator as stored: the [`IndicatorFields`] every reader shows (reached through
/// `Deref`), and the rest.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = indicators)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct IndicatorRow {
    #[diesel(embed)]
    pub fields: IndicatorFields,
    pub feed_id: i64,
    pub user_id: i64,
    pub ip_lo: Option<Vec<u8>>,
    pub ip_hi: Option<Vec<u8>>,
    pub host_rev: Option<Vec<u8>>,
    pub content: Option<String>,
    pub import_key: Option<String>,
    pub comments_count: i64,
    pub attachments_count: i64,
    /// Set while `content` is an imported row's packed copy; [`expand_contents`] rebuilds the
    /// full text and clears it. Always `None` in rows handed to the API's renderers.
    pub content_header: Option<i64>,
}

/// The columns of an indicator that every reader shows, and all the CSV export reads: no
/// address or host keys, no stored copy. Decoding rows is most of an export's time, and those
/// are a third of a row's allocations (and most of an imported row's bytes).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = indicators)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct IndicatorFields {
    pub id: i64,
    pub value: String,
    pub itype: String,
    pub tags: String,
    pub portlist: Option<String>,
    pub portlist_src: Option<String>,
    pub protocol: Option<i64>,
    #[diesel(deserialize_as = DbTimeOpt)]
    pub firsttime: Option<NaiveDateTime>,
    #[diesel(deserialize_as = DbTimeOpt)]
    pub lasttime: Option<NaiveDateTime>,
    #[diesel(deserialize_as = DbTime)]
    pub effective_at: NaiveDateTime,
    pub count: i64,
    pub description: Option<String>,
    pub provider: Option<String>,
    pub asn: Option<i64>,
    pub asn_desc: Option<String>,
    pub cc: Option<String>,
    #[diesel(deserialize_as = DbTime)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = DbTime)]
    pub updated_at: NaiveDateTime,
}

impl std::ops::Deref for IndicatorRow {
    type Target = IndicatorFields;

    fn deref(&self) -> &IndicatorFields {
        &self.fields
    }
}

impl std::ops::DerefMut for IndicatorRow {
    fn deref_mut(&mut self) -> &mut IndicatorFields {
        &mut self.fields
    }
}

impl IndicatorRow {
    /// The tags as a list (`[]` when none).
    pub fn tag_list(&self) -> Vec<&str> {
        self.tags.split(',').filter(|t| !t.is_empty()).collect()
    }
}

/// An indicator to insert. `None` inserts NULL (not DEFAULT), which lets SQLite take many rows
/// in one statement.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = indicators)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewIndicator {
    pub feed_id: i64,
    pub user_id: i64,
    pub value: String,
    pub itype: String,
    pub ip_lo: Option<Vec<u8>>,
    pub ip_hi: Option<Vec<u8>>,
    pub host_rev: Option<Vec<u8>>,
    pub portlist: Option<String>,
    pub portlist_src: Option<String>,
    pub protocol: Option<i64>,
    pub firsttime: Option<NaiveDateTime>,
    pub lasttime: Option<NaiveDateTime>,
    pub effective_at: NaiveDateTime,
    pub count: i64,
    pub description: Option<String>,
    pub content: Option<String>,
    pub provider: Option<String>,
    pub asn: Option<i64>,
    pub asn_desc: Option<String>,
    pub cc: Option<String>,
    pub tags: String,
    pub import_key: Option<String>,
    pub comments_count: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub content_header: Option<i64>,
}

/// Changes to an indicator; `Some(None)` sets NULL.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = indicators)]
pub struct IndicatorChanges {
    pub portlist: Option<Option<String>>,
    pub portlist_src: Option<Option<String>>,
    pub protocol: Option<Option<i64>>,
    pub firsttime: Option<Option<NaiveDateTime>>,
    pub lasttime: Option<Option<NaiveDateTime>>,
    pub effective_at: Option<NaiveDateTime>,
    pub count: Option<i64>,
    pub description: Option<Option<String>>,
    pub content: Option<Option<String>>,
    /// Cleared by [`update`] whenever `content` is set: new text is never packed.
    pub content_header: Option<Option<i64>>,
    pub provider: Option<Option<String>>,
    pub tags: Option<String>,
    pub comments_count: Option<i64>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Inserts one indicator.
pub fn insert(c: &mut DbConnection, new: &NewIndicator) -> QueryResult<IndicatorRow> {
    let insert = diesel::insert_into(indicators::table).values(new);
    crate::on_backend!(c, |conn| insert
        .returning(IndicatorRow::as_returning())
        .get_result(conn))
}

/// The API-written indicator of a feed with this normalised value, if any, locked for the rest
/// of the transaction: concurrent upserts of one value merge one after the other instead of
/// overwriting each other's count and tags (PostgreSQL `FOR UPDATE`; SQLite's write
/// transaction already holds the database lock).
pub fn find_api_value(
    c: &mut DbConnection,
    feed_id: i64,
    value: &str,
) -> QueryResult<Option<IndicatorRow>> {
    macro_rules! query {
        () => {
            indicators::table
                .filter(indicators::feed_id.eq(feed_id))
                .filter(indicators::value.eq(value))
                .filter(indicators::import_key.is_null())
                .select(IndicatorRow::as_select())
        };
    }
    match c {
        DbConnection::Postgresql(conn) => query!().for_update().get_result(conn).optional(),
        DbConnection::Sqlite(conn) => query!().get_result(conn).optional(),
    }
}

/// The API-written indicators of a feed among `values` (for bulk upserts: one query).
pub fn find_api_values(
    c: &mut DbConnection,
    feed_id: i64,
    values: &[String],
) -> QueryResult<Vec<IndicatorRow>> {
    let mut out = Vec::new();
    // Chunked under the smaller bind limit of the two backends; locked like `find_api_value`.
    for chunk in values.chunks(900) {
        macro_rules! query {
            () => {
                indicators::table
                    .filter(indicators::feed_id.eq(feed_id))
                    .filter(indicators::import_key.is_null())
                    .filter(indicators::value.eq_any(chunk))
                    .select(IndicatorRow::as_select())
            };
        }
        out.extend(match c {
            DbConnection::Postgresql(conn) => query!().for_update().load(conn)?,
            DbConnection::Sqlite(conn) => query!().load(conn)?,
        });
    }
    Ok(out)
}

/// Rows per multi-row INSERT: 27 columns × 1,000 stays under SQLite's 32,766 bind parameters.
const INSERT_CHUNK: usize = 1000;

/// Inserts many indicators with multi-row statements; returns `(id, value)` of each new row.
pub fn insert_many(c: &mut DbConnection, rows: &[NewIndicator]) -> QueryResult<Vec<(i64, String)>> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(INSERT_CHUNK) {
        let insert = diesel::insert_into(indicators::table).values(chunk);
        let ids: Vec<(i64, String)> = crate::on_backend!(c, |conn| insert
            .returning((indicators::id, indicators::value))
            .get_results(conn))?;
        out.extend(ids);
    }
    Ok(out)
}

/// An indicator by id within a feed.
pub fn find_in_feed(c: &mut DbConnection, feed_id: i64, id: i64) -> QueryResult<IndicatorRow> {
    indicators::table
        .filter(indicators::id.eq(id))
        .filter(indicators::feed_id.eq(feed_id))
        .select(IndicatorRow::as_select())
        .get_result(c)
}

/// Applies changes and returns the new row.
pub fn update(
    c: &mut DbConnection,
    id: i64,
    changes: &IndicatorChanges,
) -> QueryResult<IndicatorRow> {
    // New text is stored full: an imported row's packed copy loses its header with it.
    let cleared;
    let changes = if changes.content.is_some() && changes.content_header.is_none() {
        cleared = IndicatorChanges {
            content_header: Some(None),
            ..changes.clone()
        };
        &cleared
    } else {
        changes
    };
    let update = diesel::update(indicators::table.find(id)).set(changes);
    crate::on_backend!(c, |conn| update
        .returning(IndicatorRow::as_returning())
        .get_result(conn))
}

/// Gives imported rows their full stored copy (spec §3.4) in place of the packed one, with
/// one query for the header names the rows use; rows already full are left alone. A packed
/// copy that cannot be read (it never happens unless the database was edited) is shown as
/// stored rather than failing the request.
pub fn expand_contents<'r>(
    c: &mut DbConnection,
    rows: impl IntoIterator<Item = &'r mut IndicatorRow>,
) -> QueryResult<()> {
    let packed: Vec<&mut IndicatorRow> = rows
        .into_iter()
        .filter(|r| r.content_header.is_some())
        .collect();
    if packed.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<i64> = packed.iter().filter_map(|r| r.content_header).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = crate::models::content_header::names_of(c, &ids)?;
    for r in packed {
        let header = r.content_header.take();
        let full = match (r.content.as_deref(), header.and_then(|h| names.get(&h))) {
            (Some(text), Some(names)) => crate::import::shadowserver::expand_content(text, names),
            _ => None,
        };
        match full {
            Some(full) => r.content = Some(full),
            None => tracing::warn!(
                indicator = r.id,
                "an imported row's stored copy could not be expanded; shown as stored"
            ),
        }
    }
    Ok(())
}

/// Deletes one indicator (its comments and attachments go by cascade).
pub fn delete(c: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(indicators::table.find(id)).execute(c)
}

/// A keyset position: the effective time and id of the last item of the previous page.
pub type PageKey = (NaiveDateTime, i64);

/// Which page of a feed: newest first by effective time then id, after `after`, optionally
/// only those at or after `since`, at most `limit`. Served by the index
/// `(feed_id, effective_at, id)` at any depth.
#[derive(Debug, Clone, Copy)]
pub struct PageOf {
    pub feed_id: i64,
    pub since: Option<NaiveDateTime>,
    pub after: Option<PageKey>,
    pub limit: i64,
}

/// The page as `$row`s.
macro_rules! page_of {
    ($c:expr, $row:ty, $p:expr) => {{
        let p: &PageOf = $p;
        let mut query = indicators::table
            .filter(indicators::feed_id.eq(p.feed_id))
            .into_boxed();
        if let Some(since) = p.since {
            query = query.filter(indicators::effective_at.ge(since));
        }
        if let Some((t, id)) = p.after {
            query = query.filter(crate::db::sql::row_before(
                indicators::effective_at,
                indicators::id,
                t,
                id,
            ));
        }
        let query = query
            .order((indicators::effective_at.desc(), indicators::id.desc()))
            .select(<$row>::as_select());
        let rows =
            crate::db::sql::limited(query, p.limit).load_iter::<$row, DefaultLoadingMode>($c)?;
        crate::db::sql::take_rows(rows, p.limit)
    }};
}

// Pages run on the concrete connection: through diesel's multi-backend connection every
// execution rendered the statement's text up to three times (see `models::search`).

/// One page of a feed.
pub fn page(c: &mut DbConnection, p: &PageOf) -> QueryResult<Vec<IndicatorRow>> {
    crate::on_backend!(c, |conn| page_of!(conn, IndicatorRow, p))
}

/// [`page`] with the CSV export's columns only.
pub fn export_page(c: &mut DbConnection, p: &PageOf) -> QueryResult<Vec<IndicatorFields>> {
    crate::on_backend!(c, |conn| page_of!(conn, IndicatorFields, p))
}
