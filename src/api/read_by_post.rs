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

/// The middleware; `limit` caps how much of a POST body is buffered.
pub async fn read_by_post(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    limit: usize,
    has_get: bool,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !has_get {
        return next.call(req).await;
    }
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    } else if req.method() == Method::POST {
        let mut payload = req.take_payload();
        let mut buf = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::malformed(format!("cannot read the body: {e}")))?;
            if buf.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge { limit }.into());
            }
            buf.extend_from_slice(&chunk);
        }
        let bytes: Bytes = buf.freeze();
        if is_empty_body(&bytes) {
            req.head_mut().method = Method::GET;
        } else {
            let (_, mut pl) = actix_http::h1::Payload::create(true);
            pl.unread_data(bytes);
            req.set_payload(pl.into());
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
    }
}
