//! The summary object of an import (spec §1.5), shared by the CLI, the HTTP endpoint and the
//! Reports API pull. The engine fills the reading side (rows read, skips, warnings); the writer
//! adds what only the database knows (created, updated, unchanged, `quota_exceeded`, the final
//! status) and pushes each file into the [`Summary`], which keeps the totals.
//!
//! Invariant, per file and in the totals: `rows_read = created + updated + unchanged +
//! sum(rows_skipped)`; [`Summary::is_consistent`] checks it.

use serde::{Deserialize, Serialize};

use super::detect::ReportType;
use super::file::{FileError, FileFacts};
use super::map::{RowSkip, SkipReason};
use super::read::FileRows;
use super::table::Rule;
// The warnings live below the readers and the mapper that count them; named here too, as before.
pub use super::warnings::Warnings;

/// At most this many skipped rows are listed in `errors_sample`.
pub const ERRORS_SAMPLE_MAX: usize = 20;

/// Counters that are listed only when non-zero.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Skipped rows by reason (§1.5); only non-zero counters are serialised. It reads back from
/// that JSON (the ledger keeps it), absent counters being zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SkipCounts {
    /// `timestamp` absent, empty, unparsable or in the future.
    #[serde(skip_serializing_if = "is_zero")]
    pub bad_timestamp: u64,
    /// The indicator column is not in the header.
    #[serde(skip_serializing_if = "is_zero")]
    pub no_indicator_column: u64,
    /// The indicator column is empty in the row.
    #[serde(skip_serializing_if = "is_zero")]
    pub missing_value: u64,
    /// The value fails validation.
    #[serde(skip_serializing_if = "is_zero")]
    pub invalid_value: u64,
    /// The row belongs to a type that is never stored.
    #[serde(skip_serializing_if = "is_zero")]
    pub personal_data: u64,
    /// The row needs a new indicator and the owner's quota is full (set by the writer).
    #[serde(skip_serializing_if = "is_zero")]
    pub quota_exceeded: u64,
    /// A JSON element that is not an object, or the record that stopped an incomplete file.
    #[serde(skip_serializing_if = "is_zero")]
    pub malformed_row: u64,
}

impl SkipCounts {
    /// Counts one skipped row.
    pub fn add(&mut self, reason: SkipReason) {
        *self.slot(reason) += 1;
    }

    /// The count for one reason.
    pub fn get(&self, reason: SkipReason) -> u64 {
        match reason {
            SkipReason::BadTimestamp => self.bad_timestamp,
            SkipReason::NoIndicatorColumn => self.no_indicator_column,
            SkipReason::MissingValue => self.missing_value,
            SkipReason::InvalidValue => self.invalid_value,
            SkipReason::PersonalData => self.personal_data,
            SkipReason::QuotaExceeded => self.quota_exceeded,
            SkipReason::MalformedRow => self.malformed_row,
        }
    }

    /// The number of skipped rows, all reasons together.
    pub fn total(&self) -> u64 {
        SkipReason::ALL.iter().map(|r| self.get(*r)).sum()
    }

    /// Adds every counter of `other`.
    pub fn merge(&mut self, other: &SkipCounts) {
        for r in SkipReason::ALL {
            *self.slot(r) += other.get(r);
        }
    }

    fn slot(&mut self, reason: SkipReason) -> &mut u64 {
        match reason {
            SkipReason::BadTimestamp => &mut self.bad_timestamp,
            SkipReason::NoIndicatorColumn => &mut self.no_indicator_column,
            SkipReason::MissingValue => &mut self.missing_value,
            SkipReason::InvalidValue => &mut self.invalid_value,
            SkipReason::PersonalData => &mut self.personal_data,
            SkipReason::QuotaExceeded => &mut self.quota_exceeded,
            SkipReason::MalformedRow => &mut self.malformed_row,
        }
    }
}

/// How one file ended (§1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Every row was read and applied (some may have been skipped).
    Imported,
    /// The ledger already holds this file as complete; nothing was read.
    SkippedAlreadyImported,
    /// Rows were skipped for quota, the HTTP row limit cut the file (`import_max_rows`), or a
    /// database error ended the import; importing the file again completes it.
    Partial,
    /// An unrecoverable syntax error or oversize record cut the file short; earlier rows kept.
    Incomplete,
    /// Nothing was imported; `error` says why.
    Rejected,
    /// Pull only: the download failed.
    FailedDownload,
}

