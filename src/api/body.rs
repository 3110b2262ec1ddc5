//! Leniency for JSON bodies lives here once: wrapped or bare objects, and the top-level shape
//! check (a non-object is 422 `invalid_type` on field `""`).

use serde_json::{Map, Value};

use crate::error::{ApiError, FieldError};

/// The body's object, unwrapped from `{"<kind>": {…}}` when it is wrapped.
pub fn object(body: Value, kind: &str) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(mut map) = body else {
        return Err(ApiError::invalid("", "invalid_type", "the body must be a JSON object"));
    };
    if let Some(Value::Object(_)) = map.get(kind)
        && let Some(Value::Object(inner)) = map.remove(kind)
    {
        return Ok(inner);
    }
    Ok(map)
}

/// Reads an optional string member; `null` and `""` mean absent.
pub fn opt_str(map: &Map<String, Value>, key: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    match map.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(FieldError::new(key, "invalid_type", "must be a string"));
            None
        }
    }
}

/// Reads an optional integer member; `null` means absent.
pub fn opt_int(map: &Map<String, Value>, key: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    match map.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
        Some(_) => {
            errors.push(FieldError::new(key, "invalid_type", "must be an integer"));
            None
        }
    }
}

/// Turns collected field errors into a 422, or `Ok` when there are none.
pub fn check(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() { Ok(()) } else { Err(ApiError::Invalid(errors)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrapped_and_bare_bodies() {
        assert_eq!(object(json!({"token": {"name": "a"}}), "token").unwrap()["name"], "a");
        assert_eq!(object(json!({"name": "a"}), "token").unwrap()["name"], "a");
        assert!(matches!(object(json!([1]), "token"), Err(ApiError::Invalid(_))));
        let mut errors = Vec::new();
        let map = object(json!({"a": 1, "b": "", "c": "x"}), "t").unwrap();
        assert_eq!(opt_str(&map, "b", &mut errors), None);
        assert_eq!(opt_str(&map, "c", &mut errors).as_deref(), Some("x"));
        assert_eq!(opt_str(&map, "a", &mut errors), None);
        assert_eq!(errors.len(), 1);
    }
}
