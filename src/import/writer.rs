//! The database side of an import (spec `shadowserver.md` §4): the file ledger, batches of
//! mapped rows merged into a feed (§4.2, by [`crate::domain::merge`]), the indicator quota
//! (§4.5) and the counters. Shared by the CLI, the HTTP endpoint and the Reports API pull; it
//! knows nothing of HTTP.
//!
//! Each batch is one write transaction: on PostgreSQL it first takes
//! `pg_advisory_xact_lock(feed id)` (imports into one feed are serialised, other feeds go on),
//! then locks the owner's row to read the quota left; on SQLite `BEGIN IMMEDIATE` does both.
//! The batch's keys are looked up in one query per chunk, merged in memory in file order, and
//! new and changed indicators are written with multi-row `INSERT … ON CONFLICT (feed_id,
//! import_key) WHERE import_key IS NOT NULL DO UPDATE` statements chunked under the bind limit.
//! Unchanged rows cause no write. A crash leaves whole batches, and since applying a row twice
//! changes nothing, importing the file again completes it.
//!
//! Reading runs on a second thread, joined by a channel holding at most two batches.
//!
//! With [`WriteOptions::max_rows`] (the HTTP import's `import_max_rows`) the files of one
//! report read that many rows together and no more. The file in which the limit is reached
//! keeps the batches written up to it (at most `max_rows` rows, like any import cut short)
//! and is recorded `partial` in the ledger, so importing it again reads it again; the files
//! after it are not opened, and [`import_report`] answers [`ReportEnd::RowLimitReached`].

use std::collections::HashMap;
use std::io::{Read, Seek};
use std::sync::mpsc;

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Binary, HasSqlType, Nullable, Text, Timestamp};

use crate::db::schema::{indicators, users};
use crate::db::time::Stamp;
use crate::db::{self, DbConnection, WriteTx};
use crate::domain::limit::Limit;
use crate::domain::merge::{Details, Outcome, Rule, Sighting, Sightings};
use crate::import::shadowserver::summary::SkipCounts;
use crate::import::shadowserver::{
    FileError, FileRows, FileStatus, FileSummary, MappedRow, PROVIDER, Report, RowSkip, SkipReason,
    Summary,
};
use crate::models::{content_header, feed, import};

/// Default `import_batch_rows` (§4.6).
pub const DEFAULT_BATCH_ROWS: usize = 5000;
/// The largest accepted `import_batch_rows`.
pub const MAX_BATCH_ROWS: usize = 50_000;
/// The page cache of a SQLite connection that imports (negative: KiB). A batch of packed rows
/// dirties a few MB; 64 MB was no faster at 1M stored and kept the server's RSS 70 MB higher
/// (the freed pages stay with the allocator).
const IMPORT_CACHE_PRAGMA: &str = "PRAGMA cache_size = -32768";
/// SQLite's default page cache (2 MB), restored after an import.
const DEFAULT_CACHE_PRAGMA: &str = "PRAGMA cache_size = -2000";
/// Keys per lookup query.
const LOOKUP_CHUNK: usize = 5000;

/// Where an import writes: the feed and its owner, whose indicator quota it draws on.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The owner of the feed.
    pub owner_id: i64,
    /// The feed.
    pub feed_id: i64,
    /// The server's default indicator quota (the owner's override, read in each batch, wins).
    pub default_indicator_limit: Limit,
}

