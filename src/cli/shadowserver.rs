//! `feedgate shadowserver …`: the six Reports API methods (spec `shadowserver.md` §1.4, §5;
//! issue 21) over one signed client: `subscribed`, `types`, `stats`, `pull` (list, download,
//! import; `--check` compares `reports/stats` with what the feed holds), `download` (the JSON
//! rows of one report) and `query` (paged rows, or `--facet` counts). Credentials come only
//! from `SHADOWSERVER_API_KEY` / `SHADOWSERVER_API_SECRET`. Every command prints a table, or
//! JSON with `--json`.
//!
//! Exit status: 0 done; 1 usage, configuration, credential, API or database error (nothing is
//! sent before the arguments, the credentials and `--query`/`--date` are checked); 2 a report
//! could not be downloaded or read (`failed_download`, `rejected`); 3 `pull --check` found a
//! difference.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Instant;

use chrono::{Duration, NaiveDate};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use crate::clock::Clock;
use crate::db::DatabaseUrl;
use crate::import::pull::{self, Limits, Plan};
use crate::import::shadowserver::client::{
    Client, ClientConfig, DEFAULT_API_URL, DEFAULT_DOWNLOAD_URL, ListEntry,
};
use crate::import::shadowserver::{ImportOptions, ReportType, Summary, normalise_type};
use crate::import::writer::Target;
use crate::models::import;

use super::import::{
    ProgressBar, any_rejected, find_target, import_one, os_user, print_summary, settings_from_env,
    write_options,
};

/// Shadowserver commands.
#[derive(Debug, Subcommand)]
pub enum ShadowserverCommand {
    /// List the report lists this key is subscribed to (`reports/subscribed`).
    Subscribed(ApiArgs),
    /// List the report types available to this key (`reports/types`).
    Types(ApiArgs),
    /// Show the events per report date and type (`reports/stats`).
    Stats(StatsArgs),
    /// Download the reports of a date range and import those the feed lacks; `--check`
    /// compares the feed with `reports/stats` instead.
    Pull(PullArgs),
    /// Import the JSON rows of one report by id (`reports/download`).
    Download(DownloadArgs),
    /// Import the rows a query matches, page by page, or count them by a field
    /// (`reports/query`).
    Query(QueryArgs),
}

/// What every command shares: where the API is, how long to wait, how to print.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The API base URL.
    #[arg(long, env = "SHADOWSERVER_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
    /// Seconds a request may go without receiving data before it is abandoned.
    #[arg(long, env = "SHADOWSERVER_READ_TIMEOUT", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub read_timeout: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `feedgate shadowserver stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Only these report lists.
    #[arg(long = "report", value_delimiter = ',', value_name = "R")]
    pub reports: Vec<String>,
    /// Only these report types.
    #[arg(long = "type", value_delimiter = ',', value_name = "T")]
    pub types: Vec<String>,
    /// `YYYY-MM-DD`, `FROM:TO`, `-N:now` (the last N days) or `now` (default: the API's, the
    /// day before).
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    pub date: Option<String>,
}

/// Arguments of `feedgate shadowserver pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The owner of the feed.
    #[arg(long)]
    pub user: String,
    /// The feed to import into (it must exist).
    #[arg(long)]
    pub feed: String,
    /// The subscriber's report list names (default: every list `reports/subscribed` names).
    #[arg(long, value_delimiter = ',')]
    pub reports: Vec<String>,
    /// Only these report types.
    #[arg(long = "type", value_delimiter = ',', value_name = "T")]
    pub types: Vec<String>,
    /// First UTC day (default: today - 2).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last UTC day (default: today).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// The download base URL.
    #[arg(long, env = "SHADOWSERVER_DOWNLOAD_URL", default_value = DEFAULT_DOWNLOAD_URL)]
    pub download_url: String,
    /// List what would be downloaded or skipped; download and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Download nothing: compare, per report date and type, the events `reports/stats`
    /// counts with the rows the feed imported; exit 3 on a difference.
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,
}

