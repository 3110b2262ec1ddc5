//! The web pages (issue 22) over HTTP on both backends: status, visibility (another user's
//! private feed is neither listed nor shown), escaping of hostile values, the security
//! headers, the cookies' flags, CSRF refusal, signing in and out, and the HTML error pages;
//! then the same pages in a real headless Chromium (Debian's `chromium`): what a browser
//! shows, and that no hostile value ever runs as script. Without Chromium those checks print
//! `SKIPPED` and pass, unless `FEEDGATE_REQUIRE_TOOLS=1` (CI), where they fail.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";

/// alice with a public feed `scanners` (a network, a domain, a URL) and a private `own`; bob
/// with a private `secret`. Returns alice's and bob's tokens.
fn setup(app: &TestApp) -> (String, String) {
    let alice = app.user_with_token("alice");
    let bob = app.user_with_token("bob");
    let feed = json!({"feed": {"name": "scanners", "description": SCRIPT}});
    app.send_as("POST", &alice, "/api/users/alice/feeds", &feed)
        .assert_status(201);
    app.create_feed(&alice, "alice", "own", true)
        .assert_status(201);
    app.create_feed(&bob, "bob", "secret", true)
        .assert_status(201);
    for body in [
        json!({"indicator": {"indicator": "203.0.113.0/24", "tags": ["ssh", "javascript:alert"], "description": IMG}, "comment": SCRIPT}),
        json!({"indicator": {"indicator": "evil.example", "tags": ["phishing"], "description": SCRIPT}}),
        json!({"indicator": {"indicator": "http://evil.example/javascript:alert(1)", "tags": ["phishing"]}}),
    ] {
        app.post_indicator(&alice, "alice", "scanners", &body)
            .assert_status(201);
    }
    app.post_indicator(
        &alice,
        "alice",
        "own",
        &json!({"indicator": {"indicator": "own-only.example"}}),
    )
    .assert_status(201);
    app.post_indicator(
        &bob,
        "bob",
        "secret",
        &json!({"indicator": {"indicator": "bob-only.example"}}),
    )
    .assert_status(201);
    (alice, bob)
}

/// Asserts an HTML page with this status.
fn html(res: &TestResponse, status: u16) -> &str {
    res.assert_status(status);
    assert_eq!(
        res.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{:?}",
        res.headers
    );
    assert!(
        res.body.starts_with("<!DOCTYPE html><html lang=\"en\">"),
        "{}",
        res.body
    );
    &res.body
}

/// The `Set-Cookie` headers of an answer.
fn set_cookies(res: &TestResponse) -> Vec<String> {
    res.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The value a `Set-Cookie` of the answer gives `name`.
fn cookie_value(res: &TestResponse, name: &str) -> Option<String> {
    set_cookies(res).iter().find_map(|c| {
        c.split(';')
            .next()?
            .strip_prefix(&format!("{name}="))
            .map(str::to_string)
    })
}

/// A visitor's browser: the cookies it holds.
struct Browser<'a> {
    app: &'a TestApp,
    csrf: String,
    session: Option<String>,
}

impl<'a> Browser<'a> {
    /// Opens the sign-in page, which hands out the CSRF cookie.
    fn open(app: &'a TestApp) -> Self {
        let res = app.get("/signin");
        html(&res, 200);
        let csrf = cookie_value(&res, "fg_csrf").expect("a CSRF cookie");
        assert!(
            res.body
                .contains(&format!("name=\"csrf\" value=\"{csrf}\"")),
            "{}",
            res.body
        );
        Browser {
            app,
            csrf,
            session: None,
        }
    }

    fn cookie(&self) -> String {
        match &self.session {
            Some(s) => format!("fg_csrf={}; fg_session={s}", self.csrf),
            None => format!("fg_csrf={}", self.csrf),
        }
    }

    fn get(&self, path: &str) -> TestResponse {
        self.app
            .request("GET", path, &[("Cookie", &self.cookie())], None)
    }

