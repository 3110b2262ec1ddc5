//! Feed bodies (spec §6.5): create and update. The name, licence, description and kind rules
//! are the domain's (`domain::feed`). `global` needs a whitelist feed (422 here); that only
//! admins set it is the handler's check (403).

use chrono::NaiveDateTime;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use validator::{Validate, ValidationErrors};

use super::{Expected, Field, Problems, Request, domain_error, typed};
use crate::domain::expiry::Overrides;
use crate::domain::feed::{FeedKind, FeedName, License, check_text};
use crate::error::{ApiError, FieldError};
use crate::models::feed::{FeedChanges, FeedRow};

/// The longest description, in characters (§10).
const MAX_DESCRIPTION_CHARS: usize = 255;

/// The members of a feed body, in the order their problems are reported.
const FIELDS: &[&str] = &[
    "name",
    "description",
    "private",
    "license",
    "kind",
    "global",
    "max_prefix",
    "max_prefix6",
    "lifetimes",
];

/// A feed body: create and update read the same members; `name` is checked by each, as
/// create needs one and update only allows the feed's own.
#[derive(Debug, Default, Deserialize, Validate)]
#[serde(default)]
pub struct FeedRequest {
    pub name: Field<String>,
    #[validate(custom(function = typed, message = "must be a string or null"))]
    pub description: Field<String>,
    #[validate(custom(function = typed))]
    pub private: Field<bool>,
    #[validate(custom(function = typed), nested)]
    pub license: Field<LicenseRequest>,
    #[validate(custom(function = typed, message = "must be a string or null"))]
    pub kind: Field<String>,
    #[validate(custom(function = typed))]
    pub global: Field<bool>,
    #[validate(
        custom(function = typed, message = "must be an integer or null"),
        range(min = 0, max = 32, code = "out_of_range", message = "must be 0-32")
    )]
    pub max_prefix: Field<i64>,
    #[validate(
        custom(function = typed, message = "must be an integer or null"),
        range(min = 0, max = 128, code = "out_of_range", message = "must be 0-128")
    )]
    pub max_prefix6: Field<i64>,
    /// `TYPE=DAYS` pairs over the server's default lifetimes.
    #[validate(custom(function = typed, message = "must be a string or null"))]
    pub lifetimes: Field<String>,
}

impl Request for FeedRequest {
    const WRAPPER: &'static str = "feed";
    const FIELDS: &'static [&'static str] = FIELDS;
}

/// POST /api/users/{user}/feeds: a feed to create (a [`FeedRequest`] with a name).
pub struct CreateFeedRequest;

/// PATCH (or PUT) /api/users/{user}/feeds/{feed}: the members of a [`FeedRequest`] to
/// change. `name` may only repeat the feed's own.
pub struct UpdateFeedRequest;

/// `license`: a name, or an object `{name, url}` (`null` is the default licence).
#[derive(Debug, PartialEq)]
pub enum LicenseRequest {
    Name(String),
    Object(LicenseObject),
}

/// The object form of `license`.
#[derive(Debug, Default, PartialEq, Deserialize, Validate)]
#[serde(default)]
pub struct LicenseObject {
    #[validate(
        required(code = "required", message = "a licence needs a name"),
        custom(function = typed)
    )]
    pub name: Field<String>,
    #[validate(custom(function = typed, message = "must be a string or null"))]
    pub url: Field<String>,
}

impl<'de> Deserialize<'de> for LicenseRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::String(name) => Ok(Self::Name(name)),
            Value::Object(map) => serde_json::from_value(Value::Object(map))
                .map(Self::Object)
                .map_err(D::Error::custom),
            _ => Err(D::Error::custom("not a licence")),
        }
    }
}

impl Expected for LicenseRequest {
    const EXPECTED: &'static str = "must be an object, a string or null";
}

impl Validate for LicenseRequest {
    fn validate(&self) -> Result<(), ValidationErrors> {
        match self {
            Self::Name(_) => Ok(()),
            // One problem per licence, its name's first: a url is only checked with a name.
            Self::Object(object) => object.validate().map_err(|mut errors| {
                if errors.errors().contains_key("name") {
                    errors.errors_mut().remove("url");
                }
                errors
            }),
        }
    }
}

