//! GET /api/users/{user}/feeds/{feed}/exclusions: what the exports leave out of a feed and
//! why (a special-purpose block, a warninglist entry, a whitelist feed's value, a network
//! broader than the bound), newest first. A whitelist feed the caller cannot see is named
//! (`owner/feed`) but its entry is not shown. A page reads at most [`SCAN`] rows, so its cost is bounded however
//! few of them are left out; its `Link` goes on from the last row read.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde_json::{Value, json};

use crate::api::export::{Filters, LeftOut};
use crate::api::feed_path::{FeedPath, visible_feed};
use crate::api::paging::{self, Cursor, PageQuery};
use crate::api::query::QueryPairs;
use crate::api::representation::ApiVersion;
use crate::api::shown::{self, RowFilters, Window};
use crate::api::urls;
use crate::api::whitelists::ExportWhitelist;
use crate::auth::access;
use crate::auth::caller::Caller;
use crate::domain::thing::Thing;
use crate::domain::whitelist::Origin;
use crate::error::ApiError;
use crate::models::indicator;
use crate::state::AppState;

/// The most rows one page reads.
const SCAN: i64 = 2000;

/// GET …/exclusions: `{"exclusions": [{id, indicator, itype, reason, list, entry}]}`; 400, 404.
pub async fn list_exclusions(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<FeedPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = PageQuery::<(NaiveDateTime, i64)>::read(
        &query,
        &shown::allowed(&["limit", "cursor", "max_prefix", "max_prefix6"]),
        paging::INDICATOR_PAGES,
        caller.user().is_none(),
    )?;
    let filters = Filters::read(&page.params)?;
    let rows = RowFilters::read(&page.params)?;
    let now = state.clock.now();
    let (limit, after) = (page.limit, page.after);
    let (server, cache) = (state.whitelist.clone(), state.feed_whitelists.clone());
    let path = path.into_inner();
    let (found, resume) = state
        .db
        .read(move |c| {
            let (_, feed) = visible_feed(c, &path, &caller)?;
            let filters = filters.for_feed(&feed);
            if !filters.filters_out() {
                return Ok((Vec::new(), None));
            }
            let viewer = access::viewer(&caller);
            let whitelist = ExportWhitelist::load(c, &cache, server, &feed, viewer)?;
            let mut found: Vec<Value> = Vec::new();
            let (mut read, mut last) = (0, None);
            let want = usize::try_from(limit).unwrap_or(usize::MAX);
            let window = Window {
                since: None,
                after,
                limit: SCAN,
            };
            let scan = rows.page_of(&feed, viewer, now, window);
            indicator::export_page(c, &scan, |row| {
                read += 1;
                last = Some((row.effective_at, row.id));
                if let Ok(thing) = Thing::parse(&row.value)
                    && let Some(why) = filters.left_out(&thing, &whitelist)
                {
                    found.push(exclusion(row.id, &thing, &why));
                }
                found.len() < want
            })?;
            // A full scan or a full page may have rows after it; a short scan was the end.
            let more = read == SCAN || found.len() == want;
            Ok::<_, ApiError>((found, last.filter(|_| more)))
        })
        .await?;
    let next = resume.map(|(t, id)| page.cursor_after(&Cursor::time_id_key(t, id)));
    let base = urls::base(&req, &state);
    let body = json!({ "exclusions": found });
    Ok(page.respond(version.ok(&body), &base, req.path(), next))
}

fn exclusion(id: i64, thing: &Thing, why: &LeftOut<'_>) -> Value {
    let (reason, list, entry) = match why {
        LeftOut::Broad { prefix, max } => (
            "max_prefix",
            None,
            Some(format!("/{prefix} is broader than /{max}")),
        ),
        LeftOut::Listed(found) => {
            let hit = &found.hit;
            let reason = match hit.source.origin {
                Origin::Special => "special_purpose",
                Origin::Warninglist => "warninglist",
                Origin::Feed(_) => "whitelist_feed",
            };
            let entry = found.entry_visible.then(|| hit.entry.clone());
            (reason, Some(hit.source.name.as_str()), entry)
        }
    };
    json!({
        "id": id,
        "indicator": thing.as_str(),
        "itype": thing.itype().as_str(),
        "reason": reason,
        "list": list,
        "entry": entry,
    })
}
