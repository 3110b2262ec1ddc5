//! `POST /api/admin/purge`: runs the purge of expired indicators (`crate::purge`) for the
//! current cycle now, rather than at this gateway's next turn; a cycle another run already
//! claimed purges nothing more.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AdminWriter;
use crate::api::query::NoParams;
use crate::api::representation::ApiVersion;
use crate::error::ApiError;
use crate::purge;
use crate::state::AppState;

/// POST /api/admin/purge: 200 with `claimed` (whether this run had the cycle; `false` when
/// any gateway already ran it), `purged` (indicators deleted), `cycle_start` and `cutoff`
/// (indicators expired before it are deleted), `changes_pruned` (change-log entries past the
/// retention). 401, 403.
pub async fn run_admin_purge(
    state: web::Data<AppState>,
    version: ApiVersion,
    _admin: AdminWriter,
    _: NoParams,
) -> Result<HttpResponse, ApiError> {
    let plan = purge::Plan::from_settings(&state.settings);
    let outcome = purge::run_cycle(&state.db, &state.metrics, plan, state.clock.now()).await?;
    Ok(version.ok(&json!({
        "claimed": outcome.claimed,
        "purged": outcome.purged,
        "cycle_start": version.time(outcome.cycle_start),
        "cutoff": version.time(outcome.cutoff),
        "changes_pruned": outcome.changes_pruned,
    })))
}
