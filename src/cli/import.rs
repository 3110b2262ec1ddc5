//! `feedgate import shadowserver --user U --feed F [--type T] [--filename N] [--json] FILE…|-`
//! (spec `shadowserver.md` §1.2): imports local report files (or stdin, spooled to a temporary
//! file) into an existing feed, through the same engine and writer as the HTTP endpoint.
//! Exit status: 2 when a file could not be read at all, 1 for usage, configuration or
//! database errors, else 0. Also the helpers the pull command shares: settings, target,
//! summary printing.

use std::fmt::Write as _;
use std::fs::File;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{DatabaseUrl, DbConnection};
use crate::import::pull;
use crate::import::shadowserver::{
    FileStatus, ImportOptions, PendingHash, Summary, normalise_type,
};
use crate::import::spool;
use crate::import::writer::{Target, WriteOptions};
use crate::models::{feed, import, user};

/// Import commands.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import Shadowserver report files (CSV, JSON, NDJSON or zip) into an existing feed.
    Shadowserver(ShadowserverImport),
}

/// Arguments of `feedgate import shadowserver`.
#[derive(Debug, Args)]
pub struct ShadowserverImport {
    /// The owner of the feed.
    #[arg(long)]
    pub user: String,
    /// The feed to import into (it must exist).
    #[arg(long)]
    pub feed: String,
    /// Force the report type of every file and zip member.
    #[arg(long = "type", value_name = "T")]
    pub report_type: Option<String>,
    /// The name of stdin (`-`) for type detection and the ledger.
    #[arg(long, value_name = "N")]
    pub filename: Option<String>,
    /// Print exactly the summary object as JSON.
    #[arg(long)]
    pub json: bool,
    /// Report files; `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
}

/// Runs an import command.
pub fn run(cmd: ImportCommand, url: &DatabaseUrl) -> anyhow::Result<()> {
    match cmd {
        ImportCommand::Shadowserver(args) => import_shadowserver(args, url),
    }
}

fn import_shadowserver(args: ShadowserverImport, url: &DatabaseUrl) -> anyhow::Result<()> {
    let started = Instant::now();
    let settings = settings_from_env()?;
    let explicit = parse_type(args.report_type.as_deref())?;
    let pool = super::open(url)?;
    let mut conn = pool.get()?;
    let target = find_target(&mut conn, &args.user, &args.feed, &settings)?;
    let now = Clock::default().now();
    let mut opts = ImportOptions::new(now);
    opts.explicit_type = explicit;
    opts.max_unzipped_bytes = settings.import_max_unzipped_bytes;
    let who = os_user();
    let wopts = write_options(&settings, now, import::Source::Cli, who.as_deref(), None);
    let bar = ProgressBar::new();
    let mut summary = Summary::new();
    for path in &args.files {
        let (name, input) = if path == "-" {
            let name = args.filename.clone().unwrap_or_default();
            let spooled = spool::spool_reader(std::io::stdin().lock(), u64::MAX);
            match spooled {
                Ok(s) => {
                    let mut o = opts.clone();
                    o.sha256 = Some(s.sha256.clone());
                    (name, Ok((s.file, o)))
                }
                Err(e) => (name, Err(e.to_string())),
            }
        } else {
            match File::open(path) {
                Ok(f) => {
                    // Hashed on another thread while the first rows are read (the hash is a
                    // whole pass over the file, and the ledger needs it only before the first
                    // write).
                    let mut o = opts.clone();
                    o.pending_sha256 = Some(PendingHash::of_file(Path::new(path)));
                    (path.clone(), Ok((f, o)))
                }
                Err(e) => (path.clone(), Err(format!("cannot open {path}: {e}"))),
            }
        };
        match input {
            Err(message) => summary.push_file(pull::rejected(&name, &opts, message)),
            Ok((file, o)) => {
                import_one(
                    &mut conn,
                    &target,
                    file,
                    &name,
                    &o,
                    &wopts,
                    None,
                    &mut summary,
                    &bar,
                )?;
            }
        }
    }
    bar.finish();
    summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    print_summary(&summary, args.json)?;
    if any_rejected(&summary) {
        std::process::exit(2);
    }
    Ok(())
}

/// Opens one input and imports it into the target with the progress bar
/// ([`crate::import::pull::import_spooled`]); a database error names the input.
#[expect(clippy::too_many_arguments, reason = "one call site per command")]
pub(crate) fn import_one(
    conn: &mut DbConnection,
    target: &Target,
    file: File,
    name: &str,
    opts: &ImportOptions,
    wopts: &WriteOptions<'_>,
    report_id: Option<&str>,
    summary: &mut Summary,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    pull::import_spooled(
        conn, target, file, name, opts, wopts, report_id, summary, bar,
    )
    .map_err(|e| anyhow::anyhow!("database error while importing {name}: {e}"))
}

/// Whether any file could not be read at all (exit status 2).
pub(crate) fn any_rejected(summary: &Summary) -> bool {
    summary
        .files
        .iter()
        .any(|f| matches!(f.status, FileStatus::Rejected | FileStatus::FailedDownload))
}

/// How a command's import writes: no row limit, the server's batch size, the origin the
/// import history shows.
pub(crate) fn write_options<'a>(
    settings: &Settings,
    now: chrono::NaiveDateTime,
    source: import::Source,
    who: Option<&'a str>,
    report_date: Option<chrono::NaiveDate>,
) -> WriteOptions<'a> {
    WriteOptions {
        batch_rows: settings.import_batch_rows as usize,
        now,
        max_rows: None,
        origin: import::Origin {
            source,
            started_by: who,
            report_date,
        },
    }
}

