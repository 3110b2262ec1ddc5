//! A STIX 2.1 bundle of `indicator` objects: a pattern per type, `valid_from` the first
//! sighting, `valid_until` the expiry, `confidence` on STIX's 0–100 scale, `labels` the tags,
//! and the TLP 1.0 marking definitions STIX 2.1 predefines (CLEAR is WHITE there,
//! AMBER+STRICT is AMBER). Indicator ids are derived from the indicator's id and value
//! ([`indicator_id`]), so a consumer sees the same object again on the next download, and
//! carry the row's id, so TAXII finds the object a client names by primary key
//! ([`indicator_key`]). TAXII (`api::taxii`) serves the same objects ([`object`]).

use std::fmt::Write as _;

use chrono::TimeDelta;

use super::{FeedInfo, Item, json_str, name_uuid, timestamp, uuid_text};
use crate::domain::thing::Itype;
use crate::domain::tlp::Tlp;

/// The namespace of feedgate's STIX ids (a random UUID, fixed forever).
const NAMESPACE: [u8; 16] = [
    0x3c, 0x5e, 0x1f, 0x0a, 0x8b, 0x4d, 0x4e, 0x21, 0x9f, 0x6c, 0x27, 0xd0, 0x51, 0xa2, 0x7e, 0x93,
];

/// The TLP 1.0 marking definitions of STIX 2.1 §7.2.1.4: id and level.
const MARKINGS: [(&str, &str); 4] = [
    ("613f2e26-407d-48c7-9eca-b8e91df99dc9", "white"),
    ("34098fce-860f-48ae-8e50-ebd3cc5e41da", "green"),
    ("f88d31f6-486f-44da-b317-01333bde0b82", "amber"),
    ("5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "red"),
];

fn marking(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => MARKINGS[0].0,
        Tlp::Green => MARKINGS[1].0,
        Tlp::Amber | Tlp::AmberStrict => MARKINGS[2].0,
        Tlp::Red => MARKINGS[3].0,
    }
}

pub(super) fn head(feed: &FeedInfo<'_>, out: &mut String) {
    let bundle = name_uuid(
        NAMESPACE,
        &format!(
            "bundle:{}:{}",
            feed.id,
            feed.generated.and_utc().timestamp_micros()
        ),
        4,
    );
    let _ = write!(
        out,
        "{{\"type\":\"bundle\",\"id\":\"bundle--{bundle}\",\"objects\":["
    );
    for (i, (id, level)) in MARKINGS.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"type\":\"marking-definition\",\"spec_version\":\"2.1\",\"id\":\"marking-definition--{id}\",\"created\":\"2017-01-20T00:00:00.000Z\",\"definition_type\":\"tlp\",\"name\":\"TLP:{}\",\"definition\":{{\"tlp\":\"{level}\"}}}}",
            level.to_ascii_uppercase()
        );
    }
}

pub(super) fn item(item: &Item<'_>, out: &mut String) -> bool {
    out.push(',');
    object(item, out);
    true
}

/// The STIX id of the indicator `id` whose value is `value` (`indicator--` and a UUID shaped
/// as version 4): the first half name-based on both (SHA-1 in feedgate's namespace), the
/// second the id itself (62 bits beside the variant bits), so the id is the same on every
/// download and names its row. A request naming an id is checked against the row it names
/// ([`indicator_key`], then this again), so a made-up id finds nothing.
pub fn indicator_id(id: i64, value: &str) -> String {
    format!(
        "indicator--{}",
        keyed_uuid(&format!("indicator:{id}:{value}"), id)
    )
}

/// The indicator id an [`indicator_id`] carries; `None` when the text is not of that shape.
pub fn indicator_key(stix_id: &str) -> Option<i64> {
    uuid_key(stix_id.strip_prefix("indicator--")?)
}

/// The TAXII collection id (a bare UUID) of the feed `feed_id`, built like [`indicator_id`].
pub fn collection_id(feed_id: i64) -> String {
    keyed_uuid(&format!("collection:{feed_id}"), feed_id)
}

/// The feed id a [`collection_id`] carries; `None` when the text is not of that shape.
pub fn collection_key(uuid: &str) -> Option<i64> {
    uuid_key(uuid)
}

/// The object's version: its `modified` time as the object shows it.
pub fn version(item: &Item<'_>) -> String {
    timestamp(item.updated_at.max(item.created_at))
}

