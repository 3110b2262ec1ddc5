//! The warnings of an import (spec §1.5), counted by the readers and the mapper while they
//! read and reported in the summary. Apart from `summary.rs` so that the parts that count
//! them do not depend on the summary, which depends on them.

use serde::Serialize;

/// Counters that are listed only when non-zero.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Warnings (§1.5): they never skip a row; only non-zero counters are serialised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Warnings {
    /// A leading UTF-8 BOM was removed (files).
    #[serde(skip_serializing_if = "is_zero")]
    pub bom_removed: u64,
    /// NUL bytes removed before parsing (bytes).
    #[serde(skip_serializing_if = "is_zero")]
    pub nul_bytes_removed: u64,
    /// Rows with bytes that were not UTF-8, decoded to U+FFFD.
    #[serde(skip_serializing_if = "is_zero")]
    pub invalid_utf8_rows: u64,
    /// Rows with fewer cells than the header.
    #[serde(skip_serializing_if = "is_zero")]
    pub short_rows: u64,
    /// Rows with more cells than the header (surplus kept under `_extra`).
    #[serde(skip_serializing_if = "is_zero")]
    pub long_rows: u64,
    /// Tag candidates discarded: invalid, or beyond the 255-character budget.
    #[serde(skip_serializing_if = "is_zero")]
    pub tags_dropped: u64,
    /// Rows whose stored copy was cut (§3.4).
    #[serde(skip_serializing_if = "is_zero")]
    pub values_truncated: u64,
    /// Pull only: a day's listing reached the API's 1,000-entry cap.
    #[serde(skip_serializing_if = "is_zero")]
    pub list_truncated: u64,
    /// Pull only: list entries without `id` or `file`.
    #[serde(skip_serializing_if = "is_zero")]
    pub invalid_list_entries: u64,
}

impl Warnings {
    /// Adds every counter of `other`.
    pub fn merge(&mut self, other: &Warnings) {
        self.bom_removed += other.bom_removed;
        self.nul_bytes_removed += other.nul_bytes_removed;
        self.invalid_utf8_rows += other.invalid_utf8_rows;
        self.short_rows += other.short_rows;
        self.long_rows += other.long_rows;
        self.tags_dropped += other.tags_dropped;
        self.values_truncated += other.values_truncated;
        self.list_truncated += other.list_truncated;
        self.invalid_list_entries += other.invalid_list_entries;
    }
}