/// A feed to create, parsed.
#[derive(Debug)]
pub struct FeedInput {
    pub name: FeedName,
    pub description: Option<String>,
    pub private: bool,
    pub license: License,
    pub kind: FeedKind,
    /// Asked for a global whitelist (only admins may: the handler checks).
    pub global: bool,
    pub max_prefix: Option<i32>,
    pub max_prefix6: Option<i32>,
    /// Normalised `TYPE=DAYS` pairs.
    pub lifetimes: Option<String>,
}

impl CreateFeedRequest {
    /// Reads a create body.
    pub fn parse(body: Value) -> Result<FeedInput, ApiError> {
        let (request, mut problems) = FeedRequest::read(body)?;
        match &request.name {
            Field::Absent | Field::Null => {
                problems.push(FieldError::new("name", "required", "a feed needs a name"))
            }
            Field::WrongType => {
                problems.push(FieldError::new("name", "invalid_type", String::EXPECTED))
            }
            Field::Value(_) => {}
        }
        let name = match request.name.value() {
            Some(s) if !problems.has("name") => FeedName::parse(s)
                .map_err(|e| problems.push(domain_error("name", e)))
                .ok(),
            _ => None,
        };
        let description = description(&request.description, &mut problems).flatten();
        let private = request.private.value().copied().unwrap_or(false);
        let license = license(request.license, &mut problems).unwrap_or_default();
        let kind = kind(&request.kind, &mut problems)
            .flatten()
            .unwrap_or_default();
        let global = request.global.value().copied().unwrap_or(false);
        check_global(kind, global, &mut problems);
        let lifetimes = lifetimes(&request.lifetimes, &mut problems).flatten();
        problems.check()?;
        let name =
            name.ok_or_else(|| ApiError::invalid("name", "required", "a feed needs a name"))?;
        Ok(FeedInput {
            name,
            description,
            private,
            license,
            kind,
            global,
            max_prefix: prefix(&request.max_prefix).flatten(),
            max_prefix6: prefix(&request.max_prefix6).flatten(),
            lifetimes,
        })
    }
}

impl UpdateFeedRequest {
    /// Reads an update body for the feed `current`; `now` is the new `updated_at`. `global`
    /// is checked against the kind the feed will have.
    pub fn parse(
        body: Value,
        current: &FeedRow,
        now: NaiveDateTime,
    ) -> Result<FeedChanges, ApiError> {
        let (request, mut problems) = FeedRequest::read(body)?;
        match &request.name {
            Field::Absent | Field::Null => {}
            Field::Value(s) if s.trim().to_lowercase() == current.name => {}
            _ => problems.push(FieldError::new(
                "name",
                "immutable",
                "feeds cannot be renamed",
            )),
        }
        let description = description(&request.description, &mut problems);
        let private = request.private.value().copied();
        let license = license(request.license, &mut problems);
        // `null` is the default kind, as it is the default licence.
        let kind = kind(&request.kind, &mut problems).map(Option::unwrap_or_default);
        let global = match request.global {
            Field::Null => Some(false),
            ref field => field.value().copied(),
        };
        if !problems.has("kind") {
            let after = kind.unwrap_or(if current.is_whitelist() {
                FeedKind::Whitelist
            } else {
                FeedKind::Indicators
            });
            check_global(after, global.unwrap_or(current.global), &mut problems);
        }
        let lifetimes = lifetimes(&request.lifetimes, &mut problems);
        problems.check()?;
        Ok(FeedChanges {
            description,
            private,
            license_name: license.as_ref().map(|l| l.name.clone()),
            license_url: license.map(|l| l.url),
            updated_at: Some(now),
            kind: kind.map(|k| k.as_str().to_owned()),
            global,
            max_prefix: prefix(&request.max_prefix),
            max_prefix6: prefix(&request.max_prefix6),
            lifetimes,
        })
    }
}

/// `description`: `None` when not given, `Some(None)` for `null` or `""` (none).
fn description(field: &Field<String>, problems: &mut Problems) -> Option<Option<String>> {
    match field {
        Field::Absent | Field::WrongType => None,
        Field::Null => Some(None),
        Field::Value(s) if s.is_empty() => Some(None),
        Field::Value(s) => check_text(s, MAX_DESCRIPTION_CHARS, false)
            .map(Some)
            .map_err(|e| problems.push(domain_error("description", e)))
            .ok(),
    }
}

