//! Admin user bodies (spec §6.9): create and update. Neither derives `Debug`: they may hold a
//! password.

use serde::Deserialize;
use serde_json::{Map, Value};
use validator::{Validate, ValidationError};

use super::{Field, Problems, Request, domain_error, typed};
use crate::auth::password::Password;
use crate::domain::limit::{Limit, MAX_LIMIT};
use crate::domain::name::Username;
use crate::error::{ApiError, FieldError};
use crate::models::user::{LimitChanges, LimitKind, ROLE_ADMIN, ROLE_USER};

/// POST /api/admin/users: a user to create.
#[derive(Default, Deserialize, Validate)]
#[serde(default)]
pub struct CreateUserRequest {
    #[validate(
        required(code = "required", message = "a user needs a name"),
        custom(function = typed)
    )]
    pub username: Field<String>,
    #[validate(
        custom(function = typed),
        custom(function = known_role, code = "invalid_format", message = r#"must be "user" or "admin""#)
    )]
    pub role: Field<String>,
    /// `auth::password::Password::parse` holds the same bounds.
    #[validate(
        custom(function = typed, message = "must be a string or null"),
        length(min = 12, max = 1024, code = "out_of_range", message = "password must be 12 to 1024 characters")
    )]
    pub password: Field<String>,
    #[validate(custom(function = typed))]
    pub limits: Field<Map<String, Value>>,
}

impl Request for CreateUserRequest {
    const WRAPPER: &'static str = "user";
    const FIELDS: &'static [&'static str] = &["username", "role", "password", "limits"];
}

/// PATCH (or PUT) /api/admin/users/{user}: the members to change. `username` may only repeat
/// the user's own.
#[derive(Default, Deserialize, Validate)]
#[serde(default)]
pub struct UpdateUserRequest {
    pub username: Field<String>,
    #[validate(custom(function = typed))]
    pub disabled: Field<bool>,
    #[validate(
        custom(function = typed),
        custom(function = known_role, code = "invalid_format", message = r#"must be "user" or "admin""#)
    )]
    pub role: Field<String>,
    /// `auth::password::Password::parse` holds the same bounds.
    #[validate(
        custom(function = typed, message = "must be a string or null"),
        length(min = 12, max = 1024, code = "out_of_range", message = "password must be 12 to 1024 characters")
    )]
    pub password: Field<String>,
    #[validate(custom(function = typed))]
    pub limits: Field<Map<String, Value>>,
}

impl Request for UpdateUserRequest {
    const WRAPPER: &'static str = "user";
    const FIELDS: &'static [&'static str] = &["username", "disabled", "role", "password", "limits"];
}

fn known_role(role: &Field<String>) -> Result<(), ValidationError> {
    match role.value() {
        Some(r) if r != ROLE_ADMIN && r != ROLE_USER => Err(ValidationError::new("invalid_format")),
        _ => Ok(()),
    }
}

/// A user to create, parsed.
pub struct NewUserInput {
    pub name: Username,
    pub admin: bool,
    pub password: Option<Password>,
    pub limits: LimitChanges,
}

/// An update, parsed; `None` leaves a member alone.
#[derive(Default)]
pub struct UserPatch {
    pub admin: Option<bool>,
    pub disabled: Option<bool>,
    /// `Some(None)` removes the password.
    pub password: Option<Option<Password>>,
    pub limits: LimitChanges,
}

impl CreateUserRequest {
    /// Reads a create body.
    pub fn parse(body: Value) -> Result<NewUserInput, ApiError> {
        let (request, mut problems) = Self::read(body)?;
        let name = match request.username.value() {
            Some(s) if !problems.has("username") => Username::parse(s)
                .map_err(|e| problems.push(domain_error("username", e)))
                .ok(),
            _ => None,
        };
        let admin = role(&request.role).unwrap_or(false);
        let password = password(request.password, &mut problems).flatten();
        let limits = limits(&request.limits, &mut problems);
        problems.check()?;
        let name =
            name.ok_or_else(|| ApiError::invalid("username", "required", "a user needs a name"))?;
        Ok(NewUserInput {
            name,
            admin,
            password,
            limits,
        })
    }
}

impl UpdateUserRequest {
    /// Reads an update body for the user named `current` (a `username` equal to it is allowed).
    pub fn parse(body: Value, current: &str) -> Result<UserPatch, ApiError> {
        let (request, mut problems) = Self::read(body)?;
        match &request.username {
            Field::Absent | Field::Null => {}
            Field::Value(s) if s.trim().to_lowercase() == current.to_lowercase() => {}
            _ => problems.push(FieldError::new(
                "username",
                "immutable",
                "users cannot be renamed",
            )),
        }
        let patch = UserPatch {
            admin: role(&request.role),
            disabled: request.disabled.value().copied(),
            password: password(request.password, &mut problems),
            limits: limits(&request.limits, &mut problems),
        };
        problems.check()?;
        Ok(patch)
    }
}

