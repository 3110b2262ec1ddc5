//! A feed's indicators in the order their current versions were written: oldest first by
//! `updated_at` (TAXII's `date_added`), then id, after a keyset position and an `added_after`
//! time. Served by the index `indicators_feed_added (feed_id, updated_at, id)` at any depth
//! (`explain_added` shows the plan; `tests/api/taxii.rs` checks it on both backends).

use chrono::NaiveDateTime;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;

use super::{IndicatorFields, Shown};
use crate::db::DbConnection;
use crate::db::schema::indicators;
use crate::domain::tlp::Tlp;
use crate::models::search::{Explain, plan_text};

/// A position in added order: the `updated_at` and id of the last row read.
pub type AddedKey = (NaiveDateTime, i64);

/// Which rows of a feed, in added order.
#[derive(Debug, Clone)]
pub struct AddedPage {
    pub feed_id: i64,
    /// Only rows written after this time (exclusive).
    pub added_after: Option<NaiveDateTime>,
    /// Only rows after this position (exclusive).
    pub after: Option<AddedKey>,
    /// Only these indicator ids (`None`: any).
    pub ids: Option<Vec<i64>>,
    /// At most this many rows.
    pub limit: i64,
    /// Expiry, the TLP rule and the row filters, as every read applies them.
    pub shown: Shown,
    /// The feed's default level, which its unmarked rows have.
    pub default_tlp: Tlp,
}

/// The rows of an [`AddedPage`], oldest first.
macro_rules! added_rows {
    ($p:expr) => {{
        let p: &AddedPage = $p;
        let mut query = indicators::table
            .filter(indicators::feed_id.eq(p.feed_id))
            .into_boxed();
        if let Some(t) = p.added_after {
            query = query.filter(indicators::updated_at.gt(t));
        }
        if let Some((t, id)) = p.after {
            query = query.filter(crate::db::sql::row_after(
                indicators::updated_at,
                indicators::id,
                t,
                id,
            ));
        }
        if let Some(ids) = &p.ids {
            query = query.filter(crate::db::sql::in_list(indicators::id, ids.clone()));
        }
        query = crate::shown_filters!(query, &p.shown, p.default_tlp);
        let query = query
            .order((indicators::updated_at.asc(), indicators::id.asc()))
            .select(IndicatorFields::as_select());
        crate::db::sql::limited(query, p.limit)
    }};
}

/// Hands each row of the page to `each` as it is read, at most `p.limit`; `each` returns
/// whether it wants more. Rows are decoded one at a time, so a caller that stops early (its
/// byte budget spent) reads no further.
pub fn each_added(
    c: &mut DbConnection,
    p: &AddedPage,
    mut each: impl FnMut(IndicatorFields) -> bool,
) -> QueryResult<()> {
    let rows = usize::try_from(p.limit).unwrap_or(0);
    // On the concrete connection, like feed pages (see `models::search`).
    crate::on_backend!(c, |conn| {
        let iter = added_rows!(p).load_iter::<IndicatorFields, DefaultLoadingMode>(conn)?;
        for row in iter.take(rows) {
            if !each(row?) {
                break;
            }
        }
        Ok(())
    })
}

/// The plan of [`each_added`]'s statement as text (`models::search::plan_text`).
pub fn explain_added(c: &mut DbConnection, p: &AddedPage) -> QueryResult<String> {
    plan_text(
        c,
        |conn| Explain::new(added_rows!(p), "EXPLAIN QUERY PLAN ").load(conn),
        |conn| Explain::new(added_rows!(p), "EXPLAIN ").load(conn),
    )
}
