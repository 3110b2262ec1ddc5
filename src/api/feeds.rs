//! Feed routes (spec §6.5): list, create, show with indicators, update, delete. Another user's
//! private feed is 404 everywhere; writing to another user's public feed is 403.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::api::body::JsonBody;
use crate::api::dto::feed::{CreateFeedRequest, UpdateFeedRequest};
use crate::api::export;
use crate::api::feed_path::{FeedPath, writable_feed};
use crate::api::indicator_views::{read_feed_page, render_shown};
use crate::api::paging::{self, PageQuery};
use crate::api::query::QueryPairs;
use crate::api::render;
use crate::api::representation::{self, ApiVersion};
use crate::api::selection::Selection;
use crate::api::shown::FeedPageRequest;
use crate::api::urls;
use crate::api::users::UserPath;
use crate::auth::access;
use crate::auth::caller::{AuthUser, Caller, WriteCaller};
use crate::config::DefaultLimits;
use crate::db;
use crate::error::ApiError;
use crate::limits::quota;
use crate::models::feed::{self, NewFeed};
use crate::models::user::{self, UserRow};
use crate::state::AppState;

/// GET /api/users/{user}/feeds: 200 with the user's feeds by name (owner and admins see private
/// ones); 400, 404.
pub async fn list_feeds(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<UserPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let UserFeeds {
        page,
        owner,
        rows,
        next,
    } = read_user_feeds(&state, &caller, path.into_inner().user, &query).await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|f| render::feed(f, &owner.username, version, vec![]))
        .collect();
    let base = urls::base(&req, &state);
    let res = version.ok(&Value::Array(list));
    Ok(page.respond(res, &base, req.path(), next))
}

/// A page of a user's feeds as a caller may see them.
pub struct UserFeeds {
    /// The request's paging (`limit`, `cursor`).
    pub page: PageQuery<String>,
    pub owner: UserRow,
    pub rows: Vec<feed::FeedRow>,
    /// The cursor of the next page, when another follows.
    pub next: Option<String>,
}

/// A page of the feeds of the user `name` as `caller` may see them (the owner and admins see
/// private ones), by name; 400 for bad paging, 404 for an unknown user. The API's list and
/// the web user page read through here.
pub async fn read_user_feeds(
    state: &AppState,
    caller: &Caller,
    name: String,
    query: &QueryPairs,
) -> Result<UserFeeds, ApiError> {
    let page = PageQuery::<String>::read(
        query,
        &["limit", "cursor"],
        paging::SMALL_PAGES,
        caller.user().is_none(),
    )?;
    let (limit, after) = (page.limit, page.after.clone());
    let viewer = access::viewer(caller);
    let (owner, mut rows) = state
        .db
        .read(move |c| {
            let owner = user::find_by_name(c, &name)?;
            let all = viewer.sees_private_of(owner.id);
            let rows = feed::list_for_owner(c, owner.id, all, after.as_deref(), limit + 1)?;
            Ok::<_, ApiError>((owner, rows))
        })
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = more
        .then(|| rows.last().map(|f| page.cursor_after(&json!(f.name))))
        .flatten();
    Ok(UserFeeds {
        page,
        owner,
        rows,
        next,
    })
}

