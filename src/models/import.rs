//! The import ledger (spec `shadowserver.md` §4.4): `import_files`, one row per file imported
//! into a feed, unique on (feed, file name, SHA-256), and `import_reports`, the Reports API ids
//! pointing at those rows. The ledger is private: it holds file names and report ids, which
//! never go into indicators or summaries.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{import_files, import_reports};
use crate::db::{DbConnection, WriteTx};

/// The state of a ledger row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// An import is under way, or crashed (no liveness is tracked).
    Running,
    /// Rows were skipped for quota, or a database error ended the import.
    Partial,
    /// Every row was read and applied.
    Complete,
}

impl FileState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Running => "running",
            FileState::Partial => "partial",
            FileState::Complete => "complete",
        }
    }
}

/// One ledger row as stored.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = import_files)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ImportFileRow {
    pub id: i64,
    pub feed_id: i64,
    pub name: String,
    pub sha256: String,
    pub report_type: String,
    pub state: String,
    pub rows_read: i64,
    /// The skipped rows by reason, as JSON text.
    pub rows_skipped: String,
    pub indicators_created: i64,
    /// The file's summary entry as JSON text, once finished.
    pub summary: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Where the import came from ([`Source`]).
    pub source: String,
    /// Who started it: the API user, the CLI's OS user, or `schedule N`.
    pub started_by: Option<String>,
    /// The report's date (pulls, downloads), for `pull --check`.
    pub report_date: Option<NaiveDate>,
    pub indicators_updated: i64,
    pub indicators_unchanged: i64,
    /// When the file was last finished (`None` while running, or after a crash).
    pub finished_at: Option<NaiveDateTime>,
}

/// Where a ledger row's import came from (the import history's `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `POST …/imports/shadowserver`.
    Upload,
    /// `feedgate import shadowserver`.
    Cli,
    /// `feedgate shadowserver pull`.
    Pull,
    /// A scheduled pull inside the server.
    Schedule,
    /// `feedgate shadowserver download`.
    Download,
    /// `feedgate shadowserver query`.
    Query,
}

impl Source {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Upload => "upload",
            Source::Cli => "cli",
            Source::Pull => "pull",
            Source::Schedule => "schedule",
            Source::Download => "download",
            Source::Query => "query",
        }
    }
}

/// Who and what started an import, recorded on the ledger rows it starts or takes over.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub source: Source,
    pub started_by: Option<&'a str>,
    pub report_date: Option<NaiveDate>,
}

impl ImportFileRow {
    /// Whether the file was imported to the end.
    pub fn is_complete(&self) -> bool {
        self.state == FileState::Complete.as_str()
    }
}

/// A ledger row to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = import_files)]
pub struct NewImportFile<'a> {
    pub feed_id: i64,
    pub name: &'a str,
    pub sha256: &'a str,
    pub report_type: &'a str,
    pub state: &'a str,
    pub rows_read: i64,
    pub rows_skipped: &'a str,
    pub indicators_created: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub source: &'a str,
    pub started_by: Option<&'a str>,
    pub report_date: Option<NaiveDate>,
}

/// What a finished file leaves in its ledger row.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = import_files)]
pub struct FileOutcome<'a> {
    pub state: &'a str,
    pub rows_read: i64,
    pub rows_skipped: &'a str,
    pub indicators_created: i64,
    pub indicators_updated: i64,
    pub indicators_unchanged: i64,
    pub summary: Option<&'a str>,
    pub updated_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

/// The ledger row of a file in a feed, if any.
pub fn find_file(
    c: &mut DbConnection,
    feed_id: i64,
    name: &str,
    sha256: &str,
) -> QueryResult<Option<ImportFileRow>> {
    import_files::table
        .filter(import_files::feed_id.eq(feed_id))
        .filter(import_files::name.eq(name))
        .filter(import_files::sha256.eq(sha256))
        .select(ImportFileRow::as_select())
        .get_result(c)
        .optional()
}

/// Inserts a `running` row for the file, or takes over the existing one (a crashed or
/// concurrent import, or a partial one) and marks it `running` under the new origin;
/// returns the row.
pub fn start_file(
    c: &mut WriteTx<'_>,
    feed_id: i64,
    name: &str,
    sha256: &str,
    report_type: &str,
    origin: &Origin<'_>,
    now: NaiveDateTime,
) -> QueryResult<ImportFileRow> {
    let c = c.conn();
    let new = NewImportFile {
        feed_id,
        name,
        sha256,
        report_type,
        state: FileState::Running.as_str(),
        rows_read: 0,
        rows_skipped: "{}",
        indicators_created: 0,
        created_at: now,
        updated_at: now,
        source: origin.source.as_str(),
        started_by: origin.started_by,
        report_date: origin.report_date,
    };
    let insert = diesel::insert_into(import_files::table).values(&new);
    crate::on_backend!(c, |conn| insert.on_conflict_do_nothing().execute(conn))?;
    let row = find_file(c, feed_id, name, sha256)?.ok_or(diesel::result::Error::NotFound)?;
    if row.is_complete() {
        // A concurrent import finished it first: leave it complete.
        return Ok(row);
    }
    diesel::update(import_files::table.find(row.id))
        .set((
            import_files::state.eq(FileState::Running.as_str()),
            import_files::updated_at.eq(now),
            import_files::source.eq(origin.source.as_str()),
            import_files::started_by.eq(origin.started_by),
            import_files::report_date.eq(origin.report_date.or(row.report_date)),
        ))
        .execute(c)?;
    Ok(row)
}

