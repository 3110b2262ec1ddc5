//! `GET /api/feeds`, the directory of feeds (issue 20): every public feed of every user and the
//! caller's own private ones, by name, filtered by `q` (name or description) and `tag`, paged by
//! cursor. Another user's private feed never appears, for admins neither: the directory lists
//! what a consumer may read; the admin routes show the rest.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::api::paging::{self, PageQuery, invalid};
use crate::api::query::QueryPairs;
use crate::api::render;
use crate::api::representation::ApiVersion;
use crate::api::urls;
use crate::auth::access;
use crate::auth::caller::Caller;
use crate::domain::tags::Tags;
use crate::error::ApiError;
use crate::models::feed::{self, DirectoryFilters};
use crate::state::AppState;

/// The longest `q` the directory takes, in characters.
pub const MAX_Q_CHARS: usize = 100;

/// GET /api/feeds: 200 with the feeds the caller may read, by name then id (v0
/// `[{"feed": {…}}]`, v1 `[{…}]`), `Link` when more follow; 400 (`invalid_parameter`,
/// `unknown_parameter`, `invalid_cursor`).
pub async fn list_directory_feeds(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    query: QueryPairs,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = PageQuery::<(String, i64)>::read(
        &query,
        &["q", "tag", "limit", "cursor"],
        paging::SMALL_PAGES,
        caller.user().is_none(),
    )?;
    let q = match page.params.get("q").map(|q| q.trim()) {
        None | Some("") => None,
        Some(q) if q.chars().count() > MAX_Q_CHARS => {
            return Err(invalid(
                "q",
                format!("q must be at most {MAX_Q_CHARS} characters"),
            ));
        }
        Some(q) => Some(q.to_lowercase()),
    };
    let tag = match page.params.get("tag") {
        None => None,
        Some(raw) => {
            let tags =
                Tags::parse(raw).map_err(|e| invalid("tag", format!("tag: {}", e.message)))?;
            match tags.as_slice() {
                [one] => Some(one.clone()),
                _ => return Err(invalid("tag", "tag must name exactly one tag")),
            }
        }
    };
    let filters = DirectoryFilters {
        q,
        tag,
        now: state.clock.now(),
        after: page.after.clone(),
    };
    let (viewer, limit) = (access::viewer(&caller), page.limit);
    let rows = state
        .db
        .read(move |c| Ok::<_, ApiError>(feed::list_directory(c, viewer, &filters, limit + 1)?))
        .await?;
    let more = rows.len() as i64 > limit;
    let shown = &rows[..rows.len().min(limit as usize)];
    let base = urls::base(&req, &state);
    let list: Vec<Value> = shown
        .iter()
        .map(|(f, owner)| render::directory_entry(f, owner, version, &base))
        .collect();
    let next = more
        .then(|| {
            shown
                .last()
                .map(|(f, _)| page.cursor_after(&json!([f.name, f.id])))
        })
        .flatten();
    let res = version.ok(&Value::Array(list));
    Ok(page.respond(res, &base, req.path(), next))
}
