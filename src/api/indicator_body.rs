//! Reading indicator bodies (spec §6.6.1, §6.6.4, §6.6.6): the wrapped and flat forms, every
//! alias (`thing`/`indicator`, `firsttime`/`first_at`, `lasttime`/`last_at`, `tags`/`tag_list`,
//! inner and top-level `comment`/`content`/`attachment`/`tags`), protocol as name or number,
//! portlist as number, unknown members ignored. Every problem is collected with the JSON path
//! the client used, so one 422 names them all.

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use crate::domain::DomainError;
use crate::domain::attachment;
use crate::domain::feed::check_text;
use crate::domain::merge::Sighting;
use crate::domain::portlist::Portlist;
use crate::domain::protocol::Protocol;
use crate::domain::tags::Tags;
use crate::domain::thing::Thing;
use crate::domain::time::parse_time;
use crate::error::FieldError;

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
}

/// What a body may contain and how it is checked.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub now: NaiveDateTime,
    pub max_attachment_bytes: usize,
    /// Bulk refuses attachments.
    pub attachments_allowed: bool,
}

struct Reader<'a> {
    prefix: String,
    errors: &'a mut Vec<FieldError>,
}

impl Reader<'_> {
    fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    fn push(&mut self, path: String, e: DomainError) {
        self.errors.push(FieldError::new(path, e.code, e.message));
    }

    fn err(&mut self, path: String, code: &'static str, message: &str) {
        self.errors.push(FieldError::new(path, code, message));
    }
}

/// A member as text: strings, and numbers where `numbers` (portlist, protocol) allow.
fn text_of(v: &Value, numbers: bool) -> Option<Result<String, ()>> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(Ok(s.clone())),
        Value::Number(n) if numbers => Some(Ok(n.to_string())),
        _ => Some(Err(())),
    }
}