/// How an import writes.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Rows per batch and transaction (1..=50,000).
    pub batch_rows: usize,
    /// When the import started: `created_at` / `updated_at` of what it writes.
    pub now: NaiveDateTime,
    /// The most rows the report's files may read together (`import_max_rows`; `None`: no
    /// limit, as in the CLI and the pull).
    pub max_rows: Option<u64>,
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
    if let DbConnection::Sqlite(conn) = c {
        // A batch of wide rows outgrows SQLite's default 2 MB page cache, which then spills
        // dirty pages to the WAL mid-transaction; this connection may use more.
        use diesel::connection::SimpleConnection;
        conn.batch_execute(IMPORT_CACHE_PRAGMA)?;
    }
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
    if let DbConnection::Sqlite(conn) = c {
        // The connection goes back to the server's pool: give back the import's page cache.
        use diesel::connection::SimpleConnection;
        let _ = conn.batch_execute(DEFAULT_CACHE_PRAGMA);
    }
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
    let batch_rows = opts.batch_rows.clamp(1, MAX_BATCH_ROWS);
    let (result, rows) = std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<Batch>(2);
        let (used_tx, used_rx) = mpsc::channel::<Vec<Item>>();
        let parser = s.spawn(move || read_batches(rows, batch_rows, tx, used_rx));
        let stop = |rx: mpsc::Receiver<Batch>| {
            // Dropping the receiver stops the reader at its next batch.
            drop(rx);
            parser
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        };
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
                            return (Ok(FileEnd::Skipped(done)), stop(rx));
                        }
                        Err(e) => return (Err(e), stop(rx)),
                    }
                }
                Err(message) => {
                    let e = FileError::unreadable(format!("cannot read the file: {message}"));
                    return (Ok(FileEnd::Rejected(e)), stop(rx));
                }
            },
            (None, None) => String::new(),
        };
        let ledger = match db::write_tx(c, |c| {
            let row =
                import::start_file(c, target.feed_id, &facts.name, &sha256, &label, opts.now)?;
            if let Some(id) = report_id {
                import::record_report(c, target.feed_id, id, row.id, opts.now)?;
            }
            Ok::<_, diesel::result::Error>(row)
        }) {
            Ok(ledger) => ledger,
            Err(e) => return (Err(e), stop(rx)),
        };
        if ledger.is_complete() {
            // A concurrent import of the same file finished first.
            return (Ok(FileEnd::Skipped(ledger)), stop(rx));
        }
        let mut result = Ok(());
        let mut done = 0u64;
        let mut header = None;
        for Batch {
            items: batch,
            bytes,
            names,
        } in rx.iter()
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
            match apply_batch(c, target, ledger.id, &batch, header, opts.now) {
                Ok(outcome) => {
                    outcome.add_to(&mut entry, &batch);
                    if done == 0 && batch.len() == batch_rows {
                        // More batches follow: let PostgreSQL's planner see this file's keys.
                        refresh_key_statistics(c);
                    }
                    done += batch.len() as u64;
                    // The reader allocated the rows and frees them: a free on another thread
                    // goes through the allocating thread's arena lock (5 % of the writer).
                    let _ = used_tx.send(batch);
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
        let rows = stop(rx);
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
                summary: summary.as_deref(),
                updated_at: opts.now,
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

type Item = Result<MappedRow, RowSkip>;

/// PostgreSQL: `ANALYZE` of the columns the batch lookup filters on (0.2 s at 1M rows). With
/// statistics from before a feed had imported rows, the planner scans the feed's whole range
/// of the key index for every lookup (`feed_id` as the only index condition) and a large
/// file's import turns quadratic: 200,000 rows into a database of 1M API-written indicators
/// took 96 s instead of 16. SQLite plans the `IN` list as index lookups anyway.
fn refresh_key_statistics(c: &mut DbConnection) {
    if let DbConnection::Postgresql(conn) = c {
        use diesel::connection::SimpleConnection;
        if let Err(e) = conn.batch_execute("ANALYZE indicators (feed_id, import_key)") {
            // Only the speed of this import depends on it.
            tracing::debug!(error = %e, "ANALYZE before the import's next batches failed");
        }
    }
}

/// What the reading thread hands the writer.
struct Batch {
    items: Vec<Item>,
    /// Bytes of the file read so far.
    bytes: u64,
    /// The file's column names, when they changed since the previous batch (the first batch;
    /// a JSON report's later objects may add keys).
    names: Option<Vec<String>>,
}

/// The reading thread: batches of rows with the bytes read so far, until the rows run out or
/// the writer hangs up; it also frees the batches the writer is done with. Gives the rows back
/// for their final counters.
fn read_batches<'a>(
    mut rows: FileRows<'a>,
    batch_rows: usize,
    tx: mpsc::SyncSender<Batch>,
    used: mpsc::Receiver<Vec<Item>>,
) -> FileRows<'a> {
    let mut names_sent = None;
    loop {
        let mut batch = match used.try_recv() {
            Ok(mut old) => {
                old.clear();
                old
            }
            Err(_) => Vec::with_capacity(batch_rows.min(8192)),
        };
        while let Ok(old) = used.try_recv() {
            drop(old);
        }
        if rows.next_batch(batch_rows, &mut batch) == 0 {
            return rows;
        }
        let width = rows.column_names().len();
        let names = (names_sent != Some(width)).then(|| rows.column_names().to_vec());
        names_sent = Some(width);
        let batch = Batch {
            items: batch,
            bytes: rows.bytes_read(),
            names,
        };
        if tx.send(batch).is_err() {
            return rows;
        }
    }
}

