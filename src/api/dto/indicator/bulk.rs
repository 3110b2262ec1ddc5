//! The bulk body (spec §6.6.6): `{"indicators": [ … ]}`, each item an indicator body; the
//! count is a `validator` bound, every item's problems are listed with its index.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use validator::{Validate, ValidateLength, ValidationError};

use super::{AnyValue, IndicatorInput, IndicatorRequest, Key, ObjectVisitor, Place, Rules};
use crate::api::dto::rule_problem;
use crate::domain::thing::Thing;
use crate::error::{ApiError, FieldError};

/// At most this many items per bulk request.
pub const MAX_ITEMS: usize = 5000;
/// At most this many item problems are listed (`details.error_count` has the total).
const MAX_LISTED_ERRORS: usize = 100;

/// The `indicators` member of a bulk body.
#[derive(Debug, Default)]
pub enum Items {
    #[default]
    Absent,
    Null,
    List(Vec<IndicatorRequest>),
    /// Not an array (the `typed` rule).
    WrongType,
}

/// `required`: present and not `null`.
impl validator::ValidateRequired for Items {
    fn is_some(&self) -> bool {
        !matches!(self, Items::Absent | Items::Null)
    }
}

/// `length`: the number of items of a list.
impl ValidateLength<u64> for Items {
    fn length(&self) -> Option<u64> {
        match self {
            Items::List(items) => Some(items.len() as u64),
            _ => None,
        }
    }
}

/// `validator` copies a checked value into its error's parameters; nothing is copied.
impl Serialize for Items {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

fn items_typed(items: &Items) -> Result<(), ValidationError> {
    match items {
        Items::WrongType => {
            Err(ValidationError::new("invalid_type")
                .with_message(Cow::Borrowed("must be an array")))
        }
        _ => Ok(()),
    }
}

fn at_most_max_items(items: &Items) -> Result<(), ValidationError> {
    match items {
        Items::List(list) if list.len() > MAX_ITEMS => Err(ValidationError::new("too_many_items")
            .with_message(Cow::Owned(format!(
                "at most {MAX_ITEMS} indicators per request"
            )))),
        _ => Ok(()),
    }
}

struct ItemsVisitor;

impl<'de> Visitor<'de> for ItemsVisitor {
    type Value = Items;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_ITEMS));
        while let Some(item) = seq.next_element::<IndicatorRequest>()? {
            items.push(item);
        }
        Ok(Items::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Items, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Items::WrongType)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Items, E> {
        Ok(Items::WrongType)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Items, E> {
        Ok(Items::WrongType)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Items, E> {
        Ok(Items::WrongType)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Items, E> {
        Ok(Items::WrongType)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Items, E> {
        Ok(Items::WrongType)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Items, E> {
        Ok(Items::Null)
    }
}

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemsVisitor)
    }
}

/// POST …/indicators_bulk: `{"indicators": [ … ]}`, each item an indicator body.
#[derive(Debug, Default, Validate)]
pub struct BulkRequest {
    /// The body was `null`.
    #[validate(skip)]
    null: bool,
    /// The body was a JSON object.
    #[validate(skip)]
    object: bool,
    #[validate(
        required(code = "required", message = "a list of indicators is required"),
        custom(function = items_typed),
        length(min = 1, code = "empty", message = "at least one indicator is required"),
        custom(function = at_most_max_items)
    )]
    pub indicators: Items,
}

struct BulkVisitor;

impl<'de> ObjectVisitor<'de> for BulkVisitor {
    type Out = BulkRequest;

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<BulkRequest, A::Error> {
        let mut request = BulkRequest {
            object: true,
            ..BulkRequest::default()
        };
        while let Some(Key(key)) = map.next_key()? {
            if key == "indicators" {
                request.indicators = map.next_value()?;
            } else {
                map.next_value::<Value>()?;
            }
        }
        Ok(request)
    }

    fn other(self, value: Value) -> BulkRequest {
        BulkRequest {
            null: value.is_null(),
            ..BulkRequest::default()
        }
    }
}

impl<'de> Deserialize<'de> for BulkRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyValue(BulkVisitor))
    }
}

