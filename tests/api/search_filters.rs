//! A search without `q` by any of its filters (issue 20): `itype`, `tags`, `port`,
//! `protocol`, `lasttime`, `user`, `feed` and `provider` alone or together give exactly the
//! matching indicators the caller may read, newest first, each page reading at most the scan
//! budget of the time index (`indicators_time`), never the table.

use std::collections::BTreeSet;

use feedgate::domain::viewer::Viewer;
use feedgate::models::indicator::Shown;
use feedgate::models::search::{self, Filters, Match, RANGE_SCAN_BUDGET};
use serde_json::json;

use crate::helpers::*;

fn set(values: &[&str]) -> BTreeSet<String> {
    values.iter().map(|v| v.to_string()).collect()
}

fn found(app: &TestApp, token: Option<&str>, query: &str) -> BTreeSet<String> {
    app.search_values(token, query).into_iter().collect()
}

/// alice's public `f`, bob's public `g` and private `h`.
fn seed(app: &TestApp) -> (String, String) {
    let alice = app.user_with_token("alice");
    let bob = app.user_with_token("bob");
    app.create_feed(&alice, "alice", "f", false)
        .assert_status(201);
    app.create_feed(&bob, "bob", "g", false).assert_status(201);
    app.create_feed(&bob, "bob", "h", true).assert_status(201);
    for (token, user, feed, body) in [
        (
            &alice,
            "alice",
            "f",
            json!({"thing": "192.0.2.1", "tags": "scanner", "portlist": "22,443", "protocol": "tcp", "lasttime": "2026-01-02T00:00:00Z"}),
        ),
        (
            &alice,
            "alice",
            "f",
            json!({"thing": "example.com", "tags": "phishing", "provider": "honeypot", "lasttime": "2026-01-03T00:00:00Z"}),
        ),
        (
            &alice,
            "alice",
            "f",
            json!({"thing": "192.0.2.2", "tags": "scanner,ssh", "portlist": "6881-6889", "protocol": "udp", "lasttime": "2025-06-01T00:00:00Z"}),
        ),
        (
            &bob,
            "bob",
            "g",
            json!({"thing": "198.51.100.1", "tags": "scanner", "portlist": "443", "protocol": "tcp", "lasttime": "2026-01-04T00:00:00Z"}),
        ),
        (
            &bob,
            "bob",
            "g",
            json!({"thing": "evil.example", "provider": "honeypot", "lasttime": "2026-01-05T00:00:00Z"}),
        ),
        (
            &bob,
            "bob",
            "h",
            json!({"thing": "203.0.113.9", "tags": "scanner", "portlist": "443", "protocol": "tcp", "provider": "honeypot", "lasttime": "2026-01-06T00:00:00Z"}),
        ),
    ] {
        app.post_indicator(token, user, feed, &json!({ "indicator": body }))
            .assert_status(201);
    }
    (alice, bob)
}

both_backends! {
    fn every_filter_alone_finds_exactly_its_indicators(app) {
        let (_, bob) = seed(&app);
        for (query, expected) in [
            ("itype=fqdn", set(&["example.com", "evil.example"])),
            ("itype=ipv4&tags=scanner", set(&["192.0.2.1", "192.0.2.2", "198.51.100.1"])),
            ("tags=ssh", set(&["192.0.2.2"])),
            ("port=443", set(&["192.0.2.1", "198.51.100.1"])),
            ("port=6881-6889", set(&["192.0.2.2"])),
            ("protocol=udp", set(&["192.0.2.2"])),
            ("protocol=6", set(&["192.0.2.1", "198.51.100.1"])),
            ("provider=honeypot", set(&["example.com", "evil.example"])),
            ("lasttime=2026-01-03T00:00:00Z", set(&["example.com", "198.51.100.1", "evil.example"])),
            ("user=bob", set(&["198.51.100.1", "evil.example"])),
            ("feed=f", set(&["192.0.2.1", "example.com", "192.0.2.2"])),
            ("user=alice&feed=g", set(&[])),
        ] {
            assert_eq!(found(&app, None, query), expected, "{query}");
        }
        // The owner also finds their private feed's rows.
        assert_eq!(found(&app, Some(&bob), "port=443"), set(&["192.0.2.1", "198.51.100.1", "203.0.113.9"]));
        assert_eq!(found(&app, Some(&bob), "feed=h"), set(&["203.0.113.9"]));
        // Newest first.
        let order = app.search_values(None, "tags=scanner");
        assert_eq!(order, ["198.51.100.1", "192.0.2.1", "192.0.2.2"]);
        // Bad values, and no filter at all.
        app.get("/api/search?port=0").assert_error(400, "invalid_parameter");
        app.get("/api/search?port=22,80").assert_error(400, "invalid_parameter");
        app.get("/api/search?protocol=sctp").assert_error(400, "invalid_parameter");
        app.get("/api/search?limit=5").assert_error(400, "missing_parameter");
        app.get("/api/search?confidence=5").assert_error(400, "missing_parameter");
    }

    fn a_rare_filter_pages_through_the_scan_budget(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        // The one tagged row is the oldest, behind more than a budget of newer rows.
        app.post_indicator(&alice, "alice", "f", &json!({"indicator": {"thing": "192.0.2.200", "tags": "rare", "lasttime": "2025-01-01T00:00:00Z"}})).assert_status(201);
        let n = RANGE_SCAN_BUDGET as usize + 500;
        for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
            let items: Vec<_> = chunk.iter().map(|i| json!({"thing": format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256), "tags": "common"})).collect();
            app.send_as("POST", &alice, "/api/users/alice/feeds/f/indicators_bulk", &json!({"indicators": items})).assert_status(200);
        }
        let mut path = "/api/search?tags=rare".to_string();
        let mut pages = 0;
        let mut values = Vec::new();
        loop {
            let res = app.get(&path);
            res.assert_status(200);
            pages += 1;
            for hit in res.json().as_array().unwrap() {
                values.push(hit["indicator"]["thing"].as_str().unwrap().to_string());
            }
            match res.header("link") {
                Some(link) => path = link.trim_start_matches('<').split('>').next().unwrap().replace(&app.base, ""),
                None => break,
            }
            assert!(pages < 10, "paging ends");
        }
        assert_eq!(values, ["192.0.2.200"]);
        assert!(pages >= 2, "the first page stopped at the budget");
    }

    fn a_search_without_q_by_other_filters_reads_the_time_index(app) {
        seed(&app);
        let mut conn = app.pool.get().unwrap();
        let live = Shown { live_at: Some(chrono::Utc::now().naive_utc()), ..Shown::default() };
        for filters in [
            Filters { viewer: Viewer::Anonymous, shown: live.clone(), tags: vec!["x".into()], ..Default::default() },
            Filters { viewer: Viewer::User(2), shown: live.clone(), itypes: vec!["fqdn".into()], port: Some("443".into()), protocol: Some(6), ..Default::default() },
            Filters { viewer: Viewer::Admin(1), user: Some("bob".into()), feed: Some("g".into()), ..Default::default() },
        ] {
            let plan = search::explain(&mut conn, &Match::Recent, &filters, 26).unwrap();
            if app.db.url.starts_with("sqlite") {
                assert!(plan.contains("INDEX indicators_time"), "{filters:?}\n{plan}");
                assert!(!plan.contains("USE TEMP B-TREE FOR ORDER BY"), "sorted, not read in order\n{plan}");
            } else {
                assert!(!plan.contains("Seq Scan on indicators"), "full scan\n{plan}");
                assert!(plan.contains("indicators_time"), "{filters:?}\n{plan}");
            }
        }
    }
}