/// What one committed batch did, row by row.
#[derive(Debug, Default)]
struct BatchOutcome {
    created: u64,
    updated: u64,
    unchanged: u64,
    /// Rows (by position in the batch) skipped because the quota was full.
    quota_skipped: Vec<usize>,
}

impl BatchOutcome {
    /// Adds the batch to the file's entry: outcomes, the engine's skips and the quota skips.
    fn add_to(&self, entry: &mut FileSummary, batch: &[Item]) {
        entry.indicators_created += self.created;
        entry.indicators_updated += self.updated;
        entry.indicators_unchanged += self.unchanged;
        let mut quota = self.quota_skipped.iter().peekable();
        for (i, item) in batch.iter().enumerate() {
            match item {
                Err(skip) => entry.record_skip(skip),
                Ok(row) => {
                    if quota.peek() == Some(&&i) {
                        quota.next();
                        entry.record_skip(&RowSkip {
                            row: row.row,
                            reason: SkipReason::QuotaExceeded,
                            message: "the owner's indicator quota is full".to_owned(),
                        });
                    }
                }
            }
        }
    }
}

/// The merged state of one import key within a batch.
struct Slot<'b> {
    /// Whether the indicator existed before this batch.
    existed: bool,
    /// Whether anything must be written.
    dirty: bool,
    /// Times, count and tags, merged by [`Rule::Import`].
    merged: Sightings,
    /// A row of the batch with this key (value, itype, portlist, protocol).
    first: &'b MappedRow,
    /// The row whose description, asn, cc and content apply: the one that last widened the
    /// last time (or created the indicator).
    latest: Option<&'b MappedRow>,
}

/// The stored fields a merge needs: first and last time, count, tags.
type Stored = (Option<NaiveDateTime>, Option<NaiveDateTime>, i64, String);

