//! Indicator routes (spec §6.6.1–6.6.5): list, create-or-upsert, show, update, delete, and the
//! shared pieces other routes use (loading comments/attachments for a page in two queries,
//! rendering a page with its cursor, `apply`, the upsert of one submission, and `new_row`, the
//! row a first submission creates; their rules are `domain::merge`'s).

use std::collections::{BTreeMap, HashMap};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::Value;

use crate::api::body::JsonRequest;
use crate::api::dto::indicator::{IndicatorInput, IndicatorRequest, Patch, Place, Rules};
use crate::api::feed_path::{FeedPath, visible_feed, writable_feed};
use crate::api::paging::{self, Cursor, PageQuery};
use crate::api::query::{NoParams, QueryPairs};
use crate::api::render::{self, Extras, IndicatorView};
use crate::api::representation::ApiVersion;
use crate::api::tokens::parse_id;
use crate::api::urls;
use crate::auth::caller::{AuthUser, Caller, WriteCaller};
use crate::config::DefaultLimits;
use crate::db::{Db, DbConnection, WriteTx};
use crate::domain::merge::{Rule, Sightings, attachment_added, comment_fits};
use crate::domain::thing::Thing;
use crate::error::{ApiError, FieldError};
use crate::limits::quota;
use crate::models::attachment::{self, AttachmentMeta, NewAttachment};
use crate::models::comment::{self, CommentView};
use crate::models::feed::{self, FeedRow};
use crate::models::indicator::{self, IndicatorChanges, IndicatorRow, NewIndicator, PageOf};
use crate::models::user::UserRow;
use crate::state::AppState;

pub use crate::domain::merge::{MAX_ATTACHMENTS, MAX_COMMENTS};
/// List contexts show this many of the newest comments.
pub const LIST_COMMENTS: usize = 10;

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

