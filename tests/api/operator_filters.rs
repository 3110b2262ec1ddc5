//! The operator filters `asn=`, `cc=` and `provider=` (issue 20): on feed pages, indicator
//! lists, exports and search (with and without `q`), bad values, paging and the index plans
//! of a search without `q`.

use std::collections::BTreeSet;

use feedgate::domain::viewer::Viewer;
use feedgate::models::indicator::Shown;
use feedgate::models::search::{self, Filters, Match};
use serde_json::json;

use crate::helpers::*;

/// A Shadowserver scan report: four addresses of three autonomous systems and three countries
/// (one written in lower case, stored upper-case).
const REPORT: &str = "timestamp,ip,port,tag,asn,geo\r\n\
    2024-01-04 08:04:31,5.188.12.1,443,ssl,64500,DE\r\n\
    2024-01-04 08:04:32,5.188.12.2,443,ssl,64500,FR\r\n\
    2024-01-04 08:04:33,5.188.12.3,443,ssl,AS64501,de\r\n\
    2024-01-04 08:04:34,5.188.12.4,443,ssl,64502,US\r\n";

fn import(app: &TestApp, token: &str, user: &str, feed: &str, csv: &str) {
    let auth = format!("Token token={token}");
    let path = format!(
        "/api/users/{user}/feeds/{feed}/imports/shadowserver?filename=2024-01-04-scan_ssl.csv"
    );
    let res = app.request(
        "POST",
        &path,
        &[("Authorization", &auth), ("Content-Type", "text/csv")],
        Some(csv.as_bytes()),
    );
    res.assert_status(200);
}

/// alice's public feed `ss`: the report plus one API-written row of another provider; bob's
/// private feed holds one more row of AS64500 in DE.
fn seed(app: &TestApp) -> (String, String) {
    let alice = app.user_with_token("alice");
    app.create_feed(&alice, "alice", "ss", false)
        .assert_status(201);
    import(app, &alice, "alice", "ss", REPORT);
    app.post_indicator(
        &alice,
        "alice",
        "ss",
        &json!({"indicator": "5.188.12.9", "provider": "honeypot"}),
    )
    .assert_status(201);
    let bob = app.user_with_token("bob");
    app.create_feed(&bob, "bob", "hidden", true)
        .assert_status(201);
    import(
        app,
        &bob,
        "bob",
        "hidden",
        "timestamp,ip,port,tag,asn,geo\r\n2024-01-04 08:04:35,5.188.12.7,443,ssl,64500,DE\r\n",
    );
    (alice, bob)
}

fn set(values: &[&str]) -> BTreeSet<String> {
    values.iter().map(|v| v.to_string()).collect()
}

fn listed(app: &TestApp, token: &str, path: &str) -> BTreeSet<String> {
    let body = app.get_v1(token, path).assert_status(200).json();
    body.as_array()
        .unwrap()
        .iter()
        .map(|i| i["indicator"].as_str().unwrap().to_string())
        .collect()
}

fn searched(app: &TestApp, token: Option<&str>, query: &str) -> BTreeSet<String> {
    app.search_values(token, query).into_iter().collect()
}

