//! SQL expressions diesel lacks in the form we need.

use diesel::backend::Backend;
use diesel::expression::{AppearsOnTable, Expression, ValidGrouping};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

use diesel::QueryResult;
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, HasSqlType};

/// `column IN (?, ?, …)` whose statement diesel may keep prepared.
///
/// diesel's `eq_any` marks every statement that contains it as not cacheable (the number of
/// values may change between executions), so a hot query using it is parsed again on every
/// request. Callers of this one keep the number of values fixed per query shape, which keeps
/// the SQL text — the cache key — the same.
#[derive(Debug, Clone)]
pub struct InList<C, T> {
    column: C,
    values: Vec<T>,
}

/// `column IN (values…)`; an empty list matches nothing.
pub fn in_list<C, T>(column: C, values: Vec<T>) -> InList<C, T> {
    InList { column, values }
}

impl<C: Expression, T> Expression for InList<C, T> {
    type SqlType = Bool;
}

impl<C: AppearsOnTable<QS> + Expression, T, QS> AppearsOnTable<QS> for InList<C, T> {}

impl<C: ValidGrouping<GB>, T, GB> ValidGrouping<GB> for InList<C, T> {
    type IsAggregate = C::IsAggregate;
}

impl<C, T> QueryId for InList<C, T> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, T, DB> QueryFragment<DB> for InList<C, T>
where
    DB: Backend + HasSqlType<C::SqlType>,
    C: Expression + QueryFragment<DB>,
    T: ToSql<C::SqlType, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if self.values.is_empty() {
            out.push_sql("1 = 0");
            return Ok(());
        }
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        for (i, value) in self.values.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<C::SqlType, T>(value)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

/// SQLite: `column IN (SELECT value FROM json_each(?))`, the values bound as one JSON array
/// of strings. One statement text whatever the number of values, so it stays prepared (an
/// `IN` list of a bulk request's 1,000 values was parsed and planned anew per request).
#[derive(Debug, Clone)]
pub struct InJson<C> {
    column: C,
    json: String,
}

/// `column IN (values…)` on SQLite, for text columns.
pub fn in_json<C>(column: C, values: &[String]) -> Result<InJson<C>, diesel::result::Error> {
    let json = serde_json::to_string(values)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    Ok(InJson { column, json })
}

impl<C: Expression> Expression for InJson<C> {
    type SqlType = Bool;
}

impl<C: AppearsOnTable<QS> + Expression, QS> AppearsOnTable<QS> for InJson<C> {}

impl<C: ValidGrouping<GB>, GB> ValidGrouping<GB> for InJson<C> {
    type IsAggregate = C::IsAggregate;
}

impl<C: QueryId> QueryId for InJson<C> {
    type QueryId = InJson<C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<C> QueryFragment<diesel::sqlite::Sqlite> for InJson<C>
where
    C: Expression + QueryFragment<diesel::sqlite::Sqlite>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::sqlite::Sqlite>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<diesel::sql_types::Text, str>(&self.json)?;
        out.push_sql("))");
        Ok(())
    }
}

/// A select with its row limit written into the SQL text instead of bound.
///
/// SQLite (3.47 and later) re-parses a prepared statement whenever a value bound to `LIMIT ?`
/// is bound again, because the limit may change its plan, so every search would be parsed
/// again. A literal limit keeps the prepared statement valid. The
/// literal is rounded up to a power of two (at least 32) so a connection keeps a handful of
/// statements per query shape whatever limits clients send; callers read at most the rows
/// they asked for ([`take_rows`]), and SQLite produces rows only as they are read.
#[derive(Debug, Clone)]
pub struct Limited<Q> {
    query: Q,
    literal: i64,
}

/// `query LIMIT n'` where n' ≥ `rows` is the bucket described on [`Limited`].
pub fn limited<Q>(query: Q, rows: i64) -> Limited<Q> {
    Limited {
        query,
        literal: bucket(rows),
    }
}

/// `rows` rounded up to a power of two, at least 32: one of a handful of sizes.
pub fn bucket(rows: i64) -> i64 {
    let rows = u64::try_from(rows.max(1)).unwrap_or(1);
    i64::try_from(rows.next_power_of_two().max(32)).unwrap_or(i64::MAX)
}

impl<Q: Query> Query for Limited<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> QueryId for Limited<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for Limited<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(" LIMIT ");
        out.push_sql(&self.literal.to_string());
        Ok(())
    }
}

impl<Q, C> diesel::RunQueryDsl<C> for Limited<Q> {}

/// The first `rows` items of a [`Limited`] query's result iterator.
pub fn take_rows<T, I>(iter: I, rows: i64) -> QueryResult<Vec<T>>
where
    I: Iterator<Item = QueryResult<T>>,
{
    iter.take(usize::try_from(rows).unwrap_or(0)).collect()
}

/// A query whose SQL text is fixed by the type `K` alone, so diesel finds its prepared
/// statement by type instead of rendering the whole text again on every run to look it up (a
/// search's select has 40 columns).
///
/// Only for a query built by one code path whose text depends on nothing but what `K` names:
/// two texts under one `K` would run the first one's statement with the second one's binds.
pub struct Keyed<Q, K> {
    query: Q,
    key: std::marker::PhantomData<K>,
}

impl<Q, K> Keyed<Q, K> {
    /// `query`, whose text `K` determines.
    pub fn new(query: Q) -> Self {
        Keyed {
            query,
            key: std::marker::PhantomData,
        }
    }
}

