//! Rows of one file: the header (column names, §2.3 C5), the decoded record, and
//! [`FileRows`], the iterator a writer drives. It pulls records from the CSV or JSON reader
//! one at a time (never the whole file), maps each through `map.rs`, and keeps the file's
//! counters (rows read, warnings, whether a syntax error cut the file short).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::detect::ReportType;
use super::input::{FileError, FileFacts, Format, ImportOptions};
use super::map::{MappedRow, Mapper, RowSkip, SkipReason};
use super::read_csv::CsvSource;
use super::read_json::JsonSource;
use super::summary::Warnings;

/// The largest record or JSON element accepted (§2.3 C9, §2.4 J5).
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// A stream of a file's bytes, borrowed from the report it belongs to.
pub(crate) type ByteStream<'a> = Box<dyn Read + Send + 'a>;

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

/// The reader behind a file.
enum Source<'a> {
    Csv(CsvSource<ByteStream<'a>>),
    Json(JsonSource<ByteStream<'a>>),
}

impl Source<'_> {
    fn next_row(&mut self, rec: &mut Record, warnings: &mut Warnings) -> Option<RawRow> {
        match self {
            Source::Csv(s) => s.next_row(rec, warnings),
            Source::Json(s) => s.next_row(rec, warnings),
        }
    }

    fn header(&self) -> &Header {
        match self {
            Source::Csv(s) => s.header(),
            Source::Json(s) => s.header(),
        }
    }
}

/// The rows of one file, mapped: an iterator of `Ok(MappedRow)` or `Err(RowSkip)`, in file
/// order. Every data row yields exactly one item, so the items counted equal
/// [`FileRows::rows_read`]. A syntax error ends the iteration after one `malformed_row` skip
/// and sets [`FileRows::is_incomplete`].
pub struct FileRows<'a> {
    source: Source<'a>,
    mapper: Mapper,
    record: Record,
    rows_read: u64,
    warnings: Warnings,
    incomplete: bool,
    done: bool,
    bytes_read: Arc<AtomicU64>,
    /// The most rows to yield ([`FileRows::limit_rows`]).
    row_limit: u64,
    /// Whether a row past `row_limit` was found.
    cut: bool,
}

impl<'a> FileRows<'a> {
    /// Opens the rows of a file: reads the header (CSV) or the first element (JSON) and
    /// decides the indicator column. A missing `timestamp` column or an unparsable first
    /// JSON element rejects the file (`unreadable_report`).
    pub(crate) fn open(
        stream: ByteStream<'a>,
        facts: &FileFacts,
        opts: &ImportOptions,
        bytes_read: Arc<AtomicU64>,
    ) -> Result<Self, FileError> {
        let mut warnings = Warnings::default();
        let source = match facts.format {
            Some(Format::Csv) => Source::Csv(CsvSource::open(stream, &mut warnings)?),
            Some(Format::Json) => Source::Json(JsonSource::open(stream, true, &mut warnings)?),
            Some(Format::Ndjson) => Source::Json(JsonSource::open(stream, false, &mut warnings)?),
            Some(Format::Zip) | None => {
                return Err(FileError::unreadable("not a CSV or JSON report"));
            }
        };
        let mapper = Mapper::new(
            &facts.report_type,
            source.header(),
            facts.report_date,
            opts.now,
        );
        Ok(FileRows {
            source,
            mapper,
            record: Record::default(),
            rows_read: 0,
            warnings,
            incomplete: false,
            done: false,
            bytes_read,
            row_limit: u64::MAX,
            cut: false,
        })
    }

    /// The file's label and rule.
    pub fn report_type(&self) -> &ReportType {
        self.mapper.report_type()
    }

    /// The column the indicator value comes from, `None` when the header has none.
    pub fn indicator_column(&self) -> Option<&str> {
        self.mapper.indicator_column()
    }

    /// The column names so far, which a packed copy's positions refer to (see
    /// [`super::Content`]). A JSON report's list grows as later objects add keys, only ever
    /// at the end, so any later list still reads the rows mapped before.
    pub fn column_names(&self) -> &[String] {
        self.source.header().names()
    }

    /// Data rows read so far (every item yielded is one row).
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// Bytes of the file read so far (inflated bytes for a zip member), for a progress bar
    /// against [`FileFacts::size`]; runs slightly ahead of the rows because of buffering.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// Warnings so far (complete once the iterator is exhausted).
    pub fn warnings(&self) -> &Warnings {
        &self.warnings
    }

    /// Whether a syntax error or oversize record stopped the file (§2.3 C9, §2.4 J5).
    pub fn is_incomplete(&self) -> bool {
        self.incomplete
    }

    /// Yields at most `max` rows (all files of one HTTP request share `import_max_rows`).
    /// Once they are yielded, the iteration ends; [`FileRows::was_cut`] then says whether
    /// the file had more. The row that tells is read but neither counted nor yielded.
    pub fn limit_rows(&mut self, max: u64) {
        self.row_limit = max;
    }

    /// Whether the file has rows past the limit of [`FileRows::limit_rows`], left unread.
    pub fn was_cut(&self) -> bool {
        self.cut
    }

    /// Appends up to `max` rows to `out` and returns how many were appended: 0 only when the
    /// file is exhausted. A convenience for writers that work in batches.
    pub fn next_batch(&mut self, max: usize, out: &mut Vec<Result<MappedRow, RowSkip>>) -> usize {
        let before = out.len();
        out.extend(self.by_ref().take(max));
        out.len() - before
    }
}

impl Iterator for FileRows<'_> {
    type Item = Result<MappedRow, RowSkip>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.rows_read >= self.row_limit {
            self.done = true;
            self.record.clear();
            // Warnings of a row that is not imported would only confuse the summary.
            let mut ignored = Warnings::default();
            self.cut = self
                .source
                .next_row(&mut self.record, &mut ignored)
                .is_some();
            return None;
        }
        self.record.clear();
        let raw = self.source.next_row(&mut self.record, &mut self.warnings);
        let Some(raw) = raw else {
            self.done = true;
            return None;
        };
        self.rows_read += 1;
        let row = self.rows_read;
        Some(match raw {
            RawRow::Record => {
                self.mapper
                    .map(row, &self.record, self.source.header(), &mut self.warnings)
            }
            RawRow::NotObject => Err(RowSkip {
                row,
                reason: SkipReason::MalformedRow,
                message: "the element is not a JSON object".to_owned(),
            }),
            RawRow::Fatal(message) => {
                self.done = true;
                self.incomplete = true;
                Err(RowSkip {
                    row,
                    reason: SkipReason::MalformedRow,
                    message,
                })
            }
        })
    }
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