/// Who runs a command, for the import history: the operating system's user name, if known.
pub(crate) fn os_user() -> Option<String> {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// Checks `--type`.
pub(crate) fn parse_type(raw: Option<&str>) -> anyhow::Result<Option<String>> {
    raw.map(|t| {
        normalise_type(t).ok_or_else(|| {
            anyhow::anyhow!("--type {t:?}: a report type is 1-64 of a-z, 0-9 and '_'")
        })
    })
    .transpose()
}

/// The settings `feedgate serve` would use in this environment (`FEEDGATE_*` variables):
/// the default indicator quota, the batch size and the inflated-size limit.
pub(crate) fn settings_from_env() -> anyhow::Result<Settings> {
    #[derive(Parser)]
    struct FromEnv {
        #[command(flatten)]
        settings: Settings,
    }
    let parsed = FromEnv::try_parse_from(["feedgate"]).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or_default().to_string();
        anyhow::anyhow!("server settings: {}", first.trim_start_matches("error: "))
    })?;
    Ok(parsed.settings)
}

/// Finds the user and the feed (both must exist; feeds are not created implicitly).
pub(crate) fn find_target(
    conn: &mut DbConnection,
    user_name: &str,
    feed_name: &str,
    settings: &Settings,
) -> anyhow::Result<Target> {
    let owner = user::find_by_name(conn, user_name).map_err(|e| match e {
        diesel::result::Error::NotFound => anyhow::anyhow!("no such user: {user_name}"),
        other => other.into(),
    })?;
    let feed = feed::find_by_name(conn, owner.id, feed_name).map_err(|e| match e {
        diesel::result::Error::NotFound => {
            anyhow::anyhow!("no such feed: {user_name}/{feed_name}")
        }
        other => other.into(),
    })?;
    Ok(Target {
        owner_id: owner.id,
        feed_id: feed.id,
        default_indicator_limit: settings.max_indicators,
        lifetimes: settings.lifetimes.with(&feed.lifetime_overrides()),
        report_lifetimes: settings.report_lifetimes.clone(),
    })
}

/// Prints the summary: exactly the JSON object with `--json`, else a table.
pub(crate) fn print_summary(summary: &Summary, json: bool) -> anyhow::Result<()> {
    let mut out = String::new();
    if json {
        out = serde_json::to_string_pretty(summary)?;
        out.push('\n');
        return write_stdout(&out);
    }
    writeln!(
        out,
        "{:<40}  {:<24}  {:<24}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}",
        "FILE", "TYPE", "STATUS", "ROWS", "CREATED", "UPDATED", "UNCHANGED", "SKIPPED"
    )?;
    for f in &summary.files {
        let status = serde_json::to_value(f.status)?;
        writeln!(
            out,
            "{:<40}  {:<24}  {:<24}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}",
            shorten(
                if f.name.is_empty() {
                    "(stdin)"
                } else {
                    &f.name
                },
                40
            ),
            shorten(&f.report_type, 24),
            status.as_str().unwrap_or_default(),
            f.rows_read,
            f.indicators_created,
            f.indicators_updated,
            f.indicators_unchanged,
            f.rows_skipped.total()
        )?;
        if let Some(e) = &f.error {
            writeln!(out, "    {}: {}", e.code.as_str(), e.message)?;
        }
    }
    writeln!(
        out,
        "{:<40}  {:<24}  {:<24}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}",
        "TOTAL",
        "",
        format!(
            "{} imported, {} skipped, {} failed",
            summary.files_imported, summary.files_skipped_already_imported, summary.files_failed
        ),
        summary.rows_read,
        summary.indicators_created,
        summary.indicators_updated,
        summary.indicators_unchanged,
        summary.rows_skipped.total()
    )?;
    let skipped = serde_json::to_value(&summary.rows_skipped)?;
    if let Some(m) = skipped.as_object().filter(|m| !m.is_empty()) {
        let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(out, "skipped rows: {}", parts.join(", "))?;
    }
    let warnings = serde_json::to_value(&summary.warnings)?;
    if let Some(m) = warnings.as_object().filter(|m| !m.is_empty()) {
        let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(out, "warnings: {}", parts.join(", "))?;
    }
    writeln!(out, "{} ms", summary.duration_ms)?;
    write_stdout(&out)
}

/// Writes to stdout; a closed pipe (`… | head`) ends the output quietly instead of panicking.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn shorten(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let tail: String = s
        .chars()
        .rev()
        .take(width - 1)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

/// The progress bar on stderr: bytes done of the report's total and rows/s; hidden unless
/// stderr is a terminal.
pub(crate) struct ProgressBar {
    bar: Option<indicatif::ProgressBar>,
    started: std::cell::Cell<Instant>,
}

impl ProgressBar {
    /// A bar, shown only when stderr is a terminal.
    pub(crate) fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let style = indicatif::ProgressStyle::with_template(
                "{prefix:.bold} [{bar:30}] {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
            indicatif::ProgressBar::hidden().with_style(style)
        });
        ProgressBar {
            bar,
            started: std::cell::Cell::new(Instant::now()),
        }
    }

    /// Clears the bar for good.
    pub(crate) fn finish(&self) {
        pull::Watch::done(self);
    }
}

impl pull::Watch for ProgressBar {
    fn start(&self, total: u64, name: &str) {
        if let Some(bar) = &self.bar {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.reset();
            bar.set_length(total);
            bar.set_position(0);
            bar.set_prefix(
                name.rsplit(['/', '\\'])
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            );
            self.started.set(Instant::now());
        }
    }

    fn update(&self, bytes: u64, rows: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
            let secs = self.started.get().elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!("{rows} rows, {:.0} rows/s", rows as f64 / secs));
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
