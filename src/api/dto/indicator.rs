//! Indicator bodies (spec §6.6.1, §6.6.4, §6.6.6): create/upsert, update and the items of a
//! bulk request. A body is an [`IndicatorRequest`], read straight from the request's bytes
//! (`api::body::JsonRequest`); its members are [`IndicatorFields`], wrapped
//! (`{"indicator": {…}, "comment": …}`) or flat. Accepted forms: every alias
//! (`thing`/`indicator`, `firsttime`/`first_at`, `lasttime`/`last_at`, `tags`/`tag_list`/
//! `application`, inner and top-level `comment`/`content`/`attachment`/`tags`), portlist and
//! protocol as text or number, tags as a list or a comma-separated string, a blank string or
//! `null` clearing a member, unknown members ignored.
//!
//! Plain bounds (types, lengths) are `validator` rules on the members; [`IndicatorRequest::parse`]
//! then visits the members in one fixed order, reporting a member's rule problem or parsing it
//! into its domain value (`domain/`), so one 422 names every problem with the JSON path the
//! client used. That order (an inner member before the top-level one of the same name) is not
//! a member order, so indicator problems are a list kept in the order found, not `Problems`.
//!
//! A new member is one `IndicatorFields` member with its rules, one line in `member`, and its
//! parse in `parse_fields` (plus its place in `IndicatorInput`).

use std::borrow::Cow;
use std::fmt;

use chrono::NaiveDateTime;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Number, Value};
use validator::{
    Validate, ValidateLength, ValidateNonControlCharacter, ValidationError, ValidationErrors,
};

use super::{Expected, Field, rule_problem, typed};
use crate::domain::DomainError;
use crate::domain::attachment;
use crate::domain::feed::check_text;
use crate::domain::merge::Sighting;
use crate::domain::portlist::Portlist;
use crate::domain::protocol::Protocol;
use crate::domain::tags::Tags;
use crate::domain::thing::Thing;
use crate::domain::time::parse_time;
use crate::error::{ApiError, FieldError};

/// At most this many items per bulk request.
pub const MAX_ITEMS: usize = 5000;
/// At most this many item problems are listed (`details.error_count` has the total).
const MAX_LISTED_ERRORS: usize = 100;
/// The longest value, in characters after normalising.
const MAX_THING_CHARS: usize = 255;
/// The longest content, in bytes.
const MAX_CONTENT_BYTES: usize = 65_536;
/// The longest comment, in characters.
const MAX_COMMENT_CHARS: usize = 4096;

// ---------------------------------------------------------------------------------------------
// Member types

/// A text member: a string, where a blank one (`""`, `"  "`) clears like `null`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Text(pub String);

impl Expected for Text {
    const EXPECTED: &'static str = "must be a string";
}

/// A member given as text or as a number (`"22"` or `22`).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Text(String),
    Number(Number),
}

/// Reads a member's value and keeps what `pick` takes; anything else is an error, which
/// `Field` keeps as a wrong type.
fn pick<'de, D: Deserializer<'de>, T>(
    d: D,
    pick: impl FnOnce(Value) -> Option<T>,
) -> Result<T, D::Error> {
    pick(Value::deserialize(d)?).ok_or_else(|| de::Error::custom("another type"))
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        pick(d, |v| match v {
            Value::String(s) => Some(Self::Text(s)),
            Value::Number(n) => Some(Self::Number(n)),
            _ => None,
        })
    }
}

impl Expected for Scalar {
    const EXPECTED: &'static str = "must be a string or a number";
}

/// `tags` (and its aliases): a comma-separated string or a list.
#[derive(Debug, Clone, PartialEq)]
pub enum TagsValue {
    Text(String),
    List(Vec<String>),
    /// A list holding something other than strings (the `strings_only` rule).
    Mixed,
}

impl<'de> Deserialize<'de> for TagsValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        pick(d, |v| match v {
            Value::String(s) => Some(Self::Text(s)),
            Value::Array(items) => Some(
                items
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => Some(s),
                        _ => None,
                    })
                    .collect::<Option<Vec<String>>>()
                    .map_or(Self::Mixed, Self::List),
            ),
            _ => None,
        })
    }
}

impl Expected for TagsValue {
    const EXPECTED: &'static str = "must be an array of strings or a comma-separated string";
}

