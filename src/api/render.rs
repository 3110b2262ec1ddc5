//! Rows to wire objects (spec §7), in the member order of the field tables. The version decides
//! wrapping, the value member's name, the time format and the protocol form; nothing else.

use chrono::NaiveDateTime;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::api::representation::{ApiVersion, TimeText};
use crate::domain::tlp::Tlp;
use crate::models::attachment::AttachmentMeta;
use crate::models::comment::CommentView;
use crate::models::feed::{FeedLabel, FeedRow};
use crate::models::indicator::IndicatorRow;

/// An indicator with what its object shows of its feed and owner.
#[derive(Debug, Clone)]
pub struct IndicatorView {
    pub row: IndicatorRow,
    pub feed: String,
    pub owner: String,
    pub license_name: String,
    pub license_url: Option<String>,
    /// The indicator's TLP: its own, else its feed's default.
    pub tlp: Tlp,
}

impl IndicatorView {
    /// Builds a view from a row of a known feed.
    pub fn of(row: IndicatorRow, feed: &FeedRow, owner: &str) -> Self {
        Self {
            tlp: Tlp::effective(row.tlp.as_deref(), feed.private),
            row,
            feed: feed.name.clone(),
            owner: owner.to_string(),
            license_name: feed.license_name.clone(),
            license_url: feed.license_url.clone(),
        }
    }

    /// Builds a view from a search hit, taking its strings.
    pub fn of_hit(row: IndicatorRow, feed: FeedLabel, owner: String) -> Self {
        Self {
            tlp: Tlp::effective(row.tlp.as_deref(), feed.private),
            row,
            feed: feed.name,
            owner,
            license_name: feed.license_name,
            license_url: feed.license_url,
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

/// The indicator object as a `Value` (single-object answers).
pub fn indicator(
    view: &IndicatorView,
    version: ApiVersion,
    base: &str,
    extras: Option<Extras<'_>>,
) -> Value {
    serde_json::to_value(IndicatorJson {
        view,
        version,
        base,
        extras,
    })
    .unwrap_or(Value::Null)
}

/// The indicator object, encoded straight to JSON: lists and exports render thousands of
/// these, and a `Value` tree per indicator would be built only to be thrown away.
pub struct IndicatorJson<'a> {
    pub view: &'a IndicatorView,
    pub version: ApiVersion,
    pub base: &'a str,
    pub extras: Option<Extras<'a>>,
}

impl Serialize for IndicatorJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.version {
            ApiVersion::V0 => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("indicator", &IndicatorFields(self))?;
                m.end()
            }
            ApiVersion::V1 => IndicatorFields(self).serialize(s),
        }
    }
}

/// The members of the indicator object, in the order of the spec's field table.
struct IndicatorFields<'a, 'b>(&'b IndicatorJson<'a>);

impl Serialize for IndicatorFields<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let IndicatorJson {
            view,
            version,
            base,
            extras,
        } = self.0;
        let version = *version;
        let v0 = version == ApiVersion::V0;
        let r = &view.row;
        let time = |t: NaiveDateTime| TimeText::new(t, version);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &r.id)?;
        m.serialize_entry(if v0 { "thing" } else { "indicator" }, &r.value)?;
        m.serialize_entry("itype", &r.itype)?;
        m.serialize_entry("portlist", &r.portlist)?;
        m.serialize_entry("portlist_src", &r.portlist_src)?;
        match (version, r.protocol) {
            (_, None) => m.serialize_entry("protocol", &())?,
            (ApiVersion::V1, Some(n)) if protocol_name(n).is_some() => {
                m.serialize_entry("protocol", &protocol_name(n))?
            }
            (_, Some(n)) => m.serialize_entry("protocol", &n)?,
        }
        m.serialize_entry("firsttime", &r.firsttime.map(time))?;
        m.serialize_entry("lasttime", &r.lasttime.map(time))?;
        m.serialize_entry("count", &r.count)?;
        m.serialize_entry("description", &r.description)?;
        debug_assert!(r.copy_is_full(), "a packed copy reached the renderer");
        m.serialize_entry("content", &r.content)?;
        m.serialize_entry("provider", &r.provider)?;
        m.serialize_entry("asn", &r.asn)?;
        m.serialize_entry("asn_desc", &r.asn_desc)?;
        m.serialize_entry("cc", &r.cc)?;
        m.serialize_entry("confidence", &r.confidence)?;
        m.serialize_entry("tlp", view.tlp.as_str())?;
        m.serialize_entry("created_at", &time(r.created_at))?;
        m.serialize_entry("updated_at", &time(r.updated_at))?;
        m.serialize_entry("expires_at", &r.expires_at.map(time))?;
        if let Some(extras) = extras {
            let comments: Vec<Value> = extras
                .comments
                .iter()
                .map(|c| comment(c, version))
                .collect();
            m.serialize_entry("comments", &comments)?;
            m.serialize_entry("comments_count", &r.comments_count)?;
            let attachments: Vec<Value> = if extras.attachments.is_empty() {
                Vec::new()
            } else {
                let location = view.location(base);
                extras
                    .attachments
                    .iter()
                    .map(|a| attachment(a, version, &location))
                    .collect()
            };
            m.serialize_entry("attachments", &attachments)?;
        }
        m.serialize_entry(
            "license",
            &License {
                name: &view.license_name,
                url: view.license_url.as_deref(),
            },
        )?;
        m.serialize_entry("tags", &TagList(&r.tags))?;
        m.serialize_entry("feed", &view.feed)?;
        if v0 {
            m.serialize_entry("feed_id", &view.feed)?;
        }
        m.serialize_entry("user", &view.owner)?;
        if v0 {
            m.serialize_entry("user_id", &view.owner)?;
        }
        m.serialize_entry(
            "location",
            &format_args!(
                "{base}/api/users/{}/feeds/{}/indicators/{}",
                view.owner, view.feed, r.id
            ),
        )?;
        m.end()
    }
}

