//! Indicators as the API shows them: a page of rows wrapped as views with their comments and
//! attachments loaded in two queries, rendered with its cursor; one indicator with all of
//! its comments. Shared by the indicator, feed and search routes.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::api::paging::Cursor;
use crate::api::render::{self, Extras, IndicatorView};
use crate::api::representation::ApiVersion;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::models::attachment::{self, AttachmentMeta};
use crate::models::comment::{self, CommentView};
use crate::models::feed::FeedRow;
use crate::models::indicator::{self, IndicatorRow};

/// List contexts show this many of the newest comments.
pub const LIST_COMMENTS: usize = 10;

/// Comments and attachments of a set of indicators, by indicator id.
#[derive(Debug, Default)]
pub struct LoadedExtras {
    pub comments: HashMap<i64, Vec<CommentView>>,
    pub attachments: HashMap<i64, Vec<AttachmentMeta>>,
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
