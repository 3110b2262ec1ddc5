//! Search (spec §8): a query that matches through an index (address ranges, reversed host
//! names or the value itself), applies visibility and filters, and pages by effective time; an
//! address reads the stored prefix lengths first, a range picks its page's ids first. `tests/api/search.rs` checks the plans on both backends.

use chrono::NaiveDateTime;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::users;
use crate::domain::thing::{Thing, enclosing_networks};
use crate::domain::viewer::Viewer;
use crate::models::ip_prefix;

use crate::models::feed::FeedLabel;
use crate::models::indicator::{IndicatorRow, PageKey};

/// How the query value matches stored indicators.
#[derive(Debug, Clone)]
pub enum Match {
    /// An address: itself and every stored network containing it (`ip_lo IN starts AND ip_hi >= addr`).
    /// `starts` are filled when the search runs, from the prefix lengths stored then
    /// ([`Match::probing_stored`]); [`Match::of`] leaves them empty.
    Address {
        starts: Vec<Vec<u8>>,
        addr: [u8; 16],
        v4: bool,
    },
    /// A network: everything stored inside it (`ip_lo BETWEEN lo AND hi AND ip_hi <= hi`).
    Network { lo: Vec<u8>, hi: Vec<u8> },
    /// A host name: itself, its subdomains, and urls and emails on them (a `host_rev` range).
    Host { from: Vec<u8>, to: Vec<u8> },
    /// Anything else (urls, e-mails, hashes): the normalised value exactly.
    Exact(String),
}

/// The predicate of the partial index `indicators_value` (migration 9), written the same way so
/// that both planners can use it: addresses and names are not in that index, and an exact
/// match is only ever a url, an e-mail or a hash ([`Match::of`]).
pub const EXACT_ITYPES: &str = "indicators.itype NOT IN ('ipv4', 'ipv6', 'fqdn')";

impl Match {
    /// Whether the rule matches a range of stored values (many indicators per query).
    pub fn is_range(&self) -> bool {
        matches!(self, Match::Network { .. } | Match::Host { .. })
    }

    /// The match rule of a parsed query value.
    pub fn of(q: &Thing) -> Match {
        if let Some((lo, hi)) = q.ip_range() {
            if q.prefix_len().is_none() {
                let v4 = q.itype().as_str() == "ipv4";
                return Match::Address {
                    starts: Vec::new(),
                    addr: lo,
                    v4,
                };
            }
            return Match::Network {
                lo: lo.to_vec(),
                hi: hi.to_vec(),
            };
        }
        if q.itype().as_str() == "fqdn"
            && let Some(from) = q.host_rev()
        {
            // `.` is followed by `/` in byte order: [from, to) holds the name and its subdomains.
            let mut to = from.clone();
            if let Some(last) = to.last_mut() {
                *last = b'/';
            }
            return Match::Host { from, to };
        }
        Match::Exact(q.as_str().to_string())
    }
}

impl Match {
    /// The rule a search runs: an address probes only the starts of the prefix lengths
    /// stored (`ip_prefixes`; 2 probes instead of 25 when only /24 networks are stored), read
    /// at every search since another gateway may have stored a new length; the list is padded
    /// with repeats to a power of two, so each connection prepares one statement per list
    /// length. `None` for the other rules, which run as they are.
    fn probing_stored(&self, c: &mut DbConnection) -> QueryResult<Option<Match>> {
        let Match::Address { addr, v4, .. } = self else {
            return Ok(None);
        };
        let mut kept = [false; 129];
        for bits in ip_prefix::stored(c)? {
            kept[usize::from(bits.min(128))] = true;
        }
        let mut starts: Vec<Vec<u8>> = enclosing_networks(*addr, *v4, |p| kept[usize::from(p)])
            .into_iter()
            .map(|s| s.to_vec())
            .collect();
        let last = starts.last().cloned().unwrap_or_default();
        starts.resize(starts.len().next_power_of_two(), last);
        Ok(Some(Match::Address {
            starts,
            addr: *addr,
            v4: *v4,
        }))
    }
}

/// Filters and paging of a search.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub itypes: Vec<String>,
    pub tags: Vec<String>,
    pub user: Option<String>,
    pub feed: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub after: Option<PageKey>,
    /// Who is looking: private feeds are hidden except the viewer's own (admins see all).
    pub viewer: Viewer,
}

/// One search result with its feed and owner.
pub type Hit = (IndicatorRow, FeedLabel, String);

