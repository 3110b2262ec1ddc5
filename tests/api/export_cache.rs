//! The export cache: a repeated download is served from memory, and never after anything it
//! was rendered from changed (a write of any kind, on this gateway or another, a feed setting,
//! a whitelist feed, the clock passing an expiry).

use chrono::Duration;
use serde_json::json;

use crate::helpers::*;

/// `feedgate_export_cache_total{outcome}` as `GET /metrics` at `base` shows it.
fn cache_count(base: &str, outcome: &str) -> u64 {
    let text = http_get(&format!("{base}/metrics"), &[]).body;
    let wanted = format!("feedgate_export_cache_total{{outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&wanted))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// The body of an export as `token` downloads it from `base`.
fn download(base: &str, token: Option<&str>, path: &str) -> String {
    let auth = token.map(|t| format!("Token token={t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("Authorization", a)])
        .unwrap_or_default();
    let res = http_get(&format!("{base}{path}"), &headers);
    res.assert_status(200);
    res.body
}

both_backends! {
    fn a_repeated_export_is_served_from_memory_until_anything_changes(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let base = app.base.clone();
        let post = |body: serde_json::Value| app.post_indicator(&alice, "alice", "f", &body);
        let first = post(json!({"thing": "1.1.1.50", "description": "one"})).json()["indicator"]["id"].as_i64().unwrap();
        post(json!({"thing": "1.1.1.51", "expires_at": (app.clock.now() + Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ").to_string()}));
        let txt = "/api/users/alice/feeds/f.txt";
        let csv = "/api/users/alice/feeds/f.csv";
        let once = download(&base, None, txt);
        assert_eq!(download(&base, None, txt), once);
        assert_eq!(cache_count(&base, "hit"), 1);
        assert!(once.contains("1.1.1.50") && once.contains("1.1.1.51"));
        // A new indicator.
        post(json!({"thing": "1.1.1.52"}));
        assert!(download(&base, None, txt).contains("1.1.1.52"));
        // An upsert of a description (the CSV shows it).
        download(&base, None, csv);
        post(json!({"thing": "1.1.1.50", "description": "two"}));
        assert!(download(&base, None, csv).contains(",two,"));
        // A comment moves the indicator's updated_at.
        let before = download(&base, None, csv);
        app.clock.advance(Duration::seconds(2));
        app.send_as("POST", &alice, &format!("/api/users/alice/feeds/f/indicators/{first}/comments"),
            &json!({"comment": "seen again"})).assert_status(201);
        assert_ne!(download(&base, None, csv), before);
        // A PATCH to AMBER hides it from others at once, not from the owner.
        download(&base, None, txt);
        app.send_as("PATCH", &alice, &format!("/api/users/alice/feeds/f/indicators/{first}"),
            &json!({"tlp": "amber"})).assert_status(200);
        assert!(!download(&base, None, txt).contains("1.1.1.50"));
        assert!(download(&base, Some(&alice), txt).contains("1.1.1.50"));
        // A whitelist feed of the owner's.
        download(&base, Some(&alice), txt);
        app.send_as("POST", &alice, "/api/users/alice/feeds", &json!({"feed": {"name": "ok", "kind": "whitelist"}})).assert_status(201);
        app.post_indicator(&alice, "alice", "ok", &json!({"thing": "1.1.1.52"})).assert_status(201);
        assert!(!download(&base, Some(&alice), txt).contains("1.1.1.52"));
        // A feed setting.
        post(json!({"thing": "11.0.0.0/12"}));
        assert!(!download(&base, None, txt).contains("11.0.0.0/12"));
        app.send_as("PATCH", &alice, "/api/users/alice/feeds/f", &json!({"feed": {"max_prefix": 8}})).assert_status(200);
        assert!(download(&base, None, txt).contains("11.0.0.0/12"));
        // The clock passing an expiry, with no write at all.
        assert!(download(&base, None, txt).contains("1.1.1.51"));
        assert!(download(&base, None, txt).contains("1.1.1.51"));
        app.clock.advance(Duration::hours(3));
        assert!(!download(&base, None, txt).contains("1.1.1.51"));
        // A delete.
        let list = app.get_v1(&alice, "/api/users/alice/feeds/f/indicators").json();
        let gone = list.as_array().unwrap().iter().find(|i| i["indicator"] == "11.0.0.0/12").unwrap()["id"].clone();
        app.send_as("DELETE", &alice, &format!("/api/users/alice/feeds/f/indicators/{gone}"), &json!({})).assert_status(200);
        assert!(!download(&base, None, txt).contains("11.0.0.0/12"));
        assert!(cache_count(&base, "hit") >= 3);
    }

    fn a_write_on_another_gateway_is_seen_at_once(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        app.post_indicator(&alice, "alice", "f", &json!({"thing": "1.1.1.60"})).assert_status(201);
        let other = app.second_gateway(|_| {});
        let txt = "/api/users/alice/feeds/f.txt";
        let here = download(&app.base, None, txt);
        assert_eq!(download(&app.base, None, txt), here);
        let res = http("POST", &format!("{}/api/users/alice/feeds/f/indicators", other.base),
            &[("Authorization", &format!("Token token={alice}")), ("Content-Type", "application/json")],
            Some(json!({"thing": "1.1.1.61"}).to_string().as_bytes()));
        res.assert_status(201);
        assert!(download(&app.base, None, txt).contains("1.1.1.61"));
    }

    fn without_a_cache_every_export_is_read(app) {
        let backend = backend_of(&app);
        drop(app);
        let app = TestApp::spawn_with(backend, |s| s.export_cache_mib = 0);
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        app.post_indicator(&alice, "alice", "f", &json!({"thing": "1.1.1.70"})).assert_status(201);
        let txt = "/api/users/alice/feeds/f.txt";
        assert_eq!(download(&app.base, None, txt), download(&app.base, None, txt));
        assert_eq!(cache_count(&app.base, "hit"), 0);
        assert_eq!(cache_count(&app.base, "miss"), 0);
    }
}