/// `comment`: text, or `{"text": …}` (or `{"content": …}` when `text` is absent).
#[derive(Debug, Clone, PartialEq)]
pub enum CommentValue {
    Text(String),
    Object(Field<String>),
}

impl<'de> Deserialize<'de> for CommentValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        pick(d, |v| match v {
            Value::String(s) => Some(Self::Text(s)),
            Value::Object(mut o) => {
                let raw = match o.swap_remove("text") {
                    Some(v) => Some(v),
                    None => o.swap_remove("content"),
                };
                Some(Self::Object(match raw {
                    None => Field::Absent,
                    Some(Value::Null) => Field::Null,
                    Some(Value::String(s)) => Field::Value(s),
                    Some(_) => Field::WrongType,
                }))
            }
            _ => None,
        })
    }
}

impl Expected for CommentValue {
    const EXPECTED: &'static str = "a comment is a string or {\"text\": …}";
}

/// `attachment`: `{"data": base64, "filename": …}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Validate)]
#[serde(default)]
pub struct AttachmentRequest {
    #[validate(
        required(code = "required", message = "an attachment needs data"),
        custom(function = typed, message = "must be a base64 string")
    )]
    pub data: Field<String>,
    #[validate(custom(function = typed))]
    pub filename: Field<String>,
}

impl Expected for AttachmentRequest {
    const EXPECTED: &'static str = "an attachment is {\"data\": base64, \"filename\": …}";
}

/// A text member as the parse sees it: absent, cleared, or given.
enum Raw<'a> {
    Absent,
    Clear,
    Given(Cow<'a, str>),
}

/// A member read as text (a wrong type never gets here: its `typed` rule reports it).
trait AsText {
    fn raw(&self) -> Raw<'_>;
}

impl AsText for Field<Text> {
    fn raw(&self) -> Raw<'_> {
        match self {
            Field::Absent | Field::WrongType => Raw::Absent,
            Field::Null => Raw::Clear,
            Field::Value(Text(s)) if s.trim().is_empty() => Raw::Clear,
            Field::Value(Text(s)) => Raw::Given(Cow::Borrowed(s)),
        }
    }
}

impl AsText for Field<Scalar> {
    fn raw(&self) -> Raw<'_> {
        match self {
            Field::Absent | Field::WrongType => Raw::Absent,
            Field::Null => Raw::Clear,
            Field::Value(Scalar::Text(s)) if s.trim().is_empty() => Raw::Clear,
            Field::Value(Scalar::Text(s)) => Raw::Given(Cow::Borrowed(s)),
            Field::Value(Scalar::Number(n)) => Raw::Given(Cow::Owned(n.to_string())),
        }
    }
}

impl Field<Text> {
    /// The text unless absent, cleared or of another type.
    fn given(&self) -> Option<&str> {
        match self.raw() {
            Raw::Given(Cow::Borrowed(s)) => Some(s),
            _ => None,
        }
    }
}

/// `length`: in characters, of a given (not blank) text.
impl ValidateLength<u64> for Field<Text> {
    fn length(&self) -> Option<u64> {
        self.given().map(|s| s.chars().count() as u64)
    }
}

/// `non_control_character`, of a given (not blank) text.
impl ValidateNonControlCharacter for Field<Text> {
    fn as_non_control_character_iterator(&self) -> Box<dyn Iterator<Item = char> + '_> {
        Box::new(self.given().map(str::chars).into_iter().flatten())
    }
}

/// `content` is bounded in bytes, not characters.
fn content_fits(field: &Field<Text>) -> Result<(), ValidationError> {
    match field.given() {
        Some(s) if s.len() > MAX_CONTENT_BYTES => Err(ValidationError::new("too_long")
            .with_message(Cow::Borrowed("content is at most 65,536 bytes"))),
        _ => Ok(()),
    }
}

/// A tag list holds strings only.
fn strings_only(field: &Field<TagsValue>) -> Result<(), ValidationError> {
    match field {
        Field::Value(TagsValue::Mixed) => {
            Err(ValidationError::new("invalid_type")
                .with_message(Cow::Borrowed("tags are strings")))
        }
        _ => Ok(()),
    }
}

