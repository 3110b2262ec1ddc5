//! The token body (spec §6.3): `name`, `scopes` and `expires_at` / `expires_in_days`.

use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::Value;
use validator::{Validate, ValidationError};

use super::{Field, Problems, Request, domain_error, typed, whole_request_error};
use crate::auth::accounts::TokenSpec;
use crate::domain::time::parse_time;
use crate::error::{ApiError, FieldError};

/// POST /api/users/{user}/tokens (and the admin route): a token to mint.
#[derive(Debug, Default, Deserialize, Validate)]
#[serde(default)]
#[validate(schema(function = one_expiry, skip_on_field_errors = false))]
pub struct CreateTokenRequest {
    #[validate(
        custom(function = typed),
        length(max = 100, code = "too_long", message = "at most 100 characters"),
        non_control_character(code = "invalid_format", message = "no control characters")
    )]
    pub name: Field<String>,
    #[validate(
        custom(function = typed, message = "must be an array of strings"),
        custom(function = known_scopes, code = "invalid_format", message = r#"use ["read"] or ["read","write"]"#)
    )]
    pub scopes: Field<Vec<Value>>,
    #[validate(custom(function = typed))]
    pub expires_at: Field<String>,
    #[validate(
        custom(function = typed),
        range(min = 1, max = 3650, code = "out_of_range", message = "must be 1-3650")
    )]
    pub expires_in_days: Field<i64>,
}

impl Request for CreateTokenRequest {
    const WRAPPER: &'static str = "token";
    const FIELDS: &'static [&'static str] = &["name", "scopes", "expires_at", "expires_in_days"];
}

/// `Some(write)` for the accepted scope lists.
fn write_scope(items: &[Value]) -> Option<bool> {
    let names: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
    match names.as_deref()? {
        ["read"] => Some(false),
        ["write"] | ["read", "write"] | ["write", "read"] => Some(true),
        _ => None,
    }
}

fn known_scopes(scopes: &Field<Vec<Value>>) -> Result<(), ValidationError> {
    match scopes.value() {
        Some(items) if write_scope(items).is_none() => Err(ValidationError::new("invalid_format")),
        _ => Ok(()),
    }
}

/// `expires_at` and `expires_in_days` are two names for one thing: give one.
fn one_expiry(request: &CreateTokenRequest) -> Result<(), ValidationError> {
    if request.expires_at.text().is_some() && request.expires_in_days.value().is_some() {
        return Err(whole_request_error(
            "expires_in_days",
            "conflicting_aliases",
            "give expires_at or expires_in_days, not both",
        ));
    }
    Ok(())
}

impl CreateTokenRequest {
    /// Reads a body into what to mint; `now` dates `expires_in_days` and bounds `expires_at`.
    pub fn parse(body: Value, now: NaiveDateTime) -> Result<TokenSpec, ApiError> {
        let (request, problems) = Self::read(body)?;
        request.into_spec(problems, now)
    }

