//! The `indicators` table: the three shapes of an indicator (the row as stored, a new one,
//! changes to one) and the per-feed queries (upsert lookup, keyset pages). Writing new rows,
//! one or many, is in `write` (the one column list and multi-row statement builder); search
//! queries live in `models::search`, the importer's batch statements in `models::import_batch`.

mod added;
mod write;

pub use added::{AddedKey, AddedPage, each_added, explain_added};
pub use write::{InsertRow, Shared, insert, insert_absent, upsert_imported};

use chrono::NaiveDateTime;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;

use crate::db::schema::indicators;
use crate::db::time::{DbTime, DbTimeOpt};
use crate::db::{DbConnection, WriteTx};
use crate::domain::tlp::{Tlp, TlpSet};

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
    /// full text and clears it (`models::stored_copy`). Private: outside `models/` a row's
    /// copy is only ever full, which [`IndicatorRow::copy_is_full`] tells.
    #[diesel(column_name = content_header)]
    header: Option<i64>,
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
    /// 0 to 10 (CIF's scale), when the publisher gave one.
    pub confidence: Option<f64>,
    /// The indicator's own TLP level (`domain::tlp::Tlp`'s name); `None` is the feed's default.
    pub tlp: Option<String>,
    /// When it stops being served (`None`: never); purged a grace period later.
    #[diesel(deserialize_as = DbTimeOpt)]
    pub expires_at: Option<NaiveDateTime>,
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
    /// Whether `content` is the full stored copy (not an imported row's packed one, which
    /// [`expand_contents`] expands).
    pub fn copy_is_full(&self) -> bool {
        self.header.is_none()
    }

    /// The tags as a list (`[]` when none).
    pub fn tag_list(&self) -> Vec<&str> {
        self.tags.split(',').filter(|t| !t.is_empty()).collect()
    }
}

/// An indicator to insert, owned by its writer (bound through [`InsertRow`]); its `content`
/// is stored full.
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
    pub confidence: Option<f64>,
    pub tlp: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
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
    /// New text is stored full: [`update`] drops a packed copy's header with it.
    pub content: Option<Option<String>>,
    pub provider: Option<Option<String>>,
    pub tags: Option<String>,
    pub comments_count: Option<i64>,
    pub updated_at: Option<NaiveDateTime>,
    pub confidence: Option<Option<f64>>,
    pub tlp: Option<Option<String>>,
    pub expires_at: Option<Option<NaiveDateTime>>,
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

/// An indicator by id within a feed.
pub fn find_in_feed(c: &mut DbConnection, feed_id: i64, id: i64) -> QueryResult<IndicatorRow> {
    indicators::table
        .filter(indicators::id.eq(id))
        .filter(indicators::feed_id.eq(feed_id))
        .select(IndicatorRow::as_select())
        .get_result(c)
}

/// The indicators of a feed among `ids` (those that exist), in no order.
pub fn in_feed_by_ids(
    c: &mut DbConnection,
    feed_id: i64,
    ids: &[i64],
) -> QueryResult<Vec<IndicatorRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // By primary key alone, the feed checked on the rows: with `feed_id = ?` beside the list
    // SQLite walked the feed's whole time index instead.
    let rows: Vec<IndicatorRow> = indicators::table
        .filter(crate::db::sql::in_list(indicators::id, ids.to_vec()))
        .select(IndicatorRow::as_select())
        .load(c)?;
    Ok(rows.into_iter().filter(|r| r.feed_id == feed_id).collect())
}

