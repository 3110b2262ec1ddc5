//! `/api/admin/users/{user}/usage`: today's requests and each quota against its limit.

use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde_json::{Map, Value, json};

use super::AdminReader;
use super::users::load;
use crate::api::query::NoParams;
use crate::api::representation::ApiVersion;
use crate::api::users::UserPath;
use crate::auth::accounts::MAX_TOKENS_PER_USER;
use crate::config::DefaultLimits;
use crate::error::ApiError;
use crate::limits::daily::next_midnight;
use crate::models::user::{ExtraUsage, LimitKind, UserRow};
use crate::state::AppState;

/// The usage object (spec §6.9): requests of the UTC day `now` falls in, and each quota.
pub fn usage_object(
    row: &UserRow,
    extra: ExtraUsage,
    defaults: &DefaultLimits,
    version: ApiVersion,
    now: NaiveDateTime,
) -> Value {
    let mut obj = Map::new();
    obj.insert("username".into(), json!(row.username));
    obj.insert(
        "date".into(),
        json!(now.date().format("%Y-%m-%d").to_string()),
    );
    for kind in LimitKind::ALL {
        let used = row.used(kind, extra.requests_today);
        let limit = row.limit(kind, defaults).0;
        let (name, entry) = match kind {
            LimitKind::RequestsPerDay => (
                "requests",
                json!({
                    "used": used,
                    "limit": limit,
                    "remaining": limit.map(|l| (l - used).max(0)),
                    "reset_at": version.time(next_midnight(now)),
                }),
            ),
            other => (other.name(), json!({"used": used, "limit": limit})),
        };
        obj.insert(name.into(), entry);
    }
    obj.insert(
        "tokens".into(),
        json!({"used": extra.tokens, "limit": MAX_TOKENS_PER_USER}),
    );
    Value::Object(obj)
}

/// GET /api/admin/users/{user}/usage: 200 with today's requests and each quota against its
/// effective limit (`null` = unlimited); 401, 403, 404.
pub async fn show_admin_user_usage(
    state: web::Data<AppState>,
    version: ApiVersion,
    _admin: AdminReader,
    _: NoParams,
    path: web::Path<UserPath>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner().user;
    let now = state.clock.now();
    let (row, extra) = state.db.read(move |c| load(c, &name, now.date())).await?;
    let defaults = state.settings.default_limits();
    Ok(version.ok(&usage_object(&row, extra, &defaults, version, now)))
}
