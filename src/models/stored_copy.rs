//! An indicator's stored copy (`content`) and the packed form of an imported row's copy (spec
//! §3.4; `import::shadowserver`'s `content.rs` builds it): JSON strings cut at 1,024 bytes,
//! [`expand`], which turns a packed copy (values by column position) back into the full text
//! the API shows, and [`StoredCopy`], the one way to write a copy. A packed copy's header
//! (the `content_header` column) never leaves `models/`: writers hand a [`StoredCopy`], and
//! readers get rows already expanded (`models::indicator::expand_contents`). It lives here,
//! below the importer, because reading an indicator expands its copy.

use std::fmt::Write as _;

use diesel::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::db::schema::indicators;

/// The id of a stored list of column names (`content_headers`), which packed copies refer
/// to. Only [`crate::models::content_header::id_for`] makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderId(pub(super) i64);

/// The stored copy a new indicator is written with: none, a full text, or a packed text with
/// the header whose names it refers to.
#[derive(Debug, Clone, Copy, Default, Insertable)]
#[diesel(table_name = indicators)]
#[diesel(treat_none_as_default_value = false)]
pub struct StoredCopy<'a> {
    content: Option<&'a str>,
    content_header: Option<i64>,
}

impl<'a> StoredCopy<'a> {
    /// A full copy (or none).
    pub fn full(text: Option<&'a str>) -> Self {
        StoredCopy {
            content: text,
            content_header: None,
        }
    }

    /// A packed copy, readable with the names of `header`.
    pub fn packed(text: &'a str, header: HeaderId) -> Self {
        StoredCopy {
            content: Some(text),
            content_header: Some(header.0),
        }
    }

    /// The text as stored.
    pub(super) fn text(&self) -> &Option<&'a str> {
        &self.content
    }

    /// The header of a packed copy.
    pub(super) fn header(&self) -> &Option<i64> {
        &self.content_header
    }
}

/// The longest value kept, in bytes.
pub(crate) const MAX_VALUE_BYTES: usize = 1024;
/// A packed text as the reader sees it; values stay as written (escaped JSON strings).
#[derive(Deserialize)]
struct Packed<'a> {
    #[serde(borrow)]
    source: &'a RawValue,
    #[serde(borrow)]
    report_type: &'a RawValue,
    #[serde(borrow, default)]
    report_date: Option<&'a RawValue>,
    #[serde(borrow, default)]
    row: Vec<Option<&'a RawValue>>,
    #[serde(borrow, default, rename = "_extra")]
    extra: Option<&'a RawValue>,
    #[serde(default)]
    truncated: bool,
}

/// The full text of a packed copy, given its header's names; `None` if the text is not a
/// packed copy or names a position the header lacks.
pub fn expand(packed: &str, names: &[String]) -> Option<String> {
    let p: Packed<'_> = serde_json::from_str(packed).ok()?;
    let mut out = String::with_capacity(packed.len() + 20 * p.row.len());
    out.push_str(r#"{"source":"#);
    out.push_str(p.source.get());
    out.push_str(r#","report_type":"#);
    out.push_str(p.report_type.get());
    if let Some(d) = p.report_date {
        out.push_str(r#","report_date":"#);
        out.push_str(d.get());
    }
    let mut first = true;
    for (i, value) in p.row.iter().enumerate() {
        let Some(value) = value else { continue };
        out.push_str(if first { r#","row":{"# } else { "," });
        first = false;
        push_json_str(&mut out, names.get(i)?);
        out.push(':');
        out.push_str(value.get());
    }
    if !first {
        out.push('}');
    }
    if let Some(extra) = p.extra {
        out.push_str(r#","_extra":"#);
        out.push_str(extra.get());
    }
    if p.truncated {
        out.push_str(r#","truncated":true"#);
    }
    out.push('}');
    Some(out)
}

/// Appends `s` as a JSON string, cut at [`MAX_VALUE_BYTES`] on a character boundary; whether
/// it was cut.
pub(crate) fn push_json_str(out: &mut String, s: &str) -> bool {
    let (s, cut) = if s.len() > MAX_VALUE_BYTES {
        let mut end = MAX_VALUE_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        (&s[..end], true)
    } else {
        (s, false)
    };
    out.push('"');
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // Most values need no escaping at all.
        out.push_str(s);
        out.push('"');
        return cut;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        // Only ASCII bytes are escaped, so `i` is a character boundary.
        out.push_str(&s[start..i]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escaped);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
    cut
}

/// The length [`push_json_str`] gives `s`.
pub(crate) fn json_str_len(s: &str) -> usize {
    let s = if s.len() > MAX_VALUE_BYTES {
        let mut end = MAX_VALUE_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        &s[..end]
    } else {
        s
    };
    let escapes: usize = s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum();
    s.len() + 2 + escapes
}
