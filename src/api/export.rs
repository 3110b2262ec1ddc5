//! Whole-feed exports (spec §6.5.6): `…/feeds/:feed.csv` and `.json`, newest first, streamed
//! page by page with chunked transfer encoding, so memory stays flat whatever the feed size.
//! A database failure after the first byte aborts the connection, so a truncated export never
//! looks complete.

use std::fmt::Write as _;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use futures_util::stream;

use crate::api::feeds::{FeedPath, visible_feed};
use crate::api::paging::{self, ANONYMOUS_MAX};
use crate::api::query::QueryPairs;
use crate::api::render::{IndicatorJson, IndicatorView, protocol_name};
use crate::api::representation::{ApiVersion, TimeText};
use crate::api::urls;
use crate::auth::caller::Caller;
use crate::db;
use crate::error::ApiError;
use crate::models::feed::FeedRow;
use crate::models::indicator::{self, IndicatorFields, IndicatorRow, PageKey, PageOf};
use crate::startup::AppState;

/// Rows fetched per database call while streaming.
const PAGE: i64 = 2000;
/// Most bytes of text one chunk holds: a chunk of large rows ends early, so an export's
/// memory stays flat whatever its rows carry.
const CHUNK_BYTES: usize = 4 * 1024 * 1024;

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

/// What every chunk of one export needs, shared by the chunks.
struct Ctx {
    feed: FeedRow,
    owner: String,
    base: String,
    format: Format,
    since: Option<NaiveDateTime>,
}

struct Walk {
    state: web::Data<AppState>,
    ctx: Arc<Ctx>,
    after: Option<PageKey>,
    left: i64,
    started: bool,
    done: bool,
    /// The connection the walk keeps between pages (`db::Db::walk`).
    reader: db::Walk,
}

/// One chunk: rendered text, rows in it, where the next chunk starts and whether one may.
struct Chunk {
    text: String,
    rows: i64,
    last: Option<PageKey>,
    more: bool,
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
    let (owner, feed) = state
        .db
        .read(move |c| visible_feed(c, &path, &caller))
        .await?;
    let (ext, content_type) = match format {
        Format::Csv => ("csv", "text/csv; charset=utf-8"),
        Format::Json(_) => ("json", "application/json; charset=utf-8"),
    };
    let filename = format!("{}-{}.{ext}", owner.username, feed.name);
    let walk = Walk {
        state: state.clone(),
        ctx: Arc::new(Ctx {
            base: urls::base(&req, &state),
            owner: owner.username,
            feed,
            format,
            since,
        }),
        after: None,
        left: if anonymous { ANONYMOUS_MAX } else { i64::MAX },
        started: false,
        done: false,
        reader: db::Walk::default(),
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
    let json = matches!(walk.ctx.format, Format::Json(_));
    if !walk.started {
        walk.started = true;
        if json {
            out.push('[');
        } else {
            out.push_str(CSV_HEADER);
            out.push_str("\r\n");
        }
    }
    let want = PAGE.min(walk.left);
    let chunk = if want > 0 {
        let (ctx, after) = (walk.ctx.clone(), walk.after);
        // Rows are rendered on the blocking thread that read them: no copy of the page crosses
        // threads, and the async worker only hands bytes to the socket.
        let read = move |c: &mut db::DbConnection| {
            let page = PageOf {
                feed_id: ctx.feed.id,
                since: ctx.since,
                after,
                limit: want,
            };
            let chunk = match ctx.format {
                Format::Csv => csv_chunk(&ctx, c, &page)?,
                Format::Json(version) => {
                    let mut page = indicator::page_within(c, &page, CHUNK_BYTES)?;
                    indicator::expand_contents(c, page.rows.iter_mut())?;
                    json_chunk(&ctx, version, page.rows, after.is_none(), page.more)
                }
            };
            Ok::<_, ApiError>(chunk)
        };
        let state = walk.state.clone();
        let result = state.db.walk(&mut walk.reader, read).await;
        match result {
            Ok(chunk) => chunk,
            Err(e) => {
                walk.done = true;
                return Some((Err(e), walk));
            }
        }
    } else {
        Chunk {
            text: String::new(),
            rows: 0,
            last: None,
            more: false,
        }
    };
    if out.is_empty() {
        out = chunk.text;
    } else {
        out.push_str(&chunk.text);
    }
    if chunk.last.is_some() {
        walk.after = chunk.last;
    }
    walk.left -= chunk.rows;
    if !chunk.more || walk.left <= 0 || want == 0 {
        walk.done = true;
        walk.reader = db::Walk::default();
        if json {
            out.push(']');
        }
    }
    Some((Ok(Bytes::from(out)), walk))
}

/// One page of the CSV export, each row written as it is read.
fn csv_chunk(ctx: &Ctx, c: &mut db::DbConnection, page: &PageOf) -> Result<Chunk, ApiError> {
    let mut chunk = Chunk {
        text: String::with_capacity(usize::try_from(page.limit).unwrap_or(0) * 200),
        rows: 0,
        last: None,
        more: false,
    };
    indicator::export_page(c, page, |row| {
        csv_row(&mut chunk.text, &row, &ctx.owner, &ctx.feed.name);
        chunk.rows += 1;
        chunk.last = Some((row.effective_at, row.id));
        chunk.text.len() < CHUNK_BYTES
    })?;
    // A full page or one cut by its size may have rows after it; a short one was the end.
    chunk.more = chunk.rows == page.limit || chunk.text.len() >= CHUNK_BYTES;
    Ok(chunk)
}

/// One page of the JSON export (`first`: the export's first page, so no comma before its
/// first object).
fn json_chunk(
    ctx: &Ctx,
    version: ApiVersion,
    rows: Vec<IndicatorRow>,
    first: bool,
    more: bool,
) -> Chunk {
    let n = rows.len() as i64;
    let last = rows.last().map(|r| (r.effective_at, r.id));
    let mut buf = Vec::with_capacity(rows.len() * 600);
    for (i, row) in rows.into_iter().enumerate() {
        if i > 0 || !first {
            buf.push(b',');
        }
        let view = IndicatorView::of(row, &ctx.feed, &ctx.owner);
        let item = IndicatorJson {
            view: &view,
            version,
            base: &ctx.base,
            extras: None,
        };
        // Writing to a Vec cannot fail, and our objects have string keys only.
        let _ = serde_json::to_writer(&mut buf, &item);
    }
    Chunk {
        // serde_json writes UTF-8 only.
        text: String::from_utf8(buf).unwrap_or_default(),
        rows: n,
        last,
        more,
    }
}

/// One RFC 4180 field: quoted when it holds a comma, quote, CR or LF.
fn field(out: &mut String, value: &str) {
    // A cell a spreadsheet would read as a formula (OWASP's CSV injection rule) is written
    // with a leading apostrophe, which spreadsheets show as text.
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        if formula {
            out.push('\'');
        }
        for (i, part) in value.split('"').enumerate() {
            if i > 0 {
                out.push_str("\"\"");
            }
            out.push_str(part);
        }
        out.push('"');
    } else {
        if formula {
            out.push('\'');
        }
        out.push_str(value);
    }
}

