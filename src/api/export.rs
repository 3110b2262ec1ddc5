//! Whole-feed exports (spec §6.5.6): `…/feeds/:feed.csv` and `.json`, and the consumer formats
//! of `crate::export` (`.txt`, `.zeek`, `.suricata`, `.rpz`, `.stix`, `.misp`, or `?format=`),
//! newest first, streamed page by page with chunked transfer encoding, so memory stays flat
//! whatever the feed size. Every format keeps what `itype` and `tags` select and leaves out
//! what the whitelist holds (`api::whitelists`: the server's, the owner's whitelist feeds
//! and the global ones) and networks broader than `max_prefix` (IPv4) / `max_prefix6`
//! (IPv6): the request's, else the feed's, else /16 and /48. A whitelist feed's own exports
//! are not filtered. The paged feed view and search are not exports: they show everything.
//! A database failure after the first byte aborts the connection, so a truncated export never
//! looks complete.

use std::fmt::Write as _;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use futures_util::stream;
use serde::Deserialize;

use crate::api::feed_path::{FeedPath, visible_feed};
use crate::api::paging::{self, ANONYMOUS_MAX};
use crate::api::query::QueryPairs;
use crate::api::render::{IndicatorJson, IndicatorView, protocol_name};
use crate::api::representation::{ApiVersion, TimeText};
use crate::api::selection::Selection;
use crate::api::shown::{self, RowFilters, Window};
use crate::api::urls;
use crate::api::whitelists::{ExportWhitelist, Found};
use crate::auth::access;
use crate::auth::caller::Caller;
use crate::db;
use crate::domain::thing::{Itype, Thing};
use crate::domain::tlp::Tlp;
use crate::domain::viewer::Viewer;
use crate::error::ApiError;
use crate::export::cache::{ExportKey, ExportStamp};
use crate::export::{self, FeedInfo, Item};
use crate::models::feed::FeedRow;
use crate::models::indicator::{self, IndicatorFields, IndicatorRow, PageKey, PageOf};
use crate::state::AppState;

/// Rows fetched per database call while streaming.
const PAGE: i64 = 2000;
/// Most bytes of text one chunk holds: a chunk of large rows ends early, so an export's
/// memory stays flat whatever its rows carry.
const CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// The exact CSV header row (22 columns: the spec's 19, then the consumer fields).
pub const CSV_HEADER: &str = "id,indicator,itype,tags,portlist,portlist_src,protocol,firsttime,lasttime,count,description,provider,asn,asn_desc,cc,created_at,updated_at,user,feed,confidence,tlp,expires_at";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Json(ApiVersion),
    Consumer(export::Format),
}

/// The broadest networks the consumer formats carry by default: a stray /8 in a firewall
/// blocks millions of hosts.
const MAX_PREFIX_V4: u8 = 16;
const MAX_PREFIX_V6: u8 = 48;

/// The name of every export format, for the 404 of an unknown one.
fn format_names() -> Vec<&'static str> {
    let mut names = vec!["csv", "json"];
    names.extend(export::Format::ALL.map(export::Format::name));
    names
}

/// The path of `…/feeds/{feed}.{format}`.
#[derive(Debug, Deserialize)]
pub struct FeedFormatPath {
    pub user: String,
    pub feed: String,
    pub format: String,
}

/// GET /api/users/{user}/feeds/{feed}.{format}: the feed in a consumer format; 400, 404.
pub async fn export_feed_as(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<FeedFormatPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let FeedFormatPath { user, feed, format } = path.into_inner();
    export_named(
        state,
        version,
        caller,
        query,
        FeedPath { user, feed },
        req,
        &format,
    )
    .await
}

