//! The `indicators` table: rows, the insert and merge forms, and the per-feed queries (upsert
//! lookup, keyset pages). Search queries live in `models::search`.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Binary, HasSqlType, Nullable, Text, Timestamp};

use crate::db::schema::indicators;
use crate::db::time::{DbTime, DbTimeOpt, Stamp};
use crate::db::{DbConnection, WriteTx};

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
    // Not the match keys (`ip_lo`, `ip_hi`, `host_rev`) nor `import_key`: only SQL uses them
    // (searches, the importer's lookups), so decoding them for every row read is waste.
    pub content: Option<String>,
    pub comments_count: i64,
    pub attachments_count: i64,
    /// Set while `content` is an imported row's packed copy; [`expand_contents`] rebuilds the
    /// full text and clears it. Always `None` in rows handed to the API's renderers.
    pub content_header: Option<i64>,
}

/// The columns of an indicator that every reader shows, and all the CSV export reads: no
/// address or host keys, no stored copy. Decoding rows is most of an export's time, and those
/// columns are many of a row's allocations (and most of an imported row's bytes).
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

/// An indicator to insert (bound through [`InsertRow`]).
#[derive(Debug, Clone)]
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

/// The bound form of a [`NewIndicator`]: text borrowed, timestamps written once as
/// [`Stamp`]s (diesel formats a `NaiveDateTime` with chrono's `strftime` interpreter into a new
/// `String` per bind). `None` inserts NULL (not DEFAULT), which lets
/// SQLite take many rows in one statement.
#[derive(Insertable)]
#[diesel(table_name = indicators)]
#[diesel(treat_none_as_default_value = false)]
struct InsertRow<'a> {
    feed_id: i64,
    user_id: i64,
    value: &'a str,
    itype: &'a str,
    ip_lo: Option<&'a [u8]>,
    ip_hi: Option<&'a [u8]>,
    host_rev: Option<&'a [u8]>,
    portlist: Option<&'a str>,
    portlist_src: Option<&'a str>,
    protocol: Option<i64>,
    firsttime: Option<Stamp>,
    lasttime: Option<Stamp>,
    effective_at: Stamp,
    count: i64,
    description: Option<&'a str>,
    content: Option<&'a str>,
    provider: Option<&'a str>,
    asn: Option<i64>,
    asn_desc: Option<&'a str>,
    cc: Option<&'a str>,
    tags: &'a str,
    import_key: Option<&'a str>,
    comments_count: i64,
    created_at: Stamp,
    updated_at: Stamp,
    content_header: Option<i64>,
}

impl<'a> From<&'a NewIndicator> for InsertRow<'a> {
    fn from(n: &'a NewIndicator) -> Self {
        InsertRow {
            feed_id: n.feed_id,
            user_id: n.user_id,
            value: &n.value,
            itype: &n.itype,
            ip_lo: n.ip_lo.as_deref(),
            ip_hi: n.ip_hi.as_deref(),
            host_rev: n.host_rev.as_deref(),
            portlist: n.portlist.as_deref(),
            portlist_src: n.portlist_src.as_deref(),
            protocol: n.protocol,
            firsttime: n.firsttime.map(Stamp::new),
            lasttime: n.lasttime.map(Stamp::new),
            effective_at: Stamp::new(n.effective_at),
            count: n.count,
            description: n.description.as_deref(),
            content: n.content.as_deref(),
            provider: n.provider.as_deref(),
            asn: n.asn,
            asn_desc: n.asn_desc.as_deref(),
            cc: n.cc.as_deref(),
            tags: &n.tags,
            import_key: n.import_key.as_deref(),
            comments_count: n.comments_count,
            created_at: Stamp::new(n.created_at),
            updated_at: Stamp::new(n.updated_at),
            content_header: n.content_header,
        }
    }
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

/// The prefix length of a new row's network (`None` unless it is one).
fn network_bits(new: &NewIndicator) -> Option<u8> {
    crate::models::ip_prefix::network_bits(new.ip_lo.as_deref()?, new.ip_hi.as_deref()?)
}

