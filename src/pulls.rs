//! Scheduled Reports API pulls inside `serve` (issue 21). Admins store schedules
//! (`models::shadowserver_schedule`); every `--shadowserver-poll-secs` each gateway looks for
//! work ([`Scheduler::tick`]) and `POST /api/admin/shadowserver/schedules/{id}/run` runs one
//! now ([`Scheduler::run_now`]).
//!
//! **Once across N gateways.** Work is claimed in one write transaction: first a `running` run
//! whose lease expired (its gateway died mid-pull: this one takes it over and finishes it),
//! then a due schedule (its `next_run_at` moved forward by a compare-and-set, and a run
//! inserted leased to this gateway). Whoever loses a compare-and-set claims nothing. The
//! holder renews its lease every third of `--shadowserver-lease-secs` while it works and
//! checks it before each report; a run taken over from it stops at its next report. Reports
//! imported before a gateway died are skipped by the file ledger, so finishing a run never
//! imports twice.
//!
//! The pull itself is `import::pull`'s, the CLI's: on a connection of its own
//! (`state.db.long_write`) with a place at the import gate, one per gateway at a time. Each run
//! records what it listed, imported, skipped and failed, the rows read and the errors (a report
//! whose answer has the wrong shape is failed with the reason and the run goes on). The key
//! and secret come from the server's environment only and never reach a log or an answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{Duration, NaiveDateTime};
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{self, Db, DbConnection, RunError};
use crate::import::gate::{GateFull, ImportGate, ImportPermit};
use crate::import::pull::{self, Limits, Plan, Quiet};
use crate::import::shadowserver::Summary;
use crate::import::shadowserver::client::{Client, ClientConfig};
use crate::import::writer::{Target, WriteOptions};
use crate::models::shadowserver_run::{self as run, NewRun, RunOutcome, RunRow};
use crate::models::shadowserver_schedule::{self as schedule, Schedule};
use crate::models::{feed, import};

/// The key under which scheduled runs take their place at the import gate (no user has it):
/// one scheduled run at a time per gateway, counted in the server's total.
const GATE_KEY: i64 = -1;
/// The most pieces of work one tick takes on.
const MAX_PER_TICK: usize = 16;
/// The most errors a run keeps.
const MAX_ERRORS: usize = 100;

/// Why a run could not be started now.
#[derive(Debug, thiserror::Error)]
pub enum RunNowError {
    /// No schedule has this id.
    #[error("no such schedule")]
    NotFound,
    /// A gateway is running this schedule under a live lease.
    #[error("a run of this schedule is in progress")]
    InProgress,
    /// No key and secret in the server's environment.
    #[error("the Reports API credentials are not configured")]
    NotConfigured,
    /// The import gate is full.
    #[error("too many imports running")]
    Busy(GateFull),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] RunError),
}

impl From<diesel::result::Error> for RunNowError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => RunNowError::NotFound,
            other => RunNowError::Database(other.into()),
        }
    }
}

/// A claimed run and its schedule.
struct Work {
    run: RunRow,
    schedule: Schedule,
}

/// The scheduled pulls of one gateway.
pub struct Scheduler {
    db: Db,
    settings: Settings,
    clock: Clock,
    imports: Arc<ImportGate>,
    /// This gateway's name in leases: random, so two processes never share one.
    gateway: String,
}

impl Scheduler {
    /// The scheduler of a gateway.
    pub fn new(db: Db, settings: Settings, clock: Clock, imports: Arc<ImportGate>) -> Self {
        let mut bytes = [0u8; 8];
        // A fixed name would only make two gateways share leases; the process id still differs.
        let _ = getrandom::fill(&mut bytes);
        let gateway = format!("{}-{}", std::process::id(), crate::domain::hex::hex(&bytes));
        Scheduler {
            db,
            settings,
            clock,
            imports,
            gateway,
        }
    }

    /// Whether the key and secret are configured (without them nothing runs).
    pub fn configured(&self) -> bool {
        self.settings.shadowserver_credentials.is_some()
    }

