//! A MISP event in the MISP feed format (`{"Event": {…, "Attribute": […]}}`), one event per
//! feed: each indicator an attribute of the matching MISP type, with `to_ids` set, its tags
//! and its TLP as tags, its first and last sighting. Uuids are name-based, so a MISP
//! instance pulling the feed again updates what it already has.

use std::fmt::Write as _;

use super::{FeedInfo, Item, json_str, timestamp, uuid_v5};
use crate::domain::thing::Itype;

/// The namespace of feedgate's MISP uuids (a random UUID, fixed forever).
const NAMESPACE: [u8; 16] = [
    0x8d, 0x21, 0x6a, 0x4f, 0x0c, 0x93, 0x4b, 0x7e, 0xa1, 0x55, 0x3e, 0x08, 0xc4, 0x9b, 0x62, 0x1d,
];

pub(super) fn head(feed: &FeedInfo<'_>, out: &mut String) {
    let event = uuid_v5(NAMESPACE, &format!("event:{}", feed.id));
    let org = uuid_v5(NAMESPACE, &format!("org:{}", feed.owner));
    let epoch = feed.generated.and_utc().timestamp();
    out.push_str("{\"Event\":{\"uuid\":\"");
    out.push_str(&event);
    out.push_str("\",\"info\":");
    json_str(out, &format!("feedgate {}/{}", feed.owner, feed.name));
    let _ = write!(
        out,
        ",\"date\":\"{}\",\"timestamp\":\"{epoch}\",\"publish_timestamp\":\"{epoch}\",\"published\":true,\"analysis\":\"2\",\"threat_level_id\":\"4\",\"Orgc\":{{\"name\":",
        feed.generated.format("%Y-%m-%d")
    );
    json_str(out, feed.owner);
    let _ = write!(out, ",\"uuid\":\"{org}\"}},\"Attribute\":[");
}

pub(super) fn item(item: &Item<'_>, first: bool, out: &mut String) -> bool {
    let thing = item.thing;
    let (kind, category) = match thing.itype() {
        Itype::Ipv4 | Itype::Ipv6 => ("ip-dst", "Network activity"),
        Itype::Fqdn => ("domain", "Network activity"),
        Itype::Url => ("url", "Network activity"),
        Itype::Email => ("email-src", "Payload delivery"),
        Itype::Md5 => ("md5", "Payload delivery"),
        Itype::Sha1 => ("sha1", "Payload delivery"),
        Itype::Sha256 => ("sha256", "Payload delivery"),
        Itype::Sha512 => ("sha512", "Payload delivery"),
    };
    if !first {
        out.push(',');
    }
    let uuid = uuid_v5(
        NAMESPACE,
        &format!("attribute:{}:{}", item.id, thing.as_str()),
    );
    let _ = write!(
        out,
        "{{\"uuid\":\"{uuid}\",\"type\":\"{kind}\",\"category\":\"{category}\",\"to_ids\":true,\"value\":"
    );
    json_str(out, thing.as_str());
    let _ = write!(
        out,
        ",\"timestamp\":\"{}\"",
        item.updated_at.max(item.created_at).and_utc().timestamp()
    );
    if let Some(comment) = item.description.filter(|d| !d.is_empty()) {
        out.push_str(",\"comment\":");
        json_str(out, comment);
    }
    if let Some(first_seen) = item.firsttime {
        let _ = write!(out, ",\"first_seen\":\"{}\"", timestamp(first_seen));
        if let Some(last_seen) = item.lasttime.filter(|l| *l >= first_seen) {
            let _ = write!(out, ",\"last_seen\":\"{}\"", timestamp(last_seen));
        }
    }
    let _ = write!(out, ",\"Tag\":[{{\"name\":\"tlp:{}\"}}", item.tlp);
    for tag in item.tags() {
        out.push_str(",{\"name\":");
        json_str(out, tag);
        out.push('}');
    }
    out.push_str("]}");
    true
}

pub(super) fn tail(out: &mut String) {
    out.push_str("]}}\n");
}