/// Inserts one indicator.
pub fn insert(c: &mut WriteTx<'_>, new: &NewIndicator) -> QueryResult<IndicatorRow> {
    crate::models::ip_prefix::note(c, network_bits(new))?;
    let c = c.conn();
    let insert = diesel::insert_into(indicators::table).values(InsertRow::from(new));
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
    macro_rules! query {
        ($values:expr) => {
            indicators::table
                .filter(indicators::feed_id.eq(feed_id))
                .filter(indicators::import_key.is_null())
                .filter($values)
                .select(IndicatorRow::as_select())
        };
    }
    match c {
        // PostgreSQL binds the values as one array (`= ANY($3)`), locked like
        // `find_api_value`.
        DbConnection::Postgresql(conn) => query!(indicators::value.eq_any(values))
            .for_update()
            .load(conn),
        // One JSON array, so the statement stays prepared whatever the number of values.
        DbConnection::Sqlite(conn) => {
            query!(crate::db::sql::in_json(indicators::value, values)?).load(conn)
        }
    }
}

/// Rows per multi-row INSERT (17 parameters each: far under both backends' bind limits).
const INSERT_ROWS: usize = 256;
const _: () = assert!(INSERT_ROWS * 17 + 3 <= 32_766);

/// Inserts many API-written indicators (no `import_key`) with multi-row statements, skipping
/// each whose value the feed already holds; returns `(id, value)` of each row inserted, in no
/// particular order. The caller learns which values exist from what is missing, so a bulk
/// request needs no lookup of its values before the insert: the unique index is probed once per
/// row, by the insert itself, not again by a separate lookup.
///
/// The statements come in a few fixed row counts (`db::sql::chunk_sizes`), so each connection
/// prepares them once: diesel keeps no statement of its own multi-row inserts, whose text
/// depends on the row count, and SQLite would parse and plan a new 1,000-row statement for
/// every bulk request.
pub fn insert_absent(
    c: &mut WriteTx<'_>,
    shared: &Shared,
    rows: &[NewIndicator],
) -> QueryResult<Vec<(i64, String)>> {
    crate::models::ip_prefix::note(c, rows.iter().filter_map(network_bits))?;
    let c = c.conn();
    let bound: Vec<InsertRow<'_>> = rows.iter().map(InsertRow::from).collect();
    let shared = SharedBinds {
        feed_id: shared.feed_id,
        user_id: shared.user_id,
        now: Stamp::new(shared.now),
    };
    let mut out = Vec::with_capacity(rows.len());
    let mut at = 0;
    for size in crate::db::sql::chunk_sizes(bound.len(), INSERT_ROWS) {
        let chunk = &bound[at..at + size];
        let ids: Vec<(i64, String)> = if size == INSERT_ROWS {
            let insert = InsertMany::<true> {
                shared: &shared,
                rows: chunk,
            };
            crate::on_backend!(c, |conn| insert.get_results(conn))?
        } else {
            let insert = InsertMany::<false> {
                shared: &shared,
                rows: chunk,
            };
            crate::on_backend!(c, |conn| insert.get_results(conn))?
        };
        out.extend(ids);
        at += size;
    }
    Ok(out)
}

/// What every row of one [`insert_absent`] has in common: the feed, its owner, and the time
/// the rows are created and updated. The rows' own `feed_id`, `user_id`, `created_at` and
/// `updated_at` are not read, and neither are the fields an API-written indicator never has
/// (`import_key`, `asn`, `asn_desc`, `cc`, `content_header`: stored as NULL).
pub struct Shared {
    pub feed_id: i64,
    pub user_id: i64,
    pub now: NaiveDateTime,
}

/// [`Shared`] in its bound form.
struct SharedBinds {
    feed_id: i64,
    user_id: i64,
    now: Stamp,
}

