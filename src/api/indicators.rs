//! Indicator routes (spec §6.6.1–6.6.5): list, create-or-upsert, show, update, delete. What
//! they share with other routes lives beside them: `indicator_views` (loading and rendering
//! pages) and `indicator_write` (`apply`, `new_row`, `rules`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use crate::api::body::JsonRequest;
use crate::api::dto::indicator::{IndicatorRequest, Patch, Place};
use crate::api::feed_path::{FeedPath, writable_feed};
use crate::api::indicator_views::{
    extras_of, full_object, read_feed_page, read_indicator, render_shown,
};
use crate::api::indicator_write::{self, append_comment, apply, rules};
use crate::api::query::{NoParams, QueryPairs};
use crate::api::render::{self, IndicatorView};
use crate::api::representation::ApiVersion;
use crate::api::selection::Selection;
use crate::api::shown::FeedPageRequest;
use crate::api::tokens::parse_id;
use crate::api::urls;
use crate::auth::caller::{Caller, WriteCaller};
use crate::db::Db;
use crate::error::{ApiError, FieldError};
use crate::limits::quota;
use crate::models::change::{self, Op};
use crate::models::feed::{self};
use crate::models::indicator::{self, IndicatorChanges};
use crate::state::AppState;

pub use crate::api::indicator_write::MAX_COMMENTS;

/// Path of routes under one indicator.
#[derive(Debug, Deserialize)]
pub struct IndicatorPath {
    pub user: String,
    pub feed: String,
    pub id: String,
}

impl IndicatorPath {
    /// The feed part and the parsed id (404 when the id is not a positive integer).
    pub fn split(self) -> Result<(FeedPath, i64), ApiError> {
        let id = parse_id(&self.id)?;
        Ok((
            FeedPath {
                user: self.user,
                feed: self.feed,
            },
            id,
        ))
    }
}

/// GET /api/users/{user}/feeds/{feed}/indicators: 200 with a page of the feed; 400, 404.
pub async fn list_indicators(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<FeedPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let FeedPageRequest {
        page,
        window,
        filters,
    } = FeedPageRequest::read(&query, caller.user().is_none(), now)?;
    let path = path.into_inner();
    let max_bytes = state.settings.max_page_bytes;
    let feed_page = state
        .db
        .read(move |c| {
            let everything = Selection::default();
            read_feed_page(
                c,
                &path,
                &caller,
                &filters,
                &everything,
                window,
                now,
                max_bytes,
            )
        })
        .await?;
    let base = urls::base(&req, &state);
    let shown = feed_page.views.len() as i64;
    let (list, next) = render_shown(
        &feed_page.views,
        &feed_page.extras,
        version,
        &base,
        (shown, feed_page.more),
        &page.params,
    );
    Ok(page.respond(version.ok(&list), &base, req.path(), next))
}

/// POST /api/users/{user}/feeds/{feed}/indicators: 201 for a new indicator, 200 for an upsert,
/// both with `Location`; 403, 404, 422 (`validation_failed`, `quota_exceeded`).
pub async fn create_indicator(
    state: web::Data<AppState>,
    version: ApiVersion,
    writer: WriteCaller,
    _: NoParams,
    path: web::Path<FeedPath>,
    payload: JsonRequest<IndicatorRequest>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let path = std::sync::Arc::new(path.into_inner());
    let rules = rules(&state);
    // Parsed here, off the writer; its problems are answered after the feed's checks.
    let submission = std::sync::Arc::new(payload.into_inner().submission(Place::BODY, &rules));
    let ctx = indicator_write::context(&state, &rules);
    let base = urls::base(&req, &state);
    let base_for_db = base.clone();
    let (applied, object) = Db::upsert(&state.db, move |c| {
        let (owner, feed) = writable_feed(c, &path, &writer.0)?;
        let (thing, input) = submission
            .as_ref()
            .as_ref()
            .map_err(|errors| ApiError::Invalid(errors.clone()))?;
        let applied = apply(c, (&owner, &feed), &writer.0, thing, input, &ctx, "")?;
        let mut view = IndicatorView::of(applied.row.clone(), &feed, &owner.username);
        let object = full_object(c, &mut view, version, &base_for_db)?;
        Ok::<_, ApiError>((applied, object))
    })
    .await?;
    state.metrics.indicators_written(
        if applied.created {
            "created"
        } else {
            "updated"
        },
        1,
    );
    let status = if applied.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut res = version.respond(status, &object);
    let location = object_location(&object);
    if let Some(v) = location.and_then(|l| header::HeaderValue::from_str(&l).ok()) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    if applied.comment_dropped {
        res.headers_mut().insert(
            header::HeaderName::from_static("x-feedgate-notice"),
            header::HeaderValue::from_static("comment-limit-reached"),
        );
    }
    Ok(res)
}

