//! The curl examples of the original CSIRTG API page (`reference/csirtg-api-v0.txt`), replayed
//! byte for byte: the same method, path, `-H` headers and `-d` body, plus what curl itself adds
//! (`Accept: */*` and its User-Agent). Where the page sends no token, the example is replayed as
//! printed and once more as a real client would, with `Authorization: Token token=…` and
//! `Accept: application/vnd.csirtg.v0`. Answers are checked against the page's example bodies
//! member by member, and against the full v0 member lists of the spec (§2, §7). Where the page
//! and the spec differ, the spec wins and a comment says so.

use serde_json::{Value, json};

use crate::helpers::*;

const V0: &str = "application/vnd.csirtg.v0";
/// The host of the page's URLs; ours is `app.base`.
const PAGE_HOST: &str = "https://csirtg.io";

/// `-d` of "Create Feed".
const CREATE_FEED_BODY: &str = r#"{"feed": { "name": "spyeye", "description": "spyeye bad" } }"#;
/// `-d` of "Create" (indicators) and of the page's POST/PUT parameter example.
const CREATE_INDICATOR_BODY: &str = r#"{"indicator": { "thing": "badsite.com" }, "tags": ["zeus","bot"], "comment": "this will pwn you!" }"#;

const PAGE_ROOT: &str = r#"{
  "current_user_url": "https://csirtg.io/api/users/:user",
  "user_feeds_url": "https://csirtg.io/api/users/:user/feeds",
  "user_feed_url": "https://csirtg.io/api/users/:user/feeds/:feed"
}"#;

const PAGE_SEARCH: &str = r#"[
  {
    "indicator": {
      "id": 50242,
      "thing": "example.com",
      "portlist": null,
      "lasttime": null,
      "created_at": "2015-02-20 14:13:09 UTC",
      "updated_at": "2015-02-20 14:13:09 UTC",
      "comments": [
        {
          "comment": {
            "text": "test",
            "updated_at": "2015-02-20 14:13:09 UTC",
            "user_id": "wes"
          }
        }
      ],
      "feed_id": "zeus",
      "user_id": "wes",
      "tags": [
        "zeus",
        "bot"
      ]
    }
  }
]"#;

const PAGE_LIST_FEEDS: &str = r#"[
  {
      "feed": {
        "name": "zeus",
        "description": null,
        "created_at": "2015-02-20 14:11:48 UTC",
        "updated_at": "2015-02-20 14:11:48 UTC",
        "license": {
          "name": "CC BY-SA 4.0",
          "url": "http://creativecommons.org/licenses/by-sa/4.0/"
        }
      }
    }
]"#;

const PAGE_GET_FEED: &str = r#"{
  "feed": {
    "name": "scanners",
    "description": "test",
    "updated_at": "2015-02-23 15:29:06 UTC",
    "created_at": "2015-02-23 15:29:06 UTC",
    "license": {
      "name": "CC BY-SA 4.0",
      "url": "http://creativecommons.org/licenses/by-sa/4.0/"
    },
    "indicators": [
      {
        "indicator": {
          "id": 50340,
          "thing": "1.2.3.4",
          "portlist": "22",
          "lasttime": "2015-02-28 14:22:00 UTC",
          "created_at": "2015-02-28 14:22:30 UTC",
          "updated_at": "2015-02-28 14:22:30 UTC",
          "comments": [

          ],
          "tags": [
            "scanners",
            "ssh"
          ]
        }
      }
    ],
    "user": "wes"
  }
}"#;

const PAGE_CREATE_FEED: &str = r#"{
  "feed": {
    "name": "spyeye",
    "description": "bad",
    "updated_at": "2015-02-28 14:33:57 UTC",
    "created_at": "2015-02-28 14:33:57 UTC",
    "license": {
      "name": "CC BY-SA 4.0",
      "url": "http://creativecommons.org/licenses/by-sa/4.0/"
    },
    "indicators": [

    ],
    "user": "wes"
  }
}"#;

