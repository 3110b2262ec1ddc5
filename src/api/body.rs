//! The JSON body extractor: which media types are JSON, the size limit, syntax errors, and no
//! NUL in any string. [`JsonRequest`] reads the bytes straight into a typed request (indicator
//! and bulk bodies: building a `Value` first would cost); [`JsonBody`] is the same for a
//! `Value`. Reading a body into a typed request (wrapped or bare objects, `null` as absent,
//! wrong types) is `api::dto`'s.

use actix_web::error::JsonPayloadError;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// Turns collected field errors into a 422, or `Ok` when there are none.
pub fn check(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_characters_are_named_by_their_path() {
        let mut errors = Vec::new();
        let body = json!({"indicator": {"content": "a\0b", "tags": ["x", "\0"]},
                          "ok": "fine", "k\0": 1});
        assert!(holds_nul(&body));
        nul_fields(&body, &mut String::new(), &mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["indicator.content", "indicator.tags[1]", "k\\0"]);
        let mut none = Vec::new();
        nul_fields(
            &json!({"a": ["b", {"c": "d"}]}),
            &mut String::new(),
            &mut none,
        );
        assert!(none.is_empty());
        assert!(!holds_nul(&json!({"a": ["b", {"c": "d"}], "n": 1})));
        assert!(holds_nul(&json!([{"x\0": null}])));
    }
}

/// The most NUL problems one answer lists.
const MAX_NUL_ERRORS: usize = 100;

/// Whether any string of the body (member name or value) holds NUL: the cheap look every body
/// gets, with no allocation; only a body that holds one is walked again to name the fields.
fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// Adds a 422 problem for every string (member name or value) holding NUL, named by its path
/// (`indicator.content`, `indicators[3].tags[0]`): no stored text holds NUL, and PostgreSQL
/// refuses it, so every backend answers the same.
fn nul_fields(value: &Value, path: &mut String, errors: &mut Vec<FieldError>) {
    if errors.len() >= MAX_NUL_ERRORS {
        return;
    }
    let problem = |path: &str| FieldError::new(path, "invalid_format", "must not contain NUL");
    match value {
        Value::String(s) if s.contains('\0') => errors.push(problem(path)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                nul_fields(item, path, errors);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key.replace('\0', "\\0"));
                if key.contains('\0') {
                    errors.push(problem(path));
                } else {
                    nul_fields(item, path, errors);
                }
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// A JSON request body as a `Value`, for the bodies read by `dto::Request`.
pub type JsonBody = JsonRequest<Value>;

fn acceptable_media(req: &actix_web::HttpRequest) -> bool {
    use actix_web::HttpMessage;
    match req.mime_type() {
        Ok(None) => true,
        Ok(Some(m)) => {
            m.subtype() == "json"
                || m.suffix().is_some_and(|s| s == "json")
                || matches!(
                    m.essence_str(),
                    "text/plain" | "application/x-www-form-urlencoded"
                )
        }
        Err(_) => false,
    }
}

/// The answer to a body that could not be read as JSON: 415, 413 over the size limit, else a
/// 400 `malformed_json` with the parser's explanation (also the `JsonConfig` handler).
pub fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            ApiError::PayloadTooLarge { limit }
        }
        JsonPayloadError::Deserialize(e) => ApiError::malformed(format!("invalid JSON: {e}")),
        other => ApiError::malformed(format!("invalid JSON body: {other}")),
    }
}

/// Refuses a body holding NUL in any string (member name or value), naming each path.
fn refuse_nul(value: &Value) -> Result<(), ApiError> {
    if holds_nul(value) {
        let mut errors = Vec::new();
        nul_fields(value, &mut String::new(), &mut errors);
        check(errors)?;
    }
    Ok(())
}

/// A JSON request body (spec §1.3.6) read straight from its bytes into `T`: parsed when
/// `Content-Type` is absent, `application/json`, any `application/*+json`, `text/plain` or
/// `application/x-www-form-urlencoded` (what `curl -d` sends); any other type is 415. Over
/// `--max-body-bytes` it is 413, a syntax error 400 ([`json_error`], also the `JsonConfig`
/// handler), a NUL in any string 422. `T` accepts what a `Value` accepts (members it does not
/// read are parsed as `Value`s), so every type refuses the same bodies.
#[derive(Debug)]
pub struct JsonRequest<T>(pub T);

impl<T> JsonRequest<T> {
    /// The request.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> actix_web::FromRequest for JsonRequest<T> {
    type Error = actix_web::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        use actix_web::http::header::{ContentLength, Header};
        if !acceptable_media(req) {
            return Box::pin(std::future::ready(Err(
                ApiError::UnsupportedMediaType.into()
            )));
        }
        let limit = req
            .app_data::<actix_web::web::Data<AppState>>()
            .map_or(usize::MAX, |state| state.settings.max_body_bytes);
        let length = ContentLength::parse(req).ok().map(|l| l.0);
        let mut payload = payload.take();
        Box::pin(async move {
            if let Some(length) = length
                && length > limit
            {
                return Err(
                    json_error(JsonPayloadError::OverflowKnownLength { length, limit }).into(),
                );
            }
            let mut buf: Vec<u8> = Vec::with_capacity(length.unwrap_or(8192).min(limit));
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| json_error(JsonPayloadError::Payload(e)))?;
                if buf.len() + chunk.len() > limit {
                    return Err(json_error(JsonPayloadError::Overflow { limit }).into());
                }
                buf.extend_from_slice(&chunk);
            }
            // A NUL in a parsed string can only come from the escape `\u0000` (JSON text
            // holds no raw control characters in strings): only a body spelling it (or not
            // UTF-8, which the parser refuses) is read as a `Value` to look for and name them.
            let suspicious = std::str::from_utf8(&buf).map_or(true, |s| s.contains("\\u0000"));
            if suspicious {
                let value: Value = serde_json::from_slice(&buf)
                    .map_err(|e| json_error(JsonPayloadError::Deserialize(e)))?;
                refuse_nul(&value)?;
            }
            let request = serde_json::from_slice::<T>(&buf)
                .map_err(|e| json_error(JsonPayloadError::Deserialize(e)))?;
            Ok(JsonRequest(request))
        })
    }
}