/// POST /api/users/{user}/feeds: 201 with the new feed; 403 (also `global` asked by a
/// non-admin), 404, 422 (`validation_failed`, `name_taken`, `quota_exceeded`).
pub async fn create_feed(
    state: web::Data<AppState>,
    version: ApiVersion,
    writer: WriteCaller,
    _: crate::api::query::NoParams,
    path: web::Path<UserPath>,
    payload: JsonBody,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner().user;
    let now = state.clock.now();
    let defaults = state.settings.default_limits();
    let (owner, row) = state
        .db
        .write(move |c| {
            let owner = user::find_by_name(c, &name)?;
            writer.0.require_self_or_admin(owner.id)?;
            let input = CreateFeedRequest::parse(payload.into_inner())?;
            if input.global {
                require_admin_for_global(&writer.0)?;
            }
            quota::take_feed(c, &owner, input.private, 1, &defaults)?;
            let new = NewFeed {
                user_id: owner.id,
                name: input.name.as_str(),
                description: input.description.as_deref(),
                private: input.private,
                license_name: &input.license.name,
                license_url: input.license.url.as_deref(),
                created_at: now,
                updated_at: now,
                kind: input.kind.as_str(),
                global: input.global,
                max_prefix: input.max_prefix,
                max_prefix6: input.max_prefix6,
                lifetimes: input.lifetimes.as_deref(),
            };
            let row = feed::insert(c, &new).map_err(ApiError::name_taken_if_unique("name"))?;
            Ok::<_, ApiError>((owner, row))
        })
        .await?;
    let base = urls::base(&req, &state);
    let location = format!("{base}/api/users/{}/feeds/{}", owner.username, row.name);
    let mut res = version.created(&render::feed(
        &row,
        &owner.username,
        version,
        vec![("indicators", json!([]))],
    ));
    if let Ok(v) = header::HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// GET /api/users/{user}/feeds/{feed}: 200 with the feed and a page of its indicators; the
/// `.csv` and `.json` forms are exports. 400, 404.
pub async fn show_feed(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<FeedPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if let Some(format) = query.value("format").map(str::to_owned) {
        let query = query.without("format");
        let path = path.into_inner();
        return export::export_named(state, version, caller, query, path, req, &format).await;
    }
    let now = state.clock.now();
    let FeedPageRequest {
        page,
        window,
        filters,
    } = FeedPageRequest::read(&query, caller.user().is_none(), now)?;
    let path = path.into_inner();
    let base = urls::base(&req, &state);
    let (body_base, body_params) = (base.clone(), page.params.clone());
    let max_bytes = state.settings.max_page_bytes;
    let (body, next) = state
        .db
        .read(move |c| {
            let page = read_feed_page(
                c,
                &path,
                &caller,
                &filters,
                &Selection::default(),
                window,
                now,
                max_bytes,
            )?;
            let shown = page.views.len() as i64;
            let (list, next) = render_shown(
                &page.views,
                &page.extras,
                version,
                &body_base,
                (shown, page.more),
                &body_params,
            );
            let body = render::FeedPage {
                fields: render::feed_fields(&page.feed, &page.owner.username, version),
                indicators: &list,
                version,
            };
            Ok::<_, ApiError>((representation::encode(&body)?, next))
        })
        .await?;
    Ok(page.respond(version.ok_encoded(body), &base, req.path(), next))
}

/// PATCH (or PUT) /api/users/{user}/feeds/{feed}: 200 with the updated feed; 403 (also
/// `global: true` from a non-admin), 404, 422.
pub async fn update_feed(
    state: web::Data<AppState>,
    version: ApiVersion,
    writer: WriteCaller,
    _: crate::api::query::NoParams,
    path: web::Path<FeedPath>,
    payload: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    let now = state.clock.now();
    let defaults = state.settings.default_limits();
    let (owner, row) = state
        .db
        .write(move |c| {
            let (owner, feed) = writable_feed(c, &path, &writer.0)?;
            let changes = UpdateFeedRequest::parse(payload.into_inner(), &feed, now)?;
            if changes.global == Some(true) {
                require_admin_for_global(&writer.0)?;
            }
            if let Some(private) = changes.private
                && private != feed.private
            {
                switch_kind(c, &owner, private, &defaults)?;
            }
            let row = feed::update(c, feed.id, &changes)?;
            Ok::<_, ApiError>((owner, row))
        })
        .await?;
    Ok(version.ok(&render::feed(&row, &owner.username, version, vec![])))
}

/// A global whitelist applies to every user's exports: only an admin may make one.
fn require_admin_for_global(user: &AuthUser) -> Result<(), ApiError> {
    if user.admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only an admin may make a whitelist feed global",
        ))
    }
}

/// Moves one feed between the private and public quotas: the target kind is checked.
fn switch_kind(
    c: &mut db::WriteTx<'_>,
    owner: &UserRow,
    to_private: bool,
    defaults: &DefaultLimits,
) -> Result<(), ApiError> {
    quota::take_feed(c, owner, to_private, 1, defaults)?;
    quota::take_feed(c, owner, !to_private, -1, defaults)
}

/// DELETE /api/users/{user}/feeds/{feed}: 200 with the feed as it was and
/// `indicators_deleted`; its quota is freed. 403, 404.
pub async fn delete_feed(
    state: web::Data<AppState>,
    version: ApiVersion,
    writer: WriteCaller,
    _: crate::api::query::NoParams,
    path: web::Path<FeedPath>,
) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    let defaults = state.settings.default_limits();
    let (owner, row) = state
        .db
        .write(move |c| {
            let (owner, feed) = writable_feed(c, &path, &writer.0)?;
            feed::delete(c, feed.id)?;
            quota::take_feed(c, &owner, feed.private, -1, &defaults)?;
            quota::take_indicators(c, &owner, -feed.indicator_count, &defaults)?;
            Ok::<_, ApiError>((owner, feed))
        })
        .await?;
    state
        .metrics
        .indicators_written("deleted", row.indicator_count.max(0) as u64);
    let deleted = json!(row.indicator_count);
    Ok(version.ok(&render::feed(
        &row,
        &owner.username,
        version,
        vec![("indicators_deleted", deleted)],
    )))
}