/// The export in the format named `name` (`csv`, `json` or a consumer format), for the
/// `.{format}` route and the feed's `?format=`; 404 `unknown_format` otherwise.
pub async fn export_named(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    query: QueryPairs,
    path: FeedPath,
    req: HttpRequest,
    name: &str,
) -> Result<HttpResponse, ApiError> {
    let format = match name {
        "csv" => Format::Csv,
        "json" => Format::Json(version),
        other => Format::Consumer(export::Format::from_name(other).ok_or_else(|| {
            ApiError::UnknownFormat {
                format: other.to_owned(),
                known: format_names(),
            }
        })?),
    };
    export(state, caller, query, path, req, format).await
}

/// What an export keeps of a feed.
pub(crate) struct Filters {
    /// Kept: what `itype` and `tags` select.
    selection: Selection,
    /// The request's bounds, which win over the feed's.
    asked_v4: Option<u8>,
    asked_v6: Option<u8>,
    max_prefix_v4: u8,
    max_prefix_v6: u8,
    /// A whitelist feed's export: nothing is left out.
    keep_all: bool,
}

impl Filters {
    pub(crate) fn read(
        params: &std::collections::BTreeMap<&'static str, String>,
    ) -> Result<Self, ApiError> {
        let selection = Selection::read(params)?;
        let prefix = |name: &str, max: u8| {
            params
                .get(name)
                .map(|raw| {
                    // A 422 naming the parameter, like `confidence` and `tlp` (issue 19).
                    raw.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                        ApiError::invalid(
                            name,
                            "out_of_range",
                            format!("{name} must be a whole number from 0 to {max}"),
                        )
                    })
                })
                .transpose()
        };
        let (asked_v4, asked_v6) = (prefix("max_prefix", 32)?, prefix("max_prefix6", 128)?);
        Ok(Filters {
            selection,
            asked_v4,
            asked_v6,
            max_prefix_v4: asked_v4.unwrap_or(MAX_PREFIX_V4),
            max_prefix_v6: asked_v6.unwrap_or(MAX_PREFIX_V6),
            keep_all: false,
        })
    }

    /// The filters for an export of `feed`: its own `max_prefix`/`max_prefix6` where the
    /// request named none, and nothing left out of a whitelist feed.
    pub(crate) fn for_feed(mut self, feed: &FeedRow) -> Self {
        let stored = |p: Option<i32>| p.and_then(|p| u8::try_from(p).ok());
        self.max_prefix_v4 = self
            .asked_v4
            .or(stored(feed.max_prefix))
            .unwrap_or(MAX_PREFIX_V4);
        self.max_prefix_v6 = self
            .asked_v6
            .or(stored(feed.max_prefix6))
            .unwrap_or(MAX_PREFIX_V6);
        self.keep_all = feed.is_whitelist();
        self
    }

    /// Whether a whitelist applies at all (not to a whitelist feed's own export).
    pub(crate) fn filters_out(&self) -> bool {
        !self.keep_all
    }

    /// Whether the request selects the indicator (`itype`, `tags`).
    fn selects(&self, thing: &Thing, tags: &str) -> bool {
        self.selection.selects(thing.itype(), tags)
    }

    /// Why the exports leave a value out, if they do: a network broader than the bound, or
    /// an entry of the whitelist.
    pub(crate) fn left_out<'w>(
        &self,
        thing: &Thing,
        whitelist: &'w ExportWhitelist,
    ) -> Option<LeftOut<'w>> {
        if self.keep_all {
            return None;
        }
        let max = match thing.itype() {
            Itype::Ipv4 => self.max_prefix_v4,
            Itype::Ipv6 => self.max_prefix_v6,
            _ => 0,
        };
        if let Some(prefix) = thing.prefix_len().filter(|p| *p < max) {
            return Some(LeftOut::Broad { prefix, max });
        }
        whitelist.check(thing).map(LeftOut::Listed)
    }
}