fn escape_like(tag: &str) -> String {
    tag.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Builds the joined search query of an exact or address match, whose rows it reads (boxed,
/// so the plan test can `EXPLAIN` the same statement); a range picks its ids with
/// [`range_ids_query!`] and then reads only those rows.
#[macro_export]
#[doc(hidden)]
macro_rules! search_query {
    ($m:expr, $f:expr) => {{
        use diesel::prelude::*;
        use $crate::db::schema::{feeds, indicators, users};
        let f: &$crate::models::search::Filters = $f;
        let mut q = indicators::table
            .inner_join(feeds::table.inner_join(users::table))
            .into_boxed();
        match f.viewer {
            $crate::domain::viewer::Viewer::Admin(_) => {}
            $crate::domain::viewer::Viewer::User(id) => {
                q = q.filter(feeds::private.eq(false).or(feeds::user_id.eq(id)))
            }
            $crate::domain::viewer::Viewer::Anonymous => q = q.filter(feeds::private.eq(false)),
        }
        if let Some(user) = &f.user {
            q = q.filter(users::username.eq(user.clone()));
        }
        if let Some(feed) = &f.feed {
            q = q.filter(feeds::name.eq(feed.clone()));
        }
        $crate::indicator_filters!(q, $m, f)
    }};
}

/// The ids of a range search's page, from the indicators alone: visibility and the user and
/// feed filters are subqueries on `feeds` (run once per statement) instead of joins. A range
/// meets hundreds or thousands of index entries, and a joined statement would look each one's
/// feed and owner up by primary key before the time order chose the page; the time-ordered
/// covering indexes hold `feed_id`, so this statement reads no table at all.
#[macro_export]
#[doc(hidden)]
macro_rules! range_ids_query {
    ($m:expr, $f:expr) => {{
        use diesel::prelude::*;
        use $crate::db::schema::{feeds, indicators, users};
        let f: &$crate::models::search::Filters = $f;
        let mut q = indicators::table.into_boxed();
        // Hidden: private feeds, except the viewer's own (an admin sees every feed).
        match f.viewer {
            $crate::domain::viewer::Viewer::Admin(_) => {}
            $crate::domain::viewer::Viewer::User(id) => {
                q = q.filter(diesel::dsl::not(
                    indicators::feed_id.eq_any(
                        feeds::table
                            .filter(feeds::private.eq(true))
                            .filter(feeds::user_id.ne(id))
                            .select(feeds::id),
                    ),
                ))
            }
            $crate::domain::viewer::Viewer::Anonymous => {
                q = q.filter(diesel::dsl::not(
                    indicators::feed_id.eq_any(
                        feeds::table
                            .filter(feeds::private.eq(true))
                            .select(feeds::id),
                    ),
                ))
            }
        }
        if let Some(user) = &f.user {
            q = q.filter(
                indicators::feed_id.eq_any(
                    feeds::table
                        .inner_join(users::table)
                        .filter(users::username.eq(user.clone()))
                        .select(feeds::id),
                ),
            );
        }
        if let Some(feed) = &f.feed {
            q = q.filter(
                indicators::feed_id.eq_any(
                    feeds::table
                        .filter(feeds::name.eq(feed.clone()))
                        .select(feeds::id),
                ),
            );
        }
        $crate::indicator_filters!(q, $m, f).select(indicators::id)
    }};
}

/// The match rule and the filters on the indicator's own columns, then the time order: the
/// part of [`search_query!`] and [`range_ids_query!`] that is the same.
#[macro_export]
#[doc(hidden)]
macro_rules! indicator_filters {
    ($q:expr, $m:expr, $f:expr) => {{
        use diesel::prelude::*;
        use $crate::db::schema::indicators;
        let m: &$crate::models::search::Match = $m;
        let f: &$crate::models::search::Filters = $f;
        let mut q = $q;
        q = match m {
            $crate::models::search::Match::Address { starts, addr, .. } => q
                .filter($crate::db::sql::in_list(indicators::ip_lo, starts.clone()))
                .filter(indicators::ip_hi.ge(addr.to_vec())),
            $crate::models::search::Match::Network { lo, hi } => q
                .filter(indicators::ip_lo.ge(lo.clone()))
                .filter(indicators::ip_lo.le(hi.clone()))
                .filter(indicators::ip_hi.le(hi.clone())),
            $crate::models::search::Match::Host { from, to } => q
                .filter(indicators::host_rev.ge(from.clone()))
                .filter(indicators::host_rev.lt(to.clone())),
            $crate::models::search::Match::Exact(v) => q
                .filter(indicators::value.eq(v.clone()))
                .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                    $crate::models::search::EXACT_ITYPES,
                )),
        };
        if !f.itypes.is_empty() {
            q = q.filter(indicators::itype.eq_any(f.itypes.clone()));
        }
        for tag in &f.tags {
            let t = $crate::models::search::escape_tag(tag);
            q = q.filter(
                indicators::tags
                    .eq(tag.clone())
                    .or(indicators::tags.like(format!("{t},%")).escape('\\'))
                    .or(indicators::tags.like(format!("%,{t}")).escape('\\'))
                    .or(indicators::tags.like(format!("%,{t},%")).escape('\\')),
            );
        }
        if let Some(since) = f.since {
            q = q.filter(indicators::effective_at.ge(since));
        }
        if let Some((t, id)) = f.after {
            q = q.filter($crate::db::sql::row_before(
                indicators::effective_at,
                indicators::id,
                t,
                id,
            ));
        }
        q.order((indicators::effective_at.desc(), indicators::id.desc()))
    }};
}