/// Applies one batch in one transaction and says what each row did.
fn apply_batch(
    c: &mut DbConnection,
    target: &Target,
    ledger_id: i64,
    batch: &[Item],
    header: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<BatchOutcome> {
    db::write_tx(c, |c| {
        lock_feed(c, target.feed_id)?;
        let (override_limit, used) = lock_owner(c, target.owner_id)?;
        let limit = Limit::effective(override_limit, target.default_indicator_limit);
        let mut available = limit.0.map_or(i64::MAX, |l| (l - used).max(0));

        let mut keys: Vec<&str> = batch
            .iter()
            .filter_map(|i| i.as_ref().ok().map(|r| r.import_key.as_str()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut stored = load_stored(c, target.feed_id, &keys)?;

        let mut out = BatchOutcome::default();
        let mut slots: HashMap<&str, Slot<'_>> = HashMap::with_capacity(keys.len());
        let mut order: Vec<&str> = Vec::new();
        for (i, item) in batch.iter().enumerate() {
            let Ok(row) = item else { continue };
            let key = row.import_key.as_str();
            if let Some(slot) = slots.get_mut(key) {
                if merge(slot, row) {
                    out.updated += 1;
                } else {
                    out.unchanged += 1;
                }
                continue;
            }
            // Taken out: the key's later rows find its slot.
            if let Some((firsttime, lasttime, count, tags)) = stored.remove(key) {
                let mut slot = Slot {
                    existed: true,
                    dirty: false,
                    merged: Sightings {
                        firsttime,
                        lasttime,
                        count,
                        tags,
                    },
                    first: row,
                    latest: None,
                };
                if merge(&mut slot, row) {
                    out.updated += 1;
                } else {
                    out.unchanged += 1;
                }
                slots.insert(key, slot);
                order.push(key);
                continue;
            }
            if available == 0 {
                out.quota_skipped.push(i);
                continue;
            }
            available -= 1;
            out.created += 1;
            slots.insert(
                key,
                Slot {
                    existed: false,
                    dirty: true,
                    merged: first_sighting(row),
                    first: row,
                    latest: Some(row),
                },
            );
            order.push(key);
        }

        let writes: Vec<&Slot<'_>> = order
            .iter()
            .filter_map(|k| slots.get(k))
            .filter(|s| s.dirty)
            .collect();
        upsert(c, target, &writes, header, now)?;
        let created = i64::try_from(out.created).unwrap_or(i64::MAX);
        if created > 0 {
            take_quota(c, target.owner_id, created, limit)?;
            feed::add_indicators(c, target.feed_id, created, now)?;
        }
        import::touch_file(c, ledger_id, now)?;
        debug_assert!(slots.values().all(|s| s.existed || s.dirty));
        Ok(out)
    })
}

/// §4.2 through [`Rule::Import`]: merges a row into a slot; `true` when a stored field changed.
fn merge<'b>(slot: &mut Slot<'b>, row: &'b MappedRow) -> bool {
    let merged = slot
        .merged
        .merge(&sighting(row), Rule::Import)
        .expect("the import rule leaves out the tags that do not fit");
    if merged.details == Details::All {
        slot.latest = Some(row);
    }
    let changed = merged.outcome == Outcome::Updated;
    slot.dirty |= changed;
    changed
}

/// §4.2 through [`Rule::Import`]: the indicator a row without a stored one creates.
fn first_sighting(row: &MappedRow) -> Sightings {
    Sightings::first(&sighting(row), Rule::Import)
        .expect("the import rule leaves out the tags that do not fit")
}

/// What a row brings to the merge.
fn sighting(row: &MappedRow) -> Sighting<'_> {
    Sighting {
        firsttime: Some(row.firsttime),
        lasttime: Some(row.lasttime),
        tags: &row.tags,
    }
}

/// PostgreSQL: serialises imports into one feed for the rest of the transaction. SQLite's
/// `BEGIN IMMEDIATE` already admits one writer.
fn lock_feed(c: &mut DbConnection, feed_id: i64) -> QueryResult<()> {
    if let DbConnection::Postgresql(conn) = c {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(feed_id)
            .execute(conn)?;
    }
    Ok(())
}

/// The owner's quota override and indicator count, the row locked on PostgreSQL so that the
/// quota left stays exact until the transaction ends.
fn lock_owner(c: &mut DbConnection, owner_id: i64) -> QueryResult<(Option<i64>, i64)> {
    let query = users::table
        .find(owner_id)
        .select((users::max_indicators, users::indicator_count));
    match c {
        DbConnection::Postgresql(conn) => query.for_update().get_result(conn),
        DbConnection::Sqlite(conn) => query.get_result(conn),
    }
}

/// Takes `n` units of quota with the conditional update of `limits::quota`; the owner's row is
/// locked and `n` fits, so a refusal means the data changed under us: roll back.
fn take_quota(c: &mut DbConnection, owner_id: i64, n: i64, limit: Limit) -> QueryResult<()> {
    let changed = diesel::update(
        users::table
            .filter(users::id.eq(owner_id))
            .filter((users::indicator_count + n).le(limit.0.unwrap_or(i64::MAX))),
    )
    .set(users::indicator_count.eq(users::indicator_count + n))
    .execute(c)?;
    if changed == 1 {
        Ok(())
    } else {
        Err(diesel::result::Error::RollbackTransaction)
    }
}

/// The stored indicators of the feed with these import keys.
fn load_stored(
    c: &mut DbConnection,
    feed_id: i64,
    keys: &[&str],
) -> QueryResult<HashMap<String, Stored>> {
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(LOOKUP_CHUNK) {
        let rows: Vec<(Option<String>, Stored)> = match c {
            DbConnection::Sqlite(conn) => {
                // One statement for any number of keys, prepared once per connection: with
                // an `IN (?, ?, …)` list diesel rendered and SQLite parsed and planned a new
                // 5,000-parameter statement for every batch.
                let keys = serde_json::to_string(chunk)
                    .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
                StoredByKeys { feed_id, keys }.load(conn)?
            }
            // diesel binds the keys as one array there (`= ANY($2)`).
            DbConnection::Postgresql(conn) => indicators::table
                .filter(indicators::feed_id.eq(feed_id))
                .filter(indicators::import_key.eq_any(chunk))
                .select((
                    indicators::import_key,
                    (
                        indicators::firsttime,
                        indicators::lasttime,
                        indicators::count,
                        indicators::tags,
                    ),
                ))
                .load(conn)?,
        };
        for (key, stored) in rows {
            if let Some(key) = key {
                out.insert(key, stored);
            }
        }
    }
    Ok(out)
}

/// SQLite: the feed's indicators whose import key is in `keys`, a JSON array of distinct
/// strings. No `import_key IS NOT NULL` although the index is partial: the `=` implies it, and with
/// it SQLite chose the range `import_key > NULL` and scanned every key the feed already held,
/// once per batch (quadratic in the file's size).
struct StoredByKeys {
    feed_id: i64,
    keys: String,
}

impl QueryId for StoredByKeys {
    type QueryId = StoredByKeys;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for StoredByKeys {
    type SqlType = (
        Nullable<Text>,
        (Nullable<Timestamp>, Nullable<Timestamp>, BigInt, Text),
    );
}

impl<Conn> RunQueryDsl<Conn> for StoredByKeys {}

impl QueryFragment<diesel::sqlite::Sqlite> for StoredByKeys {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::sqlite::Sqlite>) -> QueryResult<()> {
        // A loop over the keys probing the index (`CROSS JOIN` fixes the order): `IN (SELECT
        // …)` first copied the keys into a temporary b-tree.
        out.push_sql(
            "SELECT i.import_key, i.firsttime, i.lasttime, i.count, i.tags FROM json_each(",
        );
        out.push_bind_param::<Text, str>(&self.keys)?;
        out.push_sql(") AS k CROSS JOIN indicators AS i WHERE i.feed_id = ");
        out.push_bind_param::<BigInt, i64>(&self.feed_id)?;
        out.push_sql(" AND i.import_key = k.value");
        Ok(())
    }
}

/// Rows per upsert statement. A fixed size keeps the statement text, and so the prepared
/// statement, the same across chunks and batches (preparing a new multi-row statement per
/// batch was a tenth of an import's CPU); a remainder goes in halving sizes, so a connection
/// keeps at most `log2(UPSERT_ROWS) + 1` upsert statements. 256 rows × 18 values stays far
/// under both backends' bind limits.
const UPSERT_ROWS: usize = 256;
// SQLite's bind limit is 32,766 per statement (PostgreSQL's 65,535).
const _: () = assert!(4 + UPSERT_ROWS * 18 <= 32_766);

/// One multi-row upsert of §4.2, built through diesel's AST (diesel never caches `sql_query`
/// statements).
struct UpsertStatement<'a, const FULL: bool> {
    rows: &'a [UpsertRow<'a>],
    feed_id: i64,
    owner_id: i64,
    now: Stamp,
}