/// `role`: `Some(true)` for admin, `None` when not given.
fn role(field: &Field<String>) -> Option<bool> {
    match field.value()?.as_str() {
        ROLE_ADMIN => Some(true),
        ROLE_USER => Some(false),
        _ => None,
    }
}

/// `password`: `null` is `Some(None)` (remove it), absent is `None`.
fn password(field: Field<String>, problems: &mut Problems) -> Option<Option<Password>> {
    match field {
        Field::Absent | Field::WrongType => None,
        Field::Null => Some(None),
        Field::Value(_) if problems.has("password") => None,
        Field::Value(s) => match Password::parse(s) {
            Ok(pw) => Some(Some(pw)),
            Err(message) => {
                problems.push(FieldError::new("password", "out_of_range", message));
                None
            }
        },
    }
}

/// `limits`: an object whose members are limit names, each an integer 0–1,000,000,000 (an
/// override), `null` (unlimited) or `"default"` (drop the override); problems named
/// `limits.<member>` in the body's order.
fn limits(field: &Field<Map<String, Value>>, problems: &mut Problems) -> LimitChanges {
    let mut changes = LimitChanges::default();
    let members = match field {
        Field::Absent | Field::WrongType => return changes,
        Field::Null => {
            problems.push(FieldError::new(
                "limits",
                "invalid_type",
                "must be an object",
            ));
            return changes;
        }
        Field::Value(members) => members,
    };
    for (key, value) in members {
        let field = format!("limits.{key}");
        let Some(kind) = LimitKind::ALL.into_iter().find(|k| k.name() == key) else {
            problems.push(FieldError::new(
                field,
                "not_supported",
                "limits are requests_per_day, private_feeds, public_feeds and indicators",
            ));
            continue;
        };
        match limit_value(value) {
            Ok(change) => changes.set(kind, change),
            Err((code, message)) => problems.push(FieldError::new(field, code, message)),
        }
    }
    changes
}