const PAGE_CREATE_INDICATOR: &str = r#"{
  "indicator": {
    "id": 50347,
    "thing": "badsite.com",
    "portlist": null,
    "protocol": null,
    "lasttime": null,
    "created_at": "2015-02-28 14:40:39 UTC",
    "updated_at": "2015-02-28 14:40:39 UTC",
    "comments": [
      {
        "comment": {
          "text": "this will pwn you!",
          "created_at": "2015-02-28 14:40:39 UTC",
          "user": "wes"
        }
      }
    ],
    "license": {
      "name": "CC BY-SA 4.0",
      "url": "http://creativecommons.org/licenses/by-sa/4.0/"
    },
    "tags": [
      "spyeye",
      "bot"
    ],
    "feed": "spyeye",
    "user": "wes",
    "location": "https://csirtg.io/api/users/wes/feeds/spyeye/indicators/50347"
  }
}"#;

/// Every member of a v0 object, spec §6.1 and §7.1-§7.3.
const ROOT_MEMBERS: &[&str] = &[
    "current_user_url",
    "user_feeds_url",
    "user_feed_url",
    "search_url",
    "version",
];
const FEED_MEMBERS: &[&str] = &[
    "name",
    "description",
    "user",
    "private",
    "indicators_count",
    "license",
    "created_at",
    "updated_at",
    // The export settings of issue 19, beyond the spec's list.
    "kind",
    "global",
    "max_prefix",
    "max_prefix6",
    "lifetimes",
];
const INDICATOR_MEMBERS: &[&str] = &[
    "id",
    "thing",
    "itype",
    "portlist",
    "portlist_src",
    "protocol",
    "firsttime",
    "lasttime",
    "count",
    "description",
    "content",
    "provider",
    "asn",
    "asn_desc",
    "cc",
    "confidence",
    "tlp",
    "created_at",
    "updated_at",
    "expires_at",
    "comments",
    "comments_count",
    "attachments",
    "license",
    "tags",
    "feed",
    "feed_id",
    "user",
    "user_id",
    "location",
];
const COMMENT_MEMBERS: &[&str] = &["id", "text", "user", "user_id", "created_at", "updated_at"];

/// Replays one curl command: `headers` are its `-H` flags, `body` its `-d`. curl adds
/// `Accept: */*` unless a `-H` sets it, and its User-Agent.
fn curl(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> TestResponse {
    let mut all = vec![("User-Agent", "curl/8.5.0")];
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("accept"))
    {
        all.push(("Accept", "*/*"));
    }
    all.extend_from_slice(headers);
    app.request(method, path, &all, body.map(str::as_bytes))
}

/// The `Authorization` value of the page, with a real token.
fn auth(token: &str) -> String {
    format!("Token token={token}")
}

/// A successful JSON answer in v0: status, media type, version header; the body.
fn v0_json(res: &TestResponse, status: u16) -> Value {
    res.assert_status(status);
    assert_eq!(
        res.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(res.header("x-csirtg-version"), Some("v0"));
    res.json()
}

/// `s` is a v0 time, `YYYY-MM-DD HH:MM:SS UTC`.
fn is_v0_time(s: &str) -> bool {
    let pattern = "9999-99-99 99:99:99 UTC";
    s.len() == pattern.len()
        && s.bytes().zip(pattern.bytes()).all(|(c, p)| {
            if p == b'9' {
                c.is_ascii_digit()
            } else {
                c == p
            }
        })
}

fn assert_v0_time(v: &Value, at: &str) {
    assert!(
        v.as_str().is_some_and(is_v0_time),
        "{at}: not a v0 time: {v}"
    );
}

fn assert_optional_v0_time(v: &Value, at: &str) {
    if !v.is_null() {
        assert_v0_time(v, at);
    }
}

/// The members of `obj`, which must be exactly `expected` (in any order).
fn assert_members(obj: &Value, expected: &[&str], at: &str) {
    let mut got: Vec<&str> = obj
        .as_object()
        .unwrap_or_else(|| panic!("{at}: not an object: {obj}"))
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = expected.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "{at}: members of {obj}");
}

