//! `feedgate shadowserver pull --user U --feed F [--reports L,…] [--type T,…] [--from D]
//! [--to D] [--api-url URL] [--download-url URL] [--dry-run] [--json]` (spec
//! `shadowserver.md` §1.4, §5): lists the reports of a date range, downloads those the feed
//! lacks and imports them through the shared writer, remembering their ids. Credentials come
//! only from `SHADOWSERVER_API_KEY` / `SHADOWSERVER_API_SECRET`. Exit status as for the
//! import: 2 when a file could not be downloaded or read, 1 for configuration, credential or
//! listing errors.

use std::time::Instant;

use chrono::{Duration, NaiveDate};
use clap::{Args, Subcommand};

use crate::clock::Clock;
use crate::db::DatabaseUrl;
use crate::import::shadowserver::client::{
    Client, ClientConfig, DEFAULT_API_URL, DEFAULT_DOWNLOAD_URL, LIST_CAP, ListEntry,
};
use crate::import::shadowserver::{
    FileError, FileStatus, FileSummary, ImportOptions, Summary, detect_type, normalise_type,
};
use crate::import::writer::{WriteOptions, skipped_entry};
use crate::models::import;

use super::import::{
    ProgressBar, any_rejected, find_target, import_one, print_summary, settings_from_env,
};

/// After this many failed downloads in one run the rest are not tried (§5.6).
const MAX_DOWNLOAD_FAILURES: usize = 2;

/// Shadowserver commands.
#[derive(Debug, Subcommand)]
pub enum ShadowserverCommand {
    /// Download the reports of a date range from the Reports API and import those the feed lacks.
    Pull(PullArgs),
}

/// Arguments of `feedgate shadowserver pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The owner of the feed.
    #[arg(long)]
    pub user: String,
    /// The feed to import into (it must exist).
    #[arg(long)]
    pub feed: String,
    /// The subscriber's report list names.
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
    /// The API base URL.
    #[arg(long, env = "SHADOWSERVER_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
    /// The download base URL.
    #[arg(long, env = "SHADOWSERVER_DOWNLOAD_URL", default_value = DEFAULT_DOWNLOAD_URL)]
    pub download_url: String,
    /// Seconds a request may go without receiving data before it is abandoned.
    #[arg(long, env = "SHADOWSERVER_READ_TIMEOUT", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub read_timeout: u64,
    /// List what would be downloaded or skipped; download and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print exactly the summary object as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs a Shadowserver command.
pub fn run(cmd: ShadowserverCommand, url: &DatabaseUrl) -> anyhow::Result<()> {
    match cmd {
        ShadowserverCommand::Pull(args) => pull(args, url),
    }
}

fn env_var(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| anyhow::anyhow!("{name} is not set"))
}

fn pull(args: PullArgs, url: &DatabaseUrl) -> anyhow::Result<()> {
    let started = Instant::now();
    // Everything that can fail without the network fails first.
    let key = env_var("SHADOWSERVER_API_KEY")?;
    let secret = env_var("SHADOWSERVER_API_SECRET")?;
    let settings = settings_from_env()?;
    let types = args
        .types
        .iter()
        .map(|t| {
            normalise_type(t).ok_or_else(|| {
                anyhow::anyhow!("--type {t:?}: a report type is 1-64 of a-z, 0-9 and '_'")
            })
        })
        .collect::<anyhow::Result<Vec<String>>>()?;
    let clock = Clock::default();
    let now = clock.now();
    let today = now.date();
    let from = args.from.unwrap_or(today - Duration::days(2));
    let to = args.to.unwrap_or(today);
    if from > to {
        anyhow::bail!("--from {from} is after --to {to}");
    }
    let client = Client::new(ClientConfig {
        key,
        secret,
        api_url: args.api_url.clone(),
        download_url: args.download_url.clone(),
        read_timeout: std::time::Duration::from_secs(args.read_timeout),
    })?;
    let pool = super::open(url)?;
    let mut conn = pool.get()?;
    let target = find_target(&mut conn, &args.user, &args.feed, &settings)?;

    let mut summary = Summary::new();
    let mut raw = client.list(&date_param(from, to), &args.reports)?;
    if raw.len() >= LIST_CAP && from < to {
        // §5.3: a capped answer for several days is asked again one day at a time.
        raw.clear();
        let mut day = from;
        while day <= to {
            let answer = client.list(&date_param(day, day), &args.reports)?;
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
    let effective_type = |e: &ListEntry| -> String {
        e.report_type
            .clone()
            .unwrap_or_else(|| detect_type(None, None, &[&e.file]).label)
    };
    if !types.is_empty() {
        entries.retain(|e| types.contains(&effective_type(e)));
    }
    entries.sort_by(|a, b| (&a.timestamp, &a.file).cmp(&(&b.timestamp, &b.file)));

    if args.dry_run {
        let mut planned = Vec::with_capacity(entries.len());
        for e in &entries {
            let done = import::find_report(&mut conn, target.feed_id, &e.id)?
                .is_some_and(|row| row.is_complete());
            if args.json {
                // The report id stays out of the output: it is a download credential.
                planned.push(serde_json::json!({
                    "action": if done { "skip" } else { "download" },
                    "already_imported": done,
                    "type": effective_type(e),
                    "file": e.file,
                }));
                continue;
            }
            let what = if done {
                "skip (already imported)"
            } else {
                "download"
            };
            println!("{what}\t{}\t{}", effective_type(e), e.file);
        }
        if args.json {
            println!(
                "{}",
                serde_json::json!({ "dry_run": true, "reports": planned })
            );
        }
        return Ok(());
    }

    let wopts = WriteOptions {
        batch_rows: settings.import_batch_rows as usize,
        now,
        max_rows: None,
    };
    let bar = ProgressBar::new();
    let mut failures = 0;
    for e in &entries {
        let report_type = detect_type(None, e.report_type.as_deref(), &[&e.file]);
        let base = FileSummary::named(&e.file, &report_type);
        if let Some(row) = import::find_report(&mut conn, target.feed_id, &e.id)?
            && row.is_complete()
        {
            summary.push_file(skipped_entry(base, &row));
            continue;
        }
        if failures >= MAX_DOWNLOAD_FAILURES {
            summary.push_file(failed(base, "skipped after repeated download failures"));
            continue;
        }
        let spooled = match client.download(&e.id, settings.import_max_bytes) {
            Ok(s) => s,
            Err(message) => {
                failures += 1;
                summary.push_file(failed(base, &message));
                continue;
            }
        };
        let mut opts = ImportOptions::new(now);
        opts.list_entry_type = e.report_type.clone();
        opts.report_date = e
            .timestamp
            .as_deref()
            .and_then(|t| t.get(..10))
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        opts.sha256 = Some(spooled.sha256.clone());
        opts.max_unzipped_bytes = settings.import_max_unzipped_bytes;
        import_one(
            &mut conn,
            &target,
            spooled.file,
            &e.file,
            &opts,
            &wopts,
            Some(&e.id),
            &mut summary,
            &bar,
        )?;
    }
    bar.finish();
    summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    print_summary(&summary, args.json)?;
    if any_rejected(&summary) {
        std::process::exit(2);
    }
    Ok(())
}

/// `YYYY-MM-DD` for one day, else `FROM:TO`.
fn date_param(from: NaiveDate, to: NaiveDate) -> String {
    if from == to {
        from.to_string()
    } else {
        format!("{from}:{to}")
    }
}

/// A `failed_download` entry.
fn failed(mut entry: FileSummary, message: &str) -> FileSummary {
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
