//! The reading pages: the directory of feeds (`/`), the search (`/search`), a user's feeds
//! (`/u/:user`), a feed (`/u/:user/:feed`), an indicator (`/u/:user/:feed/:id`), and the
//! downloads they link to. Each reads through the API's own reading code (`api::directory`,
//! `api::search`, `api::feeds::read_user_feeds`, `api::indicator_views`), with the same
//! parameters, visibility, TLP rule and cursors, and renders HTML instead of JSON.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::api::attachments::{self, AttachmentPath};
use crate::api::directory::DirectoryRequest;
use crate::api::export::{self, FeedFormatPath};
use crate::api::feed_path::FeedPath;
use crate::api::feeds::{UserFeeds, read_user_feeds};
use crate::api::indicator_views::{FeedPage, read_feed_page, read_indicator};
use crate::api::indicators::IndicatorPath;
use crate::api::query::{NoParams, QueryPairs};
use crate::api::render::{IndicatorView, protocol_name};
use crate::api::representation::ApiVersion;
use crate::api::search::{SearchRequest, read_results};
use crate::api::selection::Selection;
use crate::api::shown::FeedPageRequest;
use crate::api::urls;
use crate::auth::caller::Caller;
use crate::domain::thing::Itype;
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::layout::{self, enc, feed_href, indicator_href, pager, tags, time, user_href};
use crate::web::visitor::Visitor;

/// GET /: 200, the directory of feeds (`q`, `tag`, `limit`, `cursor` as `GET /api/feeds`).
pub async fn show_directory_page(
    state: web::Data<AppState>,
    caller: Caller,
    query: QueryPairs,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let visitor = Visitor::of(&req, &caller, &state)?;
    let directory = DirectoryRequest::read(&query, caller.user().is_none(), state.clock.now())?;
    let (rows, next) = directory.run(&state, &caller).await?;
    let params = &directory.page.params;
    let q = params.get("q").map(String::as_str).unwrap_or_default();
    let tag = params.get("tag").map(String::as_str).unwrap_or_default();
    let body = html! {
        p { "Public feeds of threat indicators" @if visitor.user.is_some() { ", and your own private ones" } ". Open a feed to browse and download it." }
        form class="filters" method="get" action="/" role="search" {
            label for="dir-q" { "Feed name or description" input id="dir-q" type="search" name="q" value=(q) maxlength="100"; }
            label for="dir-tag" { "Holding the tag" input id="dir-tag" type="text" name="tag" value=(tag) maxlength="64"; }
            button type="submit" { "Filter feeds" }
        }
        @if rows.is_empty() {
            p { "No feed matches." }
        } @else {
            div class="table-wrap" {
                table {
                    caption class="skip" { "Feeds" }
                    thead { tr { th scope="col" { "Feed" } th scope="col" { "Owner" } th scope="col" { "Description" } th scope="col" { "Licence" } th scope="col" { "Indicators" } th scope="col" { "Last update" } } }
                    tbody {
                        @for (f, owner) in &rows {
                            tr {
                                td { a href=(feed_href(owner, &f.name)) { (f.name) } @if f.private { " " span class="tag" { "private" } } }
                                td { a href=(user_href(owner)) { (owner) } }
                                td { (f.description.as_deref().unwrap_or("")) }
                                td { (f.license_name) }
                                td { (f.indicator_count) }
                                td { (time(f.updated_at)) }
                            }
                        }
                    }
                }
            }
        }
        (pager("/", params, next.as_deref()))
    };
    Ok(layout::ok("Feeds", &visitor, body))
}