/// The prepared statement of a full chunk is found by type: its text never changes, and
/// diesel would otherwise render the 256-row text (about 10 KB) again to look it up, for
/// every chunk.
impl QueryId for UpsertStatement<'_, true> {
    type QueryId = FullUpsert;
    const HAS_STATIC_QUERY_ID: bool = true;
}

/// The type-level name of the full-chunk upsert.
struct FullUpsert;

/// A remainder chunk is found by its text.
impl QueryId for UpsertStatement<'_, false> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// How a backend refers again to the upsert's constants, bound as parameters 1-4 (feed,
/// owner, now, provider) in its first row. SQLite numbers a plain `?` one past the highest
/// number seen so far, so the first row's `?3` and the others' `?1`-`?4` leave the numbering of
/// the plain parameters after them unchanged; PostgreSQL numbers every parameter.
trait NumberedParams {
    /// The first row's `updated_at`: the same `now` as its `created_at`.
    const NOW: &'static str;
    /// The constants of every other row: feed, owner, now, now, provider.
    const CONSTANTS: &'static str;
}

impl NumberedParams for diesel::sqlite::Sqlite {
    const NOW: &'static str = "?3";
    const CONSTANTS: &'static str = ",(?1,?2,?3,?3,?4";
}

impl NumberedParams for diesel::pg::Pg {
    const NOW: &'static str = "$3";
    const CONSTANTS: &'static str = ",($1,$2,$3,$3,$4";
}

impl<Conn, const FULL: bool> RunQueryDsl<Conn> for UpsertStatement<'_, FULL> {}

impl<DB, const FULL: bool> QueryFragment<DB> for UpsertStatement<'_, FULL>
where
    DB: Backend
        + NumberedParams
        + HasSqlType<Text>
        + HasSqlType<Binary>
        + HasSqlType<BigInt>
        + HasSqlType<Timestamp>,
    str: ToSql<Text, DB>,
    Vec<u8>: ToSql<Binary, DB>,
    RangeEnd: ToSql<Binary, DB>,
    i64: ToSql<BigInt, DB>,
    Stamp: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO indicators (feed_id, user_id, created_at, updated_at, provider, value, \
             itype, ip_lo, ip_hi, host_rev, portlist, protocol, firsttime, lasttime, \
             effective_at, count, description, content, content_header, asn, cc, tags, \
             import_key) VALUES ",
        );
        for (i, r) in self.rows.iter().enumerate() {
            if i == 0 {
                // The statement's constants are bound once, as parameters 1-4, and the other
                // rows refer to them by number: 18 values per row to bind instead of 23.
                out.push_sql("(");
                out.push_bind_param::<BigInt, i64>(&self.feed_id)?;
                out.push_sql(",");
                out.push_bind_param::<BigInt, i64>(&self.owner_id)?;
                out.push_sql(",");
                out.push_bind_param::<Timestamp, Stamp>(&self.now)?;
                out.push_sql(",");
                out.push_sql(DB::NOW);
                out.push_sql(",");
                out.push_bind_param::<Text, str>(PROVIDER)?;
            } else {
                out.push_sql(DB::CONSTANTS);
            }
            out.push_sql(",");
            out.push_bind_param::<Text, str>(r.value)?;
            out.push_sql(",");
            out.push_bind_param::<Text, str>(r.itype)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Binary>, _>(&r.ip_lo)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Binary>, _>(&r.ip_hi)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Binary>, _>(&r.host_rev)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Text>, _>(&r.portlist)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<BigInt>, _>(&r.protocol)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Timestamp>, _>(&r.firsttime)?;
            // lasttime and effective_at: the merged last time (or now when none).
            out.push_sql(",");
            out.push_bind_param::<Timestamp, Stamp>(&r.effective_at)?;
            out.push_sql(",");
            out.push_bind_param::<Timestamp, Stamp>(&r.effective_at)?;
            out.push_sql(",");
            out.push_bind_param::<BigInt, i64>(&r.count)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Text>, _>(&r.description)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Text>, _>(&r.content)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<BigInt>, _>(&r.content_header)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<BigInt>, _>(&r.asn)?;
            out.push_sql(",");
            out.push_bind_param::<Nullable<Text>, _>(&r.cc)?;
            out.push_sql(",");
            out.push_bind_param::<Text, str>(r.tags)?;
            out.push_sql(",");
            out.push_bind_param::<Text, str>(r.import_key)?;
            out.push_sql(")");
        }
        // The row's description, asn, cc and content replace the stored ones only when its
        // last time is later (§4.2, `Details::All` of the merge, tested here again against the
        // stored row); the merged times, count and tags were computed under the lock.
        out.push_sql(
            " ON CONFLICT (feed_id, import_key) WHERE import_key IS NOT NULL DO UPDATE SET \
             firsttime = excluded.firsttime, lasttime = excluded.lasttime, \
             effective_at = excluded.effective_at, count = excluded.count, tags = excluded.tags, \
             description = CASE WHEN indicators.lasttime IS NULL OR excluded.lasttime > indicators.lasttime \
               THEN excluded.description ELSE indicators.description END, \
             content = CASE WHEN indicators.lasttime IS NULL OR excluded.lasttime > indicators.lasttime \
               THEN excluded.content ELSE indicators.content END, \
             content_header = CASE WHEN indicators.lasttime IS NULL OR excluded.lasttime > indicators.lasttime \
               THEN excluded.content_header ELSE indicators.content_header END, \
             asn = CASE WHEN indicators.lasttime IS NULL OR excluded.lasttime > indicators.lasttime \
               THEN excluded.asn ELSE indicators.asn END, \
             cc = CASE WHEN indicators.lasttime IS NULL OR excluded.lasttime > indicators.lasttime \
               THEN excluded.cc ELSE indicators.cc END, \
             updated_at = excluded.updated_at",
        );
        Ok(())
    }
}