/// `wrapper` is `{"<name>": {…}}` with nothing else; returns the inner object.
fn unwrap_v0<'a>(wrapper: &'a Value, name: &str, at: &str) -> &'a Value {
    assert_members(wrapper, &[name], at);
    &wrapper[name]
}

fn assert_string_or_null(v: &Value, at: &str) {
    assert!(v.is_string() || v.is_null(), "{at}: {v}");
}

/// The default licence object (spec §6.5.2: the page's own, `http` included).
fn assert_license(v: &Value, at: &str) {
    assert_members(v, &["name", "url"], at);
    assert!(
        v["name"].as_str().is_some_and(|n| !n.is_empty()),
        "{at}: {v}"
    );
    assert_string_or_null(&v["url"], at);
}

/// A wrapped v0 comment: members, types, times.
fn assert_v0_comment(wrapper: &Value, at: &str) {
    let c = unwrap_v0(wrapper, "comment", at);
    assert_members(c, COMMENT_MEMBERS, at);
    assert!(c["id"].as_i64().is_some_and(|id| id > 0), "{at}: {c}");
    assert!(
        c["text"].as_str().is_some_and(|t| !t.is_empty()),
        "{at}: {c}"
    );
    assert!(c["user"].is_string(), "{at}: {c}");
    assert_eq!(
        c["user_id"], c["user"],
        "{at}: v0 repeats the author as user_id"
    );
    assert_v0_time(&c["created_at"], at);
    assert_v0_time(&c["updated_at"], at);
}

/// A wrapped v0 indicator: members, types, times, and its location on this server.
fn assert_v0_indicator(app: &TestApp, wrapper: &Value, at: &str) {
    let i = unwrap_v0(wrapper, "indicator", at);
    assert_members(i, INDICATOR_MEMBERS, at);
    let id = i["id"].as_i64().unwrap_or_else(|| panic!("{at}: id {i}"));
    assert!(id > 0);
    assert!(
        i["thing"].as_str().is_some_and(|t| !t.is_empty()),
        "{at}: {i}"
    );
    let itypes = [
        "ipv4", "ipv6", "fqdn", "url", "email", "md5", "sha1", "sha256", "sha512",
    ];
    assert!(
        i["itype"].as_str().is_some_and(|t| itypes.contains(&t)),
        "{at}: {i}"
    );
    for member in [
        "portlist",
        "portlist_src",
        "description",
        "content",
        "provider",
        "asn_desc",
        "cc",
    ] {
        assert_string_or_null(&i[member], &format!("{at}.{member}"));
    }
    assert!(
        i["protocol"].is_null() || [1, 6, 17].contains(&i["protocol"].as_i64().unwrap_or(0)),
        "{at}: v0 protocol is a number: {i}"
    );
    assert!(i["asn"].is_null() || i["asn"].is_i64(), "{at}: {i}");
    assert!(
        i["confidence"].is_null() || i["confidence"].is_f64(),
        "{at}: {i}"
    );
    assert!(
        ["clear", "green", "amber", "amber+strict", "red"]
            .contains(&i["tlp"].as_str().unwrap_or("")),
        "{at}: {i}"
    );
    assert_optional_v0_time(&i["expires_at"], &format!("{at}.expires_at"));
    assert_optional_v0_time(&i["firsttime"], &format!("{at}.firsttime"));
    assert_optional_v0_time(&i["lasttime"], &format!("{at}.lasttime"));
    assert_v0_time(&i["created_at"], &format!("{at}.created_at"));
    assert_v0_time(&i["updated_at"], &format!("{at}.updated_at"));
    assert!(i["count"].as_i64().is_some_and(|c| c >= 1), "{at}: {i}");
    let comments = i["comments"]
        .as_array()
        .unwrap_or_else(|| panic!("{at}: comments {i}"));
    for (n, c) in comments.iter().enumerate() {
        assert_v0_comment(c, &format!("{at}.comments[{n}]"));
    }
    assert!(
        i["comments_count"]
            .as_u64()
            .is_some_and(|n| n >= comments.len() as u64),
        "{at}: {i}"
    );
    assert!(i["attachments"].is_array(), "{at}: {i}");
    assert_license(&i["license"], &format!("{at}.license"));
    assert!(
        i["tags"]
            .as_array()
            .is_some_and(|t| t.iter().all(Value::is_string)),
        "{at}: tags hold strings only: {i}"
    );
    assert!(i["feed"].is_string() && i["user"].is_string(), "{at}: {i}");
    assert_eq!(
        i["feed_id"], i["feed"],
        "{at}: v0 repeats the feed name as feed_id"
    );
    assert_eq!(
        i["user_id"], i["user"],
        "{at}: v0 repeats the owner as user_id"
    );
    let location = format!(
        "{}/api/users/{}/feeds/{}/indicators/{id}",
        app.base,
        i["user"].as_str().unwrap(),
        i["feed"].as_str().unwrap()
    );
    assert_eq!(i["location"], location.as_str(), "{at}");
}