/// `kind`: `None` when not given (or refused), `Some(None)` for `null` (the default).
fn kind(field: &Field<String>, problems: &mut Problems) -> Option<Option<FeedKind>> {
    match field {
        Field::Absent | Field::WrongType => None,
        Field::Null => Some(None),
        Field::Value(s) => FeedKind::parse(s)
            .map(Some)
            .map_err(|e| problems.push(domain_error("kind", e)))
            .ok(),
    }
}

/// A global feed must be a whitelist.
fn check_global(kind: FeedKind, global: bool, problems: &mut Problems) {
    if global && kind != FeedKind::Whitelist {
        problems.push(FieldError::new(
            "global",
            "whitelist_only",
            "only a whitelist feed (kind whitelist) can be global",
        ));
    }
}

/// `max_prefix`/`max_prefix6`: `None` when not given (or refused by its range rule),
/// `Some(None)` for `null` (the server's bound).
fn prefix(field: &Field<i64>) -> Option<Option<i32>> {
    match field {
        Field::Absent | Field::WrongType => None,
        Field::Null => Some(None),
        // In range once the rules passed (0-128); a value they refused is never stored.
        Field::Value(n) => i32::try_from(*n).ok().map(Some),
    }
}

/// `lifetimes`: `None` when not given (or refused), `Some(None)` for `null` or `""` (the
/// server's), else the pairs normalised.
fn lifetimes(field: &Field<String>, problems: &mut Problems) -> Option<Option<String>> {
    match field {
        Field::Absent | Field::WrongType => None,
        Field::Null => Some(None),
        Field::Value(s) => match s.parse::<Overrides>() {
            Ok(o) if o.is_empty() => Some(None),
            Ok(o) => Some(Some(o.to_string())),
            Err(e) => {
                problems.push(domain_error("lifetimes", e));
                None
            }
        },
    }
}

