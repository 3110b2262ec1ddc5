//! One file's header and decoded rows, shared by the readers (`read_csv.rs`, `read_json.rs`),
//! the mapper (`map.rs`) and the stored copy (`content.rs`): the header (column names, §2.3
//! C5), the decoded record, and what a reader produced for a row. It depends on none of them.

use std::collections::HashMap;

/// The largest record or JSON element accepted (§2.3 C9, §2.4 J5).
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Column names, normalised (§2.3 C5), with their positions.
#[derive(Debug, Default, Clone)]
pub(crate) struct Header {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    /// A header from the raw names of a header record or of a JSON object's keys: trimmed,
    /// ASCII-lower-cased, an empty name becomes `column_<n>`, repeats become `<name>_2`, ….
    pub fn from_raw<'s>(raw: impl IntoIterator<Item = &'s str>) -> Self {
        let mut h = Header::default();
        for name in normalise_names(raw) {
            h.push(name);
        }
        h
    }

    /// The position of a column, if present.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The position of a column, adding it at the end if absent.
    pub fn find_or_push(&mut self, name: String) -> usize {
        match self.index.get(&name) {
            Some(i) => *i,
            None => self.push(name),
        }
    }

    /// The names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    fn push(&mut self, name: String) -> usize {
        let i = self.names.len();
        self.index.insert(name.clone(), i);
        self.names.push(name);
        i
    }
}

/// C5 for one list of names: trim, lower-case, `column_<n>` for empty names, `_2`, `_3`, …
/// suffixes for repeats (skipping suffixes already taken).
pub(crate) fn normalise_names<'s>(raw: impl IntoIterator<Item = &'s str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashMap<String, ()> = HashMap::new();
    for (i, name) in raw.into_iter().enumerate() {
        let mut name = name.trim_ascii().to_ascii_lowercase();
        if name.is_empty() {
            name = format!("column_{}", i + 1);
        }
        if seen.contains_key(&name) {
            let base = name;
            let mut n = 2;
            name = loop {
                let candidate = format!("{base}_{n}");
                if !seen.contains_key(&candidate) {
                    break candidate;
                }
                n += 1;
            };
        }
        seen.insert(name.clone(), ());
        out.push(name);
    }
    out
}

/// One decoded row: values by header position (trimmed; empty is absent, §2.5 V1) and the
/// surplus cells of a long CSV row. All text lives in one buffer reused from row to row, so
/// decoding a row allocates nothing once the buffers have grown.
#[derive(Debug, Default, Clone)]
pub(crate) struct Record {
    text: String,
    values: Vec<Option<(usize, usize)>>,
    extra: Vec<(usize, usize)>,
}

impl Record {
    /// The value of the column at `col`, if the column exists and the value is present.
    pub fn get(&self, col: Option<usize>) -> Option<&str> {
        self.value(col?)
    }

    /// The value at position `i`, if present.
    pub fn value(&self, i: usize) -> Option<&str> {
        let (a, b) = (*self.values.get(i)?)?;
        self.text.get(a..b)
    }

    /// The number of value slots (the header's width once decoded).
    pub fn width(&self) -> usize {
        self.values.len()
    }

    /// Appends the next value, trimmed; empty becomes absent.
    pub fn push_value(&mut self, raw: &str) {
        let span = self.store(raw);
        self.values.push(span);
    }

    /// Sets the value of the column at `col`, trimmed, growing the record as needed.
    pub fn set(&mut self, col: usize, raw: &str) {
        if self.values.len() <= col {
            self.values.resize(col + 1, None);
        }
        self.values[col] = self.store(raw);
    }

    /// Grows the record to `width` slots with absent values.
    pub fn pad_to(&mut self, width: usize) {
        if self.values.len() < width {
            self.values.resize(width, None);
        }
    }

    /// Appends a surplus cell, trimmed (kept even when empty, to keep positions).
    pub fn push_extra(&mut self, raw: &str) {
        let end = self.text.len();
        let span = self.store(raw).unwrap_or((end, end));
        self.extra.push(span);
    }

    /// Drops empty surplus cells at the end.
    pub fn trim_extra(&mut self) {
        while self.extra.last().is_some_and(|(a, b)| a == b) {
            self.extra.pop();
        }
    }

    /// The surplus cells, in order.
    pub fn extras(&self) -> impl Iterator<Item = &str> {
        self.extra
            .iter()
            .map(|(a, b)| self.text.get(*a..*b).unwrap_or_default())
    }

    /// Whether the row had surplus cells.
    pub fn has_extra(&self) -> bool {
        !self.extra.is_empty()
    }

    /// The bytes of text held, a hint for sizing the stored copy.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Empties the record for reuse, keeping its buffers.
    pub fn clear(&mut self) {
        self.text.clear();
        self.values.clear();
        self.extra.clear();
    }

    /// Stores a trimmed value; its span, or `None` when empty.
    fn store(&mut self, raw: &str) -> Option<(usize, usize)> {
        let v = raw.trim_ascii();
        if v.is_empty() {
            return None;
        }
        let start = self.text.len();
        self.text.push_str(v);
        Some((start, self.text.len()))
    }

    /// Builds a record from values and surplus cells, for tests.
    #[cfg(test)]
    pub fn from_parts(values: &[Option<&str>], extra: &[&str]) -> Self {
        let mut r = Record::default();
        for v in values {
            r.push_value(v.unwrap_or_default());
        }
        for e in extra {
            r.push_extra(e);
        }
        r
    }

    /// The values and then the surplus cells as owned strings, for tests.
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<Option<String>> {
        (0..self.width())
            .map(|i| self.value(i).map(str::to_owned))
            .chain(self.extras().map(|e| Some(e.to_owned())))
            .collect()
    }
}

/// What a reader produced for one data row.
pub(crate) enum RawRow {
    /// A record was decoded into the caller's [`Record`].
    Record,
    /// A JSON element that is not an object: `malformed_row`, reading goes on.
    NotObject,
    /// A syntax error or oversize record: `malformed_row`, and the file stops (`incomplete`).
    Fatal(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklist_5_header_names_are_trimmed_lowered_and_deduplicated() {
        let h = Header::from_raw([" Timestamp ", "IP", "type", "", "type", "TYPE", "type_2"]);
        assert_eq!(
            h.names(),
            [
                "timestamp",
                "ip",
                "type",
                "column_4",
                "type_2",
                "type_3",
                "type_2_2"
            ]
        );
        assert_eq!(h.find("type_3"), Some(5));
    }
}