/// Arguments of `feedgate shadowserver download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The report id (from `pull --dry-run`'s listing or the report e-mail).
    #[arg(long)]
    pub id: String,
    /// At most this many rows (the report is then not remembered as imported).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// The owner of the feed.
    #[arg(long)]
    pub user: String,
    /// The feed to import into (it must exist).
    #[arg(long)]
    pub feed: String,
    /// The report type (default: the type the listing gives the id).
    #[arg(long = "type", value_name = "T")]
    pub report_type: Option<String>,
    /// The report's date, where the listing is searched for the id (default: the last
    /// three days).
    #[arg(long)]
    pub date: Option<NaiveDate>,
}

/// Arguments of `feedgate shadowserver query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The query, a JSON object such as `{"geo":"XX","port":443}`.
    #[arg(long)]
    pub query: String,
    /// `YYYY-MM-DD`, `FROM:TO`, `-N:now` or `now`.
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    pub date: Option<String>,
    /// Rows per page (1-1000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub limit: u64,
    /// The most pages read (each one request).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_pages: u64,
    /// The owner of the feed (required unless --facet or --dry-run).
    #[arg(long)]
    pub user: Option<String>,
    /// The feed to import into (required unless --facet or --dry-run).
    #[arg(long)]
    pub feed: Option<String>,
    /// Count the matching rows per report type; import nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the counts of each value of this field instead of importing.
    #[arg(long, value_name = "F")]
    pub facet: Option<String>,
}

/// Runs a Shadowserver command.
pub fn run(cmd: ShadowserverCommand, url: &DatabaseUrl) -> anyhow::Result<()> {
    match cmd {
        ShadowserverCommand::Subscribed(args) => {
            let names = client(&args, DEFAULT_DOWNLOAD_URL)?.subscribed()?;
            print_list("REPORT LIST", &names, args.json)
        }
        ShadowserverCommand::Types(args) => {
            let names = client(&args, DEFAULT_DOWNLOAD_URL)?.types()?;
            print_list("REPORT TYPE", &names, args.json)
        }
        ShadowserverCommand::Stats(args) => stats(args),
        ShadowserverCommand::Pull(args) if args.check => check(args, url),
        ShadowserverCommand::Pull(args) => pull(args, url),
        ShadowserverCommand::Download(args) => download(args, url),
        ShadowserverCommand::Query(args) => query(args, url),
    }
}

fn env_var(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| anyhow::anyhow!("{name} is not set"))
}

/// The client, from the environment's credentials (checked before any request).
fn client(args: &ApiArgs, download_url: &str) -> anyhow::Result<Client> {
    let key = env_var("SHADOWSERVER_API_KEY")?;
    let secret = env_var("SHADOWSERVER_API_SECRET")?;
    Ok(Client::new(ClientConfig {
        key,
        secret,
        api_url: args.api_url.clone(),
        download_url: download_url.to_string(),
        read_timeout: std::time::Duration::from_secs(args.read_timeout),
    })?)
}

/// Checks `--type` lists.
fn parse_types(raw: &[String]) -> anyhow::Result<Vec<String>> {
    raw.iter()
        .map(|t| {
            normalise_type(t).ok_or_else(|| {
                anyhow::anyhow!("--type {t:?}: a report type is 1-64 of a-z, 0-9 and '_'")
            })
        })
        .collect()
}

/// Checks a `--date` for `reports/stats` and `reports/query`: `YYYY-MM-DD`, `FROM:TO` (FROM
/// not after TO), `-N:now` (N 0-3650) or `now`; the value as sent.
pub fn parse_date_param(raw: &str) -> anyhow::Result<String> {
    let bad = || {
        anyhow::anyhow!(
            "--date {raw:?}: use YYYY-MM-DD, YYYY-MM-DD:YYYY-MM-DD, -N:now (the last N days) or now"
        )
    };
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad());
    let text = raw.trim();
    if text == "now" {
        return Ok(text.to_string());
    }
    let Some((from, to)) = text.split_once(':') else {
        day(text)?;
        return Ok(text.to_string());
    };
    if let Some(n) = from.strip_prefix('-') {
        let days: u32 = n.parse().map_err(|_| bad())?;
        if to != "now" || days > 3650 || n.starts_with('+') {
            return Err(bad());
        }
        return Ok(text.to_string());
    }
    let (a, b) = (day(from)?, if to == "now" { None } else { Some(day(to)?) });
    if let Some(b) = b
        && a > b
    {
        anyhow::bail!("--date {raw:?}: {a} is after {b}");
    }
    Ok(text.to_string())
}

