//! Writing new indicators: [`InsertRow`], the one bound form of a new indicator (whoever
//! writes it: a single create, a bulk request, an import batch), and [`RowsStatement`], the
//! one multi-row statement builder of the table, with the column list written once
//! ([`COLUMNS`]). A single create goes through diesel's `insert_into` with the same
//! `InsertRow`.
//!
//! A multi-row statement binds what all its rows share once (the feed, the owner, the time,
//! and an import's provider) and refers to it by number in the other rows; columns a kind of
//! statement never fills are written as SQL literals, not bound. Statements come in a few
//! fixed row counts (`db::sql::chunk_sizes`), so each connection prepares them once: diesel
//! keeps no prepared statement of a `sql_query`, and the text of a multi-row statement
//! depends on its row count.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Binary, Double, HasSqlType, Nullable, Text, Timestamp};

use super::{IndicatorRow, NewIndicator};
use crate::db::WriteTx;
use crate::db::schema::indicators;
use crate::db::time::Stamp;
use crate::models::ip_prefix;
use crate::models::stored_copy::StoredCopy;

/// A new indicator as bound: text borrowed, timestamps written once as [`Stamp`]s (diesel
/// formats a `NaiveDateTime` with chrono's `strftime` interpreter into a new `String` per
/// bind). `None` inserts NULL (not DEFAULT), which lets SQLite take many rows in one
/// statement. Built from a [`NewIndicator`] (`From`) or by the importer.
#[derive(Insertable)]
#[diesel(table_name = indicators)]
#[diesel(treat_none_as_default_value = false)]
pub struct InsertRow<'a> {
    pub feed_id: i64,
    pub user_id: i64,
    pub created_at: Stamp,
    pub updated_at: Stamp,
    pub provider: Option<&'a str>,
    pub value: &'a str,
    pub itype: &'a str,
    pub ip_lo: Option<&'a [u8]>,
    pub ip_hi: Option<&'a [u8]>,
    pub host_rev: Option<&'a [u8]>,
    pub portlist: Option<&'a str>,
    pub portlist_src: Option<&'a str>,
    pub protocol: Option<i64>,
    pub firsttime: Option<Stamp>,
    pub lasttime: Option<Stamp>,
    pub effective_at: Stamp,
    pub count: i64,
    pub description: Option<&'a str>,
    /// `content` and, for a packed copy, `content_header`.
    #[diesel(embed)]
    pub copy: StoredCopy<'a>,
    pub asn: Option<i64>,
    pub asn_desc: Option<&'a str>,
    pub cc: Option<&'a str>,
    pub tags: &'a str,
    pub import_key: Option<&'a str>,
    pub comments_count: i64,
    pub confidence: Option<f64>,
    pub tlp: Option<&'a str>,
    pub expires_at: Option<Stamp>,
}

/// The columns of [`RowsStatement`], in the order its rows bind them. The first five are those
/// a statement's rows may share.
const COLUMNS: &str = "feed_id, user_id, created_at, updated_at, provider, value, itype, ip_lo, \
     ip_hi, host_rev, portlist, portlist_src, protocol, firsttime, lasttime, effective_at, count, \
     description, content, content_header, asn, asn_desc, cc, tags, import_key, comments_count, \
     confidence, tlp, expires_at";

impl<'a> From<&'a NewIndicator> for InsertRow<'a> {
    fn from(n: &'a NewIndicator) -> Self {
        InsertRow {
            feed_id: n.feed_id,
            user_id: n.user_id,
            created_at: Stamp::new(n.created_at),
            updated_at: Stamp::new(n.updated_at),
            provider: n.provider.as_deref(),
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
            copy: StoredCopy::full(n.content.as_deref()),
            asn: n.asn,
            asn_desc: n.asn_desc.as_deref(),
            cc: n.cc.as_deref(),
            tags: &n.tags,
            import_key: n.import_key.as_deref(),
            comments_count: n.comments_count,
            confidence: n.confidence,
            tlp: n.tlp.as_deref(),
            expires_at: n.expires_at.map(Stamp::new),
        }
    }
}

