//! TAXII 2.1, read-only (issue 20): discovery at `/taxii2/`, one API root `/taxii2/feeds/`
//! whose collections are the feeds the caller may read (public feeds, the caller's own private
//! ones, every feed for an admin; whitelist feeds are not collections), and each collection's
//! objects (the STIX 2.1 indicators of the STIX export, `export::stix`), manifest and single
//! objects. Paths are registered without their trailing slash: the server trims it before
//! routing, so both forms reach the same handler.
//!
//! Every answer is `application/taxii+json;version=2.1` (`media`); errors become TAXII error
//! messages (`errors`). Credentials are the API's: a token as `Bearer`, `Token`, or the
//! password of HTTP Basic (`auth::header`). A collection the caller may not read answers
//! exactly like a missing one (404).

mod errors;
pub mod media;
mod page;
pub mod query;

pub use errors::taxii_errors;

use actix_web::FromRequest;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::api::query::QueryPairs;
use crate::api::urls;
use crate::auth::access;
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::export::stix;
use crate::models::feed::{self, FeedRow};
use crate::state::AppState;
use page::Listing;
use query::ObjectsQuery;

/// The path of the one API root, after the server's base URL.
pub const API_ROOT: &str = "/taxii2/feeds/";

/// At most this many collections are listed (TAXII has no paging of collections): the feeds
/// with the lowest ids the caller may read. A feed past it is still served by its id.
pub const MAX_COLLECTIONS: i64 = 1000;

/// A TAXII answer: 200 with `body` as [`media::TAXII`].
fn taxii_json(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(media::TAXII)
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// GET /taxii2/: 200 with the discovery resource naming the API root; 406.
pub async fn show_taxii_discovery(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    media::negotiate(&req)?;
    let root = format!("{}{API_ROOT}", urls::base(&req, &state));
    Ok(taxii_json(
        json!({
            "title": "feedgate",
            "description": "Threat intelligence feeds of this feedgate server as TAXII 2.1 collections (read-only).",
            "default": root,
            "api_roots": [root],
        })
        .to_string(),
    ))
}

/// GET /taxii2/feeds/: 200 with the API root's information; 406.
pub async fn show_taxii_api_root(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    media::negotiate(&req)?;
    Ok(taxii_json(
        json!({
            "title": "feedgate feeds",
            "description": "One collection per feed the caller may read: public feeds, the caller's own private ones.",
            "versions": [media::TAXII],
            "max_content_length": state.settings.max_body_bytes,
        })
        .to_string(),
    ))
}

/// One collection resource.
fn collection(feed: &FeedRow, owner: &str) -> Value {
    let mut out = json!({
        "id": stix::collection_id(feed.id),
        "title": format!("{owner}/{}", feed.name),
        "can_read": true,
        "can_write": false,
        "media_types": [media::STIX],
    });
    if let Some(description) = feed.description.as_deref().filter(|d| !d.is_empty()) {
        out["description"] = json!(description);
    }
    out
}

/// GET /taxii2/feeds/collections/: 200 with the collections the caller may read (at most
/// [`MAX_COLLECTIONS`], by feed id); 406.
pub async fn list_taxii_collections(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    media::negotiate(&req)?;
    let viewer = access::viewer(&caller);
    let rows = state
        .db
        .read(move |c| Ok::<_, ApiError>(feed::list_readable(c, viewer, None, MAX_COLLECTIONS)?))
        .await?;
    let list: Vec<Value> = rows.iter().map(|(f, owner)| collection(f, owner)).collect();
    let body = if list.is_empty() {
        json!({})
    } else {
        json!({ "collections": list })
    };
    Ok(taxii_json(body.to_string()))
}

/// GET /taxii2/feeds/collections/{collection}/: 200 with the collection; 404 when the caller
/// may not read it; 406.
pub async fn show_taxii_collection(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    media::negotiate(&req)?;
    let viewer = access::viewer(&caller);
    let id = path.into_inner();
    let (feed, owner) = state
        .db
        .read(move |c| page::readable_feed(c, &id, viewer))
        .await?;
    Ok(taxii_json(collection(&feed, &owner).to_string()))
}

/// What every objects, manifest and versions request brings: the state, the caller, the
/// query and the request (for `Accept`).
pub struct PageRequest {
    state: web::Data<AppState>,
    caller: Caller,
    query: QueryPairs,
    req: HttpRequest,
}

impl FromRequest for PageRequest {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let mut read = || {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
            Ok(PageRequest {
                state,
                caller: Caller::from_request(req, payload).into_inner()?,
                query: QueryPairs::parse(req.query_string())?,
                req: req.clone(),
            })
        };
        std::future::ready(read())
    }
}