/// Why a value stays out of the exports.
pub(crate) enum LeftOut<'w> {
    /// A network broader than `max_prefix`/`max_prefix6`.
    Broad { prefix: u8, max: u8 },
    /// An entry of the special-purpose blocks, a warninglist or a whitelist feed.
    Listed(Found<'w>),
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
    /// The feed's address in the API.
    url: String,
    format: Format,
    since: Option<NaiveDateTime>,
    filters: Filters,
    /// Expiry, TLP and the `confidence`/`tlp` filters, for the caller.
    rows: RowFilters,
    viewer: Viewer,
    whitelist: ExportWhitelist,
    generated: NaiveDateTime,
}

impl Ctx {
    fn info(&self) -> FeedInfo<'_> {
        FeedInfo {
            id: self.feed.id,
            owner: &self.owner,
            name: &self.feed.name,
            description: self.feed.description.as_deref(),
            url: &self.url,
            generated: self.generated,
        }
    }

    /// The stored value as a [`Thing`] when the export keeps it: selected by `itype` and
    /// `tags`, and not left out. A stored value that no longer parses is left out.
    fn keeps(&self, value: &str, tags: &str) -> Option<Thing> {
        let thing = Thing::parse(value).ok()?;
        (self.filters.selects(&thing, tags)
            && self.filters.left_out(&thing, &self.whitelist).is_none())
        .then_some(thing)
    }
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
    /// The consumer format's renderer, between chunks.
    writer: Option<export::Writer>,
    /// Whether a JSON object was written yet (the next one needs a comma).
    json_started: bool,
    /// The text gathered for the export cache, while it may be kept.
    fill: Option<Fill>,
}

/// One chunk: rendered text, rows in it, where the next chunk starts and whether one may.
struct Chunk {
    text: String,
    rows: i64,
    last: Option<PageKey>,
    more: bool,
    writer: Option<export::Writer>,
    /// Rows written (not left out).
    written: i64,
    /// The earliest expiry among the rows read: the live rows stay the same until then.
    expiry: Option<NaiveDateTime>,
}

/// The earlier of two expiries, `None` being never.
fn earlier(a: Option<NaiveDateTime>, b: Option<NaiveDateTime>) -> Option<NaiveDateTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

async fn export(
    state: web::Data<AppState>,
    caller: Caller,
    query: QueryPairs,
    path: FeedPath,
    req: HttpRequest,
    format: Format,
) -> Result<HttpResponse, ApiError> {
    let params = query.only(&shown::allowed(&[
        "lasttime",
        "itype",
        "tags",
        "max_prefix",
        "max_prefix6",
    ]))?;
    let since = paging::lasttime(params.get("lasttime"), state.clock.now())?;
    let filters = Filters::read(&params)?;
    let rows = RowFilters::read(&params)?;
    let viewer = access::viewer(&caller);
    let anonymous = caller.user().is_none();
    let (server, cache) = (state.whitelist.clone(), state.feed_whitelists.clone());
    let (owner, feed, whitelist) = state
        .db
        .read(move |c| {
            let (owner, feed) = visible_feed(c, &path, &caller)?;
            let whitelist = ExportWhitelist::load(c, &cache, server, &feed, viewer)?;
            Ok::<_, ApiError>((owner, feed, whitelist))
        })
        .await?;
    let filters = filters.for_feed(&feed);
    let base = urls::base(&req, &state);
    // A relative time (`lasttime`) changes the text by itself: such exports are never kept.
    let kept = if state.exports.enabled() && !params.contains_key("lasttime") {
        let key = ExportKey {
            feed_id: feed.id,
            format: match format {
                Format::Csv => "csv".to_owned(),
                Format::Json(v) => format!("json {}", v.as_str()),
                Format::Consumer(f) => f.name().to_owned(),
            },
            params: params.iter().map(|(k, v)| (*k, v.clone())).collect(),
            base: base.clone(),
            restricted: viewer.reads_restricted_of(feed.user_id),
            anonymous,
        };
        let stamp = ExportStamp {
            feed_version: feed.version,
            whitelists: whitelist.versions().to_vec(),
        };
        look_up(&state, key, stamp, !rows.include_expired)
    } else {
        Kept::Never
    };
    let (ext, content_type) = match format {
        Format::Csv => ("csv", "text/csv; charset=utf-8"),
        Format::Json(_) => ("json", "application/json; charset=utf-8"),
        Format::Consumer(f) => (f.name(), f.content_type()),
    };
    let filename = format!("{}-{}.{ext}", owner.username, feed.name);
    let mut walk = Walk {
        state: state.clone(),
        ctx: Arc::new(Ctx {
            url: format!("{base}/api/users/{}/feeds/{}", owner.username, feed.name),
            base,
            owner: owner.username,
            feed,
            format,
            since,
            filters,
            rows,
            viewer,
            whitelist,
            generated: state.clock.now(),
        }),
        after: None,
        left: if anonymous { ANONYMOUS_MAX } else { i64::MAX },
        started: false,
        done: false,
        reader: db::Walk::default(),
        writer: match format {
            Format::Consumer(f) => Some(export::Writer::new(f)),
            _ => None,
        },
        json_started: false,
        fill: None,
    };
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
    match kept {
        Kept::Hit(chunks) => {
            state.metrics.export_cache("hit");
            let body = (0..chunks.len()).map(move |i| Ok::<_, ApiError>(chunks[i].clone()));
            Ok(res.streaming(stream::iter(body)))
        }
        Kept::Fill(fill) => {
            walk.fill = Some(fill);
            Ok(res.streaming(stream::unfold(walk, next_chunk)))
        }
        Kept::Never => Ok(res.streaming(stream::unfold(walk, next_chunk))),
    }
}

