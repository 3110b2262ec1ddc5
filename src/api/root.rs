//! `GET /api`: the root object with link templates (spec §6.1).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::api::query::NoParams;
use crate::api::representation::ApiVersion;
use crate::api::urls;
use crate::error::ApiError;
use crate::state::AppState;

/// GET /api: 200 with the link templates; 406 for an unknown version.
pub async fn show_root(
    state: web::Data<AppState>,
    version: ApiVersion,
    _: NoParams,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let base = urls::base(&req, &state);
    Ok(version.ok(&json!({
        "current_user_url": format!("{base}/api/users/:user"),
        "user_feeds_url": format!("{base}/api/users/:user/feeds"),
        "user_feed_url": format!("{base}/api/users/:user/feeds/:feed"),
        "search_url": format!("{base}/api/search?q=:query"),
        "version": version.as_str(),
    })))
}
