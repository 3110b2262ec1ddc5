//! The stored copy of a row, an indicator's `content` (spec §3.4): compact JSON
//! `{"source":"shadowserver","report_type":L,"report_date":D,"row":{…},"_extra":[…]}` with
//! empty members omitted. Values are cut at 1,024 bytes; if the text still passes 16 KiB,
//! surplus cells and then columns are dropped from the end; either cut adds `"truncated":true`.
//! The file name and report id never appear here (feeds may be public).

use std::fmt::Write as _;

use chrono::NaiveDate;

use super::read::{Header, Record};

/// The longest value kept, in bytes.
const MAX_VALUE_BYTES: usize = 1024;
/// The longest content text, in bytes.
const MAX_CONTENT_BYTES: usize = 16 << 10;

/// Builds the content text; the flag says whether anything was cut.
pub(crate) fn build(
    label: &str,
    report_date: Option<NaiveDate>,
    header: &Header,
    rec: &Record,
) -> (String, bool) {
    // The usual case, written straight into one buffer; only an oversized row takes the
    // slower path that measures each member.
    let mut out = String::with_capacity(rec.text_len() + 16 * rec.width() + 96);
    push_head(&mut out, label, report_date);
    let mut cut = false;
    let mut first = true;
    for (i, name) in header.names().iter().enumerate() {
        let Some(value) = rec.value(i) else { continue };
        out.push_str(if first { r#","row":{"# } else { "," });
        first = false;
        push_json_str(&mut out, name);
        out.push(':');
        cut |= push_json_str(&mut out, value);
    }
    if !first {
        out.push('}');
    }
    if rec.has_extra() {
        out.push_str(r#","_extra":["#);
        for (i, value) in rec.extras().enumerate() {
            if i > 0 {
                out.push(',');
            }
            cut |= push_json_str(&mut out, value);
        }
        out.push(']');
    }
    if cut {
        out.push_str(r#","truncated":true"#);
    }
    out.push('}');
    if out.len() <= MAX_CONTENT_BYTES {
        return (out, cut);
    }
    (build_bounded(label, report_date, header, rec), true)
}

/// `{"source":"shadowserver","report_type":L[,"report_date":D]`.
fn push_head(out: &mut String, label: &str, report_date: Option<NaiveDate>) {
    out.push_str(r#"{"source":"shadowserver","report_type":"#);
    push_json_str(out, label);
    if let Some(d) = report_date {
        let _ = write!(out, r#","report_date":"{}""#, d.format("%Y-%m-%d"));
    }
}

/// The content of a row whose text passes 16 KiB: surplus cells, then columns from the end of
/// the header order, are dropped until it fits; always marked truncated.
fn build_bounded(
    label: &str,
    report_date: Option<NaiveDate>,
    header: &Header,
    rec: &Record,
) -> String {
    let mut members: Vec<String> = Vec::with_capacity(rec.width());
    for (i, name) in header.names().iter().enumerate() {
        let Some(value) = rec.value(i) else { continue };
        let mut m = String::with_capacity(name.len() + value.len() + 6);
        push_json_str(&mut m, name);
        m.push(':');
        push_json_str(&mut m, value);
        members.push(m);
    }
    let mut extra: Vec<String> = rec
        .extras()
        .map(|value| {
            let mut m = String::with_capacity(value.len() + 2);
            push_json_str(&mut m, value);
            m
        })
        .collect();

    let mut out = String::new();
    push_head(&mut out, label, report_date);
    // The fixed parts after the head: `,"row":{`, `}`, `,"_extra":[`, `]`,
    // `,"truncated":true`, `}`.
    let fixed = out.len() + 8 + 1 + 11 + 1 + 17 + 1;
    let listed = |v: &[String]| v.iter().map(|s| s.len() + 1).sum::<usize>();
    while fixed + listed(&members) + listed(&extra) > MAX_CONTENT_BYTES {
        if extra.pop().is_none() && members.pop().is_none() {
            break;
        }
    }
    if !members.is_empty() {
        out.push_str(r#","row":{"#);
        out.push_str(&members.join(","));
        out.push('}');
    }
    if !extra.is_empty() {
        out.push_str(r#","_extra":["#);
        out.push_str(&extra.join(","));
        out.push(']');
    }
    out.push_str(r#","truncated":true}"#);
    out
}

/// Appends `s` as a JSON string, cut at [`MAX_VALUE_BYTES`] on a character boundary; whether
/// it was cut.
fn push_json_str(out: &mut String, s: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn rec(values: &[Option<&str>], extra: &[&str]) -> Record {
        Record::from_parts(values, extra)
    }

    #[test]
    fn the_content_holds_present_columns_and_surplus_cells() {
        let h = Header::from_raw(["timestamp", "ip", "banner"]);
        let r = rec(
            &[Some("2024-01-04 08:04:37"), None, Some("a \"b\"\r\n\u{1}")],
            &["x", "y"],
        );
        let (text, cut) = build("scan_telnet", NaiveDate::from_ymd_opt(2024, 1, 4), &h, &r);
        assert!(!cut);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            json!({"source": "shadowserver", "report_type": "scan_telnet",
                   "report_date": "2024-01-04",
                   "row": {"timestamp": "2024-01-04 08:04:37", "banner": "a \"b\"\r\n\u{1}"},
                   "_extra": ["x", "y"]})
        );
        assert!(text.starts_with(r#"{"source":"shadowserver","report_type":"scan_telnet","#));
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let h = Header::from_raw(["timestamp", "banner"]);
        let long = "é".repeat(600); // 1,200 bytes
        let (text, cut) = build("x", None, &h, &rec(&[Some("1"), Some(&long)], &[]));
        assert!(cut);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["row"]["banner"].as_str().unwrap().len(), 1024);
        assert_eq!(v["truncated"], true);
        assert!(v.get("report_date").is_none());
    }

    #[test]
    fn columns_are_dropped_from_the_end_past_16_kib() {
        let names: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
        let h = Header::from_raw(names.iter().map(String::as_str));
        let big = "v".repeat(1000);
        let values: Vec<Option<&str>> = (0..40).map(|_| Some(big.as_str())).collect();
        let (text, cut) = build("x", None, &h, &rec(&values, &["tail"]));
        assert!(cut);
        assert!(text.len() <= MAX_CONTENT_BYTES);
        let v: Value = serde_json::from_str(&text).unwrap();
        let row = v["row"].as_object().unwrap();
        assert!(row.contains_key("c0") && !row.contains_key("c39"));
        assert!(v.get("_extra").is_none());
    }
}
