//! Typed request bodies. A body deserializes into a `*Request` struct whose members are
//! [`Field`]s, so serde never fails on a member: a wrong type is kept as [`Field::WrongType`]
//! and reported by the `typed` rule with the others. Plain bounds (lengths, ranges, required
//! members) are declared with `validator`'s derive; [`Problems`] turns its errors into the 422
//! `details.errors`, every problem at once, in the order the request type lists its members.
//! Parsing into domain types (`domain/`) comes after, in each request's conversion, and only
//! for members that passed.
//!
//! The leniency of the old hand-written readers is kept here once: wrapped or bare objects
//! (`{"feed": {…}}` or `{…}`), `null` meaning absent (and `""` where [`Field::text`] is used).

pub mod comment;
pub mod feed;
pub mod indicator;
pub mod schedule;
pub mod token;
pub mod user;

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use validator::{
    ValidateLength, ValidateNonControlCharacter, ValidateRange, ValidateRequired, ValidationError,
    ValidationErrors, ValidationErrorsKind,
};

use crate::error::{ApiError, FieldError};

/// One member of a request body as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Field<T> {
    /// Not in the body.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// A value of the expected type.
    Value(T),
    /// Present, but not a `T` (reported by the `typed` rule).
    WrongType,
}

impl<T> Field<T> {
    /// The value when it has the expected type.
    pub fn value(&self) -> Option<&T> {
        match self {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The same member, borrowing its value.
    pub fn as_ref(&self) -> Field<&T> {
        match self {
            Field::Absent => Field::Absent,
            Field::Null => Field::Null,
            Field::Value(v) => Field::Value(v),
            Field::WrongType => Field::WrongType,
        }
    }

    /// The value when it has the expected type, by value.
    pub fn into_value(self) -> Option<T> {
        match self {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl Field<String> {
    /// The text, with `""` meaning absent like `null`.
    pub fn text(&self) -> Option<&str> {
        self.value().map(String::as_str).filter(|s| !s.is_empty())
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Field::Null,
            other => serde_json::from_value(other).map_or(Field::WrongType, Field::Value),
        })
    }
}

/// `validator` copies a checked value into its error's parameters; we never read them, and a
/// member may hold a secret (a password), so nothing is copied.
impl<T> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

/// `required`: present and not `null` (a wrong type is present; `typed` reports it).
impl<T> ValidateRequired for Field<T> {
    fn is_some(&self) -> bool {
        !matches!(self, Field::Absent | Field::Null)
    }
}

/// `length`: in characters, checked only on a value of the expected type.
impl ValidateLength<u64> for Field<String> {
    fn length(&self) -> Option<u64> {
        self.value().map(|s| s.chars().count() as u64)
    }
}

/// `range`, checked only on a value of the expected type.
impl ValidateRange<i64> for Field<i64> {
    fn greater_than(&self, max: i64) -> Option<bool> {
        self.value().map(|v| *v > max)
    }

    fn less_than(&self, min: i64) -> Option<bool> {
        self.value().map(|v| *v < min)
    }
}

/// `non_control_character`, checked only on a value of the expected type.
impl ValidateNonControlCharacter for Field<String> {
    fn as_non_control_character_iterator(&self) -> Box<dyn Iterator<Item = char> + '_> {
        Box::new(self.value().map(|s| s.chars()).into_iter().flatten())
    }
}

/// `nested`: a member that is an object of its own, validated when it has the expected type.
impl<T: validator::Validate> validator::Validate for Field<T> {
    fn validate(&self) -> Result<(), ValidationErrors> {
        self.value().map_or(Ok(()), validator::Validate::validate)
    }
}

/// What a wrong type is told it should have been (a rule's `message` may say more).
pub trait Expected {
    const EXPECTED: &'static str;
}

impl Expected for String {
    const EXPECTED: &'static str = "must be a string";
}
impl Expected for i64 {
    const EXPECTED: &'static str = "must be an integer";
}
impl Expected for bool {
    const EXPECTED: &'static str = "must be a boolean";
}
impl Expected for Vec<Value> {
    const EXPECTED: &'static str = "must be an array";
}
impl Expected for Map<String, Value> {
    const EXPECTED: &'static str = "must be an object";
}

/// The `typed` rule: `invalid_type` when the member is present with another type.
pub fn typed<T: Expected>(field: &Field<T>) -> Result<(), ValidationError> {
    match field {
        Field::WrongType => {
            Err(ValidationError::new("invalid_type").with_message(Cow::Borrowed(T::EXPECTED)))
        }
        _ => Ok(()),
    }
}

/// A rule over several members (`schema`) names the member it reports on.
pub fn whole_request_error(
    field: &'static str,
    code: &'static str,
    message: &'static str,
) -> ValidationError {
    let mut err = ValidationError::new(code).with_message(Cow::Borrowed(message));
    err.add_param(Cow::Borrowed("field"), &field);
    err
}

/// A request body type: the member that wraps it and the order its problems are listed in.
pub trait Request: DeserializeOwned + validator::Validate {
    /// `{"<WRAPPER>": {…}}` is the same as `{…}`.
    const WRAPPER: &'static str;
    /// The members in the order their problems are reported.
    const FIELDS: &'static [&'static str];

    /// Reads a body: a non-object is 422 `invalid_type` on field `""`; otherwise every member
    /// is read, and the rules' problems are returned for the conversion to add to.
    fn read(body: Value) -> Result<(Self, Problems), ApiError> {
        let map = unwrap(body, Self::WRAPPER)?;
        let request: Self = serde_json::from_value(Value::Object(map))
            .map_err(|e| ApiError::invalid("", "invalid_type", e.to_string()))?;
        let problems = Problems::from_rules(Self::FIELDS, request.validate());
        Ok((request, problems))
    }
}

/// The body's object, unwrapped from `{"<kind>": {…}}` when it is wrapped.
pub fn unwrap(body: Value, kind: &str) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(mut map) = body else {
        return Err(ApiError::invalid(
            "",
            "invalid_type",
            "the body must be a JSON object",
        ));
    };
    if let Some(Value::Object(_)) = map.get(kind)
        && let Some(Value::Object(inner)) = map.remove(kind)
    {
        return Ok(inner);
    }
    Ok(map)
}

