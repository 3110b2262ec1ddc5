//! `POST /api/users/:user/feeds/:feed/imports/shadowserver` (spec `csirtg-v0.md` §6.8,
//! `shadowserver.md` §1.3): the raw report body is streamed to a temporary file while hashed
//! (never buffered whole; this route has no GET, so `read_by_post` leaves its body alone), then
//! imported on a blocking thread by the shared engine and writer. The summary is never wrapped.
//!
//! Bounded cost (issue 18, findings 3 and 4): an import takes a place in `AppState::imports`
//! before its body is read (none left: 429 `too_many_imports`), writes on a database
//! connection of its own rather than one the short requests need, and reads at most
//! `import_max_rows` rows and `import_max_zip_members` zip members (413 `import_too_large`).

use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

use crate::api::feed_path::{FeedPath, writable_feed};
use crate::api::query::QueryPairs;
use crate::api::representation::ApiVersion;
use crate::auth::caller::WriteCaller;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::import::gate::GateFull;
use crate::import::shadowserver::{
    FileError, FileErrorCode, FileStatus, FileSummary, ImportError, ImportOptions, Summary,
    detect_type, normalise_type, open_report,
};
use crate::import::spool::{self, Spool, SpoolError, Spooled};
use crate::import::writer::{self, ReportEnd, Target, WriteOptions};
use crate::models::import;
use crate::state::AppState;

/// The media types a report body may be sent as (or none at all).
const ACCEPTED_TYPES: &[&str] = &[
    "text/csv",
    "application/csv",
    "text/plain",
    "application/json",
    "application/x-ndjson",
    "application/zip",
    "application/x-zip-compressed",
    "application/octet-stream",
];

/// After the byte limit is passed, at most this much more is read (and dropped) so that the
/// client, still sending, gets the 413 rather than a reset connection.
const DRAIN_AFTER_LIMIT: u64 = 16 << 20;

/// How long a client refused for too many running imports is asked to wait: imports take
/// seconds to minutes.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(10);

/// POST /api/users/{user}/feeds/{feed}/imports/shadowserver: imports a Shadowserver report
/// (CSV, JSON, NDJSON or zip); 200 with the summary, or 400 (`unknown_parameter`,
/// `invalid_parameter`), 401, 403, 404, 413 (`payload_too_large`, `import_too_large`), 415,
/// 422 (`empty_report`, `unreadable_report`, with `details.summary`), 429
/// (`too_many_imports`), 503.
pub async fn import_shadowserver(
    state: web::Data<AppState>,
    _version: ApiVersion,
    writer: WriteCaller,
    query: QueryPairs,
    path: web::Path<FeedPath>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let params = query.only(&["type", "filename"])?;
    let explicit = params
        .get("type")
        .map(|t| {
            normalise_type(t).ok_or_else(|| ApiError::InvalidParameter {
                parameter: "type".into(),
                message: "type must match ^[a-z0-9_]{1,64}$".into(),
            })
        })
        .transpose()?;
    let filename = params.get("filename").cloned().unwrap_or_default();
    check_media_type(&req)?;
    let gzip = content_encoding_is_gzip(&req)?;

    // 404 and 403 answer before the body is read.
    let path = path.into_inner();
    let caller = writer.0.clone();
    let (owner, feed) = state
        .db
        .read(move |c| writable_feed(c, &path, &caller))
        .await?;
    // Held until the import ends, the body's upload included; a refused request reads nothing.
    let _permit = state
        .imports
        .try_enter(writer.0.id)
        .map_err(too_many_imports)?;

    let limit = state.settings.import_max_bytes;
    let mut spool = Spool::new(limit).map_err(internal)?;
    let mut too_large = false;
    let mut dropped = 0u64;
    let idle_secs = state.settings.import_idle_secs;
    let idle = std::time::Duration::from_secs(idle_secs);
    loop {
        let Ok(next) = actix_web::rt::time::timeout(idle, payload.next()).await else {
            return Err(ApiError::RequestTimeout { idle_secs });
        };
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| ApiError::malformed(format!("cannot read the body: {e}")))?;
        if too_large {
            dropped += chunk.len() as u64;
            if dropped > DRAIN_AFTER_LIMIT {
                break;
            }
            continue;
        }
        match spool.write(&chunk) {
            Ok(()) => {}
            Err(SpoolError::TooLarge { .. }) => too_large = true,
            Err(e) => return Err(internal(e)),
        }
    }
    if too_large {
        return Err(payload_too_large(limit));
    }
    let spooled = spool.finish().map_err(internal)?;

    let now = state.clock.now();
    let mut opts = ImportOptions::new(now);
    opts.explicit_type = explicit;
    opts.max_unzipped_bytes = state.settings.import_max_unzipped_bytes;
    opts.max_zip_members = Some(state.settings.import_max_zip_members);
    let max_rows = state.settings.import_max_rows;
    let batch_rows = state.settings.import_batch_rows as usize;
    let who = writer.0.name.clone();
    let target = Target {
        owner_id: owner.id,
        feed_id: feed.id,
        default_indicator_limit: state.settings.max_indicators,
        lifetimes: state.settings.lifetimes.with(&feed.lifetime_overrides()),
        report_lifetimes: state.settings.report_lifetimes.clone(),
    };
    let metrics = state.metrics.clone();
    let (mut summary, end) = state
        .db
        .long_write(move |c| {
            let _running = metrics.import_running();
            let wopts = WriteOptions {
                batch_rows,
                now,
                max_rows: Some(max_rows),
                origin: import::Origin {
                    source: import::Source::Upload,
                    started_by: Some(&who),
                    report_date: None,
                },
            };
            import_body(c, &target, spooled, gzip, &filename, opts, &wopts, limit)
        })
        .await?;
    summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    count_rows(&state, &summary);
    if end == ReportEnd::RowLimitReached {
        return Err(ApiError::ImportTooLarge {
            setting: "import_max_rows",
            limit: max_rows,
            message: format!(
                "the report has more than {max_rows} rows: the rows before the limit were \
                 imported (see details.summary), the rest was not read"
            ),
            summary: Some(Box::new(serde_json::to_value(&summary).unwrap_or_default())),
        });
    }
    if let Some(refusal) = nothing_imported(&summary) {
        return Err(refusal);
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(&summary))
}