/// Escapes a tag for a `LIKE` pattern with `\` as the escape character.
pub fn escape_tag(tag: &str) -> String {
    escape_like(tag)
}

/// Index entries of a range a search with row filters (`tags`, `itype`) looks at for one
/// page. Such filters are checked on the rows, not answered by the range's index: without a
/// bound, a filter that matches nothing walks the whole range (a /8 of 200,000 entries) for
/// every page. With it a page ends after this many entries, possibly short or empty, and its
/// `next` cursor resumes after the last entry looked at.
pub const RANGE_SCAN_BUDGET: i64 = 2000;

/// Rows of a range's page are read this many at a time, so a page of large rows stops at its
/// byte budget instead of reading every row first.
const RANGE_ROW_PIECE: usize = 250;

/// One page of a search.
#[derive(Debug)]
pub struct SearchPage {
    pub hits: Vec<Hit>,
    /// More hits may follow: the next page starts after the last hit, or at `resume`.
    pub more: bool,
    /// Where the next page starts when the page ended at the scan budget rather than at a
    /// hit (the key of the last entry looked at).
    pub resume: Option<PageKey>,
}

/// The statement an exact or address search reads its page with: [`search`] runs it,
/// [`explain`] explains it, and the `Keyed` test renders it.
macro_rules! page_rows_query {
    ($m:expr, $f:expr, $limit:expr) => {
        crate::db::sql::limited(
            crate::search_query!($m, $f).select((
                IndicatorRow::as_select(),
                FeedLabel::as_select(),
                users::username,
            )),
            $limit,
        )
    };
}

