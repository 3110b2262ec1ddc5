//! `GET /api/users/{user}/feeds/{feed}/changes` (issue 20): a feed's change log, oldest first,
//! from `since` (a seq); and the page loader the live stream (`api::stream`) shares.
//!
//! A created or updated change shows the indicator as it is now (one later deleted shows
//! nothing: its `deleted` follows); the TLP rule applies to every change, by the indicator's
//! marking now, or, for deletes and expiries, the one it had. A change a caller may not see
//! is skipped, and `next` still moves past it, so a page's cost is its `limit` of changes.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::api::feed_path::{FeedPath, visible_feed};
use crate::api::indicator_views::{LoadedExtras, extras_of, load_extras};
use crate::api::paging::{self, invalid};
use crate::api::query::QueryPairs;
use crate::api::render::{IndicatorJson, IndicatorView};
use crate::api::representation::ApiVersion;
use crate::api::urls;
use crate::auth::access;
use crate::auth::caller::Caller;
use crate::db::DbConnection;
use crate::domain::tlp::Tlp;
use crate::domain::viewer::Viewer;
use crate::error::ApiError;
use crate::models::change::{self, Op};
use crate::models::feed::FeedRow;
use crate::models::indicator;
use crate::state::AppState;

/// GET …/changes?since=&limit=: 200 `{changes: [{seq, op, id, indicator?}], next, more}`;
/// 400 (`since`, `limit`), 404, 410 `changes_expired` (a `since` older than the retention).
pub async fn list_changes(
    state: web::Data<AppState>,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<FeedPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = query.only(&["since", "limit"])?;
    let since = params
        .get("since")
        .map(|s| parse_seq("since", s))
        .transpose()?;
    let limit = paging::limit(
        params.get("limit"),
        paging::SMALL_PAGES,
        caller.user().is_none(),
    )?;
    let max_bytes = state.settings.max_page_bytes;
    let base = urls::base(&req, &state);
    let path = path.into_inner();
    let body = state
        .db
        .read(move |c| {
            let (owner, feed) = visible_feed(c, &path, &caller)?;
            let since = start(&feed, since)?;
            let page = load_page(
                c,
                &feed,
                &owner.username,
                access::viewer(&caller),
                since,
                (limit, max_bytes),
            )?;
            serde_json::to_string(&PageJson {
                page: &page,
                base: &base,
            })
            .map_err(|e| ApiError::Internal(e.into()))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json; charset=utf-8")
        .body(body))
}

/// A seq given by a client: a whole number, 0 or more (400 otherwise).
pub fn parse_seq(parameter: &str, raw: &str) -> Result<i64, ApiError> {
    if raw.is_empty() || raw.len() > 18 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            parameter,
            format!("{parameter} must be a change seq: a whole number, 0 or more"),
        ));
    }
    raw.parse()
        .map_err(|_| invalid(parameter, format!("{parameter} is not a change seq")))
}

/// Where a read starts: after `since`, or after the last change the retention deleted; 410
/// when changes after `since` were deleted.
pub fn start(feed: &FeedRow, since: Option<i64>) -> Result<i64, ApiError> {
    match since {
        None => Ok(feed.changes_pruned_seq),
        Some(s) if s < feed.changes_pruned_seq => Err(ApiError::ChangesExpired {
            oldest: feed.changes_pruned_seq,
        }),
        Some(s) => Ok(s),
    }
}

/// One shown change.
#[derive(Debug)]
pub struct Entry {
    pub seq: i64,
    pub op: Op,
    pub id: i64,
    /// The index of the indicator's view in [`ChangePage::views`] (created and updated).
    pub view: Option<usize>,
}

/// A page of changes as a caller sees them.
#[derive(Debug, Default)]
pub struct ChangePage {
    pub entries: Vec<Entry>,
    pub views: Vec<IndicatorView>,
    pub extras: LoadedExtras,
    /// The seq to read after next time: the last change read, shown or not.
    pub next: i64,
    /// Whether changes after `next` may already exist.
    pub more: bool,
}

