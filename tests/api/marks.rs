//! Issue 19's indicator fields: `confidence`, `tlp` and `expires_at` on every write and read;
//! the TLP rule (AMBER and RED only for the owner and admins, on every route), live rows only
//! unless `expired=include`, and the `confidence`/`tlp` filters.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::*;

/// alice's public feed `f` holding one indicator per TLP level (unmarked: the feed's CLEAR).
fn levels(app: &TestApp) -> String {
    let alice = app.user_with_token("alice");
    app.create_feed(&alice, "alice", "f", false)
        .assert_status(201);
    for (value, tlp) in [
        ("1.1.1.10", Value::Null),
        ("1.1.1.11", json!("green")),
        ("1.1.1.12", json!("amber")),
        ("1.1.1.13", json!("TLP:AMBER+STRICT")),
        ("1.1.1.14", json!("red")),
    ] {
        app.post_indicator(&alice, "alice", "f", &json!({"thing": value, "tlp": tlp}))
            .assert_status(201);
    }
    alice
}

/// The values of a v1 list or search answer.
fn values(body: &Value) -> Vec<String> {
    let mut out: Vec<String> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["indicator"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// The values of a CSV export (its second column).
fn csv_values(body: &str) -> Vec<String> {
    let mut out: Vec<String> = body
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// GET as `token` (anonymous when `None`), v1.
fn read(app: &TestApp, token: Option<&str>, path: &str) -> TestResponse {
    match token {
        Some(t) => app.get_v1(t, path),
        None => app.request(
            "GET",
            path,
            &[("Accept", "application/vnd.csirtg.v1")],
            None,
        ),
    }
}

/// What `token` sees of alice's feed `f`: the feed page, the indicator list, a search, and the
/// CSV, JSON and txt exports (each sorted); all must agree.
fn seen(app: &TestApp, token: Option<&str>, query: &str) -> Vec<String> {
    let page = read(app, token, &format!("/api/users/alice/feeds/f?{query}"));
    let page = values(&page.assert_status(200).json()["indicators"]);
    let list = read(
        app,
        token,
        &format!("/api/users/alice/feeds/f/indicators?{query}"),
    );
    assert_eq!(
        values(&list.assert_status(200).json()),
        page,
        "list {query}"
    );
    let search = read(app, token, &format!("/api/search?q=1.1.1.0/24&{query}"));
    assert_eq!(
        values(&search.assert_status(200).json()),
        page,
        "search {query}"
    );
    let csv = read(app, token, &format!("/api/users/alice/feeds/f.csv?{query}"));
    assert_eq!(
        csv_values(&csv.assert_status(200).body),
        page,
        "csv {query}"
    );
    let json_export = read(
        app,
        token,
        &format!("/api/users/alice/feeds/f.json?{query}"),
    );
    assert_eq!(
        values(&json_export.assert_status(200).json()),
        page,
        "json {query}"
    );
    let txt = read(app, token, &format!("/api/users/alice/feeds/f.txt?{query}"));
    let mut lines: Vec<String> = txt
        .assert_status(200)
        .body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_owned)
        .collect();
    lines.sort();
    assert_eq!(lines, page, "txt {query}");
    page
}

fn vals(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

both_backends! {
    fn the_fields_are_written_merged_and_shown_in_both_versions(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        app.create_feed(&alice, "alice", "p", true).assert_status(201);
        let res = app.post_indicator(&alice, "alice", "f", &json!({"indicator": {"thing": "1.2.3.4",
            "confidence": 7.5, "tlp": "white", "expires_at": "2030-01-02T03:04:05Z"}}));
        let v0 = res.assert_status(201).json();
        let i = &v0["indicator"];
        assert_eq!((i["confidence"].as_f64(), i["tlp"].as_str()), (Some(7.5), Some("clear")));
        assert_eq!(i["expires_at"], "2030-01-02 03:04:05 UTC");
        let id = i["id"].as_i64().unwrap();
        let path = format!("/api/users/alice/feeds/f/indicators/{id}");
        let v1 = app.get_v1(&alice, &path).json();
        assert_eq!(v1["expires_at"], "2030-01-02T03:04:05Z");
        assert_eq!(v1["tlp"], "clear");
        // A re-submission replaces what it gives and keeps the rest.
        let again = app.post_indicator(&alice, "alice", "f", &json!({"thing": "1.2.3.4", "confidence": "3"}));
        let again = again.assert_status(200).json();
        assert_eq!(again["indicator"]["confidence"], 3.0);
        assert_eq!(again["indicator"]["expires_at"], "2030-01-02 03:04:05 UTC", "never moved earlier");
        // PATCH: null clears confidence, returns the level to the feed's default, never expires.
        let patched = app.send_as("PATCH", &alice, &path, &json!({"confidence": null, "tlp": null, "expires_at": null}));
        let patched = patched.assert_status(200).json();
        assert!(patched["indicator"]["confidence"].is_null());
        assert_eq!(patched["indicator"]["tlp"], "clear");
        assert!(patched["indicator"]["expires_at"].is_null());
        let patched = app.send_as("PATCH", &alice, &path, &json!({"tlp": "green", "confidence": 10}));
        assert_eq!(patched.assert_status(200).json()["indicator"]["tlp"], "green");
        // Defaults: an address lives 21 days, a name 45; a private feed's indicators are AMBER.
        let now = app.clock.now();
        for (value, feed, days, tlp) in [("5.6.7.8", "f", 21, "clear"), ("bad-host.net", "p", 45, "amber")] {
            let body = app.post_indicator(&alice, "alice", feed, &json!({"thing": value}));
            let i = body.assert_status(201).json()["indicator"].clone();
            assert_eq!(i["tlp"], tlp);
            assert!(i["confidence"].is_null());
            let expires = chrono::NaiveDateTime::parse_from_str(i["expires_at"].as_str().unwrap(), "%Y-%m-%d %H:%M:%S UTC").unwrap();
            assert!((expires - now - Duration::days(days)).num_seconds().abs() < 60, "{value}: {expires}");
        }
        // Bulk reads the same members.
        let bulk = app.send_as("POST", &alice, "/api/users/alice/feeds/f/indicators_bulk",
            &json!({"indicators": [{"indicator": "9.9.9.1", "confidence": 2, "tlp": "green"}, {"indicator": "9.9.9.2", "expires_at": null}]}));
        bulk.assert_status(200);
        let list = app.get_v1(&alice, "/api/users/alice/feeds/f/indicators?limit=50").json();
        let one = list.as_array().unwrap().iter().find(|i| i["indicator"] == "9.9.9.1").unwrap();
        assert_eq!((one["confidence"].as_f64(), one["tlp"].as_str()), (Some(2.0), Some("green")));
        let two = list.as_array().unwrap().iter().find(|i| i["indicator"] == "9.9.9.2").unwrap();
        assert!(two["expires_at"].is_null());
    }

    fn bad_confidence_tlp_and_expiry_are_422_naming_the_field(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        for (body, field, code) in [
            (json!({"thing": "1.2.3.4", "confidence": 11}), "confidence", "out_of_range"),
            (json!({"thing": "1.2.3.4", "confidence": "high"}), "confidence", "invalid_format"),
            (json!({"thing": "1.2.3.4", "confidence": [1]}), "confidence", "invalid_type"),
            (json!({"indicator": {"thing": "1.2.3.4", "tlp": "blue"}}), "indicator.tlp", "invalid_tlp"),
            (json!({"thing": "1.2.3.4", "expires_at": "soon"}), "expires_at", "invalid_format"),
        ] {
            let res = app.post_indicator(&alice, "alice", "f", &body);
            let err = res.assert_error(422, "validation_failed");
            assert_eq!(err["details"]["errors"][0]["field"], field, "{body}");
            assert_eq!(err["details"]["errors"][0]["code"], code, "{body}");
        }
        let res = app.send_as("POST", &alice, "/api/users/alice/feeds/f/indicators_bulk",
            &json!({"indicators": [{"indicator": "1.2.3.4"}, {"indicator": "1.2.3.5", "tlp": 3}]}));
        let err = res.assert_error(422, "validation_failed");
        assert_eq!(err["details"]["errors"][0]["field"], "indicators[1].tlp");
        for query in ["confidence=11", "tlp=purple", "expired=maybe"] {
            let res = app.get_as(&alice, &format!("/api/users/alice/feeds/f?{query}"));
            let err = res.assert_error(422, "validation_failed");
            assert_eq!(err["details"]["errors"][0]["field"], query.split('=').next().unwrap());
        }
        // Nothing was written.
        assert_eq!(app.get_v1(&alice, "/api/users/alice/feeds/f/indicators").json(), json!([]));
    }

    fn amber_and_red_reach_only_the_owner_and_admins_on_every_route(app) {
        let alice = levels(&app);
        let bob = app.user_with_token("bob");
        let open = vals(&["1.1.1.10", "1.1.1.11"]);
        let all = vals(&["1.1.1.10", "1.1.1.11", "1.1.1.12", "1.1.1.13", "1.1.1.14"]);
        assert_eq!(seen(&app, None, ""), open);
        assert_eq!(seen(&app, Some(bob.as_str()), ""), open);
        assert_eq!(seen(&app, Some(alice.as_str()), ""), all);
        assert_eq!(seen(&app, Some(app.admin_token.as_str()), ""), all);
        // `tlp=` narrows; it never widens past the rule.
        assert_eq!(seen(&app, Some(alice.as_str()), "tlp=amber,red"), vals(&["1.1.1.12", "1.1.1.14"]));
        assert_eq!(seen(&app, Some(bob.as_str()), "tlp=amber,red"), Vec::<String>::new());
        assert_eq!(seen(&app, Some(bob.as_str()), "tlp=clear"), vals(&["1.1.1.10"]));
        // Single reads: 404 as if missing, comments too.
        let list = app.get_v1(&alice, "/api/users/alice/feeds/f/indicators").json();
        for i in list.as_array().unwrap() {
            let path = format!("/api/users/alice/feeds/f/indicators/{}", i["id"]);
            let restricted = ["amber", "amber+strict", "red"].contains(&i["tlp"].as_str().unwrap());
            let want = if restricted { 404 } else { 200 };
            assert_eq!(app.get_as(&bob, &path).status, want, "{i}");
            assert_eq!(app.get(&format!("{path}/comments")).status, want, "{i}");
            app.get_as(&alice, &path).assert_status(200);
        }
        // Consumer formats follow the same rule.
        let zeek = app.get_as(&bob, "/api/users/alice/feeds/f.zeek").body.clone();
        assert!(zeek.contains("1.1.1.11") && !zeek.contains("1.1.1.12") && !zeek.contains("1.1.1.14"), "{zeek}");
    }

    fn expired_indicators_leave_every_read_until_asked_for(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        // A past campaign, stored already expired; an address (21 days); a name (45 days);
        // one that never expires.
        for body in [
            json!({"thing": "1.1.1.20", "expires_at": "2020-01-01T00:00:00Z"}),
            json!({"thing": "1.1.1.21"}),
            json!({"thing": "1.1.1.22", "expires_at": null}),
            json!({"thing": "1.1.1.23"}),
        ] {
            app.post_indicator(&alice, "alice", "f", &body).assert_status(201);
        }
        let live = vals(&["1.1.1.21", "1.1.1.22", "1.1.1.23"]);
        assert_eq!(seen(&app, Some(alice.as_str()), ""), live);
        assert_eq!(seen(&app, None, ""), live);
        assert_eq!(seen(&app, Some(alice.as_str()), "expired=include").len(), 4);
        // 15 days on, 1.1.1.23 is submitted again: its 21 days start over.
        app.clock.advance(Duration::days(15));
        app.post_indicator(&alice, "alice", "f", &json!({"thing": "1.1.1.23"})).assert_status(200);
        app.clock.advance(Duration::days(10));
        assert_eq!(seen(&app, Some(alice.as_str()), ""), vals(&["1.1.1.22", "1.1.1.23"]));
        assert_eq!(seen(&app, Some(alice.as_str()), "expired=include").len(), 4);
        // The expired row is still readable by id (it is the object itself).
        let all = app.get_v1(&alice, "/api/users/alice/feeds/f/indicators?expired=include").json();
        let gone = all.as_array().unwrap().iter().find(|i| i["indicator"] == "1.1.1.21").unwrap();
        app.get_as(&alice, &format!("/api/users/alice/feeds/f/indicators/{}", gone["id"])).assert_status(200);
    }

    fn confidence_filters_every_read(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        for (value, confidence) in [("1.1.1.30", json!(9)), ("1.1.1.31", json!(5)), ("1.1.1.32", json!(4.9)), ("1.1.1.33", Value::Null)] {
            app.post_indicator(&alice, "alice", "f", &json!({"thing": value, "confidence": confidence})).assert_status(201);
        }
        assert_eq!(seen(&app, None, "confidence=5"), vals(&["1.1.1.30", "1.1.1.31"]));
        assert_eq!(seen(&app, None, "confidence=0").len(), 3);
        assert_eq!(seen(&app, None, "").len(), 4);
    }

    fn a_feed_may_set_its_own_lifetimes(app) {
        let alice = app.user_with_token("alice");
        let made = app.send_as("POST", &alice, "/api/users/alice/feeds",
            &json!({"feed": {"name": "short", "lifetimes": "ip=2, url=1"}}));
        assert_eq!(made.assert_status(201).json()["feed"]["lifetimes"], "ipv4=2,ipv6=2,url=1");
        for (body, field) in [(json!({"name": "x", "lifetimes": "ipv4=0"}), "lifetimes"),
                              (json!({"name": "x", "lifetimes": "nope=3"}), "lifetimes"),
                              (json!({"name": "x", "lifetimes": 7}), "lifetimes")] {
            let res = app.send_as("POST", &alice, "/api/users/alice/feeds", &json!({"feed": body}));
            let err = res.assert_error(422, "validation_failed");
            assert_eq!(err["details"]["errors"][0]["field"], field);
        }
        let now = app.clock.now();
        for (value, days) in [("1.1.1.40", 2), ("http://bad-host.net/x", 1), ("bad-host.net", 45)] {
            let res = app.post_indicator(&alice, "alice", "short", &json!({"thing": value}));
            let i = res.assert_status(201).json()["indicator"].clone();
            let expires = chrono::NaiveDateTime::parse_from_str(i["expires_at"].as_str().unwrap(), "%Y-%m-%d %H:%M:%S UTC").unwrap();
            assert!((expires - now - Duration::days(days)).num_seconds().abs() < 60, "{value}: {expires}");
        }
        // Bulk follows the feed too; `null` returns the feed to the server's lifetimes.
        app.send_as("POST", &alice, "/api/users/alice/feeds/short/indicators_bulk",
            &json!({"indicators": [{"indicator": "1.1.1.41"}]})).assert_status(200);
        app.clock.advance(Duration::days(3));
        assert_eq!(app.get_v1(&alice, "/api/users/alice/feeds/short/indicators").json().as_array().unwrap().len(), 1);
        let patched = app.send_as("PATCH", &alice, "/api/users/alice/feeds/short", &json!({"feed": {"lifetimes": null}}));
        assert!(patched.assert_status(200).json()["feed"]["lifetimes"].is_null());
        let i = app.post_indicator(&alice, "alice", "short", &json!({"thing": "1.1.1.42"})).json()["indicator"].clone();
        let expires = chrono::NaiveDateTime::parse_from_str(i["expires_at"].as_str().unwrap(), "%Y-%m-%d %H:%M:%S UTC").unwrap();
        assert!((expires - app.clock.now() - Duration::days(21)).num_seconds().abs() < 60, "{expires}");
    }
}
