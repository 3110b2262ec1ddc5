//! Settings: every option is a clap flag with a `FEEDGATE_*` environment variable (except the
//! conventional `DATABASE_URL`), and a default that lets `feedgate serve` run with no setup.

use clap::{Args, Parser};

use crate::domain::limit::Limit;

/// The default database: a SQLite file in the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./feedgate.db";

/// Where the database is; shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// sqlite://PATH (created and migrated on start) or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long = "database-url", env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, hide_env_values = true)]
    pub url: String,
}

/// Settings of the HTTP server.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address and port to listen on.
    #[arg(long, env = "FEEDGATE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Public base URL used in links (e.g. https://feedgate.example.org); default: from the request.
    #[arg(long, env = "FEEDGATE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// HTTP worker threads (0 = one per CPU).
    #[arg(long, env = "FEEDGATE_WORKERS", default_value_t = 0)]
    pub workers: usize,

    /// Maximum database connections in the pool (0 = four per CPU).
    #[arg(long, env = "FEEDGATE_DB_POOL_SIZE", default_value_t = 0)]
    pub db_pool_size: u32,

    /// Threads that run short reads in arrival order (0 = CPUs + 1 on SQLite, the pool
    /// size on PostgreSQL).
    #[arg(long, env = "FEEDGATE_READ_THREADS", default_value_t = 0)]
    pub read_threads: usize,

    /// Longest a PostgreSQL statement may run, in seconds (longer → 503 `query_timeout`).
    #[arg(long, env = "FEEDGATE_QUERY_TIMEOUT_SECS", default_value_t = 10)]
    pub query_timeout_secs: u64,

    /// Largest JSON request body, in bytes (larger → 413).
    #[arg(long, env = "FEEDGATE_MAX_BODY_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Most bytes of indicator text one page of a feed carries: a page is cut before the row
    /// that would pass it (at least one row is shown) and its `next` link goes on from there.
    #[arg(long, env = "FEEDGATE_MAX_PAGE_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_page_bytes: usize,

    /// MISP warninglists whose entries never leave an export: a directory of warninglist JSON
    /// files (the misp-warninglists repository, or the data folder of the `pymispwarninglists`
    /// package). A file that is not a warninglist stops the start, naming the file and line.
    #[arg(long, env = "FEEDGATE_WARNINGLISTS")]
    pub warninglists: Option<std::path::PathBuf>,

    /// Memory for whole exports kept between downloads, in MiB (0: none). An export over
    /// half of it is not kept; the least recently used go first.
    #[arg(long, env = "FEEDGATE_EXPORT_CACHE_MIB", default_value_t = 256)]
    pub export_cache_mib: usize,

    /// How long an indicator lives when its publisher names no `expires_at`, per type, in
    /// days: `TYPE=DAYS` pairs (TYPE an itype, `ip`, `hash` or `*`); unnamed types keep CIF's
    /// windows (addresses 21 days, everything else 45).
    #[arg(long, env = "FEEDGATE_LIFETIMES", default_value = "*=45,ip=21")]
    pub lifetimes: crate::domain::expiry::Lifetimes,

    /// How long what a Shadowserver import writes lives, per report type, in days: `REPORT=DAYS`
    /// pairs (REPORT a report type such as `blocklist`, a prefix such as `scan_*`, or `*`; DAYS
    /// or `type` for the per-type `--lifetimes`), added to the defaults (scan reports 7 days).
    /// The next report listing an indicator renews it; types no pair names use `--lifetimes`.
    #[arg(long, env = "FEEDGATE_REPORT_LIFETIMES", default_value = crate::domain::expiry::DEFAULT_REPORT_LIFETIMES)]
    pub report_lifetimes: crate::domain::expiry::ReportLifetimes,

    /// Days an expired indicator is kept (shown with `expired=include`) before the background
    /// purge deletes it and frees its quota.
    #[arg(long, env = "FEEDGATE_PURGE_GRACE_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub purge_grace_days: u32,

    /// Seconds between purge cycles. Each cycle runs once however many gateways share the
    /// database (the first to claim it in the database runs it); every gateway should use the
    /// same value.
    #[arg(long, env = "FEEDGATE_PURGE_INTERVAL_SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub purge_interval_secs: u64,

    /// Indicators deleted per purge transaction (1-10000): a large purge never holds the
    /// write lock for long.
    #[arg(long, env = "FEEDGATE_PURGE_BATCH_ROWS", default_value_t = 2000,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub purge_batch_rows: u32,

    /// Days the change log keeps a change (`GET …/changes`, the stream); a `since` older than
    /// what was deleted is answered 410 `changes_expired`. Deleted by the purge cycle.
    #[arg(long, env = "FEEDGATE_CHANGES_RETENTION_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub changes_retention_days: u32,

    /// Milliseconds between two looks for indicators whose expiry passed, to log their
    /// `expired` change (one gateway logs each; they look at most a few seconds late).
    #[arg(long, env = "FEEDGATE_EXPIRY_SCAN_MILLIS", default_value_t = 2000,
          value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub expiry_scan_millis: u64,

    /// Milliseconds between two looks at the change log for the open streams of this gateway
    /// (changes made through another gateway reach a stream within about this time).
    #[arg(long, env = "FEEDGATE_STREAM_POLL_MILLIS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub stream_poll_millis: u64,

    /// Seconds between two heartbeats (SSE comments) on an idle change stream.
    #[arg(long, env = "FEEDGATE_STREAM_HEARTBEAT_SECS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub stream_heartbeat_secs: u64,

    /// Change streams open at once on this gateway (beyond: 429 `too_many_streams`).
    #[arg(long, env = "FEEDGATE_MAX_STREAMS", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_streams: u32,

    /// Change streams one user (or one address, anonymous) may hold open on this gateway.
    #[arg(long, env = "FEEDGATE_MAX_STREAMS_PER_USER", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_streams_per_user: u32,

    /// Largest attachment, in bytes once decoded (larger → 422 `too_large`).
    #[arg(long, env = "FEEDGATE_MAX_ATTACHMENT_BYTES", default_value_t = 5 * 1024 * 1024)]
    pub max_attachment_bytes: usize,

    /// Default daily request limit per user (integer or `unlimited`).
    #[arg(long, env = "FEEDGATE_REQUESTS_PER_DAY", default_value = "5000")]
    pub requests_per_day: Limit,

    /// Default daily request budget per anonymous client address.
    #[arg(long, env = "FEEDGATE_ANON_REQUESTS_PER_DAY", default_value = "500")]
    pub anon_requests_per_day: Limit,

    /// Sustained requests per second per token or anonymous address (burst limit).
    #[arg(long, env = "FEEDGATE_BURST_PER_SECOND", default_value_t = 50)]
    pub burst_per_second: u32,

    /// Requests admitted at once per token or anonymous address before the burst limit applies.
    #[arg(long, env = "FEEDGATE_BURST_SIZE", default_value_t = 100)]
    pub burst_size: u32,

    /// Proxies whose `X-Forwarded-For` is trusted (comma-separated addresses or networks).
    #[arg(long, env = "FEEDGATE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<crate::domain::proxy::ProxyNet>,

    /// Default number of private feeds per user.
    #[arg(long, env = "FEEDGATE_MAX_PRIVATE_FEEDS", default_value = "1")]
    pub max_private_feeds: Limit,

    /// Default number of public feeds per user.
    #[arg(long, env = "FEEDGATE_MAX_PUBLIC_FEEDS", default_value = "10")]
    pub max_public_feeds: Limit,

    /// Default number of indicators per user, across all feeds.
    #[arg(long, env = "FEEDGATE_MAX_INDICATORS", default_value = "250000")]
    pub max_indicators: Limit,

    /// Largest Shadowserver report accepted by the HTTP import, in bytes (larger → 413).
    #[arg(long, env = "FEEDGATE_IMPORT_MAX_BYTES", default_value_t = 1 << 30)]
    pub import_max_bytes: u64,

    /// Most inflated content a zipped report may hold, in bytes (more → 413, CLI `rejected`).
    #[arg(long, env = "FEEDGATE_IMPORT_MAX_UNZIPPED_BYTES", default_value_t = 4 << 30)]
    pub import_max_unzipped_bytes: u64,

    /// Most data rows one HTTP import may read, all files together (more → 413
    /// `import_too_large`; the rows before the limit stay written, the file stays `partial`).
    #[arg(long, env = "FEEDGATE_IMPORT_MAX_ROWS", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub import_max_rows: u64,

    /// Most importable members of a zipped report sent over HTTP (more → 413
    /// `import_too_large`, nothing written).
    #[arg(long, env = "FEEDGATE_IMPORT_MAX_ZIP_MEMBERS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub import_max_zip_members: u64,

    /// HTTP imports running at once on this server, each on a database connection of its own
    /// (more → 429 `too_many_imports`).
    #[arg(long, env = "FEEDGATE_IMPORT_MAX_RUNNING", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub import_max_running: u32,

    /// HTTP imports one user may run at once (more → 429 `too_many_imports`).
    #[arg(long, env = "FEEDGATE_IMPORT_MAX_RUNNING_PER_USER", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub import_max_running_per_user: u32,

    /// Seconds an HTTP import's body may go without sending a byte before the import is
    /// abandoned (408 `request_timeout`): a slow sender never holds an import's place long.
    #[arg(long, env = "FEEDGATE_IMPORT_IDLE_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub import_idle_secs: u64,

    /// Rows per import batch and transaction (1-50000).
    #[arg(long, env = "FEEDGATE_IMPORT_BATCH_ROWS", default_value_t = 5000,
          value_parser = clap::value_parser!(u32).range(1..=50_000))]
    pub import_batch_rows: u32,

    /// The Reports API base URL of scheduled pulls (https, or http to a loopback host).
    #[arg(
        long,
        env = "FEEDGATE_SHADOWSERVER_API_URL",
        default_value = "https://transform.shadowserver.org/api2/"
    )]
    pub shadowserver_api_url: String,

    /// The report download base URL of scheduled pulls.
    #[arg(
        long,
        env = "FEEDGATE_SHADOWSERVER_DOWNLOAD_URL",
        default_value = "https://dl.shadowserver.org/"
    )]
    pub shadowserver_download_url: String,

    /// Seconds between two looks for due scheduled pulls (and runs a dead gateway left).
    #[arg(long, env = "FEEDGATE_SHADOWSERVER_POLL_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub shadowserver_poll_secs: u64,

    /// Seconds a gateway holds a scheduled pull without renewing it (renewed every third of
    /// it while it works); after that another gateway takes the run over and finishes it.
    #[arg(long, env = "FEEDGATE_SHADOWSERVER_LEASE_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(3..=86_400))]
    pub shadowserver_lease_secs: u64,

    /// The Reports API key and secret of scheduled pulls: only from the environment
    /// (`FEEDGATE_SHADOWSERVER_KEY` / `FEEDGATE_SHADOWSERVER_SECRET`), never an argument.
    #[arg(skip)]
    pub shadowserver_credentials: Option<ShadowserverCredentials>,
}