/// Writes to stdout; a closed pipe ends the output quietly.
fn out(text: &str) -> anyhow::Result<()> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn print_json(v: &Value) -> anyhow::Result<()> {
    out(&format!("{}\n", serde_json::to_string_pretty(v)?))
}

fn print_list(title: &str, names: &[String], json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(&json!(names));
    }
    let mut text = format!("{title}\n");
    for n in names {
        let _ = writeln!(text, "{n}");
    }
    out(&text)
}

fn stats(args: StatsArgs) -> anyhow::Result<()> {
    let types = parse_types(&args.types)?;
    let date = args.date.as_deref().map(parse_date_param).transpose()?;
    let client = client(&args.api, DEFAULT_DOWNLOAD_URL)?;
    let mut params = Map::new();
    if let Some(d) = date {
        params.insert("date".into(), Value::from(d));
    }
    if !args.reports.is_empty() {
        params.insert("report".into(), json!(args.reports));
    }
    if !types.is_empty() {
        params.insert("type".into(), json!(types));
    }
    let rows = client.stats(params)?;
    if args.api.json {
        return print_json(&json!(rows));
    }
    let mut text = format!("{:<12}  {:<40}  {:>12}\n", "DATE", "TYPE", "EVENTS");
    for r in &rows {
        let _ = writeln!(
            text,
            "{:<12}  {:<40}  {:>12}",
            r.date, r.report_type, r.events
        );
    }
    out(&text)
}

/// The pull's date range: `--from` (today − 2) to `--to` (today).
fn range(from: Option<NaiveDate>, to: Option<NaiveDate>) -> anyhow::Result<(NaiveDate, NaiveDate)> {
    let today = Clock::default().now().date();
    let from = from.unwrap_or(today - Duration::days(2));
    let to = to.unwrap_or(today);
    if from > to {
        anyhow::bail!("--from {from} is after --to {to}");
    }
    Ok((from, to))
}

fn pull(args: PullArgs, url: &DatabaseUrl) -> anyhow::Result<()> {
    let started = Instant::now();
    // Everything that can fail without the network fails first.
    let client = client(&args.api, &args.download_url)?;
    let settings = settings_from_env()?;
    let types = parse_types(&args.types)?;
    let (from, to) = range(args.from, args.to)?;
    let now = Clock::default().now();
    let pool = super::open(url)?;
    let mut conn = pool.get()?;
    let target = find_target(&mut conn, &args.user, &args.feed, &settings)?;

    let mut summary = Summary::new();
    let plan = Plan {
        from,
        to,
        reports: args.reports.clone(),
        types,
    };
    let entries = pull::list(&client, &plan, &mut summary)?;

    if args.dry_run {
        return dry_run(&mut conn, &target, &entries, args.api.json);
    }

    let who = os_user();
    let wopts = write_options(&settings, now, import::Source::Pull, who.as_deref(), None);
    let bar = ProgressBar::new();
    let limits = Limits {
        max_bytes: settings.import_max_bytes,
        max_unzipped_bytes: settings.import_max_unzipped_bytes,
    };
    pull::pull_entries(
        &mut conn,
        &client,
        &target,
        &entries,
        limits,
        &wopts,
        &mut summary,
        &bar,
        &mut |_| true,
    )
    .map_err(|e| anyhow::anyhow!("database error while pulling: {e}"))?;
    bar.finish();
    summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    print_summary(&summary, args.api.json)?;
    if any_rejected(&summary) {
        std::process::exit(2);
    }
    Ok(())
}

/// `--dry-run`: what would be downloaded or skipped.
fn dry_run(
    conn: &mut crate::db::DbConnection,
    target: &Target,
    entries: &[ListEntry],
    as_json: bool,
) -> anyhow::Result<()> {
    let mut planned = Vec::with_capacity(entries.len());
    let mut text = String::new();
    for e in entries {
        let done =
            import::find_report(conn, target.feed_id, &e.id)?.is_some_and(|r| r.is_complete());
        // The report id stays out of the output: it is a download credential.
        planned.push(json!({
            "action": if done { "skip" } else { "download" },
            "already_imported": done,
            "type": pull::effective_type(e),
            "file": e.file,
        }));
        let what = if done {
            "skip (already imported)"
        } else {
            "download"
        };
        let _ = writeln!(text, "{what}\t{}\t{}", pull::effective_type(e), e.file);
    }
    if as_json {
        return out(&format!(
            "{}\n",
            json!({ "dry_run": true, "reports": planned })
        ));
    }
    out(&text)
}