/// How a statement names its n-th parameter again after binding it once: a 256-row insert
/// binds the feed, the owner and the time three times instead of 768 (9 of 26 binds a row,
/// counting the columns left NULL, were the same in every row).
pub trait ReuseParam {
    /// The parameters 1 to 3 as written in SQL.
    const PARAMS: [&'static str; 3];
}

/// SQLite numbers a plain `?` one above the highest number used so far, so `?3` may appear
/// among them.
impl ReuseParam for diesel::sqlite::Sqlite {
    const PARAMS: [&'static str; 3] = ["?1", "?2", "?3"];
}

/// diesel writes PostgreSQL's parameters as `$n` in bind order; a repeated `$n` binds nothing.
impl ReuseParam for diesel::pg::Pg {
    const PARAMS: [&'static str; 3] = ["$1", "$2", "$3"];
}

/// `INSERT INTO indicators … VALUES (…), … ON CONFLICT … DO NOTHING RETURNING id, value` for
/// `rows`; `FULL` when it
/// has [`INSERT_ROWS`] rows.
struct InsertMany<'a, const FULL: bool> {
    shared: &'a SharedBinds,
    rows: &'a [InsertRow<'a>],
}

/// A full chunk's statement is found by type, without rendering its text to look it up.
impl QueryId for InsertMany<'_, true> {
    type QueryId = FullInsert;
    const HAS_STATIC_QUERY_ID: bool = true;
}

/// The type-level name of the full-chunk insert.
struct FullInsert;

/// A smaller chunk's statement is found by its text (one of a few, see `chunk_sizes`).
impl QueryId for InsertMany<'_, false> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<const FULL: bool> Query for InsertMany<'_, FULL> {
    type SqlType = (BigInt, Text);
}

impl<Conn, const FULL: bool> RunQueryDsl<Conn> for InsertMany<'_, FULL> {}