/// An end of an address range, bound as a 16-byte blob straight from the row (two
/// allocations fewer per row than a `Vec`).
#[derive(Debug)]
struct RangeEnd([u8; 16]);

impl<DB: Backend> ToSql<Binary, DB> for RangeEnd
where
    [u8]: ToSql<Binary, DB>,
{
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, DB>,
    ) -> diesel::serialize::Result {
        self.0[..].to_sql(out)
    }
}

/// One indicator's values for the upsert.
struct UpsertRow<'b> {
    value: &'b str,
    itype: &'static str,
    ip_lo: Option<RangeEnd>,
    ip_hi: Option<RangeEnd>,
    host_rev: Option<Vec<u8>>,
    portlist: Option<&'b str>,
    protocol: Option<i64>,
    firsttime: Option<Stamp>,
    /// The last time, also written as `effective_at`.
    effective_at: Stamp,
    count: i64,
    description: Option<&'b str>,
    content: Option<&'b str>,
    /// The header a packed `content` refers to; `None` for a full one.
    content_header: Option<i64>,
    asn: Option<i64>,
    cc: Option<&'b str>,
    tags: &'b str,
    import_key: &'b str,
}

impl<'b> UpsertRow<'b> {
    fn of(slot: &'b Slot<'b>, header: Option<i64>, now: NaiveDateTime) -> Self {
        let row = slot.first;
        let (ip_lo, ip_hi) = row.thing.ip_range().map_or((None, None), |(lo, hi)| {
            (Some(RangeEnd(lo)), Some(RangeEnd(hi)))
        });
        let latest = slot.latest;
        UpsertRow {
            value: row.thing.as_str(),
            itype: row.thing.itype().as_str(),
            ip_lo,
            ip_hi,
            host_rev: row.thing.host_rev(),
            portlist: row.portlist.as_deref(),
            protocol: row.protocol,
            firsttime: slot.merged.firsttime.map(Stamp::new),
            effective_at: Stamp::new(slot.merged.effective_at(now)),
            count: slot.merged.count,
            description: latest.map(|r| r.description.as_str()),
            content: latest.map(|r| r.content.text.as_str()),
            content_header: latest.and_then(|r| {
                // A packed copy without its names stored could not be read: never written so.
                debug_assert!(!r.content.packed || header.is_some());
                header.filter(|_| r.content.packed)
            }),
            asn: latest.and_then(|r| r.asn),
            cc: latest.and_then(|r| r.cc.as_deref()),
            tags: &slot.merged.tags,
            import_key: &row.import_key,
        }
    }
}

