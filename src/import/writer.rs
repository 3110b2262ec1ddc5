//! The orchestration of an import (spec `shadowserver.md` §4): a report's files one after the
//! other, each checked against the file ledger (§4.4), read through the batch pipeline
//! ([`crate::import::pipeline`]) and applied batch by batch ([`crate::import::merge`]: one
//! write transaction each, §4.2 and the quota of §4.5), then recorded in the ledger with its
//! counters. Shared by the CLI, the HTTP endpoint and the Reports API pull; it knows nothing
//! of HTTP, and its statements are `models/`'s.
//!
//! A crash leaves whole batches, and since applying a row twice changes nothing, importing
//! the file again completes it.
//!
//! With [`WriteOptions::max_rows`] (the HTTP import's `import_max_rows`) the files of one
//! report read that many rows together and no more. The file in which the limit is reached
//! keeps the batches written up to it (at most `max_rows` rows, like any import cut short)
//! and is recorded `partial` in the ledger, so importing it again reads it again; the files
//! after it are not opened, and [`import_report`] answers [`ReportEnd::RowLimitReached`].

use std::io::{Read, Seek};

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::db::{self, DbConnection};
use crate::import::merge;
pub use crate::import::merge::Target;
use crate::import::pipeline::{Batch, Pipeline};
use crate::import::shadowserver::summary::SkipCounts;
use crate::import::shadowserver::{FileError, FileStatus, FileSummary, Report, Summary};
use crate::models::{content_header, import, import_batch};

/// Default `import_batch_rows` (§4.6).
pub const DEFAULT_BATCH_ROWS: usize = 5000;
/// The largest accepted `import_batch_rows`.
pub const MAX_BATCH_ROWS: usize = 50_000;

/// How an import writes.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions<'a> {
    /// Rows per batch and transaction (1..=50,000).
    pub batch_rows: usize,
    /// When the import started: `created_at` / `updated_at` of what it writes.
    pub now: NaiveDateTime,
    /// The most rows the report's files may read together (`import_max_rows`; `None`: no
    /// limit, as in the CLI and the pull).
    pub max_rows: Option<u64>,
    /// What started the import, recorded in the ledger (the import history).
    pub origin: import::Origin<'a>,
}

/// How the reading of a report ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportEnd {
    /// Every file was read to its end (or rejected, or skipped).
    AllRead,
    /// A file had rows past [`WriteOptions::max_rows`]: it was cut there (`partial`) and the
    /// files after it were not read.
    RowLimitReached,
}

/// The rows the rest of a report may still read.
struct RowBudget {
    left: Option<u64>,
    cut: bool,
}

/// Progress of the file being imported, after each committed batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// The index of the file in the report (a zip member's position in `Report::files`).
    pub file: usize,
    /// Rows of the current file applied so far.
    pub rows: u64,
    /// Bytes of the current file read so far.
    pub bytes: u64,
}