impl PageRequest {
    /// Reads one page of `collection` (or its one `object`) and answers it as `listing`.
    async fn answer(
        self,
        collection: String,
        object: Option<String>,
        listing: Listing,
    ) -> Result<HttpResponse, ApiError> {
        let PageRequest {
            state,
            caller,
            query,
            req,
        } = self;
        media::negotiate(&req)?;
        let mut q = ObjectsQuery::read(&query, caller.user().is_none())?;
        let single = object.is_some();
        if let Some(object) = object {
            // One object: its id alone, whatever the request's `match[id]`.
            let key = stix::indicator_key(&object).ok_or(ApiError::NotFound)?;
            q.ids = Some((vec![object], vec![key]));
        }
        let viewer = access::viewer(&caller);
        let (now, max_bytes) = (state.clock.now(), state.settings.max_page_bytes);
        let asked = q.clone();
        let page = state
            .db
            .read(move |c| page::read(c, &collection, viewer, &asked, listing, now, max_bytes))
            .await?;
        if single && page.count == 0 && page.next.is_none() {
            return Err(ApiError::NotFound);
        }
        Ok(envelope(&page, &q, listing))
    }
}

/// The envelope (or versions list) of a page, with its `X-TAXII-Date-Added-*` headers.
fn envelope(page: &page::Page, q: &ObjectsQuery, listing: Listing) -> HttpResponse {
    let member = match listing {
        Listing::Objects | Listing::Manifest => "objects",
        Listing::Versions => "versions",
    };
    let mut body = format!("{{\"more\":{}", page.next.is_some());
    if let Some(key) = page.next {
        body.push_str(&format!(",\"next\":{}", json!(q.next_after(key))));
    }
    if page.count > 0 {
        body.push_str(&format!(",\"{member}\":[{}]", page.items));
    }
    body.push('}');
    let mut res = taxii_json(body);
    if let (Some(first), Some(last)) = (page.first, page.last) {
        for (name, at) in [
            ("x-taxii-date-added-first", first),
            ("x-taxii-date-added-last", last),
        ] {
            if let Ok(v) = HeaderValue::from_str(&page::date_added(at)) {
                res.headers_mut().insert(HeaderName::from_static(name), v);
            }
        }
    }
    res
}

/// GET /taxii2/feeds/collections/{collection}/objects/: 200 with an envelope of the
/// collection's indicators oldest first by `date_added`, `more` and `next` when another page
/// follows, and the `X-TAXII-Date-Added-First`/`-Last` headers; 400 (`invalid_parameter`,
/// `unknown_parameter`, `invalid_cursor`); 404; 406.
pub async fn list_taxii_objects(
    read: PageRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    read.answer(path.into_inner(), None, Listing::Objects).await
}

/// GET /taxii2/feeds/collections/{collection}/manifest/: 200 with the manifest entries of the
/// objects `list_taxii_objects` would answer (id, date_added, version, media_type); 400; 404;
/// 406.
pub async fn list_taxii_manifest(
    read: PageRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    read.answer(path.into_inner(), None, Listing::Manifest)
        .await
}

/// GET /taxii2/feeds/collections/{collection}/objects/{object}/: 200 with an envelope of the
/// object's current version; 400; 404 when the collection or the object is not readable or
/// does not match the filters; 406.
pub async fn show_taxii_object(
    read: PageRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (collection, object) = path.into_inner();
    read.answer(collection, Some(object), Listing::Objects)
        .await
}

/// GET /taxii2/feeds/collections/{collection}/objects/{object}/versions/: 200 with the
/// object's one version (feedgate keeps the current one only); 400; 404; 406.
pub async fn list_taxii_object_versions(
    read: PageRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (collection, object) = path.into_inner();
    read.answer(collection, Some(object), Listing::Versions)
        .await
}
