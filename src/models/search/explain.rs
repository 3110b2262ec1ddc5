//! `EXPLAIN` of a search's statements, for the plan tests and for operators checking a slow
//! search: a wrapper that prefixes a query with `EXPLAIN`, keeping its bind parameters.

use diesel::backend::Backend;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Integer, Text};
use diesel::{QueryResult, QueryableByName};

use super::{Filters, Match, page_rows_query};
use crate::db::DbConnection;

/// `EXPLAIN` of the statement a search runs to choose its page, as plain text: SQLite's `EXPLAIN QUERY PLAN`
/// details, or PostgreSQL's plan with sequential scans disabled (so any path an index can
/// serve shows the index). Used by the plan tests and by operators checking a slow search.
pub fn explain(c: &mut DbConnection, m: &Match, f: &Filters, limit: i64) -> QueryResult<String> {
    let narrowed = m.probing_stored(c)?;
    let m = narrowed.as_ref().unwrap_or(m);
    // The statement `search` runs to choose the page: the ids alone for a range, else the rows.
    macro_rules! plan {
        ($conn:expr, $prefix:expr, $line:ty) => {{
            let lines: Vec<$line> = if m.is_range() {
                // With row filters the index is read as a window (`Filters::window`).
                let window = if f.scans_window(m) {
                    f.window(m)
                } else {
                    f.clone()
                };
                let q = crate::range_ids_query!(m, &window);
                Explain::new(crate::db::sql::limited(q, limit), $prefix).load($conn)?
            } else {
                Explain::new(page_rows_query!(m, f, limit), $prefix).load($conn)?
            };
            lines
        }};
    }
    plan_text(
        c,
        |conn| Ok(plan!(conn, "EXPLAIN QUERY PLAN ", SqlitePlanLine)),
        |conn| Ok(plan!(conn, "EXPLAIN ", PgPlanLine)),
    )
}

/// A statement's plan as text, from `sqlite` (its `EXPLAIN QUERY PLAN` lines) or `pg` (its
/// `EXPLAIN` lines, run with sequential scans off so any path an index can serve shows the
/// index), whichever backend `c` is.
pub fn plan_text(
    c: &mut DbConnection,
    sqlite: impl FnOnce(&mut diesel::SqliteConnection) -> QueryResult<Vec<SqlitePlanLine>>,
    pg: impl FnOnce(&mut diesel::PgConnection) -> QueryResult<Vec<PgPlanLine>>,
) -> QueryResult<String> {
    match c {
        DbConnection::Sqlite(conn) => Ok(sqlite(conn)?
            .into_iter()
            .map(|l| l.detail)
            .collect::<Vec<_>>()
            .join("\n")),
        DbConnection::Postgresql(conn) => {
            conn.batch_execute("SET enable_seqscan = off")?;
            let lines = pg(conn);
            conn.batch_execute("RESET enable_seqscan")?;
            Ok(lines?
                .into_iter()
                .map(|l| l.plan)
                .collect::<Vec<_>>()
                .join("\n"))
        }
    }
}

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