impl InsertRow<'_> {
    /// The prefix length of the row's network (`None` unless it is one).
    fn network_bits(&self) -> Option<u8> {
        ip_prefix::network_bits(self.ip_lo?, self.ip_hi?)
    }
}

/// Inserts one indicator.
pub fn insert(c: &mut WriteTx<'_>, new: &NewIndicator) -> QueryResult<IndicatorRow> {
    let row = InsertRow::from(new);
    ip_prefix::note(c, row.network_bits())?;
    let c = c.conn();
    let insert = diesel::insert_into(indicators::table).values(row);
    crate::on_backend!(c, |conn| insert
        .returning(IndicatorRow::as_returning())
        .get_result(conn))
}

/// What every row of one [`insert_absent`] has in common: the feed, its owner, and the time
/// the rows are created and updated. The rows' own `feed_id`, `user_id`, `created_at` and
/// `updated_at` are not read, and neither are the fields an API-written indicator never has
/// (`import_key`, `asn`, `asn_desc`, `cc`: stored as NULL).
pub struct Shared {
    pub feed_id: i64,
    pub user_id: i64,
    pub now: NaiveDateTime,
}

/// Inserts many API-written indicators (no `import_key`) with multi-row statements, skipping
/// each whose value the feed already holds; returns `(id, value)` of each row inserted, in no
/// particular order. The caller learns which values exist from what is missing, so a bulk
/// request needs no lookup of its values before the insert: the unique index is probed once per
/// row, by the insert itself, not again by a separate lookup.
pub fn insert_absent(
    c: &mut WriteTx<'_>,
    shared: &Shared,
    rows: &[NewIndicator],
) -> QueryResult<Vec<(i64, String)>> {
    let now = Stamp::new(shared.now);
    let bound: Vec<InsertRow<'_>> = rows
        .iter()
        .map(|n| InsertRow {
            feed_id: shared.feed_id,
            user_id: shared.user_id,
            created_at: now,
            updated_at: now,
            ..InsertRow::from(n)
        })
        .collect();
    ip_prefix::note(c, bound.iter().filter_map(InsertRow::network_bits))?;
    let c = c.conn();
    let mut out = Vec::with_capacity(rows.len());
    let mut at = 0;
    for size in crate::db::sql::chunk_sizes(bound.len(), CHUNK_ROWS) {
        let rows = &bound[at..at + size];
        let ids: Vec<(i64, String)> = if size == CHUNK_ROWS {
            let insert = RowsStatement::<ApiRows, true>::new(rows);
            crate::on_backend!(c, |conn| insert.get_results(conn))?
        } else {
            let insert = RowsStatement::<ApiRows, false>::new(rows);
            crate::on_backend!(c, |conn| insert.get_results(conn))?
        };
        out.extend(ids);
        at += size;
    }
    Ok(out)
}

/// Writes an import batch's new and changed indicators (spec `shadowserver.md` §4.2): a row
/// whose import key the feed holds takes the row's merged times, count and tags, and its
/// description, asn, cc and stored copy when its last time is later than the stored one. Every
/// row has the same feed, owner, time and provider, and an import key.
pub fn upsert_imported(c: &mut WriteTx<'_>, rows: &[InsertRow<'_>]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    ip_prefix::note(c, rows.iter().filter_map(InsertRow::network_bits))?;
    let c = c.conn();
    let mut at = 0;
    for size in crate::db::sql::chunk_sizes(rows.len(), CHUNK_ROWS) {
        let chunk = &rows[at..at + size];
        if size == CHUNK_ROWS {
            let upsert = RowsStatement::<ImportRows, true>::new(chunk);
            crate::on_backend!(c, |conn| upsert.execute(conn))?;
        } else {
            let upsert = RowsStatement::<ImportRows, false>::new(chunk);
            crate::on_backend!(c, |conn| upsert.execute(conn))?;
        }
        at += size;
    }
    Ok(())
}