    /// The wait between two looks for work.
    pub fn period(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.settings.shadowserver_poll_secs.max(1))
    }

    fn lease(&self) -> Duration {
        Duration::seconds(i64::try_from(self.settings.shadowserver_lease_secs).unwrap_or(300))
    }

    /// Claims and runs work until none is left (at most 16 pieces): runs whose gateway died,
    /// then due schedules. Does nothing without credentials or when the gate is full.
    pub async fn tick(&self) {
        if !self.configured() {
            return;
        }
        for _ in 0..MAX_PER_TICK {
            let Ok(permit) = self.imports.try_enter(GATE_KEY) else {
                return;
            };
            let now = self.clock.now();
            let (me, lease) = (self.gateway.clone(), self.lease());
            let claimed = self.db.write(move |c| claim_next(c, &me, now, lease)).await;
            match claimed {
                Ok(Some(work)) => {
                    self.execute(work, permit).await;
                }
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "could not look for scheduled pulls");
                    return;
                }
            }
        }
    }

    /// Runs schedule `id` now: takes over its run when that run's gateway died, refuses while
    /// a live run holds it, else starts a `manual` run. Answers the run once it ended.
    pub async fn run_now(&self, id: i64) -> Result<RunRow, RunNowError> {
        if !self.configured() {
            return Err(RunNowError::NotConfigured);
        }
        let now = self.clock.now();
        // A run held by a live gateway is said so before this gateway's own places count.
        let live = self
            .db
            .read(move |c| {
                schedule::find(c, id)?;
                let running = run::running_of(c, id)?;
                Ok::<_, RunNowError>(running.is_some_and(|r| r.lease_expires_at >= now))
            })
            .await?;
        if live {
            return Err(RunNowError::InProgress);
        }
        let permit = self
            .imports
            .try_enter(GATE_KEY)
            .map_err(RunNowError::Busy)?;
        let (me, lease) = (self.gateway.clone(), self.lease());
        let work = self
            .db
            .write(move |c| -> Result<Work, RunNowError> {
                let s = schedule::find(c, id)?;
                if let Some(r) = run::running_of(c, id)? {
                    if r.lease_expires_at >= now || !run::take_over(c, r.id, &me, now + lease, now)?
                    {
                        return Err(RunNowError::InProgress);
                    }
                    let r = run::find(c, r.id)?;
                    return Ok(Work {
                        run: r,
                        schedule: s,
                    });
                }
                let r = start_run(c, &s, "manual", &me, now, lease)?;
                Ok(Work {
                    run: r,
                    schedule: s,
                })
            })
            .await?;
        let run_id = work.run.id;
        self.execute(work, permit).await;
        self.db
            .read(move |c| run::find(c, run_id).map_err(RunNowError::from))
            .await
    }

    /// Runs a claimed run to its end, renewing its lease meanwhile, and records the outcome.
    async fn execute(&self, work: Work, permit: ImportPermit) {
        let run_id = work.run.id;
        let lost = Arc::new(AtomicBool::new(false));
        let heartbeat = actix_web::rt::spawn(heartbeat(
            self.db.clone(),
            self.clock.clone(),
            self.gateway.clone(),
            run_id,
            self.lease(),
            lost.clone(),
        ));
        let settings = self.settings.clone();
        let (me, lease, clock) = (self.gateway.clone(), self.lease(), self.clock.clone());
        let result = self
            .db
            .long_write(move |c| {
                let _permit = permit;
                let ended = pull_run(c, &settings, &work, &me, lease, &clock, &lost);
                let outcome = ended.outcome();
                let errors = outcome.errors.to_string();
                db::write_tx(c, |c| {
                    run::finish(
                        c,
                        work.run.id,
                        &me,
                        &RunOutcome {
                            state: outcome.state,
                            reports_listed: outcome.listed,
                            reports_imported: outcome.imported,
                            reports_skipped: outcome.skipped,
                            reports_failed: outcome.failed,
                            rows_read: outcome.rows,
                            errors: &errors,
                            finished_at: Some(clock.now()),
                        },
                    )
                })
                .map_err(RunError::from)
            })
            .await;
        heartbeat.abort();
        match result {
            Ok(true) => tracing::info!(run = run_id, "scheduled pull finished"),
            Ok(false) => tracing::warn!(
                run = run_id,
                "scheduled pull was taken over by another gateway"
            ),
            Err(e) => {
                tracing::warn!(run = run_id, error = %e, "scheduled pull failed; another gateway finishes it once its lease expires")
            }
        }
    }
}

