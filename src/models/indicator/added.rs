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

/// Where one statement of a page reads in added order. A position `(t, id)` is read as two
/// ranges of the index: the rest of its own second (`updated_at = t AND id > id`), then the
/// later ones (`updated_at > t`). SQLite reads a row value `(updated_at, id) > (t, id)` as
/// `updated_at >= t` and skips the second's earlier entries one by one, and stored times are
/// whole seconds: a bulk load puts thousands of rows in one second, and a page starting late
/// in it cost twenty times a first page.
#[derive(Debug, Clone, Copy)]
enum Range {
    /// The rows of the second `t` after `id`.
    Within(NaiveDateTime, i64),
    /// The rows after the second `t` (`None`: from the start).
    Later(Option<NaiveDateTime>),
}

/// The statements a page runs, in order.
fn ranges(p: &AddedPage) -> Vec<Range> {
    match p.after {
        Some((t, id)) => vec![Range::Within(t, id), Range::Later(Some(t))],
        None => vec![Range::Later(None)],
    }
}

/// The rows of an [`AddedPage`] in one [`Range`], oldest first, at most `$limit`.
macro_rules! added_rows {
    ($p:expr, $range:expr, $limit:expr) => {{
        let p: &AddedPage = $p;
        let mut query = indicators::table
            .filter(indicators::feed_id.eq(p.feed_id))
            .into_boxed();
        match $range {
            Range::Within(t, id) => {
                query = query
                    .filter(indicators::updated_at.eq(t))
                    .filter(indicators::id.gt(id));
            }
            Range::Later(Some(t)) => query = query.filter(indicators::updated_at.gt(t)),
            Range::Later(None) => {}
        }
        if let Some(t) = p.added_after {
            query = query.filter(indicators::updated_at.gt(t));
        }
        if let Some(ids) = &p.ids {
            query = query.filter(crate::db::sql::in_list(indicators::id, ids.clone()));
        }
        query = crate::shown_filters!(query, &p.shown, p.default_tlp);
        let query = query
            .order((indicators::updated_at.asc(), indicators::id.asc()))
            .select(IndicatorFields::as_select());
        crate::db::sql::limited(query, $limit)
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
    let mut left = p.limit;
    for range in ranges(p) {
        if left <= 0 {
            break;
        }
        let rows = usize::try_from(left).unwrap_or(0);
        // On the concrete connection, like feed pages (see `models::search`).
        let (read, stopped) = crate::on_backend!(c, |conn| {
            let iter = added_rows!(p, range, left)
                .load_iter::<IndicatorFields, DefaultLoadingMode>(conn)?;
            let (mut read, mut stopped) = (0i64, false);
            for row in iter.take(rows) {
                read += 1;
                if !each(row?) {
                    stopped = true;
                    break;
                }
            }
            QueryResult::Ok((read, stopped))
        })?;
        if stopped {
            break;
        }
        left -= read;
    }
    Ok(())
}

/// The plans of [`each_added`]'s statements as text, one after the other
/// (`models::search::plan_text`).
pub fn explain_added(c: &mut DbConnection, p: &AddedPage) -> QueryResult<String> {
    let mut plans = Vec::new();
    for range in ranges(p) {
        plans.push(plan_text(
            c,
            |conn| Explain::new(added_rows!(p, range, p.limit), "EXPLAIN QUERY PLAN ").load(conn),
            |conn| Explain::new(added_rows!(p, range, p.limit), "EXPLAIN ").load(conn),
        )?);
    }
    Ok(plans.join("\n"))
}
