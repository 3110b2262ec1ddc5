//! `GET /api/search` (spec §6.7, §8): every public feed plus the caller's own private feeds
//! (admins: all), matched by the kind of `q` (without `q`: by the filters alone), filtered, newest
//! first, paged by cursor. No match is `[]` with 200.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::api::indicator_views::{LoadedExtras, load_extras, render_shown};
use crate::api::paging::{self, Cursor};
use crate::api::query::QueryPairs;
use crate::api::render::IndicatorView;
use crate::api::representation::{self, ApiVersion};
use crate::api::shown::{self, RowFilters};
use crate::api::urls;
use crate::auth::access::viewer;
use crate::auth::caller::Caller;
use crate::domain::portlist::Portlist;
use crate::domain::protocol::Protocol;
use crate::domain::tags::Tags;
use crate::domain::thing::{Itype, Thing};
use crate::error::ApiError;
use crate::models::search::{self, Filters, Match};
use crate::state::AppState;

/// The filters of which one lets a search go without `q`.
pub const WITHOUT_Q: [&str; 10] = [
    "asn", "cc", "provider", "itype", "tags", "port", "protocol", "lasttime", "user", "feed",
];

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
    let params = query.only(&shown::allowed(&[
        "q", "limit", "cursor", "itype", "tags", "port", "protocol", "lasttime", "user", "feed",
    ]))?;
    let limit = paging::limit(
        params.get("limit"),
        paging::SEARCH_PAGES,
        caller.user().is_none(),
    )?;
    // `q` comes first (its 400 and 422 before any other parameter's); without it a search
    // needs one of the filters: `asn` or `cc`, whose indexes drive it, or another, checked on
    // the newest rows under the scan budget.
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
        viewer: viewer(&caller),
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
    filters.since = paging::lasttime(params.get("lasttime"), state.clock.now())?;
    // The viewer's TLP rule is the statement's, per feed owner; `tlp` narrows what it shows.
    filters.shown = RowFilters::read(&params)?.shown(state.clock.now(), true);
    filters.after = Cursor::decode(&params)?
        .map(|k| Cursor::time_id(&k))
        .transpose()?;
    let rule = match &q {
        Some(q) => Match::of(q),
        None => {
            // Without `q` one value drives the search (`asn`, else `cc`), so its index gives
            // the time order; a list would be read whole and sorted before the page. The
            // other filters, lists included, apply to the rows it reads.
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
    let base = urls::base(&req, &state);
    let (body_base, body_params) = (base.clone(), params.clone());
    let max_bytes = state.settings.max_page_bytes;
    let (body, next) = state
        .db
        .read(move |c| {
            let page = search::search(c, &rule, &filters, limit, max_bytes)?;
            let more = page.more;
            let mut views: Vec<IndicatorView> = page
                .hits
                .into_iter()
                .map(|(row, feed, owner)| IndicatorView::of_hit(row, feed, owner))
                .collect();
            let extras: LoadedExtras = load_extras(c, &mut views, true)?;
            let (list, next) = render_shown(
                &views,
                &extras,
                version,
                &body_base,
                (limit, more),
                &body_params,
            );
            // A page that ended at the scan budget resumes after what it looked at.
            let next = match page.resume {
                Some((t, id)) => Some(Cursor::encode(&Cursor::time_id_key(t, id), &body_params)),
                None => next,
            };
            Ok::<_, ApiError>((representation::encode(&list)?, next))
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