impl<DB, const FULL: bool> QueryFragment<DB> for InsertMany<'_, FULL>
where
    DB: Backend
        + ReuseParam
        + HasSqlType<Text>
        + HasSqlType<Binary>
        + HasSqlType<BigInt>
        + HasSqlType<Timestamp>,
    str: ToSql<Text, DB>,
    [u8]: ToSql<Binary, DB>,
    i64: ToSql<BigInt, DB>,
    Stamp: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // The shared values come first, so the first row binds them as parameters 1 to 3.
        out.push_sql(
            "INSERT INTO indicators (feed_id, user_id, created_at, updated_at, value, itype, \
             ip_lo, ip_hi, host_rev, portlist, portlist_src, protocol, firsttime, lasttime, \
             effective_at, count, description, content, provider, tags, comments_count) VALUES ",
        );
        let [feed, owner, now] = DB::PARAMS;
        for (i, r) in self.rows.iter().enumerate() {
            if i == 0 {
                out.push_sql("(");
                out.push_bind_param::<BigInt, i64>(&self.shared.feed_id)?;
                out.push_sql(",");
                out.push_bind_param::<BigInt, i64>(&self.shared.user_id)?;
                out.push_sql(",");
                out.push_bind_param::<Timestamp, Stamp>(&self.shared.now)?;
            } else {
                out.push_sql(",(");
                out.push_sql(feed);
                out.push_sql(",");
                out.push_sql(owner);
                out.push_sql(",");
                out.push_sql(now);
            }
            out.push_sql(",");
            out.push_sql(now);
            out.push_sql(",");
            out.push_bind_param::<Text, str>(r.value)?;
            out.push_sql(",");
            out.push_bind_param::<Text, str>(r.itype)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Binary>, _>(&r.ip_lo)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Binary>, _>(&r.ip_hi)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Binary>, _>(&r.host_rev)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Text>, _>(&r.portlist)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Text>, _>(&r.portlist_src)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<BigInt>, _>(&r.protocol)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Timestamp>, _>(&r.firsttime)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Timestamp>, _>(&r.lasttime)?;
            out.push_sql(",");
            out.push_bind_param::<Timestamp, Stamp>(&r.effective_at)?;
            out.push_sql(",");
            out.push_bind_param::<BigInt, i64>(&r.count)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Text>, _>(&r.description)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Text>, _>(&r.content)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Text>, _>(&r.provider)?;
            out.push_sql(",");
            out.push_bind_param::<Text, str>(r.tags)?;
            out.push_sql(",");
            out.push_bind_param::<BigInt, i64>(&r.comments_count)?;
            out.push_sql(")");
        }
        // The target names the partial unique index's predicate, which both backends require
        // to pick that index; a skipped row returns nothing.
        out.push_sql(
            " ON CONFLICT (feed_id, value) WHERE import_key IS NULL DO NOTHING RETURNING id, value",
        );
        Ok(())
    }
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
    c: &mut WriteTx<'_>,
    id: i64,
    changes: &IndicatorChanges,
) -> QueryResult<IndicatorRow> {
    let c = c.conn();
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
            (Some(text), Some(names)) => crate::models::stored_copy::expand(text, names),
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
pub fn delete(c: &mut WriteTx<'_>, id: i64) -> QueryResult<usize> {
    let c = c.conn();
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

/// A feed's rows after the page's key (and since its time), newest first.
macro_rules! feed_rows {
    ($p:expr) => {{
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
        query.order((indicators::effective_at.desc(), indicators::id.desc()))
    }};
}

/// The page as `$row`s.
macro_rules! page_of {
    ($c:expr, $row:ty, $p:expr) => {{
        let query = feed_rows!($p).select(<$row>::as_select());
        let rows =
            crate::db::sql::limited(query, $p.limit).load_iter::<$row, DefaultLoadingMode>($c)?;
        crate::db::sql::take_rows(rows, $p.limit)
    }};
}

// Pages run on the concrete connection: through diesel's multi-backend connection every
// execution rendered the statement's text up to three times (see `models::search`).

/// One page of a feed.
pub fn page(c: &mut DbConnection, p: &PageOf) -> QueryResult<Vec<IndicatorRow>> {
    crate::on_backend!(c, |conn| page_of!(conn, IndicatorRow, p))
}

/// A page of a feed whose text stays within a byte budget ([`page_within`]).
#[derive(Debug)]
pub struct BoundedPage {
    pub rows: Vec<IndicatorRow>,
    /// More rows follow the page (it was full, or cut by the budget).
    pub more: bool,
}

/// Rows of a page are read this many at a time, so a page of large rows is never read whole
/// only to be cut.
const PAGE_PIECE: i64 = 250;

impl IndicatorRow {
    /// The bytes of text this row shows, roughly what it adds to a page's answer.
    pub fn text_bytes(&self) -> usize {
        let f = &self.fields;
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        // Names, numbers, times and punctuation of one indicator object.
        const FIXED: usize = 512;
        FIXED
            + f.value.len()
            + f.tags.len()
            + opt(&f.portlist)
            + opt(&f.portlist_src)
            + opt(&f.description)
            + opt(&f.provider)
            + opt(&f.asn_desc)
            + opt(&self.content)
    }
}

/// One page of a feed, `p.limit` rows at most, cut before the row that would take its text
/// past `max_bytes` (the first row is always shown). Rows are read in pieces, so a page of
/// huge rows costs about `max_bytes`, never `limit` times the largest row.
pub fn page_within(c: &mut DbConnection, p: &PageOf, max_bytes: usize) -> QueryResult<BoundedPage> {
    let mut rows: Vec<IndicatorRow> = Vec::new();
    let mut bytes = 0usize;
    let mut after = p.after;
    loop {
        // One row more than the page holds says whether another page follows.
        let want = (p.limit + 1 - rows.len() as i64).clamp(1, PAGE_PIECE);
        let piece = page(
            c,
            &PageOf {
                after,
                limit: want,
                ..*p
            },
        )?;
        let read = piece.len() as i64;
        for row in piece {
            let size = row.text_bytes();
            let full = rows.len() as i64 >= p.limit;
            if full || (!rows.is_empty() && bytes + size > max_bytes) {
                return Ok(BoundedPage { rows, more: true });
            }
            bytes += size;
            after = Some((row.fields.effective_at, row.fields.id));
            rows.push(row);
        }
        if read < want {
            return Ok(BoundedPage { rows, more: false });
        }
    }
}

/// [`page`] with the CSV export's columns only, each row handed to `each` as it is read and
/// freed before the next (holding a page of decoded rows costs CPU and memory for nothing);
/// `each` returns whether it wants more rows of this page.
pub fn export_page(
    c: &mut DbConnection,
    p: &PageOf,
    mut each: impl FnMut(IndicatorFields) -> bool,
) -> QueryResult<()> {
    let rows = usize::try_from(p.limit).unwrap_or(0);
    crate::on_backend!(c, |conn| {
        let query = feed_rows!(p).select(IndicatorFields::as_select());
        let iter = crate::db::sql::limited(query, p.limit)
            .load_iter::<IndicatorFields, DefaultLoadingMode>(conn)?;
        for row in iter.take(rows) {
            if !each(row?) {
                break;
            }
        }
        Ok(())
    })
}