/// Writes new and changed indicators with multi-row upserts, chunked under the bind limit.
fn upsert(
    c: &mut WriteTx<'_>,
    target: &Target,
    slots: &[&Slot<'_>],
    header: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    if slots.is_empty() {
        return Ok(());
    }
    let rows: Vec<UpsertRow<'_>> = slots
        .iter()
        .map(|s| UpsertRow::of(s, header, now))
        .collect();
    crate::models::ip_prefix::note(
        c,
        rows.iter().filter_map(|r| match (&r.ip_lo, &r.ip_hi) {
            (Some(lo), Some(hi)) => crate::models::ip_prefix::network_bits(&lo.0, &hi.0),
            _ => None,
        }),
    )?;
    let mut at = 0;
    for size in crate::db::sql::chunk_sizes(rows.len(), UPSERT_ROWS) {
        let chunk = &rows[at..at + size];
        if size == UPSERT_ROWS {
            run_upsert::<true>(c, target, chunk, now)?;
        } else {
            run_upsert::<false>(c, target, chunk, now)?;
        }
        at += size;
    }
    Ok(())
}

/// Runs one chunk's upsert; `FULL` when it has [`UPSERT_ROWS`] rows.
fn run_upsert<const FULL: bool>(
    c: &mut DbConnection,
    target: &Target,
    rows: &[UpsertRow<'_>],
    now: NaiveDateTime,
) -> QueryResult<usize>
where
    for<'x> UpsertStatement<'x, FULL>: QueryId,
{
    let statement = UpsertStatement::<FULL> {
        rows,
        feed_id: target.feed_id,
        owner_id: target.owner_id,
        now: Stamp::new(now),
    };
    crate::on_backend!(c, |conn| statement.execute(conn))
}