/// GET /search: 200, the search form, and with `q` (or `asn`/`cc`) the results of the same
/// search as `GET /api/search` (same parameters, rules and cursors); 400, 422 as there.
pub async fn show_search_page(
    state: web::Data<AppState>,
    caller: Caller,
    query: QueryPairs,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let visitor = Visitor::of(&req, &caller, &state)?;
    let asked = ["q", "asn", "cc"]
        .iter()
        .any(|p| query.value(p).is_some_and(|v| !v.trim().is_empty()));
    let q = query.value("q").unwrap_or_default().to_string();
    let form = html! {
        form class="filters" method="get" action="/search" role="search" {
            label for="search-q" { "Address, network, domain, URL, e-mail or hash" input id="search-q" type="search" name="q" value=(q) maxlength="512" required; }
            button type="submit" { "Search" }
        }
    };
    if !asked {
        let body = html! {
            (form)
            p class="muted" { "An address finds the networks that contain it; a network finds what lies inside it; a domain finds its subdomains, URLs and e-mail addresses." }
        };
        return Ok(layout::ok("Search", &visitor, body));
    }
    let search = SearchRequest::read(&query, &caller, state.clock.now())?;
    let params = search.params.clone();
    let max_bytes = state.settings.max_page_bytes;
    let found = state
        .db
        .read(move |c| read_results(c, &search, max_bytes))
        .await?;
    let body = html! {
        (form)
        @if found.views.is_empty() {
            p { "Nothing found" @if found.next.is_some() { " on this page; the next one looks further" } "." }
        } @else {
            (indicator_table(&found.views, true))
        }
        (pager("/search", &params, found.next.as_deref()))
    };
    Ok(layout::ok("Search", &visitor, body))
}

/// GET /u/{user}: 200, the user's feeds (private ones to the user and admins); 404.
pub async fn show_user_page(
    state: web::Data<AppState>,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<crate::api::users::UserPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let visitor = Visitor::of(&req, &caller, &state)?;
    let UserFeeds {
        page,
        owner,
        rows,
        next,
    } = read_user_feeds(&state, &caller, path.into_inner().user, &query).await?;
    let here = user_href(&owner.username);
    let body = html! {
        @if rows.is_empty() {
            p { "No feeds to show." }
        } @else {
            div class="table-wrap" {
                table {
                    caption class="skip" { "Feeds of " (owner.username) }
                    thead { tr { th scope="col" { "Feed" } th scope="col" { "Description" } th scope="col" { "Licence" } th scope="col" { "Indicators" } th scope="col" { "Last update" } } }
                    tbody {
                        @for f in &rows {
                            tr {
                                td { a href=(feed_href(&owner.username, &f.name)) { (f.name) } @if f.private { " " span class="tag" { "private" } } }
                                td { (f.description.as_deref().unwrap_or("")) }
                                td { (f.license_name) }
                                td { (f.indicator_count) }
                                td { (time(f.updated_at)) }
                            }
                        }
                    }
                }
            }
        }
        (pager(&here, &page.params, next.as_deref()))
    };
    Ok(layout::ok(
        &format!("Feeds of {}", owner.username),
        &visitor,
        body,
    ))
}