fn extras_of<'a>(extras: &'a LoadedExtras, id: i64) -> Extras<'a> {
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
fn full_object(
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

/// GET /api/users/{user}/feeds/{feed}/indicators: 200 with a page of the feed; 400, 404.
pub async fn list_indicators(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<FeedPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = PageQuery::<(NaiveDateTime, i64)>::read(
        &query,
        &["limit", "lasttime", "cursor"],
        paging::INDICATOR_PAGES,
        caller.user().is_none(),
    )?;
    let (limit, after) = (page.limit, page.after);
    let since = paging::lasttime(page.params.get("lasttime"), state.clock.now())?;
    let path = path.into_inner();
    let max_bytes = state.settings.max_page_bytes;
    let (views, extras, more) = state
        .db
        .read(move |c| {
            let (owner, feed) = visible_feed(c, &path, &caller)?;
            let page = indicator::page_within(
                c,
                &PageOf {
                    feed_id: feed.id,
                    since,
                    after,
                    limit,
                },
                max_bytes,
            )?;
            let (views, extras) = load_views(c, page.rows, &feed, &owner.username, true)?;
            Ok::<_, ApiError>((views, extras, page.more))
        })
        .await?;
    let base = urls::base(&req, &state);
    let shown = views.len() as i64;
    let (list, next) = render_shown(&views, &extras, version, &base, (shown, more), &page.params);
    Ok(page.respond(version.ok(&list), &base, req.path(), next))
}

/// The outcome of applying one submission.
#[derive(Debug)]
pub struct Applied {
    pub row: IndicatorRow,
    pub created: bool,
    pub comment_dropped: bool,
}

/// The settings `apply` needs.
#[derive(Debug, Clone, Copy)]
pub struct WriteContext {
    pub now: NaiveDateTime,
    pub defaults: DefaultLimits,
}

/// Creates the indicator or merges the submission into the feed's API-written indicator of the
/// same value (spec §6.6.1 upsert), with its comment and attachment. Runs inside the caller's
/// write transaction; takes quota only for a new indicator.
pub fn apply(
    c: &mut WriteTx<'_>,
    (owner, feed_row): (&UserRow, &FeedRow),
    author: &AuthUser,
    thing: &Thing,
    input: &IndicatorInput,
    ctx: &WriteContext,
    field_prefix: &str,
) -> Result<Applied, ApiError> {
    let now = ctx.now;
    let tags_field = if field_prefix.is_empty() {
        "tags".to_string()
    } else {
        format!("{field_prefix}.tags")
    };
    let existing = indicator::find_api_value(c, feed_row.id, thing.as_str())?;
    let mut comment_dropped = false;
    let (row, created) = match existing {
        None => {
            quota::take_indicators(c, owner, 1, &ctx.defaults)?;
            let new = new_row((owner, feed_row), thing, input, now)
                .map_err(|e| ApiError::invalid(&tags_field, e.code, e.message))?;
            let row = indicator::insert(c, &new)?;
            feed::add_indicators(c, feed_row.id, 1, now)?;
            (row, true)
        }
        Some(mut old) => {
            let mut merged = Sightings {
                firsttime: old.firsttime,
                lasttime: old.lasttime,
                count: old.count,
                tags: std::mem::take(&mut old.tags),
            };
            merged
                .merge(&input.sighting(), Rule::Api)
                .map_err(|e| ApiError::invalid(&tags_field, e.code, e.message))?;
            // `Details::EachGiven`: only the fields the submission gives are written.
            let changes = IndicatorChanges {
                portlist: input.portlist.given().cloned().map(Some),
                portlist_src: input.portlist_src.given().cloned().map(Some),
                protocol: input.protocol.given().copied().map(Some),
                firsttime: Some(merged.firsttime),
                lasttime: Some(merged.lasttime),
                effective_at: Some(merged.effective_at(old.created_at)),
                count: Some(merged.count),
                description: input.description.given().cloned().map(Some),
                content: input.content.given().cloned().map(Some),
                provider: input.provider.given().cloned().map(Some),
                tags: Some(merged.tags),
                comments_count: None,
                updated_at: Some(now),
            };
            let row = indicator::update(c, old.id, &changes)?;
            feed::add_indicators(c, feed_row.id, 0, now)?;
            (row, false)
        }
    };
    let mut row = row;
    if let Some(text) = &input.comment {
        if !comment_fits(row.comments_count) {
            if created {
                return Err(ApiError::invalid(
                    "comment",
                    "too_many_comments",
                    "at most 1,000 comments per indicator",
                ));
            }
            comment_dropped = true;
        } else {
            comment::insert(c, row.id, author.id, text, now)?;
            row = indicator::update(
                c,
                row.id,
                &IndicatorChanges {
                    comments_count: Some(row.comments_count + 1),
                    ..Default::default()
                },
            )?;
        }
    }
    if let Some(att) = &input.attachment {
        let existing = attachment::for_indicators(c, &[row.id])?
            .remove(&row.id)
            .unwrap_or_default();
        let added = attachment_added(existing.iter().map(|a| a.sha256.as_str()), &att.sha256)
            .map_err(|e| ApiError::invalid("attachment", e.code, e.message))?;
        if added {
            attachment::insert(
                c,
                &NewAttachment {
                    indicator_id: row.id,
                    filename: &att.filename,
                    content_type: att.content_type,
                    filesize: att.data.len() as i64,
                    sha1: &att.sha1,
                    sha256: &att.sha256,
                    data: &att.data,
                    created_at: now,
                },
            )?;
            row.attachments_count += 1;
        }
    }
    Ok(Applied {
        row,
        created,
        comment_dropped,
    })
}

/// The row a first submission of `thing` creates; `too_long` when its tags do not fit.
pub fn new_row(
    (owner, feed_row): (&UserRow, &FeedRow),
    thing: &Thing,
    input: &IndicatorInput,
    now: NaiveDateTime,
) -> Result<NewIndicator, crate::domain::DomainError> {
    let first = Sightings::first(&input.sighting(), Rule::Api)?;
    let (ip_lo, ip_hi) = thing.ip_range().map_or((None, None), |(lo, hi)| {
        (Some(lo.to_vec()), Some(hi.to_vec()))
    });
    Ok(NewIndicator {
        feed_id: feed_row.id,
        user_id: owner.id,
        value: thing.as_str().to_string(),
        itype: thing.itype().as_str().to_string(),
        ip_lo,
        ip_hi,
        host_rev: thing.host_rev(),
        portlist: input.portlist.clone().value(),
        portlist_src: input.portlist_src.clone().value(),
        protocol: input.protocol.clone().value(),
        effective_at: first.effective_at(now),
        firsttime: first.firsttime,
        lasttime: first.lasttime,
        count: first.count,
        description: input.description.clone().value(),
        content: input.content.clone().value(),
        provider: input.provider.clone().value(),
        asn: None,
        asn_desc: None,
        cc: None,
        tags: first.tags,
        import_key: None,
        comments_count: 0,
        created_at: now,
        updated_at: now,
    })
}

/// The body rules of this server at this moment.
pub fn rules(state: &AppState) -> Rules {
    Rules {
        now: state.clock.now(),
        max_attachment_bytes: state.settings.max_attachment_bytes,
        attachments_allowed: true,
    }
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
    let ctx = WriteContext {
        now: rules.now,
        defaults: state.settings.default_limits(),
    };
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
    let object = state
        .db
        .read(move |c| {
            let (owner, feed) = visible_feed(c, &path, &caller)?;
            let row = indicator::find_in_feed(c, feed.id, id)?;
            full_object(
                c,
                &mut IndicatorView::of(row, &feed, &owner.username),
                version,
                &base,
            )
        })
        .await?;
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
                comment::insert(c, row.id, writer.0.id, text, now)?;
                row = indicator::update(
                    c,
                    row.id,
                    &IndicatorChanges {
                        comments_count: Some(row.comments_count + 1),
                        ..Default::default()
                    },
                )?;
            }
            feed::add_indicators(c, feed.id, 0, now)?;
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
            feed::add_indicators(c, feed.id, -1, now)?;
            quota::take_indicators(c, &owner, -1, &defaults)?;
            Ok::<_, ApiError>(object)
        })
        .await?;
    state.metrics.indicators_written("deleted", 1);
    Ok(version.ok(&object))
}
