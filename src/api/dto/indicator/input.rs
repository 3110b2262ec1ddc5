//! What an indicator body says once parsed ([`IndicatorInput`]), and the parse: members
//! visited in one fixed order, each reporting its first rule problem (`validator`) or parsed
//! into its domain value, so one 422 lists every problem in the order the reader meets them.

use chrono::NaiveDateTime;
use validator::{Validate, ValidationErrors};

use super::{AsText, CommentValue, IndicatorFields, IndicatorRequest, Raw, TagsValue};
use crate::api::dto::{Field, rule_problem};
use crate::domain::DomainError;
use crate::domain::attachment;
use crate::domain::expiry::parse_confidence;
use crate::domain::feed::check_text;
use crate::domain::merge::Sighting;
use crate::domain::portlist::Portlist;
use crate::domain::protocol::Protocol;
use crate::domain::tags::Tags;
use crate::domain::thing::Thing;
use crate::domain::time::parse_time;
use crate::domain::tlp::Tlp;
use crate::error::FieldError;

/// The longest value, in characters after normalising.
const MAX_THING_CHARS: usize = 255;
/// The longest comment, in characters.
const MAX_COMMENT_CHARS: usize = 4096;

/// A member that may be absent, explicitly cleared (`null`/`""`), or set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    #[default]
    Absent,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    /// The value, treating a clear like an absence (create semantics).
    pub fn value(self) -> Option<T> {
        match self {
            Patch::Set(v) => Some(v),
            _ => None,
        }
    }

    /// `None` when absent, `Some(None)` when cleared, `Some(Some(v))` when set (update semantics).
    pub fn change(self) -> Option<Option<T>> {
        match self {
            Patch::Absent => None,
            Patch::Clear => Some(None),
            Patch::Set(v) => Some(Some(v)),
        }
    }

    /// The value when set (create and upsert semantics), borrowed.
    pub fn given(&self) -> Option<&T> {
        match self {
            Patch::Set(v) => Some(v),
            _ => None,
        }
    }

    fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }
}

/// A decoded attachment.
#[derive(Debug, Clone)]
pub struct AttachmentInput {
    pub data: Vec<u8>,
    pub filename: String,
    pub content_type: &'static str,
    pub sha1: String,
    pub sha256: String,
}

/// A parsed indicator body.
#[derive(Debug, Clone, Default)]
pub struct IndicatorInput {
    pub thing: Patch<Thing>,
    pub tags: Patch<Tags>,
    pub portlist: Patch<String>,
    pub portlist_src: Patch<String>,
    pub protocol: Patch<i64>,
    pub firsttime: Patch<NaiveDateTime>,
    pub lasttime: Patch<NaiveDateTime>,
    pub description: Patch<String>,
    pub content: Patch<String>,
    pub provider: Patch<String>,
    pub comment: Option<String>,
    pub attachment: Option<AttachmentInput>,
    /// 0 to 10; cleared: none.
    pub confidence: Patch<f64>,
    /// Cleared: the feed's default.
    pub tlp: Patch<Tlp>,
    /// Cleared (`null`): never expires; absent: the type's default lifetime.
    pub expires_at: Patch<NaiveDateTime>,
}

impl IndicatorInput {
    /// What the submission brings to the upsert merge (`domain::merge`): its times and tags.
    pub fn sighting(&self) -> Sighting<'_> {
        Sighting {
            firsttime: self.firsttime.given().copied(),
            lasttime: self.lasttime.given().copied(),
            tags: self.tags.given().map_or(&[], Tags::as_slice),
        }
    }

    /// The value the submission names: its `thing`, else the SHA-1 of its attachment;
    /// problems name `field`.
    pub fn value(&self, field: impl FnOnce() -> String) -> Result<Thing, FieldError> {
        if let Patch::Set(thing) = &self.thing {
            return Ok(thing.clone());
        }
        if let Some(att) = &self.attachment {
            return Thing::parse(&att.sha1)
                .map_err(|e| FieldError::new(field(), e.code, e.message));
        }
        Err(FieldError::new(
            field(),
            "required",
            "an indicator needs a value (thing or indicator) or an attachment",
        ))
    }
}

