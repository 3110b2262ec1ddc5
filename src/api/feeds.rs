//! Feed routes (spec §6.5): list, create, show with indicators, update, delete. Another user's
//! private feed is 404 everywhere; writing to another user's public feed is 403.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::api::body::{self, JsonBody};
use crate::api::indicators::load_views;
use crate::api::paging::{self, Cursor};
use crate::api::query::QueryPairs;
use crate::api::render;
use crate::api::representation::{self, ApiVersion};
use crate::api::urls;
use crate::api::users::UserPath;
use crate::auth::access;
use crate::auth::caller::{AuthUser, Caller, WriteCaller};
use crate::config::DefaultLimits;
use crate::db::{self, DbConnection};
use crate::domain::feed::{FeedName, License, check_text};
use crate::error::{ApiError, FieldError};
use crate::limits::quota;
use crate::models::feed::{self, FeedChanges, FeedRow, NewFeed};
use crate::models::indicator;
use crate::models::user::{self, UserRow};
use crate::startup::AppState;

/// Path of routes under one feed.
#[derive(Debug, Deserialize)]
pub struct FeedPath {
    pub user: String,
    pub feed: String,
}

/// Finds the feed of a path as `caller` may see it (404 otherwise); see `auth::access`.
pub fn visible_feed(
    c: &mut DbConnection,
    path: &FeedPath,
    caller: &Caller,
) -> Result<(UserRow, FeedRow), ApiError> {
    access::visible_feed(c, &path.user, &path.feed, caller)
}

/// Finds the feed of a path for a write: 404 when invisible, 403 when it is another user's.
pub fn writable_feed(
    c: &mut DbConnection,
    path: &FeedPath,
    writer: &AuthUser,
) -> Result<(UserRow, FeedRow), ApiError> {
    access::writable_feed(c, &path.user, &path.feed, writer)
}

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
    let params = query.only(&["limit", "cursor"])?;
    let limit = paging::limit(
        params.get("limit"),
        paging::SMALL_PAGES,
        caller.user().is_none(),
    )?;
    let after = match Cursor::decode(&params)? {
        Some(key) => Some(key.as_str().ok_or(ApiError::InvalidCursor)?.to_string()),
        None => None,
    };
    let name = path.into_inner().user;
    let (owner, rows) = state
        .db
        .read(move |c| {
            let owner = user::find_by_name(c, &name)?;
            let all = access::viewer(&caller).sees_private_of(owner.id);
            let rows = feed::list_for_owner(c, owner.id, all, after.as_deref(), limit + 1)?;
            Ok::<_, ApiError>((owner, rows))
        })
        .await?;
    let more = rows.len() as i64 > limit;
    let shown = &rows[..rows.len().min(limit as usize)];
    let list: Vec<Value> = shown
        .iter()
        .map(|f| render::feed(f, &owner.username, version, vec![]))
        .collect();
    let next = more
        .then(|| {
            shown
                .last()
                .map(|f| Cursor::encode(&json!(f.name), &params))
        })
        .flatten();
    let base = urls::base(&req, &state);
    let res = version.ok(&Value::Array(list));
    Ok(paging::with_next_link(
        res,
        &base,
        req.path(),
        &params,
        limit,
        next,
    ))
}

