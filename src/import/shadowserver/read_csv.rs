//! CSV reports (spec §2.3): the `csv` crate in flexible mode over a byte filter that removes a
//! leading BOM and NUL bytes (C3) and bounds how far one record may run (C9). Fields are
//! decoded lossily (C4), found by header name (C5, C6), and short or long rows are kept (C8).

use std::io::{self, Read};

use super::file::FileError;
use super::record::{Header, MAX_RECORD_BYTES, RawRow, Record};
use super::warnings::Warnings;

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// How far the filter may run ahead of the current record start: one record plus the csv
/// reader's buffer (8 KiB by default) and some room.
const READ_AHEAD_LIMIT: u64 = MAX_RECORD_BYTES as u64 + (64 << 10);

/// Removes a leading BOM and every NUL byte, counts them, and refuses to read more than
/// [`READ_AHEAD_LIMIT`] bytes past the start of the record being parsed, so an unbalanced
/// quote cannot make the csv reader buffer the rest of a huge file.
pub(crate) struct Filter<R> {
    inner: R,
    /// Bytes of the start of the stream held back while looking for a BOM.
    pending: Vec<u8>,
    started: bool,
    /// Bytes handed out so far (after filtering), the coordinates of `csv::Position::byte`.
    emitted: u64,
    /// Where the record being parsed starts, in the same coordinates.
    record_start: u64,
    /// A BOM was dropped and not yet counted.
    pub bom_removed: bool,
    /// NUL bytes dropped and not yet counted.
    pub nul_removed: u64,
}

impl<R: Read> Filter<R> {
    /// A filter over `inner`.
    pub fn new(inner: R) -> Self {
        Filter {
            inner,
            pending: Vec::new(),
            started: false,
            emitted: 0,
            record_start: 0,
            bom_removed: false,
            nul_removed: 0,
        }
    }

    /// Reads the first bytes and drops a BOM if they are one.
    fn start(&mut self) -> io::Result<()> {
        self.started = true;
        let mut head = [0u8; 3];
        let mut n = 0;
        while n < head.len() {
            match self.inner.read(&mut head[n..])? {
                0 => break,
                k => n += k,
            }
        }
        if head[..n] == *BOM {
            self.bom_removed = true;
        } else {
            self.pending.extend_from_slice(&head[..n]);
        }
        Ok(())
    }
}

impl<R: Read> Read for Filter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.started {
            self.start()?;
        }
        if self.emitted.saturating_sub(self.record_start) > READ_AHEAD_LIMIT {
            return Err(io::Error::other(RecordTooLong));
        }
        loop {
            let n = if self.pending.is_empty() {
                self.inner.read(buf)?
            } else {
                let n = self.pending.len().min(buf.len());
                buf[..n].copy_from_slice(&self.pending[..n]);
                self.pending.drain(..n);
                n
            };
            if n == 0 {
                return Ok(0);
            }
            let kept = remove_nul(&mut buf[..n]);
            self.nul_removed += (n - kept) as u64;
            if kept > 0 {
                self.emitted += kept as u64;
                return Ok(kept);
            }
        }
    }
}

/// Compacts `buf` without its NUL bytes; returns the new length.
fn remove_nul(buf: &mut [u8]) -> usize {
    if !buf.contains(&0) {
        return buf.len();
    }
    let mut w = 0;
    for r in 0..buf.len() {
        if buf[r] != 0 {
            buf[w] = buf[r];
            w += 1;
        }
    }
    w
}

/// The error the filter raises past the read-ahead limit.
#[derive(Debug)]
struct RecordTooLong;

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a record is longer than {MAX_RECORD_BYTES} bytes")
    }
}

impl std::error::Error for RecordTooLong {}

/// The records of a CSV file after its header.
pub(crate) struct CsvSource<R: Read> {
    reader: csv::Reader<Filter<R>>,
    raw: csv::ByteRecord,
    header: Header,
}

impl<R: Read> CsvSource<R> {
    /// Reads the header; a header without `timestamp` rejects the file (C7).
    pub fn open(inner: R, warnings: &mut Warnings) -> Result<Self, FileError> {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Filter::new(inner));
        let mut src = CsvSource {
            reader,
            raw: csv::ByteRecord::new(),
            header: Header::default(),
        };
        let header = match src.read_raw() {
            Ok(true) => {
                let names: Vec<String> = src
                    .raw
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                Header::from_raw(names.iter().map(String::as_str))
            }
            Ok(false) => Header::default(),
            Err(e) => return Err(FileError::unreadable(format!("unreadable header: {e}"))),
        };
        src.count_filter(warnings);
        if header.find("timestamp").is_none() {
            return Err(FileError::unreadable("no timestamp column"));
        }
        src.header = header;
        Ok(src)
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Decodes the next data row into `rec`; `None` at the end of the file.
    pub fn next_row(&mut self, rec: &mut Record, warnings: &mut Warnings) -> Option<RawRow> {
        let read = self.read_raw();
        self.count_filter(warnings);
        match read {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => return Some(RawRow::Fatal(e)),
        }
        let width = self.header.len();
        let mut invalid_utf8 = false;
        for (i, field) in self.raw.iter().enumerate() {
            let lossy;
            let text = match std::str::from_utf8(field) {
                Ok(s) => s,
                Err(_) => {
                    invalid_utf8 = true;
                    lossy = String::from_utf8_lossy(field);
                    &lossy
                }
            };
            if i < width {
                rec.push_value(text);
            } else {
                rec.push_extra(text);
            }
        }
        // Empty surplus cells at the end (a trailing comma) carry nothing: not a long row.
        rec.trim_extra();
        if self.raw.len() < width {
            warnings.short_rows += 1;
            rec.pad_to(width);
        } else if rec.has_extra() {
            warnings.long_rows += 1;
        }
        if invalid_utf8 {
            warnings.invalid_utf8_rows += 1;
        }
        Some(RawRow::Record)
    }