/// The problems found in one body: at most one per field, listed in the request's member
/// order (the problems of one member's parts, such as `limits.*`, in the order found).
#[derive(Debug)]
pub struct Problems {
    order: &'static [&'static str],
    errors: Vec<FieldError>,
}

impl Problems {
    /// No problems yet.
    pub fn new(order: &'static [&'static str]) -> Self {
        Self {
            order,
            errors: Vec::new(),
        }
    }

    /// The rules' problems: those over several members first (they win over a member's own
    /// rule), then each member's, the first rule that failed.
    pub fn from_rules(
        order: &'static [&'static str],
        result: Result<(), ValidationErrors>,
    ) -> Self {
        let mut problems = Self::new(order);
        if let Err(errors) = result {
            let mut map = errors.into_errors();
            if let Some(ValidationErrorsKind::Field(all)) = map.remove("__all__") {
                for err in all {
                    let field = match err.params.get("field") {
                        Some(Value::String(f)) => f.clone(),
                        _ => String::new(),
                    };
                    problems.push_rule(field, err);
                }
            }
            problems.add_kinds("", map);
        }
        problems
    }

    fn add_kinds(
        &mut self,
        prefix: &str,
        map: std::collections::HashMap<Cow<'static, str>, ValidationErrorsKind>,
    ) {
        for (key, kind) in map {
            let field = if prefix.is_empty() {
                key.into_owned()
            } else {
                format!("{prefix}.{key}")
            };
            match kind {
                ValidationErrorsKind::Field(errs) => {
                    for err in errs {
                        self.push_rule(field.clone(), err);
                    }
                }
                ValidationErrorsKind::Struct(inner) => self.add_kinds(&field, inner.into_errors()),
                ValidationErrorsKind::List(items) => {
                    for (i, inner) in items {
                        self.add_kinds(&format!("{field}[{i}]"), inner.into_errors());
                    }
                }
            }
        }
    }

    fn push_rule(&mut self, field: String, err: ValidationError) {
        self.push(rule_problem(field, &err));
    }

    /// Adds a problem unless its field already has one.
    pub fn push(&mut self, error: FieldError) {
        if !self.has(&error.field) {
            self.errors.push(error);
        }
    }

    /// Whether `field`, or a part of it (`license` for `license.name`), has a problem: its
    /// value is then not parsed further.
    pub fn has(&self, field: &str) -> bool {
        self.errors.iter().any(|e| {
            e.field == field
                || e.field
                    .strip_prefix(field)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }

    /// The problems in member order; a field the request does not list (a mistake) comes last,
    /// by name, so the answer never depends on `validator`'s hash order.
    pub fn into_errors(mut self) -> Vec<FieldError> {
        let position = |e: &FieldError| {
            let top = e.field.split(['.', '[']).next().unwrap_or_default();
            self.order
                .iter()
                .position(|f| *f == top)
                .unwrap_or(self.order.len())
        };
        let mut keyed: Vec<(usize, FieldError)> = std::mem::take(&mut self.errors)
            .into_iter()
            .map(|e| (position(&e), e))
            .collect();
        let unlisted = self.order.len();
        keyed.sort_by(|(p, a), (q, b)| {
            let by_name = if *p == unlisted {
                a.field.cmp(&b.field)
            } else {
                std::cmp::Ordering::Equal
            };
            p.cmp(q).then(by_name)
        });
        keyed.into_iter().map(|(_, e)| e).collect()
    }

    /// `Ok` when there are none, else the 422.
    pub fn check(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Invalid(self.into_errors()))
        }
    }
}

