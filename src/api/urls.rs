//! Absolute URLs in bodies and headers (spec §1.3.8): the configured public URL, else the
//! request's `Host` over plain HTTP (feedgate itself never terminates TLS; a proxy that does
//! sets `FEEDGATE_PUBLIC_URL`). Forwarded headers are not trusted.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::state::AppState;

/// The base URL without a trailing slash, e.g. `https://feedgate.example.org`.
pub fn base(req: &HttpRequest, state: &AppState) -> String {
    if let Some(public) = &state.settings.public_url {
        return public.trim_end_matches('/').to_string();
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| state.local_addr.clone());
    format!("http://{host}")
}
