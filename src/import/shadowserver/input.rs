//! Opening a report (spec §2.1, §2.2): the hashing pass, format detection by content, zip
//! archives and their members, and type detection for each resulting file.
//!
//! [`open_report`] reads its input once to hash and sniff it (a zip's members are each
//! inflated once, against the inflated-size budget, before anything is imported) and answers
//! a [`Report`]: the list of files it holds ([`FileFacts`], enough for the ledger check) and
//! [`Report::rows`] to stream one file's rows. Nothing is held in memory beyond a buffer.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::{NaiveDate, NaiveDateTime};
use sha2::{Digest, Sha256};
use zip::{CompressionMethod, ZipArchive};

use crate::domain::hex::hex;

use super::detect;
use super::file::{FileError, FileFacts, Format};
use super::read::{ByteStream, FileRows};

/// Default for `import_max_unzipped_bytes` (§1.3): 4 GiB of inflated content per archive.
pub const DEFAULT_MAX_UNZIPPED_BYTES: u64 = 4 << 30;
/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Read size of the hashing pass.
const CHUNK: usize = 64 << 10;

/// What the caller knows about an input besides its bytes.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// When the import started (UTC): timestamps more than 24 hours later are refused (V6).
    pub now: NaiveDateTime,
    /// An explicit type (`--type`, `?type=`), already checked with
    /// [`normalise_type`](super::normalise_type); it applies to every file and zip member.
    pub explicit_type: Option<String>,
    /// Pull only: the Reports API list entry's `type`.
    pub list_entry_type: Option<String>,
    /// Pull only: the list entry's report date; otherwise the date comes from the name.
    pub report_date: Option<NaiveDate>,
    /// The SHA-256 (lower-case hex) of the raw input when the caller computed it while
    /// spooling; it spares a plain file the hashing pass. Ignored for zip archives, whose
    /// members are hashed one by one.
    pub sha256: Option<String>,
    /// The SHA-256 of a plain input being computed on another thread (the CLI, for a named
    /// file): opening then only sniffs the input, and the rows are read while the hash is
    /// computed; the import waits for it before its first write. Ignored when `sha256` is
    /// given and for zip archives.
    pub pending_sha256: Option<PendingHash>,
    /// `import_max_unzipped_bytes`: the most inflated content an archive may hold.
    pub max_unzipped_bytes: u64,
    /// `import_max_zip_members` (HTTP only): the most importable members an archive may
    /// hold, counted from its central directory before any member is inflated; `None` is
    /// no limit.
    pub max_zip_members: Option<u64>,
}

impl ImportOptions {
    /// Options with no type, no known hash and the default inflated-size limit.
    pub fn new(now: NaiveDateTime) -> Self {
        ImportOptions {
            now,
            explicit_type: None,
            list_entry_type: None,
            report_date: None,
            sha256: None,
            pending_sha256: None,
            max_unzipped_bytes: DEFAULT_MAX_UNZIPPED_BYTES,
            max_zip_members: None,
        }
    }
}

/// An input that cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Reading the input failed (not a content problem).
    #[error("could not read the input: {0}")]
    Io(#[from] io::Error),
    /// A zip archive inflates past `import_max_unzipped_bytes` (HTTP 413, CLI `rejected`);
    /// nothing may be written.
    #[error("the archive inflates to more than {limit} bytes")]
    UnzippedTooLarge {
        /// The limit that was passed.
        limit: u64,
    },
    /// A zip archive holds more importable members than `import_max_zip_members` (HTTP 413
    /// `import_too_large`); found before any member is read, so nothing may be written.
    #[error("the archive holds {members} importable members, more than {limit}")]
    TooManyMembers {
        /// The importable members counted.
        members: u64,
        /// The limit that was passed.
        limit: u64,
    },
}

/// Where a report's bytes come from.
enum Source<R> {
    Plain(R),
    Zip(ZipArchive<R>),
    /// A zip archive that could not be opened: nothing to read.
    Nothing,
}

/// An opened report: its files and a way to read each one's rows.
pub struct Report<R> {
    source: Source<R>,
    files: Vec<FileFacts>,
    opts: ImportOptions,
}

