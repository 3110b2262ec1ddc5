//! `/api/admin/shadowserver/schedules[/{id}[/run]]` and `/api/admin/shadowserver/runs`:
//! scheduled Reports API pulls (issue 21, `crate::pulls`). Schedules name a user's feed, the
//! report lists and types, how often and how many days back; a run records what it did. The
//! Reports API key and secret are server settings: no route takes or shows them.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminReader, AdminWriter};
use crate::api::body::JsonBody;
use crate::api::dto::schedule::ScheduleRequest;
use crate::api::paging::{self, PageQuery};
use crate::api::query::{NoParams, QueryPairs};
use crate::api::representation::ApiVersion;
use crate::api::urls;
use crate::error::{ApiError, FieldError};
use crate::models::shadowserver_run::{self as run, RunRow};
use crate::models::shadowserver_schedule::{
    self as schedule, NewSchedule, Schedule, ScheduleChanges,
};
use crate::models::{feed, user};
use crate::pulls::RunNowError;
use crate::state::AppState;

/// Path of one schedule.
#[derive(Debug, Deserialize)]
pub struct SchedulePath {
    pub id: i64,
}

/// The schedule object.
pub fn schedule_object(s: &Schedule, version: ApiVersion) -> Value {
    json!({
        "id": s.row.id,
        "user": s.owner,
        "feed": s.feed,
        "reports": s.row.report_names(),
        "types": s.row.type_names(),
        "interval_hours": s.row.interval_hours,
        "days_back": s.row.days_back,
        "enabled": s.row.enabled,
        "next_run_at": version.time(s.row.next_run_at),
        "created_by": s.row.created_by,
        "created_at": version.time(s.row.created_at),
        "updated_at": version.time(s.row.updated_at),
    })
}

/// The run object.
pub fn run_object(r: &RunRow, version: ApiVersion) -> Value {
    let errors: Value = serde_json::from_str(&r.errors).unwrap_or_else(|_| json!([]));
    json!({
        "id": r.id,
        "schedule_id": r.schedule_id,
        "kind": r.kind,
        "state": r.state,
        "attempts": r.attempts,
        "date_from": r.date_from.to_string(),
        "date_to": r.date_to.to_string(),
        "reports_listed": r.reports_listed,
        "reports_imported": r.reports_imported,
        "reports_skipped": r.reports_skipped,
        "reports_failed": r.reports_failed,
        "rows_read": r.rows_read,
        "errors": errors,
        "started_at": version.time(r.started_at),
        "finished_at": r.finished_at.map(|t| version.time(t)),
        "lease_expires_at": version.time(r.lease_expires_at),
    })
}

fn json_names(names: &[String]) -> String {
    serde_json::to_string(names).unwrap_or_else(|_| "[]".into())
}