/// POST /api/users/{user}/feeds: 201 with the new feed; 403, 404, 422 (`validation_failed`,
/// `name_taken`, `quota_exceeded`).
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
    let (owner, row) = db::Db::run(&state.db, move |c| {
        db::write_tx(c, |c| {
            let owner = user::find_by_name(c, &name)?;
            writer.0.require_self_or_admin(owner.id)?;
            let input = parse_feed_create(payload.into_inner())?;
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
            };
            let row = feed::insert(c, &new).map_err(ApiError::name_taken_if_unique("name"))?;
            Ok::<_, ApiError>((owner, row))
        })
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

struct FeedInput {
    name: FeedName,
    description: Option<String>,
    private: bool,
    license: License,
}

fn field_error(field: &str, e: crate::domain::DomainError) -> FieldError {
    FieldError::new(field, e.code, e.message)
}

fn parse_description(
    map: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Option<Option<String>> {
    match map.get("description") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.is_empty() => Some(None),
        Some(Value::String(s)) => match check_text(s, 255, false) {
            Ok(text) => Some(Some(text)),
            Err(e) => {
                errors.push(field_error("description", e));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new(
                "description",
                "invalid_type",
                "must be a string or null",
            ));
            None
        }
    }
}

/// `license`: an object `{name, url}`, a string (the name), or null (the default).
fn parse_license(map: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<License> {
    let parsed = match map.get("license") {
        None => return None,
        Some(Value::Null) => Ok(License::default()),
        Some(Value::String(name)) => {
            License::parse(name, None).map_err(|e| field_error("license", e))
        }
        Some(Value::Object(o)) => match (o.get("name"), o.get("url")) {
            (Some(Value::String(name)), None | Some(Value::Null)) => {
                License::parse(name, None).map_err(|e| field_error("license.name", e))
            }
            (Some(Value::String(name)), Some(Value::String(url))) => {
                License::parse(name, Some(url)).map_err(|e| field_error("license", e))
            }
            (Some(Value::String(_)), Some(_)) => Err(FieldError::new(
                "license.url",
                "invalid_type",
                "must be a string or null",
            )),
            (None | Some(Value::Null), _) => Err(FieldError::new(
                "license.name",
                "required",
                "a licence needs a name",
            )),
            (Some(_), _) => Err(FieldError::new(
                "license.name",
                "invalid_type",
                "must be a string",
            )),
        },
        Some(_) => Err(FieldError::new(
            "license",
            "invalid_type",
            "must be an object, a string or null",
        )),
    };
    match parsed {
        Ok(l) => Some(l),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

fn parse_private(map: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<bool> {
    match map.get("private") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(FieldError::new(
                "private",
                "invalid_type",
                "must be a boolean",
            ));
            None
        }
    }
}

fn parse_feed_create(payload: Value) -> Result<FeedInput, ApiError> {
    let map = body::object(payload, "feed")?;
    let mut errors = Vec::new();
    let name = match map.get("name") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new("name", "required", "a feed needs a name"));
            None
        }
        Some(Value::String(s)) => FeedName::parse(s)
            .map_err(|e| errors.push(field_error("name", e)))
            .ok(),
        Some(_) => {
            errors.push(FieldError::new("name", "invalid_type", "must be a string"));
            None
        }
    };
    let description = parse_description(&map, &mut errors).flatten();
    let private = parse_private(&map, &mut errors).unwrap_or(false);
    let license = parse_license(&map, &mut errors).unwrap_or_default();
    body::check(errors)?;
    let name = name.ok_or_else(|| ApiError::invalid("name", "required", "a feed needs a name"))?;
    Ok(FeedInput {
        name,
        description,
        private,
        license,
    })
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
    let params = query.only(&["limit", "lasttime", "cursor"])?;
    let limit = paging::limit(
        params.get("limit"),
        paging::INDICATOR_PAGES,
        caller.user().is_none(),
    )?;
    let since = paging::lasttime(params.get("lasttime"), state.clock.now())?;
    let after = Cursor::decode(&params)?
        .map(|k| Cursor::time_id(&k))
        .transpose()?;
    let path = path.into_inner();
    let base = urls::base(&req, &state);
    let (body_base, body_params) = (base.clone(), params.clone());
    let max_bytes = state.settings.max_page_bytes;
    let (body, next) = state
        .db
        .read(move |c| {
            let (owner, feed) = visible_feed(c, &path, &caller)?;
            let page = indicator::page_within(
                c,
                &indicator::PageOf {
                    feed_id: feed.id,
                    since,
                    after,
                    limit,
                },
                max_bytes,
            )?;
            let (views, extras) = load_views(c, page.rows, &feed, &owner.username, true)?;
            let shown = views.len() as i64;
            let (list, next) = crate::api::indicators::render_shown(
                &views,
                &extras,
                version,
                &body_base,
                (shown, page.more),
                &body_params,
            );
            let body = render::FeedPage {
                fields: render::feed_fields(&feed, &owner.username, version),
                indicators: &list,
                version,
            };
            Ok::<_, ApiError>((representation::encode(&body)?, next))
        })
        .await?;
    Ok(paging::with_next_link(
        version.ok_encoded(body),
        &base,
        req.path(),
        &params,
        limit,
        next,
    ))
}

/// PATCH (or PUT) /api/users/{user}/feeds/{feed}: 200 with the updated feed; 403, 404, 422.
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
    let (owner, row) = db::Db::run(&state.db, move |c| {
        db::write_tx(c, |c| {
            let (owner, feed) = writable_feed(c, &path, &writer.0)?;
            let changes = parse_feed_update(payload.into_inner(), &feed, now)?;
            if let Some(private) = changes.private
                && private != feed.private
            {
                switch_kind(c, &owner, private, &defaults)?;
            }
            let row = feed::update(c, feed.id, &changes)?;
            Ok::<_, ApiError>((owner, row))
        })
    })
    .await?;
    Ok(version.ok(&render::feed(&row, &owner.username, version, vec![])))
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

fn parse_feed_update(
    payload: Value,
    feed: &FeedRow,
    now: chrono::NaiveDateTime,
) -> Result<FeedChanges, ApiError> {
    let map = body::object(payload, "feed")?;
    let mut errors = Vec::new();
    match map.get("name") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.trim().to_lowercase() == feed.name => {}
        Some(_) => errors.push(FieldError::new(
            "name",
            "immutable",
            "feeds cannot be renamed",
        )),
    }
    let description = parse_description(&map, &mut errors);
    let private = parse_private(&map, &mut errors);
    let license = parse_license(&map, &mut errors);
    body::check(errors)?;
    Ok(FeedChanges {
        description,
        private,
        license_name: license.as_ref().map(|l| l.name.clone()),
        license_url: license.map(|l| l.url),
        updated_at: Some(now),
    })
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
    let (owner, row) = db::Db::run(&state.db, move |c| {
        db::write_tx(c, |c| {
            let (owner, feed) = writable_feed(c, &path, &writer.0)?;
            feed::delete(c, feed.id)?;
            quota::take_feed(c, &owner, feed.private, -1, &defaults)?;
            quota::take_indicators(c, &owner, -feed.indicator_count, &defaults)?;
            Ok::<_, ApiError>((owner, feed))
        })
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
