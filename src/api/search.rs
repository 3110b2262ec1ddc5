//! `GET /api/search` (spec §6.7, §8): every public feed plus the caller's own private feeds
//! (admins: all), matched by the kind of `q` (without `q`: by the filters alone), filtered, newest
//! first, paged by cursor. No match is `[]` with 200.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;

use crate::api::indicator_views::{LoadedExtras, load_extras, render_shown};
use crate::api::paging::{self, Cursor};
use crate::api::query::QueryPairs;
use crate::api::render::IndicatorView;
use crate::api::representation::{self, ApiVersion};
use crate::api::shown::{self, RowFilters};
use crate::api::urls;
use crate::auth::access::viewer;
use crate::auth::caller::Caller;
use crate::db::DbConnection;
use crate::domain::portlist::Portlist;
use crate::domain::protocol::Protocol;
use crate::domain::tags::Tags;
use crate::domain::thing::{Itype, Thing};
use crate::error::ApiError;
use crate::models::search::{self, Filters, Match};
use crate::state::AppState;

/// A search as its query asks for it: the checked parameters, the page size, the matching
/// rule of `q` (or of `asn`/`cc`) and the filters. The API's search and the web page's read it
/// alike, so they find the same rows and page with the same cursors.
pub struct SearchRequest {
    pub params: BTreeMap<&'static str, String>,
    pub limit: i64,
    pub rule: Match,
    pub filters: Filters,
}

/// The parameters a search takes.
pub fn allowed_params() -> Vec<&'static str> {
    shown::allowed(&[
        "q", "limit", "cursor", "itype", "tags", "port", "protocol", "lasttime", "user", "feed",
    ])
}

/// The filters of which one lets a search go without `q`.
pub const WITHOUT_Q: [&str; 10] = [
    "asn", "cc", "provider", "itype", "tags", "port", "protocol", "lasttime", "user", "feed",
];

impl SearchRequest {
    /// Reads a search: 400 (`missing_parameter`, `invalid_parameter`, `unknown_parameter`,
    /// `invalid_cursor`), 422 (`invalid_query`, `cidr_too_broad`, a row filter's).
    pub fn read(query: &QueryPairs, caller: &Caller, now: NaiveDateTime) -> Result<Self, ApiError> {
        let params = query.only(&allowed_params())?;
        let limit = paging::limit(
            params.get("limit"),
            paging::SEARCH_PAGES,
            caller.user().is_none(),
        )?;
        // `q` comes first (its 400 and 422 before any other parameter's); without it a search
        // needs one of the filters: `asn` or `cc`, whose indexes drive it, or another, checked
        // on the newest rows under the scan budget.
        let q = params
            .get("q")
            .map(|raw_q| {
                Thing::parse(raw_q).map_err(|e| match e.code {
                    "cidr_too_broad" => ApiError::CidrTooBroad(e.message),
                    _ => ApiError::InvalidQuery(format!("q: {}", e.message)),
                })
            })
            .transpose()?;
        if q.is_none() && !WITHOUT_Q.iter().any(|name| params.contains_key(name)) {
            return Err(ApiError::MissingParameter("q".into()));
        }
        let mut filters = Filters {
            viewer: viewer(caller),
            ..Default::default()
        };
        if let Some(list) = params.get("itype") {
            for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let itype = Itype::parse_name(name).ok_or_else(|| ApiError::InvalidParameter {
                    parameter: "itype".into(),
                    message: format!("unknown itype {name:?}"),
                })?;
                filters.itypes.push(itype.as_str().to_string());
            }
        }
        if let Some(list) = params.get("tags") {
            let tags = Tags::parse(list).map_err(|e| ApiError::InvalidParameter {
                parameter: "tags".into(),
                message: format!("tags: {}", e.message),
            })?;
            filters.tags = tags.into_vec();
        }
        if let Some(raw) = params.get("port") {
            let list = Portlist::parse(raw)
                .map_err(|e| paging::invalid("port", format!("port: {}", e.message)))?;
            if list.as_str().contains(',') {
                return Err(paging::invalid(
                    "port",
                    "port must name one port or one range",
                ));
            }
            filters.port = Some(list.as_str().to_owned());
        }
        if let Some(raw) = params.get("protocol") {
            let protocol = Protocol::parse_str(raw)
                .map_err(|e| paging::invalid("protocol", format!("protocol: {}", e.message)))?;
            filters.protocol = Some(protocol.number());
        }
        filters.user = params.get("user").map(|u| u.to_lowercase());
        filters.feed = params.get("feed").map(|f| f.to_lowercase());
        filters.since = paging::lasttime(params.get("lasttime"), now)?;
        // The viewer's TLP rule is the statement's, per feed owner; `tlp` narrows what it shows.
        filters.shown = RowFilters::read(&params)?.shown(now, true);
        filters.after = Cursor::decode(&params)?
            .map(|k| Cursor::time_id(&k))
            .transpose()?;
        let rule = match &q {
            Some(q) => Match::of(q),
            None => {
                // Without `q` one value drives the search (`asn`, else `cc`), so its index
                // gives the time order; a list would be read whole and sorted before the page.
                // The other filters, lists included, apply to the rows it reads.
                let (name, n) = if filters.shown.asns.is_empty() {
                    ("cc", filters.shown.ccs.len())
                } else {
                    ("asn", filters.shown.asns.len())
                };
                if n > 1 {
                    return Err(ApiError::invalid(
                        name,
                        "one_value_without_q",
                        format!("without q, give one {name} (a list needs q)"),
                    ));
                }
                Match::without_query(&filters.shown)
            }
        };
        Ok(SearchRequest {
            params,
            limit,
            rule,
            filters,
        })
    }
}