/// Rows per multi-row statement (the largest of the fixed sizes). 256 rows of at most 21
/// bound values stay far under both backends' bind limits.
const CHUNK_ROWS: usize = 256;
// SQLite's bind limit is 32,766 per statement (PostgreSQL's 65,535).
const _: () = assert!(4 + CHUNK_ROWS * 21 <= 32_766);

/// A kind of multi-row statement: which columns its rows fill, and what it does with a row
/// whose key the feed already holds.
trait Kind: 'static {
    /// Import rows: one provider shared by all rows, an import key, `asn`, `cc` and a stored
    /// copy that may be packed; no `portlist_src` and no comments. Else API rows: a provider
    /// each, `portlist_src` and comments, none of the import's columns.
    const IMPORT: bool;
    /// The statement's end, after the rows.
    const TAIL: &'static str;
}

/// `insert_absent`: rows whose value the feed holds are skipped; the others' ids come back.
struct ApiRows;

impl Kind for ApiRows {
    const IMPORT: bool = false;
    // The target names the partial unique index's predicate, which both backends require to
    // pick that index; a skipped row returns nothing.
    const TAIL: &'static str =
        " ON CONFLICT (feed_id, value) WHERE import_key IS NULL DO NOTHING RETURNING id, value";
}

/// `upsert_imported`: §4.2's merge of a row into the stored one of the same import key.
struct ImportRows;

impl Kind for ImportRows {
    const IMPORT: bool = true;
    // The description, asn, cc and stored copy replace the stored ones only when the row's
    // last time is later (§4.2, `Details::All` of the merge, tested here again against the
    // stored row); the merged times, count and tags were computed under the batch's lock.
    const TAIL: &'static str = " ON CONFLICT (feed_id, import_key) WHERE import_key IS NOT NULL \
         DO UPDATE SET \
         firsttime = excluded.firsttime, lasttime = excluded.lasttime, \
         effective_at = excluded.effective_at, count = excluded.count, tags = excluded.tags, \
         description = CASE WHEN indicators.lasttime IS NULL OR excluded.lasttime > indicators.lasttime \
           THEN excluded.description ELSE indicators.description END, \
         content = CASE WHEN indicators.lasttime IS NULL OR excluded.lasttime > indicators.lasttime \
           THEN excluded.content ELSE indicators.content END, \
         content_header = CASE WHEN indicators.lasttime IS NULL OR excluded.lasttime > indicators.lasttime \
           THEN excluded.content_header ELSE indicators.content_header END, \
         asn = CASE WHEN indicators.lasttime IS NULL OR excluded.lasttime > indicators.lasttime \
           THEN excluded.asn ELSE indicators.asn END, \
         cc = CASE WHEN indicators.lasttime IS NULL OR excluded.lasttime > indicators.lasttime \
           THEN excluded.cc ELSE indicators.cc END, \
         expires_at = excluded.expires_at, updated_at = excluded.updated_at";
}

/// `INSERT INTO indicators (COLUMNS) VALUES (…), … <K::TAIL>` for `rows`; `FULL` when it has
/// [`CHUNK_ROWS`] rows.
struct RowsStatement<'a, K, const FULL: bool> {
    rows: &'a [InsertRow<'a>],
    kind: std::marker::PhantomData<K>,
}

impl<'a, K: Kind, const FULL: bool> RowsStatement<'a, K, FULL> {
    fn new(rows: &'a [InsertRow<'a>]) -> Self {
        debug_assert!(!rows.is_empty());
        debug_assert!(!FULL || rows.len() == CHUNK_ROWS);
        debug_assert!(rows.iter().all(|r| {
            let first = &rows[0];
            r.feed_id == first.feed_id
                && r.user_id == first.user_id
                && r.created_at.text() == first.created_at.text()
                && r.updated_at.text() == first.created_at.text()
                && (!K::IMPORT || (r.provider == first.provider && r.import_key.is_some()))
        }));
        RowsStatement {
            rows,
            kind: std::marker::PhantomData,
        }
    }
}

