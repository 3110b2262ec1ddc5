//! Search semantics (spec §8), visibility, filters, paging, and the index-backed plans.

use feedgate::domain::thing::Thing;
use feedgate::models::search::{self, Filters, Match};
use serde_json::json;

use crate::helpers::*;

fn seed(app: &TestApp) -> String {
    let alice = app.user_with_token("alice");
    app.create_feed(&alice, "alice", "mixed", false)
        .assert_status(201);
    let values = [
        "198.51.100.23",
        "198.51.100.24",
        "198.51.100.0/24",
        "198.51.0.0/16",
        "198.51.100.128/25",
        "2001:db8:4::17",
        "2001:db8:4::/48",
        "example.net",
        "login-verify.example.net",
        "a.b.example.net",
        "badexample.net",
        "example.net.evil.example",
        "http://login-verify.example.net/account/update",
        "https://example.net:8443/x",
        "http://evil.example/?u=example.net",
        "billing@example.net",
        "x@mail.example.net",
        "d41d8cd98f00b204e9800998ecf8427e",
        "http://198.51.100.23/gate.php",
    ];
    let items: Vec<_> = values.iter().map(|v| json!({"indicator": v, "tags": if v.contains("example.net") { "phishing" } else { "scanner" }})).collect();
    app.send_as(
        "POST",
        &alice,
        "/api/users/alice/feeds/mixed/indicators_bulk",
        &json!({"indicators": items}),
    )
    .assert_status(200);
    alice
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

both_backends! {
    fn an_address_finds_networks_of_any_stored_length_whichever_way_they_were_written(app) {
        // A search probes only the prefix lengths stored (`ip_prefixes`): each way of writing
        // a network must record its length, or the network is never found by address.
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "nets", false).assert_status(201);
        assert!(app.search_values(None, "q=192.3.4.5").is_empty());
        app.post_indicator(&alice, "alice", "nets", &json!({"indicator": "192.0.0.0/13"}))
            .assert_status(201);
        app.send_as("POST", &alice, "/api/users/alice/feeds/nets/indicators_bulk",
            &json!({"indicators": [{"indicator": "172.16.0.0/12"}, {"indicator": "2001:db8:8000::/33"}]}))
            .assert_status(200);
        let csv = "\"timestamp\",\"ip\",\"tag\"\n\"2024-01-01 00:00:00\",\"10.8.0.0/14\",\"scan\"\n";
        let r = app.request("POST", "/api/users/alice/feeds/nets/imports/shadowserver?type=blocklist",
            &[("Authorization", &format!("Token token={alice}")), ("Content-Type", "text/csv")],
            Some(csv.as_bytes()));
        assert_eq!(r.assert_status(200).json()["indicators_created"], 1, "{}", r.json());
        assert_eq!(app.search_values(None, "q=192.3.4.5"), ["192.0.0.0/13"]);
        assert_eq!(app.search_values(None, "q=172.31.255.255"), ["172.16.0.0/12"]);
        assert_eq!(app.search_values(None, "q=2001:db8:ffff::1"), ["2001:db8:8000::/33"]);
        assert_eq!(app.search_values(None, "q=10.11.0.1"), ["10.8.0.0/14"]);
        // Outside every stored network: nothing, whatever lengths are listed.
        assert!(app.search_values(None, "q=192.8.0.1").is_empty());
        assert!(app.search_values(None, "q=10.12.0.1").is_empty());
    }

    fn addresses_match_themselves_and_containing_networks(app) {
        seed(&app);
        assert_eq!(sorted(app.search_values(None, "q=198.51.100.23")), ["198.51.0.0/16", "198.51.100.0/24", "198.51.100.23"]);
        assert_eq!(sorted(app.search_values(None, "q=::ffff:198.51.100.23")), ["198.51.0.0/16", "198.51.100.0/24", "198.51.100.23"]);
        assert_eq!(sorted(app.search_values(None, "q=2001:db8:4::17")), ["2001:db8:4::/48", "2001:db8:4::17"]);
    }

    fn networks_match_what_lies_inside(app) {
        seed(&app);
        assert_eq!(sorted(app.search_values(None, "q=198.51.100.0/24")),
            ["198.51.100.0/24", "198.51.100.128/25", "198.51.100.23", "198.51.100.24"]);
        app.get("/api/search?q=198.51.100.77/24").assert_error(422, "invalid_query");
        app.get("/api/search?q=10.0.0.0/7").assert_error(422, "cidr_too_broad");
        app.get("/api/search?q=2001:db8::/31").assert_error(422, "cidr_too_broad");
    }

    fn names_match_subdomains_urls_and_emails(app) {
        seed(&app);
        assert_eq!(sorted(app.search_values(None, "q=EXAMPLE.net.")), [
            "a.b.example.net", "billing@example.net", "example.net", "http://login-verify.example.net/account/update",
            "https://example.net:8443/x", "login-verify.example.net", "x@mail.example.net"]);
    }

    fn urls_emails_and_hashes_match_exactly(app) {
        seed(&app);
        assert_eq!(app.search_values(None, "q=HTTP://Login-Verify.example.net/account/update/"), ["http://login-verify.example.net/account/update"]);
        assert_eq!(app.search_values(None, "q=Billing@Example.net"), ["billing@example.net"]);
        assert_eq!(app.search_values(None, "q=D41D8CD98F00B204E9800998ECF8427E"), ["d41d8cd98f00b204e9800998ecf8427e"]);
        assert!(app.search_values(None, "q=203.0.113.9").is_empty(), "no hit is [] with 200");
        for bad in ["foo", "1.2.3", "localhost"] {
            app.get(&format!("/api/search?q={bad}")).assert_error(422, "invalid_query");
        }
        app.get("/api/search").assert_error(400, "missing_parameter");
        app.get("/api/search?q=").assert_error(400, "missing_parameter");
    }

    fn filters_combine(app) {
        let alice = seed(&app);
        assert_eq!(sorted(app.search_values(None, "q=example.net&itype=url,email")), [
            "billing@example.net", "http://login-verify.example.net/account/update", "https://example.net:8443/x", "x@mail.example.net"]);
        assert_eq!(app.search_values(None, "q=198.51.100.23&tags=phishing").len(), 0);
        assert_eq!(app.search_values(None, "q=198.51.100.23&tags=scanner&user=alice&feed=mixed").len(), 3);
        assert!(app.search_values(None, "q=198.51.100.23&user=bob").is_empty());
        // A range's page is chosen with the user and feed filters as subqueries on `feeds`.
        let range = app.search_values(None, "q=198.51.100.0/24&limit=100");
        assert_eq!(range.len(), 4, "{range:?}");
        assert_eq!(sorted(app.search_values(None, "q=198.51.100.0/24&user=alice&feed=mixed&limit=100")), sorted(range));
        assert!(app.search_values(None, "q=198.51.100.0/24&user=bob").is_empty());
        // A next page is linked exactly when more match than the page shows.
        assert!(app.get("/api/search?q=198.51.100.0/24&limit=4").header("link").is_none());
        assert!(app.get("/api/search?q=198.51.100.0/24&limit=3").header("link").is_some());
        assert!(app.get("/api/search?q=198.51.100.23&limit=3").header("link").is_none());
        assert!(app.get("/api/search?q=198.51.100.23&limit=2").header("link").is_some());
        assert!(app.search_values(None, "q=198.51.100.0/24&feed=other").is_empty());
        assert!(app.search_values(None, "q=example.net&user=alice&feed=nothing").is_empty());
        app.get("/api/search?q=example.net&itype=domain").assert_error(400, "invalid_parameter");
        app.get("/api/search?q=example.net&colour=red").assert_error(400, "unknown_parameter");
        assert_eq!(app.search_values(Some(&alice), "q=example.net&lasttime=1").len(), 7);
        assert!(app.search_values(Some(&alice), "q=example.net&lasttime=2000-01-01T00:00:00Z").len() == 7);
    }

    fn search_pages_with_a_cursor(app) {
        seed(&app);
        let mut all = Vec::new();
        let mut path = "/api/search?q=example.net&limit=3".to_string();
        loop {
            let res = app.request("GET", &path, &[("Accept", "application/vnd.csirtg.v1")], None);
            for i in res.assert_status(200).json().as_array().unwrap() {
                all.push(i["id"].as_i64().unwrap());
            }
            match res.header("link") {
                Some(l) => path = l.trim_start_matches('<').split('>').next().unwrap().replace(&app.base, ""),
                None => break,
            }
        }
        assert_eq!(all.len(), 7);
        let mut sorted_ids = all.clone();
        sorted_ids.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(all, sorted_ids, "newest first (same time: higher id first)");
    }

    fn private_feeds_stay_private(app) {
        let alice = seed(&app);
        let bob = app.user_with_token("bob");
        app.create_feed(&bob, "bob", "secret", true).assert_status(201);
        app.post_indicator(&bob, "bob", "secret", &json!({"indicator": "secret.example.net"})).assert_status(201);
        assert!(app.search_values(Some(&bob), "q=example.net").contains(&"secret.example.net".to_string()));
        assert!(!app.search_values(Some(&alice), "q=example.net").contains(&"secret.example.net".to_string()));
        assert!(!app.search_values(None, "q=example.net").contains(&"secret.example.net".to_string()));
        assert!(app.search_values(Some(&app.admin_token), "q=example.net").contains(&"secret.example.net".to_string()));
    }

    fn anonymous_callers_get_at_most_25(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "many", false).assert_status(201);
        let items: Vec<_> = (0..40).map(|i| json!({"indicator": format!("203.0.113.{i}")})).collect();
        app.send_as("POST", &alice, "/api/users/alice/feeds/many/indicators_bulk", &json!({"indicators": items})).assert_status(200);
        assert_eq!(app.search_values(None, "q=203.0.113.0/24&limit=100").len(), 25);
        assert_eq!(app.search_values(Some(&alice), "q=203.0.113.0/24&limit=100").len(), 40);
        let feed = app.get("/api/users/alice/feeds/many?limit=1000").json();
        assert_eq!(feed["feed"]["indicators"].as_array().unwrap().len(), 25);
    }

    fn every_search_kind_uses_an_index(app) {
        seed(&app);
        let mut conn = app.pool.get().unwrap();
        for q in ["198.51.100.23", "2001:db8:4::17", "198.51.100.0/24", "2001:db8::/32", "example.net",
            "http://example.net/a", "billing@example.net", "d41d8cd98f00b204e9800998ecf8427e"] {
            let m = Match::of(&Thing::parse(q).unwrap());
            for filters in [Filters::default(), Filters { viewer: feedgate::domain::viewer::Viewer::User(2), tags: vec!["x".into()], itypes: vec!["url".into()], ..Default::default() }] {
                let plan = search::explain(&mut conn, &m, &filters, 26).unwrap();
                let sqlite = app.db.url.starts_with("sqlite");
                if sqlite {
                    assert!(!plan.contains("SCAN indicators"), "{q}: full scan\n{plan}");
                    assert!(plan.contains("USING INDEX indicators_") || plan.contains("USING COVERING INDEX indicators_"), "{q}\n{plan}");
                } else {
                    assert!(!plan.contains("Seq Scan on indicators"), "{q}: full scan\n{plan}");
                    assert!(plan.contains("on indicators"), "{q}\n{plan}");
                    assert!(plan.contains("Index"), "{q}\n{plan}");
                }
            }
        }
    }
}