/// One skipped row in `errors_sample`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorSample {
    /// The file (or zip member) name.
    pub file: String,
    /// The 1-based data row number.
    pub row: u64,
    /// The skip reason code.
    pub reason: SkipReason,
    /// What was wrong, without credentials.
    pub message: String,
}

/// One file's entry in the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    /// The file or member name (basename; empty when unnamed).
    pub name: String,
    /// Lower-case hex SHA-256 of the file's raw bytes, when it could be computed.
    pub sha256: Option<String>,
    /// `csv`, `json`, `ndjson` or `zip` (for a rejected archive), when detected.
    pub format: Option<&'static str>,
    /// The label (§2.6).
    pub report_type: String,
    /// The rule (§3.2, §3.7).
    pub rule: Rule,
    /// The column the indicator value came from, once known.
    pub indicator_column: Option<String>,
    /// How the file ended.
    pub status: FileStatus,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows that created an indicator.
    pub indicators_created: u64,
    /// Rows that changed an existing indicator.
    pub indicators_updated: u64,
    /// Rows that matched an indicator without changing it.
    pub indicators_unchanged: u64,
    /// Skipped rows by reason.
    pub rows_skipped: SkipCounts,
    /// Warnings.
    pub warnings: Warnings,
    /// Why the file was rejected (or failed to download).
    pub error: Option<FileError>,
    /// The first skipped rows, moved into the summary's `errors_sample`.
    #[serde(skip)]
    samples: Vec<ErrorSample>,
}

impl FileSummary {
    /// A new entry for a file the engine opened (status `imported`, counters zero). A rejected
    /// file starts as `rejected` with its error.
    pub fn for_file(facts: &FileFacts) -> Self {
        let mut s = Self::named(&facts.name, &facts.report_type);
        s.sha256 = facts.sha256.clone();
        s.format = facts.format.map(|f| f.as_str());
        if let Some(e) = &facts.rejected {
            s.reject(e.clone());
        }
        s
    }

    /// A new entry from a name and a type only (a failed download, an archive refused whole).
    pub fn named(name: &str, report_type: &ReportType) -> Self {
        FileSummary {
            name: name.to_owned(),
            sha256: None,
            format: None,
            report_type: report_type.label.clone(),
            rule: report_type.rule,
            indicator_column: None,
            status: FileStatus::Imported,
            rows_read: 0,
            indicators_created: 0,
            indicators_updated: 0,
            indicators_unchanged: 0,
            rows_skipped: SkipCounts::default(),
            warnings: Warnings::default(),
            error: None,
            samples: Vec::new(),
        }
    }

    /// Marks the file rejected: nothing imported, `rows_read` 0 (§1.5).
    pub fn reject(&mut self, error: FileError) {
        self.status = FileStatus::Rejected;
        self.error = Some(error);
        self.rows_read = 0;
        self.indicators_created = 0;
        self.indicators_updated = 0;
        self.indicators_unchanged = 0;
        self.rows_skipped = SkipCounts::default();
        self.samples.clear();
    }

    /// Counts one skipped row and keeps it as a sample while there is room.
    pub fn record_skip(&mut self, skip: &RowSkip) {
        self.rows_skipped.add(skip.reason);
        if self.samples.len() < ERRORS_SAMPLE_MAX {
            self.samples.push(ErrorSample {
                file: self.name.clone(),
                row: skip.row,
                reason: skip.reason,
                message: skip.message.clone(),
            });
        }
    }

    /// Copies what the reader knows once the rows are exhausted: rows read, warnings, the
    /// indicator column, and `incomplete` if a syntax error stopped the file. Call it after the
    /// last row; the writer then sets `partial` itself if it skipped rows for quota.
    pub fn finish_reading(&mut self, rows: &FileRows<'_>) {
        self.rows_read = rows.rows_read();
        self.warnings.merge(rows.warnings());
        self.indicator_column = rows.indicator_column().map(str::to_owned);
        if rows.is_incomplete() {
            self.status = FileStatus::Incomplete;
        }
    }

    /// Whether `rows_read` equals the outcomes counted.
    pub fn is_consistent(&self) -> bool {
        self.rows_read
            == self.indicators_created
                + self.indicators_updated
                + self.indicators_unchanged
                + self.rows_skipped.total()
    }
}