/// What a body may contain and how it is checked.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub now: NaiveDateTime,
    pub max_attachment_bytes: usize,
    /// Bulk refuses attachments.
    pub attachments_allowed: bool,
}

/// Where a body sits in the request: the whole body, or item `i` of a bulk request. Paths are
/// only built for a problem.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    item: Option<usize>,
}

impl Place {
    /// The whole body.
    pub const BODY: Place = Place { item: None };

    /// Item `index` of a bulk request.
    pub fn item(index: usize) -> Self {
        Place { item: Some(index) }
    }

    /// The body's own path: `""` or `indicators[3]`.
    fn here(self) -> String {
        self.item
            .map_or_else(String::new, |i| format!("indicators[{i}]"))
    }

    /// The path of `name` inside the body (`inner`: inside the `indicator` wrapper).
    fn path(self, inner: bool, name: &str) -> String {
        let mut path = self.here();
        if inner {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str("indicator");
        }
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(name);
        path
    }
}

/// One level of a body (inside the wrapper or its top level) while it is parsed: its members,
/// their rule problems, and where problems go.
struct Level<'a> {
    fields: &'a IndicatorFields,
    rules: Option<ValidationErrors>,
    place: Place,
    inner: bool,
}

impl Level<'_> {
    fn path(&self, name: &str) -> String {
        self.place.path(self.inner, name)
    }

    /// The first rule problem of member `name`, reported.
    fn rule_problem(&self, name: &str, errors: &mut Vec<FieldError>) -> bool {
        let Some(found) = self
            .rules
            .as_ref()
            .and_then(|r| r.field_errors().get(name).copied())
        else {
            return false;
        };
        match found.first() {
            Some(err) => {
                errors.push(rule_problem(self.path(name), err));
                true
            }
            None => false,
        }
    }

    /// Reads one member under its names (aliases), which must agree after `parse`; the first
    /// problem ends the member.
    fn aliased<T: PartialEq>(
        &self,
        names: &[(&str, &dyn AsText)],
        parse: &dyn Fn(&str) -> Result<T, DomainError>,
        errors: &mut Vec<FieldError>,
    ) -> Patch<T> {
        let mut out: Patch<T> = Patch::Absent;
        let mut first_name = "";
        for (name, field) in names {
            if self.rule_problem(name, errors) {
                return Patch::Absent;
            }
            let this = match field.raw() {
                Raw::Absent => continue,
                Raw::Clear => Patch::Clear,
                Raw::Given(text) => match parse(&text) {
                    Ok(v) => Patch::Set(v),
                    Err(e) => {
                        errors.push(FieldError::new(self.path(name), e.code, e.message));
                        return Patch::Absent;
                    }
                },
            };
            match (&out, &this) {
                (Patch::Absent, _) => {
                    out = this;
                    first_name = name;
                }
                (Patch::Set(a), Patch::Set(b)) if a != b => {
                    errors.push(FieldError::new(
                        self.path(name),
                        "conflicting_aliases",
                        format!("{name} and {first_name} disagree"),
                    ));
                    return Patch::Absent;
                }
                (Patch::Clear, Patch::Set(_)) => out = this,
                _ => {}
            }
        }
        out
    }

    /// The tags under their three names, merged.
    fn tags(&self, errors: &mut Vec<FieldError>) -> Patch<Tags> {
        let f = self.fields;
        let mut out: Patch<Tags> = Patch::Absent;
        for (name, field) in [
            ("tags", &f.tags),
            ("tag_list", &f.tag_list),
            ("application", &f.application),
        ] {
            if self.rule_problem(name, errors) {
                continue;
            }
            let parsed = match field {
                Field::Absent | Field::WrongType => continue,
                Field::Null => Ok(None),
                Field::Value(TagsValue::Text(s)) => Tags::parse(s).map(Some),
                Field::Value(TagsValue::List(items)) => {
                    Tags::from_list(items.iter().map(String::as_str)).map(Some)
                }
                Field::Value(TagsValue::Mixed) => continue,
            };
            match parsed {
                Err(e) => errors.push(FieldError::new(self.path(name), e.code, e.message)),
                Ok(None) => {
                    if out.is_absent() {
                        out = Patch::Clear;
                    }
                }
                Ok(Some(tags)) => match &mut out {
                    Patch::Set(existing) => existing.merge(&tags),
                    _ => out = Patch::Set(tags),
                },
            }
        }
        out
    }

    fn content(&self, errors: &mut Vec<FieldError>) -> Patch<String> {
        self.aliased(
            &[("content", &self.fields.content)],
            &|s| Ok(s.to_owned()),
            errors,
        )
    }

    fn comment(&self, errors: &mut Vec<FieldError>) -> Option<String> {
        if self.rule_problem("comment", errors) {
            return None;
        }
        let text = match self.fields.comment.value()? {
            CommentValue::Text(s) => s,
            CommentValue::Object(text) => text.value()?,
        };
        if text.is_empty() {
            return None;
        }
        check_text(text, MAX_COMMENT_CHARS, true)
            .map_err(|e| errors.push(FieldError::new(self.path("comment"), e.code, e.message)))
            .ok()
    }

    fn attachment(&self, rules: &Rules, errors: &mut Vec<FieldError>) -> Option<AttachmentInput> {
        if self.rule_problem("attachment", errors) {
            return None;
        }
        let att = self.fields.attachment.value()?;
        let path = self.path("attachment");
        if !rules.attachments_allowed {
            errors.push(FieldError::new(
                path,
                "not_supported",
                "attachments are not accepted in bulk",
            ));
            return None;
        }
        let parts = att.validate().err();
        let part_problem = |name: &str, errors: &mut Vec<FieldError>| {
            let err = parts
                .as_ref()
                .and_then(|p| p.field_errors().get(name).and_then(|v| v.first()).cloned());
            err.map(|err| errors.push(rule_problem(format!("{path}.{name}"), &err)))
                .is_some()
        };
        let data = if part_problem("data", errors) {
            None
        } else {
            let raw = att.data.value().map_or("", String::as_str);
            attachment::decode_data(raw, rules.max_attachment_bytes)
                .map_err(|e| {
                    errors.push(FieldError::new(format!("{path}.data"), e.code, e.message))
                })
                .ok()
        };
        if part_problem("filename", errors) {
            return None;
        }
        let filename = attachment::file_name(att.filename.value().map(String::as_str))
            .map_err(|e| {
                errors.push(FieldError::new(
                    format!("{path}.filename"),
                    e.code,
                    e.message,
                ))
            })
            .ok()?;
        let data = data?;
        Some(AttachmentInput {
            content_type: attachment::content_type(&filename),
            sha1: attachment::sha1_hex(&data),
            sha256: attachment::sha256_hex(&data),
            filename,
            data,
        })
    }
}

