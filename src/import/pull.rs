//! A Reports API pull into one feed (spec `shadowserver.md` §5), shared by
//! `feedgate shadowserver pull` and the server's scheduled pulls: list the reports of a date
//! range (every subscribed list unless names are given; a capped answer for several days asked
//! again day by day), keep the chosen types, then download and import each report the feed
//! lacks through the writer, remembering its id. Also the one way a spooled file is opened and
//! imported ([`import_spooled`]), which the CLI's import and download commands use too.
//!
//! Blocking: it runs on the CLI's thread or inside `state.db.long_write`.

use std::fs::File;

use chrono::{Duration, NaiveDate};
use diesel::QueryResult;

use crate::db::DbConnection;
use crate::import::shadowserver::client::{Client, ClientError, LIST_CAP, ListEntry};
use crate::import::shadowserver::{
    FileError, FileStatus, FileSummary, ImportError, ImportOptions, Summary, detect_type,
    open_report,
};
use crate::import::writer::{self, Progress, Target, WriteOptions, skipped_entry};
use crate::models::import;

/// After this many failed downloads in one run the rest are not tried (§5.6).
pub const MAX_DOWNLOAD_FAILURES: usize = 2;

/// What an import shows while it runs (the CLI's progress bar); every method may do nothing.
pub trait Watch {
    /// A report of `total_bytes` named `name` starts.
    fn start(&self, _total_bytes: u64, _name: &str) {}
    /// `bytes` of the report read and `rows` of the current file applied.
    fn update(&self, _bytes: u64, _rows: u64) {}
    /// The report is done.
    fn done(&self) {}
}

/// A [`Watch`] that shows nothing (the server).
pub struct Quiet;

impl Watch for Quiet {}

/// Opens one spooled or local input and imports it into the target, pushing its entries into
/// `summary`. An input that cannot be opened or inflates past the limit becomes one rejected
/// entry; only a database error is an error.
#[expect(
    clippy::too_many_arguments,
    reason = "the import's parts, as each caller has them"
)]
pub fn import_spooled(
    conn: &mut DbConnection,
    target: &Target,
    file: File,
    name: &str,
    opts: &ImportOptions,
    wopts: &WriteOptions<'_>,
    report_id: Option<&str>,
    summary: &mut Summary,
    watch: &dyn Watch,
) -> QueryResult<()> {
    let mut report = match open_report(file, name, opts) {
        Ok(r) => r,
        Err(ImportError::UnzippedTooLarge { limit }) => {
            summary.push_file(rejected(
                name,
                opts,
                format!("the archive inflates to more than {limit} bytes"),
            ));
            return Ok(());
        }
        Err(e @ ImportError::TooManyMembers { .. }) => {
            summary.push_file(rejected(name, opts, e.to_string()));
            return Ok(());
        }
        Err(ImportError::Io(e)) => {
            summary.push_file(rejected(name, opts, format!("cannot read {name}: {e}")));
            return Ok(());
        }
    };
    let sizes: Vec<u64> = report.files().iter().map(|f| f.size.unwrap_or(0)).collect();
    watch.start(sizes.iter().sum(), name);
    let mut on_progress = |p: Progress| {
        let before: u64 = sizes.iter().take(p.file).sum();
        watch.update(before + p.bytes, p.rows);
    };
    let result = writer::import_report(
        conn,
        target,
        &mut report,
        wopts,
        report_id,
        summary,
        &mut on_progress,
    );
    watch.done();
    result.map(|_| ())
}

/// A rejected entry for an input that could not be read at all.
pub fn rejected(name: &str, opts: &ImportOptions, message: String) -> FileSummary {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let report_type = detect_type(
        opts.explicit_type.as_deref(),
        opts.list_entry_type.as_deref(),
        &[base],
    );
    let mut entry = FileSummary::named(base, &report_type);
    entry.reject(FileError::unreadable(message));
    entry
}

/// Which reports a pull lists.
#[derive(Debug, Clone)]
pub struct Plan {
    /// First UTC day.
    pub from: NaiveDate,
    /// Last UTC day (inclusive).
    pub to: NaiveDate,
    /// The report list names; empty: every list `reports/subscribed` names.
    pub reports: Vec<String>,
    /// Only these (normalised) report types; empty: all.
    pub types: Vec<String>,
}

/// `YYYY-MM-DD` for one day, else `FROM:TO`.
pub fn date_param(from: NaiveDate, to: NaiveDate) -> String {
    if from == to {
        from.to_string()
    } else {
        format!("{from}:{to}")
    }
}

/// The type a list entry is imported as: its `type`, else detected from its file name.
pub fn effective_type(e: &ListEntry) -> String {
    e.report_type
        .clone()
        .unwrap_or_else(|| detect_type(None, None, &[&e.file]).label)
}

