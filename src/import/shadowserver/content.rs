//! The stored copy of a row, an indicator's `content` (spec §3.4): compact JSON
//! `{"source":"shadowserver","report_type":L,"report_date":D,"row":{…},"_extra":[…]}` with
//! empty members omitted. Values are cut at 1,024 bytes; if the text still passes 16 KiB,
//! surplus cells and then columns are dropped from the end; either cut adds `"truncated":true`.
//! The file name and report id never appear here (feeds may be public).
//!
//! Stored, a row is usually *packed*: the same text with `"row"` as an array of the values by
//! column position (`null` where absent), the names kept once per header in
//! `content_headers`. The column names are about half of a wide row's bytes, and every byte
//! is written twice (write-ahead log, then the database). `models::stored_copy::expand` gives
//! back the text the API shows, byte for byte what [`build_full`] makes.

use std::fmt::Write as _;

use chrono::NaiveDate;

use crate::models::stored_copy::{json_str_len, push_json_str};

use super::record::{Header, Record};

/// The longest content text, in bytes.
const MAX_CONTENT_BYTES: usize = 16 << 10;

/// A row's stored copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The text: packed (values by position) or full.
    pub text: String,
    /// Whether `text` is packed and needs the file's header names to be read.
    pub packed: bool,
}

/// Builds the stored copy, packed unless the full text would pass 16 KiB (then it is cut and
/// kept full); the flag says whether anything was cut.
pub(crate) fn build(
    label: &str,
    report_date: Option<NaiveDate>,
    header: &Header,
    rec: &Record,
) -> (Content, bool) {
    let mut out = String::with_capacity(rec.text_len() + 4 * rec.width() + 96);
    push_head(&mut out, label, report_date);
    // The length the full text would have, to keep the 16 KiB bound of the full form.
    let mut full_len = out.len();
    let mut cut = false;
    let mut first = true;
    let mut absent = 0usize;
    for (i, name) in header.names().iter().enumerate() {
        let Some(value) = rec.value(i) else {
            // Written only if a present value follows: trailing absent values are dropped.
            absent += 1;
            continue;
        };
        out.push_str(if first { r#","row":["# } else { "," });
        full_len += if first { 8 } else { 1 };
        first = false;
        for _ in 0..absent {
            out.push_str("null,");
        }
        absent = 0;
        let at = out.len();
        cut |= push_json_str(&mut out, value);
        full_len += json_str_len(name) + 1 + (out.len() - at);
    }
    if !first {
        out.push(']');
        full_len += 1;
    }
    let at = out.len();
    cut |= push_tail(&mut out, rec, cut);
    full_len += out.len() - at;
    if full_len <= MAX_CONTENT_BYTES {
        return (
            Content {
                text: out,
                packed: true,
            },
            cut,
        );
    }
    let (text, cut) = build_full(label, report_date, header, rec);
    (
        Content {
            text,
            packed: false,
        },
        cut,
    )
}

/// The full text, as the API shows it; the flag says whether anything was cut.
pub(crate) fn build_full(
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
    cut |= push_tail(&mut out, rec, cut);
    if out.len() <= MAX_CONTENT_BYTES {
        return (out, cut);
    }
    (build_bounded(label, report_date, header, rec), true)
}

/// `[,"_extra":[…]][,"truncated":true]}`, shared by both forms; whether a surplus cell was cut.
fn push_tail(out: &mut String, rec: &Record, cut_before: bool) -> bool {
    let mut cut = false;
    if rec.has_extra() {
        out.push_str(r#","_extra":["#);
        for (i, value) in rec.extras().enumerate() {
            if i > 0 {
                out.push(',');
            }
            cut |= push_json_str(out, value);
        }
        out.push(']');
    }
    if cut_before || cut {
        out.push_str(r#","truncated":true"#);
    }
    out.push('}');
    cut
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::stored_copy::expand;
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
        let (text, cut) = build_full("scan_telnet", NaiveDate::from_ymd_opt(2024, 1, 4), &h, &r);
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
        let (text, cut) = build_full("x", None, &h, &rec(&[Some("1"), Some(&long)], &[]));
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
        let (text, cut) = build_full("x", None, &h, &rec(&values, &["tail"]));
        assert!(cut);
        assert!(text.len() <= MAX_CONTENT_BYTES);
        let v: Value = serde_json::from_str(&text).unwrap();
        let row = v["row"].as_object().unwrap();
        assert!(row.contains_key("c0") && !row.contains_key("c39"));
        assert!(v.get("_extra").is_none());
        // Such a row is stored full (and cut); just under the bound it is packed.
        let (packed, full) = round_trip(&h, &rec(&values, &[]), None);
        assert!(!packed.packed);
        assert_eq!(packed.text, full);
        let values: Vec<Option<&str>> = (0..15).map(|_| Some(big.as_str())).collect();
        let (packed, full) = round_trip(&h, &rec(&values, &[]), None);
        assert!(packed.packed && full.len() <= MAX_CONTENT_BYTES);
    }

    /// The packed copy of `r`, expanded with the header's names.
    fn round_trip(h: &Header, r: &Record, date: Option<NaiveDate>) -> (Content, String) {
        let (packed, cut) = build("scan_x", date, h, r);
        let (full, full_cut) = build_full("scan_x", date, h, r);
        assert_eq!(cut, full_cut);
        let text = if packed.packed {
            expand(&packed.text, h.names()).unwrap()
        } else {
            packed.text.clone()
        };
        assert_eq!(text, full);
        (packed, full)
    }

    #[test]
    fn a_packed_copy_expands_to_the_full_text_byte_for_byte() {
        let h = Header::from_raw(["timestamp", "ip", "na\"me", "port", "x"]);
        let date = NaiveDate::from_ymd_opt(2024, 1, 4);
        let cases: Vec<Record> = vec![
            rec(
                &[Some("t"), None, Some("a \"b\"\r\n\u{1}\u{8}"), None, None],
                &[],
            ),
            rec(&[None, None, None, Some("443"), None], &["x", "", "y"]),
            rec(&[None, None, None, None, None], &[]),
            rec(&[None, None, None, None, None], &["only extra"]),
            rec(
                &[
                    Some(&"é".repeat(600)),
                    Some("1.2.3.4"),
                    None,
                    None,
                    Some("z"),
                ],
                &[],
            ),
        ];
        for r in &cases {
            for d in [None, date] {
                let (packed, _) = round_trip(&h, r, d);
                assert!(packed.packed);
            }
        }
        // Packed, the names are gone and absent values are nulls (none at the end).
        let (packed, full) = round_trip(&h, &cases[0], None);
        assert_eq!(
            packed.text,
            r#"{"source":"shadowserver","report_type":"scan_x","row":["t",null,"a \"b\"\r\n\u0001\u0008"]}"#
        );
        assert!(full.contains(r#""na\"me":"#));
    }

    #[test]
    fn expanding_needs_a_packed_text_and_every_position_named() {
        let h = Header::from_raw(["a", "b"]);
        assert_eq!(expand("not json", h.names()), None);
        assert_eq!(
            expand(
                r#"{"source":"shadowserver","report_type":"x","row":[null,"1","2"]}"#,
                h.names()
            ),
            None
        );
    }

    proptest::proptest! {
        #[test]
        fn any_row_round_trips(
            names in proptest::collection::vec("[a-z_\"\\\\\u{1}é]{0,12}", 1..12),
            values in proptest::collection::vec(proptest::option::of("[ -~\u{0}-\u{1f}é]{0,40}"), 0..14),
            extra in proptest::collection::vec("[ -~]{0,8}", 0..3),
        ) {
            let h = Header::from_raw(names.iter().map(String::as_str));
            let vals: Vec<Option<&str>> = values.iter().take(h.len()).map(|v| v.as_deref()).collect();
            let r = rec(&vals, &extra.iter().map(String::as_str).collect::<Vec<_>>());
            round_trip(&h, &r, None);
        }
    }
}
