//! A STIX 2.1 bundle of `indicator` objects: a pattern per type, `valid_from` the first
//! sighting, `valid_until` the expiry, `confidence` on STIX's 0–100 scale, `labels` the tags,
//! and the TLP 1.0 marking definitions STIX 2.1 predefines (CLEAR is WHITE there,
//! AMBER+STRICT is AMBER). Indicator ids are name-based (see `name_uuid`), of the indicator's id and value,
//! so a consumer sees the same object again on the next download.

use std::fmt::Write as _;

use chrono::TimeDelta;

use super::{FeedInfo, Item, json_str, name_uuid, timestamp};
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
    let thing = item.thing;
    let value = thing.as_str();
    let id = name_uuid(NAMESPACE, &format!("indicator:{}:{value}", item.id), 4);
    let modified = item.updated_at.max(item.created_at);
    let mut valid_from = item.firsttime.unwrap_or(item.created_at);
    if let Some(until) = item.expires_at {
        // STIX wants valid_until after valid_from; an indicator recorded already expired
        // gets a valid_from just before its end.
        if until <= valid_from {
            valid_from = until - TimeDelta::milliseconds(1);
        }
    }
    out.push_str(",{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--");
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
    true
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