/// Applies changes and returns the new row.
pub fn update(
    c: &mut WriteTx<'_>,
    id: i64,
    changes: &IndicatorChanges,
) -> QueryResult<IndicatorRow> {
    let c = c.conn();
    let target = indicators::table.find(id);
    if changes.content.is_some() {
        // New text is stored full: an imported row's packed copy loses its header with it.
        let update =
            diesel::update(target).set((changes, indicators::content_header.eq(None::<i64>)));
        return crate::on_backend!(c, |conn| update
            .returning(IndicatorRow::as_returning())
            .get_result(conn));
    }
    let update = diesel::update(target).set(changes);
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
    let packed: Vec<&mut IndicatorRow> = rows.into_iter().filter(|r| r.header.is_some()).collect();
    if packed.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<i64> = packed.iter().filter_map(|r| r.header).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = crate::models::content_header::names_of(c, &ids)?;
    for r in packed {
        let header = r.header.take();
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
#[derive(Debug, Clone)]
pub struct PageOf {
    pub feed_id: i64,
    pub since: Option<NaiveDateTime>,
    pub after: Option<PageKey>,
    pub limit: i64,
    /// Which rows the reader gets: expiry, TLP and the `confidence`/`tlp` filters.
    pub shown: Shown,
    /// The feed's default level, which its unmarked rows have.
    pub default_tlp: Tlp,
}

/// Which rows a read shows, beyond their place in the feed or the match of a search: the
/// expiry, the TLP rule and the `confidence`, `tlp`, `asn`, `cc` and `provider` filters.
/// `Shown::default()` is every row (the owner's view with `expired=include`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shown {
    /// Only rows not expired at this time (`None`: expired ones too).
    pub live_at: Option<NaiveDateTime>,
    /// Only rows of these levels, an unmarked row counting as its feed's default (`None`:
    /// every level).
    pub tlps: Option<TlpSet>,
    /// Only rows of at least this confidence (rows without one are left out).
    pub min_confidence: Option<f64>,
    /// Only rows of one of these autonomous systems (empty: any, rows without one too).
    pub asns: Vec<i64>,
    /// Only rows of one of these countries, upper-case as stored (empty: any).
    pub ccs: Vec<String>,
    /// Only rows of this provider, exactly (`None`: any).
    pub provider: Option<String>,
}

impl Shown {
    /// Whether a filter beyond expiry and the TLP rule applies: one the rows answer, not an
    /// index of the match.
    pub fn filters_rows(&self) -> bool {
        self.tlps.is_some()
            || self.min_confidence.is_some()
            || !self.asns.is_empty()
            || !self.ccs.is_empty()
            || self.provider.is_some()
    }
}

/// The `asn`, `cc` and `provider` filters of a [`Shown`] on a boxed indicator query: the
/// part feed and TAXII pages (`shown_filters!`) and searches (`indicator_filters!`) share.
#[macro_export]
#[doc(hidden)]
macro_rules! operator_filters {
    ($q:expr, $shown:expr) => {{
        use diesel::prelude::*;
        use $crate::db::schema::indicators;
        let shown: &$crate::models::indicator::Shown = $shown;
        let mut q = $q;
        if !shown.asns.is_empty() {
            q = q.filter(indicators::asn.eq_any(shown.asns.clone()));
        }
        if !shown.ccs.is_empty() {
            q = q.filter(indicators::cc.eq_any(shown.ccs.clone()));
        }
        if let Some(provider) = &shown.provider {
            q = q.filter(indicators::provider.eq(provider.clone()));
        }
        q
    }};
}

/// Every filter of a [`Shown`] on a boxed indicator query of one feed whose unmarked rows
/// have `$default_tlp`: expiry, confidence, the operator filters and the levels. Feed pages
/// (`feed_rows!`) and TAXII pages (`indicator::added`) share it.
#[macro_export]
#[doc(hidden)]
macro_rules! shown_filters {
    ($q:expr, $shown:expr, $default_tlp:expr) => {{
        use diesel::prelude::*;
        use $crate::db::schema::indicators;
        let shown: &$crate::models::indicator::Shown = $shown;
        let mut query = $q;
        if let Some(at) = shown.live_at {
            query = query.filter(
                indicators::expires_at
                    .is_null()
                    .or(indicators::expires_at.gt(at)),
            );
        }
        if let Some(min) = shown.min_confidence {
            query = query.filter(indicators::confidence.ge(min));
        }
        query = $crate::operator_filters!(query, shown);
        if let Some(set) = shown.tlps {
            // `in_list`, not `eq_any`, which diesel never keeps prepared.
            let listed = $crate::db::sql::in_list(indicators::tlp, set.names());
            query = if set.contains($default_tlp) {
                query.filter(indicators::tlp.is_null().or(listed))
            } else {
                query.filter(listed)
            };
        }
        query
    }};
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
        query = crate::shown_filters!(query, &p.shown, p.default_tlp);
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
                ..p.clone()
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

/// What a selection of a page looks at, per row: `(id, effective_at, itype, tags)`, the page's
/// rows in its order, `p.limit` at most. Four columns, so a scan that keeps few rows decodes
/// little; the kept rows are then read whole ([`in_feed_by_ids`]).
pub fn page_keys(
    c: &mut DbConnection,
    p: &PageOf,
) -> QueryResult<Vec<(i64, NaiveDateTime, String, String)>> {
    crate::on_backend!(c, |conn| {
        let query = feed_rows!(p).select((
            indicators::id,
            indicators::effective_at,
            indicators::itype,
            indicators::tags,
        ));
        crate::db::sql::limited(query, p.limit).load(conn)
    })
}

/// Each row of a page as `$row`, handed to `$each` as it is read and freed before the next.
macro_rules! each_row {
    ($c:expr, $row:ty, $p:expr, $each:expr) => {{
        let p: &PageOf = $p;
        let mut each = $each;
        let rows = usize::try_from(p.limit).unwrap_or(0);
        crate::on_backend!($c, |conn| {
            let query = feed_rows!(p).select(<$row>::as_select());
            let iter = crate::db::sql::limited(query, p.limit)
                .load_iter::<$row, DefaultLoadingMode>(conn)?;
            for row in iter.take(rows) {
                if !each(row?) {
                    break;
                }
            }
            Ok(())
        })
    }};
}

/// [`page`] with the CSV export's columns only, each row handed to `each` as it is read and
/// freed before the next (holding a page of decoded rows costs CPU and memory for nothing);
/// `each` returns whether it wants more rows of this page.
pub fn export_page(
    c: &mut DbConnection,
    p: &PageOf,
    each: impl FnMut(IndicatorFields) -> bool,
) -> QueryResult<()> {
    each_row!(c, IndicatorFields, p, each)
}

/// What the terse consumer formats (one value a line, a zone, rules, an intel file) show of an
/// indicator, and its page key: a third of [`IndicatorFields`]' columns, no times but the key.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = indicators)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct TerseRow {
    pub id: i64,
    #[diesel(deserialize_as = DbTime)]
    pub effective_at: NaiveDateTime,
    pub value: String,
    pub tags: String,
    pub description: Option<String>,
    /// Not shown: an export kept in memory holds until the earliest one.
    #[diesel(deserialize_as = DbTimeOpt)]
    pub expires_at: Option<NaiveDateTime>,
}

/// [`export_page`] with [`TerseRow`]'s columns.
pub fn terse_page(
    c: &mut DbConnection,
    p: &PageOf,
    each: impl FnMut(TerseRow) -> bool,
) -> QueryResult<()> {
    each_row!(c, TerseRow, p, each)
}