/// Reads up to `limit` changes of `feed` after `since` as `viewer` may see them, stopping
/// early (with `more`) once the shown indicators pass `max_bytes` of text.
pub fn load_page(
    c: &mut DbConnection,
    feed: &FeedRow,
    owner: &str,
    viewer: Viewer,
    since: i64,
    (limit, max_bytes): (i64, usize),
) -> Result<ChangePage, ApiError> {
    let rows = change::after(c, feed.id, since, limit)?;
    let mut ids: Vec<i64> = rows
        .iter()
        .filter(|r| Op::from_code(r.op).is_some_and(Op::shows_indicator))
        .map(|r| r.indicator_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut found: HashMap<i64, indicator::IndicatorRow> =
        indicator::in_feed_by_ids(c, feed.id, &ids)?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
    let restricted = viewer.reads_restricted_of(feed.user_id);
    let visible =
        |tlp: Option<&str>| restricted || !Tlp::effective(tlp, feed.private).is_restricted();
    let mut page = ChangePage {
        next: since,
        more: rows.len() as i64 >= limit,
        ..ChangePage::default()
    };
    let mut placed: HashMap<i64, usize> = HashMap::new();
    let mut bytes = 0usize;
    for row in &rows {
        let Some(op) = Op::from_code(row.op) else {
            page.next = row.seq;
            continue;
        };
        let mut entry = Entry {
            seq: row.seq,
            op,
            id: row.indicator_id,
            view: None,
        };
        if op.shows_indicator() {
            let view = match placed.get(&row.indicator_id) {
                Some(i) => Some(*i),
                None => match found.remove(&row.indicator_id) {
                    // Deleted since: its `deleted` change follows.
                    None => None,
                    Some(r) if !visible(r.tlp.as_deref()) => None,
                    Some(r) => {
                        let size = r.text_bytes();
                        if !page.entries.is_empty() && bytes + size > max_bytes {
                            page.more = true;
                            break;
                        }
                        bytes += size;
                        page.views.push(IndicatorView::of(r, feed, owner));
                        placed.insert(row.indicator_id, page.views.len() - 1);
                        Some(page.views.len() - 1)
                    }
                },
            };
            page.next = row.seq;
            let Some(view) = view else { continue };
            entry.view = Some(view);
        } else {
            page.next = row.seq;
            if !visible(row.tlp.as_deref()) {
                continue;
            }
        }
        page.entries.push(entry);
    }
    page.extras = load_extras(c, &mut page.views, true)?;
    Ok(page)
}

/// The page as the route answers it.
struct PageJson<'a> {
    page: &'a ChangePage,
    base: &'a str,
}

impl Serialize for PageJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("changes", &Entries(self))?;
        m.serialize_entry("next", &self.page.next)?;
        m.serialize_entry("more", &self.page.more)?;
        m.end()
    }
}

struct Entries<'a, 'b>(&'b PageJson<'a>);

impl Serialize for Entries<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let page = self.0.page;
        let mut seq = s.serialize_seq(Some(page.entries.len()))?;
        for e in &page.entries {
            seq.serialize_element(&EntryJson {
                entry: e,
                page,
                base: self.0.base,
            })?;
        }
        seq.end()
    }
}

/// One change: `{seq, op, id, indicator}` (no `indicator` for deletes and expiries).
pub struct EntryJson<'a> {
    pub entry: &'a Entry,
    pub page: &'a ChangePage,
    pub base: &'a str,
}

impl EntryJson<'_> {
    /// The change's indicator, v1 (bare), with its comments and attachments.
    pub fn indicator(&self) -> Option<IndicatorJson<'_>> {
        let view = &self.page.views[self.entry.view?];
        Some(IndicatorJson {
            view,
            version: ApiVersion::V1,
            base: self.base,
            extras: Some(extras_of(&self.page.extras, view.row.id)),
        })
    }
}

impl Serialize for EntryJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let indicator = self.indicator();
        let mut m = s.serialize_map(Some(if indicator.is_some() { 4 } else { 3 }))?;
        m.serialize_entry("seq", &self.entry.seq)?;
        m.serialize_entry("op", self.entry.op.as_str())?;
        m.serialize_entry("id", &self.entry.id)?;
        if let Some(indicator) = indicator {
            m.serialize_entry("indicator", &indicator)?;
        }
        m.end()
    }
}
