//! Rows of one file: [`FileRows`], the iterator a writer drives. It pulls records from the CSV or JSON reader
//! one at a time (never the whole file), maps each through `map.rs`, and keeps the file's
//! counters (rows read, warnings, whether a syntax error cut the file short).

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::detect::ReportType;
use super::file::{FileError, FileFacts, Format};
use super::map::{MappedRow, Mapper, RowSkip, SkipReason};
use super::read_csv::CsvSource;
use super::read_json::JsonSource;
use super::record::{Header, RawRow, Record};
use super::warnings::Warnings;

/// A stream of a file's bytes, borrowed from the report it belongs to.
pub(crate) type ByteStream<'a> = Box<dyn Read + Send + 'a>;

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
    /// JSON element rejects the file (`unreadable_report`). `now` is when the import started
    /// (later timestamps are refused).
    pub(crate) fn open(
        stream: ByteStream<'a>,
        facts: &FileFacts,
        now: chrono::NaiveDateTime,
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
        let mapper = Mapper::new(&facts.report_type, source.header(), facts.report_date, now);
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