/// Runs a search: at most `limit` hits, newest first, and whether more match (the next page).
///
/// A range (a CIDR block, a domain with its subdomains) matches thousands of indicators: its
/// page is chosen first as ids alone, which the time-ordered covering indexes answer without
/// reading indicator rows, and only the page's rows are read in a second statement, in
/// pieces, ending the page before the row that would take its text past `max_bytes` (the
/// first row is always shown). With row filters a range's page also ends at
/// [`RANGE_SCAN_BUDGET`] entries.
pub fn search(
    c: &mut DbConnection,
    m: &Match,
    f: &Filters,
    limit: i64,
    max_bytes: usize,
) -> QueryResult<SearchPage> {
    use crate::db::schema::{feeds, indicators};
    use crate::db::sql::{Keyed, bucket, in_list, limited, take_rows};
    let narrowed = m.probing_stored(c)?;
    let m = narrowed.as_ref().unwrap_or(m);
    let shown = usize::try_from(limit).unwrap_or(0);
    // One more than is shown tells whether there is a next page.
    let limit = limit + 1;
    // The statements run on the concrete connection: through diesel's multi-backend
    // connection every execution renders the whole statement's text up to three times (to
    // decide caching, to collect binds, to look the statement up).
    if m.is_range() {
        let (mut ids, resume) = if f.tags.is_empty() && f.itypes.is_empty() {
            let ids: Vec<i64> = crate::on_backend!(c, |conn| {
                let ids_query = crate::range_ids_query!(m, f);
                let ids = limited(ids_query, limit).load_iter::<i64, DefaultLoadingMode>(conn)?;
                take_rows(ids, limit)
            })?;
            (ids, None)
        } else {
            filtered_range_ids(c, m, f, limit)?
        };
        // The extra id alone says there is more: its row is not read.
        let mut more = ids.len() > shown || resume.is_some();
        ids.truncate(shown);
        let mut hits: Vec<Hit> = Vec::with_capacity(ids.len());
        let mut bytes = 0usize;
        'pieces: for piece in ids.chunks(RANGE_ROW_PIECE) {
            let mut piece = piece.to_vec();
            let Some(&last) = piece.last() else { break };
            // A few list lengths only, so the statement stays prepared (repeats match nothing new).
            piece.resize(
                usize::try_from(bucket(piece.len() as i64)).unwrap_or(piece.len()),
                last,
            );
            let rows: Vec<Hit> = crate::on_backend!(c, |conn| indicators::table
                .inner_join(feeds::table.inner_join(users::table))
                .filter(in_list(indicators::id, piece))
                .order((indicators::effective_at.desc(), indicators::id.desc()))
                .select((
                    IndicatorRow::as_select(),
                    FeedLabel::as_select(),
                    users::username,
                ))
                .load(conn))?;
            for hit in rows {
                let size = hit.0.text_bytes();
                if !hits.is_empty() && bytes + size > max_bytes {
                    // Cut by size: the next page starts after the last hit shown.
                    more = true;
                    return Ok(SearchPage {
                        hits,
                        more,
                        resume: None,
                    });
                }
                bytes += size;
                hits.push(hit);
                if hits.len() >= shown {
                    break 'pieces;
                }
            }
        }
        // A page that ended at the scan budget resumes after the last entry looked at, unless
        // it filled up first (then after its last hit, as usual).
        let resume = resume.filter(|_| hits.len() < shown);
        return Ok(SearchPage { hits, more, resume });
    }
    let shape = shape(m, f, limit);
    let mut hits: Vec<Hit> = crate::on_backend!(c, |conn| {
        let q = page_rows_query!(m, f, limit);
        // The common shapes (no filter, the default limit) are found by type; see `Keyed`.
        macro_rules! by_shape {
            ($(($m:literal, $v:literal)),*) => {
                match shape {
                    $(Some(($m, $v)) => take_rows(
                        Keyed::<_, Shape<$m, $v>>::new(q)
                            .load_iter::<Hit, DefaultLoadingMode>(conn)?,
                        limit,
                    ),)*
                    _ => take_rows(q.load_iter::<Hit, DefaultLoadingMode>(conn)?, limit),
                }
            };
        }
        by_shape!(
            (0, 0),
            (0, 1),
            (0, 2),
            (1, 0),
            (1, 1),
            (1, 2),
            (2, 0),
            (2, 1),
            (2, 2),
            (3, 0),
            (3, 1),
            (3, 2),
            (4, 0),
            (4, 1),
            (4, 2)
        )
    })?;
    let more = hits.len() > shown;
    hits.truncate(shown);
    Ok(SearchPage {
        hits,
        more,
        resume: None,
    })
}

/// A range's page ids under row filters: the next [`RANGE_SCAN_BUDGET`] entries of the range
/// (visibility, user, feed, time and cursor applied, as the index answers them), then those
/// of them the row filters keep, at most `limit`. When the budget was spent the key of its
/// last entry comes back too: the next page starts there.
fn filtered_range_ids(
    c: &mut DbConnection,
    m: &Match,
    f: &Filters,
    limit: i64,
) -> QueryResult<(Vec<i64>, Option<PageKey>)> {
    use crate::db::schema::indicators;
    use crate::db::sql::{bucket, in_list, limited, take_rows};
    let window_filters = Filters {
        tags: Vec::new(),
        itypes: Vec::new(),
        ..f.clone()
    };
    let mut window: Vec<i64> = crate::on_backend!(c, |conn| {
        let q = crate::range_ids_query!(m, &window_filters);
        let ids = limited(q, RANGE_SCAN_BUDGET).load_iter::<i64, DefaultLoadingMode>(conn)?;
        take_rows(ids, RANGE_SCAN_BUDGET)
    })?;
    let Some(&last) = window.last() else {
        return Ok((Vec::new(), None));
    };
    let spent = window.len() as i64 >= RANGE_SCAN_BUDGET;
    let resume = if spent {
        let key: (i64, crate::db::time::DbTime) = crate::on_backend!(c, |conn| indicators::table
            .filter(indicators::id.eq(last))
            .select((indicators::id, indicators::effective_at))
            .first::<(i64, crate::db::time::DbTime)>(conn))?;
        Some((key.1.into(), key.0))
    } else {
        None
    };
    window.resize(
        usize::try_from(bucket(window.len() as i64)).unwrap_or(window.len()),
        last,
    );
    let ids: Vec<i64> = crate::on_backend!(c, |conn| {
        let q = indicators::table
            .into_boxed()
            .filter(in_list(indicators::id, window));
        let q = crate::indicator_filters!(q, m, f).select(indicators::id);
        let ids = limited(q, limit).load_iter::<i64, DefaultLoadingMode>(conn)?;
        take_rows(ids, limit)
    })?;
    Ok((ids, resume))
}