/// One page of a search: the hits as views with their comments and attachments, and the
/// cursor of the next page when another follows.
pub struct SearchResults {
    pub views: Vec<IndicatorView>,
    pub extras: LoadedExtras,
    pub next: Option<String>,
}

/// Reads one page of `search` (at most `max_bytes` of indicator text).
pub fn read_results(
    c: &mut DbConnection,
    search: &SearchRequest,
    max_bytes: usize,
) -> Result<SearchResults, ApiError> {
    let page = search::search(c, &search.rule, &search.filters, search.limit, max_bytes)?;
    let mut views: Vec<IndicatorView> = page
        .hits
        .into_iter()
        .map(|(row, feed, owner)| IndicatorView::of_hit(row, feed, owner))
        .collect();
    let extras = load_extras(c, &mut views, true)?;
    // A page that ended at the scan budget resumes after what it looked at.
    let next = match page.resume {
        Some((t, id)) => Some(Cursor::time_id_key(t, id)),
        None => page
            .more
            .then(|| {
                views
                    .last()
                    .map(|v| Cursor::time_id_key(v.row.effective_at, v.row.id))
            })
            .flatten(),
    }
    .map(|key| Cursor::encode(&key, &search.params));
    Ok(SearchResults {
        views,
        extras,
        next,
    })
}

/// GET /api/search: 200 with matching indicators (without `q`: the newest that the filters
/// given keep); 400 (`missing_parameter`,
/// `invalid_parameter`, `unknown_parameter`, `invalid_cursor`), 422 (`invalid_query`,
/// `cidr_too_broad`).
pub async fn search_indicators(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    query: QueryPairs,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let search = SearchRequest::read(&query, &caller, state.clock.now())?;
    let (params, limit) = (search.params.clone(), search.limit);
    let base = urls::base(&req, &state);
    let body_base = base.clone();
    let max_bytes = state.settings.max_page_bytes;
    let (body, next) = state
        .db
        .read(move |c| {
            let found = read_results(c, &search, max_bytes)?;
            let shown = found.views.len() as i64;
            let (list, _) = render_shown(
                &found.views,
                &found.extras,
                version,
                &body_base,
                (shown, false),
                &search.params,
            );
            Ok::<_, ApiError>((representation::encode(&list)?, found.next))
        })
        .await?;
    Ok(paging::with_next_link(
        version.ok_encoded(body),
        &base,
        req.path(),
        &params,
        limit,
        next,
    ))
}