/// The whole summary of one command or request (§1.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Data rows read, all files together.
    pub rows_read: u64,
    /// Indicators created.
    pub indicators_created: u64,
    /// Indicators updated.
    pub indicators_updated: u64,
    /// Rows that changed nothing.
    pub indicators_unchanged: u64,
    /// Skipped rows by reason.
    pub rows_skipped: SkipCounts,
    /// Files with status `imported`.
    pub files_imported: u64,
    /// Files with status `skipped_already_imported`.
    pub files_skipped_already_imported: u64,
    /// Files with any other status.
    pub files_failed: u64,
    /// Wall time of the whole command or request, set by the caller at the end.
    pub duration_ms: u64,
    /// Warnings, all files together.
    pub warnings: Warnings,
    /// Up to 20 skipped rows.
    pub errors_sample: Vec<ErrorSample>,
    /// Pull only: entries the Reports API listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reports_listed: Option<u64>,
    /// One entry per file or zip member, in processing order.
    pub files: Vec<FileSummary>,
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a finished file: its counters go into the totals, its samples into
    /// `errors_sample` while there is room.
    pub fn push_file(&mut self, mut file: FileSummary) {
        self.rows_read += file.rows_read;
        self.indicators_created += file.indicators_created;
        self.indicators_updated += file.indicators_updated;
        self.indicators_unchanged += file.indicators_unchanged;
        self.rows_skipped.merge(&file.rows_skipped);
        self.warnings.merge(&file.warnings);
        match file.status {
            FileStatus::Imported => self.files_imported += 1,
            FileStatus::SkippedAlreadyImported => self.files_skipped_already_imported += 1,
            _ => self.files_failed += 1,
        }
        let room = ERRORS_SAMPLE_MAX.saturating_sub(self.errors_sample.len());
        self.errors_sample.extend(file.samples.drain(..).take(room));
        self.files.push(file);
    }

    /// Whether the totals and every file satisfy `rows_read = created + updated + unchanged
    /// + skipped`.
    pub fn is_consistent(&self) -> bool {
        let totals = self.rows_read
            == self.indicators_created
                + self.indicators_updated
                + self.indicators_unchanged
                + self.rows_skipped.total();
        totals && self.files.iter().all(FileSummary::is_consistent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::shadowserver::detect::ReportType;

    #[test]
    fn the_summary_serialises_like_1_5_with_only_non_zero_counters() {
        let mut f = FileSummary::named("scan_dns.csv", &ReportType::for_label("scan_dns"));
        f.format = Some("csv");
        f.rows_read = 3;
        f.indicators_created = 1;
        f.indicators_unchanged = 1;
        f.record_skip(&RowSkip {
            row: 2,
            reason: SkipReason::InvalidValue,
            message: "not an address".into(),
        });
        assert!(f.is_consistent());
        let mut s = Summary::new();
        s.push_file(f);
        assert!(s.is_consistent());
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["rows_skipped"], serde_json::json!({"invalid_value": 1}));
        assert_eq!(v["warnings"], serde_json::json!({}));
        assert_eq!(v["files_imported"], 1);
        assert_eq!(
            v["errors_sample"],
            serde_json::json!([{"file": "scan_dns.csv", "row": 2, "reason": "invalid_value",
                                "message": "not an address"}])
        );
        assert!(v.get("reports_listed").is_none());
        let file = &v["files"][0];
        assert_eq!(file["status"], "imported");
        assert_eq!(file["rule"], "host");
        assert_eq!(file["report_type"], "scan_dns");
        assert_eq!(file["error"], serde_json::Value::Null);
        assert!(file.get("samples").is_none());
    }

    #[test]
    fn errors_sample_holds_at_most_20() {
        let mut s = Summary::new();
        for _ in 0..3 {
            let mut f = FileSummary::named("a.csv", &ReportType::for_label("unknown"));
            for row in 0..15 {
                f.rows_read += 1;
                f.record_skip(&RowSkip {
                    row,
                    reason: SkipReason::MissingValue,
                    message: String::new(),
                });
            }
            s.push_file(f);
        }
        assert_eq!(s.errors_sample.len(), 20);
        assert_eq!(s.rows_skipped.missing_value, 45);
        assert!(s.is_consistent());
    }
}
