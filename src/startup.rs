//! Builds the application as a value that both `main` and the tests run: connect and migrate,
//! bootstrap the first admin, bind, and assemble the middleware (the only place that knows
//! their order) and the route table.

use std::net::TcpListener;
use std::sync::Arc;

use actix_http::error::DispatchError;
use actix_http::{HttpService, KeepAlive};
use actix_service::{IntoServiceFactory, ServiceFactoryExt, map_config};
use actix_web::dev::{AppConfig, Server, fn_service};
use actix_web::error::{PathError, QueryPayloadError};
use actix_web::middleware::{NormalizePath, TrailingSlash, from_fn};
use actix_web::rt::net::TcpStream;
use actix_web::{App, HttpRequest, web};

use crate::auth::accounts::{self, Minted};
use crate::auth::cache::TokenCache;
use crate::auth::password::Verifier;
use crate::change_log::{self, Watch};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{self, DatabaseUrl, Db, PoolOptions};
use crate::domain::name::Username;
use crate::domain::whitelist::{self, FeedCache, Whitelist};
use crate::error::ApiError;
use crate::framing::{self, Guarded};
use crate::import::gate::ImportGate;
use crate::limits::burst::Burst;
use crate::limits::daily::Pending;
use crate::limits::streams::StreamSlots;
use crate::metrics::Metrics;
use crate::models::{meta, user};
use crate::state::AppState;
use crate::{api, limits, observe, pulls, purge};

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    /// The first admin's token, when this start created it (printed once by `serve`).
    pub bootstrap: Option<Minted>,
    state: web::Data<AppState>,
}

/// Why the application could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] db::ConnectError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot load the warninglists: {0}")]
    Warninglists(#[from] crate::warninglists::LoadError),
    #[error("cannot create the first admin: {0}")]
    Bootstrap(String),
}

impl Application {
    /// Connects, migrates, bootstraps and binds; the server runs once `run_until_stopped` is awaited.
    pub fn build(
        settings: Settings,
        database: &DatabaseUrl,
        clock: Clock,
    ) -> Result<Self, StartError> {
        let db = Db::start(
            database,
            PoolOptions {
                max_size: settings.pool_size(),
                statement_timeout: std::time::Duration::from_secs(
                    settings.query_timeout_secs.max(1),
                ),
                ..Default::default()
            },
            settings.read_threads(database.backend()),
        )?;
        let whitelist = Arc::new(load_whitelist(&settings)?);
        let bootstrap = bootstrap_admin(&db, &clock)?;
        let listener = TcpListener::bind(&settings.bind).map_err(|source| StartError::Bind {
            addr: settings.bind.clone(),
            source,
        })?;
        let local = listener.local_addr().map_err(|source| StartError::Bind {
            addr: settings.bind.clone(),
            source,
        })?;
        let imports = Arc::new(ImportGate::new(
            settings.import_max_running_per_user,
            settings.import_max_running,
        ));
        let pulls = Arc::new(pulls::Scheduler::new(
            db.clone(),
            settings.clone(),
            clock.clone(),
            imports.clone(),
        ));
        let state = web::Data::new(AppState {
            db,
            metrics: Arc::new(Metrics::new(database.backend())),
            clock,
            local_addr: local.to_string(),
            burst: Arc::new(Burst::new(settings.burst_per_second, settings.burst_size)),
            pending: Arc::new(Pending::default()),
            tokens: Arc::new(TokenCache::default()),
            imports,
            pulls,
            passwords: Verifier::start(
                std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
            ),
            whitelist,
            feed_whitelists: Arc::new(FeedCache::new(crate::api::whitelists::CACHED_FEEDS)),
            exports: Arc::new(crate::export::cache::ExportCache::new(
                settings.export_cache_mib.saturating_mul(1024 * 1024),
            )),
            streams: Arc::new(StreamSlots::new(
                settings.max_streams,
                settings.max_streams_per_user,
            )),
            change_watch: Arc::new(Watch::default()),
            settings: settings.clone(),
        });
        let gate = web::Data::new(limits::middleware::Gate {
            db: state.db.clone(),
            clock: state.clock.clone(),
            metrics: state.metrics.clone(),
            burst: state.burst.clone(),
            pending: state.pending.clone(),
            tokens: state.tokens.clone(),
            trusted_proxies: settings.trusted_proxies.clone(),
            requests_per_day: settings.requests_per_day,
            anon_requests_per_day: settings.anon_requests_per_day,
        });
        let background = state.clone();
        let body_limit = settings.max_body_bytes;
        // What `HttpServer::listen` assembles, with its settings, except that each connection is
        // served through `framing::Guarded`, so the answers the HTTP layer gives by itself
        // carry our JSON error body. Nothing reads the `AppConfig` host or address: links use
        // `AppState::local_addr`.
        let mut builder = Server::build()
            .disable_signals()
            .shutdown_timeout(10)
            // Database work runs on each worker's blocking threads and needs a pooled
            // connection: more threads than connections only wait for one, each with its own
            // malloc arena (RSS) and its own wake-ups.
            .worker_max_blocking_threads(settings.pool_size().max(4) as usize);
        if settings.workers > 0 {
            builder = builder.workers(settings.workers);
        }
        let stopping = builder.graceful_shutdown_signal();
        let server = builder
            .listen("feedgate", listener, move || {
                let app = App::new()
                    .app_data(state.clone())
                    .app_data(gate.clone())
                    .app_data(json_config(body_limit))
                    .app_data(web::PayloadConfig::new(body_limit))
                    .app_data(web::QueryConfig::default().error_handler(query_error))
                    .app_data(web::PathConfig::default().error_handler(path_error))
                    .configure(|cfg| api::configure(cfg, body_limit))
                    .configure(crate::web::configure)
                    .default_service(web::to(not_found))
                    // Registered inside out: the last `wrap` runs first.
                    .wrap(from_fn(limits::middleware::admit))
                    // Outside the admission: its 429 and 503 on a page become HTML too.
                    .wrap(from_fn(crate::web::guard::guard))
                    // Outside admission: its refusals under /taxii2 become TAXII errors too.
                    .wrap(from_fn(api::taxii::taxii_errors))
                    .wrap(NormalizePath::new(TrailingSlash::Trim))
                    .wrap(from_fn(observe::observe));
                let stopping = stopping.clone();
                let http = HttpService::build()
                    .keep_alive(KeepAlive::default())
                    .client_request_timeout(framing::HEAD_TIMEOUT)
                    .client_disconnect_timeout(std::time::Duration::from_secs(1))
                    .h1_allow_half_closed(true)
                    .local_addr(local)
                    // Idle keep-alive connections close as soon as a graceful stop begins.
                    .graceful_shutdown_signal(move || {
                        let stopping = stopping.clone();
                        async move { stopping.notified().await }
                    })
                    .h1(map_config(app.into_factory(), |()| AppConfig::default()));
                fn_service(|io: TcpStream| async move {
                    // The client address `req.peer_addr()` gives (burst keys, forwarded-for).
                    let peer = io.peer_addr().ok();
                    Ok::<_, DispatchError>((Guarded::new(io), peer))
                })
                .and_then(http)
            })
            .map_err(|source| StartError::Bind {
                addr: settings.bind.clone(),
                source,
            })?
            .run();
        Ok(Self {
            port: local.port(),
            server,
            bootstrap,
            state: background,
        })
    }