/// What the export cache holds of a request.
enum Kept {
    /// The whole text, still valid.
    Hit(Arc<Vec<Bytes>>),
    /// Nothing yet: the text is kept as it is streamed.
    Fill(Fill),
    /// Not kept (a relative time, or no cache).
    Never,
}

/// An export's text gathered while it streams, kept at its end.
struct Fill {
    key: ExportKey,
    stamp: ExportStamp,
    /// Live rows only: the text holds until the earliest expiry among the rows read.
    live: bool,
    until: Option<NaiveDateTime>,
    chunks: Vec<Bytes>,
    bytes: usize,
}

/// Looks the export up in the cache; on a miss, prepares to keep it.
fn look_up(state: &AppState, key: ExportKey, stamp: ExportStamp, live: bool) -> Kept {
    match state.exports.get(&key, &stamp, state.clock.now()) {
        Some(chunks) => Kept::Hit(chunks),
        None => Kept::Fill(Fill {
            key,
            stamp,
            live,
            until: None,
            chunks: Vec::new(),
            bytes: 0,
        }),
    }
}

async fn next_chunk(mut walk: Walk) -> Option<(Result<Bytes, ApiError>, Walk)> {
    if walk.done {
        return None;
    }
    let mut out = String::new();
    let json = matches!(walk.ctx.format, Format::Json(_));
    if !walk.started {
        walk.started = true;
        match (walk.ctx.format, &walk.writer) {
            (Format::Json(_), _) => out.push('['),
            (Format::Csv, _) => {
                out.push_str(CSV_HEADER);
                out.push_str("\r\n");
            }
            (Format::Consumer(_), Some(writer)) => writer.head(&walk.ctx.info(), &mut out),
            (Format::Consumer(_), None) => {}
        }
    }
    let want = PAGE.min(walk.left);
    let chunk = if want > 0 {
        let (ctx, after, writer) = (walk.ctx.clone(), walk.after, walk.writer);
        let json_first = !walk.json_started;
        // Rows are rendered on the blocking thread that read them: no copy of the page crosses
        // threads, and the async worker only hands bytes to the socket.
        let read = move |c: &mut db::DbConnection| {
            let window = Window {
                since: ctx.since,
                after,
                limit: want,
            };
            let page = ctx
                .rows
                .page_of(&ctx.feed, ctx.viewer, ctx.generated, window);
            let chunk = match ctx.format {
                Format::Csv => csv_chunk(&ctx, c, &page)?,
                Format::Json(version) => {
                    let page = indicator::page_within(c, &page, CHUNK_BYTES)?;
                    let read = Chunk {
                        text: String::new(),
                        rows: page.rows.len() as i64,
                        last: page.rows.last().map(|r| (r.effective_at, r.id)),
                        more: page.more,
                        writer: None,
                        written: 0,
                        expiry: page.rows.iter().filter_map(|r| r.expires_at).min(),
                    };
                    let mut rows = page.rows;
                    // Left out before their stored copies are rebuilt, which is the costly part.
                    rows.retain(|r| ctx.keeps(&r.value, &r.tags).is_some());
                    indicator::expand_contents(c, rows.iter_mut())?;
                    json_chunk(&ctx, version, rows, json_first, read)
                }
                Format::Consumer(f) => {
                    let writer = writer.unwrap_or(export::Writer::new(f));
                    consumer_chunk(&ctx, writer, c, &page)?
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
            writer: walk.writer,
            written: 0,
            expiry: None,
        }
    };
    walk.json_started |= chunk.written > 0;
    if let Some(fill) = &mut walk.fill {
        fill.until = earlier(fill.until, chunk.expiry);
    }
    if chunk.writer.is_some() {
        walk.writer = chunk.writer;
    }
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
        if let Some(writer) = &walk.writer {
            writer.tail(&mut out);
        }
    }
    if walk.fill.is_some() {
        // Kept text holds only its bytes, not the chunk's spare capacity.
        out.shrink_to_fit();
    }
    let out = Bytes::from(out);
    if let Some(fill) = &mut walk.fill {
        fill.bytes += out.len();
        fill.chunks.push(out.clone());
        if fill.bytes > walk.state.exports.max_entry() {
            walk.fill = None;
            walk.state.metrics.export_cache("skipped");
        }
    }
    if walk.done
        && let Some(fill) = walk.fill.take()
    {
        walk.state.metrics.export_cache("miss");
        let until = if fill.live { fill.until } else { None };
        walk.state
            .exports
            .put(fill.key, fill.stamp, until, fill.chunks);
    }
    Some((Ok(out), walk))
}

/// One page of the CSV export, each row written as it is read.
fn csv_chunk(ctx: &Ctx, c: &mut db::DbConnection, page: &PageOf) -> Result<Chunk, ApiError> {
    let mut chunk = Chunk {
        text: String::with_capacity(usize::try_from(page.limit).unwrap_or(0) * 200),
        rows: 0,
        last: None,
        more: false,
        writer: None,
        written: 0,
        expiry: None,
    };
    indicator::export_page(c, page, |row| {
        if ctx.keeps(&row.value, &row.tags).is_some() {
            let tlp = Tlp::effective(row.tlp.as_deref(), ctx.feed.private);
            csv_row(&mut chunk.text, &row, (&ctx.owner, &ctx.feed.name), tlp);
            chunk.written += 1;
        }
        chunk.rows += 1;
        chunk.last = Some((row.effective_at, row.id));
        chunk.expiry = earlier(chunk.expiry, row.expires_at);
        chunk.text.len() < CHUNK_BYTES
    })?;
    // A full page or one cut by its size may have rows after it; a short one was the end.
    chunk.more = chunk.rows == page.limit || chunk.text.len() >= CHUNK_BYTES;
    Ok(chunk)
}

/// One page of the JSON export: the `rows` kept of what `read` says was read (`first`: no
/// object written yet, so no comma before this page's first one).
fn json_chunk(
    ctx: &Ctx,
    version: ApiVersion,
    rows: Vec<IndicatorRow>,
    first: bool,
    read: Chunk,
) -> Chunk {
    let written = rows.len() as i64;
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
        written,
        ..read
    }
}