    /// Reads the next record that is not a blank line into `self.raw`. `Ok(false)` at the end;
    /// `Err` for an I/O error or a record over 1 MiB (the file stops there).
    fn read_raw(&mut self) -> Result<bool, String> {
        loop {
            let start = self.reader.position().byte();
            self.reader.get_mut().record_start = start;
            match self.reader.read_byte_record(&mut self.raw) {
                Ok(false) => return Ok(false),
                Ok(true) => {}
                Err(e) => {
                    return Err(match e.into_kind() {
                        csv::ErrorKind::Io(io) => io.to_string(),
                        other => format!("{other:?}"),
                    });
                }
            }
            let len = self.reader.position().byte().saturating_sub(start);
            if len > MAX_RECORD_BYTES as u64 {
                return Err(format!("a record is longer than {MAX_RECORD_BYTES} bytes"));
            }
            // A line of nothing but spaces or tabs is as blank as an empty one (C2).
            let blank = self.raw.len() == 1 && self.raw[0].trim_ascii().is_empty();
            if !blank {
                return Ok(true);
            }
        }
    }

    /// Moves the filter's BOM and NUL counts into the warnings.
    fn count_filter(&mut self, warnings: &mut Warnings) {
        let f = self.reader.get_mut();
        if f.bom_removed {
            warnings.bom_removed += 1;
            f.bom_removed = false;
        }
        warnings.nul_bytes_removed += f.nul_removed;
        f.nul_removed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &[u8]) -> (Vec<Vec<Option<String>>>, Warnings) {
        let mut w = Warnings::default();
        let mut src = CsvSource::open(text, &mut w).unwrap();
        let mut out = Vec::new();
        let mut rec = Record::default();
        while let Some(raw) = src.next_row(&mut rec, &mut w) {
            assert!(matches!(raw, RawRow::Record));
            out.push(rec.to_vec());
            rec.clear();
        }
        (out, w)
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn checklist_2_line_endings_and_blank_lines() {
        let want = vec![vec![s("1"), s("a")], vec![s("2"), s("b")]];
        for text in [
            &b"timestamp,x\n1,a\n2,b\n"[..],
            b"timestamp,x\r\n1,a\r\n2,b\r\n",
            b"timestamp,x\r1,a\r2,b\r",
            b"timestamp,x\n1,a\n2,b",
            b"timestamp,x\n1,a\n2,b\n\n\n\n",
            b"\n\ntimestamp,x\n\n1,a\r\n  \n2,b\r\n\r\n",
        ] {
            assert_eq!(rows(text).0, want, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn checklist_3_quoting_is_rfc_4180() {
        let text = b"timestamp,sector,banner,port\n\
            1,\"Communications, Service Provider\",\"say \"\"hi\"\"\r\nthere\",\"80\"\n\
            2,x,y,80\n";
        let (r, _) = rows(text);
        assert_eq!(r[0][1], s("Communications, Service Provider"));
        assert_eq!(r[0][2], s("say \"hi\"\r\nthere"));
        assert_eq!(r[0][3], r[1][3]);
    }

    #[test]
    fn checklist_4_short_and_long_rows_are_kept() {
        let (r, w) = rows(b"timestamp,a,b\n1,x\n2,x,y,z,,w,,\n3,x,y,,\n");
        assert_eq!(r[0], vec![s("1"), s("x"), None]);
        assert_eq!(r[1], vec![s("2"), s("x"), s("y"), s("z"), s(""), s("w")]);
        assert_eq!(r[2], vec![s("3"), s("x"), s("y")]);
        assert_eq!((w.short_rows, w.long_rows), (1, 1));
    }

    #[test]
    fn checklist_1_and_17_bom_nul_and_invalid_utf8() {
        let (r, w) = rows(b"\xEF\xBB\xBFtime\0stamp,banner\n1,ab\0c\xFF\n");
        assert_eq!(r, vec![vec![s("1"), s("abc\u{FFFD}")]]);
        assert_eq!(
            (w.bom_removed, w.nul_bytes_removed, w.invalid_utf8_rows),
            (1, 2, 1)
        );
    }

    #[test]
    fn checklist_7_no_timestamp_column_is_unreadable() {
        let mut w = Warnings::default();
        let e = CsvSource::open(&b"ip,port\n1.2.3.4,80\n"[..], &mut w)
            .err()
            .unwrap();
        assert_eq!(e.message, "no timestamp column");
        assert!(CsvSource::open(&b"\0\0\0"[..], &mut w).is_err());
    }

    #[test]
    fn checklist_15_an_oversize_record_stops_the_file_with_bounded_memory() {
        let mut text = b"timestamp,x\n1,a\n2,\"unterminated".to_vec();
        text.extend(std::iter::repeat_n(b'x', 3 << 20));
        text.extend_from_slice(b"\n3,c\n");
        let mut w = Warnings::default();
        let mut src = CsvSource::open(&text[..], &mut w).unwrap();
        let mut rec = Record::default();
        assert!(matches!(
            src.next_row(&mut rec, &mut w),
            Some(RawRow::Record)
        ));
        match src.next_row(&mut rec, &mut w) {
            Some(RawRow::Fatal(m)) => assert!(m.contains("longer than"), "{m}"),
            _ => panic!("expected a fatal row"),
        }
        assert!(src.reader.get_ref().emitted <= READ_AHEAD_LIMIT + (64 << 10) + 2 * 16);
    }
}
