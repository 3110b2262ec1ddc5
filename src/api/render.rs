//! Rows to wire objects (spec §7), in the member order of the field tables. The version decides
//! wrapping, the value member's name, the time format and the protocol form; nothing else.

use serde_json::{Map, Value, json};

use crate::api::representation::ApiVersion;
use crate::models::attachment::AttachmentMeta;
use crate::models::comment::CommentView;
use crate::models::feed::FeedRow;
use crate::models::indicator::IndicatorRow;

/// An indicator with what its object shows of its feed and owner.
#[derive(Debug, Clone)]
pub struct IndicatorView {
    pub row: IndicatorRow,
    pub feed: String,
    pub owner: String,
    pub license_name: String,
    pub license_url: Option<String>,
}

impl IndicatorView {
    /// Builds a view from a row of a known feed.
    pub fn of(row: IndicatorRow, feed: &FeedRow, owner: &str) -> Self {
        Self {
            row,
            feed: feed.name.clone(),
            owner: owner.to_string(),
            license_name: feed.license_name.clone(),
            license_url: feed.license_url.clone(),
        }
    }

    /// The indicator's absolute URL.
    pub fn location(&self, base: &str) -> String {
        format!(
            "{base}/api/users/{}/feeds/{}/indicators/{}",
            self.owner, self.feed, self.row.id
        )
    }
}

/// The protocol name of a stored protocol number.
pub fn protocol_name(n: i64) -> Option<&'static str> {
    match n {
        6 => Some("tcp"),
        17 => Some("udp"),
        1 => Some("icmp"),
        _ => None,
    }
}

/// Comments and attachments, present in single and list contexts, absent from exports.
pub struct Extras<'a> {
    pub comments: &'a [CommentView],
    pub attachments: &'a [AttachmentMeta],
}

/// The indicator object.
pub fn indicator(
    view: &IndicatorView,
    version: ApiVersion,
    base: &str,
    extras: Option<Extras<'_>>,
) -> Value {
    let r = &view.row;
    let mut o = Map::with_capacity(28);
    o.insert("id".into(), json!(r.id));
    let value_name = if version == ApiVersion::V0 {
        "thing"
    } else {
        "indicator"
    };
    o.insert(value_name.into(), json!(r.value));
    o.insert("itype".into(), json!(r.itype));
    o.insert("portlist".into(), json!(r.portlist));
    o.insert("portlist_src".into(), json!(r.portlist_src));
    let protocol = match (version, r.protocol) {
        (_, None) => Value::Null,
        (ApiVersion::V0, Some(n)) => json!(n),
        (ApiVersion::V1, Some(n)) => protocol_name(n).map_or(json!(n), |s| json!(s)),
    };
    o.insert("protocol".into(), protocol);
    o.insert("firsttime".into(), version.opt_time(r.firsttime));
    o.insert("lasttime".into(), version.opt_time(r.lasttime));
    o.insert("count".into(), json!(r.count));
    o.insert("description".into(), json!(r.description));
    o.insert("content".into(), json!(r.content));
    o.insert("provider".into(), json!(r.provider));
    o.insert("asn".into(), json!(r.asn));
    o.insert("asn_desc".into(), json!(r.asn_desc));
    o.insert("cc".into(), json!(r.cc));
    o.insert("created_at".into(), version.time(r.created_at));
    o.insert("updated_at".into(), version.time(r.updated_at));
    if let Some(extras) = extras {
        let comments: Vec<Value> = extras
            .comments
            .iter()
            .map(|c| comment(c, version))
            .collect();
        o.insert("comments".into(), Value::Array(comments));
        o.insert("comments_count".into(), json!(r.comments_count));
        let location = view.location(base);
        let attachments: Vec<Value> = extras
            .attachments
            .iter()
            .map(|a| attachment(a, version, &location))
            .collect();
        o.insert("attachments".into(), Value::Array(attachments));
    }
    o.insert(
        "license".into(),
        json!({"name": view.license_name, "url": view.license_url}),
    );
    o.insert("tags".into(), json!(r.tag_list()));
    o.insert("feed".into(), json!(view.feed));
    if version == ApiVersion::V0 {
        o.insert("feed_id".into(), json!(view.feed));
    }
    o.insert("user".into(), json!(view.owner));
    if version == ApiVersion::V0 {
        o.insert("user_id".into(), json!(view.owner));
    }
    o.insert("location".into(), json!(view.location(base)));
    version.wrap("indicator", Value::Object(o))
}

/// The comment object (wrapped in v0).
pub fn comment(c: &CommentView, version: ApiVersion) -> Value {
    let mut o = Map::with_capacity(6);
    o.insert("id".into(), json!(c.id));
    o.insert("text".into(), json!(c.text));
    o.insert("user".into(), json!(c.user));
    if version == ApiVersion::V0 {
        o.insert("user_id".into(), json!(c.user));
    }
    o.insert("created_at".into(), version.time(c.created_at));
    o.insert("updated_at".into(), version.time(c.updated_at));
    version.wrap("comment", Value::Object(o))
}

/// The attachment object (never wrapped).
pub fn attachment(a: &AttachmentMeta, version: ApiVersion, indicator_location: &str) -> Value {
    json!({
        "id": a.id,
        "attachment": format!("{indicator_location}/attachments/{}", a.id),
        "filename": a.filename,
        "filesize": a.filesize,
        "content_type": a.content_type,
        "sha1": a.sha1,
        "sha256": a.sha256,
        "created_at": version.time(a.created_at),
    })
}

/// The feed object, unwrapped; `indicators` is added by feed show and create.
pub fn feed_fields(f: &FeedRow, owner: &str, version: ApiVersion) -> Map<String, Value> {
    let mut o = Map::with_capacity(10);
    o.insert("name".into(), json!(f.name));
    o.insert("description".into(), json!(f.description));
    o.insert("user".into(), json!(owner));
    o.insert("private".into(), json!(f.private));
    o.insert("indicators_count".into(), json!(f.indicator_count));
    o.insert(
        "license".into(),
        json!({"name": f.license_name, "url": f.license_url}),
    );
    o.insert("created_at".into(), version.time(f.created_at));
    o.insert("updated_at".into(), version.time(f.updated_at));
    o
}

/// The feed object in this version, with optional extra members (e.g. `indicators`).
pub fn feed(f: &FeedRow, owner: &str, version: ApiVersion, extra: Vec<(&str, Value)>) -> Value {
    let mut o = feed_fields(f, owner, version);
    for (k, v) in extra {
        o.insert(k.to_string(), v);
    }
    version.wrap("feed", Value::Object(o))
}