/// Renews the lease every third of its length until aborted; marks the run lost when another
/// gateway took it over.
async fn heartbeat(
    db: Db,
    clock: Clock,
    me: String,
    run_id: i64,
    lease: Duration,
    lost: Arc<AtomicBool>,
) {
    let every = (lease / 3)
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(1));
    let mut tick =
        actix_web::rt::time::interval_at(actix_web::rt::time::Instant::now() + every, every);
    loop {
        tick.tick().await;
        let (me, until) = (me.clone(), clock.now() + lease);
        let renewed = db
            .write(move |c| run::renew(c, run_id, &me, until).map_err(RunError::from))
            .await;
        match renewed {
            Ok(true) => {}
            Ok(false) => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Err(e) => tracing::warn!(error = %e, "could not renew a scheduled pull's lease"),
        }
    }
}

/// The next piece of work for gateway `me`, claimed in this transaction.
fn claim_next(
    c: &mut db::WriteTx<'_>,
    me: &str,
    now: NaiveDateTime,
    lease: Duration,
) -> Result<Option<Work>, RunError> {
    for r in run::expired(c, now, 4)? {
        if run::take_over(c, r.id, me, now + lease, now)? {
            let schedule = schedule::find(c, r.schedule_id)?;
            let r = run::find(c, r.id)?;
            tracing::info!(
                run = r.id,
                "taking over a scheduled pull whose gateway stopped"
            );
            return Ok(Some(Work { run: r, schedule }));
        }
    }
    for (id, seen) in schedule::due(c, now, 4)? {
        if run::running_of(c, id)?.is_some() {
            // Still running elsewhere (a run left by a dead gateway is taken over above once
            // its lease expires); due again when it is done.
            continue;
        }
        let s = schedule::find(c, id)?;
        let interval = Duration::hours(i64::from(s.row.interval_hours.max(1)));
        let mut next = seen + interval;
        if next <= now {
            // Missed runs (the server was down) are not made up one by one.
            next = now + interval;
        }
        if !schedule::claim_due(c, id, seen, next)? {
            continue;
        }
        let r = start_run(c, &s, "schedule", me, now, lease)?;
        return Ok(Some(Work {
            run: r,
            schedule: s,
        }));
    }
    Ok(None)
}

/// Inserts a run of `s` leased to `me`, covering its `days_back` days up to today.
fn start_run(
    c: &mut db::WriteTx<'_>,
    s: &Schedule,
    kind: &str,
    me: &str,
    now: NaiveDateTime,
    lease: Duration,
) -> diesel::QueryResult<RunRow> {
    let to = now.date();
    run::insert(
        c,
        &NewRun {
            schedule_id: s.row.id,
            kind,
            state: run::RUNNING,
            lease_owner: me,
            lease_expires_at: now + lease,
            date_from: to - Duration::days(i64::from(s.row.days_back.max(0))),
            date_to: to,
            started_at: now,
        },
    )
}

/// How a run's pull ended.
enum Ended {
    /// The listing failed: nothing was imported.
    Failed(String),
    /// Every listed report was tried (or the run was lost to another gateway).
    Pulled(Box<Summary>),
}

/// What a run records.
struct Counts {
    state: &'static str,
    listed: i64,
    imported: i64,
    skipped: i64,
    failed: i64,
    rows: i64,
    errors: Value,
}