/// The blocking part: decode gzip, open the report, import every file (or the files up to
/// the row limit).
#[expect(
    clippy::too_many_arguments,
    reason = "the request's parts, moved in once"
)]
fn import_body(
    c: &mut DbConnection,
    target: &Target,
    spooled: Spooled,
    gzip: bool,
    filename: &str,
    mut opts: ImportOptions,
    wopts: &WriteOptions,
    limit: u64,
) -> Result<(Summary, ReportEnd), ApiError> {
    let mut summary = Summary::new();
    let spooled = if gzip {
        match spool::gunzip(spooled, limit) {
            Ok(s) => s,
            Err(SpoolError::TooLarge { .. }) => return Err(payload_too_large(limit)),
            Err(SpoolError::BadGzip(message)) => {
                summary.push_file(rejected(filename, &opts, message));
                return Ok((summary, ReportEnd::AllRead));
            }
            Err(e) => return Err(internal(e)),
        }
    } else {
        spooled
    };
    opts.sha256 = Some(spooled.sha256.clone());
    let mut report = match open_report(spooled.file, filename, &opts) {
        Ok(r) => r,
        Err(ImportError::UnzippedTooLarge { limit }) => return Err(payload_too_large(limit)),
        Err(ImportError::TooManyMembers { members, limit }) => {
            return Err(ApiError::ImportTooLarge {
                setting: "import_max_zip_members",
                limit,
                message: format!(
                    "the archive holds {members} reports, more than {limit}: nothing was imported"
                ),
                summary: None,
            });
        }
        Err(e @ ImportError::Io(_)) => return Err(internal(e)),
    };
    let end = writer::import_report(
        c,
        target,
        &mut report,
        wopts,
        None,
        &mut summary,
        &mut |_| {},
    )
    .map_err(|e| match ApiError::from(e) {
        busy @ (ApiError::DatabaseBusy | ApiError::QueryTimeout | ApiError::Unavailable(_)) => busy,
        // §4.6: a database error ends the import with 503; importing again completes it.
        other => ApiError::Unavailable(anyhow::anyhow!("import failed: {other:?}")),
    })?;
    Ok((summary, end))
}