impl<Q: Query, K> Query for Keyed<Q, K> {
    type SqlType = Q::SqlType;
}

impl<Q, K: 'static> QueryId for Keyed<Q, K> {
    type QueryId = K;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Q: QueryFragment<DB>, K, DB: Backend> QueryFragment<DB> for Keyed<Q, K> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(out)
    }
}

impl<Q, K, Conn> diesel::RunQueryDsl<Conn> for Keyed<Q, K> {}

/// `(a, b) < (?, ?)`: the keyset condition "after this page" in one comparison.
///
/// The equivalent `a < ? OR (a = ? AND b < ?)` with bound values is not used as an index range
/// by SQLite, which then walks the feed from its newest row to the cursor, so a deep page
/// would cost more than the first; the row value is, on both backends.
#[derive(Debug, Clone)]
pub struct RowBefore<A, B, VA, VB> {
    columns: (A, B),
    values: (VA, VB),
}

/// `(a, b) < (va, vb)`.
pub fn row_before<A, B, VA, VB>(a: A, b: B, va: VA, vb: VB) -> RowBefore<A, B, VA, VB> {
    RowBefore {
        columns: (a, b),
        values: (va, vb),
    }
}

impl<A: Expression, B: Expression, VA, VB> Expression for RowBefore<A, B, VA, VB> {
    type SqlType = Bool;
}

impl<A, B, VA, VB, QS> AppearsOnTable<QS> for RowBefore<A, B, VA, VB>
where
    A: AppearsOnTable<QS> + Expression,
    B: AppearsOnTable<QS> + Expression,
{
}

impl<A: ValidGrouping<GB>, B, VA, VB, GB> ValidGrouping<GB> for RowBefore<A, B, VA, VB> {
    type IsAggregate = A::IsAggregate;
}

impl<A, B, VA, VB> QueryId for RowBefore<A, B, VA, VB> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<A, B, VA, VB, DB> QueryFragment<DB> for RowBefore<A, B, VA, VB>
where
    DB: Backend + HasSqlType<A::SqlType> + HasSqlType<B::SqlType>,
    A: Expression + QueryFragment<DB>,
    B: Expression + QueryFragment<DB>,
    VA: ToSql<A::SqlType, DB>,
    VB: ToSql<B::SqlType, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("(");
        self.columns.0.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.columns.1.walk_ast(out.reborrow())?;
        out.push_sql(") < (");
        out.push_bind_param::<A::SqlType, VA>(&self.values.0)?;
        out.push_sql(", ");
        out.push_bind_param::<B::SqlType, VB>(&self.values.1)?;
        out.push_sql(")");
        Ok(())
    }
}

/// Chunk sizes for `n` rows of a multi-row statement: whole chunks of `full` rows (a power of
/// two), then powers of two for the rest. A multi-row statement's text depends on its row
/// count and a connection keeps every statement text it prepares, so this bounds a
/// connection's statements of one kind to `log2(full) + 1`.
pub fn chunk_sizes(mut n: usize, full: usize) -> Vec<usize> {
    debug_assert!(full.is_power_of_two());
    let mut out = Vec::new();
    while n > 0 {
        let size = if n >= full {
            full
        } else {
            1 << (usize::BITS - 1 - n.leading_zeros())
        };
        out.push(size);
        n -= size;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyed_query_is_identified_by_its_key_alone() {
        // Why each key must stand for one text: diesel's statement cache sees the key only.
        struct A;
        struct B;
        let id = |id: Option<std::any::TypeId>| id.expect("a static query id");
        assert_eq!(
            id(<Keyed<u8, A> as QueryId>::query_id()),
            id(<Keyed<String, A> as QueryId>::query_id())
        );
        assert_ne!(
            id(<Keyed<u8, A> as QueryId>::query_id()),
            id(<Keyed<u8, B> as QueryId>::query_id())
        );
    }

    #[test]
    fn a_keyed_query_renders_the_text_of_the_query_it_wraps() {
        use diesel::query_builder::QueryBuilder;
        let render = |q: &dyn QueryFragment<diesel::sqlite::Sqlite>| {
            let mut out = diesel::sqlite::SqliteQueryBuilder::new();
            q.to_sql(&mut out, &diesel::sqlite::Sqlite).unwrap();
            out.finish()
        };
        let inner = || diesel::dsl::sql::<diesel::sql_types::Integer>("SELECT 1");
        assert_eq!(
            render(&Keyed::<_, ()>::new(limited(diesel::select(inner()), 3))),
            render(&limited(diesel::select(inner()), 3))
        );
    }

    #[test]
    fn multi_row_statements_come_in_a_few_fixed_sizes_covering_every_row() {
        const FULL: usize = 256;
        assert_eq!(chunk_sizes(0, FULL), Vec::<usize>::new());
        assert_eq!(chunk_sizes(1, FULL), [1]);
        assert_eq!(chunk_sizes(FULL, FULL), [FULL]);
        assert_eq!(chunk_sizes(2 * FULL + 11, FULL), [FULL, FULL, 8, 2, 1]);
        let mut seen = std::collections::HashSet::new();
        for n in 0..3000 {
            let sizes = chunk_sizes(n, FULL);
            assert_eq!(sizes.iter().sum::<usize>(), n);
            seen.extend(sizes);
        }
        assert!(seen.len() <= FULL.trailing_zeros() as usize + 1, "{seen:?}");
    }
}