/// The type-level key of a search statement of a common shape: an address probing 1, 2, 4 or
/// 8 network starts (`MATCH` 0-3) or an exact value (4), for an anonymous caller (`VIEWER` 0),
/// a user (1) or an admin (2), without filters or cursor, at the default limit's bucket.
/// Everything else that changes the statement's text is absent from these shapes: the
/// starts' count is part of the key, and every value is bound.
struct Shape<const MATCH: u8, const VIEWER: u8>;

/// The `(MATCH, VIEWER)` of a search's [`Shape`], when it has a common one.
fn shape(m: &Match, f: &Filters, limit: i64) -> Option<(u8, u8)> {
    use crate::domain::page::SEARCH_PAGES;
    let plain = f.itypes.is_empty()
        && f.tags.is_empty()
        && f.user.is_none()
        && f.feed.is_none()
        && f.since.is_none()
        && f.after.is_none()
        && crate::db::sql::bucket(limit) == crate::db::sql::bucket(SEARCH_PAGES.default + 1);
    if !plain {
        return None;
    }
    let matching = match m {
        Match::Address { starts, .. } => match starts.len() {
            1 => 0,
            2 => 1,
            4 => 2,
            8 => 3,
            _ => return None,
        },
        Match::Exact(_) => 4,
        _ => return None,
    };
    let viewer = match f.viewer {
        Viewer::Anonymous => 0,
        Viewer::User(_) => 1,
        Viewer::Admin(_) => 2,
    };
    Some((matching, viewer))
}

/// `EXPLAIN` of the statement a search runs to choose its page, as plain text: SQLite's `EXPLAIN QUERY PLAN`
/// details, or PostgreSQL's plan with sequential scans disabled (so any path an index can
/// serve shows the index). Used by the plan tests and by operators checking a slow search.
pub fn explain(c: &mut DbConnection, m: &Match, f: &Filters, limit: i64) -> QueryResult<String> {
    use diesel::connection::SimpleConnection;
    use explain::{Explain, PgPlanLine, SqlitePlanLine};
    let narrowed = m.probing_stored(c)?;
    let m = narrowed.as_ref().unwrap_or(m);
    // The statement `search` runs to choose the page: the ids alone for a range, else the rows.
    macro_rules! plan {
        ($conn:expr, $prefix:expr, $line:ty) => {{
            let lines: Vec<$line> = if m.is_range() {
                let q = crate::range_ids_query!(m, f);
                Explain::new(crate::db::sql::limited(q, limit), $prefix).load($conn)?
            } else {
                Explain::new(page_rows_query!(m, f, limit), $prefix).load($conn)?
            };
            lines
        }};
    }
    match c {
        DbConnection::Sqlite(conn) => {
            let lines = plan!(conn, "EXPLAIN QUERY PLAN ", SqlitePlanLine);
            Ok(lines
                .into_iter()
                .map(|l| l.detail)
                .collect::<Vec<_>>()
                .join("\n"))
        }
        DbConnection::Postgresql(conn) => {
            conn.batch_execute("SET enable_seqscan = off")?;
            let lines = (|| -> QueryResult<Vec<PgPlanLine>> {
                Ok(plan!(&mut *conn, "EXPLAIN ", PgPlanLine))
            })();
            conn.batch_execute("RESET enable_seqscan")?;
            Ok(lines?
                .into_iter()
                .map(|l| l.plan)
                .collect::<Vec<_>>()
                .join("\n"))
        }
    }
}

mod explain {
    //! A wrapper that prefixes a query with `EXPLAIN`, keeping its bind parameters.

    use diesel::backend::Backend;
    use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
    use diesel::sql_types::{Integer, Text};
    use diesel::{QueryResult, QueryableByName};

    pub struct Explain<Q> {
        query: Q,
        prefix: &'static str,
    }

    impl<Q> Explain<Q> {
        pub fn new(query: Q, prefix: &'static str) -> Self {
            Self { query, prefix }
        }
    }