/// Imports every file of an opened report into the target feed, pushing one entry per file
/// into `summary`. `report_id` (pull only) is recorded for the file in the ledger. A database
/// error ends the import: the file being imported is marked `partial` if possible, and the
/// entries of the files finished before stay in `summary`.
pub fn import_report<R: Read + Seek + Send>(
    c: &mut DbConnection,
    target: &Target,
    report: &mut Report<R>,
    opts: &WriteOptions,
    report_id: Option<&str>,
    summary: &mut Summary,
    progress: &mut dyn FnMut(Progress),
) -> QueryResult<ReportEnd> {
    import_batch::widen_cache(c)?;
    let checkpoints = db::checkpoint::BackgroundCheckpoint::start(c);
    let mut result = Ok(ReportEnd::AllRead);
    let mut budget = RowBudget {
        left: opts.max_rows,
        cut: false,
    };
    for i in 0..report.files().len() {
        match import_file(c, target, report, i, opts, report_id, &mut budget, progress) {
            Ok(entry) => summary.push_file(entry),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
        if budget.cut {
            result = Ok(ReportEnd::RowLimitReached);
            break;
        }
    }
    if let Some(checkpoints) = checkpoints {
        checkpoints.finish(c);
    }
    import_batch::restore_cache(c);
    result
}

/// The summary entry of a file the ledger holds as complete (§4.4): its recorded rows read
/// and skipped, every other row unchanged.
pub fn skipped_entry(mut entry: FileSummary, row: &import::ImportFileRow) -> FileSummary {
    let skipped: SkipCounts = serde_json::from_str(&row.rows_skipped).unwrap_or_default();
    entry.status = FileStatus::SkippedAlreadyImported;
    entry.rows_read = u64::try_from(row.rows_read).unwrap_or(0);
    entry.indicators_unchanged = entry.rows_read.saturating_sub(skipped.total());
    entry.rows_skipped = skipped;
    entry
}

/// Imports file `index` of the report (§4.4 steps 1–3, then the batches), reading at most the
/// rows left in `budget`.
#[expect(
    clippy::too_many_arguments,
    reason = "the report's shared state, passed down from import_report"
)]
fn import_file<R: Read + Seek + Send>(
    c: &mut DbConnection,
    target: &Target,
    report: &mut Report<R>,
    index: usize,
    opts: &WriteOptions,
    report_id: Option<&str>,
    budget: &mut RowBudget,
    progress: &mut dyn FnMut(Progress),
) -> QueryResult<FileSummary> {
    let started = std::time::Instant::now();
    let facts = report.files()[index].clone();
    let mut entry = FileSummary::for_file(&facts);
    if facts.rejected.is_some() {
        return Ok(entry);
    }
    // A hash known from opening: the ledger first, before reading anything.
    if let Some(sha256) = &facts.sha256
        && let Some(done) = already_imported(c, target, &facts.name, sha256, report_id, opts)?
    {
        return Ok(skipped_entry(entry, &done));
    }
    let pending = report.pending_sha256(index);
    let mut rows = match report.rows(index) {
        Ok(rows) => rows,
        Err(e) => {
            entry.reject(e);
            return Ok(entry);
        }
    };
    if let Some(left) = budget.left {
        rows.limit_rows(left);
    }
    entry.report_type = rows.report_type().label.clone();
    entry.rule = rows.report_type().rule;
    let label = rows.report_type().label.clone();
    // What this file writes lives as long as its report type says.
    let target = &target.for_report(&label);
    let batch_rows = opts.batch_rows.clamp(1, MAX_BATCH_ROWS);
    let (result, rows) = std::thread::scope(|s| {
        let pipeline = Pipeline::start(s, rows, batch_rows);
        // A hash computed on another thread while the first batches were read (a named file
        // in the CLI): the ledger now, still before any write.
        let sha256 = match (&facts.sha256, pending) {
            (Some(known), _) => known.clone(),
            (None, Some(pending)) => match pending.wait() {
                Ok(sha256) => {
                    entry.sha256 = Some(sha256.to_owned());
                    match already_imported(c, target, &facts.name, sha256, report_id, opts) {
                        Ok(None) => sha256.to_owned(),
                        Ok(Some(done)) => {
                            return (Ok(FileEnd::Skipped(done)), pipeline.stop());
                        }
                        Err(e) => return (Err(e), pipeline.stop()),
                    }
                }
                Err(message) => {
                    let e = FileError::unreadable(format!("cannot read the file: {message}"));
                    return (Ok(FileEnd::Rejected(e)), pipeline.stop());
                }
            },
            (None, None) => String::new(),
        };
        let ledger = match db::write_tx(c, |c| {
            let row = import::start_file(
                c,
                target.feed_id,
                &facts.name,
                &sha256,
                &label,
                &opts.origin,
                opts.now,
            )?;
            if let Some(id) = report_id {
                import::record_report(c, target.feed_id, id, row.id, opts.now)?;
            }
            Ok::<_, diesel::result::Error>(row)
        }) {
            Ok(ledger) => ledger,
            Err(e) => return (Err(e), pipeline.stop()),
        };
        if ledger.is_complete() {
            // A concurrent import of the same file finished first.
            return (Ok(FileEnd::Skipped(ledger)), pipeline.stop());
        }
        let mut result = Ok(());
        let mut done = 0u64;
        let mut header = None;
        while let Some(Batch {
            items: batch,
            bytes,
            names,
        }) = pipeline.next()
        {
            if let Some(names) = names {
                // The names the packed copies of this batch (and the next ones) refer to.
                match db::write_tx(c, |c| content_header::id_for(c, &names)) {
                    Ok(id) => header = Some(id),
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            match merge::apply_batch(c, target, ledger.id, &batch, header, opts.now) {
                Ok(outcome) => {
                    outcome.add_to(&mut entry, &batch);
                    if done == 0 && batch.len() == batch_rows {
                        // More batches follow: let PostgreSQL's planner see this file's keys.
                        import_batch::refresh_key_statistics(c);
                    }
                    done += batch.len() as u64;
                    pipeline.recycle(batch);
                    progress(Progress {
                        file: index,
                        rows: done,
                        bytes,
                    });
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let rows = pipeline.stop();
        match result {
            Ok(()) => (Ok(FileEnd::Read(ledger)), rows),
            Err(e) => {
                // Best effort: the next import of this file completes it either way.
                let _ = db::write_tx(c, |c| import::mark_partial(c, ledger.id, opts.now));
                (Err(e), rows)
            }
        }
    });
    let ledger = match result? {
        FileEnd::Read(ledger) => ledger,
        FileEnd::Skipped(done) => return Ok(skipped_entry(entry, &done)),
        FileEnd::Rejected(e) => {
            entry.reject(e);
            return Ok(entry);
        }
    };
    entry.finish_reading(&rows);
    let cut = rows.was_cut();
    drop(rows);
    budget.left = budget.left.map(|left| left.saturating_sub(entry.rows_read));
    budget.cut = cut;
    // A file cut at the row limit is `partial` like one cut by the quota: the ledger does not
    // hold it as complete, so importing it again (split, or with the CLI) completes it.
    let state = if entry.rows_skipped.quota_exceeded > 0 || cut {
        entry.status = FileStatus::Partial;
        import::FileState::Partial
    } else {
        import::FileState::Complete
    };
    let skipped = serde_json::to_string(&entry.rows_skipped).unwrap_or_else(|_| "{}".into());
    let summary = serde_json::to_string(&entry).ok();
    db::write_tx(c, |c| {
        import::finish_file(
            c,
            ledger.id,
            &import::FileOutcome {
                state: state.as_str(),
                rows_read: i64::try_from(entry.rows_read).unwrap_or(i64::MAX),
                rows_skipped: &skipped,
                indicators_created: i64::try_from(entry.indicators_created).unwrap_or(0),
                indicators_updated: i64::try_from(entry.indicators_updated).unwrap_or(0),
                indicators_unchanged: i64::try_from(entry.indicators_unchanged).unwrap_or(0),
                summary: summary.as_deref(),
                updated_at: opts.now,
                // The import's clock time plus what it took: the history's `finished_at`.
                finished_at: Some(
                    opts.now + chrono::Duration::from_std(started.elapsed()).unwrap_or_default(),
                ),
            },
        )
    })?;
    Ok(entry)
}

/// How the reading of a file ended.
enum FileEnd {
    /// Every row was read and applied: the file's ledger row.
    Read(import::ImportFileRow),
    /// The ledger holds the file as complete (found once its hash was known).
    Skipped(import::ImportFileRow),
    /// The file could not be hashed.
    Rejected(FileError),
}

/// §4.4: the ledger row of this file when the ledger holds it as complete (a pulled report's
/// id is then recorded for it too).
fn already_imported(
    c: &mut DbConnection,
    target: &Target,
    name: &str,
    sha256: &str,
    report_id: Option<&str>,
    opts: &WriteOptions,
) -> QueryResult<Option<import::ImportFileRow>> {
    let Some(row) = import::find_file(c, target.feed_id, name, sha256)? else {
        return Ok(None);
    };
    if !row.is_complete() {
        return Ok(None);
    }
    if let Some(id) = report_id {
        db::write_tx(c, |c| {
            import::record_report(c, target.feed_id, id, row.id, opts.now)
        })?;
    }
    Ok(Some(row))
}