/// The type-level name of a full chunk's statement of kind `K`.
struct FullChunk<K>(std::marker::PhantomData<K>);

/// A full chunk's statement is found by type: its text never changes, and diesel would
/// otherwise render the 256-row text again to look it up, for every chunk.
impl<K: Kind> QueryId for RowsStatement<'_, K, true> {
    type QueryId = FullChunk<K>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

/// A smaller chunk's statement is found by its text (one of a few, see `chunk_sizes`).
impl<K: Kind> QueryId for RowsStatement<'_, K, false> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<const FULL: bool> Query for RowsStatement<'_, ApiRows, FULL> {
    type SqlType = (BigInt, Text);
}

impl<Conn, K, const FULL: bool> RunQueryDsl<Conn> for RowsStatement<'_, K, FULL> {}

/// How a backend refers again to a parameter bound once: the shared values are bound in the
/// first row as parameters 1 to 4 (feed, owner, now, an import's provider). SQLite numbers a
/// plain `?` one above the highest number used so far, so `?3` may appear among them;
/// PostgreSQL numbers every parameter in bind order, and a repeated `$n` binds nothing.
trait ReuseParam {
    /// The parameters 1 to 4 as written in SQL.
    const PARAMS: [&'static str; 4];
}

impl ReuseParam for diesel::sqlite::Sqlite {
    const PARAMS: [&'static str; 4] = ["?1", "?2", "?3", "?4"];
}

impl ReuseParam for diesel::pg::Pg {
    const PARAMS: [&'static str; 4] = ["$1", "$2", "$3", "$4"];
}

impl<DB, K: Kind, const FULL: bool> QueryFragment<DB> for RowsStatement<'_, K, FULL>
where
    DB: Backend
        + ReuseParam
        + HasSqlType<Text>
        + HasSqlType<Binary>
        + HasSqlType<BigInt>
        + HasSqlType<Double>
        + HasSqlType<Timestamp>,
    str: ToSql<Text, DB>,
    f64: ToSql<Double, DB>,
    [u8]: ToSql<Binary, DB>,
    i64: ToSql<BigInt, DB>,
    Stamp: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("INSERT INTO indicators (");
        out.push_sql(COLUMNS);
        out.push_sql(") VALUES ");
        let [feed, owner, now, provider] = DB::PARAMS;
        for (i, r) in self.rows.iter().enumerate() {
            // feed_id, user_id, created_at, updated_at, provider
            if i == 0 {
                out.push_sql("(");
                out.push_bind_param::<BigInt, i64>(&r.feed_id)?;
                out.push_sql(",");
                out.push_bind_param::<BigInt, i64>(&r.user_id)?;
                out.push_sql(",");
                out.push_bind_param::<Timestamp, Stamp>(&r.created_at)?;
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
            if K::IMPORT && i > 0 {
                out.push_sql(provider);
            } else {
                out.push_bind_param::<Nullable<Text>, _>(&r.provider)?;
            }
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
            if K::IMPORT {
                out.push_sql("NULL");
            } else {
                out.push_bind_param::<Nullable<Text>, _>(&r.portlist_src)?;
            }
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
            out.push_bind_param::<Nullable<Text>, _>(r.copy.text())?;
            out.push_sql(",");
            if K::IMPORT {
                out.push_bind_param::<Nullable<BigInt>, _>(r.copy.header())?;
                out.push_sql(",");
                out.push_bind_param::<Nullable<BigInt>, _>(&r.asn)?;
                // asn_desc: no writer has one.
                out.push_sql(",NULL,");
                out.push_bind_param::<Nullable<Text>, _>(&r.cc)?;
                out.push_sql(",");
                out.push_bind_param::<Text, str>(r.tags)?;
                out.push_sql(",");
                out.push_bind_param::<Nullable<Text>, _>(&r.import_key)?;
                // comments_count, confidence, tlp: an import sets none.
                out.push_sql(",0,NULL,NULL,");
                out.push_bind_param::<Nullable<Timestamp>, _>(&r.expires_at)?;
                out.push_sql(")");
            } else {
                // content_header, asn, asn_desc, cc
                out.push_sql("NULL,NULL,NULL,NULL,");
                out.push_bind_param::<Text, str>(r.tags)?;
                // import_key
                out.push_sql(",NULL,");
                out.push_bind_param::<BigInt, i64>(&r.comments_count)?;
                out.push_sql(",");
                out.push_bind_param::<Nullable<Double>, _>(&r.confidence)?;
                out.push_sql(",");
                out.push_bind_param::<Nullable<Text>, _>(&r.tlp)?;
                out.push_sql(",");
                out.push_bind_param::<Nullable<Timestamp>, _>(&r.expires_at)?;
                out.push_sql(")");
            }
        }
        out.push_sql(K::TAIL);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use diesel::debug_query;

    use super::*;

    fn row(now: Stamp) -> InsertRow<'static> {
        InsertRow {
            feed_id: 1,
            user_id: 2,
            created_at: now,
            updated_at: now,
            provider: Some("shadowserver"),
            value: "192.0.2.1",
            itype: "ipv4",
            ip_lo: None,
            ip_hi: None,
            host_rev: None,
            portlist: None,
            portlist_src: None,
            protocol: None,
            firsttime: Some(now),
            lasttime: Some(now),
            effective_at: now,
            count: 1,
            description: None,
            copy: StoredCopy::full(Some("{}")),
            asn: None,
            asn_desc: None,
            cc: None,
            tags: "",
            import_key: Some("k"),
            comments_count: 0,
            confidence: None,
            tlp: None,
            expires_at: Some(now),
        }
    }

