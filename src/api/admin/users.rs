//! `/api/admin/users` and `/api/admin/users/{user}`: the admin user object, and listing,
//! creating, showing, changing and deleting users.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Map, Value, json};

use super::{AdminReader, AdminWriter};
use crate::api::body::JsonBody;
use crate::api::dto::user::{CreateUserRequest, NewUserInput, UpdateUserRequest, UserPatch};
use crate::api::paging::{self, PageQuery};
use crate::api::query::{NoParams, QueryPairs};
use crate::api::representation::ApiVersion;
use crate::api::tokens::{account_error, token_object};
use crate::api::urls;
use crate::api::users::UserPath;
use crate::auth::accounts;
use crate::auth::password::Password;
use crate::config::DefaultLimits;
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::models::user::{self, ExtraUsage, LimitKind, ROLE_ADMIN, ROLE_USER, UserRow};
use crate::state::AppState;

/// The admin user object (spec §6.9).
pub fn admin_user_object(
    row: &UserRow,
    extra: ExtraUsage,
    defaults: &DefaultLimits,
    version: ApiVersion,
) -> Map<String, Value> {
    let mut limits = Map::new();
    let mut usage = Map::new();
    let mut overridden = Vec::new();
    for kind in LimitKind::ALL {
        limits.insert(kind.name().into(), json!(row.limit(kind, defaults).0));
        if row.limit_override(kind).is_some() {
            overridden.push(kind.name());
        }
        let used = row.used(kind, extra.requests_today);
        usage.insert(kind.usage_name().into(), json!(used));
    }
    usage.insert("tokens".into(), json!(extra.tokens));
    let mut obj = Map::new();
    obj.insert("username".into(), json!(row.username));
    obj.insert("role".into(), json!(row.role));
    obj.insert("disabled".into(), json!(row.disabled));
    obj.insert("has_password".into(), json!(row.password_hash.is_some()));
    obj.insert("limits".into(), Value::Object(limits));
    obj.insert("overridden".into(), json!(overridden));
    obj.insert("usage".into(), Value::Object(usage));
    obj.insert("created_at".into(), version.time(row.created_at));
    obj.insert("updated_at".into(), version.time(row.updated_at));
    obj
}

/// Finds a user (404) with the usage that is not on its row.
pub(super) fn load(
    c: &mut DbConnection,
    name: &str,
    day: NaiveDate,
) -> Result<(UserRow, ExtraUsage), ApiError> {
    let row = user::find_by_name(c, name)?;
    let extra = user::extra_usage_of(c, row.id, day)?;
    Ok((row, extra))
}

/// The admin user object under this server's defaults, plus a member some routes add.
fn render(
    state: &AppState,
    version: ApiVersion,
    row: &UserRow,
    extra: ExtraUsage,
    more: Option<(&str, Value)>,
) -> Value {
    let defaults = state.settings.default_limits();
    let mut obj = admin_user_object(row, extra, &defaults, version);
    if let Some((name, value)) = more {
        obj.insert(name.into(), value);
    }
    Value::Object(obj)
}

/// GET /api/admin/users: 200 with admin user objects by name (`limit` default 100, max 1000;
/// `cursor`); 400, 401, 403.
pub async fn list_admin_users(
    state: web::Data<AppState>,
    version: ApiVersion,
    _admin: AdminReader,
    query: QueryPairs,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = PageQuery::<String>::read(&query, &["limit", "cursor"], paging::SMALL_PAGES, false)?;
    let (limit, after) = (page.limit, page.after.clone());
    let day = state.clock.now().date();
    let (rows, extra) = state
        .db
        .read(move |c| {
            let rows = user::list(c, after.as_deref(), limit + 1)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let extra = user::extra_usage(c, &ids, day)?;
            Ok::<_, ApiError>((rows, extra))
        })
        .await?;
    let (shown, next) = page.split(&rows, |r| json!(r.username));
    let list: Vec<Value> = shown
        .iter()
        .map(|r| {
            let extra = extra.get(&r.id).copied().unwrap_or_default();
            render(&state, version, r, extra, None)
        })
        .collect();
    let base = urls::base(&req, &state);
    Ok(page.respond(version.ok(&Value::Array(list)), &base, req.path(), next))
}