/// `license`: `None` when not given (or refused), the default for `null`.
fn license(field: Field<LicenseRequest>, problems: &mut Problems) -> Option<License> {
    if problems.has("license") {
        return None;
    }
    let parsed = match field {
        Field::Absent | Field::WrongType => return None,
        Field::Null => Ok(License::default()),
        Field::Value(LicenseRequest::Name(name)) => {
            License::parse(&name, None).map_err(|e| domain_error("license", e))
        }
        Field::Value(LicenseRequest::Object(object)) => {
            let name = object.name.value().map_or("", String::as_str);
            match object.url.value() {
                Some(url) => {
                    License::parse(name, Some(url)).map_err(|e| domain_error("license", e))
                }
                None => License::parse(name, None).map_err(|e| domain_error("license.name", e)),
            }
        }
    };
    parsed.map_err(|e| problems.push(e)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::api::dto::test_support::{one, problems};

    fn create(body: Value) -> Vec<(String, &'static str)> {
        problems(CreateFeedRequest::parse(body))
    }

    fn feed(kind: FeedKind, global: bool) -> FeedRow {
        FeedRow {
            id: 1,
            user_id: 1,
            name: "f".into(),
            description: None,
            private: false,
            license_name: "x".into(),
            license_url: None,
            indicator_count: 0,
            created_at: NaiveDateTime::default(),
            updated_at: NaiveDateTime::default(),
            kind: kind.as_str().into(),
            global,
            max_prefix: None,
            max_prefix6: None,
            lifetimes: None,
            version: 0,
            changes_pruned_seq: 0,
        }
    }

    fn changes(body: Value, current: &FeedRow) -> Result<FeedChanges, ApiError> {
        UpdateFeedRequest::parse(body, current, NaiveDateTime::default())
    }

    fn update(body: Value) -> Vec<(String, &'static str)> {
        problems(changes(body, &feed(FeedKind::Indicators, false)))
    }

    #[test]
    fn a_created_feed_needs_a_valid_name_and_defaults_the_rest() {
        let input = CreateFeedRequest::parse(json!({"feed": {"name": "SSH"}})).unwrap();
        assert_eq!(input.name.as_str(), "ssh");
        assert_eq!((input.description, input.private), (None, false));
        assert_eq!(input.license, License::default());
        assert_eq!(create(json!({})), one("name", "required"));
        assert_eq!(create(json!({"name": null})), one("name", "required"));
        assert_eq!(create(json!({"name": 1})), one("name", "invalid_type"));
        assert_eq!(create(json!({"name": ""})), one("name", "empty"));
        assert_eq!(
            create(json!({"name": "x.csv"})),
            one("name", "invalid_format")
        );
    }

    #[test]
    fn descriptions_are_text_or_none() {
        let text = |d: Value| {
            CreateFeedRequest::parse(json!({"name": "f", "description": d}))
                .unwrap()
                .description
        };
        assert_eq!(text(json!("about")), Some("about".into()));
        assert_eq!(text(json!("")), None);
        assert_eq!(text(json!(null)), None);
        assert_eq!(
            create(json!({"name": "f", "description": "d".repeat(256)})),
            one("description", "too_long")
        );
        assert_eq!(
            create(json!({"name": "f", "description": "a\tb"})),
            one("description", "invalid_format")
        );
        assert_eq!(
            create(json!({"name": "f", "description": 5})),
            one("description", "invalid_type")
        );
    }

    #[test]
    fn private_is_a_boolean() {
        assert!(
            CreateFeedRequest::parse(json!({"name": "f", "private": true}))
                .unwrap()
                .private
        );
        assert_eq!(
            create(json!({"name": "f", "private": "yes"})),
            one("private", "invalid_type")
        );
    }

    #[test]
    fn licences_are_a_name_an_object_or_null() {
        let licence = |l: Value| {
            CreateFeedRequest::parse(json!({"name": "f", "license": l}))
                .unwrap()
                .license
        };
        assert_eq!(licence(json!(null)), License::default());
        assert_eq!(licence(json!("MIT")), License::parse("MIT", None).unwrap());
        assert_eq!(
            licence(json!({"name": "MIT", "url": "https://x.example"})),
            License::parse("MIT", Some("https://x.example")).unwrap()
        );
        assert_eq!(
            licence(json!({"name": "MIT", "url": null})),
            License::parse("MIT", None).unwrap()
        );
        let bad = |l: Value| create(json!({"name": "f", "license": l}));
        assert_eq!(bad(json!(5)), one("license", "invalid_type"));
        assert_eq!(bad(json!(["MIT"])), one("license", "invalid_type"));
        assert_eq!(bad(json!("")), one("license", "empty"));
        assert_eq!(
            bad(json!({"url": "https://x.example"})),
            one("license.name", "required")
        );
        assert_eq!(bad(json!({"name": 5})), one("license.name", "invalid_type"));
        assert_eq!(bad(json!({"name": ""})), one("license.name", "empty"));
        assert_eq!(
            bad(json!({"name": "MIT", "url": 5})),
            one("license.url", "invalid_type")
        );
        assert_eq!(
            bad(json!({"name": 5, "url": 5})),
            one("license.name", "invalid_type")
        );
        assert_eq!(
            bad(json!({"name": null, "url": 5})),
            one("license.name", "required")
        );
        assert_eq!(
            bad(json!({"name": "MIT", "url": "ftp://x"})),
            one("license", "invalid_format")
        );
        assert_eq!(
            bad(json!({"name": "", "url": "ftp://x"})),
            one("license", "empty")
        );
    }

    #[test]
    fn every_create_problem_is_listed_in_member_order() {
        assert_eq!(
            create(
                json!({"feed": {"license": {"name": "", "url": "ftp://x"}, "private": "yes",
                                   "description": "d".repeat(256), "name": "x"}})
            ),
            vec![
                ("description".to_string(), "too_long"),
                ("private".to_string(), "invalid_type"),
                ("license".to_string(), "empty"),
            ]
        );
    }

    #[test]
    fn an_update_changes_only_what_it_names_and_never_the_name() {
        let plain = feed(FeedKind::Indicators, false);
        let changes = changes(json!({"feed": {"name": " F ", "private": true}}), &plain).unwrap();
        assert_eq!(
            (
                changes.private,
                changes.description.clone(),
                changes.license_name.clone()
            ),
            (Some(true), None, None)
        );
        let changes = super::UpdateFeedRequest::parse(
            json!({"description": null, "license": null}),
            &plain,
            NaiveDateTime::default(),
        )
        .unwrap();
        assert_eq!(changes.description, Some(None));
        assert_eq!(changes.license_name.as_deref(), Some("CC BY-SA 4.0"));
        assert_eq!(update(json!({"name": "g"})), one("name", "immutable"));
        assert_eq!(update(json!({"name": 5})), one("name", "immutable"));
        assert_eq!(update(json!({"name": ""})), one("name", "immutable"));
        assert_eq!(
            update(json!({"license": 5, "private": 1, "name": "g", "description": ""})),
            vec![
                ("name".to_string(), "immutable"),
                ("private".to_string(), "invalid_type"),
                ("license".to_string(), "invalid_type"),
            ]
        );
    }

    #[test]
    fn kind_global_and_prefixes_are_read_and_bounded() {
        let input = CreateFeedRequest::parse(
            json!({"name": "f", "kind": "whitelist", "global": true, "max_prefix": 24, "max_prefix6": 64}),
        )
        .unwrap();
        assert_eq!(
            (
                input.kind,
                input.global,
                input.max_prefix,
                input.max_prefix6
            ),
            (FeedKind::Whitelist, true, Some(24), Some(64))
        );
        let plain = CreateFeedRequest::parse(json!({"name": "f", "kind": null})).unwrap();
        assert_eq!(
            (plain.kind, plain.global, plain.max_prefix),
            (FeedKind::Indicators, false, None)
        );
        assert_eq!(
            create(json!({"name": "f", "kind": "allow"})),
            one("kind", "invalid_format")
        );
        assert_eq!(
            create(json!({"name": "f", "kind": 1})),
            one("kind", "invalid_type")
        );
        assert_eq!(
            create(json!({"name": "f", "global": true})),
            one("global", "whitelist_only")
        );
        assert_eq!(
            create(json!({"name": "f", "global": "y"})),
            one("global", "invalid_type")
        );
        assert_eq!(
            create(json!({"name": "f", "max_prefix": 33})),
            one("max_prefix", "out_of_range")
        );
        assert_eq!(
            create(json!({"name": "f", "max_prefix": -1})),
            one("max_prefix", "out_of_range")
        );
        assert_eq!(
            create(json!({"name": "f", "max_prefix": "8"})),
            one("max_prefix", "invalid_type")
        );
        assert_eq!(
            create(json!({"name": "f", "max_prefix6": 129})),
            one("max_prefix6", "out_of_range")
        );
        assert_eq!(
            create(json!({"name": "f", "max_prefix6": 1.5})),
            one("max_prefix6", "invalid_type")
        );
    }

    #[test]
    fn an_update_checks_global_against_the_kind_the_feed_will_have() {
        let whitelist = feed(FeedKind::Whitelist, true);
        let made = changes(json!({"global": true}), &feed(FeedKind::Whitelist, false)).unwrap();
        assert_eq!(made.global, Some(true));
        assert_eq!(
            problems(changes(json!({"kind": "indicators"}), &whitelist)),
            one("global", "whitelist_only")
        );
        let back = changes(json!({"kind": "indicators", "global": null}), &whitelist).unwrap();
        assert_eq!(
            (back.kind.as_deref(), back.global),
            (Some("indicators"), Some(false))
        );
        assert_eq!(
            update(json!({"global": true})),
            one("global", "whitelist_only")
        );
        let both = changes(
            json!({"kind": "whitelist", "global": true}),
            &feed(FeedKind::Indicators, false),
        );
        assert!(both.is_ok());
        let cleared = changes(json!({"max_prefix": null, "max_prefix6": 56}), &whitelist).unwrap();
        assert_eq!(
            (cleared.max_prefix, cleared.max_prefix6),
            (Some(None), Some(Some(56)))
        );
        assert_eq!(
            update(json!({"max_prefix6": 200})),
            one("max_prefix6", "out_of_range")
        );
    }
}