/// A stats type as our labels spell it (`scan-exchange` → `scan_exchange`).
fn label_of(stats_type: &str) -> String {
    stats_type.trim().to_ascii_lowercase().replace('-', "_")
}

/// `pull --check`: per report date and type, the events `reports/stats` counts against the
/// rows the feed's complete reports of those days read. Exit 3 on any difference.
fn check(args: PullArgs, url: &DatabaseUrl) -> anyhow::Result<()> {
    let client = client(&args.api, &args.download_url)?;
    let settings = settings_from_env()?;
    let types = parse_types(&args.types)?;
    let (from, to) = range(args.from, args.to)?;
    let pool = super::open(url)?;
    let mut conn = pool.get()?;
    let target = find_target(&mut conn, &args.user, &args.feed, &settings)?;

    let mut params = Map::new();
    params.insert("date".into(), Value::from(pull::date_param(from, to)));
    if !args.reports.is_empty() {
        params.insert("report".into(), json!(args.reports));
    }
    if !types.is_empty() {
        params.insert("type".into(), json!(types));
    }
    let stats = client.stats(params)?;
    let mut counted: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for r in stats {
        let label = label_of(&r.report_type);
        let day = r.date.get(..10).unwrap_or(&r.date).to_string();
        if types.is_empty() || types.contains(&label) {
            counted.entry((day, label)).or_default().0 += r.events;
        }
    }
    for (day, label, rows) in import::rows_by_date_and_type(&mut conn, target.feed_id, from, to)? {
        if types.is_empty() || types.contains(&label) {
            counted.entry((day.to_string(), label)).or_default().1 += rows;
        }
    }
    let differences: Vec<Value> = counted
        .iter()
        .filter(|(_, (events, imported))| events != imported)
        .map(|((day, label), (events, imported))| {
            json!({"date": day, "type": label, "events": events, "imported": imported,
                   "difference": events - imported})
        })
        .collect();
    if args.api.json {
        print_json(&json!({
            "from": from.to_string(),
            "to": to.to_string(),
            "compared": counted.len(),
            "differences": differences,
        }))?;
    } else {
        let mut text = format!(
            "{:<12}  {:<40}  {:>12}  {:>12}  {:>12}\n",
            "DATE", "TYPE", "EVENTS", "IMPORTED", "DIFFERENCE"
        );
        for d in &differences {
            let _ = writeln!(
                text,
                "{:<12}  {:<40}  {:>12}  {:>12}  {:>12}",
                d["date"].as_str().unwrap_or_default(),
                d["type"].as_str().unwrap_or_default(),
                d["events"],
                d["imported"],
                d["difference"]
            );
        }
        let _ = writeln!(
            text,
            "{} of {} report dates and types differ",
            differences.len(),
            counted.len()
        );
        out(&text)?;
    }
    if !differences.is_empty() {
        std::process::exit(3);
    }
    Ok(())
}