/// A wrapped v0 feed: members (with `indicators` only in show and create), types, times.
fn assert_v0_feed(app: &TestApp, wrapper: &Value, with_indicators: bool, at: &str) {
    let f = unwrap_v0(wrapper, "feed", at);
    let mut members = FEED_MEMBERS.to_vec();
    if with_indicators {
        members.push("indicators");
    }
    assert_members(f, &members, at);
    assert!(f["name"].is_string() && f["user"].is_string(), "{at}: {f}");
    assert_string_or_null(&f["description"], at);
    assert!(f["private"].is_boolean(), "{at}: {f}");
    assert!(f["indicators_count"].is_u64(), "{at}: {f}");
    assert_license(&f["license"], &format!("{at}.license"));
    assert_v0_time(&f["created_at"], &format!("{at}.created_at"));
    assert_v0_time(&f["updated_at"], &format!("{at}.updated_at"));
    if with_indicators {
        for (n, i) in f["indicators"].as_array().unwrap().iter().enumerate() {
            assert_v0_indicator(app, i, &format!("{at}.indicators[{n}]"));
        }
    }
}

/// Compares an answer with the page's example: every member the page shows is there with the
/// same type and value, except ids (server-assigned positive integers), times (the page's are
/// from 2015; ours only need the same `… UTC` form) and URLs (this server instead of csirtg.io;
/// a `location` ends in our id).
fn assert_like_page(app: &TestApp, ours: &Value, page: &Value, at: &str) {
    match page {
        Value::Object(members) => {
            assert!(ours.is_object(), "{at}: expected an object, got {ours}");
            for (k, pv) in members {
                let here = format!("{at}.{k}");
                let ov = ours
                    .get(k)
                    .unwrap_or_else(|| panic!("{here}: missing in {ours}"));
                match (k.as_str(), pv) {
                    ("id", Value::Number(_)) => {
                        assert!(ov.as_i64().is_some_and(|id| id > 0), "{here}: {ov}");
                    }
                    ("location", Value::String(url)) => {
                        let (prefix, _) = url.rsplit_once('/').unwrap();
                        let want =
                            format!("{}/{}", prefix.replace(PAGE_HOST, &app.base), ours["id"]);
                        assert_eq!(ov, want.as_str(), "{here}");
                    }
                    _ => assert_like_page(app, ov, pv, &here),
                }
            }
        }
        Value::Array(items) => {
            let got = ours
                .as_array()
                .unwrap_or_else(|| panic!("{at}: expected an array, got {ours}"));
            assert_eq!(got.len(), items.len(), "{at}: {ours}");
            for (n, (o, p)) in got.iter().zip(items).enumerate() {
                assert_like_page(app, o, p, &format!("{at}[{n}]"));
            }
        }
        Value::String(s) if is_v0_time(s) => assert_v0_time(ours, at),
        Value::String(s) if s.starts_with(PAGE_HOST) => {
            assert_eq!(ours, s.replace(PAGE_HOST, &app.base).as_str(), "{at}");
        }
        _ => assert_eq!(ours, page, "{at}"),
    }
}