/// One page of a consumer format: each row read, filtered, checked against the whitelist
/// and rendered as it comes. The terse formats read only the columns they show.
fn consumer_chunk(
    ctx: &Ctx,
    writer: export::Writer,
    c: &mut db::DbConnection,
    page: &PageOf,
) -> Result<Chunk, ApiError> {
    let mut out = Rendering {
        ctx,
        info: ctx.info(),
        writer,
        chunk: Chunk {
            text: String::with_capacity(usize::try_from(page.limit).unwrap_or(0) * 100),
            rows: 0,
            last: None,
            more: false,
            writer: None,
            written: 0,
            expiry: None,
        },
    };
    if out.writer.format().terse() {
        indicator::terse_page(c, page, |row| {
            out.chunk.expiry = earlier(out.chunk.expiry, row.expires_at);
            out.row(
                (row.effective_at, row.id),
                &row.value,
                &row.tags,
                row.description.as_deref(),
                None,
            )
        })?;
    } else {
        indicator::export_page(c, page, |row| {
            out.chunk.expiry = earlier(out.chunk.expiry, row.expires_at);
            let details = Details {
                firsttime: row.firsttime,
                lasttime: row.lasttime,
                created_at: row.created_at,
                updated_at: row.updated_at,
                confidence: row.confidence,
                tlp: Tlp::effective(row.tlp.as_deref(), ctx.feed.private),
                expires_at: row.expires_at,
            };
            out.row(
                (row.effective_at, row.id),
                &row.value,
                &row.tags,
                row.description.as_deref(),
                Some(details),
            )
        })?;
    }
    let Rendering {
        mut chunk, writer, ..
    } = out;
    chunk.more = chunk.rows == page.limit || chunk.text.len() >= CHUNK_BYTES;
    chunk.writer = Some(writer);
    Ok(chunk)
}