    /// The bound port (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        actix_web::rt::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutdown requested; finishing in-flight requests");
            handle.stop(true).await;
        });
        let state = self.state.clone();
        let housekeeping = actix_web::rt::spawn(housekeeping(state.clone()));
        let purging = actix_web::rt::spawn(purge_cycles(state.clone()));
        let scanning = actix_web::rt::spawn(expiry_scans(state.clone()));
        let watching = actix_web::rt::spawn(stream_looks(state.clone()));
        let pulling = actix_web::rt::spawn(scheduled_pulls(state.clone()));
        let result = self.server.await;
        housekeeping.abort();
        scanning.abort();
        watching.abort();
        // A run stopped here keeps its lease until it expires; then another gateway finishes it.
        pulling.abort();
        // Stops between two batches: each one's transaction commits or rolls back whole.
        purging.abort();
        // Unlimited users' last requests are written before the process ends, and the unused
        // part of leases is given back.
        flush_pending(&state).await;
        let pending = state.pending.clone();
        let today = state.clock.now().date();
        let released = state
            .db
            .run(move |c| pending.release(c, today).map_err(db::RunError::from))
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "could not give back unused request leases");
        }
        result
    }

    /// A handle to stop the server from elsewhere (tests).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

/// Periodic work: flush unlimited users' counts (every 5 s), sweep idle burst keys (every
/// minute) and prune daily counters older than yesterday and ended web sessions (every hour).
async fn housekeeping(state: web::Data<AppState>) {
    let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(5));
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        ticks += 1;
        flush_pending(&state).await;
        if ticks.is_multiple_of(12) {
            state.burst.sweep();
        }
        if ticks % 720 == 1 {
            let before = state.clock.now().date() - chrono::Duration::days(1);
            let pruned = state
                .db
                .write(move |c| crate::models::daily::prune(c, before).map_err(db::RunError::from))
                .await;
            if let Err(e) = pruned {
                tracing::warn!(error = %e, "could not prune old daily counters");
            }
            let now = state.clock.now();
            let pruned = state
                .db
                .write(move |c| {
                    crate::models::web_session::prune(c, now).map_err(db::RunError::from)
                })
                .await;
            if let Err(e) = pruned {
                tracing::warn!(error = %e, "could not prune ended web sessions");
            }
        }
    }
}