/// One member of `limits`: `Some(limit)` sets an override, `None` drops it.
fn limit_value(value: &Value) -> Result<Option<Limit>, (&'static str, String)> {
    let range = || format!("must be 0-{MAX_LIMIT}, null (unlimited) or \"default\"");
    match value {
        Value::Null => Ok(Some(Limit::UNLIMITED)),
        Value::String(s) if s == "default" => Ok(None),
        Value::Number(n) => match n.as_i64() {
            Some(v) if (0..=MAX_LIMIT).contains(&v) => Ok(Some(Limit(Some(v)))),
            Some(_) => Err(("out_of_range", range())),
            None if n.is_u64() => Err(("out_of_range", range())),
            None => Err(("invalid_type", "must be an integer".into())),
        },
        _ => Err(("invalid_type", range())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::api::dto::test_support::{one, problems};

    fn create(body: Value) -> Vec<(String, &'static str)> {
        problems(CreateUserRequest::parse(body))
    }

    fn update(body: Value) -> Vec<(String, &'static str)> {
        problems(UpdateUserRequest::parse(body, "alice"))
    }

    #[test]
    fn limit_values_follow_the_spec() {
        assert_eq!(limit_value(&json!(20000)), Ok(Some(Limit(Some(20000)))));
        assert_eq!(limit_value(&json!(0)), Ok(Some(Limit(Some(0)))));
        assert_eq!(limit_value(&json!(null)), Ok(Some(Limit::UNLIMITED)));
        assert_eq!(limit_value(&json!("default")), Ok(None));
        for (bad, code) in [
            (json!(-1), "out_of_range"),
            (json!(1_000_000_001), "out_of_range"),
            (json!(u64::MAX), "out_of_range"),
            (json!(1.5), "invalid_type"),
            (json!("unlimited"), "invalid_type"),
            (json!("5000"), "invalid_type"),
            (json!(true), "invalid_type"),
            (json!([1]), "invalid_type"),
        ] {
            assert_eq!(limit_value(&bad).map_err(|e| e.0), Err(code), "{bad}");
        }
    }

    #[test]
    fn limits_bodies_name_every_bad_member() {
        let body = json!({"user": {"limits": {"indicators": null, "public_feeds": "default", "requests_per_day": -5, "tokens": 3}}});
        let fields: Vec<String> = update(body).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["limits.requests_per_day", "limits.tokens"]);
        let Ok(patch) = UpdateUserRequest::parse(
            json!({"limits": {"indicators": null, "public_feeds": "default"}}),
            "alice",
        ) else {
            panic!("good limits are read");
        };
        assert_eq!(patch.limits.0[2], Some(None));
        assert_eq!(patch.limits.0[3], Some(Some(Limit::UNLIMITED)));
        assert_eq!(patch.limits.0[0], None);
        assert_eq!(
            update(json!({"limits": 5000})),
            one("limits", "invalid_type")
        );
        assert_eq!(
            update(json!({"limits": null})),
            one("limits", "invalid_type")
        );
        // Problems of the members follow the body's order.
        let fields: Vec<String> =
            update(json!({"limits": {"tokens": 1, "indicators": -1, "requests_per_day": 1.5}}))
                .into_iter()
                .map(|(f, _)| f)
                .collect();
        assert_eq!(
            fields,
            [
                "limits.tokens",
                "limits.indicators",
                "limits.requests_per_day"
            ]
        );
    }

    #[test]
    fn patches_refuse_renames_but_accept_the_same_name() {
        assert!(UpdateUserRequest::parse(json!({"username": "Alice"}), "alice").is_ok());
        assert!(UpdateUserRequest::parse(json!({"username": null}), "alice").is_ok());
        assert_eq!(
            update(json!({"username": "bob"})),
            one("username", "immutable")
        );
        assert_eq!(update(json!({"username": 5})), one("username", "immutable"));
        let Ok(patch) =
            UpdateUserRequest::parse(json!({"password": null, "role": "admin"}), "alice")
        else {
            panic!("a good patch is read");
        };
        assert!(matches!(patch.password, Some(None)));
        assert_eq!(patch.admin, Some(true));
    }

    #[test]
    fn a_created_user_needs_a_valid_name() {
        let Ok(input) = CreateUserRequest::parse(json!({"user": {"username": "Carol"}})) else {
            panic!("a good user is read");
        };
        assert_eq!(input.name.as_str(), "carol");
        assert!(!input.admin && input.password.is_none() && input.limits.is_empty());
        assert_eq!(create(json!({})), one("username", "required"));
        assert_eq!(
            create(json!({"username": null})),
            one("username", "required")
        );
        assert_eq!(
            create(json!({"username": 1})),
            one("username", "invalid_type")
        );
        assert_eq!(
            create(json!({"username": "-bad name"})),
            one("username", "invalid_format")
        );
    }

    #[test]
    fn roles_disabled_and_passwords_are_checked() {
        let Ok(input) = CreateUserRequest::parse(
            json!({"username": "c", "role": "admin", "password": "p".repeat(12)}),
        ) else {
            panic!("a good user is read");
        };
        assert!(input.admin && input.password.is_some());
        assert_eq!(
            create(json!({"username": "c", "role": "root"})),
            one("role", "invalid_format")
        );
        assert_eq!(
            create(json!({"username": "c", "role": 1})),
            one("role", "invalid_type")
        );
        assert_eq!(
            create(json!({"username": "c", "password": "p".repeat(11)})),
            one("password", "out_of_range")
        );
        assert_eq!(
            create(json!({"username": "c", "password": "p".repeat(1025)})),
            one("password", "out_of_range")
        );
        assert!(create(json!({"username": "c", "password": "p".repeat(1024)})).is_empty());
        assert_eq!(
            create(json!({"username": "c", "password": 5})),
            one("password", "invalid_type")
        );
        assert_eq!(
            update(json!({"disabled": "yes"})),
            one("disabled", "invalid_type")
        );
        let Ok(patch) =
            UpdateUserRequest::parse(json!({"disabled": true, "role": "user"}), "alice")
        else {
            panic!("a good patch is read");
        };
        assert_eq!((patch.disabled, patch.admin), (Some(true), Some(false)));
    }

    #[test]
    fn every_problem_is_listed_in_member_order() {
        assert_eq!(
            create(
                json!({"limits": {"indicators": -1}, "password": "short", "role": "root", "username": "-bad name"})
            ),
            vec![
                ("username".to_string(), "invalid_format"),
                ("role".to_string(), "invalid_format"),
                ("password".to_string(), "out_of_range"),
                ("limits.indicators".to_string(), "out_of_range"),
            ]
        );
        assert_eq!(
            update(json!({"role": "root", "disabled": "yes", "username": "bob"})),
            vec![
                ("username".to_string(), "immutable"),
                ("disabled".to_string(), "invalid_type"),
                ("role".to_string(), "invalid_format"),
            ]
        );
    }
}