both_backends! {
    fn feed_pages_lists_and_exports_keep_exactly_the_matching_rows(app) {
        let (alice, _) = seed(&app);
        let cases: [(&str, &[&str]); 9] = [
            ("asn=64500", &["5.188.12.1", "5.188.12.2"]),
            ("asn=AS64501,64502", &["5.188.12.3", "5.188.12.4"]),
            ("cc=de", &["5.188.12.1", "5.188.12.3"]),
            ("cc=DE,us", &["5.188.12.1", "5.188.12.3", "5.188.12.4"]),
            ("asn=64500&cc=FR", &["5.188.12.2"]),
            ("provider=shadowserver", &["5.188.12.1", "5.188.12.2", "5.188.12.3", "5.188.12.4"]),
            ("provider=honeypot", &["5.188.12.9"]),
            ("provider=Shadowserver", &[]),
            ("asn=64999", &[]),
        ];
        for (query, want) in cases {
            let want = set(want);
            assert_eq!(listed(&app, &alice, &format!("/api/users/alice/feeds/ss/indicators?{query}")), want, "list {query}");
            let page = app.get_as(&alice, &format!("/api/users/alice/feeds/ss?{query}")).assert_status(200).json();
            let shown: BTreeSet<String> = page["feed"]["indicators"].as_array().unwrap().iter()
                .map(|i| i["indicator"]["thing"].as_str().unwrap().to_string()).collect();
            assert_eq!(shown, want, "feed page {query}");
            let txt = app.get_as(&alice, &format!("/api/users/alice/feeds/ss.txt?{query}")).assert_status(200).body.clone();
            let lines: BTreeSet<String> = txt.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(str::to_string).collect();
            assert_eq!(lines, want, "txt {query}\n{txt}");
            let csv = app.get_as(&alice, &format!("/api/users/alice/feeds/ss.csv?{query}")).assert_status(200).body.clone();
            for v in ["5.188.12.1", "5.188.12.2", "5.188.12.3", "5.188.12.4", "5.188.12.9"] {
                assert_eq!(csv.contains(&format!("{v},")), want.contains(v), "csv {query} {v}\n{csv}");
            }
            let json = app.get_v1(&alice, &format!("/api/users/alice/feeds/ss.json?{query}")).assert_status(200).json();
            assert_eq!(json.as_array().unwrap().len(), want.len(), "json {query}");
            app.get_as(&alice, &format!("/api/users/alice/feeds/ss/exclusions?{query}")).assert_status(200);
        }
    }

    fn search_filters_with_and_without_q(app) {
        let (alice, bob) = seed(&app);
        // With `q`: row filters on the match.
        assert_eq!(searched(&app, None, "q=5.188.12.0/24&asn=64500"), set(&["5.188.12.1", "5.188.12.2"]));
        assert_eq!(searched(&app, None, "q=5.188.12.0/24&cc=de&provider=shadowserver"), set(&["5.188.12.1", "5.188.12.3"]));
        assert_eq!(searched(&app, None, "q=5.188.12.9&provider=honeypot"), set(&["5.188.12.9"]));
        assert!(searched(&app, None, "q=5.188.12.1&cc=FR").is_empty());
        // Without `q`: driven by `asn` or `cc`, visibility as ever (bob's private row only for bob).
        assert_eq!(searched(&app, None, "asn=64500"), set(&["5.188.12.1", "5.188.12.2"]));
        assert_eq!(searched(&app, Some(&alice), "asn=64500"), set(&["5.188.12.1", "5.188.12.2"]));
        assert_eq!(searched(&app, Some(&bob), "asn=64500"), set(&["5.188.12.1", "5.188.12.2", "5.188.12.7"]));
        assert_eq!(searched(&app, Some(&app.admin_token), "asn=64500&feed=hidden"), set(&["5.188.12.7"]));
        assert_eq!(searched(&app, None, "cc=de"), set(&["5.188.12.1", "5.188.12.3"]));
        // The value that drives a search without `q` is one; the other filter may list.
        app.get("/api/search?cc=de,us&asn=64501,64502").assert_error(422, "validation_failed");
        app.get("/api/search?cc=de,us").assert_error(422, "validation_failed");
        assert_eq!(searched(&app, None, "asn=64501&cc=de,us"), set(&["5.188.12.3"]));
        assert_eq!(searched(&app, None, "asn=64500&cc=fr"), set(&["5.188.12.2"]));
        assert!(searched(&app, None, "asn=64500&provider=honeypot").is_empty());
        assert!(searched(&app, None, "cc=JP").is_empty());
        // Neither `q` nor `asn`/`cc`: `q` is still required.
        app.get("/api/search").assert_error(400, "missing_parameter");
        app.get("/api/search?confidence=5").assert_error(400, "missing_parameter");
    }

    fn a_search_without_q_pages_by_cursor(app) {
        let (_, bob) = seed(&app);
        let mut seen = Vec::new();
        let mut path = "/api/search?asn=64500&limit=1".to_string();
        loop {
            let res = app.get_v1(&bob, &path);
            let page = res.assert_status(200).json();
            let page = page.as_array().unwrap();
            assert!(page.len() <= 1);
            for i in page {
                seen.push((i["indicator"].as_str().unwrap().to_string(), i["id"].as_i64().unwrap()));
            }
            match res.header("link") {
                Some(l) => path = l.trim_start_matches('<').split('>').next().unwrap().replace(&app.base, ""),
                None => break,
            }
            assert!(seen.len() <= 5, "{seen:?}");
        }
        let values: BTreeSet<String> = seen.iter().map(|(v, _)| v.clone()).collect();
        assert_eq!(values, set(&["5.188.12.1", "5.188.12.2", "5.188.12.7"]));
        assert_eq!(seen.len(), 3, "no duplicates: {seen:?}");
    }

    fn bad_values_are_422_naming_the_parameter(app) {
        let (alice, _) = seed(&app);
        let many = (1..=21).map(|n| n.to_string()).collect::<Vec<_>>().join(",");
        let bad = [
            ("asn", "x".to_string()), ("asn", "0".to_string()), ("asn", "4294967296".to_string()),
            ("asn", many.clone()), ("cc", "DEU".to_string()), ("cc", "d1".to_string()), ("cc", ",".to_string()),
            ("provider", "%20".to_string()),
        ];
        for (name, value) in &bad {
            for path in [
                format!("/api/users/alice/feeds/ss?{name}={value}"),
                format!("/api/users/alice/feeds/ss/indicators?{name}={value}"),
                format!("/api/users/alice/feeds/ss.csv?{name}={value}"),
                format!("/api/users/alice/feeds/ss.txt?{name}={value}"),
                format!("/api/users/alice/feeds/ss/exclusions?{name}={value}"),
                format!("/api/search?q=5.188.12.1&{name}={value}"),
                // Without `q` only `asn` and `cc` make a search: a bad one is 422 too.
                format!("/api/search?{}&{name}={value}", if *name == "cc" { "asn=64500" } else { "cc=DE" }),
            ] {
                let err = app.get_as(&alice, &path).assert_error(422, "validation_failed");
                assert_eq!(err["details"]["errors"][0]["field"], *name, "{path}");
            }
        }
    }

    fn a_search_without_q_reads_the_asn_and_cc_indexes(app) {
        seed(&app);
        let mut conn = app.pool.get().unwrap();
        let live = Shown { live_at: Some(chrono::Utc::now().naive_utc()), ..Shown::default() };
        // One value each: a list without `q` is refused (422 `one_value_without_q`).
        for (m, index) in [(Match::Asn(vec![64500]), "indicators_asn"), (Match::Cc(vec!["DE".into()]), "indicators_cc")] {
            for filters in [
                Filters::default(),
                Filters { viewer: Viewer::Anonymous, shown: live.clone(), ..Default::default() },
                Filters { viewer: Viewer::User(2), tags: vec!["x".into()], shown: Shown { provider: Some("p".into()), min_confidence: Some(5.0), ..live.clone() }, ..Default::default() },
            ] {
                let plan = search::explain(&mut conn, &m, &filters, 26).unwrap();
                if app.db.url.starts_with("sqlite") {
                    assert!(!plan.contains("SCAN indicators"), "{m:?}: full scan\n{plan}");
                    assert!(plan.contains(&format!("INDEX {index} ")), "{m:?}\n{plan}");
                } else {
                    assert!(!plan.contains("Seq Scan on indicators"), "{m:?}: full scan\n{plan}");
                    assert!(plan.contains(index), "{m:?}\n{plan}");
                }
            }
        }
    }
}
