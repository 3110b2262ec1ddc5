//! Comment routes (spec §6.6.8): list an indicator's comments (oldest first) and add one.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::api::body::JsonBody;
use crate::api::dto::comment::CreateCommentRequest;
use crate::api::feed_path::{visible_feed, writable_feed};
use crate::api::indicators::{IndicatorPath, MAX_COMMENTS};
use crate::api::paging::{self, PageQuery};
use crate::api::query::{NoParams, QueryPairs};
use crate::api::render;
use crate::api::representation::ApiVersion;
use crate::api::urls;
use crate::auth::access;
use crate::auth::caller::{Caller, WriteCaller};
use crate::error::ApiError;
use crate::models::indicator::{self, IndicatorChanges};
use crate::models::{comment, feed};
use crate::state::AppState;

/// GET /api/users/{user}/feeds/{feed}/indicators/{id}/comments: 200 with a page of comments;
/// 400, 404.
pub async fn list_comments(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<IndicatorPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = PageQuery::<i64>::read(
        &query,
        &["limit", "cursor"],
        paging::SMALL_PAGES,
        caller.user().is_none(),
    )?;
    let (limit, after) = (page.limit, page.after);
    let (path, id) = path.into_inner().split()?;
    let rows = state
        .db
        .read(move |c| {
            let (_, feed) = visible_feed(c, &path, &caller)?;
            let row = access::visible_indicator(c, &feed, id, &caller)?;
            Ok::<_, ApiError>(comment::list(c, row.id, after, limit + 1)?)
        })
        .await?;
    let shown = &rows[..rows.len().min(limit as usize)];
    let next = (rows.len() as i64 > limit)
        .then(|| shown.last().map(|c| page.cursor_after(&json!(c.id))))
        .flatten();
    let list: Vec<Value> = shown.iter().map(|c| render::comment(c, version)).collect();
    let base = urls::base(&req, &state);
    Ok(page.respond(version.ok(&Value::Array(list)), &base, req.path(), next))
}

/// POST /api/users/{user}/feeds/{feed}/indicators/{id}/comments: 201 with the comment; 403,
/// 404, 422 (`validation_failed`, `too_many_comments`).
pub async fn create_comment(
    state: web::Data<AppState>,
    version: ApiVersion,
    writer: WriteCaller,
    _: NoParams,
    path: web::Path<IndicatorPath>,
    payload: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let (path, id) = path.into_inner().split()?;
    let now = state.clock.now();
    let text = CreateCommentRequest::parse(payload.into_inner());
    let view = state
        .db
        .write(move |c| {
            let (_, feed) = writable_feed(c, &path, &writer.0)?;
            let row = indicator::find_in_feed(c, feed.id, id)?;
            let text = text?;
            if row.comments_count >= MAX_COMMENTS {
                return Err(ApiError::invalid(
                    "comment",
                    "too_many_comments",
                    "at most 1,000 comments per indicator",
                ));
            }
            let cid = comment::insert(c, row.id, writer.0.id, &text, now)?;
            // The indicator's `updated_at` moves, which exports show.
            feed::add_indicators(c, feed.id, 0, now)?;
            indicator::update(
                c,
                row.id,
                &IndicatorChanges {
                    comments_count: Some(row.comments_count + 1),
                    updated_at: Some(now),
                    ..Default::default()
                },
            )?;
            let list = comment::list(c, row.id, Some(cid - 1), 1)?;
            list.into_iter().next().ok_or(ApiError::NotFound)
        })
        .await?;
    Ok(version.created(&render::comment(&view, version)))
}