    fn into_spec(self, mut problems: Problems, now: NaiveDateTime) -> Result<TokenSpec, ApiError> {
        let mut spec = TokenSpec::default();
        if let Some(name) = self.name.text() {
            spec.name = name.to_owned();
        }
        if let Some(write) = self.scopes.value().and_then(|s| write_scope(s)) {
            spec.write = write;
        }
        let days = self.expires_in_days.value().copied();
        match (self.expires_at.text(), days) {
            (Some(_), Some(_)) => {}
            (Some(at), None) => match parse_time(at) {
                Ok(t) if t > now => spec.expires_at = Some(t),
                Ok(_) => problems.push(FieldError::new(
                    "expires_at",
                    "out_of_range",
                    "must lie in the future",
                )),
                Err(e) => problems.push(domain_error("expires_at", e)),
            },
            (None, Some(d)) => spec.expires_at = Some(now + chrono::Duration::days(d)),
            (None, None) => {}
        }
        problems.check()?;
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> NaiveDateTime {
        parse_time("2026-01-01T00:00:00Z").unwrap()
    }

    use crate::api::dto::test_support::one;

    fn problems(body: Value) -> Vec<(String, &'static str)> {
        crate::api::dto::test_support::problems(CreateTokenRequest::parse(body, now()))
    }

    #[test]
    fn an_empty_body_is_a_default_read_write_token() {
        let spec = CreateTokenRequest::parse(json!({}), now()).unwrap();
        assert_eq!(
            (spec.name.as_str(), spec.write, spec.expires_at),
            ("token", true, None)
        );
        let spec =
            CreateTokenRequest::parse(json!({"token": {"name": "", "expires_at": null}}), now())
                .unwrap();
        assert_eq!(spec.name, "token");
    }

    #[test]
    fn names_are_bounded_and_plain() {
        let spec = CreateTokenRequest::parse(json!({"name": "n".repeat(100)}), now()).unwrap();
        assert_eq!(spec.name.chars().count(), 100);
        assert_eq!(
            problems(json!({"name": "n".repeat(101)})),
            one("name", "too_long")
        );
        assert_eq!(
            problems(json!({"name": "a\nb"})),
            one("name", "invalid_format")
        );
        assert_eq!(problems(json!({"name": 5})), one("name", "invalid_type"));
    }

    #[test]
    fn scopes_are_read_or_read_write() {
        let read =
            |s: Value| CreateTokenRequest::parse(json!({"scopes": s}), now()).map(|s| s.write);
        assert!(!read(json!(["read"])).unwrap());
        assert!(read(json!(["write"])).unwrap());
        assert!(read(json!(["write", "read"])).unwrap());
        assert!(read(json!(null)).unwrap());
        assert_eq!(
            problems(json!({"scopes": ["admin"]})),
            one("scopes", "invalid_format")
        );
        assert_eq!(
            problems(json!({"scopes": [1]})),
            one("scopes", "invalid_format")
        );
        assert_eq!(
            problems(json!({"scopes": []})),
            one("scopes", "invalid_format")
        );
        assert_eq!(
            problems(json!({"scopes": "read"})),
            one("scopes", "invalid_type")
        );
    }

    #[test]
    fn expiry_is_one_of_two_aliases_in_the_future() {
        let at = |body: Value| CreateTokenRequest::parse(body, now()).unwrap().expires_at;
        assert_eq!(
            at(json!({"expires_in_days": 1})),
            Some(now() + chrono::Duration::days(1))
        );
        assert!(at(json!({"expires_in_days": 3650})).is_some());
        assert_eq!(
            at(json!({"expires_at": "2027-01-01T00:00:00Z"})),
            Some(parse_time("2027-01-01T00:00:00Z").unwrap())
        );
        assert_eq!(
            problems(json!({"expires_in_days": 0})),
            one("expires_in_days", "out_of_range")
        );
        assert_eq!(
            problems(json!({"expires_in_days": 3651})),
            one("expires_in_days", "out_of_range")
        );
        assert_eq!(
            problems(json!({"expires_in_days": 1.5})),
            one("expires_in_days", "invalid_type")
        );
        assert_eq!(
            problems(json!({"expires_at": "2001-01-01T00:00:00Z"})),
            one("expires_at", "out_of_range")
        );
        assert_eq!(
            problems(json!({"expires_at": "soon"})),
            one("expires_at", "invalid_format")
        );
        assert_eq!(
            problems(json!({"expires_at": 5})),
            one("expires_at", "invalid_type")
        );
        // Both given: the conflict alone, whatever each says.
        assert_eq!(
            problems(json!({"expires_at": "soon", "expires_in_days": 0})),
            one("expires_in_days", "conflicting_aliases")
        );
        // A wrong type is no alias given.
        let spec = CreateTokenRequest::parse(
            json!({"expires_at": "2027-01-01T00:00:00Z", "expires_in_days": "x"}),
            now(),
        );
        assert!(spec.is_err());
        assert_eq!(
            problems(json!({"expires_at": "2027-01-01T00:00:00Z", "expires_in_days": "x"})),
            one("expires_in_days", "invalid_type")
        );
    }

    #[test]
    fn every_problem_is_listed_in_member_order() {
        assert_eq!(
            problems(json!({"expires_in_days": 0, "scopes": ["admin"], "name": "n".repeat(101)})),
            vec![
                ("name".to_string(), "too_long"),
                ("scopes".to_string(), "invalid_format"),
                ("expires_in_days".to_string(), "out_of_range"),
            ]
        );
    }
}