/// Opens a report from a seekable input named `name` (a path or basename; empty when
/// unnamed): hashes and sniffs it, and for a zip archive lists, hashes and sniffs its
/// members. Content problems become rejected [`FileFacts`]; only I/O errors and an archive
/// inflating past the limit are errors.
pub fn open_report<R: Read + Seek + Send>(
    mut reader: R,
    name: &str,
    opts: &ImportOptions,
) -> Result<Report<R>, ImportError> {
    reader.seek(SeekFrom::Start(0))?;
    let known_hash = opts.sha256.clone();
    let hash_here = known_hash.is_none() && opts.pending_sha256.is_none();
    let scan = match scan(&mut reader, hash_here, None) {
        Ok(s) => s,
        Err(ScanError::Io(e)) => return Err(ImportError::Io(e)),
        // A scan without a budget never runs over one.
        Err(ScanError::OverBudget) => {
            return Err(ImportError::UnzippedTooLarge {
                limit: opts.max_unzipped_bytes,
            });
        }
    };
    if scan.sniff == Sniff::Zip {
        return open_zip(reader, name, opts);
    }
    let base = basename(name);
    let mut facts = facts_for(base, &[base], opts);
    facts.sha256 = known_hash.or(scan.sha256);
    facts.size = match scan.size {
        Some(size) => Some(size),
        None => Some(reader.seek(SeekFrom::End(0))?),
    };
    apply_sniff(&mut facts, scan.sniff, false);
    Ok(Report {
        source: Source::Plain(reader),
        files: vec![facts],
        opts: opts.clone(),
    })
}

impl<R: Read + Seek + Send> Report<R> {
    /// The files of the report: one for a plain file, one per importable member for a zip
    /// archive (or one rejected entry for an archive that has none or cannot be read).
    pub fn files(&self) -> &[FileFacts] {
        &self.files
    }

    /// The hash of file `index` when it is still being computed on another thread (a plain
    /// input opened with [`ImportOptions::pending_sha256`]); its [`FileFacts::sha256`] is then
    /// `None`.
    pub fn pending_sha256(&self, index: usize) -> Option<PendingHash> {
        let facts = self.files.get(index)?;
        match self.source {
            Source::Plain(_) if facts.sha256.is_none() => self.opts.pending_sha256.clone(),
            _ => None,
        }
    }

    /// Whether the input was a zip archive.
    pub fn is_zip(&self) -> bool {
        !matches!(self.source, Source::Plain(_))
    }

    /// Opens the rows of file `index` (see [`Report::files`]). Reads the header or the first
    /// JSON element, so a file can still be rejected here (`unreadable_report`: no
    /// `timestamp` column, an unparsable first element); rejected files are not recorded in
    /// the ledger, so open the rows before inserting the ledger row.
    pub fn rows(&mut self, index: usize) -> Result<FileRows<'_>, FileError> {
        let facts = self
            .files
            .get(index)
            .ok_or_else(|| FileError::unreadable("no such file in the report"))?;
        if let Some(e) = &facts.rejected {
            return Err(e.clone());
        }
        let counter = Arc::new(AtomicU64::new(0));
        let stream: ByteStream<'_> = match (&mut self.source, facts.member) {
            (Source::Plain(r), _) => {
                r.seek(SeekFrom::Start(0))
                    .map_err(|e| FileError::unreadable(format!("cannot read the file: {e}")))?;
                Box::new(Counting::new(r, counter.clone()))
            }
            (Source::Zip(archive), Some(i)) => {
                let member = archive
                    .by_index(i)
                    .map_err(|e| FileError::unreadable(format!("cannot read the member: {e}")))?;
                Box::new(Counting::new(member, counter.clone()))
            }
            _ => return Err(FileError::unreadable("nothing to read")),
        };
        FileRows::open(stream, facts, self.opts.now, counter)
    }
}

/// The SHA-256 of a file, computed on a thread of its own from a handle of its own.
#[derive(Debug, Clone)]
pub struct PendingHash(Arc<OnceLock<Result<String, String>>>);

impl PendingHash {
    /// Starts hashing the file at `path`.
    pub fn of_file(path: &Path) -> PendingHash {
        let cell = Arc::new(OnceLock::new());
        let result = cell.clone();
        let path = path.to_owned();
        let spawned = std::thread::Builder::new()
            .name("sha256".into())
            .spawn(move || {
                let hashed = File::open(&path)
                    .map_err(ScanError::Io)
                    .and_then(|mut f| scan(&mut f, true, None))
                    .map(|s| s.sha256.unwrap_or_default())
                    .map_err(|e| match e {
                        ScanError::Io(e) => e.to_string(),
                        ScanError::OverBudget => "over budget".to_owned(),
                    });
                let _ = result.set(hashed);
            });
        if let Err(e) = spawned {
            let _ = cell.set(Err(e.to_string()));
        }
        PendingHash(cell)
    }

