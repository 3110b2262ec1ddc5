//! The Shadowserver import engine (spec `shadowserver.md`), storage-independent: it reads a
//! report (CSV, JSON, NDJSON, or a zip of them), detects its type, and maps each row to an
//! indicator with its import key. The writer (CLI, HTTP endpoint, pull) owns the database
//! side: ledger, batches, merging (§4.2) and quota.
//!
//! How a writer drives it, per input:
//!
//! 1. [`open_report`] over a seekable input (a local file, or a spooled temporary file whose
//!    SHA-256 it passes in [`ImportOptions::sha256`]). An [`ImportError::UnzippedTooLarge`]
//!    refuses the whole input before any write (HTTP 413).
//! 2. For each [`FileFacts`] in [`Report::files`]: a `rejected` one becomes a summary entry
//!    and nothing else. Otherwise check the ledger on (feed, `name`, `sha256`) (§4.4);
//!    `complete` → `skipped_already_imported`.
//! 3. [`Report::rows`] opens the rows (it may still reject the file: no `timestamp` column);
//!    then insert or reuse the `running` ledger row with the label of
//!    [`FileRows::report_type`].
//! 4. Pull batches of `import_batch_rows` items ([`FileRows::next_batch`]); each item is a
//!    [`MappedRow`] to merge by its `import_key` or a [`RowSkip`] to count
//!    ([`FileSummary::record_skip`]). One transaction per batch.
//! 5. When the rows run out, [`FileSummary::finish_reading`] copies rows read, warnings and
//!    the `incomplete` status; push the entry into the [`Summary`].

pub mod client;
mod content;
mod detect;
mod file;
mod input;
mod map;
mod read;
mod read_csv;
mod read_json;
mod record;
pub mod sign;
pub mod summary;
mod table;
mod values;
mod warnings;

#[cfg(test)]
mod tests;

pub use crate::models::stored_copy::expand as expand_content;
pub use content::Content;
pub use detect::{ReportType, detect_type, normalise_type};
pub use file::{FileError, FileErrorCode, FileFacts, Format};
pub use input::{
    DEFAULT_MAX_UNZIPPED_BYTES, ImportError, ImportOptions, PendingHash, Report, open_report,
};
pub use map::{MappedRow, PROVIDER, RowSkip, SkipReason};
pub use read::FileRows;
pub use record::MAX_RECORD_BYTES;
pub use summary::{FileStatus, FileSummary, Summary};
pub use table::{KnownType, Rule};
pub use warnings::Warnings;