/// The report date of a list entry (its `timestamp`'s day).
pub fn entry_date(e: &ListEntry) -> Option<NaiveDate> {
    e.timestamp
        .as_deref()
        .and_then(|t| t.get(..10))
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

/// Lists the plan's reports (§5.3): the usable entries of the chosen types in ascending
/// (`timestamp`, `file`) order; `reports_listed` and the listing warnings go into `summary`.
pub fn list(
    client: &Client,
    plan: &Plan,
    summary: &mut Summary,
) -> Result<Vec<ListEntry>, ClientError> {
    let reports = if plan.reports.is_empty() {
        client.subscribed()?
    } else {
        plan.reports.clone()
    };
    let (from, to) = (plan.from, plan.to);
    let mut raw = client.list(&date_param(from, to), &reports)?;
    if raw.len() >= LIST_CAP && from < to {
        // §5.3: a capped answer for several days is asked again one day at a time.
        raw.clear();
        let mut day = from;
        while day <= to {
            let answer = client.list(&date_param(day, day), &reports)?;
            if answer.len() >= LIST_CAP {
                summary.warnings.list_truncated += 1;
            }
            raw.extend(answer);
            day += Duration::days(1);
        }
    } else if raw.len() >= LIST_CAP {
        summary.warnings.list_truncated += 1;
    }
    let mut entries = Vec::new();
    for v in &raw {
        match ListEntry::from_value(v) {
            Some(e) => entries.push(e),
            None => summary.warnings.invalid_list_entries += 1,
        }
    }
    summary.reports_listed = Some(entries.len() as u64);
    if !plan.types.is_empty() {
        entries.retain(|e| plan.types.contains(&effective_type(e)));
    }
    entries.sort_by(|a, b| (&a.timestamp, &a.file).cmp(&(&b.timestamp, &b.file)));
    Ok(entries)
}

/// The limits a download and its import keep to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `import_max_bytes`.
    pub max_bytes: u64,
    /// `import_max_unzipped_bytes`.
    pub max_unzipped_bytes: u64,
}

/// Downloads and imports each entry the feed lacks (§5.4–5.6), one summary entry per report:
/// skipped when its id is known complete, `failed_download` when the download fails (after
/// two failures the rest are not tried). `keep_going` is asked before each report (a
/// scheduled run stops when it lost its lease). Only a database error is an error.
#[expect(
    clippy::too_many_arguments,
    reason = "the pull's parts, as each caller has them"
)]
pub fn pull_entries(
    conn: &mut DbConnection,
    client: &Client,
    target: &Target,
    entries: &[ListEntry],
    limits: Limits,
    wopts: &WriteOptions<'_>,
    summary: &mut Summary,
    watch: &dyn Watch,
    keep_going: &mut dyn FnMut(&mut DbConnection) -> bool,
) -> QueryResult<()> {
    let mut failures = 0;
    for e in entries {
        if !keep_going(conn) {
            break;
        }
        let report_type = detect_type(None, e.report_type.as_deref(), &[&e.file]);
        let base = FileSummary::named(&e.file, &report_type);
        if let Some(row) = import::find_report(conn, target.feed_id, &e.id)?
            && row.is_complete()
        {
            summary.push_file(skipped_entry(base, &row));
            continue;
        }
        if failures >= MAX_DOWNLOAD_FAILURES {
            summary.push_file(failed(base, "skipped after repeated download failures"));
            continue;
        }
        let spooled = match client.download(&e.id, limits.max_bytes) {
            Ok(s) => s,
            Err(message) => {
                failures += 1;
                summary.push_file(failed(base, &message));
                continue;
            }
        };
        let mut opts = ImportOptions::new(wopts.now);
        opts.list_entry_type = e.report_type.clone();
        opts.report_date = entry_date(e);
        opts.sha256 = Some(spooled.sha256.clone());
        opts.max_unzipped_bytes = limits.max_unzipped_bytes;
        let mut w = *wopts;
        w.origin.report_date = opts.report_date;
        import_spooled(
            conn,
            target,
            spooled.file,
            &e.file,
            &opts,
            &w,
            Some(&e.id),
            summary,
            watch,
        )?;
    }
    Ok(())
}

/// A `failed_download` entry.
pub fn failed(mut entry: FileSummary, message: &str) -> FileSummary {
    entry.reject(FileError::unreadable(message));
    entry.status = FileStatus::FailedDownload;
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_day_is_a_date_and_a_range_is_from_to() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(date_param(d("2024-01-04"), d("2024-01-04")), "2024-01-04");
        assert_eq!(
            date_param(d("2024-01-04"), d("2024-01-05")),
            "2024-01-04:2024-01-05"
        );
    }
}