    /// Waits for the hash (lower-case hex), or the error that stopped it.
    pub fn wait(&self) -> Result<&str, &str> {
        match self.0.wait() {
            Ok(hash) => Ok(hash),
            Err(message) => Err(message),
        }
    }
}

/// Counts the bytes read through it (for progress: bytes done of [`FileFacts::size`]).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R> Counting<R> {
    fn new(inner: R, count: Arc<AtomicU64>) -> Self {
        Counting { inner, count }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// §2.2: lists, filters, hashes and sniffs the members of an archive.
fn open_zip<R: Read + Seek + Send>(
    reader: R,
    name: &str,
    opts: &ImportOptions,
) -> Result<Report<R>, ImportError> {
    let archive_name = basename(name);
    let rejected_archive = |message: String| {
        let mut facts = facts_for(archive_name, &[archive_name], opts);
        facts.format = Some(Format::Zip);
        facts.rejected = Some(FileError::unreadable(message));
        facts
    };
    let mut archive = match ZipArchive::new(reader) {
        Ok(a) => a,
        Err(zip::result::ZipError::Io(e)) => return Err(ImportError::Io(e)),
        Err(e) => {
            return Ok(Report {
                source: Source::Nothing,
                files: vec![rejected_archive(format!("not a readable zip archive: {e}"))],
                opts: opts.clone(),
            });
        }
    };
    if let Some(limit) = opts.max_zip_members {
        let members = count_importable(&mut archive);
        if members > limit {
            return Err(ImportError::TooManyMembers { members, limit });
        }
    }
    let mut budget = opts.max_unzipped_bytes;
    let mut files = Vec::new();
    for i in 0..archive.len() {
        let (path, is_dir, encrypted, method) = match archive.by_index_data(i) {
            Ok(e) => (
                e.name().map(|n| n.into_owned()).unwrap_or_default(),
                e.is_dir(),
                e.encrypted(),
                e.compression(),
            ),
            Err(_) => continue,
        };
        let member_name = basename(&path);
        if is_dir || !importable_member(&path) {
            continue;
        }
        let mut facts = facts_for(member_name, &[member_name, archive_name], opts);
        facts.member = Some(i);
        if encrypted {
            facts.rejected = Some(FileError::unreadable("the member is encrypted"));
        } else if !matches!(
            method,
            CompressionMethod::Stored | CompressionMethod::Deflated
        ) {
            facts.rejected = Some(FileError::unreadable(format!(
                "unsupported compression method {method:?}"
            )));
        } else {
            match archive.by_index(i) {
                Err(e) => {
                    facts.rejected = Some(FileError::unreadable(format!(
                        "cannot read the member: {e}"
                    )));
                }
                Ok(mut member) => match scan(&mut member, true, Some(&mut budget)) {
                    Ok(s) => {
                        facts.sha256 = s.sha256;
                        facts.size = s.size;
                        apply_sniff(&mut facts, s.sniff, true);
                    }
                    Err(ScanError::OverBudget) => {
                        return Err(ImportError::UnzippedTooLarge {
                            limit: opts.max_unzipped_bytes,
                        });
                    }
                    Err(ScanError::Io(e)) => {
                        facts.rejected = Some(FileError::unreadable(format!(
                            "cannot inflate the member: {e}"
                        )));
                    }
                },
            }
        }
        files.push(facts);
    }
    if files.is_empty() {
        files.push(rejected_archive(
            "the archive holds no importable member (.csv, .json, .ndjson, .jsonl)".to_owned(),
        ));
    }
    Ok(Report {
        source: Source::Zip(archive),
        files,
        opts: opts.clone(),
    })
}

/// The members [`open_zip`] would list as files, from the central directory alone.
fn count_importable<R: Read + Seek>(archive: &mut ZipArchive<R>) -> u64 {
    let mut n = 0;
    for i in 0..archive.len() {
        if let Ok(e) = archive.by_index_data(i)
            && !e.is_dir()
            && importable_member(&e.name().unwrap_or_default())
        {
            n += 1;
        }
    }
    n
}

/// §2.2: whether a member path names a file to import (directories are filtered before).
fn importable_member(path: &str) -> bool {
    let base = basename(path);
    let lower = base.to_ascii_lowercase();
    !path.starts_with("__MACOSX/")
        && !path.contains("/__MACOSX/")
        && !base.starts_with('.')
        && [".csv", ".json", ".ndjson", ".jsonl"]
            .iter()
            .any(|ext| lower.ends_with(ext))
}

/// The part after the last `/` or `\`.
fn basename(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or_default()
}

/// Facts with the name, type and report date filled in.
fn facts_for(name: &str, names: &[&str], opts: &ImportOptions) -> FileFacts {
    FileFacts {
        name: name.to_owned(),
        sha256: None,
        size: None,
        format: None,
        report_type: detect::detect_type(
            opts.explicit_type.as_deref(),
            opts.list_entry_type.as_deref(),
            names,
        ),
        report_date: opts
            .report_date
            .or_else(|| detect::report_date_from_names(names)),
        rejected: None,
        member: None,
    }
}

/// Turns the sniffed content into a format or a refusal.
fn apply_sniff(facts: &mut FileFacts, sniff: Sniff, in_archive: bool) {
    match sniff {
        Sniff::Csv => facts.format = Some(Format::Csv),
        Sniff::Json => facts.format = Some(Format::Json),
        Sniff::Ndjson => facts.format = Some(Format::Ndjson),
        Sniff::Empty => facts.rejected = Some(FileError::empty()),
        Sniff::Gzip => {
            facts.rejected = Some(FileError::unreadable(
                "gzip-compressed content: decompress the file first",
            ));
        }
        Sniff::Zip => {
            facts.format = Some(Format::Zip);
            facts.rejected = Some(FileError::unreadable(if in_archive {
                "nested archives are not opened"
            } else {
                "a zip archive"
            }));
        }
    }
}

/// What the first bytes say (§2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniff {
    Empty,
    Zip,
    Gzip,
    Json,
    Ndjson,
    Csv,
}