/// The Reports API key and secret; never printed (`Debug` hides them).
#[derive(Clone, PartialEq, Eq)]
pub struct ShadowserverCredentials {
    pub key: String,
    pub secret: String,
}

impl std::fmt::Debug for ShadowserverCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShadowserverCredentials(<redacted>)")
    }
}

impl ShadowserverCredentials {
    /// The credentials in this process's environment: `FEEDGATE_SHADOWSERVER_KEY` and
    /// `FEEDGATE_SHADOWSERVER_SECRET`, else `SHADOWSERVER_API_KEY` and
    /// `SHADOWSERVER_API_SECRET` (the pull command's); `None` unless both are set.
    pub fn from_env() -> Option<Self> {
        let var = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        Some(ShadowserverCredentials {
            key: var(["FEEDGATE_SHADOWSERVER_KEY", "SHADOWSERVER_API_KEY"])?,
            secret: var(["FEEDGATE_SHADOWSERVER_SECRET", "SHADOWSERVER_API_SECRET"])?,
        })
    }
}

/// The server-wide default limits, resolved per user with `Limit::effective`.
#[derive(Debug, Clone, Copy)]
pub struct DefaultLimits {
    pub requests_per_day: Limit,
    pub private_feeds: Limit,
    pub public_feeds: Limit,
    pub indicators: Limit,
}