#[derive(Serialize)]
struct License<'a> {
    name: &'a str,
    url: Option<&'a str>,
}

/// The stored comma-joined tags as a JSON list.
struct TagList<'a>(&'a str);

impl Serialize for TagList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for tag in self.0.split(',').filter(|t| !t.is_empty()) {
            seq.serialize_element(tag)?;
        }
        seq.end()
    }
}

/// A feed object with its page of indicators (feed show).
pub struct FeedPage<'a> {
    pub fields: Map<String, Value>,
    pub indicators: &'a [IndicatorJson<'a>],
    pub version: ApiVersion,
}

impl Serialize for FeedPage<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Members<'a, 'b>(&'b FeedPage<'a>);
        impl Serialize for Members<'_, '_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(None)?;
                for (k, v) in &self.0.fields {
                    m.serialize_entry(k, v)?;
                }
                m.serialize_entry("indicators", self.0.indicators)?;
                m.end()
            }
        }
        match self.version {
            ApiVersion::V0 => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("feed", &Members(self))?;
                m.end()
            }
            ApiVersion::V1 => Members(self).serialize(s),
        }
    }
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
    let mut o = Map::with_capacity(14);
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
    o.insert("kind".into(), json!(f.kind));
    o.insert("global".into(), json!(f.global));
    o.insert("max_prefix".into(), json!(f.max_prefix));
    o.insert("max_prefix6".into(), json!(f.max_prefix6));
    o.insert("lifetimes".into(), json!(f.lifetimes));
    o
}

/// A directory entry (`GET /api/feeds`): what a consumer needs to pick a feed, and its
/// absolute URL in `location`; wrapped as `{"feed": …}` in v0 like every feed object.
pub fn directory_entry(f: &FeedRow, owner: &str, version: ApiVersion, base: &str) -> Value {
    let mut o = Map::with_capacity(9);
    o.insert("name".into(), json!(f.name));
    o.insert("user".into(), json!(owner));
    o.insert("description".into(), json!(f.description));
    o.insert(
        "license".into(),
        json!({"name": f.license_name, "url": f.license_url}),
    );
    o.insert("indicators_count".into(), json!(f.indicator_count));
    o.insert("private".into(), json!(f.private));
    o.insert("kind".into(), json!(f.kind));
    o.insert("updated_at".into(), version.time(f.updated_at));
    o.insert(
        "location".into(),
        json!(format!("{base}/api/users/{owner}/feeds/{}", f.name)),
    );
    version.wrap("feed", Value::Object(o))
}

/// The feed object in this version, with optional extra members (e.g. `indicators`).
pub fn feed(f: &FeedRow, owner: &str, version: ApiVersion, extra: Vec<(&str, Value)>) -> Value {
    let mut o = feed_fields(f, owner, version);
    for (k, v) in extra {
        o.insert(k.to_string(), v);
    }
    version.wrap("feed", Value::Object(o))
}
