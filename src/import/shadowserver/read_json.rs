//! JSON reports (spec §2.4): an array, or a stream of whitespace-separated values (NDJSON,
//! pretty-printed objects alike). A small byte scanner cuts the input into elements, one at a
//! time and at most 1 MiB each (J5), and serde parses each element on its own, so no array is
//! ever held whole. Keys are column names (J2, with C5's normalising); values become strings
//! (J4).

use std::fmt;
use std::io::{BufRead, BufReader, Read};

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::file::FileError;
use super::record::{Header, MAX_RECORD_BYTES, RawRow, Record, normalise_names};
use super::warnings::Warnings;

/// A parsed element: an object's members in order (duplicates kept), or something else.
enum Element {
    Object(Vec<(String, Value)>),
    Other,
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ElementVisitor)
    }
}

struct ElementVisitor;

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Element;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
        let mut members = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            members.push((k, v));
        }
        Ok(Element::Object(members))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Element::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Element, E> {
        Ok(Element::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Element, E> {
        Ok(Element::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Element, E> {
        Ok(Element::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Element, E> {
        Ok(Element::Other)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Element, E> {
        Ok(Element::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Element, E> {
        Ok(Element::Other)
    }
}

/// J4: a JSON value as the string a column holds; `None` for `null` (absent).
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter_map(value_text)
                .filter(|p| !p.trim_ascii().is_empty())
                .collect();
            (!parts.is_empty()).then(|| parts.join(";"))
        }
        Value::Object(_) => Some(v.to_string()),
    }
}

/// What the scanner found next.
enum Step {
    /// An element's bytes are in the buffer.
    Element,
    /// The array closed, or the stream ended cleanly.
    End,
    /// A syntax error, or an element over 1 MiB.
    Error(String),
}

/// Where the scanner is.
#[derive(PartialEq, Eq)]
enum State {
    /// Before the first element (after `[` for an array).
    First,
    /// After an element.
    Between,
    /// After the end, or after an error.
    Done,
}

/// The elements of a JSON array or value stream, as records.
pub(crate) struct JsonSource<R: Read> {
    input: BufReader<R>,
    array: bool,
    state: State,
    buf: Vec<u8>,
    header: Header,
    /// The first element, decoded at open and handed out as the first row.
    first: Option<Vec<(String, Value)>>,
}

impl<R: Read> JsonSource<R> {
    /// Opens the file and reads its first element (J3): it must be an object with a
    /// `timestamp` key, else the file is rejected. An empty array is a report without rows.
    pub fn open(inner: R, array: bool, warnings: &mut Warnings) -> Result<Self, FileError> {
        let mut src = JsonSource {
            input: BufReader::with_capacity(64 << 10, inner),
            array,
            state: State::First,
            buf: Vec::new(),
            header: Header::default(),
            first: None,
        };
        let bom = src
            .skip_bom()
            .map_err(|e| FileError::unreadable(format!("unreadable JSON: {e}")))?;
        if bom {
            warnings.bom_removed += 1;
        }
        if array {
            match src.skip_ws_peek() {
                Ok(Some(b'[')) => src.input.consume(1),
                _ => return Err(FileError::unreadable("not a JSON array")),
            }
        }
        match src.next_step() {
            Step::End => Ok(src),
            Step::Error(e) => Err(FileError::unreadable(format!("unreadable JSON: {e}"))),
            Step::Element => match serde_json::from_slice::<Element>(&src.buf) {
                Ok(Element::Object(members)) => {
                    let names = normalise_names(members.iter().map(|(k, _)| k.as_str()));
                    if !names.iter().any(|n| n == "timestamp") {
                        return Err(FileError::unreadable(
                            "the first JSON object has no timestamp key",
                        ));
                    }
                    src.header = Header::from_raw(names.iter().map(String::as_str));
                    src.first = Some(members);
                    Ok(src)
                }
                Ok(Element::Other) => Err(FileError::unreadable(
                    "the first JSON element is not an object",
                )),
                Err(e) => Err(FileError::unreadable(format!("unreadable JSON: {e}"))),
            },
        }
    }

    /// The key set of the first object, grown by keys later objects add.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Decodes the next element into `rec`; `None` at the end.
    pub fn next_row(&mut self, rec: &mut Record, _warnings: &mut Warnings) -> Option<RawRow> {
        if let Some(members) = self.first.take() {
            self.fill(rec, members);
            return Some(RawRow::Record);
        }
        match self.next_step() {
            Step::End => None,
            Step::Error(e) => Some(RawRow::Fatal(e)),
            Step::Element => match serde_json::from_slice::<Element>(&self.buf) {
                Ok(Element::Object(members)) => {
                    self.fill(rec, members);
                    Some(RawRow::Record)
                }
                Ok(Element::Other) => Some(RawRow::NotObject),
                Err(e) => {
                    self.state = State::Done;
                    Some(RawRow::Fatal(format!("JSON syntax error: {e}")))
                }
            },
        }
    }

    /// Puts an object's members into the record by (normalised) key.
    fn fill(&mut self, rec: &mut Record, members: Vec<(String, Value)>) {
        let names = normalise_names(members.iter().map(|(k, _)| k.as_str()));
        rec.pad_to(self.header.len());
        for (name, (_, value)) in names.into_iter().zip(members) {
            let col = self.header.find_or_push(name);
            rec.set(col, value_text(&value).as_deref().unwrap_or_default());
        }
        rec.pad_to(self.header.len());
    }

    /// Drops a leading UTF-8 BOM; whether there was one.
    fn skip_bom(&mut self) -> std::io::Result<bool> {
        let head = self.input.fill_buf()?;
        if head.starts_with(b"\xEF\xBB\xBF") {
            self.input.consume(3);
            return Ok(true);
        }
        Ok(false)
    }

    /// Skips whitespace and returns the next byte without consuming it.
    fn skip_ws_peek(&mut self) -> std::io::Result<Option<u8>> {
        loop {
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                return Ok(None);
            }
            match chunk.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    let b = chunk[i];
                    self.input.consume(i);
                    return Ok(Some(b));
                }
                None => {
                    let n = chunk.len();
                    self.input.consume(n);
                }
            }
        }
    }

    /// Finds the next element and copies its bytes into `self.buf`.
    fn next_step(&mut self) -> Step {
        let step = self.scan();
        if !matches!(step, Step::Element) {
            self.state = State::Done;
        }
        step
    }

    fn scan(&mut self) -> Step {
        if self.state == State::Done {
            return Step::End;
        }
        let next = match self.skip_ws_peek() {
            Ok(b) => b,
            Err(e) => return Step::Error(e.to_string()),
        };
        if self.array {
            match (&self.state, next) {
                (_, None) => return Step::Error("the array is not closed".into()),
                (State::First, Some(b']')) | (State::Between, Some(b']')) => {
                    self.input.consume(1);
                    return match self.skip_ws_peek() {
                        Ok(None) => Step::End,
                        Ok(Some(_)) => Step::Error("data after the closing ']'".into()),
                        Err(e) => Step::Error(e.to_string()),
                    };
                }
                (State::Between, Some(b',')) => {
                    self.input.consume(1);
                    match self.skip_ws_peek() {
                        Ok(Some(b']')) | Ok(None) => {
                            return Step::Error("expected an element after ','".into());
                        }
                        Ok(Some(_)) => {}
                        Err(e) => return Step::Error(e.to_string()),
                    }
                }
                (State::Between, Some(b)) => {
                    return Step::Error(format!("expected ',' or ']', found {:?}", b as char));
                }
                (_, Some(_)) => {}
            }
        } else if next.is_none() {
            return Step::End;
        }
        self.state = State::Between;
        match self.capture() {
            Ok(()) => Step::Element,
            Err(e) => Step::Error(e),
        }
    }

    /// Copies one value's bytes into `self.buf`: an object, array or string up to its close, a
    /// bare literal up to the next delimiter. Stops past 1 MiB.
    fn capture(&mut self) -> Result<(), String> {
        self.buf.clear();
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut started = false;
        let mut bare = false;
        loop {
            let chunk = self.input.fill_buf().map_err(|e| e.to_string())?;
            if chunk.is_empty() {
                if bare && started {
                    return Ok(());
                }
                return Err("the input ends inside an element".into());
            }
            let mut end = None;
            for (i, &b) in chunk.iter().enumerate() {
                if !started {
                    started = true;
                    match b {
                        b'{' | b'[' => depth = 1,
                        b'"' => in_string = true,
                        _ => bare = true,
                    }
                    continue;
                }
                if bare {
                    if b.is_ascii_whitespace() || matches!(b, b',' | b']' | b'}' | b'[' | b'{') {
                        end = Some(i);
                        break;
                    }
                    continue;
                }
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let used = end.unwrap_or(chunk.len());
            self.buf.extend_from_slice(&chunk[..used]);
            self.input.consume(used);
            if self.buf.len() > MAX_RECORD_BYTES {
                return Err(format!(
                    "an element is larger than {MAX_RECORD_BYTES} bytes"
                ));
            }
            if end.is_some() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    enum Got {
        Row(Vec<(String, String)>),
        NotObject,
        Fatal,
    }

    fn read(text: &[u8], array: bool) -> Result<Vec<Got>, FileError> {
        let mut w = Warnings::default();
        let mut src = JsonSource::open(text, array, &mut w)?;
        let mut out = Vec::new();
        let mut rec = Record::default();
        while let Some(raw) = src.next_row(&mut rec, &mut w) {
            out.push(match raw {
                RawRow::Record => Got::Row(
                    src.header()
                        .names()
                        .iter()
                        .zip(rec.to_vec())
                        .filter_map(|(n, v)| Some((n.clone(), v?)))
                        .collect(),
                ),
                RawRow::NotObject => Got::NotObject,
                RawRow::Fatal(_) => Got::Fatal,
            });
            rec.clear();
        }
        Ok(out)
    }

    fn row(g: &Got) -> Vec<(&str, &str)> {
        match g {
            Got::Row(r) => r.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            _ => panic!("not a row"),
        }
    }

    #[test]
    fn checklist_18_values_become_strings() {
        let text = br#"[{"Timestamp": "2024-01-04T08:04:37Z", "port": 443, "ok": true,
            "asn": null, "tag": ["ssl", "vpn"], "x": {"a": [1, 2]}, "s": "  pad  ",
            "type": "a", "TYPE": "b"}]"#;
        let rows = read(text, true).unwrap();
        assert_eq!(
            row(&rows[0]),
            [
                ("timestamp", "2024-01-04T08:04:37Z"),
                ("port", "443"),
                ("ok", "true"),
                ("tag", "ssl;vpn"),
                ("x", r#"{"a":[1,2]}"#),
                ("s", "pad"),
                ("type", "a"),
                ("type_2", "b"),
            ]
        );
    }

    #[test]
    fn checklist_18_ndjson_and_pretty_printed_streams_read_alike() {
        let array = br#"[{"timestamp":"1","ip":"a"},{"timestamp":"2","ip":"b"}]"#;
        let ndjson = b"{\"timestamp\":\"1\",\"ip\":\"a\"}\n{\"timestamp\":\"2\",\"ip\":\"b\"}\n";
        let pretty = b"{\n  \"timestamp\": \"1\",\n  \"ip\": \"a\"\n}\n{\n  \"timestamp\": \"2\",\n  \"ip\": \"b\"\n}";
        let a: Vec<_> = read(array, true)
            .unwrap()
            .iter()
            .map(row)
            .map(|r| format!("{r:?}"))
            .collect();
        let n: Vec<_> = read(ndjson, false)
            .unwrap()
            .iter()
            .map(row)
            .map(|r| format!("{r:?}"))
            .collect();
        let p: Vec<_> = read(pretty, false)
            .unwrap()
            .iter()
            .map(row)
            .map(|r| format!("{r:?}"))
            .collect();
        assert_eq!(a.len(), 2);
        assert_eq!(a, n);
        assert_eq!(a, p);
    }

    #[test]
    fn checklist_18_a_string_mid_array_is_one_malformed_row() {
        let text = br#"[{"timestamp":"1"}, "oops", 3, [1], {"timestamp":"2"}]"#;
        let rows = read(text, true).unwrap();
        assert_eq!(rows.len(), 5);
        assert!(matches!(rows[1], Got::NotObject));
        assert!(matches!(rows[2], Got::NotObject));
        assert!(matches!(rows[3], Got::NotObject));
        assert!(matches!(rows[4], Got::Row(_)));
    }

    #[test]
    fn checklist_18_an_array_cut_off_after_two_elements_is_incomplete() {
        let text = br#"[{"timestamp":"1"},{"timestamp":"2"},{"timest"#;
        let rows = read(text, true).unwrap();
        assert_eq!(rows.len(), 3);
        assert!(matches!(rows[2], Got::Fatal));
        let text = br#"[{"timestamp":"1"},{"timestamp":"2"}"#;
        let rows = read(text, true).unwrap();
        assert!(matches!(rows[2], Got::Fatal));
        let text = br#"[{"timestamp":"1"},{"timestamp":"2"},]"#;
        assert!(matches!(read(text, true).unwrap()[2], Got::Fatal));
        let text = br#"[{"timestamp":"1"} {"timestamp":"2"}]"#;
        assert!(matches!(read(text, true).unwrap()[1], Got::Fatal));
    }

    #[test]
    fn checklist_19_an_empty_array_has_no_rows() {
        assert!(read(b" [ ] ", true).unwrap().is_empty());
        assert!(read(b"\xEF\xBB\xBF[]", true).unwrap().is_empty());
    }

    #[test]
    fn a_first_element_without_timestamp_or_not_an_object_is_unreadable() {
        for (text, array) in [
            (&br#"["a", "b"]"#[..], true),
            (br#"[{"ip": "1.2.3.4"}]"#, true),
            (br#"{"blocklist": {"name": "x"}}"#, false),
            (br#"[{"timestamp": }]"#, true),
            (b"[", true),
        ] {
            let e = read(text, array).err().unwrap();
            assert_eq!(e.code.as_str(), "unreadable_report");
        }
    }

    #[test]
    fn checklist_15_an_element_over_1_mib_stops_the_file() {
        let mut text = br#"[{"timestamp":"1"},{"timestamp":""#.to_vec();
        text.extend(std::iter::repeat_n(b'x', 2 << 20));
        text.extend_from_slice(br#""}]"#);
        let rows = read(&text, true).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(matches!(rows[1], Got::Fatal));
    }
}
