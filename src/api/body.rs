//! The JSON body extractor: which media types are JSON, and no NUL in any string. Reading a
//! body into a typed request (wrapped or bare objects, `null` as absent, wrong types) is
//! `api::dto`'s; indicator bodies are read by `api::indicator_body`.

use serde_json::Value;

use crate::error::{ApiError, FieldError};

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

/// A JSON request body (spec §1.3.6): parsed when `Content-Type` is absent, `application/json`,
/// any `application/*+json`, `text/plain` or `application/x-www-form-urlencoded` (what `curl -d`
/// sends); any other type is 415. Size and syntax errors come from the `JsonConfig` handler.
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl JsonBody {
    /// The parsed value.
    pub fn into_inner(self) -> Value {
        self.0
    }
}

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

impl actix_web::FromRequest for JsonBody {
    type Error = actix_web::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        if !acceptable_media(req) {
            return Box::pin(std::future::ready(Err(
                ApiError::UnsupportedMediaType.into()
            )));
        }
        let json = actix_web::web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = json.await?.into_inner();
            if holds_nul(&value) {
                let mut errors = Vec::new();
                nul_fields(&value, &mut String::new(), &mut errors);
                check(errors)?;
            }
            Ok(JsonBody(value))
        })
    }
}
