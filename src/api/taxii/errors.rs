//! TAXII error messages (TAXII 2.1 §3.6.1): every error answered under `/taxii2` — by a TAXII
//! handler, the router, or the admission middleware before it (401, 429, 503) — leaves as
//! `{title, description, error_code, http_status, details}` in [`media::TAXII`], with the
//! status and headers (`Retry-After`, rate-limit headers) it had. The middleware wraps the
//! admission middleware, so one place turns the server's JSON error body into TAXII's; a
//! 401 asks for HTTP Basic, what TAXII clients send.

use actix_web::HttpResponse;
use actix_web::body::{BoxBody, MessageBody, to_bytes_limited};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use serde_json::{Value, json};

use super::media;

/// The server's error bodies are small; a larger one is passed on as it is.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// Whether `path` is a TAXII path.
fn is_taxii(path: &str) -> bool {
    path == "/taxii2" || path.starts_with("/taxii2/")
}

/// The middleware: errors under `/taxii2` as TAXII error messages, everything else untouched.
pub async fn taxii_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !is_taxii(req.path()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        // A middleware's refusal: its answer is built here, its body whole.
        Err(e) => {
            let (head, body) = e.error_response().into_parts();
            let bytes = body.try_into_bytes().ok();
            let res = rewrite(head, bytes.as_deref());
            return Err(InternalError::from_response(e, res).into());
        }
    };
    if !is_json_error(res.response()) {
        return Ok(res);
    }
    let (request, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = match to_bytes_limited(body, MAX_ERROR_BYTES).await {
        Ok(Ok(bytes)) => Some(bytes),
        _ => None,
    };
    Ok(ServiceResponse::new(
        request,
        rewrite(head, bytes.as_deref()),
    ))
}

/// Whether `res` is one of the server's JSON errors.
fn is_json_error<B>(res: &HttpResponse<B>) -> bool {
    let status = res.status();
    (status.is_client_error() || status.is_server_error())
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
}

/// The TAXII error message of an error answer whose JSON body was `body`.
fn rewrite(head: HttpResponse<()>, body: Option<&[u8]>) -> HttpResponse {
    if !is_json_error(&head) {
        return head.set_body(BoxBody::new(body.map(<[u8]>::to_vec).unwrap_or_default()));
    }
    let status = head.status();
    let ours: Value = body
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or(Value::Null);
    let code = ours["code"].as_str().unwrap_or("error");
    let (description, details) = if code == "not_acceptable" {
        (
            format!("Accept {} (or application/taxii+json)", media::TAXII),
            json!({ "supported": [media::TAXII] }),
        )
    } else {
        (
            ours["message"].as_str().unwrap_or_default().to_string(),
            ours["details"].clone(),
        )
    };
    let mut message = json!({
        "title": status.canonical_reason().unwrap_or("Error"),
        "description": description,
        "error_code": code,
        "http_status": status.as_str(),
    });
    if details.as_object().is_some_and(|d| !d.is_empty()) {
        message["details"] = details;
    }
    let mut res = head.set_body(BoxBody::new(message.to_string()));
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media::TAXII));
    if headers.contains_key(header::WWW_AUTHENTICATE) {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="feedgate""#),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_taxii_paths_are_taxii() {
        assert!(is_taxii("/taxii2"));
        assert!(is_taxii("/taxii2/feeds/collections"));
        assert!(!is_taxii("/taxii2x"));
        assert!(!is_taxii("/api/taxii2"));
    }
}
