//! Expiry and the purge (issue 19): an expired indicator leaves the feed page, search and the
//! export (and is back with `expired=include`); once the grace period has passed the purge
//! deletes it, frees its owner's quota and its feed's count and counts it in a metric; two
//! gateways on one database purge each cycle once; the purge also runs on its own.

use std::sync::Barrier;

use serde_json::{Value, json};

use crate::helpers::{Backend, Gateway, TestApp, http};

/// Moves the test clock `days` forward, then clear of the next cycle boundary (the purge's
/// cycles are an hour by default), so two runs in one step of a test fall in one cycle.
fn advance_days(app: &TestApp, days: i64) {
    app.clock.advance(chrono::Duration::days(days));
    let secs = app.clock.now().and_utc().timestamp();
    if 3600 - secs.rem_euclid(3600) < 300 {
        app.clock.advance(chrono::Duration::seconds(600));
    }
}

fn time_from_now(app: &TestApp, by: chrono::Duration) -> String {
    (app.clock.now() + by)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// POST /api/admin/purge on a server's base URL as the admin.
fn purge_at(base: &str, admin: &str) -> Value {
    let auth = format!("Token token={admin}");
    let res = http(
        "POST",
        &format!("{base}/api/admin/purge"),
        &[("Authorization", &auth)],
        None,
    );
    res.assert_status(200);
    res.json()
}

/// A counter's value in a server's `/metrics` (0 when not yet exposed).
fn metric(base: &str, name: &str) -> u64 {
    let body = http("GET", &format!("{base}/metrics"), &[], None).body;
    body.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// The values of a feed page as its owner sees it (v1), with an optional query.
fn page_values(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let res = app.get_v1(
        token,
        &format!("/api/users/alice/feeds/f/indicators?limit=500{query}"),
    );
    let mut values: Vec<String> = res
        .assert_status(200)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["indicator"].as_str().unwrap().to_string())
        .collect();
    values.sort();
    values
}

/// The values of the feed's CSV export.
fn export_values(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let res = app.get_as(token, &format!("/api/users/alice/feeds/f.csv{query}"));
    let mut values: Vec<String> = res
        .assert_status(200)
        .body
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect();
    values.sort();
    values
}

/// (the owner's indicator usage, the feed's `indicators_count`).
fn counts(app: &TestApp, token: &str) -> (i64, i64) {
    let user = app
        .get_v1(token, "/api/users/alice")
        .assert_status(200)
        .json();
    let feed = app
        .get_v1(token, "/api/users/alice/feeds/f")
        .assert_status(200)
        .json();
    (
        user["usage"]["indicators"].as_i64().unwrap(),
        feed["indicators_count"].as_i64().unwrap(),
    )
}

fn post(app: &TestApp, token: &str, indicator: Value) {
    app.post_indicator(token, "alice", "f", &json!({ "indicator": indicator }))
        .assert_status(201);
}

both_backends! {
    fn an_expired_indicator_is_hidden_then_purged_after_the_grace_period(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let tomorrow = time_from_now(&app, chrono::Duration::days(1));
        post(&app, &alice, json!({"thing": "5.6.7.8", "expires_at": tomorrow}));
        post(&app, &alice, json!({"thing": "5.6.7.9", "expires_at": null}));
        post(&app, &alice, json!({"thing": "5.6.7.10"})); // ipv4: 21 days
        let id = app.get_v1(&alice, "/api/search?q=5.6.7.8").json()[0]["id"].as_i64().unwrap();
        let comments = format!("/api/users/alice/feeds/f/indicators/{id}/comments");
        app.send_as("POST", &alice, &comments, &json!({"comment": "seen"})).assert_status(201);
        assert_eq!(counts(&app, &alice), (3, 3));

        // Expired: gone from the page, search and export; back with expired=include.
        advance_days(&app, 2);
        let all = ["5.6.7.10", "5.6.7.8", "5.6.7.9"];
        assert_eq!(page_values(&app, &alice, ""), ["5.6.7.10", "5.6.7.9"]);
        assert_eq!(page_values(&app, &alice, "&expired=include"), all);
        assert!(app.search_values(Some(&alice), "q=5.6.7.8").is_empty());
        assert_eq!(app.search_values(Some(&alice), "q=5.6.7.8&expired=include"), ["5.6.7.8"]);
        assert_eq!(export_values(&app, &alice, ""), ["5.6.7.10", "5.6.7.9"]);
        assert_eq!(export_values(&app, &alice, "?expired=include"), all);

        // Within the grace period (30 days) nothing is purged.
        let run = purge_at(&app.base, &app.admin_token);
        assert_eq!((run["claimed"].as_bool(), run["purged"].as_u64()), (Some(true), Some(0)), "{run}");
        assert_eq!(counts(&app, &alice), (3, 3));

        // 31 days after its expiry it is deleted: quota and feed count freed, metric counted.
        advance_days(&app, 30);
        let run = purge_at(&app.base, &app.admin_token);
        assert_eq!((run["claimed"].as_bool(), run["purged"].as_u64()), (Some(true), Some(1)), "{run}");
        assert_eq!(counts(&app, &alice), (2, 2));
        assert_eq!(page_values(&app, &alice, "&expired=include"), ["5.6.7.10", "5.6.7.9"]);
        app.get_v1(&alice, &format!("/api/users/alice/feeds/f/indicators/{id}")).assert_error(404, "not_found");
        app.get_v1(&alice, &comments).assert_error(404, "not_found");
        assert_eq!(metric(&app.base, "feedgate_indicators_purged_total"), 1);
        assert_eq!(metric(&app.base, "feedgate_purge_cycles_total"), 2);
        // The admin's view of the usage agrees.
        let usage = app.get_as(&app.admin_token, "/api/admin/users/alice/usage").json();
        assert_eq!(usage["indicators"]["used"], 2);

        // The same cycle again: already claimed, nothing more.
        let run = purge_at(&app.base, &app.admin_token);
        assert_eq!((run["claimed"].as_bool(), run["purged"].as_u64()), (Some(false), Some(0)), "{run}");

        // The default lifetime (21 days) plus the grace: purged too; `never` stays.
        advance_days(&app, 30);
        assert_eq!(purge_at(&app.base, &app.admin_token)["purged"], 1);
        assert_eq!(page_values(&app, &alice, "&expired=include"), ["5.6.7.9"]);
        assert_eq!(counts(&app, &alice), (1, 1));
        assert_eq!(metric(&app.base, "feedgate_indicators_purged_total"), 2);
        // A new indicator counts again.
        post(&app, &alice, json!({"thing": "5.6.7.8"}));
        assert_eq!(counts(&app, &alice), (2, 2));
    }

    fn the_purge_route_is_for_admins_with_write_scope(app) {
        let alice = app.user_with_token("alice");
        app.send_as("POST", &alice, "/api/admin/purge", &json!({})).assert_error(403, "admin_required");
        app.request("POST", "/api/admin/purge", &[], None).assert_error(401, "authentication_required");
        let reader = app.token_for("admin", feedgate::auth::accounts::TokenSpec {
            name: "reader".into(),
            write: false,
            expires_at: None,
        });
        app.send_as("POST", &reader, "/api/admin/purge", &json!({})).assert_error(403, "insufficient_scope");
        app.send_as("POST", &app.admin_token, "/api/admin/purge?now=1", &json!({})).assert_error(400, "unknown_parameter");
    }

    fn many_feeds_and_owners_are_purged_in_batches(app) {
        // Batches of 2 (set on a second gateway): 7 expired rows in 2 feeds of 2 owners.
        let gateway = app.second_gateway(|s| s.purge_batch_rows = 2);
        let alice = app.user_with_token("alice");
        let bob = app.user_with_token("bob");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        app.create_feed(&bob, "bob", "g", false).assert_status(201);
        for i in 0..4 {
            post(&app, &alice, json!({"thing": format!("5.6.8.{i}"), "expires_at": "2001-01-01T00:00:00Z"}));
        }
        post(&app, &alice, json!({"thing": "5.6.8.9"}));
        for i in 0..3 {
            app.post_indicator(&bob, "bob", "g", &json!({"indicator": {"thing": format!("5.6.9.{i}"), "expires_at": "2001-01-01"}}))
                .assert_status(201);
        }
        advance_days(&app, 0);
        let run = purge_at(&gateway.base, &app.admin_token);
        assert_eq!((run["claimed"].as_bool(), run["purged"].as_u64()), (Some(true), Some(7)), "{run}");
        assert_eq!(counts(&app, &alice), (1, 1));
        let bob_usage = app.get_v1(&bob, "/api/users/bob").json()["usage"]["indicators"].clone();
        assert_eq!(bob_usage, 0);
        assert_eq!(app.get_v1(&bob, "/api/users/bob/feeds/g").json()["indicators_count"], 0);
        assert_eq!(metric(&gateway.base, "feedgate_indicators_purged_total"), 7);
    }

    fn the_purge_runs_on_its_own_every_interval(app) {
        // A gateway with one-second cycles purges without being asked.
        let gateway = app.second_gateway(|s| s.purge_interval_secs = 1);
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        post(&app, &alice, json!({"thing": "5.6.7.8", "expires_at": "2001-01-01T00:00:00Z"}));
        post(&app, &alice, json!({"thing": "5.6.7.9"}));
        let mut waited = 0;
        while metric(&gateway.base, "feedgate_indicators_purged_total") < 1 {
            assert!(waited < 600, "no purge within a minute");
            std::thread::sleep(std::time::Duration::from_millis(100));
            waited += 1;
        }
        assert_eq!(page_values(&app, &alice, "&expired=include"), ["5.6.7.9"]);
        assert_eq!(counts(&app, &alice), (1, 1));
        assert!(metric(&gateway.base, "feedgate_purge_cycles_total") >= 1);
    }

    fn two_gateways_purge_each_cycle_once(app) {
        let gateway = app.second_gateway(|_| {});
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        for i in 0..5 {
            post(&app, &alice, json!({"thing": format!("5.6.7.{i}"), "expires_at": "2001-01-01T00:00:00Z"}));
        }
        post(&app, &alice, json!({"thing": "5.6.7.99"}));
        for round in 0..3 {
            advance_days(&app, 1);
            let runs = both_at_once(&app, &gateway);
            let claimed = runs.iter().filter(|r| r["claimed"] == true).count();
            assert_eq!(claimed, 1, "round {round}: one gateway has the cycle: {runs:?}");
            let purged: u64 = runs.iter().map(|r| r["purged"].as_u64().unwrap()).sum();
            assert_eq!(purged, if round == 0 { 5 } else { 0 }, "round {round}: {runs:?}");
            // Again in the same cycle: neither runs it.
            for again in both_at_once(&app, &gateway) {
                assert_eq!((again["claimed"].as_bool(), again["purged"].as_u64()), (Some(false), Some(0)));
            }
        }
        let bases = [app.base.as_str(), gateway.base.as_str()];
        let total = |name| bases.iter().map(|b| metric(b, name)).sum::<u64>();
        assert_eq!(total("feedgate_indicators_purged_total"), 5);
        assert_eq!(total("feedgate_purge_cycles_total"), 3);
        assert_eq!(counts(&app, &alice), (1, 1));
        assert_eq!(page_values(&app, &alice, "&expired=include"), ["5.6.7.99"]);
    }
}

/// Both gateways asked to purge at the same moment.
fn both_at_once(app: &TestApp, gateway: &Gateway) -> Vec<Value> {
    let start = Barrier::new(2);
    let admin = app.admin_token.as_str();
    std::thread::scope(|s| {
        let runs: Vec<_> = [app.base.as_str(), gateway.base.as_str()]
            .into_iter()
            .map(|base| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    purge_at(base, admin)
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    })
}

#[test]
fn a_bad_purge_or_lifetime_setting_stops_the_start() {
    let db = crate::helpers::TestDb::new(Backend::Sqlite);
    for (name, value) in [
        ("FEEDGATE_PURGE_GRACE_DAYS", "-1"),
        ("FEEDGATE_PURGE_INTERVAL_SECS", "0"),
        ("FEEDGATE_PURGE_BATCH_ROWS", "100000"),
        ("FEEDGATE_REPORT_LIFETIMES", "scan_*=0"),
        ("FEEDGATE_REPORT_LIFETIMES", "scan ssl=3"),
    ] {
        let mut cmd = crate::helpers::Binary::command(&db.url);
        let out = cmd
            .env(name, value)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}={value}");
        let err = String::from_utf8_lossy(&out.stderr);
        let flag = name
            .trim_start_matches("FEEDGATE_")
            .to_lowercase()
            .replace('_', "-");
        assert!(err.contains(&format!("--{flag}")), "{name}={value}: {err}");
    }
}
