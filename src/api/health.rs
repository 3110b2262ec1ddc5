//! `GET /api/health` and `GET /metrics` (spec §6.10): never authenticated, limited or counted,
//! and independent of `Accept`.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::error::error_body;
use crate::state::AppState;

/// GET /api/health: 200 when a trivial query answers within 2 s, else 503 `database_unavailable`.
pub async fn show_health(state: web::Data<AppState>) -> HttpResponse {
    let backend = state.db.backend().as_str();
    let ping = state.db.ping();
    let healthy = matches!(
        actix_web::rt::time::timeout(Duration::from_secs(2), ping).await,
        Ok(Ok(()))
    );
    if healthy {
        return HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("application/json; charset=utf-8")
            .body(
                json!({"status": "ok", "database": "ok", "backend": backend, "version": env!("CARGO_PKG_VERSION")})
                    .to_string(),
            );
    }
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, "5"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/json; charset=utf-8")
        .body(error_body(
            "database unavailable",
            "database_unavailable",
            json!({"status": "unavailable", "database": "error", "backend": backend}),
        ))
}

/// GET /metrics: the Prometheus text exposition.
pub async fn show_metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(state.db.pool_usage()))
}