    fn post(&self, path: &str, form: &str) -> TestResponse {
        let cookie = self.cookie();
        let headers = [
            ("Cookie", cookie.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        self.app
            .request("POST", path, &headers, Some(form.as_bytes()))
    }

    fn sign_in(&mut self, token: &str) -> TestResponse {
        let res = self.post("/signin", &format!("token={token}&csrf={}", self.csrf));
        if let Some(s) = cookie_value(&res, "fg_session") {
            self.session = Some(s);
        }
        res
    }
}

fn session_rows(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    let mut c = app.pool.get().unwrap();
    diesel::sql_query("SELECT COUNT(*) AS n FROM web_sessions")
        .get_result::<Count>(&mut *c)
        .unwrap()
        .n
}

/// How many stored sessions have this `session_hash`.
fn sessions_stored_as(app: &TestApp, bytes: &[u8]) -> i64 {
    use diesel::prelude::*;
    let mut c = app.pool.get().unwrap();
    let sql = match backend_of(app) {
        Backend::Sqlite => "SELECT COUNT(*) AS n FROM web_sessions WHERE session_hash = ?",
        Backend::Postgres => "SELECT COUNT(*) AS n FROM web_sessions WHERE session_hash = $1",
    };
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Binary, _>(bytes)
        .get_result::<Count>(&mut *c)
        .unwrap()
        .n
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

both_backends! {
    fn the_directory_lists_public_feeds_and_never_another_users_private_one(app) {
        setup(&app);
        let res = app.get("/");
        let body = html(&res, 200);
        assert!(body.contains("href=\"/u/alice/scanners\""), "{body}");
        assert!(!body.contains("secret") && !body.contains("/u/alice/own"), "{body}");
        let user = app.get("/u/bob");
        assert!(!html(&user, 200).contains("secret"));
        let res = app.get("/u/bob/secret");
        assert!(html(&res, 404).contains("404"));
        assert!(!res.body.contains("bob-only"));
        html(&app.get("/u/bob/secret/1"), 404);
        html(&app.get("/u/bob/secret.csv"), 404);
        html(&app.get("/u/nobody"), 404);
        // The directory's own filters, as GET /api/feeds reads them.
        assert!(html(&app.get("/?q=scan"), 200).contains("/u/alice/scanners"));
        assert!(!html(&app.get("/?q=nothing-like-it"), 200).contains("/u/alice/scanners"));
        assert!(html(&app.get("/?tag=ssh"), 200).contains("/u/alice/scanners"));
    }

    fn hostile_values_are_escaped_on_every_page(app) {
        setup(&app);
        let id = app.get("/api/users/alice/feeds/scanners/indicators?limit=10").json();
        let ids: Vec<i64> = id.as_array().unwrap().iter().map(|i| i["indicator"]["id"].as_i64().unwrap()).collect();
        let mut pages = vec!["/".to_string(), "/u/alice".into(), "/u/alice/scanners".into(), "/search?q=evil.example".into(), "/search?q=203.0.113.7".into()];
        pages.extend(ids.iter().map(|i| format!("/u/alice/scanners/{i}")));
        for path in &pages {
            let res = app.get(path);
            let body = html(&res, 200);
            assert!(!body.contains(SCRIPT), "{path}: {body}");
            assert!(!body.contains("<img"), "{path}: {body}");
            assert!(!body.contains("href=\"javascript:") && !body.contains("href=\"http://evil"), "{path}: {body}");
        }
        let feed = app.get("/u/alice/scanners");
        assert!(feed.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{}", feed.body);
        // The URL is text inside a link to its own page, never a link to itself.
        assert!(feed.body.contains(">http://evil.example/javascript:alert(1)</a>"), "{}", feed.body);
        assert!(feed.body.contains("<span class=\"tag\">javascript:alert</span>"));
        let network = ids.iter().map(|i| app.get(&format!("/u/alice/scanners/{i}"))).find(|r| r.body.contains("203.0.113.0/24")).unwrap();
        assert!(network.body.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"), "{}", network.body);
        assert!(network.body.contains("<blockquote>&lt;script&gt;alert(1)&lt;/script&gt;</blockquote>"), "{}", network.body);
    }

    fn pages_carry_the_security_headers_and_a_strict_csrf_cookie(app) {
        setup(&app);
        for path in ["/", "/search?q=evil.example", "/u/alice/scanners", "/u/nobody", "/signin"] {
            let res = app.get(path);
            let csp = res.header("content-security-policy").unwrap_or_default();
            assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
            assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
            assert_eq!(res.header("x-frame-options"), Some("DENY"), "{path}");
            assert_eq!(res.header("x-content-type-options"), Some("nosniff"), "{path}");
            assert_eq!(res.header("referrer-policy"), Some("no-referrer"), "{path}");
            assert_eq!(res.header("cache-control"), Some("no-store"), "{path}");
        }
        let res = app.get("/");
        let csrf = set_cookies(&res).into_iter().find(|c| c.starts_with("fg_csrf=")).unwrap();
        assert!(csrf.contains("; HttpOnly") && csrf.contains("; SameSite=Strict") && csrf.contains("; Path=/"), "{csrf}");
        assert!(!csrf.contains("Secure"), "plain HTTP: {csrf}");
        // A visitor who has one keeps it.
        let again = app.request("GET", "/", &[("Cookie", csrf.split(';').next().unwrap())], None);
        assert!(cookie_value(&again, "fg_csrf").is_none());
        // The stylesheet is served, and the API keeps its own answers.
        let css = app.get("/static/feedgate.css");
        css.assert_status(200);
        assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
        assert!(app.get("/api/feeds").header("content-security-policy").is_none());
    }

    fn signing_in_shows_own_private_feeds_and_signing_out_ends_the_session(app) {
        let (alice, _) = setup(&app);
        let mut browser = Browser::open(&app);
        let res = browser.sign_in(&alice);
        res.assert_status(303);
        assert_eq!(res.header("location"), Some("/"));
        let session = set_cookies(&res).into_iter().find(|c| c.starts_with("fg_session=")).unwrap();
        assert!(session.contains("; HttpOnly") && session.contains("; SameSite=Strict") && session.contains("; Max-Age=43200"), "{session}");
        assert!(!session.contains(&alice), "the cookie never holds the token");
        // Only the id's hash is stored.
        assert_eq!(session_rows(&app), 1);
        let id = browser.session.clone().unwrap();
        let hash = feedgate::auth::session::Secret::parse(&id).unwrap().hash();
        assert_eq!(sessions_stored_as(&app, &hash), 1);
        assert_eq!(sessions_stored_as(&app, id.as_bytes()), 0);
        let home = browser.get("/");
        let body = html(&home, 200);
        assert!(body.contains("Signed in as <a href=\"/u/alice\">alice</a>"), "{body}");
        assert!(body.contains("/u/alice/own") && !body.contains("secret"), "{body}");
        assert!(html(&browser.get("/u/alice/own"), 200).contains("own-only.example"));
        assert!(browser.get("/u/alice/own.txt").body.contains("own-only.example"));
        assert!(html(&browser.get("/search?q=own-only.example"), 200).contains("/u/alice/own/"));
        // Still another user's private feed is a 404, signed in or not.
        html(&browser.get("/u/bob/secret"), 404);
        // The session is no token for the API.
        app.request("GET", "/api/users/alice/feeds/own", &[("Cookie", &browser.cookie())], None).assert_error(404, "not_found");
        let out = browser.post("/signout", &format!("csrf={}", browser.csrf));
        out.assert_status(303);
        let removal = set_cookies(&out).into_iter().find(|c| c.starts_with("fg_session=")).unwrap();
        assert!(removal.starts_with("fg_session=;") && removal.contains("Max-Age=0"), "{removal}");
        assert_eq!(session_rows(&app), 0);
        // The old id reads as anonymous now.
        let after = app.request("GET", "/", &[("Cookie", &format!("fg_session={id}"))], None);
        let body = html(&after, 200);
        assert!(!body.contains("/u/alice/own") && body.contains("href=\"/signin\""), "{body}");
    }

    fn a_revoked_token_ends_its_sessions_and_a_bad_token_is_refused(app) {
        let (alice, _) = setup(&app);
        let mut browser = Browser::open(&app);
        let res = browser.sign_in("fg_notatokenatallnotatokenatallnotatokenatal");
        assert!(html(&res, 401).contains("That token is not valid"));
        assert!(cookie_value(&res, "fg_session").is_none());
        assert_eq!(session_rows(&app), 0);
        browser.sign_in(&alice).assert_status(303);
        assert!(browser.get("/").body.contains("/u/alice/own"));
        let tokens = app.get_as(&alice, "/api/users/alice/tokens").json();
        let tid = tokens.as_array().unwrap().iter().map(|t| t["token"]["id"].as_i64().or(t["id"].as_i64()).unwrap()).next().unwrap();
        app.send_as("DELETE", &alice, &format!("/api/users/alice/tokens/{tid}"), &json!(null)).assert_status(200);
        let body = html(&browser.get("/"), 200).to_string();
        assert!(!body.contains("/u/alice/own"), "{body}");
    }

    fn forms_without_the_matching_csrf_token_are_refused(app) {
        let (alice, _) = setup(&app);
        let form = format!("token={alice}");
        let headers = [("Content-Type", "application/x-www-form-urlencoded")];
        // No cookie, no field.
        let res = app.request("POST", "/signin", &headers, Some(form.as_bytes()));
        assert!(html(&res, 403).contains("CSRF"));
        // A field that is not the cookie's token (a forged cross-site form).
        let forged = app.request("POST", "/signin", &[("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", "fg_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")], Some(format!("{form}&csrf=BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB").as_bytes()));
        html(&forged, 403);
        assert!(cookie_value(&forged, "fg_session").is_none());
        assert_eq!(session_rows(&app), 0);
        let mut browser = Browser::open(&app);
        browser.sign_in(&alice).assert_status(303);
        let res = browser.post("/signout", "csrf=wrong");
        html(&res, 403);
        assert_eq!(session_rows(&app), 1, "a forged sign-out ends nothing");
        assert!(browser.get("/").body.contains("Signed in as"));
    }

    fn the_search_page_searches_like_the_api_and_pages_with_its_cursor(app) {
        let (alice, _) = setup(&app);
        for v in ["203.0.113.7", "203.0.113.8"] {
            app.post_indicator(&alice, "alice", "scanners", &json!({"indicator": {"indicator": v}})).assert_status(201);
        }
        let res = app.get("/search?q=203.0.113.7");
        let body = html(&res, 200);
        assert!(body.contains(">203.0.113.0/24</a>") && body.contains(">203.0.113.7</a>"), "{body}");
        assert!(!body.contains(">203.0.113.8</a>"));
        // The form alone, and the API's errors as pages.
        assert!(html(&app.get("/search"), 200).contains("name=\"q\""));
        assert!(html(&app.get("/search?q=not+a+thing"), 422).contains("422"));
        html(&app.get("/search?q=1.2.3.4&bogus=1"), 400);
        // One result a page: the next link carries the API's cursor.
        let first = app.get("/search?q=203.0.113.0/24&limit=1");
        let body = html(&first, 200);
        let at = body.find("rel=\"next\"").map(|_| ()).and_then(|_| body.split("href=\"").find(|s| s.starts_with("/search?") && s.contains("cursor="))).expect("a next link");
        let next = at.split('"').next().unwrap().replace("&amp;", "&");
        let second = app.get(&next);
        html(&second, 200);
        let shown = |b: &str| ["203.0.113.0/24", "203.0.113.7", "203.0.113.8"].iter().filter(|v| b.contains(&format!(">{v}</a>"))).map(|v| v.to_string()).collect::<Vec<_>>();
        assert_eq!(shown(&first.body).len(), 1);
        assert_eq!(shown(&second.body).len(), 1);
        assert_ne!(shown(&first.body), shown(&second.body));
        assert_eq!(app.search_values(None, "q=203.0.113.0/24&limit=1")[0], shown(&first.body)[0]);
    }

    fn the_feed_page_filters_by_type_and_tags_and_links_every_export(app) {
        setup(&app);
        let all = html(&app.get("/u/alice/scanners"), 200).to_string();
        assert!(all.contains(">evil.example</a>") && all.contains(">203.0.113.0/24</a>"));
        let fqdn = app.get("/u/alice/scanners?itype=fqdn");
        let body = html(&fqdn, 200);
        assert!(body.contains(">evil.example</a>") && !body.contains(">203.0.113.0/24</a>"), "{body}");
        let tagged = app.get("/u/alice/scanners?tags=ssh&itype=");
        let body = html(&tagged, 200);
        assert!(body.contains(">203.0.113.0/24</a>") && !body.contains(">evil.example</a>"), "{body}");
        html(&app.get("/u/alice/scanners?itype=nope"), 400);
        for f in ["csv", "json", "txt", "zeek", "suricata", "rpz", "stix", "misp"] {
            assert!(all.contains(&format!("href=\"/u/alice/scanners.{f}\"")), "{f}");
            assert!(all.contains(&format!("value=\"{}/api/users/alice/feeds/scanners.{f}\"", app.base)), "{f}");
            let download = app.get(&format!("/u/alice/scanners.{f}"));
            download.assert_status(200);
            let api = app.get(&format!("/api/users/alice/feeds/scanners.{f}"));
            assert_eq!(download.header("content-type"), api.header("content-type"), "{f}");
        }
        assert!(app.get("/u/alice/scanners.txt").body.contains("evil.example"));
    }

    fn the_indicator_page_shows_its_facts_comments_and_attachments(app) {
        let (alice, _) = setup(&app);
        let body = json!({"indicator": {"tags": ["uce"], "description": "sample"}, "attachment": {"data": "UmVjZWl2ZWQ6IGZyb20gbXguZXhhbXBsZS5vcmcK", "filename": "sample.eml"}});
        let i = app.post_indicator(&alice, "alice", "scanners", &body).assert_status(201).json();
        let id = i["indicator"]["id"].as_i64().unwrap();
        let aid = i["indicator"]["attachments"][0]["id"].as_i64().unwrap();
        let res = app.get(&format!("/u/alice/scanners/{id}"));
        let page = html(&res, 200);
        assert!(page.contains("c7369be2f1be03c77ee7c22edc8441e46c309c1d") && page.contains("sha1"), "{page}");
        let link = format!("href=\"/u/alice/scanners/{id}/attachments/{aid}\"");
        assert!(page.contains(&link) && page.contains(">sample.eml</a>"), "{page}");
        let file = app.get(&format!("/u/alice/scanners/{id}/attachments/{aid}"));
        file.assert_status(200);
        assert_eq!(file.body, "Received: from mx.example.org\n");
        assert_eq!(file.header("content-security-policy"), Some("sandbox; default-src 'none'"));
        html(&app.get(&format!("/u/alice/scanners/{}", id + 100)), 404);
        html(&app.get("/u/alice/scanners/x"), 404);
    }

    fn page_errors_are_html_and_the_api_keeps_json(app) {
        let res = app.request("DELETE", "/", &[], None);
        assert!(html(&res, 405).contains("405"));
        assert!(res.header("allow").is_some_and(|a| a.contains("GET")));
        // HEAD answers like GET, with no body.
        let head = app.request("HEAD", "/", &[], None);
        head.assert_status(200);
        assert_eq!(head.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(head.body.is_empty());
        app.request("HEAD", "/u/nobody", &[], None).assert_status(404);
        html(&app.get("/u/nobody/feed/1"), 404);
        app.get("/api/users/nobody").assert_error(404, "not_found");
        app.get("/nope").assert_error(404, "not_found");
    }
}

mod limits {
    use super::*;

    fn anonymous_pages_spend_the_anonymous_budget(app: TestApp) {
        html(&app.get("/"), 200);
        html(&app.get("/search"), 200);
        let res = app.get("/");
        assert!(html(&res, 429).contains("429"));
        assert!(res.header("retry-after").is_some());
        assert_eq!(res.header("x-ratelimit-limit"), Some("2"));
    }

    fn cookies_are_secure_behind_https(app: TestApp) {
        let res = app.get("/signin");
        let csrf = set_cookies(&res)
            .into_iter()
            .find(|c| c.starts_with("fg_csrf="))
            .unwrap();
        assert!(csrf.ends_with("; Secure"), "{csrf}");
    }

    fn two_a_day(s: &mut feedgate::config::Settings) {
        s.anon_requests_per_day = feedgate::domain::limit::Limit(Some(2));
    }

    fn https(s: &mut feedgate::config::Settings) {
        s.public_url = Some("https://feeds.example".into());
    }

    #[test]
    fn sqlite() {
        anonymous_pages_spend_the_anonymous_budget(TestApp::spawn_with(Backend::Sqlite, two_a_day));
        cookies_are_secure_behind_https(TestApp::spawn_with(Backend::Sqlite, https));
    }

    #[test]
    #[cfg_attr(
        not(pg_tests),
        ignore = "TEST_DATABASE_URL not set: PostgreSQL run skipped"
    )]
    fn postgres() {
        anonymous_pages_spend_the_anonymous_budget(TestApp::spawn_with(
            Backend::Postgres,
            two_a_day,
        ));
        cookies_are_secure_behind_https(TestApp::spawn_with(Backend::Postgres, https));
    }
}

/// Debian's `chromium` (`FEEDGATE_CHROMIUM` names another), or `None` when it is missing
/// (a failure under `FEEDGATE_REQUIRE_TOOLS=1`).
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("FEEDGATE_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
        });
    crate::formats::missing_unless_required(found, "chromium (Debian package `chromium`)")
}

/// The DOM a headless Chromium holds after loading `url` and running its scripts.
fn dump_dom(chromium: &PathBuf, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).unwrap();
        s
    });
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "chromium hung on {url}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// What a hostile value would do if it ran: mark the body.
const MARKING: [&str; 2] = [
    "<script>document.body.setAttribute('data-xss','script')</script>",
    "\"><img src=x onerror=\"document.body.setAttribute('data-xss','img')\">",
];

