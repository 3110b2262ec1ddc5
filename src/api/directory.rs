//! `GET /api/feeds`, the directory of feeds (issue 20): every public feed of every user and the
//! caller's own private ones, by name, filtered by `q` (name or description) and `tag`, paged by
//! cursor. Another user's private feed never appears, for admins neither: the directory lists
//! what a consumer may read; the admin routes show the rest.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
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
use crate::models::feed::{self, DirectoryFilters, FeedRow};
use crate::state::AppState;

/// The longest `q` the directory takes, in characters.
pub const MAX_Q_CHARS: usize = 100;

/// A request for a page of the directory: its paging and its filters. The API's directory
/// and the web page's read it alike.
pub struct DirectoryRequest {
    pub page: PageQuery<(String, i64)>,
    pub filters: DirectoryFilters,
}

impl DirectoryRequest {
    /// Reads `q`, `tag`, `limit` and `cursor`: 400 (`invalid_parameter`, `unknown_parameter`,
    /// `invalid_cursor`).
    pub fn read(query: &QueryPairs, anonymous: bool, now: NaiveDateTime) -> Result<Self, ApiError> {
        let page = PageQuery::<(String, i64)>::read(
            query,
            &["q", "tag", "limit", "cursor"],
            paging::SMALL_PAGES,
            anonymous,
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
            now,
            after: page.after.clone(),
        };
        Ok(DirectoryRequest { page, filters })
    }

    /// Reads the page as `caller` may see it: the feeds with their owners' names, and the
    /// cursor of the next page when another follows.
    pub async fn run(
        &self,
        state: &AppState,
        caller: &Caller,
    ) -> Result<(Vec<(FeedRow, String)>, Option<String>), ApiError> {
        let (viewer, limit) = (access::viewer(caller), self.page.limit);
        let filters = self.filters.clone();
        let mut rows = state
            .db
            .read(move |c| Ok::<_, ApiError>(feed::list_directory(c, viewer, &filters, limit + 1)?))
            .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = more
            .then(|| {
                rows.last()
                    .map(|(f, _)| self.page.cursor_after(&json!([f.name, f.id])))
            })
            .flatten();
        Ok((rows, next))
    }
}

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
    let directory = DirectoryRequest::read(&query, caller.user().is_none(), state.clock.now())?;
    let (rows, next) = directory.run(&state, &caller).await?;
    let base = urls::base(&req, &state);
    let list: Vec<Value> = rows
        .iter()
        .map(|(f, owner)| render::directory_entry(f, owner, version, &base))
        .collect();
    let res = version.ok(&Value::Array(list));
    Ok(directory.page.respond(res, &base, req.path(), next))
}