/// Sets the row's update time (in every batch transaction).
pub fn touch_file(c: &mut WriteTx<'_>, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    let c = c.conn();
    diesel::update(import_files::table.find(id))
        .set(import_files::updated_at.eq(now))
        .execute(c)
}

/// Records how the file ended.
pub fn finish_file(c: &mut WriteTx<'_>, id: i64, outcome: &FileOutcome<'_>) -> QueryResult<usize> {
    let c = c.conn();
    diesel::update(import_files::table.find(id))
        .set(outcome)
        .execute(c)
}

/// Marks a file `partial` (after a database error), touching nothing else.
pub fn mark_partial(c: &mut WriteTx<'_>, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    let c = c.conn();
    diesel::update(import_files::table.find(id))
        .set((
            import_files::state.eq(FileState::Partial.as_str()),
            import_files::updated_at.eq(now),
        ))
        .execute(c)
}

/// The ledger row a Reports API id of this feed points at, if any.
pub fn find_report(
    c: &mut DbConnection,
    feed_id: i64,
    report_id: &str,
) -> QueryResult<Option<ImportFileRow>> {
    import_reports::table
        .inner_join(import_files::table)
        .filter(import_reports::feed_id.eq(feed_id))
        .filter(import_reports::report_id.eq(report_id))
        .select(ImportFileRow::as_select())
        .get_result(c)
        .optional()
}

/// Records that a report id was imported as ledger row `file_id` (kept if already recorded).
pub fn record_report(
    c: &mut WriteTx<'_>,
    feed_id: i64,
    report_id: &str,
    file_id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let c = c.conn();
    let insert = diesel::insert_into(import_reports::table).values((
        import_reports::feed_id.eq(feed_id),
        import_reports::report_id.eq(report_id),
        import_reports::file_id.eq(file_id),
        import_reports::created_at.eq(now),
    ));
    crate::on_backend!(c, |conn| insert.on_conflict_do_nothing().execute(conn))
}

/// The number of ledger rows of a feed (for tests and the CLI).
pub fn count_files(c: &mut DbConnection, feed_id: i64) -> QueryResult<i64> {
    import_files::table
        .filter(import_files::feed_id.eq(feed_id))
        .count()
        .get_result(c)
}

/// A page of a feed's ledger, newest first (`created_at`, then id), after `after`.
pub fn list_history(
    c: &mut DbConnection,
    feed_id: i64,
    after: Option<(NaiveDateTime, i64)>,
    limit: i64,
) -> QueryResult<Vec<ImportFileRow>> {
    let mut q = import_files::table
        .filter(import_files::feed_id.eq(feed_id))
        .select(ImportFileRow::as_select())
        .order((import_files::created_at.desc(), import_files::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((t, id)) = after {
        q = q.filter(
            import_files::created_at
                .lt(t)
                .or(import_files::created_at.eq(t).and(import_files::id.lt(id))),
        );
    }
    q.load(c)
}

/// Whether each of these ledger rows has a Reports API id (the ids themselves stay private).
pub fn with_report_ids(c: &mut DbConnection, file_ids: &[i64]) -> QueryResult<Vec<i64>> {
    import_reports::table
        .filter(import_reports::file_id.eq_any(file_ids))
        .select(import_reports::file_id)
        .distinct()
        .load(c)
}

/// The rows read from the feed's complete reports of `from..=to`, per report date and type
/// (`pull --check`).
pub fn rows_by_date_and_type(
    c: &mut DbConnection,
    feed_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(NaiveDate, String, i64)>> {
    let rows: Vec<(Option<NaiveDate>, String, i64)> = import_files::table
        .filter(import_files::feed_id.eq(feed_id))
        .filter(import_files::state.eq(FileState::Complete.as_str()))
        .filter(import_files::report_date.between(from, to))
        .select((
            import_files::report_date,
            import_files::report_type,
            import_files::rows_read,
        ))
        .load(c)?;
    let mut sums: std::collections::BTreeMap<(NaiveDate, String), i64> = Default::default();
    for (date, t, n) in rows {
        if let Some(date) = date {
            *sums.entry((date, t)).or_default() += n;
        }
    }
    Ok(sums.into_iter().map(|((d, t), n)| (d, t, n)).collect())
}
