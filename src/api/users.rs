//! `GET /api/users/:user` (spec §6.2): the public user object, plus role, limits and usage for
//! the user themself and admins.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::query::NoParams;
use crate::api::representation::ApiVersion;
use crate::api::urls;
use crate::auth::caller::Caller;
use crate::config::DefaultLimits;
use crate::domain::limit::Limit;
use crate::error::ApiError;
use crate::models::user::{self, UserRow};
use crate::state::AppState;

/// Path of routes under one user.
#[derive(Debug, Deserialize)]
pub struct UserPath {
    pub user: String,
}

/// GET /api/users/{user}: 200 with the user object; 404 for an unknown user.
pub async fn show_user(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    _: NoParams,
    path: web::Path<UserPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner().user;
    let row = state
        .db
        .read(move |c| user::find_by_name(c, &name).map_err(ApiError::from))
        .await?;
    let full = caller.user().is_some_and(|u| u.admin || u.id == row.id);
    let base = urls::base(&req, &state);
    Ok(version.ok(&user_object(
        &row,
        version,
        &base,
        full.then(|| state.settings.default_limits()),
    )))
}

/// The user object; `limits` present means the private members are shown.
pub fn user_object(
    row: &UserRow,
    version: ApiVersion,
    base: &str,
    limits: Option<DefaultLimits>,
) -> Value {
    let mut obj = json!({
        "username": row.username,
        "feeds_url": format!("{base}/api/users/{}/feeds", row.username),
        "created_at": version.time(row.created_at),
    });
    if let (Some(defaults), Value::Object(map)) = (limits, &mut obj) {
        let limit = |l: Limit| l.0.map_or(Value::Null, Value::from);
        map.insert("role".into(), json!(row.role));
        map.insert("disabled".into(), json!(row.disabled));
        map.insert(
            "limits".into(),
            json!({
                "requests_per_day": limit(Limit::effective(row.requests_per_day, defaults.requests_per_day)),
                "private_feeds": limit(Limit::effective(row.max_private_feeds, defaults.private_feeds)),
                "public_feeds": limit(Limit::effective(row.max_public_feeds, defaults.public_feeds)),
                "indicators": limit(Limit::effective(row.max_indicators, defaults.indicators)),
            }),
        );
        map.insert(
            "usage".into(),
            json!({
                "private_feeds": row.private_feed_count,
                "public_feeds": row.public_feed_count,
                "indicators": row.indicator_count,
            }),
        );
    }
    obj
}
