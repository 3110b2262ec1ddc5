//! Resource-level middleware for every route with a GET handler (spec §1.3.2–3): `HEAD` is
//! answered as `GET` (actix drops the body of a HEAD answer), and a `POST` whose body is empty
//! (no bytes, only whitespace, or the JSON literal `null`) is a read: csirtgsdk POSTs `null`
//! when it has no query parameters. A non-empty POST passes on unchanged (create, or 405).

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::error::ApiError;

/// Whether a body counts as empty.
pub fn is_empty_body(bytes: &[u8]) -> bool {
    let trimmed = bytes.trim_ascii();
    trimmed.is_empty() || trimmed == b"null"
}

/// Whether a body that starts with `head` (leading whitespace removed) may still turn out to
/// be empty: nothing yet, a prefix of `null`, or `null` and whitespace.
fn may_be_empty(head: &[u8]) -> bool {
    let n = head.len().min(4);
    b"null".starts_with(&head[..n]) && head[n..].iter().all(u8::is_ascii_whitespace)
}

/// The middleware; `limit` caps how much of a POST body is buffered.
pub async fn read_by_post(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    limit: usize,
    has_get: bool,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // No stored name holds NUL (PostgreSQL refuses it): a path segment with one names
    // nothing, whatever the route.
    if req.match_info().iter().any(|(_, v)| v.contains('\0')) {
        return Err(ApiError::NotFound.into());
    }
    if !has_get {
        return next.call(req).await;
    }
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    } else if req.method() == Method::POST {
        // Only as much of the body is read as it takes to tell a read from a write: leading
        // whitespace and a `null` at most. A write's body stays unread here, so its
        // credentials and scope are checked (401/403) before its bytes are; an anonymous
        // 10 MiB POST costs nothing but the few bytes looked at.
        let mut payload = req.take_payload();
        let mut seen = BytesMut::new();
        let mut total = 0usize;
        let mut rest: Option<Bytes> = None;
        while let Some(chunk) = payload.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::malformed(format!("cannot read the body: {e}")))?;
            total += chunk.len();
            if total > limit {
                return Err(ApiError::PayloadTooLarge { limit }.into());
            }
            // Whitespace before the first token means nothing to JSON: it is not kept.
            let chunk = if seen.is_empty() {
                let start = chunk
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                    .unwrap_or(chunk.len());
                chunk.slice(start..)
            } else {
                chunk
            };
            seen.extend_from_slice(&chunk);
            if !may_be_empty(&seen) {
                rest = Some(seen.split().freeze());
                break;
            }
        }
        // The whole body was read: empty only if it was nothing or `null` (not `nul`).
        if rest.is_none() && !is_empty_body(&seen) {
            rest = Some(seen.freeze());
        }
        match rest {
            None => req.head_mut().method = Method::GET,
            Some(head) => {
                let replay = futures_util::stream::once(async move { Ok(head) }).chain(payload);
                req.set_payload(actix_web::dev::Payload::Stream {
                    payload: Box::pin(replay),
                });
            }
        }
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_bodies() {
        for body in [&b""[..], b"  \n", b"null", b" null \r\n"] {
            assert!(is_empty_body(body));
        }
        for body in [&b"{}"[..], b"[]", b"nul", b"\"\""] {
            assert!(!is_empty_body(body));
        }
        for head in [&b""[..], b"n", b"nul", b"null", b"null \r\n"] {
            assert!(may_be_empty(head), "{head:?}");
        }
        for head in [&b"{"[..], b"nulx", b"null x", b"nx", b"[]"] {
            assert!(!may_be_empty(head), "{head:?}");
        }
    }
}