/// A number or time cell (never needs quoting).
fn plain(out: &mut String, value: impl std::fmt::Display) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{value}");
}

fn time(out: &mut String, t: Option<NaiveDateTime>) {
    if let Some(t) = t {
        out.push_str(TimeText::new(t, ApiVersion::V1).as_str());
    }
}

/// One CSV line, written in place (exports write hundreds of thousands).
fn csv_row(out: &mut String, r: &IndicatorFields, owner: &str, feed: &str) {
    fn opt(o: &Option<String>) -> &str {
        o.as_deref().unwrap_or("")
    }

    plain(out, r.id);
    out.push(',');
    field(out, &r.value);
    out.push(',');
    field(out, &r.itype);
    out.push(',');
    field(out, &r.tags);
    out.push(',');
    field(out, opt(&r.portlist));
    out.push(',');
    field(out, opt(&r.portlist_src));
    out.push(',');
    if let Some(p) = r.protocol {
        match protocol_name(p) {
            Some(name) => out.push_str(name),
            None => plain(out, p),
        }
    }
    out.push(',');
    time(out, r.firsttime);
    out.push(',');
    time(out, r.lasttime);
    out.push(',');
    plain(out, r.count);
    out.push(',');
    field(out, opt(&r.description));
    out.push(',');
    field(out, opt(&r.provider));
    out.push(',');
    if let Some(asn) = r.asn {
        plain(out, asn);
    }
    out.push(',');
    field(out, opt(&r.asn_desc));
    out.push(',');
    field(out, opt(&r.cc));
    out.push(',');
    time(out, Some(r.created_at));
    out.push(',');
    time(out, Some(r.updated_at));
    out.push(',');
    field(out, owner);
    out.push(',');
    field(out, feed);
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
        for (cell, written) in [
            (
                "=HYPERLINK(\"http://x\")",
                "\"'=HYPERLINK(\"\"http://x\"\")\"",
            ),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("a=b", "a=b"),
        ] {
            let mut out = String::new();
            field(&mut out, cell);
            assert_eq!(out, written, "{cell:?}");
        }
    }
}