/// The purge (`purge`): one cycle every `--purge-interval-secs`, the first one interval after
/// the start. Gateways started at different times each try every cycle; the one that claims
/// it in the database runs it.
async fn purge_cycles(state: web::Data<AppState>) {
    let plan = purge::Plan::from_settings(&state.settings);
    let period = plan.period();
    let start = actix_web::rt::time::Instant::now() + period;
    let mut tick = actix_web::rt::time::interval_at(start, period);
    loop {
        tick.tick().await;
        let now = state.clock.now();
        if let Err(e) = purge::run_cycle(&state.db, &state.metrics, plan, now).await {
            tracing::warn!(error = %e, "the purge of expired indicators failed; the next cycle goes on");
        }
    }
}

/// The change log's expiry scan (`change_log::scan`) every `--expiry-scan-millis`.
async fn expiry_scans(state: web::Data<AppState>) {
    let period = std::time::Duration::from_millis(state.settings.expiry_scan_millis.max(100));
    every(period, || async {
        if let Err(e) = change_log::scan(&state.db, state.clock.now()).await {
            tracing::warn!(error = %e, "the expiry scan of the change log failed; the next one goes on");
        }
    })
    .await
}

/// The change streams' look for writes (`change_log::Watch`) every `--stream-poll-millis`.
async fn stream_looks(state: web::Data<AppState>) {
    let period = std::time::Duration::from_millis(state.settings.stream_poll_millis.max(50));
    every(period, || async {
        if let Err(e) = state.change_watch.look(&state.db).await {
            tracing::warn!(error = %e, "the change streams' look for writes failed");
        }
    })
    .await
}

/// Runs `work` every `period`, a late run delaying the next rather than bunching them.
async fn every<F, Fut>(period: std::time::Duration, work: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = actix_web::rt::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        work().await;
    }
}

/// Scheduled Reports API pulls (`pulls`): every `--shadowserver-poll-secs`, this gateway
/// takes over runs whose gateway died and runs due schedules, each claimed in the database so
/// one gateway runs it. Nothing runs without the key and secret.
async fn scheduled_pulls(state: web::Data<AppState>) {
    if !state.pulls.configured() {
        return;
    }
    every(state.pulls.period(), || async {
        state.pulls.tick().await;
        state.metrics.shadowserver_poll();
    })
    .await
}

async fn flush_pending(state: &web::Data<AppState>) {
    let pending = state.pending.clone();
    let flushed = state
        .db
        .run(move |c| pending.flush(c).map_err(db::RunError::from))
        .await;
    if let Err(e) = flushed {
        tracing::warn!(error = %e, "could not write unlimited users' request counts; will retry");
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        if let (Ok(mut term), Ok(mut int)) = (term, int) {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// First start on an empty database: creates `admin` and returns its token. Recorded in
/// `server_meta`, so it never happens again for this database, even if `admin` is deleted.
fn bootstrap_admin(db: &Db, clock: &Clock) -> Result<Option<Minted>, StartError> {
    let fail = |e: &dyn std::fmt::Display| StartError::Bootstrap(e.to_string());
    let now = clock.now();
    db.write_now(|c| {
        if meta::exists(c, meta::BOOTSTRAPPED)? {
            return Ok(None);
        }
        let empty = user::count(c)? == 0;
        meta::insert_once(c, meta::BOOTSTRAPPED, &now.to_string(), now)?;
        if !empty {
            return Ok(None);
        }
        let name = Username::parse("admin").map_err(|e| accounts::AccountError::Other(e.into()))?;
        let (_, minted) = accounts::create_user(c, &name, true, None, now)?;
        Ok(Some(minted))
    })
    .map_err(|e: accounts::AccountError| fail(&e))
}

fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        // The media type is checked by `api::body::JsonBody` (absent, text/plain and
        // form-urlencoded bodies are JSON too, spec §1.3.6); here only size and syntax.
        .content_type_required(false)
        .error_handler(|err, _req| api::body::json_error(err).into())
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::InvalidParameter {
        parameter: String::new(),
        message: err.to_string(),
    }
    .into()
}

fn path_error(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound.into()
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// The special-purpose blocks and, with `--warninglists`, every list in that directory.
fn load_whitelist(settings: &Settings) -> Result<Whitelist, crate::warninglists::LoadError> {
    let mut builder = whitelist::Builder::new();
    builder.special();
    if let Some(dir) = &settings.warninglists {
        let loaded = crate::warninglists::load_into(&mut builder, dir)?;
        tracing::info!(
            dir = %dir.display(),
            lists = loaded.lists,
            entries = loaded.entries,
            skipped = loaded.skipped,
            "warninglists loaded"
        );
    }
    builder
        .build()
        .map_err(|source| crate::warninglists::LoadError::Build {
            path: settings.warninglists.clone().unwrap_or_default(),
            source,
        })
}