/// The text of a comment object is a string.
fn comment_text_typed(field: &Field<CommentValue>) -> Result<(), ValidationError> {
    match field {
        Field::Value(CommentValue::Object(Field::WrongType)) => {
            Err(ValidationError::new("invalid_type")
                .with_message(Cow::Borrowed("a comment is a string")))
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// The body

/// The members of an indicator, wherever they sit in the body.
#[derive(Debug, Default, Validate)]
pub struct IndicatorFields {
    #[validate(custom(function = typed))]
    pub thing: Field<Text>,
    /// `indicator` as an alias of `thing` (an object there is the wrapper instead).
    #[validate(custom(function = typed))]
    pub indicator: Field<Text>,
    #[validate(custom(function = typed))]
    pub portlist: Field<Scalar>,
    #[validate(custom(function = typed))]
    pub portlist_src: Field<Scalar>,
    #[validate(custom(function = typed))]
    pub protocol: Field<Scalar>,
    #[validate(custom(function = typed))]
    pub firsttime: Field<Text>,
    #[validate(custom(function = typed))]
    pub first_at: Field<Text>,
    #[validate(custom(function = typed))]
    pub lasttime: Field<Text>,
    #[validate(custom(function = typed))]
    pub last_at: Field<Text>,
    #[validate(
        custom(function = typed),
        length(max = 255, code = "too_long", message = "must be at most 255 characters"),
        non_control_character(
            code = "invalid_format",
            message = "must not contain control characters (including line breaks and tabs)"
        )
    )]
    pub description: Field<Text>,
    #[validate(
        custom(function = typed),
        length(max = 255, code = "too_long", message = "must be at most 255 characters"),
        non_control_character(
            code = "invalid_format",
            message = "must not contain control characters (including line breaks and tabs)"
        )
    )]
    pub provider: Field<Text>,
    #[validate(custom(function = typed), custom(function = strings_only))]
    pub tags: Field<TagsValue>,
    #[validate(custom(function = typed), custom(function = strings_only))]
    pub tag_list: Field<TagsValue>,
    #[validate(custom(function = typed), custom(function = strings_only))]
    pub application: Field<TagsValue>,
    #[validate(custom(function = typed), custom(function = content_fits))]
    pub content: Field<Text>,
    #[validate(custom(function = typed), custom(function = comment_text_typed))]
    pub comment: Field<CommentValue>,
    #[validate(custom(function = typed))]
    pub attachment: Field<AttachmentRequest>,
}

impl IndicatorFields {
    /// Reads the member `key` when it is one of ours; `false` leaves the value unread.
    fn member<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "thing" => self.thing = map.next_value()?,
            "indicator" => self.indicator = map.next_value()?,
            "portlist" => self.portlist = map.next_value()?,
            "portlist_src" => self.portlist_src = map.next_value()?,
            "protocol" => self.protocol = map.next_value()?,
            "firsttime" => self.firsttime = map.next_value()?,
            "first_at" => self.first_at = map.next_value()?,
            "lasttime" => self.lasttime = map.next_value()?,
            "last_at" => self.last_at = map.next_value()?,
            "description" => self.description = map.next_value()?,
            "provider" => self.provider = map.next_value()?,
            "tags" => self.tags = map.next_value()?,
            "tag_list" => self.tag_list = map.next_value()?,
            "application" => self.application = map.next_value()?,
            "content" => self.content = map.next_value()?,
            "comment" => self.comment = map.next_value()?,
            "attachment" => self.attachment = map.next_value()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The members a wrapped body may also carry at its top level.
    fn top_level_part(self) -> Self {
        Self {
            tags: self.tags,
            tag_list: self.tag_list,
            application: self.application,
            content: self.content,
            comment: self.comment,
            attachment: self.attachment,
            ..Self::default()
        }
    }
}

/// One indicator body as sent: create/upsert, update, or one item of a bulk request.
#[derive(Debug, Default)]
pub struct IndicatorRequest {
    /// The body was a JSON object.
    object: bool,
    /// `{"indicator": {…}}`: the members are inside, `outer` holds the top-level ones.
    wrapped: bool,
    inner: IndicatorFields,
    outer: IndicatorFields,
}

/// A member name, borrowed from the body when it holds no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Reads a JSON value of any kind with `visit`'s `map` when it is an object and `other`
/// (the value consumed like any other) when it is not. Values that are not read are still
/// parsed as `Value`s, so a body is accepted or refused exactly as a `Value` would be.
trait ObjectVisitor<'de>: Sized {
    type Out;
    fn map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Out, A::Error>;
    fn other(self, value: Value) -> Self::Out;
}

