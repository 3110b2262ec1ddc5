//! The web pages for people who consume feeds (issue 22): server-rendered HTML (maud
//! templates compiled into the binary), one stylesheet and one small script served from
//! here, read-only. A sibling of `api`, on the same layer: it reads through the API's reading
//! code (`api::directory`, `api::search`, `api::feeds`, `api::indicator_views`, `api::shown`,
//! `api::selection`) and never the other way round. Requests pass the same admission
//! middleware (anonymous limits, or the signed-in user's); a sign-in session
//! (`auth::session`) stands for a token on these pages only. `ROUTES` joins the API's in the
//! contract test against `openapi/openapi.yaml`.

pub mod guard;
pub mod layout;
pub mod pages;
pub mod session;
pub mod visitor;

use actix_web::web;

macro_rules! pages {
    ($( $path:literal => [ $( $method:ident => $module:ident :: $handler:ident ),+ $(,)? ] ),* $(,)?) => {
        /// Every page route as `(method, path template, operation id)`.
        pub const ROUTES: &[(&str, &str, &str)] = &[
            $( $( (stringify!($method), $path, stringify!($handler)) ),+ ),*
        ];

        /// Registers every page route; other methods are a 405 (an HTML page, `guard`).
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(
                {
                    const METHODS: &[&str] = &[$( stringify!($method) ),+];
                    let mut res = web::resource($path)
                        // A form is a few hundred bytes; nothing larger is read.
                        .app_data(web::PayloadConfig::new(4096))
                        .default_service(web::to(|| async { guard::method_not_allowed(METHODS) }));
                    $(
                        res = res.route(web::method(actix_web::http::Method::$method).to($module::$handler));
                        // HEAD answers like GET, without the body (the HTTP layer drops it).
                        if stringify!($method) == "GET" {
                            res = res.route(web::method(actix_web::http::Method::HEAD).to($module::$handler));
                        }
                    )+
                    cfg.service(res);
                }
            )*
        }
    };
}

pages! {
    "/" => [GET => pages::show_directory_page],
    "/search" => [GET => pages::show_search_page],
    "/signin" => [GET => session::show_signin_page, POST => session::sign_in],
    "/signout" => [POST => session::sign_out],
    "/static/feedgate.css" => [GET => pages::show_stylesheet],
    "/static/copy.js" => [GET => pages::show_script],
    "/u/{user}" => [GET => pages::show_user_page],
    // Downloads first: `{feed}` alone would also match `name.csv` (feed names never end so).
    "/u/{user}/{feed}.{format}" => [GET => pages::download_feed],
    "/u/{user}/{feed}" => [GET => pages::show_feed_page],
    "/u/{user}/{feed}/{id}" => [GET => pages::show_indicator_page],
    "/u/{user}/{feed}/{id}/attachments/{aid}" => [GET => pages::download_attachment],
}
