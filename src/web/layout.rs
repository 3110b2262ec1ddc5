//! The frame every page shares (head, the site header with the search box and the sign-in
//! state, the footer), the stylesheet and script it loads, and small pieces the pages repeat:
//! times, tags, the pager, links built from path segments. maud escapes every value put into
//! the markup; nothing here writes raw HTML from data.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use chrono::NaiveDateTime;
use maud::{DOCTYPE, Markup, html};

use crate::web::visitor::Visitor;

/// The stylesheet, compiled into the binary.
pub const STYLESHEET: &str = include_str!("static/feedgate.css");
/// The copy buttons' script, compiled into the binary.
pub const SCRIPT: &str = include_str!("static/copy.js");

/// A whole page: `title` (also the `h1`), the visitor's header, `body`.
pub fn page(title: &str, visitor: Option<&Visitor>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · feedgate" }
                link rel="stylesheet" href="/static/feedgate.css";
                script src="/static/copy.js" defer {}
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="site" {
                    a class="brand" href="/" { "feedgate" }
                    form method="get" action="/search" role="search" {
                        label for="site-q" class="skip" { "Search indicators" }
                        input id="site-q" type="search" name="q" placeholder="Search an address, domain, URL, hash…" maxlength="512";
                        button type="submit" { "Search" }
                    }
                    div class="who" {
                        @match visitor {
                            Some(v) if v.user.is_some() => {
                                @let name = v.user.as_deref().unwrap_or_default();
                                span { "Signed in as " a href=(user_href(name)) { (name) } }
                                form method="post" action="/signout" {
                                    input type="hidden" name="csrf" value=(v.csrf.expose());
                                    button type="submit" { "Sign out" }
                                }
                            }
                            _ => { a href="/signin" { "Sign in" } }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    (body)
                }
                footer class="site" {
                    "feedgate · threat indicators to share. The same data as the "
                    a href="/api" { "API" } "."
                }
            }
        }
    }
}

/// An HTML answer with `status`, carrying the visitor's cookies.
pub fn respond(status: StatusCode, visitor: Option<&Visitor>, markup: Markup) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"));
    for cookie in visitor.map(Visitor::cookies).unwrap_or_default() {
        res.append_header((header::SET_COOKIE, cookie));
    }
    res.body(markup.into_string())
}

/// A 200 page.
pub fn ok(title: &str, visitor: &Visitor, body: Markup) -> HttpResponse {
    respond(
        StatusCode::OK,
        Some(visitor),
        page(title, Some(visitor), body),
    )
}

/// A time as the pages show it (UTC, minutes).
pub fn time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// An optional time, or a dash.
pub fn time_or_dash(t: Option<NaiveDateTime>) -> String {
    t.map_or_else(|| "—".to_string(), time)
}

/// A stored comma list of tags as labels.
pub fn tags(list: &str) -> Markup {
    html! {
        @for t in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            span class="tag" { (t) }
        }
    }
}

/// A path segment or query value, percent-encoded (names are checked when written, but a
/// link never relies on that).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The page of a user.
pub fn user_href(user: &str) -> String {
    format!("/u/{}", enc(user))
}

/// The page of a feed.
pub fn feed_href(user: &str, feed: &str) -> String {
    format!("/u/{}/{}", enc(user), enc(feed))
}

/// The page of an indicator.
pub fn indicator_href(user: &str, feed: &str, id: i64) -> String {
    format!("{}/{id}", feed_href(user, feed))
}

/// `path` with `params` as its query, `cursor` replaced by `cursor` (dropped when `None`).
pub fn with_query(
    path: &str,
    params: &BTreeMap<&'static str, String>,
    cursor: Option<&str>,
) -> String {
    let mut pairs: Vec<String> = params
        .iter()
        .filter(|(k, _)| **k != "cursor")
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    if let Some(c) = cursor {
        pairs.push(format!("cursor={}", enc(c)));
    }
    if pairs.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", pairs.join("&"))
    }
}

/// The links to the first page (when not on it) and the next one (when another follows).
pub fn pager(path: &str, params: &BTreeMap<&'static str, String>, next: Option<&str>) -> Markup {
    html! {
        nav class="pager" aria-label="Pages" {
            @if params.contains_key("cursor") {
                a href=(with_query(path, params, None)) { "← First page" }
            }
            @if let Some(cursor) = next {
                a href=(with_query(path, params, Some(cursor))) rel="next" { "Next page →" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_segments_encoded() {
        let m = html! { p { ("<script>alert(1)</script>") } a href=(feed_href("a\"b", "x y")) {} };
        let s = m.into_string();
        assert!(s.contains("&lt;script&gt;"), "{s}");
        assert!(s.contains("/u/a%22b/x%20y"), "{s}");
        let mut params = BTreeMap::new();
        params.insert("q", "1.2.3.4/24".to_string());
        params.insert("cursor", "old".to_string());
        assert_eq!(
            with_query("/search", &params, Some("n")),
            "/search?q=1.2.3.4%2F24&cursor=n"
        );
    }
}