    /// The value tuples of a rendered statement, each split into its values.
    fn tuples(sql: &str) -> Vec<Vec<String>> {
        let values = sql
            .split(" VALUES ")
            .nth(1)
            .and_then(|v| v.split(" ON CONFLICT").next())
            .unwrap();
        values
            .trim_start_matches('(')
            .trim_end_matches(')')
            .split("),(")
            .map(|t| t.split(',').map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn every_row_of_either_kind_has_a_value_for_each_column() {
        let now = Stamp::new(NaiveDateTime::default());
        let rows = [row(now), row(now), row(now)];
        let columns = COLUMNS.split(',').count();
        let api = RowsStatement::<ApiRows, false>::new(&rows);
        let import = RowsStatement::<ImportRows, false>::new(&rows);
        let rendered = [
            debug_query::<diesel::sqlite::Sqlite, _>(&api).to_string(),
            debug_query::<diesel::sqlite::Sqlite, _>(&import).to_string(),
            debug_query::<diesel::pg::Pg, _>(&api).to_string(),
            debug_query::<diesel::pg::Pg, _>(&import).to_string(),
        ];
        for sql in &rendered {
            let tuples = tuples(sql);
            assert_eq!(tuples.len(), rows.len(), "{sql}");
            for t in &tuples {
                assert_eq!(t.len(), columns, "{sql}");
            }
        }
    }

    #[test]
    fn later_rows_refer_to_the_shared_values_of_the_first() {
        let now = Stamp::new(NaiveDateTime::default());
        let rows = [row(now), row(now)];
        let import = RowsStatement::<ImportRows, false>::new(&rows);
        let sql = debug_query::<diesel::pg::Pg, _>(&import).to_string();
        let pg = tuples(&sql);
        // feed, owner, created, updated, provider: bound once, then named by number.
        assert_eq!(pg[0][..5], ["$1", "$2", "$3", "$3", "$4"]);
        assert_eq!(pg[1][..5], ["$1", "$2", "$3", "$3", "$4"]);
        assert_eq!(pg[1][5], "$24");
        let api = RowsStatement::<ApiRows, false>::new(&rows);
        let sql = debug_query::<diesel::sqlite::Sqlite, _>(&api).to_string();
        let sqlite = tuples(&sql);
        assert_eq!(sqlite[1][..5], ["?1", "?2", "?3", "?3", "?"]);
    }
}
