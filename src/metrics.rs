//! Prometheus metrics (spec §6.10): request counts by route template and status, a latency
//! histogram, limiter and write counters, the purge's counters, and the pool state read at
//! scrape time.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::db::{Backend, PoolUsage};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    op: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    backend: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
    ])
}

/// One running import in `feedgate_imports_running`, counted until dropped.
#[derive(Debug)]
pub struct RunningImport(Gauge);

impl Drop for RunningImport {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The process's metrics; one instance shared by every worker.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    rate_limited: Family<KindLabels, Counter>,
    indicators_written: Family<OpLabels, Counter>,
    pool_connections: Family<StateLabels, Gauge>,
    pool_max: Gauge,
    import_rows: Family<OutcomeLabels, Counter>,
    token_forgets: Counter,
    imports_running: Gauge,
    indicators_purged: Counter,
    purge_cycles: Counter,
    shadowserver_polls: Counter,
    export_cache: Family<OutcomeLabels, Counter>,
}

impl Metrics {
    /// Registers every series; `backend` labels the build info.
    pub fn new(backend: Backend) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "feedgate_http_requests",
            "HTTP requests answered",
            requests.clone(),
        );
        let duration = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "feedgate_http_request_duration_seconds",
            "HTTP request latency",
            duration.clone(),
        );
        let rate_limited = Family::<KindLabels, Counter>::default();
        registry.register(
            "feedgate_rate_limited",
            "Requests refused by a rate limit",
            rate_limited.clone(),
        );
        let indicators_written = Family::<OpLabels, Counter>::default();
        registry.register(
            "feedgate_indicators_written",
            "Indicator writes",
            indicators_written.clone(),
        );
        let pool_connections = Family::<StateLabels, Gauge>::default();
        registry.register(
            "feedgate_db_pool_connections",
            "Database pool connections",
            pool_connections.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "feedgate_db_pool_max_connections",
            "Database pool size",
            pool_max.clone(),
        );
        let token_forgets = Counter::default();
        registry.register(
            "feedgate_token_memory_forgets",
            "Times this gateway forgot every resolved token after a credential change",
            token_forgets.clone(),
        );
        let import_rows = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "feedgate_import_rows",
            "Rows of imported reports by outcome (created, updated, unchanged, or a skip reason)",
            import_rows.clone(),
        );
        let imports_running = Gauge::default();
        registry.register(
            "feedgate_imports_running",
            "HTTP imports reading and writing on a connection of their own",
            imports_running.clone(),
        );
        let indicators_purged = Counter::default();
        registry.register(
            "feedgate_indicators_purged",
            "Expired indicators this gateway's purge cycles deleted",
            indicators_purged.clone(),
        );
        let shadowserver_polls = Counter::default();
        registry.register(
            "feedgate_shadowserver_polls",
            "Looks this gateway took for due scheduled Reports API pulls",
            shadowserver_polls.clone(),
        );
        let purge_cycles = Counter::default();
        registry.register(
            "feedgate_purge_cycles",
            "Purge cycles this gateway claimed and ran (one gateway runs each cycle)",
            purge_cycles.clone(),
        );
        let export_cache = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "feedgate_export_cache",
            "Whole-feed exports by cache outcome (hit: served from memory; miss: read and kept; \
             skipped: read, not kept)",
            export_cache.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").into(),
                backend: backend.as_str().into(),
            })
            .set(1);
        registry.register("feedgate_build_info", "Build information", build);
        Self {
            registry,
            requests,
            duration,
            rate_limited,
            indicators_written,
            pool_connections,
            pool_max,
            import_rows,
            token_forgets,
            imports_running,
            indicators_purged,
            purge_cycles,
            shadowserver_polls,
            export_cache,
        }
    }

    /// Counts an export by what the cache did (`hit`, `miss` or `skipped`):
    /// `feedgate_export_cache_total{outcome}`.
    pub fn export_cache(&self, outcome: &str) {
        self.export_cache
            .get_or_create(&OutcomeLabels {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Counts a look for scheduled pulls (`feedgate_shadowserver_polls_total`).
    pub fn shadowserver_poll(&self) {
        self.shadowserver_polls.inc();
    }

    /// Counts a purge cycle this gateway claimed (`feedgate_purge_cycles_total`).
    pub fn purge_cycle(&self) {
        self.purge_cycles.inc();
    }

    /// Counts indicators deleted by the purge (`feedgate_indicators_purged_total`).
    pub fn indicators_purged(&self, n: u64) {
        self.indicators_purged.inc_by(n);
    }

    /// Counts an import as running (`feedgate_imports_running`) until the guard is dropped.
    pub fn import_running(&self) -> RunningImport {
        self.imports_running.inc();
        RunningImport(self.imports_running.clone())
    }

    /// Counts imported rows by outcome (`created`, `updated`, `unchanged`, or a skip reason);
    /// exposed as `feedgate_import_rows_total{outcome}`.
    pub fn import_rows(&self, outcome: &str, n: u64) {
        if n > 0 {
            self.import_rows
                .get_or_create(&OutcomeLabels {
                    outcome: outcome.to_string(),
                })
                .inc_by(n);
        }
    }

    /// Records one answered request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let route = route.to_string();
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.clone(),
                status,
            })
            .inc();
        self.duration
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route,
            })
            .observe(seconds);
    }

    /// Counts one forgetting of every resolved token (`auth::cache`), exposed as
    /// `feedgate_token_memory_forgets_total`.
    pub fn token_memory_forgotten(&self) {
        self.token_forgets.inc();
    }

    /// Counts a refusal by a limiter (`daily`, `anonymous` or `burst`).
    pub fn rate_limited(&self, kind: &str) {
        self.rate_limited
            .get_or_create(&KindLabels {
                kind: kind.to_string(),
            })
            .inc();
    }

    /// Counts indicator writes (`created`, `updated`, `deleted`).
    pub fn indicators_written(&self, op: &str, n: u64) {
        self.indicators_written
            .get_or_create(&OpLabels { op: op.to_string() })
            .inc_by(n);
    }

    /// The Prometheus text exposition, with the pool state as of now.
    pub fn render(&self, pool: PoolUsage) -> String {
        let idle = i64::from(pool.idle);
        self.pool_connections
            .get_or_create(&StateLabels {
                state: "idle".into(),
            })
            .set(idle);
        self.pool_connections
            .get_or_create(&StateLabels {
                state: "in_use".into(),
            })
            .set(i64::from(pool.connections) - idle);
        self.pool_max.set(i64::from(pool.max));
        let mut out = String::new();
        if prometheus_client::encoding::text::encode_registry(&mut out, &self.registry).is_err() {
            return String::new();
        }
        out
    }
}