fn object_location(object: &Value) -> Option<String> {
    let inner = object
        .get("indicator")
        .filter(|v| v.is_object())
        .unwrap_or(object);
    inner
        .get("location")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// GET /api/users/{user}/feeds/{feed}/indicators/{id}: 200 with the indicator and all its
/// comments; 404.
pub async fn show_indicator(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    _: NoParams,
    path: web::Path<IndicatorPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (path, id) = path.into_inner().split()?;
    let base = urls::base(&req, &state);
    let (view, extras) = state
        .db
        .read(move |c| read_indicator(c, &path, id, &caller))
        .await?;
    let object = render::indicator(&view, version, &base, Some(extras_of(&extras, id)));
    Ok(version.ok(&object))
}

/// PATCH (or PUT) /api/users/{user}/feeds/{feed}/indicators/{id}: 200 with the updated
/// indicator; `null` clears a member and `tags` replaces the set. 403, 404, 422.
pub async fn update_indicator(
    state: web::Data<AppState>,
    version: ApiVersion,
    writer: WriteCaller,
    _: NoParams,
    path: web::Path<IndicatorPath>,
    payload: JsonRequest<IndicatorRequest>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (path, id) = path.into_inner().split()?;
    let body = payload.into_inner();
    let rules = rules(&state);
    let now = rules.now;
    let mut read_errors: Vec<FieldError> = Vec::new();
    let input = body.parse(Place::BODY, &rules, &mut read_errors);
    let thing_field = body.thing_field(Place::BODY);
    let base = urls::base(&req, &state);
    let object = state
        .db
        .write(move |c| {
            let (owner, feed) = writable_feed(c, &path, &writer.0)?;
            let old = indicator::find_in_feed(c, feed.id, id)?;
            let mut errors = read_errors;
            if let Patch::Set(thing) = &input.thing
                && thing.as_str() != old.value
            {
                errors.push(FieldError::new(
                    thing_field,
                    "immutable",
                    "an indicator's value cannot change",
                ));
            }
            if input.attachment.is_some() {
                errors.push(FieldError::new(
                    "attachment",
                    "not_supported",
                    "attachments are added by create",
                ));
            }
            let firsttime = match input.firsttime.clone().change() {
                Some(v) => v,
                None => old.firsttime,
            };
            let lasttime = match input.lasttime.clone().change() {
                Some(v) => v,
                None => old.lasttime,
            };
            if let (Some(f), Some(l)) = (firsttime, lasttime)
                && f > l
                && errors.is_empty()
            {
                errors.push(FieldError::new(
                    "firsttime",
                    "order",
                    "firsttime lies after lasttime",
                ));
            }
            let tags = input.tags.clone().change().map(|t| t.unwrap_or_default());
            if let Some(t) = &tags
                && let Err(e) = t.check_joined_len()
            {
                errors.push(FieldError::new("tags", e.code, e.message));
            }
            if !errors.is_empty() {
                return Err(ApiError::Invalid(errors));
            }
            let changes = IndicatorChanges {
                portlist: input.portlist.clone().change(),
                portlist_src: input.portlist_src.clone().change(),
                protocol: input.protocol.clone().change(),
                firsttime: Some(firsttime),
                lasttime: Some(lasttime),
                effective_at: Some(lasttime.unwrap_or(old.created_at)),
                count: None,
                description: input.description.clone().change(),
                content: input.content.clone().change(),
                provider: input.provider.clone().change(),
                tags: tags.map(|t| t.joined()),
                comments_count: None,
                updated_at: Some(now),
                confidence: input.confidence.clone().change(),
                tlp: input
                    .tlp
                    .clone()
                    .change()
                    .map(|t| t.map(|t| t.as_str().to_owned())),
                // `null` never expires; a PATCH that names none leaves the expiry alone.
                expires_at: input.expires_at.clone().change(),
            };
            let mut row = indicator::update(c, old.id, &changes)?;
            if let Some(text) = &input.comment {
                if row.comments_count >= MAX_COMMENTS {
                    return Err(ApiError::invalid(
                        "comment",
                        "too_many_comments",
                        "at most 1,000 comments per indicator",
                    ));
                }
                row = append_comment(c, &row, writer.0.id, text, now)?;
            }
            let written = feed::add_indicators(c, feed.id, 0, now)?;
            change::append_one(c, &written, Op::Updated, row.id, row.tlp.as_deref())?;
            if change::expired_at_write(row.expires_at, now) {
                change::append_one(c, &written, Op::Expired, row.id, row.tlp.as_deref())?;
            }
            full_object(
                c,
                &mut IndicatorView::of(row, &feed, &owner.username),
                version,
                &base,
            )
        })
        .await?;
    state.metrics.indicators_written("updated", 1);
    Ok(version.ok(&object))
}

/// DELETE /api/users/{user}/feeds/{feed}/indicators/{id}: 200 with the indicator as it was; one
/// unit of quota is freed. 403, 404.
pub async fn delete_indicator(
    state: web::Data<AppState>,
    version: ApiVersion,
    writer: WriteCaller,
    _: NoParams,
    path: web::Path<IndicatorPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (path, id) = path.into_inner().split()?;
    let now = state.clock.now();
    let defaults = state.settings.default_limits();
    let base = urls::base(&req, &state);
    let object = state
        .db
        .write(move |c| {
            let (owner, feed) = writable_feed(c, &path, &writer.0)?;
            let row = indicator::find_in_feed(c, feed.id, id)?;
            let object = full_object(
                c,
                &mut IndicatorView::of(row.clone(), &feed, &owner.username),
                version,
                &base,
            )?;
            indicator::delete(c, row.id)?;
            let written = feed::add_indicators(c, feed.id, -1, now)?;
            change::append_one(c, &written, Op::Deleted, row.id, row.tlp.as_deref())?;
            quota::take_indicators(c, &owner, -1, &defaults)?;
            Ok::<_, ApiError>(object)
        })
        .await?;
    state.metrics.indicators_written("deleted", 1);
    Ok(version.ok(&object))
}
