//! One page of a TAXII collection, objects or manifest entries, read in one database call:
//! the collection as the caller may read it (404 otherwise), then its indicators oldest first
//! by `date_added` (their `updated_at`) through `models::indicator::each_added`, with the
//! expiry and TLP rule every read applies, rendered as they are read until `limit` objects
//! or `--max-page-bytes` of text (the first object always fits).

use chrono::NaiveDateTime;

use super::query::ObjectsQuery;
use crate::api::shown::RowFilters;
use crate::db::DbConnection;
use crate::domain::thing::Thing;
use crate::domain::tlp::Tlp;
use crate::domain::viewer::Viewer;
use crate::error::ApiError;
use crate::export::{Item, stix};
use crate::models::feed::{self, FeedRow};
use crate::models::indicator::{self, AddedKey, AddedPage, IndicatorFields};

/// What a page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// STIX objects (`objects/`, `objects/{id}/`).
    Objects,
    /// Manifest entries (`manifest/`).
    Manifest,
    /// Version timestamps (`objects/{id}/versions/`).
    Versions,
}

/// A rendered page.
#[derive(Debug, Default)]
pub struct Page {
    /// The JSON values of the page, comma-joined.
    pub items: String,
    pub count: usize,
    /// The `date_added` of the first and last object.
    pub first: Option<NaiveDateTime>,
    pub last: Option<NaiveDateTime>,
    /// Where the next page starts, when one may follow.
    pub next: Option<AddedKey>,
}

/// The feed a collection id names, as `viewer` may read it: 404 for an id of another shape,
/// a missing feed and one the viewer may not read alike.
pub fn readable_feed(
    c: &mut DbConnection,
    collection: &str,
    viewer: Viewer,
) -> Result<(FeedRow, String), ApiError> {
    let found = stix::collection_key(collection)
        .filter(|id| stix::collection_id(*id).eq_ignore_ascii_case(collection))
        .map(|id| feed::find_readable(c, id, viewer))
        .transpose()?
        .flatten();
    found.ok_or(ApiError::NotFound)
}

/// Reads and renders one page of `collection` for `viewer` at `now`.
pub fn read(
    c: &mut DbConnection,
    collection: &str,
    viewer: Viewer,
    q: &ObjectsQuery,
    listing: Listing,
    now: NaiveDateTime,
    max_bytes: usize,
) -> Result<Page, ApiError> {
    let (feed, _) = readable_feed(c, collection, viewer)?;
    let mut page = Page::default();
    if !q.any {
        return Ok(page);
    }
    let shown = RowFilters::default().shown(now, viewer.reads_restricted_of(feed.user_id));
    // One row more than the page holds says whether another follows.
    let read_at_most = q.limit + 1;
    let p = AddedPage {
        feed_id: feed.id,
        added_after: q.added_after,
        after: q.after,
        ids: q.ids.as_ref().map(|(_, keys)| keys.clone()),
        limit: read_at_most,
        shown,
        default_tlp: Tlp::feed_default(feed.private),
    };
    let (mut read, mut stopped) = (0i64, false);
    let mut last_read: Option<AddedKey> = None;
    indicator::each_added(c, &p, |row| {
        let full =
            page.count as i64 >= q.limit || (page.count > 0 && page.items.len() >= max_bytes);
        if full {
            stopped = true;
            return false;
        }
        read += 1;
        last_read = Some((row.updated_at, row.id));
        render(&row, &feed, q, listing, &mut page);
        true
    })?;
    let more = stopped || read == read_at_most;
    page.next = more.then_some(last_read).flatten();
    Ok(page)
}

/// Appends `row` to the page when it parses and passes the request's matches.
fn render(
    row: &IndicatorFields,
    feed: &FeedRow,
    q: &ObjectsQuery,
    listing: Listing,
    page: &mut Page,
) {
    // A stored value that no longer parses is left out, as exports leave it out.
    let Ok(thing) = Thing::parse(&row.value) else {
        return;
    };
    let item = Item {
        id: row.id,
        thing: &thing,
        tags: &row.tags,
        description: row.description.as_deref(),
        firsttime: row.firsttime,
        lasttime: row.lasttime,
        created_at: row.created_at,
        updated_at: row.updated_at,
        confidence: row.confidence,
        tlp: Tlp::effective(row.tlp.as_deref(), feed.private),
        expires_at: row.expires_at,
    };
    let id = stix::indicator_id(row.id, thing.as_str());
    if !q.keeps(&id, row.updated_at.max(row.created_at)) {
        return;
    }
    let out = &mut page.items;
    if page.count > 0 {
        out.push(',');
    }
    match listing {
        Listing::Objects => stix::object(&item, out),
        Listing::Manifest => {
            out.push_str(
                &serde_json::json!({
                    "id": id,
                    "date_added": date_added(row.updated_at),
                    "version": stix::version(&item),
                    "media_type": super::media::STIX,
                })
                .to_string(),
            );
        }
        Listing::Versions => {
            out.push_str(&serde_json::Value::from(stix::version(&item)).to_string());
        }
    }
    page.count += 1;
    page.first.get_or_insert(row.updated_at);
    page.last = Some(row.updated_at);
}

/// A `date_added` (and `X-TAXII-Date-Added-*`) timestamp: RFC 3339, UTC, microseconds.
pub fn date_added(t: NaiveDateTime) -> String {
    crate::export::utc_text(t, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_added_reads_like_chronos_format_with_microseconds() {
        for t in ["2026-12-07 08:00:00", "2026-01-02 03:04:05.123456789"] {
            let t = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f").unwrap();
            assert_eq!(
                date_added(t),
                t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            );
        }
    }
}