/// POST /api/admin/users: 201 with `Location`, the admin user object and its first read/write
/// `token` (plaintext shown once); 401, 403, 422 (`validation_failed`, `name_taken`).
pub async fn create_admin_user(
    state: web::Data<AppState>,
    version: ApiVersion,
    _admin: AdminWriter,
    _: NoParams,
    payload: JsonBody,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let input = CreateUserRequest::parse(payload.into_inner())?;
    let now = state.clock.now();
    let (row, extra, minted) = state
        .db
        .run(move |c| {
            // The password is hashed before the write lock is taken.
            let hash = input.password.as_ref().map(Password::hash).transpose();
            let hash = hash.map_err(ApiError::Internal)?;
            db::write_tx(c, |c| insert_user(c, &input, hash.as_deref(), now))
        })
        .await?;
    let token = token_object(&minted.row, version, Some(minted.plain.expose()));
    let mut res = version.created(&render(
        &state,
        version,
        &row,
        extra,
        Some(("token", token)),
    ));
    let location = format!(
        "{}/api/admin/users/{}",
        urls::base(&req, &state),
        row.username
    );
    if let Ok(v) = header::HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// One transaction: create the user and a token, then set the limit overrides.
fn insert_user(
    c: &mut db::WriteTx<'_>,
    input: &NewUserInput,
    password_hash: Option<&str>,
    now: NaiveDateTime,
) -> Result<(UserRow, ExtraUsage, accounts::Minted), ApiError> {
    let (row, minted) = accounts::create_user(c, &input.name, input.admin, password_hash, now)
        .map_err(account_error)?;
    if !input.limits.is_empty() {
        user::set_limits(c, row.id, &input.limits, now)?;
    }
    let (row, extra) = load(c, &row.username, now.date())?;
    Ok((row, extra, minted))
}

/// GET /api/admin/users/{user}: 200 with the admin user object; 401, 403, 404.
pub async fn show_admin_user(
    state: web::Data<AppState>,
    version: ApiVersion,
    _admin: AdminReader,
    _: NoParams,
    path: web::Path<UserPath>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner().user;
    let day = state.clock.now().date();
    let (row, extra) = state.db.read(move |c| load(c, &name, day)).await?;
    Ok(version.ok(&render(&state, version, &row, extra, None)))
}

/// PATCH (or PUT) /api/admin/users/{user}: 200 with the updated admin user object; 401, 403,
/// 404, 409 `last_admin`, 422.
pub async fn update_admin_user(
    state: web::Data<AppState>,
    version: ApiVersion,
    _admin: AdminWriter,
    _: NoParams,
    path: web::Path<UserPath>,
    payload: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner().user;
    let now = state.clock.now();
    let (row, extra) = db::Db::run(&state.db, move |c| {
        // Parsed (and a new password hashed) before the write lock is taken; a problem is
        // reported only after the lookup, so an unknown user is 404 first.
        let patch = UpdateUserRequest::parse(payload.into_inner(), &name);
        let hash = match &patch {
            Ok(UserPatch {
                password: Some(Some(pw)),
                ..
            }) => Some(pw.hash().map_err(ApiError::Internal)?),
            _ => None,
        };
        db::write_tx(c, |c| {
            let row = user::find_by_name(c, &name)?;
            apply_patch(c, &row, &patch?, hash.as_deref(), now)?;
            load(c, &name, now.date())
        })
    })
    .await?;
    Ok(version.ok(&render(&state, version, &row, extra, None)))
}

/// Applies a parsed PATCH inside its transaction, refusing to remove the last enabled admin.
fn apply_patch(
    c: &mut db::WriteTx<'_>,
    row: &UserRow,
    patch: &UserPatch,
    hash: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let admin = patch.admin.unwrap_or(row.is_admin());
    let disabled = patch.disabled.unwrap_or(row.disabled);
    if user::would_remove_last_admin(c, row.id, admin && !disabled)? {
        return Err(ApiError::LastAdmin);
    }
    if let Some(admin) = patch.admin {
        let role = if admin { ROLE_ADMIN } else { ROLE_USER };
        user::set_role(c, row.id, role, now)?;
    }
    if let Some(disabled) = patch.disabled {
        user::set_disabled(c, row.id, disabled, now)?;
    }
    if patch.password.is_some() {
        user::set_password(c, row.id, hash, now)?;
    }
    if !patch.limits.is_empty() {
        user::set_limits(c, row.id, &patch.limits, now)?;
    }
    Ok(())
}

/// DELETE /api/admin/users/{user}: 200 with the admin user object as it was plus
/// `deleted: {feeds, indicators, tokens}`; 401, 403, 404, 409 `last_admin`.
pub async fn delete_admin_user(
    state: web::Data<AppState>,
    version: ApiVersion,
    _admin: AdminWriter,
    _: NoParams,
    path: web::Path<UserPath>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner().user;
    let day = state.clock.now().date();
    let (row, extra, deleted) = state.db.write(move |c| remove_user(c, &name, day)).await?;
    state
        .metrics
        .indicators_written("deleted", deleted.indicators.max(0) as u64);
    let counts =
        json!({"feeds": deleted.feeds, "indicators": deleted.indicators, "tokens": deleted.tokens});
    Ok(version.ok(&render(
        &state,
        version,
        &row,
        extra,
        Some(("deleted", counts)),
    )))
}

/// One transaction: find the user (404) with their usage as it was, refuse the last enabled
/// admin (409), then delete them with everything they own.
fn remove_user(
    c: &mut db::WriteTx<'_>,
    name: &str,
    day: NaiveDate,
) -> Result<(UserRow, ExtraUsage, user::Deleted), ApiError> {
    let (row, extra) = load(c, name, day)?;
    if user::would_remove_last_admin(c, row.id, false)? {
        return Err(ApiError::LastAdmin);
    }
    let deleted = user::delete(c, row.id)?;
    Ok((row, extra, deleted))
}