/// The 62 bits of a key a UUID carries beside its variant bits.
const KEY_BITS: u64 = (1 << 62) - 1;

/// A UUID (version 4 shape) whose first 8 bytes are name-based on `name` and whose last 8
/// carry `key`.
fn keyed_uuid(name: &str, key: i64) -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::new()
        .chain_update(NAMESPACE)
        .chain_update(name.as_bytes())
        .finalize();
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&digest[..8]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8..].copy_from_slice(&(key.cast_unsigned() & KEY_BITS).to_be_bytes());
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_text(&b)
}

/// The key a [`keyed_uuid`] carries, if `uuid` is a lower- or upper-case UUID of that shape.
fn uuid_key(uuid: &str) -> Option<i64> {
    let bytes = uuid.as_bytes();
    if bytes.len() != 36 || [8, 13, 18, 23].iter().any(|&i| bytes[i] != b'-') {
        return None;
    }
    let digits: Vec<u8> = bytes
        .iter()
        .filter(|&&c| c != b'-')
        .map(|&c| char::from(c).to_digit(16).map(|d| d as u8))
        .collect::<Option<_>>()?;
    if digits.len() != 32 || digits[12] != 4 || digits[16] >> 2 != 0b10 {
        return None;
    }
    let tail = digits[16..]
        .iter()
        .fold(0u64, |acc, &d| (acc << 4) | u64::from(d));
    i64::try_from(tail & KEY_BITS).ok()
}

/// Appends the indicator object of `item` (no separator).
pub fn object(item: &Item<'_>, out: &mut String) {
    let thing = item.thing;
    let value = thing.as_str();
    let id = indicator_id(item.id, value);
    let modified = item.updated_at.max(item.created_at);
    let mut valid_from = item.firsttime.unwrap_or(item.created_at);
    if let Some(until) = item.expires_at {
        // STIX wants valid_until after valid_from; an indicator recorded already expired
        // gets a valid_from just before its end.
        if until <= valid_from {
            valid_from = until - TimeDelta::milliseconds(1);
        }
    }
    out.push_str("{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"");
    out.push_str(&id);
    let _ = write!(
        out,
        "\",\"created\":\"{}\",\"modified\":\"{}\",\"name\":",
        timestamp(item.created_at),
        timestamp(modified)
    );
    json_str(out, value);
    if let Some(description) = item.description.filter(|d| !d.is_empty()) {
        out.push_str(",\"description\":");
        json_str(out, description);
    }
    out.push_str(",\"pattern\":");
    json_str(out, &pattern(item));
    let _ = write!(
        out,
        ",\"pattern_type\":\"stix\",\"valid_from\":\"{}\"",
        timestamp(valid_from)
    );
    if let Some(until) = item.expires_at {
        let _ = write!(out, ",\"valid_until\":\"{}\"", timestamp(until));
    }
    if let Some(confidence) = item.confidence {
        let _ = write!(
            out,
            ",\"confidence\":{}",
            (confidence * 10.0).round().clamp(0.0, 100.0) as u8
        );
    }
    let mut tags = item.tags().peekable();
    if tags.peek().is_some() {
        out.push_str(",\"labels\":[");
        for (i, tag) in tags.enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_str(out, tag);
        }
        out.push(']');
    }
    let _ = write!(
        out,
        ",\"object_marking_refs\":[\"marking-definition--{}\"]}}",
        marking(item.tlp)
    );
}

pub(super) fn tail(out: &mut String) {
    out.push_str("]}\n");
}

/// The STIX pattern of the indicator's value.
fn pattern(item: &Item<'_>) -> String {
    let thing = item.thing;
    let path = match thing.itype() {
        Itype::Ipv4 => "ipv4-addr:value",
        Itype::Ipv6 => "ipv6-addr:value",
        Itype::Fqdn => "domain-name:value",
        Itype::Url => "url:value",
        Itype::Email => "email-addr:value",
        Itype::Md5 => "file:hashes.MD5",
        Itype::Sha1 => "file:hashes.'SHA-1'",
        Itype::Sha256 => "file:hashes.'SHA-256'",
        Itype::Sha512 => "file:hashes.'SHA-512'",
    };
    let mut out = format!("[{path} = '");
    for c in thing.as_str().chars() {
        if matches!(c, '\'' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("']");
    out
}
