//! What every handler can reach: the one `AppState` a server shares between its workers,
//! built by `startup` and read by `api`, `observe` and the admission middleware's callers.

use std::sync::Arc;

use crate::auth::cache::TokenCache;
use crate::auth::password::Verifier;
use crate::change_log::Watch;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Db;
use crate::domain::whitelist::{FeedCache, Whitelist};
use crate::export::cache::ExportCache;
use crate::import::gate::ImportGate;
use crate::limits::burst::Burst;
use crate::limits::daily::Pending;
use crate::limits::streams::StreamSlots;
use crate::metrics::Metrics;

/// What every handler can reach.
pub struct AppState {
    /// The database: `read`, `write`, `upsert`, `walk` (`db::Db`).
    pub db: Db,
    pub settings: Settings,
    pub metrics: Arc<Metrics>,
    pub clock: Clock,
    /// `host:port` the server listens on, for links when a request has no `Host`.
    pub local_addr: String,
    /// The burst limiter, one per process (not per worker).
    pub burst: Arc<Burst>,
    /// Unlimited users' requests not yet written to the day's counter.
    pub pending: Arc<Pending>,
    /// Tokens resolved in the last second (`auth::cache`).
    pub tokens: Arc<TokenCache>,
    /// The threads that check passwords, as many as the CPUs (`auth::password`).
    pub passwords: Verifier,
    /// The HTTP imports running (`import::gate`), one gate per process.
    pub imports: Arc<ImportGate>,
    /// What never leaves an export: the special-purpose blocks and the warninglists.
    pub whitelist: Arc<Whitelist>,
    /// The whitelist feeds compiled for exports, by feed id (`api::whitelists`).
    pub feed_whitelists: Arc<FeedCache>,
    /// Whole exports kept while their feed is unchanged (`export::cache`).
    pub exports: Arc<ExportCache>,
    /// The change streams open on this gateway (`limits::streams`).
    pub streams: Arc<StreamSlots>,
    /// What the change streams wait on (`change_log::Watch`).
    pub change_watch: Arc<Watch>,
    /// The scheduled Reports API pulls of this gateway (`pulls`).
    pub pulls: Arc<crate::pulls::Scheduler>,
}