/// A time member: not more than 10 minutes ahead of `now`, not before 1970.
fn time_rule(now: NaiveDateTime) -> impl Fn(&str) -> Result<NaiveDateTime, DomainError> {
    move |s| {
        let t = parse_time(s)?;
        if t > now + chrono::Duration::minutes(10) {
            return Err(DomainError::new(
                "in_future",
                "lies more than 10 minutes in the future",
            ));
        }
        if t.and_utc().timestamp() < 0 {
            return Err(DomainError::new("out_of_range", "lies before 1970"));
        }
        Ok(t)
    }
}

/// `expires_at`: any time from 1970 on; a past one stores the indicator already expired.
fn expiry_rule(s: &str) -> Result<NaiveDateTime, DomainError> {
    let t = parse_time(s)?;
    if t.and_utc().timestamp() < 0 {
        return Err(DomainError::new("out_of_range", "lies before 1970"));
    }
    Ok(t)
}

/// The inner and top-level copies of one member must agree; a conflict names the top level's.
fn agree<T: PartialEq>(
    top: &Level<'_>,
    inner: Patch<T>,
    outer: Patch<T>,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Patch<T> {
    match (inner, outer) {
        (Patch::Set(a), Patch::Set(b)) if a != b => {
            errors.push(FieldError::new(
                top.path(name),
                "conflicting_aliases",
                format!("the inner and top-level {name} disagree"),
            ));
            Patch::Absent
        }
        (Patch::Set(a), _) => Patch::Set(a),
        (_, Patch::Set(b)) => Patch::Set(b),
        (Patch::Clear, _) | (_, Patch::Clear) => Patch::Clear,
        _ => Patch::Absent,
    }
}

/// The inner or top-level copy of a comment or attachment; both given, they must be the same.
fn one_of<T>(
    top: &Level<'_>,
    inner: Option<T>,
    outer: Option<T>,
    name: &str,
    same: impl Fn(&T, &T) -> bool,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    match (inner, outer) {
        (Some(a), Some(b)) if !same(&a, &b) => {
            errors.push(FieldError::new(
                top.path(name),
                "conflicting_aliases",
                format!("the inner and top-level {name} disagree"),
            ));
            None
        }
        (a, b) => a.or(b),
    }
}

impl IndicatorRequest {
    /// Whether the members sat inside `{"indicator": {…}}`.
    pub fn wrapped(&self) -> bool {
        self.wrapped
    }

    /// The path the value is reported under when missing or unchangeable.
    pub fn thing_field(&self, place: Place) -> String {
        place.path(self.wrapped, "thing")
    }

    /// Parses the body at `place` into what it says; every problem goes to `errors`, in the
    /// order the members are visited.
    pub fn parse(
        &self,
        place: Place,
        rules: &Rules,
        errors: &mut Vec<FieldError>,
    ) -> IndicatorInput {
        if !self.object {
            errors.push(FieldError::new(
                place.here(),
                "invalid_type",
                "must be a JSON object",
            ));
            return IndicatorInput::default();
        }
        let inner = Level {
            fields: &self.inner,
            rules: self.inner.validate().err(),
            place,
            inner: self.wrapped,
        };
        let top = Level {
            fields: &self.outer,
            rules: if self.wrapped {
                self.outer.validate().err()
            } else {
                None
            },
            place,
            inner: false,
        };
        let f = &self.inner;
        let mut input = IndicatorInput {
            thing: inner.aliased(
                &[("thing", &f.thing), ("indicator", &f.indicator)],
                &Thing::parse,
                errors,
            ),
            ..IndicatorInput::default()
        };
        if let Patch::Set(t) = &input.thing
            && t.as_str().chars().count() > MAX_THING_CHARS
        {
            errors.push(FieldError::new(
                inner.path("thing"),
                "too_long",
                "at most 255 characters",
            ));
        }
        let portlist = |s: &str| Portlist::parse(s).map(|p| p.as_str().to_owned());
        input.portlist = inner.aliased(&[("portlist", &f.portlist)], &portlist, errors);
        input.portlist_src = inner.aliased(&[("portlist_src", &f.portlist_src)], &portlist, errors);
        input.protocol = inner.aliased(
            &[("protocol", &f.protocol)],
            &|s| Protocol::parse_str(s).map(Protocol::number),
            errors,
        );
        let time = time_rule(rules.now);
        input.firsttime = inner.aliased(
            &[("firsttime", &f.firsttime), ("first_at", &f.first_at)],
            &time,
            errors,
        );
        input.lasttime = inner.aliased(
            &[("lasttime", &f.lasttime), ("last_at", &f.last_at)],
            &time,
            errors,
        );
        let text = |s: &str| Ok(s.to_owned());
        input.description = inner.aliased(&[("description", &f.description)], &text, errors);
        input.provider = inner.aliased(&[("provider", &f.provider)], &text, errors);
        input.confidence =
            inner.aliased(&[("confidence", &f.confidence)], &parse_confidence, errors);
        input.tlp = inner.aliased(&[("tlp", &f.tlp)], &Tlp::parse, errors);
        input.expires_at = inner.aliased(&[("expires_at", &f.expires_at)], &expiry_rule, errors);

        // Tags: inner and top-level merge (the one exception to "aliases must agree").
        let mut tags = inner.tags(errors);
        match (&mut tags, top.tags(errors)) {
            (Patch::Set(a), Patch::Set(b)) => a.merge(&b),
            (Patch::Absent | Patch::Clear, Patch::Set(b)) => tags = Patch::Set(b),
            (Patch::Absent, Patch::Clear) => tags = Patch::Clear,
            _ => {}
        }
        input.tags = tags;

        // content, comment and attachment may sit inside or at the top level; both must agree.
        let (a, b) = (inner.content(errors), top.content(errors));
        input.content = agree(&top, a, b, "content", errors);
        input.comment = one_of(
            &top,
            inner.comment(errors),
            top.comment(errors),
            "comment",
            |a, b| a == b,
            errors,
        );
        let (a, b) = (
            inner.attachment(rules, errors),
            top.attachment(rules, errors),
        );
        input.attachment = one_of(
            &top,
            a,
            b,
            "attachment",
            |a, b| a.sha256 == b.sha256,
            errors,
        );

        if let (Patch::Set(first), Patch::Set(last)) = (&input.firsttime, &input.lasttime)
            && first > last
        {
            errors.push(FieldError::new(
                inner.path("firsttime"),
                "order",
                "firsttime lies after lasttime",
            ));
        }
        input
    }

    /// A create/upsert submission at `place`: its value and what it says, or every problem.
    pub fn submission(
        &self,
        place: Place,
        rules: &Rules,
    ) -> Result<(Thing, IndicatorInput), Vec<FieldError>> {
        let mut errors = Vec::new();
        let input = self.parse(place, rules, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        match input.value(|| self.thing_field(place)) {
            Ok(thing) => Ok((thing, input)),
            Err(e) => Err(vec![e]),
        }
    }
}

/// The rules the tests read bodies with.
#[cfg(test)]
pub(super) fn test_rules(attachments_allowed: bool) -> Rules {
    Rules {
        now: parse_time("2026-11-20T12:00:00Z").unwrap_or_default(),
        max_attachment_bytes: 1024,
        attachments_allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::dto::indicator::BulkRequest;
    use crate::api::dto::test_support::fields as p;
    use serde_json::Value;
    use serde_json::json;

    fn rules() -> Rules {
        test_rules(true)
    }

    /// Reads `body` from its JSON text, as the extractor does.
    fn request(body: &Value) -> IndicatorRequest {
        serde_json::from_str(&body.to_string()).unwrap()
    }

    fn parse(body: Value) -> (IndicatorInput, Vec<FieldError>) {
        let mut errors = Vec::new();
        let input = request(&body).parse(Place::BODY, &rules(), &mut errors);
        (input, errors)
    }

    fn problems(body: Value) -> Vec<(String, &'static str)> {
        parse(body)
            .1
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn the_canonical_wrapped_body() {
        let (input, errors) = parse(
            json!({"indicator": {"thing": "198.51.100.23", "tags": ["scanner", "ssh"],
            "portlist": "22", "protocol": "tcp", "firsttime": "2026-11-19T22:10:00Z",
            "lasttime": "2026-11-19T22:10:00Z", "description": "ssh password guessing",
            "provider": "honeypot-eu1", "itype": "ipv4"}, "comment": "tried root/admin"}),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(input.thing.value().unwrap().as_str(), "198.51.100.23");
        assert_eq!(input.tags.value().unwrap().joined(), "scanner,ssh");
        assert_eq!(input.protocol.value(), Some(6));
        assert_eq!(input.comment.as_deref(), Some("tried root/admin"));
    }

    #[test]
    fn flat_forms_and_aliases() {
        let (input, errors) = parse(
            json!({"indicator": "198.51.100.23", "tags": "scanner,ssh", "portlist": 22,
            "protocol": 17, "first_at": "2026-11-19T22:10:00Z", "uuid": "x", "confidence": 3}),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(input.portlist.value().as_deref(), Some("22"));
        assert_eq!(input.protocol.value(), Some(17));
        assert!(input.firsttime.value().is_some());
        let (input, errors) =
            parse(json!({"thing": "example.org", "tag_list": ["a"], "comment": {"content": "hi"}}));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(input.thing.value().unwrap().as_str(), "example.org");
        assert_eq!(input.comment.as_deref(), Some("hi"));
    }

    #[test]
    fn tags_merge_across_levels_and_aliases_must_agree() {
        let (input, errors) =
            parse(json!({"indicator": {"indicator": "example.org", "tags": ["a"]}, "tags": "b,a"}));
        assert!(errors.is_empty());
        assert_eq!(input.tags.value().unwrap().joined(), "a,b");
        let (_, errors) =
            parse(json!({"indicator": {"thing": "example.org", "indicator": "example.net"}}));
        assert_eq!(errors[0].code, "conflicting_aliases");
        let (_, errors) =
            parse(json!({"indicator": {"thing": "EXAMPLE.org", "indicator": "example.org."}}));
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let (_, errors) = parse(
            json!({"indicator": {"thing": "999.1.1.1", "portlist": "70000", "protocol": "42",
            "firsttime": "2026-11-21T00:00:00Z", "lasttime": "not a time", "description": 5}}),
        );
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "indicator.thing",
                "indicator.portlist",
                "indicator.protocol",
                "indicator.firsttime",
                "indicator.lasttime",
                "indicator.description"
            ]
        );
        assert_eq!(errors[3].code, "in_future");
    }

    #[test]
    fn attachments_decode_and_name_themselves() {
        let (input, errors) = parse(json!({"indicator": {"tags": ["uce"]},
            "attachment": {"data": "UmVjZWl2ZWQ6IGZyb20gbXguZXhhbXBsZS5vcmcK", "filename": "spam/2026-11/sample.eml"}}));
        assert!(errors.is_empty(), "{errors:?}");
        let att = input.attachment.unwrap();
        assert_eq!(att.filename, "sample.eml");
        assert_eq!(att.content_type, "message/rfc822");
        assert_eq!(att.sha1, "c7369be2f1be03c77ee7c22edc8441e46c309c1d");
        let (_, errors) = parse(json!({"attachment": {"data": "!!!"}}));
        assert_eq!(errors[0].field, "attachment.data");
    }

    #[test]
    fn null_and_empty_clear() {
        let (input, errors) =
            parse(json!({"indicator": {"description": null, "tags": null, "portlist": ""}}));
        assert!(errors.is_empty());
        assert_eq!(input.description, Patch::Clear);
        assert_eq!(input.tags, Patch::Clear);
        assert_eq!(input.portlist, Patch::Clear);
        assert_eq!(input.thing, Patch::Absent);
    }

    #[test]
    fn a_blank_text_clears_whatever_its_length_and_characters() {
        let (input, errors) = parse(json!({"description": " ".repeat(300), "provider": "\t\n"}));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            (input.description, input.provider),
            (Patch::Clear, Patch::Clear)
        );
    }

    #[test]
    fn every_problem_of_one_body_at_once_inner_before_top_level() {
        assert_eq!(
            problems(json!({
                "attachment": 5, "comment": 7, "content": [1], "tags": {"a": 1},
                "indicator": {"thing": 1, "portlist": true, "portlist_src": "x",
                    "protocol": [], "first_at": 5, "last_at": "never",
                    "description": "d".repeat(256), "provider": "a\u{7}b",
                    "tag_list": [1], "content": "c".repeat(65_537),
                    "comment": {"text": 5}, "attachment": {"filename": 5}}
            })),
            p(&[
                ("indicator.thing", "invalid_type"),
                ("indicator.portlist", "invalid_type"),
                ("indicator.portlist_src", "invalid_format"),
                ("indicator.protocol", "invalid_type"),
                ("indicator.first_at", "invalid_type"),
                ("indicator.last_at", "invalid_format"),
                ("indicator.description", "too_long"),
                ("indicator.provider", "invalid_format"),
                ("indicator.tag_list", "invalid_type"),
                ("tags", "invalid_type"),
                ("indicator.content", "too_long"),
                ("content", "invalid_type"),
                ("indicator.comment", "invalid_type"),
                ("comment", "invalid_type"),
                ("indicator.attachment.data", "required"),
                ("indicator.attachment.filename", "invalid_type"),
                ("attachment", "invalid_type"),
            ])
        );
    }

    #[test]
    fn wrong_types_are_told_what_was_expected() {
        let (_, errors) = parse(json!({"thing": 5, "protocol": true, "tags": 1, "comment": []}));
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "must be a string",
                "must be a string or a number",
                "must be an array of strings or a comma-separated string",
                "a comment is a string or {\"text\": …}",
            ]
        );
        let (_, errors) = parse(json!({"tags": ["a", 1]}));
        assert_eq!(errors[0].message, "tags are strings");
    }

    #[test]
    fn the_top_level_and_the_wrapper_must_agree() {
        assert_eq!(
            problems(json!({"indicator": {"content": "a", "comment": "x"},
                            "content": "b", "comment": "y"})),
            p(&[
                ("content", "conflicting_aliases"),
                ("comment", "conflicting_aliases")
            ])
        );
        // Outside the wrapper only tags, content, comment and attachment are read.
        let (input, errors) =
            parse(json!({"indicator": {"thing": "example.org"}, "portlist": true, "thing": 5}));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(input.portlist, Patch::Absent);
    }

    #[test]
    fn a_later_member_replaces_an_earlier_one_as_in_any_json_object() {
        let body = r#"{"indicator": {"thing": "example.org"}, "indicator": "example.net",
                       "portlist": true, "portlist": 22}"#;
        let request: IndicatorRequest = serde_json::from_str(body).unwrap();
        let mut errors = Vec::new();
        let input = request.parse(Place::BODY, &rules(), &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(!request.wrapped());
        assert_eq!(input.thing.value().unwrap().as_str(), "example.net");
        assert_eq!(input.portlist.value().as_deref(), Some("22"));
    }

    #[test]
    fn bodies_a_value_refuses_are_refused() {
        for text in [
            r#"{"thing": "x", "uuid": 1e400}"#,
            r#"{"indicator": {"thing": "x", "n": [1e400]}}"#,
            r#"{"thing": "x",}"#,
            r#"[1e400]"#,
        ] {
            assert!(serde_json::from_str::<Value>(text).is_err());
            assert!(
                serde_json::from_str::<IndicatorRequest>(text).is_err(),
                "{text}"
            );
            assert!(serde_json::from_str::<BulkRequest>(text).is_err(), "{text}");
        }
    }

    #[test]
    fn a_submission_needs_a_value_named_where_it_was_looked_for() {
        let missing = |body: Value| {
            request(&body)
                .submission(Place::BODY, &rules())
                .err()
                .unwrap()
        };
        assert_eq!(missing(json!({"tags": "a"}))[0].field, "thing");
        assert_eq!(
            missing(json!({"indicator": {"tags": "a"}}))[0].field,
            "indicator.thing"
        );
        assert_eq!(missing(json!([1]))[0].field, "");
        let (thing, _) = request(&json!({"attachment": {"data": "aGk="}}))
            .submission(Place::BODY, &rules())
            .unwrap();
        assert_eq!(thing.itype().as_str(), "sha1");
    }
}