/// GET /u/{user}/{feed}: 200, the feed, its download links and a page of its indicators
/// (newest first; `itype`, `tags` and the feed page's parameters); 400, 404, 422.
pub async fn show_feed_page(
    state: web::Data<AppState>,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<FeedPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let visitor = Visitor::of(&req, &caller, &state)?;
    let now = state.clock.now();
    let FeedPageRequest {
        page,
        window,
        filters,
    } = FeedPageRequest::read_with(&query, &["itype", "tags"], caller.user().is_none(), now)?;
    let selection = Selection::read(&page.params)?;
    let path = path.into_inner();
    let max_bytes = state.settings.max_page_bytes;
    let feed_page = state
        .db
        .read(move |c| {
            read_feed_page(
                c, &path, &caller, &filters, &selection, window, now, max_bytes,
            )
        })
        .await?;
    let next = feed_page.next_cursor(&page.params);
    let base = urls::base(&req, &state);
    let FeedPage { owner, feed, .. } = &feed_page;
    let here = feed_href(&owner.username, &feed.name);
    let itype = page
        .params
        .get("itype")
        .map(String::as_str)
        .unwrap_or_default();
    let tag_filter = page
        .params
        .get("tags")
        .map(String::as_str)
        .unwrap_or_default();
    let body = html! {
        @if let Some(d) = &feed.description { p { (d) } }
        dl class="facts" {
            dt { "Owner" } dd { a href=(user_href(&owner.username)) { (owner.username) } }
            dt { "Licence" } dd { (feed.license_name) @if let Some(u) = &feed.license_url { " — " code { (u) } } }
            dt { "Indicators" } dd { (feed.indicator_count) }
            dt { "Kind" } dd { (feed.kind) @if feed.private { ", private" } }
            dt { "Last update" } dd { (time(feed.updated_at)) }
        }
        h2 { "Download" }
        (downloads(&base, &owner.username, &feed.name))
        h2 { "Indicators" }
        form class="filters" method="get" action=(here) {
            label for="f-itype" { "Type"
                select id="f-itype" name="itype" {
                    option value="" selected[itype.is_empty()] { "any" }
                    @for t in Itype::ALL {
                        option value=(t.as_str()) selected[itype == t.as_str()] { (t.as_str()) }
                    }
                }
            }
            label for="f-tags" { "Any of the tags (comma list)" input id="f-tags" type="text" name="tags" value=(tag_filter) maxlength="256"; }
            button type="submit" { "Filter" }
        }
        @if feed_page.views.is_empty() {
            p { "No indicators to show" @if next.is_some() { " on this page; the next one looks further" } "." }
        } @else {
            (indicator_table(&feed_page.views, false))
        }
        (pager(&here, &page.params, next.as_deref()))
    };
    Ok(layout::ok(
        &format!("{}/{}", owner.username, feed.name),
        &visitor,
        body,
    ))
}

/// The export formats in the order the page lists them.
fn formats() -> Vec<&'static str> {
    let mut names = vec!["csv", "json"];
    names.extend(crate::export::Format::ALL.map(crate::export::Format::name));
    names
}

/// A download link per export format, and the URL a tool fetches it from (with a token for a
/// private feed) to copy.
fn downloads(base: &str, owner: &str, feed: &str) -> Markup {
    html! {
        ul class="downloads" {
            @for f in formats() {
                @let id = format!("url-{f}");
                li {
                    a class="fmt" href=(format!("{}.{f}", feed_href(owner, feed))) download { "." (f) }
                    label class="skip" for=(id) { "URL of the ." (f) " export" }
                    input id=(id) type="text" readonly value=(format!("{base}/api/users/{}/feeds/{}.{f}", enc(owner), enc(feed)));
                    button type="button" data-copy=(id) hidden { "Copy" }
                }
            }
        }
    }
}

/// A table of indicators; `with_feed` adds the feed column (search results).
fn indicator_table(views: &[IndicatorView], with_feed: bool) -> Markup {
    html! {
        div class="table-wrap" {
            table {
                caption class="skip" { "Indicators" }
                thead { tr {
                    th scope="col" { "Indicator" } th scope="col" { "Type" } th scope="col" { "Tags" }
                    @if with_feed { th scope="col" { "Feed" } }
                    th scope="col" { "Last seen" } th scope="col" { "Count" } th scope="col" { "TLP" }
                } }
                tbody {
                    @for v in views {
                        tr {
                            // The value is text, never a live link: it may be a hostile URL.
                            td { a href=(indicator_href(&v.owner, &v.feed, v.row.id)) class="value" { (v.row.value) } }
                            td { (v.row.itype) }
                            td { (tags(&v.row.tags)) }
                            @if with_feed { td { a href=(feed_href(&v.owner, &v.feed)) { (v.owner) "/" (v.feed) } } }
                            td { (layout::time_or_dash(v.row.lasttime)) }
                            td { (v.row.count) }
                            td { (v.tlp.as_str()) }
                        }
                    }
                }
            }
        }
    }
}