both_backends! {
    fn a_real_browser_shows_the_pages_and_runs_no_hostile_value(app) {
        let Some(chromium) = chromium() else { return };
        let (alice, _) = setup(&app);
        let feed = json!({"feed": {"name": "marked", "description": MARKING[0]}});
        app.send_as("POST", &alice, "/api/users/alice/feeds", &feed).assert_status(201);
        let body = json!({"indicator": {"indicator": "198.51.100.0/24", "description": MARKING[1], "tags": ["javascript:alert"]}, "comment": MARKING[0]});
        let i = app.post_indicator(&alice, "alice", "marked", &body).assert_status(201).json();
        let id = i["indicator"]["id"].as_i64().unwrap();

        // The directory lists the public feeds and not the private ones.
        let dom = dump_dom(&chromium, &format!("{}/", app.base));
        assert!(dom.contains("href=\"/u/alice/scanners\"") && dom.contains("href=\"/u/alice/marked\""), "{dom}");
        assert!(!dom.contains("secret") && !dom.contains("/u/alice/own"), "{dom}");

        // A search for an address finds the network that contains it.
        let dom = dump_dom(&chromium, &format!("{}/search?q=203.0.113.77", app.base));
        assert!(dom.contains(">203.0.113.0/24</a>"), "{dom}");

        // Hostile values are text: had one run, the body would carry `data-xss`, and an
        // `<img>` would be in the DOM.
        for path in ["/".to_string(), "/u/alice/marked".into(), format!("/u/alice/marked/{id}"), "/search?q=198.51.100.1".into()] {
            let dom = dump_dom(&chromium, &format!("{}{path}", app.base));
            assert!(dom.contains("<main id=\"main\">"), "{path}: {dom}");
            let body_tag = &dom[dom.find("<body").unwrap()..];
            let body_tag = &body_tag[..body_tag.find('>').unwrap()];
            assert!(!body_tag.contains("data-xss"), "{path}: a hostile value ran: {body_tag}");
            assert!(!dom.contains("<img"), "{path}: {dom}");
            assert!(!dom.contains("href=\"javascript:"), "{path}: {dom}");
        }
        let dom = dump_dom(&chromium, &format!("{}/u/alice/marked/{id}", app.base));
        assert!(dom.contains("&lt;script&gt;document.body.setAttribute('data-xss','script')&lt;/script&gt;"), "{dom}");
        // The page's own script ran: the copy buttons show on a feed page.
        let dom = dump_dom(&chromium, &format!("{}/u/alice/marked", app.base));
        assert!(dom.contains("data-copy=\"url-csv\">Copy</button>"), "{dom}");
    }
}
