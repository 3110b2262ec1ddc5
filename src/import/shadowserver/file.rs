//! One file of a report (the input itself, or a zip member) as known before its rows are read:
//! its [`FileFacts`] (format, type, hash) and the [`FileError`] that rejects it. `input` finds
//! them when it opens a report; the readers and the summary only read them.

use chrono::NaiveDate;
use serde::Serialize;

use super::detect::ReportType;

/// The content format of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// CSV with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
    /// A stream of JSON objects (one per line, or pretty-printed one after another).
    Ndjson,
    /// A zip archive (only a rejected archive keeps this format; members have their own).
    Zip,
}

impl Format {
    /// The summary's name: `csv`, `json`, `ndjson` or `zip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Zip => "zip",
        }
    }
}

/// Why nothing of a file can be imported (§1.5 status `rejected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileErrorCode {
    /// Zero bytes, or nothing but a BOM and whitespace (HTTP 422 `empty_report`).
    EmptyReport,
    /// Anything else that cannot be read (HTTP 422 `unreadable_report`).
    UnreadableReport,
}

impl FileErrorCode {
    /// The code, `empty_report` or `unreadable_report`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileErrorCode::EmptyReport => "empty_report",
            FileErrorCode::UnreadableReport => "unreadable_report",
        }
    }
}

/// A file-level refusal: a code and a message for the summary's `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct FileError {
    /// `empty_report` or `unreadable_report`.
    pub code: FileErrorCode,
    /// What was wrong.
    pub message: String,
}

impl FileError {
    /// An `empty_report` refusal.
    pub fn empty() -> Self {
        FileError {
            code: FileErrorCode::EmptyReport,
            message: "the report is empty".to_owned(),
        }
    }

    /// An `unreadable_report` refusal with a message.
    pub fn unreadable(message: impl Into<String>) -> Self {
        FileError {
            code: FileErrorCode::UnreadableReport,
            message: message.into(),
        }
    }
}

/// One file of a report (the input itself, or a zip member), as known before its rows are
/// read: enough for the ledger check (§4.4) and the summary entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// The basename as given (a member's basename); empty when unnamed.
    pub name: String,
    /// Lower-case hex SHA-256 of the file's raw bytes (a member's inflated bytes).
    pub sha256: Option<String>,
    /// The file's size in bytes (inflated, for a member), when read in full.
    pub size: Option<u64>,
    /// The detected format, when there is one.
    pub format: Option<Format>,
    /// Label and rule (§2.6).
    pub report_type: ReportType,
    /// The report date from the list entry or the name; goes into the stored copy.
    pub report_date: Option<NaiveDate>,
    /// Set when the file cannot be imported: status `rejected` with this error.
    pub rejected: Option<FileError>,
    /// The member's index in the archive.
    pub(super) member: Option<usize>,
}