/// What the wide consumer formats show beyond the value, its tags and description.
struct Details {
    firsttime: Option<NaiveDateTime>,
    lasttime: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    confidence: Option<f64>,
    tlp: Tlp,
    expires_at: Option<NaiveDateTime>,
}

/// A consumer chunk being rendered.
struct Rendering<'c> {
    ctx: &'c Ctx,
    info: FeedInfo<'c>,
    writer: export::Writer,
    chunk: Chunk,
}

impl Rendering<'_> {
    /// Counts a row read and renders it when the request keeps it; whether the chunk takes
    /// more rows.
    fn row(
        &mut self,
        key: PageKey,
        value: &str,
        tags: &str,
        description: Option<&str>,
        details: Option<Details>,
    ) -> bool {
        let ctx = self.ctx;
        self.chunk.rows += 1;
        self.chunk.last = Some(key);
        if let Some(thing) = ctx.keeps(value, tags) {
            self.chunk.written += 1;
            // A terse format reads none of the details (`export::Format::terse`).
            let d = details.unwrap_or(Details {
                firsttime: None,
                lasttime: None,
                created_at: key.0,
                updated_at: key.0,
                confidence: None,
                tlp: Tlp::feed_default(ctx.feed.private),
                expires_at: None,
            });
            let item = Item {
                id: key.1,
                thing: &thing,
                tags,
                description,
                firsttime: d.firsttime,
                lasttime: d.lasttime,
                created_at: d.created_at,
                updated_at: d.updated_at,
                confidence: d.confidence,
                tlp: d.tlp,
                expires_at: d.expires_at,
            };
            self.writer.item(&self.info, &item, &mut self.chunk.text);
        }
        self.chunk.text.len() < CHUNK_BYTES
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
fn csv_row(out: &mut String, r: &IndicatorFields, (owner, feed): (&str, &str), tlp: Tlp) {
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
    out.push(',');
    if let Some(confidence) = r.confidence {
        plain(out, confidence);
    }
    out.push(',');
    out.push_str(tlp.as_str());
    out.push(',');
    time(out, r.expires_at);
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
        assert_eq!(CSV_HEADER.split(',').count(), 22);
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