struct AnyValue<V>(V);

impl<'de, V: ObjectVisitor<'de>> Visitor<'de> for AnyValue<V> {
    type Value = V::Out;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Out, A::Error> {
        self.0.map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<V::Out, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(self.0.other(Value::Array(items)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<V::Out, E> {
        Ok(self.0.other(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<V::Out, E> {
        Ok(self.0.other(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<V::Out, E> {
        Ok(self.0.other(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<V::Out, E> {
        Ok(self.0.other(Value::from(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Out, E> {
        Ok(self.0.other(Value::String(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Out, E> {
        Ok(self.0.other(Value::String(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Out, E> {
        Ok(self.0.other(Value::Null))
    }
}

/// Reads the `indicator` member: the wrapper object's members go into `.0` (`None` back), any
/// other value is the value's alias.
struct IndicatorMember<'a>(&'a mut IndicatorFields);

impl<'de> ObjectVisitor<'de> for IndicatorMember<'_> {
    type Out = Option<Field<Text>>;

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            if !self.0.member(&key, &mut map)? {
                map.next_value::<Value>()?;
            }
        }
        Ok(None)
    }

    fn other(self, value: Value) -> Self::Out {
        Some(match value {
            Value::Null => Field::Null,
            Value::String(s) => Field::Value(Text(s)),
            _ => Field::WrongType,
        })
    }
}

impl<'de> DeserializeSeed<'de> for IndicatorMember<'_> {
    type Value = Option<Field<Text>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(AnyValue(self))
    }
}

struct RequestVisitor;

impl<'de> ObjectVisitor<'de> for RequestVisitor {
    type Out = IndicatorRequest;

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<IndicatorRequest, A::Error> {
        let mut top = IndicatorFields::default();
        let mut wrapper = None;
        while let Some(Key(key)) = map.next_key()? {
            if key == "indicator" {
                // A later `indicator` replaces an earlier one, as in any JSON object.
                let mut fields = IndicatorFields::default();
                match map.next_value_seed(IndicatorMember(&mut fields))? {
                    None => {
                        wrapper = Some(fields);
                        top.indicator = Field::Absent;
                    }
                    Some(alias) => {
                        wrapper = None;
                        top.indicator = alias;
                    }
                }
            } else if !top.member(&key, &mut map)? {
                map.next_value::<Value>()?;
            }
        }
        Ok(match wrapper {
            Some(inner) => IndicatorRequest {
                object: true,
                wrapped: true,
                inner,
                outer: top.top_level_part(),
            },
            None => IndicatorRequest {
                object: true,
                wrapped: false,
                inner: top,
                outer: IndicatorFields::default(),
            },
        })
    }

    fn other(self, _: Value) -> IndicatorRequest {
        IndicatorRequest::default()
    }
}

impl<'de> Deserialize<'de> for IndicatorRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyValue(RequestVisitor))
    }
}

// ---------------------------------------------------------------------------------------------
// The parsed form

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
        input.comment = match (inner.comment(errors), top.comment(errors)) {
            (Some(a), Some(b)) if a != b => {
                errors.push(FieldError::new(
                    top.path("comment"),
                    "conflicting_aliases",
                    "the inner and top-level comment disagree",
                ));
                None
            }
            (a, b) => a.or(b),
        };
        input.attachment = match (
            inner.attachment(rules, errors),
            top.attachment(rules, errors),
        ) {
            (Some(a), Some(b)) if a.sha256 != b.sha256 => {
                errors.push(FieldError::new(
                    top.path("attachment"),
                    "conflicting_aliases",
                    "the inner and top-level attachment disagree",
                ));
                None
            }
            (a, b) => a.or(b),
        };

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

// ---------------------------------------------------------------------------------------------
// Bulk

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
        Rules {
            now: parse_time("2026-11-20T12:00:00Z").unwrap(),
            max_attachment_bytes: 1024,
            attachments_allowed: true,
        }
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

    fn p(list: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        list.iter().map(|(f, c)| (f.to_string(), *c)).collect()
    }

    fn bulk(body: Value) -> Result<Vec<(Thing, IndicatorInput)>, ApiError> {
        let mut rules = rules();
        rules.attachments_allowed = false;
        serde_json::from_str::<BulkRequest>(&body.to_string())
            .unwrap()
            .parse(&rules)
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