/// A rule's problem as the 422 lists it, on `field`.
pub fn rule_problem(field: String, err: &ValidationError) -> FieldError {
    // Every rule names its code with a literal; an owned code is a rule without one.
    let code = match err.code {
        Cow::Borrowed(code) => code,
        Cow::Owned(_) => "invalid_format",
    };
    let message = err
        .message
        .as_ref()
        .map_or_else(|| code.to_owned(), |m| m.to_string());
    FieldError::new(field, code, message)
}

/// A domain parse failure as a problem of `field`.
pub fn domain_error(field: &str, e: crate::domain::DomainError) -> FieldError {
    FieldError::new(field, e.code, e.message)
}

/// What the DTO tests compare: each problem's field and code, in order.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::error::ApiError;

    /// The `(field, code)` of each problem of a 422, none for a success; any other error
    /// fails the test.
    pub fn problems<T>(result: Result<T, ApiError>) -> Vec<(String, &'static str)> {
        match result {
            Ok(_) => vec![],
            Err(ApiError::Invalid(errors)) => {
                errors.into_iter().map(|e| (e.field, e.code)).collect()
            }
            Err(other) => panic!("{other:?}"),
        }
    }

    /// `(field, code)` pairs as `problems` gives them.
    pub fn fields(list: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        list.iter().map(|(f, c)| (f.to_string(), *c)).collect()
    }

    /// A single problem.
    pub fn one(field: &str, code: &'static str) -> Vec<(String, &'static str)> {
        vec![(field.to_string(), code)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use validator::Validate;

    use test_support::fields as p;

    #[derive(Debug, Default, Deserialize, Validate)]
    #[serde(default)]
    struct Sample {
        #[validate(
            required(code = "required", message = "needed"),
            custom(function = typed),
            length(max = 3, code = "too_long", message = "at most 3"),
            non_control_character(code = "invalid_format", message = "no controls")
        )]
        text: Field<String>,
        #[validate(custom(function = typed), range(min = 1, max = 9, code = "out_of_range"))]
        number: Field<i64>,
    }

    impl Request for Sample {
        const WRAPPER: &'static str = "sample";
        const FIELDS: &'static [&'static str] = &["text", "number"];
    }

    fn problems(body: Value) -> Vec<(String, &'static str)> {
        match Sample::read(body) {
            Ok((_, p)) => p.into_errors(),
            Err(ApiError::Invalid(errors)) => errors,
            Err(other) => panic!("{other:?}"),
        }
        .into_iter()
        .map(|e| (e.field, e.code))
        .collect()
    }

    #[test]
    fn fields_keep_absent_null_value_and_wrong_type_apart() {
        let (s, _) = Sample::read(json!({"text": "ab", "number": null})).unwrap();
        assert_eq!(s.text, Field::Value("ab".into()));
        assert_eq!(s.number, Field::Null);
        let (s, _) = Sample::read(json!({"number": 1.5})).unwrap();
        assert_eq!(s.text, Field::Absent);
        assert_eq!(s.number, Field::WrongType);
        let (s, _) = Sample::read(json!({"number": u64::MAX})).unwrap();
        assert_eq!(s.number, Field::WrongType);
        assert_eq!(Field::Value(String::new()).text(), None);
        assert_eq!(Field::Value("x".to_string()).text(), Some("x"));
    }

    #[test]
    fn wrapped_and_bare_bodies_read_alike_and_a_non_object_is_refused() {
        assert_eq!(
            problems(json!({"sample": {"text": "abcd"}})),
            p(&[("text", "too_long")])
        );
        assert_eq!(
            problems(json!({"text": "abcd"})),
            p(&[("text", "too_long")])
        );
        assert_eq!(problems(json!([1])), p(&[("", "invalid_type")]));
        assert_eq!(problems(json!("x")), p(&[("", "invalid_type")]));
    }

    #[test]
    fn wrapped_and_bare_bodies() {
        assert_eq!(
            unwrap(json!({"token": {"name": "a"}}), "token").unwrap()["name"],
            "a"
        );
        assert_eq!(unwrap(json!({"name": "a"}), "token").unwrap()["name"], "a");
        // A member named like the wrapper that is no object is a member.
        assert_eq!(
            unwrap(json!({"token": "a"}), "token").unwrap()["token"],
            "a"
        );
        assert!(matches!(
            unwrap(json!([1]), "token"),
            Err(ApiError::Invalid(_))
        ));
        #[derive(Deserialize)]
        struct Three {
            a: Field<String>,
            b: Field<String>,
            c: Field<String>,
        }
        let three: Three = serde_json::from_value(json!({"a": 1, "b": "", "c": "x"})).unwrap();
        assert_eq!(three.b.text(), None);
        assert_eq!(three.c.text(), Some("x"));
        assert_eq!(three.a.text(), None);
        assert_eq!(
            typed(&three.a).map_err(|e| e.code),
            Err("invalid_type".into())
        );
        assert!(typed(&three.b).is_ok() && typed(&three.c).is_ok());
    }

    #[test]
    fn every_rule_reports_on_its_field_in_member_order() {
        assert_eq!(problems(json!({"text": "ok"})), p(&[]));
        assert_eq!(problems(json!({})), p(&[("text", "required")]));
        assert_eq!(problems(json!({"text": null})), p(&[("text", "required")]));
        assert_eq!(
            problems(json!({"number": "1", "text": 5})),
            p(&[("text", "invalid_type"), ("number", "invalid_type")])
        );
        assert_eq!(
            problems(json!({"number": 0, "text": "a\u{7}"})),
            p(&[("text", "invalid_format"), ("number", "out_of_range")])
        );
        assert_eq!(
            problems(json!({"text": "a", "number": 10})),
            p(&[("number", "out_of_range")])
        );
        assert_eq!(problems(json!({"text": "a", "number": 9})), p(&[]));
    }

    #[test]
    fn one_problem_per_field_the_first_rule_wins() {
        // Too long and with a control character: the length rule comes first.
        assert_eq!(
            problems(json!({"text": "ab\u{7}cd"})),
            p(&[("text", "too_long")])
        );
    }

    #[test]
    fn a_wrong_type_is_told_what_was_expected() {
        let Ok((_, found)) = Sample::read(json!({"text": "a", "number": true})) else {
            panic!("an object is read");
        };
        let errors = found.into_errors();
        assert_eq!(errors[0].message, "must be an integer");
    }

    #[test]
    fn parts_of_a_field_count_as_the_field() {
        let mut found = Problems::new(&["a", "b"]);
        found.push(FieldError::new("b", "x", "m"));
        found.push(FieldError::new("a.c", "y", "m"));
        found.push(FieldError::new("a.c", "z", "m"));
        assert!(found.has("a") && found.has("a.c") && !found.has("a.d") && !found.has("ab"));
        found.push(FieldError::new("z", "x", "m"));
        found.push(FieldError::new("y", "x", "m"));
        let fields: Vec<String> = found.into_errors().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["a.c", "b", "y", "z"]);
    }
}