/// POST /api/admin/shadowserver/schedules: 201 with `Location` and the schedule object; 401,
/// 403, 422 (`validation_failed`; `user` or `feed` `not_found`).
pub async fn create_shadowserver_schedule(
    state: web::Data<AppState>,
    version: ApiVersion,
    admin: AdminWriter,
    _: NoParams,
    payload: JsonBody,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let input = ScheduleRequest::parse_new(payload.into_inner())?;
    let now = state.clock.now();
    let by = admin.0.name.clone();
    let created = state
        .db
        .write(move |c| {
            let not_found = |field: &str, what: &str| {
                ApiError::Invalid(vec![FieldError::new(field, "not_found", what.to_string())])
            };
            let owner = user::find_by_name(c, &input.user).map_err(|e| match e {
                diesel::result::Error::NotFound => not_found("user", "no such user"),
                other => other.into(),
            })?;
            let f = feed::find_by_name(c, owner.id, &input.feed).map_err(|e| match e {
                diesel::result::Error::NotFound => not_found("feed", "the user has no such feed"),
                other => other.into(),
            })?;
            let (reports, types) = (json_names(&input.reports), json_names(&input.types));
            let id = schedule::insert(
                c,
                &NewSchedule {
                    feed_id: f.id,
                    reports: &reports,
                    types: &types,
                    interval_hours: input.interval_hours,
                    days_back: input.days_back,
                    enabled: input.enabled,
                    next_run_at: input.next_run_at.unwrap_or(now),
                    created_by: &by,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            Ok::<_, ApiError>(schedule::find(c, id)?)
        })
        .await?;
    let mut res = version.created(&schedule_object(&created, version));
    let location = format!(
        "{}/api/admin/shadowserver/schedules/{}",
        urls::base(&req, &state),
        created.row.id
    );
    if let Ok(v) = header::HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// GET /api/admin/shadowserver/schedules: 200 with schedule objects by id (`limit` default
/// 100, max 1000; `cursor`); 400, 401, 403.
pub async fn list_shadowserver_schedules(
    state: web::Data<AppState>,
    version: ApiVersion,
    _admin: AdminReader,
    query: QueryPairs,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = PageQuery::<i64>::read(&query, &["limit", "cursor"], paging::SMALL_PAGES, false)?;
    let (limit, after) = (page.limit, page.after);
    let rows = state
        .db
        .read(move |c| schedule::list(c, after, limit + 1).map_err(ApiError::from))
        .await?;
    let (shown, next) = page.split(&rows, |s| json!(s.row.id));
    let list: Vec<Value> = shown.iter().map(|s| schedule_object(s, version)).collect();
    let base = urls::base(&req, &state);
    Ok(page.respond(version.ok(&Value::Array(list)), &base, req.path(), next))
}

/// GET /api/admin/shadowserver/schedules/{id}: 200 with the schedule object; 401, 403, 404.
pub async fn show_shadowserver_schedule(
    state: web::Data<AppState>,
    version: ApiVersion,
    _admin: AdminReader,
    _: NoParams,
    path: web::Path<SchedulePath>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner().id;
    let s = state
        .db
        .read(move |c| schedule::find(c, id).map_err(ApiError::from))
        .await?;
    Ok(version.ok(&schedule_object(&s, version)))
}

/// PATCH (or PUT) /api/admin/shadowserver/schedules/{id}: 200 with the updated schedule
/// object; 401, 403, 404, 422.
pub async fn update_shadowserver_schedule(
    state: web::Data<AppState>,
    version: ApiVersion,
    _admin: AdminWriter,
    _: NoParams,
    path: web::Path<SchedulePath>,
    payload: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner().id;
    let patch = ScheduleRequest::parse_patch(payload.into_inner());
    let now = state.clock.now();
    let s = state
        .db
        .write(move |c| {
            // 404 before the body's problems.
            schedule::find(c, id)?;
            let patch = patch?;
            let changes = ScheduleChanges {
                feed_id: None,
                reports: patch.reports.as_deref().map(json_names),
                types: patch.types.as_deref().map(json_names),
                interval_hours: patch.interval_hours,
                days_back: patch.days_back,
                enabled: patch.enabled,
                next_run_at: patch.next_run_at,
                updated_at: Some(now),
            };
            schedule::update(c, id, &changes)?;
            Ok::<_, ApiError>(schedule::find(c, id)?)
        })
        .await?;
    Ok(version.ok(&schedule_object(&s, version)))
}

/// DELETE /api/admin/shadowserver/schedules/{id}: 200 with the deleted schedule object (its
/// runs go with it); 401, 403, 404.
pub async fn delete_shadowserver_schedule(
    state: web::Data<AppState>,
    version: ApiVersion,
    _admin: AdminWriter,
    _: NoParams,
    path: web::Path<SchedulePath>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner().id;
    let s = state
        .db
        .write(move |c| {
            let s = schedule::find(c, id)?;
            schedule::delete(c, id)?;
            Ok::<_, ApiError>(s)
        })
        .await?;
    Ok(version.ok(&schedule_object(&s, version)))
}

/// POST /api/admin/shadowserver/schedules/{id}/run: runs the schedule now, on this gateway,
/// and answers 200 with the run object once it ended (a run whose gateway died is taken over
/// and finished); 401, 403, 404, 409 `run_in_progress` (another gateway runs it) or
/// `not_configured` (no Reports API key and secret in the server's environment), 429
/// `too_many_imports`.
pub async fn run_shadowserver_schedule(
    state: web::Data<AppState>,
    version: ApiVersion,
    _admin: AdminWriter,
    _: NoParams,
    path: web::Path<SchedulePath>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner().id;
    let ran = state.pulls.run_now(id).await.map_err(|e| match e {
        RunNowError::NotFound => ApiError::NotFound,
        RunNowError::InProgress => ApiError::RunInProgress,
        RunNowError::NotConfigured => ApiError::NotConfigured(
            "the Reports API key and secret are not configured on this server \
             (FEEDGATE_SHADOWSERVER_KEY, FEEDGATE_SHADOWSERVER_SECRET)",
        ),
        RunNowError::Busy(full) => ApiError::TooManyImports {
            scope: full.scope.as_str(),
            limit: full.limit,
            retry_after: std::time::Duration::from_secs(10),
        },
        RunNowError::Database(e) => e.into(),
    })?;
    Ok(version.ok(&run_object(&ran, version)))
}

/// GET /api/admin/shadowserver/runs: 200 with run objects, newest first (`schedule` to keep
/// one schedule's; `limit` default 100, max 1000; `cursor`); 400, 401, 403.
pub async fn list_shadowserver_runs(
    state: web::Data<AppState>,
    version: ApiVersion,
    _admin: AdminReader,
    query: QueryPairs,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = PageQuery::<i64>::read(
        &query,
        &["limit", "cursor", "schedule"],
        paging::SMALL_PAGES,
        false,
    )?;
    let schedule_id = page
        .params
        .get("schedule")
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| paging::invalid("schedule", "schedule must be a schedule id"))
        })
        .transpose()?;
    let (limit, before) = (page.limit, page.after);
    let rows = state
        .db
        .read(move |c| run::list(c, schedule_id, before, limit + 1).map_err(ApiError::from))
        .await?;
    let (shown, next) = page.split(&rows, |r| json!(r.id));
    let list: Vec<Value> = shown.iter().map(|r| run_object(r, version)).collect();
    let base = urls::base(&req, &state);
    Ok(page.respond(version.ok(&Value::Array(list)), &base, req.path(), next))
}