fn download(args: DownloadArgs, url: &DatabaseUrl) -> anyhow::Result<()> {
    let started = Instant::now();
    let client = client(&args.api, DEFAULT_DOWNLOAD_URL)?;
    let settings = settings_from_env()?;
    let explicit = super::import::parse_type(args.report_type.as_deref())?;
    let now = Clock::default().now();
    let pool = super::open(url)?;
    let mut conn = pool.get()?;
    let target = find_target(&mut conn, &args.user, &args.feed, &settings)?;

    // The listing names the report's file, type and date; without --type it must hold the id.
    let (from, to) = match args.date {
        Some(d) => (d, d),
        None => (now.date() - Duration::days(2), now.date()),
    };
    let mut ignored = Summary::new();
    let plan = Plan {
        from,
        to,
        reports: Vec::new(),
        types: Vec::new(),
    };
    let listed = match pull::list(&client, &plan, &mut ignored) {
        Ok(entries) => entries.into_iter().find(|e| e.id == args.id),
        Err(e) if explicit.is_some() => {
            tracing::warn!(error = %e, "cannot list the reports; using --type");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let report_type = match (&explicit, &listed) {
        (Some(t), _) => t.clone(),
        (None, Some(e)) => pull::effective_type(e),
        (None, None) => anyhow::bail!(
            "the report is not in the listing of {}; give its --type (and --date)",
            pull::date_param(from, to)
        ),
    };
    let name = listed.as_ref().map_or_else(
        || format!("{report_type}-download.json"),
        |e| e.file.clone(),
    );
    let report_date = listed.as_ref().and_then(pull::entry_date).or(args.date);

    let spooled = client.download_rows(&args.id, args.limit, settings.import_max_bytes)?;
    let mut opts = ImportOptions::new(now);
    opts.explicit_type = Some(report_type);
    opts.report_date = report_date;
    opts.sha256 = Some(spooled.sha256.clone());
    opts.max_unzipped_bytes = settings.import_max_unzipped_bytes;
    let who = os_user();
    let wopts = write_options(
        &settings,
        now,
        import::Source::Download,
        who.as_deref(),
        report_date,
    );
    // Part of a report (`--limit`) is not remembered by id: a later whole download of it
    // must not be skipped.
    let report_id = args.limit.is_none().then_some(args.id.as_str());
    let mut summary = Summary::new();
    let bar = ProgressBar::new();
    import_one(
        &mut conn,
        &target,
        spooled.file,
        &name,
        &opts,
        &wopts,
        report_id,
        &mut summary,
        &bar,
    )?;
    bar.finish();
    summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    print_summary(&summary, args.api.json)?;
    if any_rejected(&summary) {
        std::process::exit(2);
    }
    Ok(())
}

/// The report type of a `reports/query` row: `type` and `tag` together (`scan` + `ssl` →
/// `scan_ssl`), else either alone, when that names a known type; `None` → the generic rule.
pub fn row_type(row: &Map<String, Value>) -> Option<String> {
    let text = |v: &Value| -> Option<String> {
        let s = match v {
            Value::String(s) => s.split(',').next().unwrap_or_default().to_string(),
            Value::Array(items) => items.first()?.as_str()?.to_string(),
            _ => return None,
        };
        normalise_type(&s.trim().replace('-', "_"))
    };
    let kind = row.get("type").and_then(text);
    let tag = row.get("tag").and_then(text);
    let mut candidates = Vec::new();
    if let (Some(k), Some(t)) = (&kind, &tag) {
        candidates.push(format!("{k}_{t}"));
    }
    candidates.extend(kind);
    candidates.extend(tag);
    candidates
        .into_iter()
        .find(|c| ReportType::for_label(c).known.is_some())
}

/// Checks `--query`: a JSON object with at least one member.
pub fn parse_query(raw: &str) -> anyhow::Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) if !m.is_empty() => Ok(m),
        Ok(_) => anyhow::bail!(
            "--query must be a JSON object with at least one field, such as {{\"geo\":\"XX\",\"port\":443}}"
        ),
        Err(e) => anyhow::bail!("--query is not valid JSON: {e}"),
    }
}