fn page(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// Sets up `wes` with the feed `zeus` the examples post into (description null, as the page's
/// feed list shows it); returns wes's token.
fn wes_with_zeus(app: &TestApp) -> String {
    let wes = app.user_with_token("wes");
    app.create_feed(&wes, "wes", "zeus", false)
        .assert_status(201);
    wes
}

both_backends! {
    fn the_authorization_example_and_the_root_endpoint(app) {
        let wes = app.user_with_token("wes");
        // $ curl -H "Accept: application/vnd.csirtg.v0" -H "Authorization: Token token=…" https://csirtg.io/api
        let authorized = curl(&app, "GET", "/api", &[("Accept", V0), ("Authorization", &auth(&wes))], None);
        let body = v0_json(&authorized, 200);
        assert_like_page(&app, &body, &page(PAGE_ROOT), "root");
        // The spec adds two members to the page's three links (§6.1).
        assert_members(&body, ROOT_MEMBERS, "root");
        assert_eq!(body["search_url"], format!("{}/api/search?q=:query", app.base));
        assert_eq!(body["version"], "v0");
        // $ curl https://csirtg.io/api
        let anonymous = curl(&app, "GET", "/api", &[], None);
        assert_eq!(v0_json(&anonymous, 200), body, "the same links for every caller");
        // "By default, all requests receive the v0 of the API": no Accept at all is v0 too.
        let bare = app.request("GET", "/api", &[], None);
        assert_eq!(v0_json(&bare, 200), body);
    }

    fn the_rate_limit_headers_of_the_page_are_sent(app) {
        let wes = app.user_with_token("wes");
        // $ curl -H ... -i "https://csirtg.io/api/search?q=example.com&limit=5"
        // (`-H ...` stands for the two headers of the authorization example.) The page shows
        // these three headers for a user's first request of the day.
        let res = curl(&app, "GET", "/api/search?q=example.com&limit=5", &[("Accept", V0), ("Authorization", &auth(&wes))], None);
        assert_eq!(v0_json(&res, 200), json!([]), "no hit is an empty list (spec §6.7)");
        assert_eq!(res.header("x-ratelimit-limit"), Some("5000"), "{:?}", res.headers);
        assert_eq!(res.header("x-ratelimit-remaining"), Some("4999"), "{:?}", res.headers);
        assert_eq!(res.header("x-ratelimit-period"), Some("day"), "{:?}", res.headers);
        let reset: i64 = res.header("x-ratelimit-reset").unwrap_or_default().parse().unwrap_or(0);
        assert_eq!(reset % 86_400, 0, "the next UTC midnight (spec §4.1): {reset}");
        let again = curl(&app, "GET", "/api/search?q=example.com&limit=5", &[("Accept", V0), ("Authorization", &auth(&wes))], None);
        assert_eq!(again.header("x-ratelimit-remaining"), Some("4998"));
    }

    fn the_search_example_finds_a_wrapped_indicator(app) {
        let wes = wes_with_zeus(&app);
        // The indicator the page's search answer shows, posted in the page's create shape.
        let setup = r#"{"indicator": { "thing": "example.com" }, "tags": ["zeus","bot"], "comment": "test" }"#;
        curl(&app, "POST", "/api/users/wes/feeds/zeus/indicators",
            &[("Accept", V0), ("Authorization", &auth(&wes)), ("Content-Type", "application/json")], Some(setup)).assert_status(201);
        // An indicator of another domain must not match.
        curl(&app, "POST", "/api/users/wes/feeds/zeus/indicators",
            &[("Accept", V0), ("Authorization", &auth(&wes)), ("Content-Type", "application/json")], Some(CREATE_INDICATOR_BODY)).assert_status(201);

        // $ curl https://csirtg.io/api/search?q=example.com
        let anonymous = curl(&app, "GET", "/api/search?q=example.com", &[], None);
        let body = v0_json(&anonymous, 200);
        assert_like_page(&app, &body, &page(PAGE_SEARCH), "search");
        assert_v0_indicator(&app, &body[0], "search[0]");
        let i = &body[0]["indicator"];
        assert_eq!(i["itype"], "fqdn");
        assert_eq!(i["feed"], "zeus");
        assert_eq!(i["user"], "wes");
        assert_eq!(i["count"], 1);
        assert_eq!(i["comments_count"], 1);
        assert_eq!(i["comments"][0]["comment"]["user"], "wes");
        // With the page's headers and `limit=5`, the same list.
        let authorized = curl(&app, "GET", "/api/search?q=example.com&limit=5", &[("Accept", V0), ("Authorization", &auth(&wes))], None);
        assert_eq!(v0_json(&authorized, 200), body);
    }

    fn the_list_feeds_example_shows_wrapped_feeds(app) {
        let wes = wes_with_zeus(&app);
        // $ curl https://csirtg.io/api/users/wes/feeds
        let anonymous = curl(&app, "GET", "/api/users/wes/feeds", &[], None);
        let body = v0_json(&anonymous, 200);
        assert_like_page(&app, &body, &page(PAGE_LIST_FEEDS), "feeds");
        assert_v0_feed(&app, &body[0], false, "feeds[0]");
        let f = &body[0]["feed"];
        assert_eq!(f["user"], "wes");
        assert_eq!(f["private"], false);
        assert_eq!(f["indicators_count"], 0);
        let authorized = curl(&app, "GET", "/api/users/wes/feeds", &[("Accept", V0), ("Authorization", &auth(&wes))], None);
        assert_eq!(v0_json(&authorized, 200), body, "the owner sees the same public feed");
    }

    fn the_get_feed_example_shows_the_feed_with_its_indicators(app) {
        let wes = app.user_with_token("wes");
        // The feed and indicator the page shows, written with the forms of the page's parameter
        // table: `tags` a comma-separated string, `lasttime` as `YYYY-MM-DDTHH:MM:SSZ`, and
        // "blank fields can be included as 'null'".
        let feed = r#"{"feed": {"name": "scanners", "description": "test"}}"#;
        curl(&app, "POST", "/api/users/wes/feeds", &[("Accept", V0), ("Authorization", &auth(&wes)), ("Content-Type", "application/json")], Some(feed)).assert_status(201);
        let indicator = r#"{"indicator": {"thing": "1.2.3.4", "portlist": "22", "lasttime": "2015-02-28T14:22:00Z", "tags": "scanners,ssh", "description": null, "protocol": null}}"#;
        curl(&app, "POST", "/api/users/wes/feeds/scanners/indicators", &[("Accept", V0), ("Authorization", &auth(&wes)), ("Content-Type", "application/json")], Some(indicator)).assert_status(201);

        // $ curl https://csirtg.io/api/users/wes/feeds/scanners
        let anonymous = curl(&app, "GET", "/api/users/wes/feeds/scanners", &[], None);
        let body = v0_json(&anonymous, 200);
        assert_like_page(&app, &body, &page(PAGE_GET_FEED), "feed");
        assert_v0_feed(&app, &body, true, "feed");
        let i = &body["feed"]["indicators"][0]["indicator"];
        assert_eq!(i["lasttime"], "2015-02-28 14:22:00 UTC", "the page's own value and form");
        assert_eq!(i["itype"], "ipv4");
        assert_eq!(i["protocol"], Value::Null);
        assert_eq!(body["feed"]["indicators_count"], 1);
        // The page recommends sending `Accept: application/vnd.csirtg.v0`; the answer is the same.
        let authorized = curl(&app, "GET", "/api/users/wes/feeds/scanners", &[("Accept", V0), ("Authorization", &auth(&wes))], None);
        assert_eq!(v0_json(&authorized, 200), body);
    }

    fn the_create_feed_example_answers_201_with_the_wrapped_feed(app) {
        let wes = app.user_with_token("wes");
        let path = "/api/users/wes/feeds";
        // $ curl -XPOST -H "Content-Type: application/json" https://csirtg.io/api/users/wes/feeds -d '…'
        // As printed the page sends no token; creating always needs one (spec §3.3).
        let printed = curl(&app, "POST", path, &[("Content-Type", "application/json")], Some(CREATE_FEED_BODY));
        printed.assert_error(401, "authentication_required");
        assert_eq!(printed.header("www-authenticate"), Some(r#"Token realm="feedgate""#));

        let res = curl(&app, "POST", path, &[("Accept", V0), ("Authorization", &auth(&wes)), ("Content-Type", "application/json")], Some(CREATE_FEED_BODY));
        let body = v0_json(&res, 201);
        let location = format!("{}/api/users/wes/feeds/spyeye", app.base);
        assert_eq!(res.header("location"), Some(location.as_str()));
        // The page answers "description": "bad" to a request that sent "spyeye bad"; the feed
        // keeps what was sent (spec §6.5.2).
        let mut expected = page(PAGE_CREATE_FEED);
        expected["feed"]["description"] = json!("spyeye bad");
        assert_like_page(&app, &body, &expected, "feed");
        assert_v0_feed(&app, &body, true, "feed");
        assert_eq!(body["feed"]["private"], false);
        assert_eq!(body["feed"]["indicators_count"], 0);
        assert_eq!(body["feed"]["created_at"], body["feed"]["updated_at"]);
        // The created feed is what a later read shows.
        let shown = curl(&app, "GET", "/api/users/wes/feeds/spyeye", &[("Accept", V0)], None);
        assert_eq!(v0_json(&shown, 200), body);
    }

    fn the_create_indicator_example_answers_201_with_the_wrapped_indicator(app) {
        let wes = wes_with_zeus(&app);
        let path = "/api/users/wes/feeds/zeus/indicators";
        // $ curl -XPOST -H "Content-Type: application/json" https://csirtg.io/api/users/wes/feeds/zeus/indicators -d '…'
        let printed = curl(&app, "POST", path, &[("Content-Type", "application/json")], Some(CREATE_INDICATOR_BODY));
        printed.assert_error(401, "authentication_required");

        let headers: [(&str, &str); 3] = [("Accept", V0), ("Authorization", &auth(&wes)), ("Content-Type", "application/json")];
        let res = curl(&app, "POST", path, &headers, Some(CREATE_INDICATOR_BODY));
        let body = v0_json(&res, 201);
        // The page's answer names the feed `spyeye` and the tags `spyeye, bot` although the
        // request posted `zeus, bot` into `zeus`: the feed is always the one in the path and the
        // tags are the ones sent (spec §3.4, §6.6.1).
        let mut expected = page(PAGE_CREATE_INDICATOR);
        expected["indicator"]["tags"] = json!(["zeus", "bot"]);
        expected["indicator"]["feed"] = json!("zeus");
        expected["indicator"]["location"] = json!("https://csirtg.io/api/users/wes/feeds/zeus/indicators/50347");
        assert_like_page(&app, &body, &expected, "indicator");
        assert_v0_indicator(&app, &body, "indicator");
        let i = &body["indicator"];
        assert_eq!(i["itype"], "fqdn");
        assert_eq!(i["count"], 1);
        assert_eq!(i["firsttime"], Value::Null);
        assert_eq!(i["comments_count"], 1);
        assert_eq!(res.header("location"), i["location"].as_str(), "the Location header is the body's location");

        // Replaying the same command upserts (spec §9 item 7): 200, same id, one more sighting
        // and comment, the tags unchanged.
        let again = curl(&app, "POST", path, &headers, Some(CREATE_INDICATOR_BODY));
        let upsert = v0_json(&again, 200);
        assert_v0_indicator(&app, &upsert, "upsert");
        let u = &upsert["indicator"];
        assert_eq!(u["id"], i["id"]);
        assert_eq!(u["count"], 2);
        assert_eq!(u["tags"], json!(["zeus", "bot"]));
        assert_eq!(u["comments_count"], 2);
        assert_eq!(u["created_at"], i["created_at"]);
        let texts: Vec<&Value> = u["comments"].as_array().unwrap().iter().map(|c| &c["comment"]["text"]).collect();
        assert_eq!(texts, [&json!("this will pwn you!"), &json!("this will pwn you!")]);
    }

    fn the_parameter_table_forms_are_accepted_and_filtered(app) {
        let wes = wes_with_zeus(&app);
        let headers: [(&str, &str); 3] = [("Accept", V0), ("Authorization", &auth(&wes)), ("Content-Type", "application/json")];
        let path = "/api/users/wes/feeds/zeus/indicators";
        // Every parameter of the page's table in its documented form: `application` and `tags`
        // comma-separated one-word lists, `protocol` an integer, times `YYYY-MM-DDTHH:MM:SSZ`,
        // port lists hyphenated or comma-separated.
        let old = r#"{"indicator": {"thing": "203.0.113.9", "application": "ssh,telnet", "tags": "scanner,ssh", "description": "brute force", "firsttime": "2015-02-20T14:13:09Z", "lasttime": "2015-02-28T14:22:00Z", "portlist": "22,2222-2224", "portlist_src": "1024-65535", "protocol": 6}}"#;
        let res = curl(&app, "POST", path, &headers, Some(old));
        let body = v0_json(&res, 201);
        assert_v0_indicator(&app, &body, "indicator");
        let i = &body["indicator"];
        assert_eq!(i["thing"], "203.0.113.9");
        assert_eq!(i["tags"], json!(["scanner", "ssh", "telnet"]), "application words merge into tags");
        assert_eq!(i["description"], "brute force");
        assert_eq!(i["firsttime"], "2015-02-20 14:13:09 UTC");
        assert_eq!(i["lasttime"], "2015-02-28 14:22:00 UTC");
        assert_eq!(i["portlist"], "22,2222-2224");
        assert_eq!(i["portlist_src"], "1024-65535");
        assert_eq!(i["protocol"], 6);
        let udp = r#"{"indicator": {"thing": "2001:db8::5", "protocol": 17}}"#;
        let res = curl(&app, "POST", path, &headers, Some(udp));
        assert_eq!(v0_json(&res, 201)["indicator"]["protocol"], 17);

        // `lasttime` as an integer: "greater than or equal to 3 days ago". The 2015 sighting
        // is older; the IPv6 one has no lasttime, so its creation time counts (spec §7.1).
        let recent = curl(&app, "GET", "/api/users/wes/feeds/zeus?lasttime=3", &[("Accept", V0), ("Authorization", &auth(&wes))], None);
        let recent = v0_json(&recent, 200);
        let things: Vec<&Value> = recent["feed"]["indicators"].as_array().unwrap().iter().map(|i| &i["indicator"]["thing"]).collect();
        assert_eq!(things, [&json!("2001:db8::5")]);
        let since = curl(&app, "GET", "/api/users/wes/feeds/zeus?lasttime=2015-02-28T14:22:00Z", &[("Accept", V0)], None);
        assert_eq!(v0_json(&since, 200)["feed"]["indicators"].as_array().unwrap().len(), 2, "≥ compares inclusively");
        let after = curl(&app, "GET", "/api/users/wes/feeds/zeus/indicators?lasttime=2015-02-28T14:22:01Z", &[("Accept", V0)], None);
        let listed = v0_json(&after, 200);
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_v0_indicator(&app, &listed[0], "list[0]");
    }
}