impl BulkRequest {
    /// Every item's value and what it says, or a 422 listing the problems of every item (the
    /// first 100; `error_count` has them all).
    pub fn parse(self, rules: &Rules) -> Result<Vec<(Thing, IndicatorInput)>, ApiError> {
        if self.null {
            return Err(ApiError::invalid(
                "indicators",
                "empty",
                "the body is empty: send {\"indicators\": [...]}",
            ));
        }
        if !self.object {
            return Err(ApiError::invalid(
                "",
                "invalid_type",
                "the body must be a JSON object",
            ));
        }
        if let Err(found) = self.validate()
            && let Some(err) = found
                .field_errors()
                .get("indicators")
                .and_then(|v| v.first())
        {
            return Err(ApiError::Invalid(vec![rule_problem(
                "indicators".to_owned(),
                err,
            )]));
        }
        let Items::List(items) = self.indicators else {
            return Err(ApiError::invalid(
                "indicators",
                "required",
                "a list of indicators is required",
            ));
        };
        let mut all_errors: Vec<FieldError> = Vec::new();
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item.submission(Place::item(i), rules) {
                Ok(parsed) => out.push(parsed),
                Err(errors) => all_errors.extend(errors.into_iter().map(|mut e| {
                    e.index = Some(i);
                    e
                })),
            }
        }
        if !all_errors.is_empty() {
            let total = all_errors.len();
            all_errors.truncate(MAX_LISTED_ERRORS);
            return Err(ApiError::InvalidItems {
                errors: all_errors,
                total,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> Rules {
        super::super::input::test_rules(false)
    }

    fn bulk(body: Value) -> Result<Vec<(Thing, IndicatorInput)>, ApiError> {
        serde_json::from_str::<BulkRequest>(&body.to_string())
            .unwrap()
            .parse(&rules())
    }

    fn bulk_problems(body: Value) -> Vec<(Option<usize>, String, &'static str)> {
        match bulk(body) {
            Ok(_) => vec![],
            Err(ApiError::Invalid(errors)) | Err(ApiError::InvalidItems { errors, .. }) => errors
                .into_iter()
                .map(|e| (e.index, e.field, e.code))
                .collect(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bulk_body_is_a_bounded_list_of_indicator_bodies() {
        let one_item = |field: &str, code| vec![(None, field.to_string(), code)];
        assert_eq!(bulk_problems(json!(null)), one_item("indicators", "empty"));
        assert_eq!(bulk_problems(json!([])), one_item("", "invalid_type"));
        assert_eq!(bulk_problems(json!({})), one_item("indicators", "required"));
        assert_eq!(
            bulk_problems(json!({"indicators": null})),
            one_item("indicators", "required")
        );
        assert_eq!(
            bulk_problems(json!({"indicators": {"a": 1}})),
            one_item("indicators", "invalid_type")
        );
        assert_eq!(
            bulk_problems(json!({"indicators": "x"})),
            one_item("indicators", "invalid_type")
        );
        assert_eq!(
            bulk_problems(json!({"indicators": []})),
            one_item("indicators", "empty")
        );
        let many: Vec<Value> = (0..=MAX_ITEMS)
            .map(|_| json!({"thing": "a.example"}))
            .collect();
        assert_eq!(
            bulk_problems(json!({"indicators": many})),
            one_item("indicators", "too_many_items")
        );
        let items = bulk(
            json!({"indicators": [{"indicator": "a.example", "tags": "x"},
                                               {"indicator": {"thing": "b.example"}}]}),
        )
        .unwrap();
        assert_eq!(items[1].0.as_str(), "b.example");
    }

    #[test]
    fn bulk_problems_name_their_item() {
        assert_eq!(
            bulk_problems(json!({"indicators": [
                {"thing": "a.example"},
                5,
                {"indicator": {"tags": "x"}},
                {"thing": "999.1.1.1", "description": 5},
                {"thing": "b.example", "attachment": {"data": "aGk="}},
            ]})),
            vec![
                (Some(1), "indicators[1]".to_string(), "invalid_type"),
                (
                    Some(2),
                    "indicators[2].indicator.thing".to_string(),
                    "required"
                ),
                (
                    Some(3),
                    "indicators[3].thing".to_string(),
                    "invalid_indicator"
                ),
                (
                    Some(3),
                    "indicators[3].description".to_string(),
                    "invalid_type"
                ),
                (
                    Some(4),
                    "indicators[4].attachment".to_string(),
                    "not_supported"
                ),
            ]
        );
        let many: Vec<Value> = (0..150).map(|_| json!({"thing": 1})).collect();
        match bulk(json!({"indicators": many})) {
            Err(ApiError::InvalidItems { errors, total }) => {
                assert_eq!((errors.len(), total), (MAX_LISTED_ERRORS, 150));
            }
            other => panic!("{other:?}"),
        }
    }
}