/// 429 when the user or the server runs as many imports as allowed.
fn too_many_imports(full: GateFull) -> ApiError {
    ApiError::TooManyImports {
        scope: full.scope.as_str(),
        limit: full.limit,
        retry_after: BUSY_RETRY_AFTER,
    }
}

/// 422 when nothing in the body could be imported: every entry rejected.
fn nothing_imported(summary: &Summary) -> Option<ApiError> {
    let all_rejected = !summary.files.is_empty()
        && summary
            .files
            .iter()
            .all(|f| f.status == FileStatus::Rejected);
    if !all_rejected {
        return None;
    }
    let errors: Vec<&FileError> = summary
        .files
        .iter()
        .filter_map(|f| f.error.as_ref())
        .collect();
    let empty = !errors.is_empty() && errors.iter().all(|e| e.code == FileErrorCode::EmptyReport);
    let (code, fallback) = if empty {
        ("empty_report", "the report is empty")
    } else {
        ("unreadable_report", "the report cannot be read")
    };
    let message = errors
        .first()
        .map_or_else(|| fallback.to_string(), |e| e.message.clone());
    Some(ApiError::ReportRejected {
        code,
        message,
        summary: Box::new(serde_json::to_value(summary).unwrap_or_default()),
    })
}

/// A rejected entry for a body that could not be decoded.
fn rejected(name: &str, opts: &ImportOptions, message: String) -> FileSummary {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let report_type = detect_type(opts.explicit_type.as_deref(), None, &[base]);
    let mut entry = FileSummary::named(base, &report_type);
    entry.reject(FileError::unreadable(message));
    entry
}

/// Counts the summary's rows in `feedgate_import_rows_total` and the indicator writes.
fn count_rows(state: &AppState, summary: &Summary) {
    let m = &state.metrics;
    m.import_rows("created", summary.indicators_created);
    m.import_rows("updated", summary.indicators_updated);
    m.import_rows("unchanged", summary.indicators_unchanged);
    for reason in crate::import::shadowserver::SkipReason::ALL {
        m.import_rows(reason.as_str(), summary.rows_skipped.get(reason));
    }
    m.indicators_written("created", summary.indicators_created);
    m.indicators_written("updated", summary.indicators_updated);
}

/// 415 for a media type that is not a report's; an absent `Content-Type` is accepted.
fn check_media_type(req: &HttpRequest) -> Result<(), ApiError> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().map_err(|_| ApiError::UnsupportedMediaType)?;
    let essence = text.split(';').next().unwrap_or_default().trim();
    if essence.is_empty()
        || ACCEPTED_TYPES
            .iter()
            .any(|t| t.eq_ignore_ascii_case(essence))
    {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

/// `Content-Encoding: gzip` is decoded; identity passes; anything else is 415.
fn content_encoding_is_gzip(req: &HttpRequest) -> Result<bool, ApiError> {
    let Some(value) = req.headers().get(header::CONTENT_ENCODING) else {
        return Ok(false);
    };
    let text = value.to_str().map_err(|_| ApiError::UnsupportedMediaType)?;
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(false),
        "gzip" | "x-gzip" => Ok(true),
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

fn payload_too_large(limit: u64) -> ApiError {
    ApiError::PayloadTooLarge {
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
    }
}

fn internal(e: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(e.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_of_only_rejected_files_is_refused_with_its_code() {
        let mut s = Summary::new();
        let opts = ImportOptions::new(chrono::NaiveDateTime::default());
        let mut f = rejected("x.csv", &opts, "bad".into());
        f.reject(FileError::empty());
        s.push_file(f);
        let e = nothing_imported(&s).unwrap();
        assert_eq!(e.code(), "empty_report");
        s.push_file(rejected("y.csv", &opts, "bad".into()));
        assert_eq!(nothing_imported(&s).unwrap().code(), "unreadable_report");
        let mut ok = Summary::new();
        ok.push_file(FileSummary::named(
            "z.csv",
            &detect_type(None, None, &["z.csv"]),
        ));
        assert!(nothing_imported(&ok).is_none());
    }
}