impl Ended {
    fn outcome(&self) -> Counts {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        match self {
            Ended::Failed(reason) => Counts {
                state: run::FAILED,
                listed: 0,
                imported: 0,
                skipped: 0,
                failed: 0,
                rows: 0,
                errors: json!([{ "report": null, "reason": reason }]),
            },
            Ended::Pulled(s) => {
                let errors: Vec<Value> = s
                    .files
                    .iter()
                    .filter_map(|f| {
                        f.error.as_ref().map(|e| {
                            json!({
                                "report": f.name,
                                "type": f.report_type,
                                "status": f.status,
                                "reason": e.message,
                            })
                        })
                    })
                    .take(MAX_ERRORS)
                    .collect();
                Counts {
                    state: run::FINISHED,
                    listed: n(s.reports_listed.unwrap_or(0)),
                    imported: n(s.files_imported),
                    skipped: n(s.files_skipped_already_imported),
                    failed: n(s.files_failed),
                    rows: n(s.rows_read),
                    errors: Value::Array(errors),
                }
            }
        }
    }
}

/// The pull of one run, on the import's own connection: list, then download and import what
/// the feed lacks, stopping when the lease is lost.
fn pull_run(
    c: &mut DbConnection,
    settings: &Settings,
    work: &Work,
    me: &str,
    lease: Duration,
    clock: &Clock,
    lost: &AtomicBool,
) -> Ended {
    let Some(creds) = settings.shadowserver_credentials.clone() else {
        return Ended::Failed("the Reports API credentials are not configured".into());
    };
    let client = match Client::new(ClientConfig {
        key: creds.key,
        secret: creds.secret,
        api_url: settings.shadowserver_api_url.clone(),
        download_url: settings.shadowserver_download_url.clone(),
        read_timeout: std::time::Duration::from_secs(60),
    }) {
        Ok(client) => client,
        Err(e) => return Ended::Failed(e.to_string()),
    };
    let feed_row = match feed::find(c, work.schedule.row.feed_id) {
        Ok(f) => f,
        Err(e) => return Ended::Failed(format!("cannot read the feed: {e}")),
    };
    let target = Target {
        owner_id: work.schedule.owner_id,
        feed_id: feed_row.id,
        default_indicator_limit: settings.max_indicators,
        lifetimes: settings.lifetimes.with(&feed_row.lifetime_overrides()),
        report_lifetimes: settings.report_lifetimes.clone(),
    };
    let plan = Plan {
        from: work.run.date_from,
        to: work.run.date_to,
        reports: work.schedule.row.report_names(),
        types: work.schedule.row.type_names(),
    };
    let mut summary = Summary::new();
    let entries = match pull::list(&client, &plan, &mut summary) {
        Ok(entries) => entries,
        Err(e) => return Ended::Failed(e.to_string()),
    };
    let who = format!("schedule {}", work.schedule.row.id);
    let wopts = WriteOptions {
        batch_rows: settings.import_batch_rows as usize,
        now: clock.now(),
        max_rows: None,
        origin: import::Origin {
            source: import::Source::Schedule,
            started_by: Some(&who),
            report_date: None,
        },
    };
    let limits = Limits {
        max_bytes: settings.import_max_bytes,
        max_unzipped_bytes: settings.import_max_unzipped_bytes,
    };
    let run_id = work.run.id;
    let mut keep_going = |c: &mut DbConnection| {
        if lost.load(Ordering::SeqCst) {
            return false;
        }
        // Before each report: still ours? (renewing on the way).
        let until = clock.now() + lease;
        matches!(
            db::write_tx(c, |c| run::renew(c, run_id, me, until)),
            Ok(true)
        )
    };
    let pulled = pull::pull_entries(
        c,
        &client,
        &target,
        &entries,
        limits,
        &wopts,
        &mut summary,
        &Quiet,
        &mut keep_going,
    );
    match pulled {
        Ok(()) => Ended::Pulled(Box::new(summary)),
        Err(e) => Ended::Failed(format!("database error: {e}")),
    }
}