fn query(args: QueryArgs, url: &DatabaseUrl) -> anyhow::Result<()> {
    let started = Instant::now();
    let q = parse_query(&args.query)?;
    let date = args.date.as_deref().map(parse_date_param).transpose()?;
    let importing = args.facet.is_none() && !args.dry_run;
    if importing && (args.user.is_none() || args.feed.is_none()) {
        anyhow::bail!("--user and --feed are required unless --facet or --dry-run is given");
    }
    let client = client(&args.api, DEFAULT_DOWNLOAD_URL)?;
    let settings = settings_from_env()?;
    let mut base = Map::new();
    base.insert("query".into(), Value::Object(q));
    if let Some(d) = &date {
        base.insert("date".into(), Value::from(d.clone()));
    }
    base.insert("limit".into(), Value::from(args.limit));

    if let Some(field) = &args.facet {
        base.insert("facet".into(), Value::from(field.clone()));
        let counts = client.query(base)?;
        if args.api.json {
            return print_json(&json!(counts));
        }
        let mut text = format!("{:<40}  {:>12}\n", field.to_ascii_uppercase(), "COUNT");
        for c in &counts {
            let value = c.get(field).map_or_else(String::new, |v| {
                v.as_str().map_or_else(|| v.to_string(), str::to_owned)
            });
            let _ = writeln!(
                text,
                "{value:<40}  {:>12}",
                c.get("count").unwrap_or(&Value::Null)
            );
        }
        return out(&text);
    }

    let now = Clock::default().now();
    let pool = super::open(url)?;
    let mut conn = pool.get()?;
    let target = match (&args.user, &args.feed) {
        (Some(u), Some(f)) if importing => Some(find_target(&mut conn, u, f, &settings)?),
        _ => None,
    };
    let who = os_user();
    let wopts = write_options(&settings, now, import::Source::Query, who.as_deref(), None);
    let stamp = date
        .clone()
        .unwrap_or_else(|| now.date().to_string())
        .replace(':', "_");
    let mut summary = Summary::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let bar = ProgressBar::new();
    let mut page = 1u64;
    loop {
        let mut params = base.clone();
        params.insert("page".into(), Value::from(page));
        let rows = client.query(params)?;
        let full = rows.len() as u64 >= args.limit;
        // Rows of one type go through the engine together, as one JSON file.
        let mut groups: BTreeMap<Option<String>, Vec<Value>> = BTreeMap::new();
        for row in rows {
            let t = row_type(&row);
            *counts
                .entry(t.clone().unwrap_or_else(|| "generic".into()))
                .or_default() += 1;
            groups.entry(t).or_default().push(Value::Object(row));
        }
        if let Some(target) = &target {
            for (t, rows) in groups {
                let name = format!(
                    "query-{stamp}-page{page}-{}.json",
                    t.as_deref().unwrap_or("generic")
                );
                let bytes = serde_json::to_vec(&rows)?;
                let spooled = crate::import::spool::spool_reader(&bytes[..], u64::MAX)?;
                let mut opts = ImportOptions::new(now);
                opts.explicit_type = t;
                opts.sha256 = Some(spooled.sha256.clone());
                import_one(
                    &mut conn,
                    target,
                    spooled.file,
                    &name,
                    &opts,
                    &wopts,
                    None,
                    &mut summary,
                    &bar,
                )?;
            }
        }
        if !full || page >= args.max_pages {
            break;
        }
        page += 1;
    }
    bar.finish();
    if target.is_none() {
        if args.api.json {
            return print_json(&json!({"dry_run": true, "pages": page, "rows_by_type": counts}));
        }
        let mut text = format!("{:<40}  {:>12}\n", "TYPE", "ROWS");
        for (t, n) in &counts {
            let _ = writeln!(text, "{t:<40}  {n:>12}");
        }
        return out(&text);
    }
    summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    print_summary(&summary, args.api.json)?;
    if any_rejected(&summary) {
        std::process::exit(2);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_parameters_are_checked_before_any_request() {
        for ok in [
            "2024-01-04",
            "2024-01-04:2024-01-05",
            "-3:now",
            "now",
            "2024-01-04:now",
        ] {
            assert_eq!(parse_date_param(ok).unwrap(), ok);
        }
        for bad in [
            "yesterday",
            "2024-02-30",
            "2024-01-05:2024-01-04",
            "-x:now",
            "-3:then",
            "-99999:now",
            "",
            ":",
        ] {
            assert!(parse_date_param(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn queries_are_json_objects() {
        assert!(parse_query(r#"{"geo":"XX","port":443}"#).is_ok());
        for bad in ["{", "[]", "{}", "\"geo\"", "geo=XX"] {
            assert!(parse_query(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_query_row_is_typed_by_type_and_tag_when_known() {
        let row = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            row_type(&row(json!({"type": "scan", "tag": ["ssl"]}))).as_deref(),
            Some("scan_ssl")
        );
        assert_eq!(
            row_type(&row(json!({"type": "scan", "tag": "ssl-freak"}))).as_deref(),
            Some("scan_ssl_freak")
        );
        assert_eq!(
            row_type(&row(json!({"type": "blocklist"}))).as_deref(),
            Some("blocklist")
        );
        assert_eq!(
            row_type(&row(json!({"type": "nonsense", "tag": ["x"]}))),
            None
        );
        assert_eq!(row_type(&row(json!({"ip": "192.0.2.1"}))), None);
    }
}
