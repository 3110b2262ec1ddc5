//! The HTTP API. `routes!` below is the whole route table: it registers every handler and also
//! emits [`ROUTES`], which the contract test compares with `openapi/openapi.yaml`.
//! Handlers are thin: extract, authorise, one database call, render.

pub mod admin;
pub mod attachments;
pub mod body;
pub mod bulk;
pub mod changes;
pub mod comments;
pub mod directory;
pub mod dto;
pub mod exclusions;
pub mod export;
pub mod feed_path;
pub mod feeds;
pub mod health;
pub mod import_history;
pub mod imports;
pub mod indicator_views;
pub mod indicator_write;
pub mod indicators;
pub mod paging;
pub mod query;
pub mod read_by_post;
pub mod render;
pub mod representation;
pub mod root;
pub mod search;
pub mod selection;
pub mod shown;
pub mod stream;
pub mod taxii;
pub mod tokens;
pub mod urls;
pub mod users;
pub mod whitelists;

use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, web};

use crate::error::ApiError;

/// Starts one resource: a JSON 405 with `Allow` for methods it has no route for.
fn resource(path: &str, methods: &'static [&'static str]) -> actix_web::Resource {
    let allow: Vec<&'static str> = allowed(methods);
    let not_allowed = move || {
        let allow = allow.clone();
        async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed(allow)) }
    };
    web::resource(path).default_service(web::to(not_allowed))
}

