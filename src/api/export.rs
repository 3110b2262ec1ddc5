//! Whole-feed exports (spec §6.5.6): `…/feeds/:feed.csv` and `.json`, newest first, streamed
//! page by page with chunked transfer encoding, so memory stays flat whatever the feed size.
//! A database failure after the first byte aborts the connection, so a truncated export never
//! looks complete.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use futures_util::stream;

use crate::api::feeds::{FeedPath, visible_feed};
use crate::api::paging::{self, ANONYMOUS_MAX};
use crate::api::query::QueryPairs;
use crate::api::render::{self, IndicatorView, protocol_name};
use crate::api::representation::ApiVersion;
use crate::api::urls;
use crate::auth::caller::Caller;
use crate::db;
use crate::error::ApiError;
use crate::models::feed::FeedRow;
use crate::models::indicator::{self, IndicatorRow, PageKey};
use crate::startup::AppState;

/// Rows fetched per database call while streaming.
const PAGE: i64 = 1000;

/// The exact CSV header row (19 columns).
pub const CSV_HEADER: &str = "id,indicator,itype,tags,portlist,portlist_src,protocol,firsttime,lasttime,count,description,provider,asn,asn_desc,cc,created_at,updated_at,user,feed";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Json(ApiVersion),
}

/// GET /api/users/{user}/feeds/{feed}.csv: the feed as RFC 4180 CSV; 400, 404.
pub async fn export_feed_csv(
    state: web::Data<AppState>,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<FeedPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    export(state, caller, query, path.into_inner(), req, Format::Csv).await
}

/// GET /api/users/{user}/feeds/{feed}.json: the feed as a JSON array of indicators (without
/// comments and attachments) in the negotiated version; 400, 404, 406.
pub async fn export_feed_json(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<FeedPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    export(
        state,
        caller,
        query,
        path.into_inner(),
        req,
        Format::Json(version),
    )
    .await
}

struct Walk {
    state: web::Data<AppState>,
    feed: FeedRow,
    owner: String,
    since: Option<NaiveDateTime>,
    after: Option<PageKey>,
    left: i64,
    started: bool,
    done: bool,
    format: Format,
    base: String,
}

async fn export(
    state: web::Data<AppState>,
    caller: Caller,
    query: QueryPairs,
    path: FeedPath,
    req: HttpRequest,
    format: Format,
) -> Result<HttpResponse, ApiError> {
    let params = query.only(&["lasttime"])?;
    let since = paging::lasttime(params.get("lasttime"), state.clock.now())?;
    let anonymous = caller.user().is_none();
    let (owner, feed) = db::run(&state.pool, move |c| visible_feed(c, &path, &caller)).await?;
    let (ext, content_type) = match format {
        Format::Csv => ("csv", "text/csv; charset=utf-8"),
        Format::Json(_) => ("json", "application/json; charset=utf-8"),
    };
    let filename = format!("{}-{}.{ext}", owner.username, feed.name);
    let walk = Walk {
        base: urls::base(&req, &state),
        state: state.clone(),
        owner: owner.username,
        feed,
        since,
        after: None,
        left: if anonymous { ANONYMOUS_MAX } else { i64::MAX },
        started: false,
        done: false,
        format,
    };
    let body = stream::unfold(walk, next_chunk);
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Format::Json(v) = format {
        res.insert_header(("X-Csirtg-Version", v.as_str()));
    }
    Ok(res.streaming(body))
}

async fn next_chunk(mut walk: Walk) -> Option<(Result<Bytes, ApiError>, Walk)> {
    if walk.done {
        return None;
    }
    let mut out = String::new();
    if !walk.started {
        walk.started = true;
        match walk.format {
            Format::Csv => {
                out.push_str(CSV_HEADER);
                out.push_str("\r\n");
            }
            Format::Json(_) => out.push('['),
        }
    }
    let want = PAGE.min(walk.left);
    let rows = if want > 0 {
        let (feed_id, since, after) = (walk.feed.id, walk.since, walk.after);
        match db::run(&walk.state.pool, move |c| {
            indicator::page(c, feed_id, since, after, want).map_err(ApiError::from)
        })
        .await
        {
            Ok(rows) => rows,
            Err(e) => {
                walk.done = true;
                return Some((Err(e), walk));
            }
        }
    } else {
        Vec::new()
    };
    for row in &rows {
        let first =
            walk.after.is_none() && matches!(walk.format, Format::Json(_)) && out.ends_with('[');
        match walk.format {
            Format::Csv => csv_row(&mut out, row, &walk.owner, &walk.feed.name),
            Format::Json(v) => {
                if !first {
                    out.push(',');
                }
                let view = IndicatorView::of(row.clone(), &walk.feed, &walk.owner);
                out.push_str(&render::indicator(&view, v, &walk.base, None).to_string());
            }
        }
        walk.after = Some((row.effective_at, row.id));
    }
    walk.left -= rows.len() as i64;
    if (rows.len() as i64) < want || walk.left <= 0 || want == 0 {
        walk.done = true;
        if matches!(walk.format, Format::Json(_)) {
            out.push(']');
        }
    }
    Some((Ok(Bytes::from(out)), walk))
}

fn iso(t: Option<NaiveDateTime>) -> String {
    t.map_or(String::new(), |t| {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    })
}

/// One RFC 4180 field: quoted when it holds a comma, quote, CR or LF.
fn field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn csv_row(out: &mut String, r: &IndicatorRow, owner: &str, feed: &str) {
    let protocol = r
        .protocol
        .map(|p| protocol_name(p).map_or(p.to_string(), str::to_string))
        .unwrap_or_default();
    let cells: [String; 19] = [
        r.id.to_string(),
        r.value.clone(),
        r.itype.clone(),
        r.tags.clone(),
        r.portlist.clone().unwrap_or_default(),
        r.portlist_src.clone().unwrap_or_default(),
        protocol,
        iso(r.firsttime),
        iso(r.lasttime),
        r.count.to_string(),
        r.description.clone().unwrap_or_default(),
        r.provider.clone().unwrap_or_default(),
        r.asn.map(|a| a.to_string()).unwrap_or_default(),
        r.asn_desc.clone().unwrap_or_default(),
        r.cc.clone().unwrap_or_default(),
        iso(Some(r.created_at)),
        iso(Some(r.updated_at)),
        owner.to_string(),
        feed.to_string(),
    ];
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, cell);
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let mut out = String::new();
        field(&mut out, "scanner,ssh");
        field(&mut out, "plain");
        field(&mut out, "say \"hi\"\nthere");
        assert_eq!(out, "\"scanner,ssh\"plain\"say \"\"hi\"\"\nthere\"");
        assert_eq!(CSV_HEADER.split(',').count(), 19);
    }
}