/// GET /u/{user}/{feed}/{id}: 200, one indicator with its comments and attachments; 404.
pub async fn show_indicator_page(
    state: web::Data<AppState>,
    caller: Caller,
    _: NoParams,
    path: web::Path<IndicatorPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let visitor = Visitor::of(&req, &caller, &state)?;
    let (path, id) = path.into_inner().split()?;
    let (view, extras) = state
        .db
        .read(move |c| read_indicator(c, &path, id, &caller))
        .await?;
    let r = &view.row;
    let comments = extras.comments.get(&id).map_or(&[][..], Vec::as_slice);
    let files = extras.attachments.get(&id).map_or(&[][..], Vec::as_slice);
    let here = indicator_href(&view.owner, &view.feed, r.id);
    let body = html! {
        p class="value" { (r.value) }
        dl class="facts" {
            dt { "Type" } dd { (r.itype) }
            dt { "Feed" } dd { a href=(feed_href(&view.owner, &view.feed)) { (view.owner) "/" (view.feed) } }
            dt { "Tags" } dd { (tags(&r.tags)) }
            @if let Some(p) = &r.portlist { dt { "Ports" } dd { (p) } }
            @if let Some(p) = &r.portlist_src { dt { "Source ports" } dd { (p) } }
            @if let Some(p) = r.protocol { dt { "Protocol" } dd { (protocol_name(p).map_or_else(|| p.to_string(), str::to_string)) } }
            dt { "First seen" } dd { (layout::time_or_dash(r.firsttime)) }
            dt { "Last seen" } dd { (layout::time_or_dash(r.lasttime)) }
            dt { "Count" } dd { (r.count) }
            @if let Some(c) = r.confidence { dt { "Confidence" } dd { (c) " of 10" } }
            dt { "TLP" } dd { (view.tlp.as_str()) }
            dt { "Expires" } dd { (r.expires_at.map_or_else(|| "never".to_string(), time)) }
            @if let Some(d) = &r.description { dt { "Description" } dd { (d) } }
            @if let Some(p) = &r.provider { dt { "Provider" } dd { (p) } }
            @if let Some(a) = r.asn { dt { "AS" } dd { (a) @if let Some(d) = &r.asn_desc { " — " (d) } } }
            @if let Some(cc) = &r.cc { dt { "Country" } dd { (cc) } }
            dt { "Licence" } dd { (view.license_name) }
            dt { "Created" } dd { (time(r.created_at)) }
            dt { "Updated" } dd { (time(r.updated_at)) }
        }
        h2 { "Comments" }
        @if comments.is_empty() { p { "No comments." } }
        @for c in comments {
            p class="muted" { (c.user) ", " (time(c.created_at)) }
            blockquote { (c.text) }
        }
        h2 { "Attachments" }
        @if files.is_empty() { p { "No attachments." } } @else {
            ul {
                @for a in files {
                    li {
                        a href=(format!("{here}/attachments/{}", a.id)) download { (a.filename) }
                        " " span class="muted" { (a.content_type) ", " (a.filesize) " bytes, SHA-256 " code { (a.sha256) } }
                    }
                }
            }
        }
    };
    Ok(layout::ok(&format!("Indicator {}", r.id), &visitor, body))
}

/// GET /u/{user}/{feed}.{format}: the export `GET /api/users/{user}/feeds/{feed}.{format}`
/// gives, with the signed-in visitor's session standing for a token; 400, 404.
pub async fn download_feed(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<FeedFormatPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    export::export_feed_as(state, version, caller, query, path, req).await
}

/// GET /u/{user}/{feed}/{id}/attachments/{aid}: the attachment's bytes, as the API gives
/// them (sandboxed by its own policy); 404.
pub async fn download_attachment(
    state: web::Data<AppState>,
    caller: Caller,
    no: NoParams,
    path: web::Path<AttachmentPath>,
) -> Result<HttpResponse, ApiError> {
    // Its own policy (a sandbox) is stricter than the pages': the guard keeps it.
    attachments::show_attachment(state, caller, no, path).await
}

/// GET /static/feedgate.css: the stylesheet.
pub async fn show_stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", layout::STYLESHEET)
}

/// GET /static/copy.js: the copy buttons' script.
pub async fn show_script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", layout::SCRIPT)
}

fn asset(content_type: &'static str, text: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(text)
}