/// The `Allow` list: the registered methods, plus HEAD and POST where GET is registered.
fn allowed(methods: &[&'static str]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = methods.to_vec();
    if methods.contains(&"GET") {
        out.push("HEAD");
        if !out.contains(&"POST") {
            out.push("POST");
        }
    }
    if out.contains(&"PATCH") {
        out.push("PUT");
    }
    out
}

fn method_route(method: &str) -> actix_web::Route {
    match method {
        "GET" => web::get(),
        "POST" => web::post(),
        "PATCH" => web::patch(),
        "PUT" => web::put(),
        "DELETE" => web::delete(),
        _ => web::route(),
    }
}

macro_rules! routes {
    ($( $path:literal => [ $( $method:ident => $module:ident :: $handler:ident ),+ $(,)? ] ),* $(,)?) => {
        /// Every registered route as `(method, path template, operation id)`.
        pub const ROUTES: &[(&str, &str, &str)] = &[
            $( $( (stringify!($method), $path, stringify!($handler)) ),+ ),*
        ];

        /// Registers every route of the table.
        pub fn configure(cfg: &mut web::ServiceConfig, body_limit: usize) {
            $(
                {
                    const METHODS: &[&str] = &[$( stringify!($method) ),+];
                    let mut res = resource($path, METHODS);
                    $(
                        res = res.route(method_route(stringify!($method)).to($module::$handler));
                        if stringify!($method) == "PATCH" {
                            res = res.route(method_route("PUT").to($module::$handler));
                        }
                    )+
                    // HEAD and read-by-POST for resources with a GET (spec §1.3.2-3).
                    let has_get = METHODS.contains(&"GET");
                    cfg.service(res.wrap(from_fn(move |req, next| {
                        read_by_post::read_by_post(req, next, body_limit, has_get)
                    })));
                }
            )*
        }
    };
}

routes! {
    "/api" => [GET => root::show_root],
    "/api/health" => [GET => health::show_health],
    "/api/search" => [GET => search::search_indicators],
    "/api/feeds" => [GET => directory::list_directory_feeds],
    "/api/users/{user}" => [GET => users::show_user],
    "/api/users/{user}/tokens" => [GET => tokens::list_tokens, POST => tokens::create_token],
    "/api/users/{user}/tokens/{tid}" => [DELETE => tokens::revoke_token],
    "/api/users/{user}/feeds" => [GET => feeds::list_feeds, POST => feeds::create_feed],
    // Exports first: `{feed}` alone would also match `name.csv` (feed names never end so).
    "/api/users/{user}/feeds/{feed}.csv" => [GET => export::export_feed_csv],
    "/api/users/{user}/feeds/{feed}.json" => [GET => export::export_feed_json],
    "/api/users/{user}/feeds/{feed}.{format}" => [GET => export::export_feed_as],
    "/api/users/{user}/feeds/{feed}" => [GET => feeds::show_feed, PATCH => feeds::update_feed, DELETE => feeds::delete_feed],
    "/api/users/{user}/feeds/{feed}/indicators" => [GET => indicators::list_indicators, POST => indicators::create_indicator],
    "/api/users/{user}/feeds/{feed}/indicators/{id}" => [GET => indicators::show_indicator, PATCH => indicators::update_indicator, DELETE => indicators::delete_indicator],
    "/api/users/{user}/feeds/{feed}/changes" => [GET => changes::list_changes],
    "/api/users/{user}/feeds/{feed}/stream" => [GET => stream::stream_changes],
    "/api/users/{user}/feeds/{feed}/exclusions" => [GET => exclusions::list_exclusions],
    "/api/users/{user}/feeds/{feed}/indicators_bulk" => [POST => bulk::create_indicators_bulk],
    "/api/users/{user}/feeds/{feed}/imports" => [GET => import_history::list_feed_imports],
    "/api/users/{user}/feeds/{feed}/imports/shadowserver" => [POST => imports::import_shadowserver],
    "/api/users/{user}/feeds/{feed}/indicators/{id}/comments" => [GET => comments::list_comments, POST => comments::create_comment],
    "/api/users/{user}/feeds/{feed}/indicators/{id}/attachments/{aid}" => [GET => attachments::show_attachment],
    "/api/admin/users" => [GET => admin::list_admin_users, POST => admin::create_admin_user],
    "/api/admin/users/{user}" => [GET => admin::show_admin_user, PATCH => admin::update_admin_user, DELETE => admin::delete_admin_user],
    "/api/admin/users/{user}/tokens" => [GET => admin::list_admin_user_tokens, POST => admin::create_admin_user_token],
    "/api/admin/users/{user}/tokens/{tid}" => [DELETE => admin::revoke_admin_user_token],
    "/api/admin/users/{user}/usage" => [GET => admin::show_admin_user_usage],
    "/api/admin/purge" => [POST => admin::run_admin_purge],
    "/api/admin/shadowserver/schedules" => [GET => admin::list_shadowserver_schedules, POST => admin::create_shadowserver_schedule],
    "/api/admin/shadowserver/schedules/{id}" => [GET => admin::show_shadowserver_schedule, PATCH => admin::update_shadowserver_schedule, DELETE => admin::delete_shadowserver_schedule],
    "/api/admin/shadowserver/schedules/{id}/run" => [POST => admin::run_shadowserver_schedule],
    "/api/admin/shadowserver/runs" => [GET => admin::list_shadowserver_runs],
    "/metrics" => [GET => health::show_metrics],
    // TAXII 2.1 (read-only). The server trims a trailing slash before routing, so TAXII's
    // `/taxii2/` reaches `/taxii2`.
    "/taxii2" => [GET => taxii::show_taxii_discovery],
    "/taxii2/feeds" => [GET => taxii::show_taxii_api_root],
    "/taxii2/feeds/collections" => [GET => taxii::list_taxii_collections],
    "/taxii2/feeds/collections/{collection}" => [GET => taxii::show_taxii_collection],
    "/taxii2/feeds/collections/{collection}/objects" => [GET => taxii::list_taxii_objects],
    "/taxii2/feeds/collections/{collection}/objects/{object}" => [GET => taxii::show_taxii_object],
    "/taxii2/feeds/collections/{collection}/objects/{object}/versions" => [GET => taxii::list_taxii_object_versions],
    "/taxii2/feeds/collections/{collection}/manifest" => [GET => taxii::list_taxii_manifest],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_include_the_implicit_methods() {
        assert_eq!(allowed(&["GET"]), ["GET", "HEAD", "POST"]);
        assert_eq!(allowed(&["GET", "POST"]), ["GET", "POST", "HEAD"]);
        assert_eq!(allowed(&["DELETE"]), ["DELETE"]);
        assert_eq!(
            allowed(&["GET", "PATCH", "DELETE"]),
            ["GET", "PATCH", "DELETE", "HEAD", "POST", "PUT"]
        );
    }

    #[test]
    fn the_route_table_has_unique_operation_ids() {
        let mut ids: Vec<&str> = ROUTES.iter().map(|r| r.2).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