/// Reads one member under two spellings, which must agree after `parse`.
fn aliased<T: PartialEq + Clone>(
    r: &mut Reader<'_>,
    map: &Map<String, Value>,
    names: &[&str],
    numbers: bool,
    parse: &dyn Fn(&str) -> Result<T, DomainError>,
) -> Patch<T> {
    let mut out: Patch<T> = Patch::Absent;
    let mut first_name = "";
    for name in names {
        let Some(raw) = map.get(*name) else { continue };
        let path = r.path(name);
        let this = match text_of(raw, numbers) {
            None => Patch::Clear,
            Some(Err(())) => {
                let what = if numbers {
                    "must be a string or a number"
                } else {
                    "must be a string"
                };
                r.err(path, "invalid_type", what);
                return Patch::Absent;
            }
            Some(Ok(text)) => match parse(&text) {
                Ok(v) => Patch::Set(v),
                Err(e) => {
                    r.push(path, e);
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
                r.err(
                    path,
                    "conflicting_aliases",
                    &format!("{name} and {first_name} disagree"),
                );
                return Patch::Absent;
            }
            (Patch::Clear, Patch::Set(_)) => out = this,
            _ => {}
        }
    }
    out
}

fn read_tags(r: &mut Reader<'_>, map: &Map<String, Value>, names: &[&str]) -> Patch<Tags> {
    let mut out: Patch<Tags> = Patch::Absent;
    for name in names {
        let Some(raw) = map.get(*name) else { continue };
        let path = r.path(name);
        let parsed = match raw {
            Value::Null => Ok(None),
            Value::String(s) => Tags::parse(s).map(Some),
            Value::Array(items) => {
                let strings: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                match strings {
                    Some(list) => Tags::from_list(list).map(Some),
                    None => {
                        r.err(path, "invalid_type", "tags are strings");
                        continue;
                    }
                }
            }
            _ => {
                r.err(
                    path,
                    "invalid_type",
                    "must be an array of strings or a comma-separated string",
                );
                continue;
            }
        };
        match parsed {
            Err(e) => r.push(path, e),
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

fn comment_text(r: &mut Reader<'_>, v: &Value, path: String) -> Option<String> {
    let text = match v {
        Value::Null => return None,
        Value::String(s) => s.as_str(),
        Value::Object(o) => match o.get("text").or_else(|| o.get("content")) {
            Some(Value::String(s)) => s.as_str(),
            Some(Value::Null) | None => return None,
            Some(_) => {
                r.err(path, "invalid_type", "a comment is a string");
                return None;
            }
        },
        _ => {
            r.err(
                path,
                "invalid_type",
                "a comment is a string or {\"text\": …}",
            );
            return None;
        }
    };
    if text.is_empty() {
        return None;
    }
    match check_text(text, 4096, true) {
        Ok(t) => Some(t),
        Err(e) => {
            r.push(path, e);
            None
        }
    }
}

fn read_attachment(
    r: &mut Reader<'_>,
    v: &Value,
    path: &str,
    rules: &Rules,
) -> Option<AttachmentInput> {
    let Value::Object(o) = v else {
        if !v.is_null() {
            r.err(
                path.to_string(),
                "invalid_type",
                "an attachment is {\"data\": base64, \"filename\": …}",
            );
        }
        return None;
    };
    if !rules.attachments_allowed {
        r.err(
            path.to_string(),
            "not_supported",
            "attachments are not accepted in bulk",
        );
        return None;
    }
    let data = match o.get("data") {
        Some(Value::String(s)) => match attachment::decode_data(s, rules.max_attachment_bytes) {
            Ok(d) => Some(d),
            Err(e) => {
                r.push(format!("{path}.data"), e);
                None
            }
        },
        None | Some(Value::Null) => {
            r.err(
                format!("{path}.data"),
                "required",
                "an attachment needs data",
            );
            None
        }
        Some(_) => {
            r.err(
                format!("{path}.data"),
                "invalid_type",
                "must be a base64 string",
            );
            None
        }
    };
    let filename = match o.get("filename") {
        None | Some(Value::Null) => attachment::file_name(None),
        Some(Value::String(s)) => attachment::file_name(Some(s)),
        Some(_) => Err(DomainError::new("invalid_type", "must be a string")),
    };
    let filename = match filename {
        Ok(f) => f,
        Err(e) => {
            r.push(format!("{path}.filename"), e);
            return None;
        }
    };
    let data = data?;
    Some(AttachmentInput {
        content_type: attachment::content_type(&filename),
        sha1: attachment::sha1_hex(&data),
        sha256: attachment::sha256_hex(&data),
        filename,
        data,
    })
}

/// Reads a create/upsert or update body. `prefix` is the JSON path of the body in the request
/// (`""`, or `indicators[3]` in bulk). Problems go to `errors`.
pub fn read(
    body: &Value,
    prefix: &str,
    rules: &Rules,
    errors: &mut Vec<FieldError>,
) -> IndicatorInput {
    let mut r = Reader {
        prefix: prefix.to_string(),
        errors,
    };
    let Value::Object(top) = body else {
        r.err(prefix.to_string(), "invalid_type", "must be a JSON object");
        return IndicatorInput::default();
    };
    // Wrapped when `indicator` is an object; otherwise the top level is the indicator (flat).
    let wrapped = matches!(top.get("indicator"), Some(Value::Object(_)));
    let empty = Map::new();
    let inner = match top.get("indicator") {
        Some(Value::Object(o)) => o,
        _ => top,
    };
    let outer = if wrapped { top } else { &empty };
    let inner_prefix = if wrapped {
        r.path("indicator")
    } else {
        prefix.to_string()
    };
    let top_prefix = prefix.to_string();

    let mut input = IndicatorInput::default();
    r.prefix = inner_prefix.clone();
    input.thing = aliased(&mut r, inner, &["thing", "indicator"], false, &|s| {
        Thing::parse(s)
    });
    if let Patch::Set(t) = &input.thing
        && t.as_str().chars().count() > 255
    {
        let path = r.path("thing");
        r.err(path, "too_long", "at most 255 characters");
    }
    input.portlist = aliased(&mut r, inner, &["portlist"], true, &|s| {
        Portlist::parse(s).map(|p| p.as_str().to_string())
    });
    input.portlist_src = aliased(&mut r, inner, &["portlist_src"], true, &|s| {
        Portlist::parse(s).map(|p| p.as_str().to_string())
    });
    input.protocol = aliased(&mut r, inner, &["protocol"], true, &|s| {
        Protocol::parse_str(s).map(Protocol::number)
    });
    let time = time_rule(rules.now);
    input.firsttime = aliased(&mut r, inner, &["firsttime", "first_at"], false, &time);
    input.lasttime = aliased(&mut r, inner, &["lasttime", "last_at"], false, &time);
    input.description = aliased(&mut r, inner, &["description"], false, &|s| {
        check_text(s, 255, false)
    });
    input.provider = aliased(&mut r, inner, &["provider"], false, &|s| {
        check_text(s, 255, false)
    });

    // Tags: inner and top-level merge (the one exception to "aliases must agree").
    let mut tags = read_tags(&mut r, inner, &["tags", "tag_list", "application"]);
    r.prefix = top_prefix.clone();
    let top_tags = read_tags(&mut r, outer, &["tags", "tag_list", "application"]);
    match (&mut tags, top_tags) {
        (Patch::Set(a), Patch::Set(b)) => a.merge(&b),
        (Patch::Absent | Patch::Clear, Patch::Set(b)) => tags = Patch::Set(b),
        (Patch::Absent, Patch::Clear) => tags = Patch::Clear,
        _ => {}
    }
    input.tags = tags;

    // content, comment and attachment may sit inside or at the top level; both must agree.
    let content_rule = |s: &str| -> Result<String, DomainError> {
        if s.len() > 65_536 {
            return Err(DomainError::new(
                "too_long",
                "content is at most 65,536 bytes",
            ));
        }
        Ok(s.to_string())
    };
    r.prefix = inner_prefix.clone();
    let inner_content = aliased(&mut r, inner, &["content"], false, &content_rule);
    r.prefix = top_prefix.clone();
    let outer_content = aliased(&mut r, outer, &["content"], false, &content_rule);
    input.content = agree(&mut r, inner_content, outer_content, "content");

    let inner_comment = inner.get("comment").and_then(|v| {
        let path = format!(
            "{}{}comment",
            inner_prefix,
            if inner_prefix.is_empty() { "" } else { "." }
        );
        comment_text(&mut r, v, path)
    });
    let outer_comment = outer.get("comment").and_then(|v| {
        let path = r.path("comment");
        comment_text(&mut r, v, path)
    });
    input.comment = match (inner_comment, outer_comment) {
        (Some(a), Some(b)) if a != b => {
            let path = r.path("comment");
            r.err(
                path,
                "conflicting_aliases",
                "the inner and top-level comment disagree",
            );
            None
        }
        (a, b) => a.or(b),
    };

    let inner_att = inner.get("attachment").and_then(|v| {
        let path = format!(
            "{}{}attachment",
            inner_prefix,
            if inner_prefix.is_empty() { "" } else { "." }
        );
        read_attachment(&mut r, v, &path, rules)
    });
    let outer_att = outer.get("attachment").and_then(|v| {
        let path = r.path("attachment");
        read_attachment(&mut r, v, &path, rules)
    });
    input.attachment = match (inner_att, outer_att) {
        (Some(a), Some(b)) if a.sha256 != b.sha256 => {
            let path = r.path("attachment");
            r.err(
                path,
                "conflicting_aliases",
                "the inner and top-level attachment disagree",
            );
            None
        }
        (a, b) => a.or(b),
    };

    if let (Patch::Set(first), Patch::Set(last)) = (&input.firsttime, &input.lasttime)
        && first > last
    {
        let path = format!(
            "{}{}firsttime",
            inner_prefix,
            if inner_prefix.is_empty() { "" } else { "." }
        );
        r.err(path, "order", "firsttime lies after lasttime");
    }
    input
}

fn agree<T: PartialEq>(
    r: &mut Reader<'_>,
    inner: Patch<T>,
    outer: Patch<T>,
    name: &str,
) -> Patch<T> {
    match (inner, outer) {
        (Patch::Set(a), Patch::Set(b)) if a != b => {
            let path = r.path(name);
            r.err(
                path,
                "conflicting_aliases",
                &format!("the inner and top-level {name} disagree"),
            );
            Patch::Absent
        }
        (Patch::Set(a), _) => Patch::Set(a),
        (_, Patch::Set(b)) => Patch::Set(b),
        (Patch::Clear, _) | (_, Patch::Clear) => Patch::Clear,
        _ => Patch::Absent,
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

    fn parse(body: Value) -> (IndicatorInput, Vec<FieldError>) {
        let mut errors = Vec::new();
        let input = read(&body, "", &rules(), &mut errors);
        (input, errors)
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
}
