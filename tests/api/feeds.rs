//! Feeds: create, list, show with keyset pages, update, delete, quotas and visibility.

use serde_json::json;

use crate::helpers::*;

both_backends! {
    fn a_feed_is_created_with_the_default_licence(app) {
        let alice = app.user_with_token("alice");
        let res = app.send_as("POST", &alice, "/api/users/alice/feeds", &json!({"feed": {"name": "SSH-Scanners", "description": "hosts brute-forcing"}}));
        let body = res.assert_status(201).json();
        assert_eq!(res.header("location"), Some(format!("{}/api/users/alice/feeds/ssh-scanners", app.base).as_str()));
        let feed = &body["feed"];
        assert_eq!(feed["name"], "ssh-scanners");
        assert_eq!(feed["user"], "alice");
        assert_eq!(feed["private"], false);
        assert_eq!(feed["indicators_count"], 0);
        assert_eq!(feed["license"], json!({"name": "CC BY-SA 4.0", "url": "http://creativecommons.org/licenses/by-sa/4.0/"}));
        assert_eq!(feed["indicators"], json!([]));
        assert!(feed["created_at"].as_str().unwrap().ends_with(" UTC"));
        let v1 = app.get_v1(&alice, "/api/users/alice/feeds/ssh-scanners").json();
        assert_eq!(v1["name"], "ssh-scanners");
        assert!(v1["created_at"].as_str().unwrap().ends_with('Z'));
    }

    fn duplicate_names_and_bad_names_are_422(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "one", false).assert_status(201);
        app.create_feed(&alice, "alice", "ONE", false).assert_error(422, "name_taken");
        for bad in ["-x", "a b", "x.csv", "x.json", ""] {
            let res = app.create_feed(&alice, "alice", bad, false);
            assert_eq!(res.assert_error(422, "validation_failed")["details"]["errors"][0]["field"], "name", "{bad}");
        }
        let res = app.send_as("POST", &alice, "/api/users/alice/feeds", &json!({"feed": {"name": "x", "private": "yes", "license": {"name": "", "url": "ftp://x"}, "description": "d".repeat(256)}}));
        let body = res.assert_error(422, "validation_failed");
        assert_eq!(body["details"]["errors"].as_array().unwrap().len(), 3, "{body}");
    }

    fn a_second_private_feed_is_refused(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "one", true).assert_status(201);
        let body = app.create_feed(&alice, "alice", "two", true).assert_error(422, "quota_exceeded");
        assert_eq!(body["details"], json!({"quota": "private_feeds", "limit": 1, "used": 1, "requested": 1}));
        // Making a public feed private is checked against the private quota too.
        app.create_feed(&alice, "alice", "pub", false).assert_status(201);
        app.send_as("PATCH", &alice, "/api/users/alice/feeds/pub", &json!({"feed": {"private": true}})).assert_error(422, "quota_exceeded");
        // Deleting frees it.
        app.send_as("DELETE", &alice, "/api/users/alice/feeds/one", &json!(null)).assert_status(200);
        app.create_feed(&alice, "alice", "two", true).assert_status(201);
    }

    fn feeds_are_listed_by_name_with_a_next_link(app) {
        let alice = app.user_with_token("alice");
        for name in ["c", "a", "b"] {
            app.create_feed(&alice, "alice", name, false).assert_status(201);
        }
        app.create_feed(&alice, "alice", "secret", true).assert_status(201);
        let page = app.get_as(&alice, "/api/users/alice/feeds?limit=2");
        let names: Vec<String> = page.json().as_array().unwrap().iter().map(|f| f["feed"]["name"].as_str().unwrap().to_string()).collect();
        assert_eq!(names, ["a", "b"]);
        let link = page.header("link").unwrap().to_string();
        let next = link.trim_start_matches('<').split('>').next().unwrap().replace(&app.base, "");
        let rest = app.get_as(&alice, &next).json();
        let names: Vec<&str> = rest.as_array().unwrap().iter().map(|f| f["feed"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["c", "secret"]);
        // Others see public feeds only.
        let anon = app.get("/api/users/alice/feeds").json();
        assert_eq!(anon.as_array().unwrap().len(), 3);
        app.get("/api/users/nobody/feeds").assert_error(404, "not_found");
    }

    fn feed_pages_are_keyset_and_newest_first(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        for (i, day) in ["2026-01-01", "2026-01-03", "2026-01-02", "2026-01-04", "2026-01-05"].iter().enumerate() {
            let body = json!({"indicator": {"thing": format!("198.51.100.{i}"), "lasttime": format!("{day}T00:00:00Z")}});
            app.post_indicator(&alice, "alice", "f", &body).assert_status(201);
        }
        let mut seen = Vec::new();
        let mut path = "/api/users/alice/feeds/f?limit=2".to_string();
        loop {
            let res = app.get_v1(&alice, &path);
            let body = res.assert_status(200).json();
            for i in body["indicators"].as_array().unwrap() {
                seen.push(i["lasttime"].as_str().unwrap()[..10].to_string());
            }
            match res.header("link") {
                Some(link) => path = link.trim_start_matches('<').split('>').next().unwrap().replace(&app.base, ""),
                None => break,
            }
        }
        assert_eq!(seen, ["2026-01-05", "2026-01-04", "2026-01-03", "2026-01-02", "2026-01-01"]);
        let recent = app.get_v1(&alice, "/api/users/alice/feeds/f?lasttime=2026-01-04T00:00:00Z").json();
        assert_eq!(recent["indicators"].as_array().unwrap().len(), 2);
        app.get_as(&alice, "/api/users/alice/feeds/f?cursor=bogus").assert_error(400, "invalid_cursor");
        app.get_as(&alice, "/api/users/alice/feeds/f?limit=0").assert_error(400, "invalid_parameter");
        app.get_as(&alice, "/api/users/alice/feeds/f?limit=None").assert_status(200);
        app.get_as(&alice, "/api/users/alice/feeds/f?colour=red").assert_error(400, "unknown_parameter");
    }

    fn feeds_update_but_never_rename(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let res = app.send_as("PATCH", &alice, "/api/users/alice/feeds/f", &json!({"feed": {"license": "TLP:AMBER", "description": "open relays"}}));
        let feed = res.assert_status(200).json();
        assert_eq!(feed["feed"]["license"], json!({"name": "TLP:AMBER", "url": null}));
        assert_eq!(feed["feed"]["description"], "open relays");
        let res = app.send_as("PUT", &alice, "/api/users/alice/feeds/f", &json!({"description": null, "license": null}));
        let feed = res.assert_status(200).json();
        assert_eq!(feed["feed"]["description"], json!(null));
        assert_eq!(feed["feed"]["license"]["name"], "CC BY-SA 4.0");
        let res = app.send_as("PATCH", &alice, "/api/users/alice/feeds/f", &json!({"feed": {"name": "g"}}));
        assert_eq!(res.assert_error(422, "validation_failed")["details"]["errors"][0]["code"], "immutable");
    }

    fn deleting_a_feed_removes_its_indicators_and_frees_quota(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        for i in 0..3 {
            app.post_indicator(&alice, "alice", "f", &json!({"indicator": format!("203.0.113.{i}"), "comment": "x"})).assert_status(201);
        }
        assert_eq!(app.get_as(&alice, "/api/users/alice").json()["usage"]["indicators"], 3);
        let res = app.send_as("DELETE", &alice, "/api/users/alice/feeds/f", &json!(null));
        let body = res.assert_status(200).json();
        assert_eq!(body["feed"]["indicators_deleted"], 3);
        assert_eq!(app.get_as(&alice, "/api/users/alice").json()["usage"], json!({"private_feeds": 0, "public_feeds": 0, "indicators": 0}));
        app.send_as("DELETE", &alice, "/api/users/alice/feeds/f", &json!(null)).assert_error(404, "not_found");
        assert!(app.search_values(Some(&alice), "q=203.0.113.1").is_empty());
    }
}
