//! The outermost middleware: gives every request an id, adds the headers every response carries
//! (spec §1.3.7, `Vary: Accept`), and writes one log line and the metrics per request. It logs
//! method, route template, status, latency, user and request id: never headers or bodies.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

use crate::auth::caller::Caller;
use crate::state::AppState;

/// The request id of a request, as put into its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn request_id(req: &ServiceRequest) -> String {
    let offered = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok());
    match offered {
        Some(id)
            if (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) =>
        {
            id.to_string()
        }
        _ => new_request_id(),
    }
}

/// A fresh request id (16 hex digits), for a request that offered none and for the answers the
/// HTTP layer gives by itself (`framing`).
pub fn new_request_id() -> String {
    let mut bytes = [0u8; 8];
    // An id is for correlation, not security; a failed RNG still yields a usable id.
    let _ = getrandom::fill(&mut bytes);
    crate::domain::hex::hex(&bytes)
}

/// An error body (`{"message", "code", "details"}`) with `details.request_id` set; `None` when
/// `body` is not one.
pub fn body_with_request_id(body: &[u8], id: &str) -> Option<String> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) if value["details"].is_object() => {
            value["details"]["request_id"] = serde_json::Value::from(id);
            Some(value.to_string())
        }
        _ => None,
    }
}

/// A server error's JSON body gains `details.request_id`, so a report can be matched to the
/// log line (which carries the cause the client never sees).
fn with_request_id(res: ServiceResponse<BoxBody>, id: &str) -> ServiceResponse<BoxBody> {
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = match body.try_into_bytes() {
        Ok(bytes) => bytes,
        Err(body) => return ServiceResponse::new(req, head.set_body(body)),
    };
    let body = match body_with_request_id(&bytes, id) {
        Some(text) => BoxBody::new(text),
        None => BoxBody::new(bytes),
    };
    let mut head = head.set_body(body);
    head.headers_mut().remove(header::CONTENT_LENGTH);
    ServiceResponse::new(req, head)
}

/// Request id, common headers, access log and metrics.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let under_api = req.path() == "/api" || req.path().starts_with("/api/");

    let mut res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        // Errors from inner services become responses here, so they are logged and counted too.
        Err(e) => return Err(e),
    };
    if res.status().is_server_error() {
        res = with_request_id(res, &id);
    }

    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let status = res.status().as_u16();
    let user = res
        .request()
        .extensions()
        .get::<Caller>()
        .map(|c| c.log_name().to_string());
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(X_REQUEST_ID, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if under_api {
        headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    }
    let elapsed = started.elapsed();
    if let Some(state) = state {
        state
            .metrics
            .observe_request(&method, &route, status, elapsed.as_secs_f64());
    }
    tracing::info!(
        request_id = %id,
        method = %method,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        user = user.as_deref().unwrap_or("-"),
        "request"
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::ResponseError;
    use actix_web::test::TestRequest;

    #[test]
    fn server_errors_carry_the_request_id() {
        let err = crate::error::ApiError::Internal(anyhow::anyhow!("secret"));
        let req = TestRequest::default().to_http_request();
        let res = ServiceResponse::new(req, err.error_response());
        let res = with_request_id(res, "abc123");
        let body = res.into_body().try_into_bytes().unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["details"]["request_id"], "abc123");
        assert_eq!(value["code"], "internal_error");
    }
}