/// Finds the content kind from the bytes fed to it, chunk by chunk.
#[derive(Default)]
struct Sniffer {
    prefix: Vec<u8>,
    decided: Option<Sniff>,
}

impl Sniffer {
    fn feed(&mut self, mut chunk: &[u8]) {
        if self.decided.is_some() {
            return;
        }
        if self.prefix.len() < 4 {
            let take = (4 - self.prefix.len()).min(chunk.len());
            self.prefix.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.prefix.len() < 4 {
                return;
            }
            self.decided = self.decide_by_prefix();
            if self.decided.is_some() {
                return;
            }
        }
        self.decided = first_non_ws(chunk).map(by_first_byte);
    }

    /// The decision the 4-byte (or shorter, at the end) prefix allows.
    fn decide_by_prefix(&self) -> Option<Sniff> {
        let p = &self.prefix;
        if p.starts_with(b"PK\x03\x04") || p.starts_with(b"PK\x05\x06") {
            return Some(Sniff::Zip);
        }
        if p.starts_with(b"\x1f\x8b") {
            return Some(Sniff::Gzip);
        }
        let start = if p.starts_with(BOM) { BOM.len() } else { 0 };
        first_non_ws(&p[start..]).map(by_first_byte)
    }

    fn finish(&self) -> Sniff {
        self.decided
            .or_else(|| {
                (self.prefix.len() < 4)
                    .then(|| self.decide_by_prefix())
                    .flatten()
            })
            .unwrap_or(Sniff::Empty)
    }
}

fn first_non_ws(b: &[u8]) -> Option<u8> {
    b.iter().copied().find(|c| !c.is_ascii_whitespace())
}

fn by_first_byte(b: u8) -> Sniff {
    match b {
        b'[' => Sniff::Json,
        b'{' => Sniff::Ndjson,
        _ => Sniff::Csv,
    }
}

/// The result of a hashing pass.
struct Scan {
    sha256: Option<String>,
    size: Option<u64>,
    sniff: Sniff,
}

enum ScanError {
    Io(io::Error),
    OverBudget,
}

/// Reads `r` to the end (or, without `hash`, only until the format is known), hashing and
/// sniffing; with a budget, fails as soon as more bytes than it holds were read.
fn scan(r: &mut impl Read, hash: bool, mut budget: Option<&mut u64>) -> Result<Scan, ScanError> {
    let mut hasher = Sha256::new();
    let mut sniffer = Sniffer::default();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ScanError::Io(e)),
        };
        if let Some(left) = budget.as_deref_mut() {
            *left = left.checked_sub(n as u64).ok_or(ScanError::OverBudget)?;
        }
        size += n as u64;
        sniffer.feed(&buf[..n]);
        if !hash {
            if sniffer.decided.is_some() {
                return Ok(Scan {
                    sha256: None,
                    size: None,
                    sniff: sniffer.finish(),
                });
            }
            continue;
        }
        hasher.update(&buf[..n]);
    }
    Ok(Scan {
        sha256: hash.then(|| hex(&hasher.finalize())),
        size: Some(size),
        sniff: sniffer.finish(),
    })
}