impl Settings {
    /// The pool's size: as set, or four connections per CPU. More only cost memory: each
    /// connection keeps its own page cache, and each blocking thread that waits for one its
    /// own malloc arena (`bench/README.md` has the comparison).
    pub fn pool_size(&self) -> u32 {
        if self.db_pool_size > 0 {
            return self.db_pool_size;
        }
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        u32::try_from(cpus.saturating_mul(4))
            .unwrap_or(u32::MAX)
            .max(4)
    }

    /// Reader threads (`db::reads`): as set, or the backend's default for this machine's CPUs
    /// and the pool ([`crate::db::Backend::default_read_threads`]).
    pub fn read_threads(&self, backend: crate::db::Backend) -> usize {
        if self.read_threads > 0 {
            return self.read_threads;
        }
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        backend.default_read_threads(cpus, self.pool_size())
    }

    /// The defaults, as `feedgate serve` with no flags (environment ignored): for tests and tools.
    pub fn defaults() -> Settings {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            settings: Settings,
        }
        let mut settings = Only::parse_from(["feedgate"]).settings;
        // Environment values must not leak into programmatic defaults.
        settings = Settings {
            bind: "127.0.0.1:0".into(),
            public_url: None,
            warninglists: None,
            ..settings
        };
        settings
    }

    /// The default limits of this server.
    pub fn default_limits(&self) -> DefaultLimits {
        DefaultLimits {
            requests_per_day: self.requests_per_day,
            private_feeds: self.max_private_feeds,
            public_feeds: self.max_public_feeds,
            indicators: self.max_indicators,
        }
    }
}
