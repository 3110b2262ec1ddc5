//! The middleware of the web pages: every answer on a page path gets the security headers
//! (a Content-Security-Policy with no inline script or style, no framing, no sniffing, no
//! referrer, no caching of what a session showed), and an error on a page path, whoever
//! raised it (a handler, the router, the admission middleware's 429 and 503), becomes a
//! friendly HTML page with the same status and headers. The `/api` routes keep JSON errors.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use maud::html;

use crate::error::ApiError;
use crate::web::layout;

/// The policy of every page: only this server's own stylesheet, script and images; no
/// plug-ins, no `<base>`, forms only to this server, never inside a frame.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Whether `path` is one of the web pages (or their stylesheet, script and downloads).
pub fn is_page(path: &str) -> bool {
    matches!(path, "/" | "/search" | "/signin" | "/signout")
        || path.starts_with("/u/")
        || path.starts_with("/static/")
}

/// The middleware.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !is_page(req.path()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => return Err(e),
    };
    let failed = res.status().is_client_error() || res.status().is_server_error();
    // A page that answers an error itself (the sign-in form again) is already HTML.
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let res = if failed && !is_html {
        as_html_error(res)
    } else {
        res
    };
    Ok(with_headers(res))
}

fn with_headers(mut res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let h = res.headers_mut();
    let set = |h: &mut header::HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, header::HeaderValue::from_static(value));
    };
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        // An attachment's download keeps its own, stricter policy (a sandbox).
        set(h, header::CONTENT_SECURITY_POLICY, CSP);
    }
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    if !h.contains_key(header::CACHE_CONTROL) {
        // A signed-in visitor's page must not be kept by a shared cache or the browser.
        set(h, header::CACHE_CONTROL, "no-store");
    }
    res
}

/// The error page of an answer: its status, a headline, and what went wrong (the error's own
/// message for a 4xx; never a server error's detail, which the log keeps).
fn as_html_error(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    let detail = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .filter(|_| status.is_client_error())
        .map(|e| e.to_string());
    let (title, advice) = headline(status);
    let markup = layout::page(
        title,
        None,
        html! {
            div class="error" {
                p { strong { (status.as_u16()) } " — " (advice) }
                @if let Some(d) = &detail { p { "Detail: " code { (d) } } }
            }
            p { a href="/" { "Back to the directory of feeds" } }
        },
    );
    let (req, old) = res.into_parts();
    let mut fresh = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fresh.append_header((name.clone(), value.clone()));
        }
    }
    fresh.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"));
    ServiceResponse::new(req, fresh.body(markup.into_string()))
}

fn headline(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 | 422 => (
            "Bad request",
            "the address or a field of the form is not right.",
        ),
        401 => ("Not signed in", "sign in with a valid token."),
        403 => (
            "Refused",
            "this was refused. If you used a form, reload the page and try again.",
        ),
        404 => (
            "Not found",
            "there is no such page, or it is not yours to see.",
        ),
        405 => (
            "Method not allowed",
            "this page is not for that kind of request.",
        ),
        413 => ("Too large", "the request is too large."),
        429 => ("Too many requests", "slow down and try again later."),
        s if s >= 500 => (
            "Something went wrong",
            "the server could not answer now. Try again in a moment.",
        ),
        _ => ("Error", "the request could not be served."),
    }
}

/// The answer for a method a page does not take.
pub fn method_not_allowed(allow: &'static [&'static str]) -> HttpResponse {
    ApiError::MethodNotAllowed(allow.to_vec()).error_response()
}
