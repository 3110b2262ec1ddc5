//! Indicator bodies (spec §6.6.1, §6.6.4, §6.6.6): create/upsert, update and the items of a
//! bulk request. A body is an [`IndicatorRequest`], read straight from the request's bytes
//! (`api::body::JsonRequest`); its members are [`IndicatorFields`], wrapped
//! (`{"indicator": {…}, "comment": …}`) or flat. Accepted forms: every alias
//! (`thing`/`indicator`, `firsttime`/`first_at`, `lasttime`/`last_at`, `tags`/`tag_list`/
//! `application`, inner and top-level `comment`/`content`/`attachment`/`tags`), portlist and
//! protocol as text or number, tags as a list or a comma-separated string, a blank string or
//! `null` clearing a member, unknown members ignored.
//!
//! Plain bounds (types, lengths) are `validator` rules on the members; `IndicatorRequest::parse`
//! (`input.rs`) then visits the members in one fixed order, reporting a member's rule problem
//! or parsing it into its domain value (`domain/`), so one 422 names every problem with the
//! JSON path the client used. That order (an inner member before the top-level one of the same
//! name) is not a member order, so indicator problems are a list kept in the order found, not
//! `Problems`. Bulk bodies are `bulk.rs`.
//!
//! A new member is one `IndicatorFields` member with its rules, one line in
//! `IndicatorFields::member`, and its parse in `IndicatorRequest::parse` (plus its place in
//! `IndicatorInput`).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};
use validator::{Validate, ValidateLength, ValidateNonControlCharacter, ValidationError};

mod bulk;
mod input;

pub use bulk::{BulkRequest, Items, MAX_ITEMS};
pub use input::{AttachmentInput, IndicatorInput, Patch, Place, Rules};

use super::{Expected, Field, typed};

/// The longest content, in bytes.
const MAX_CONTENT_BYTES: usize = 65_536;

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
    /// 0 to 10, as a number or its text (the SDK sends a float).
    #[validate(custom(function = typed))]
    pub confidence: Field<Scalar>,
    #[validate(custom(function = typed))]
    pub tlp: Field<Text>,
    #[validate(custom(function = typed))]
    pub expires_at: Field<Text>,
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
            "confidence" => self.confidence = map.next_value()?,
            "tlp" => self.tlp = map.next_value()?,
            "expires_at" => self.expires_at = map.next_value()?,
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
