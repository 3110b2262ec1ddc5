//! Indicators as the API shows them: a page of rows wrapped as views with their comments and
//! attachments loaded in two queries, rendered with its cursor; one indicator with all of
//! its comments. Shared by the indicator, feed and search routes.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use chrono::NaiveDateTime;

use crate::api::feed_path::{FeedPath, visible_feed};
use crate::api::paging::Cursor;
use crate::api::render::{self, Extras, IndicatorView};
use crate::api::representation::ApiVersion;
use crate::api::selection::Selection;
use crate::api::shown::{RowFilters, Window};
use crate::auth::access;
use crate::auth::caller::Caller;
use crate::db::DbConnection;
use crate::domain::thing::Itype;
use crate::error::ApiError;
use crate::models::attachment::{self, AttachmentMeta};
use crate::models::comment::{self, CommentView};
use crate::models::feed::FeedRow;
use crate::models::indicator::{self, IndicatorRow, PageKey, PageOf};
use crate::models::user::UserRow;

/// List contexts show this many of the newest comments.
pub const LIST_COMMENTS: usize = 10;

/// Comments and attachments of a set of indicators, by indicator id.
#[derive(Debug, Default)]
pub struct LoadedExtras {
    pub comments: HashMap<i64, Vec<CommentView>>,
    pub attachments: HashMap<i64, Vec<AttachmentMeta>>,
}

/// A page of one feed's indicators as a caller may see it, loaded for rendering.
pub struct FeedPage {
    pub owner: UserRow,
    pub feed: FeedRow,
    pub views: Vec<IndicatorView>,
    pub extras: LoadedExtras,
    /// More rows may follow: the next page starts after the last view, or at `resume`.
    pub more: bool,
    /// Where the next page starts when a selection's page ended at its scan budget.
    pub resume: Option<PageKey>,
}

impl FeedPage {
    /// The cursor of the next page, if another follows, for a request with `params`.
    pub fn next_cursor(&self, params: &BTreeMap<&'static str, String>) -> Option<String> {
        let key = match self.resume {
            Some(at) => Some(at),
            None if self.more => self.views.last().map(|v| (v.row.effective_at, v.row.id)),
            None => None,
        };
        key.map(|(t, id)| Cursor::encode(&Cursor::time_id_key(t, id), params))
    }
}

/// Rows of a feed a page with a [`Selection`] looks at, at most: a type or tag the feed holds
/// rarely would otherwise read the whole feed for one page. Such a page may be short, and
/// its cursor resumes after the last row looked at.
pub const SELECTION_SCAN_BUDGET: i64 = 500;

/// Reads the page of the feed at `path` in `window` as `caller` may see it (404 when the
/// feed is invisible): the rows `filters` show and `selection` selects, newest first, with
/// their comments and attachments. The feed page, the indicator list and the web feed page
/// read through here.
#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one read, each named"
)]
pub fn read_feed_page(
    c: &mut DbConnection,
    path: &FeedPath,
    caller: &Caller,
    filters: &RowFilters,
    selection: &Selection,
    window: Window,
    now: NaiveDateTime,
    max_bytes: usize,
) -> Result<FeedPage, ApiError> {
    let (owner, feed) = visible_feed(c, path, caller)?;
    let of = filters.page_of(&feed, access::viewer(caller), now, window);
    let (rows, more, resume) = if selection.is_everything() {
        let page = indicator::page_within(c, &of, max_bytes)?;
        (page.rows, page.more, None)
    } else {
        selected_rows(c, of, selection, max_bytes)?
    };
    let (views, extras) = load_views(c, rows, &feed, &owner.username, true)?;
    Ok(FeedPage {
        owner,
        feed,
        views,
        extras,
        more,
        resume,
    })
}

/// The rows of a page that `selection` selects, looking at [`SELECTION_SCAN_BUDGET`] rows
/// at most: the rows, whether more may follow, and where to resume when the budget ended it.
fn selected_rows(
    c: &mut DbConnection,
    mut of: PageOf,
    selection: &Selection,
    max_bytes: usize,
) -> Result<(Vec<IndicatorRow>, bool, Option<PageKey>), ApiError> {
    // A few pages' worth a statement: a common type or tag fills the page from the first
    // piece, a rare one reads on up to the budget. Only the type and tags are read to choose;
    // the chosen rows are then read whole.
    let piece = (of.limit * 4).clamp(1, 500);
    let limit = of.limit;
    let mut chosen: Vec<i64> = Vec::new();
    let mut looked = 0i64;
    let (more, resume) = loop {
        of.limit = (SELECTION_SCAN_BUDGET - looked).clamp(1, piece);
        let keys = indicator::page_keys(c, &of)?;
        let read = keys.len() as i64;
        let mut full = false;
        for (id, at, itype, tags) in keys {
            looked += 1;
            of.after = Some((at, id));
            if Itype::parse_name(&itype).is_some_and(|t| selection.selects(t, &tags)) {
                chosen.push(id);
                if chosen.len() as i64 >= limit {
                    full = true;
                    break;
                }
            }
        }
        if full {
            break (true, None);
        }
        if read < of.limit {
            break (false, None);
        }
        if looked >= SELECTION_SCAN_BUDGET {
            break (true, of.after);
        }
    };
    let mut rows = indicator::in_feed_by_ids(c, of.feed_id, &chosen)?;
    rows.sort_by_key(|r| std::cmp::Reverse((r.effective_at, r.id)));
    // The page's text budget, as `page_within` keeps it (the first row always shown).
    let mut bytes = 0usize;
    let mut shown = 0;
    for row in &rows {
        let size = row.text_bytes();
        if shown > 0 && bytes + size > max_bytes {
            break;
        }
        bytes += size;
        shown += 1;
    }
    if shown < rows.len() {
        rows.truncate(shown);
        return Ok((rows, true, None));
    }
    Ok((rows, more, resume))
}