    impl<Q> QueryId for Explain<Q> {
        type QueryId = ();
        const HAS_STATIC_QUERY_ID: bool = false;
    }

    impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for Explain<Q> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
            out.push_sql(self.prefix);
            self.query.walk_ast(out.reborrow())
        }
    }

    impl<Q> Query for Explain<Q> {
        type SqlType = diesel::sql_types::Untyped;
    }

    impl<Q, C> diesel::RunQueryDsl<C> for Explain<Q> {}

    /// One line of SQLite's `EXPLAIN QUERY PLAN`.
    #[derive(QueryableByName)]
    pub struct SqlitePlanLine {
        #[diesel(sql_type = Integer)]
        #[allow(dead_code, reason = "read for the row shape only")]
        pub id: i32,
        #[diesel(sql_type = Text)]
        pub detail: String,
    }

    /// One line of PostgreSQL's `EXPLAIN`.
    #[derive(QueryableByName)]
    pub struct PgPlanLine {
        #[diesel(sql_type = Text)]
        #[diesel(column_name = "QUERY PLAN")]
        pub plan: String,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use diesel::query_builder::{QueryBuilder, QueryFragment};

    use super::*;
    use crate::db::sql::Keyed;

    /// A search statement's SQL text on each backend (binds not included), as `search` runs it
    /// under a [`Keyed`] key.
    fn texts(m: &Match, f: &Filters, limit: i64) -> (String, String) {
        let q = Keyed::<_, ()>::new(page_rows_query!(m, f, limit));
        let mut sqlite = diesel::sqlite::SqliteQueryBuilder::new();
        q.to_sql(&mut sqlite, &diesel::sqlite::Sqlite).unwrap();
        let q = Keyed::<_, ()>::new(page_rows_query!(m, f, limit));
        let mut pg = diesel::pg::PgQueryBuilder::default();
        q.to_sql(&mut pg, &diesel::pg::Pg).unwrap();
        (sqlite.finish(), pg.finish())
    }

    fn address(starts: usize, last_byte: u8, v4: bool) -> Match {
        let mut addr = [0u8; 16];
        addr[15] = last_byte;
        Match::Address {
            starts: (0..starts)
                .map(|i| vec![u8::try_from(i).unwrap(); 16])
                .collect(),
            addr,
            v4,
        }
    }

    #[test]
    fn each_shape_key_stands_for_exactly_one_statement_text() {
        // `Keyed` finds a prepared statement by its key's type alone: two texts under one key
        // would run one text's statement with the other's binds.
        let mut matches = Vec::new();
        for starts in [1, 2, 3, 4, 8, 16] {
            for (last_byte, v4) in [(1, true), (200, true), (7, false)] {
                matches.push(address(starts, last_byte, v4));
            }
        }
        matches.push(Match::Exact("http://example.com/a".into()));
        matches.push(Match::Exact("0123456789abcdef".into()));
        matches.push(Match::Network {
            lo: vec![0; 16],
            hi: vec![1; 16],
        });
        matches.push(Match::Host {
            from: b"com.example.".to_vec(),
            to: b"com.example/".to_vec(),
        });
        let viewers = [
            Viewer::Anonymous,
            Viewer::User(1),
            Viewer::User(42),
            Viewer::Admin(1),
            Viewer::Admin(9),
        ];
        let mut by_key: BTreeMap<(u8, u8), BTreeSet<(String, String)>> = BTreeMap::new();
        for m in &matches {
            for viewer in viewers {
                let plain = Filters {
                    viewer,
                    ..Filters::default()
                };
                let filtered = Filters {
                    tags: vec!["x".into()],
                    viewer,
                    ..Filters::default()
                };
                for f in [&plain, &filtered] {
                    for limit in [1, 2, 25, 26, 32, 33, 101] {
                        if let Some(key) = shape(m, f, limit) {
                            by_key.entry(key).or_default().insert(texts(m, f, limit));
                        }
                    }
                }
            }
        }
        let every_key: BTreeSet<(u8, u8)> =
            (0..=4).flat_map(|m| (0..=2).map(move |v| (m, v))).collect();
        assert_eq!(by_key.keys().copied().collect::<BTreeSet<_>>(), every_key);
        for (key, texts) in &by_key {
            assert_eq!(
                texts.len(),
                1,
                "shape {key:?} has {} texts: {texts:#?}",
                texts.len()
            );
        }
        let distinct: BTreeSet<_> = by_key.values().flatten().collect();
        assert_eq!(distinct.len(), by_key.len(), "two shapes share a text");
    }
}
