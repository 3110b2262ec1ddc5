//! `GET /api/users/:user/feeds/:feed/imports` (issue 21): the feed's import ledger, newest
//! first, cursor-paged: each file imported by upload, command line, pull or schedule, with its
//! state, row counts by outcome, times and who started it. Report ids are download credentials
//! and never shown (`from_report` says whether the file came by one). Owner and admins only:
//! another user's private feed is 404 as everywhere, a public one 403.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde_json::{Value, json};

use crate::api::feed_path::{FeedPath, visible_feed};
use crate::api::paging::{self, Cursor, PageQuery};
use crate::api::query::QueryPairs;
use crate::api::representation::ApiVersion;
use crate::api::urls;
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::models::import::{self, ImportFileRow};
use crate::state::AppState;

/// One ledger row as the history shows it.
fn entry(row: &ImportFileRow, from_report: bool, version: ApiVersion) -> Value {
    let skipped: Value = serde_json::from_str(&row.rows_skipped).unwrap_or_else(|_| json!({}));
    json!({
        "id": row.id,
        "name": row.name,
        "sha256": row.sha256,
        "report_type": row.report_type,
        "report_date": row.report_date.map(|d| d.to_string()),
        "from_report": from_report,
        "source": row.source,
        "state": row.state,
        "rows_read": row.rows_read,
        "indicators_created": row.indicators_created,
        "indicators_updated": row.indicators_updated,
        "indicators_unchanged": row.indicators_unchanged,
        "rows_skipped": skipped,
        "started_by": row.started_by,
        "started_at": version.time(row.created_at),
        "updated_at": version.time(row.updated_at),
        "finished_at": row.finished_at.map(|t| version.time(t)),
    })
}

/// GET /api/users/{user}/feeds/{feed}/imports: 200 with the feed's imported files, newest
/// first (`limit` default 100, max 1000; `cursor`); 400, 401 (anonymous, public feed), 403
/// (another user's public feed), 404.
pub async fn list_feed_imports(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<FeedPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = PageQuery::<(NaiveDateTime, i64)>::read(
        &query,
        &["limit", "cursor"],
        paging::SMALL_PAGES,
        caller.user().is_none(),
    )?;
    let (limit, after) = (page.limit, page.after);
    let path = path.into_inner();
    let (rows, with_ids) = state
        .db
        .read(move |c| {
            let (owner, feed) = visible_feed(c, &path, &caller)?;
            match caller.user() {
                Some(u) => u.require_self_or_admin(owner.id)?,
                None => return Err(ApiError::AuthenticationRequired),
            }
            let rows = import::list_history(c, feed.id, after, limit + 1)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let with_ids = import::with_report_ids(c, &ids)?;
            Ok::<_, ApiError>((rows, with_ids))
        })
        .await?;
    let (shown, next) = page.split(&rows, |r| Cursor::time_id_key(r.created_at, r.id));
    let list: Vec<Value> = shown
        .iter()
        .map(|r| entry(r, with_ids.contains(&r.id), version))
        .collect();
    let base = urls::base(&req, &state);
    Ok(page.respond(version.ok(&Value::Array(list)), &base, req.path(), next))
}