/// Wraps rows of one feed as views and loads their comments (the newest 10 in list context)
/// and attachments: two queries for the whole page.
pub fn load_views(
    c: &mut DbConnection,
    rows: Vec<IndicatorRow>,
    feed: &FeedRow,
    owner: &str,
    list_context: bool,
) -> Result<(Vec<IndicatorView>, LoadedExtras), ApiError> {
    let mut views: Vec<IndicatorView> = rows
        .into_iter()
        .map(|r| IndicatorView::of(r, feed, owner))
        .collect();
    let extras = load_extras(c, &mut views, list_context)?;
    Ok((views, extras))
}

/// Loads what rendering needs beyond the rows: imported rows' full stored copies, and comments
/// and attachments (only for indicators that have any).
pub fn load_extras(
    c: &mut DbConnection,
    views: &mut [IndicatorView],
    list_context: bool,
) -> Result<LoadedExtras, ApiError> {
    indicator::expand_contents(c, views.iter_mut().map(|v| &mut v.row))?;
    let with_comments: Vec<i64> = views
        .iter()
        .filter(|v| v.row.comments_count > 0)
        .map(|v| v.row.id)
        .collect();
    // Most pages have no attachments at all: then no query.
    let ids: Vec<i64> = views
        .iter()
        .filter(|v| v.row.attachments_count > 0)
        .map(|v| v.row.id)
        .collect();

    Ok(LoadedExtras {
        comments: comment::for_indicators(
            c,
            &with_comments,
            list_context.then_some(LIST_COMMENTS),
        )?,
        attachments: attachment::for_indicators(c, &ids)?,
    })
}

pub(crate) fn extras_of<'a>(extras: &'a LoadedExtras, id: i64) -> Extras<'a> {
    Extras {
        comments: extras.comments.get(&id).map_or(&[], Vec::as_slice),
        attachments: extras.attachments.get(&id).map_or(&[], Vec::as_slice),
    }
}

/// Renders up to `limit` views (one more was fetched to learn whether a next page exists) and
/// returns the cursor for that next page.
pub fn render_page<'a>(
    views: &'a [IndicatorView],
    extras: &'a LoadedExtras,
    version: ApiVersion,
    base: &'a str,
    limit: i64,
    params: &BTreeMap<&'static str, String>,
) -> (Vec<render::IndicatorJson<'a>>, Option<String>) {
    let more = views.len() as i64 > limit;
    render_shown(views, extras, version, base, (limit, more), params)
}

/// [`render_page`] when the caller read only the shown rows and knows whether `more` follow.
pub fn render_shown<'a>(
    views: &'a [IndicatorView],
    extras: &'a LoadedExtras,
    version: ApiVersion,
    base: &'a str,
    (limit, more): (i64, bool),
    params: &BTreeMap<&'static str, String>,
) -> (Vec<render::IndicatorJson<'a>>, Option<String>) {
    let shown = &views[..views.len().min(limit as usize)];
    let list = shown
        .iter()
        .map(|view| render::IndicatorJson {
            view,
            version,
            base,
            extras: Some(extras_of(extras, view.row.id)),
        })
        .collect();

    let next = more
        .then(|| {
            shown
                .last()
                .map(|v| Cursor::encode(&Cursor::time_id_key(v.row.effective_at, v.row.id), params))
        })
        .flatten();
    (list, next)
}

/// The indicator `id` of the feed at `path` as `caller` may read it (404 otherwise: an
/// invisible feed, or the TLP rule), with all its comments and its attachments.
pub fn read_indicator(
    c: &mut DbConnection,
    path: &FeedPath,
    id: i64,
    caller: &Caller,
) -> Result<(IndicatorView, LoadedExtras), ApiError> {
    let (owner, feed) = visible_feed(c, path, caller)?;
    let row = access::visible_indicator(c, &feed, id, caller)?;
    let mut view = IndicatorView::of(row, &feed, &owner.username);
    let extras = load_extras(c, std::slice::from_mut(&mut view), false)?;
    Ok((view, extras))
}

/// Renders one indicator with all its comments.
pub fn full_object(
    c: &mut DbConnection,
    view: &mut IndicatorView,
    version: ApiVersion,
    base: &str,
) -> Result<Value, ApiError> {
    let extras = load_extras(c, std::slice::from_mut(view), false)?;
    Ok(render::indicator(
        view,
        version,
        base,
        Some(extras_of(&extras, view.row.id)),
    ))
}
