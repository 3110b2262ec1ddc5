//! Bulk submissions (spec §6.6.6): all or nothing.

use serde_json::json;

use crate::helpers::*;

both_backends! {
    fn a_bulk_creates_and_upserts_in_order(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        app.post_indicator(&alice, "alice", "f", &json!({"indicator": "198.51.100.23"})).assert_status(201);
        let body = json!({"indicators": [
            {"indicator": "203.0.113.77", "tag_list": ["a"], "comment": {"content": "old bulk"}},
            {"thing": "198.51.100.23", "tags": "b"},
            {"indicator": {"indicator": "2001:db8:4::17", "portlist": 22}},
            {"indicator": "203.0.113.77", "feed_id": 9, "rdata": "x"}]});
        let res = app.send_as("POST", &alice, "/api/users/alice/feeds/f/indicators_bulk", &body);
        let summary = res.assert_status(200).json();
        assert_eq!(summary["total"], 4);
        assert_eq!(summary["created"], 2);
        assert_eq!(summary["updated"], 2);
        let statuses: Vec<&str> = summary["indicators"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["created", "updated", "created", "updated"]);
        assert_eq!(summary["indicators"][2]["thing"], "2001:db8:4::17");
        assert_eq!(summary["indicators"][2]["itype"], "ipv6");
        let third = summary["indicators"][2].as_object().unwrap();
        let members: Vec<&str> = third.keys().map(String::as_str).collect();
        assert_eq!(members, ["index", "id", "thing", "itype", "status", "location"]);
        assert_eq!(third["index"], 2);
        let location = third["location"].as_str().unwrap();
        assert!(location.ends_with(&format!("/api/users/alice/feeds/f/indicators/{}", third["id"])), "{location}");
        app.get_as(&alice, &location[location.find("/api/").unwrap()..]).assert_status(200);
        assert_eq!(app.get_as(&alice, "/api/users/alice").json()["usage"]["indicators"], 3);
        // A value repeated within one bulk merges like a resubmission.
        let id = summary["indicators"][0]["id"].as_i64().unwrap();
        assert_eq!(summary["indicators"][3]["id"], id);
        let merged = app.get_v1(&alice, &format!("/api/users/alice/feeds/f/indicators/{id}")).json();
        assert_eq!(merged["count"], 2);
        assert_eq!(merged["tags"], json!(["a"]));
        assert_eq!(merged["comments"][0]["text"], "old bulk");
        let upserted = app.get_v1(&alice, "/api/search?q=198.51.100.23").json();
        assert_eq!(upserted[0]["count"], 2);
        assert_eq!(upserted[0]["tags"], json!(["b"]));
        assert_eq!(app.get_as(&alice, "/api/users/alice/feeds/f").json()["feed"]["indicators_count"], 3);
        let v1 = app.request("POST", "/api/users/alice/feeds/f/indicators_bulk",
            &[("Authorization", &format!("Token token={alice}")), ("Accept", "application/vnd.csirtg.v1")],
            Some(json!({"indicators": [{"indicator": "203.0.113.78"}]}).to_string().as_bytes()));
        assert_eq!(v1.assert_status(200).json()["indicators"][0]["indicator"], "203.0.113.78");
    }

    fn one_bad_item_writes_nothing(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let body = json!({"indicators": [{"indicator": "203.0.113.1"}, {"indicator": "999.1.1.1"}, {"indicator": "203.0.113.2", "portlist": "70000"},
            {"indicator": "203.0.113.3", "attachment": {"data": "aGk="}}]});
        let res = app.send_as("POST", &alice, "/api/users/alice/feeds/f/indicators_bulk", &body);
        let err = res.assert_error(422, "validation_failed");
        let errors = err["details"]["errors"].as_array().unwrap();
        assert_eq!(err["details"]["error_count"], 3);
        assert_eq!(errors[0]["index"], 1);
        assert_eq!(errors[0]["field"], "indicators[1].indicator");
        assert_eq!(errors[1]["field"], "indicators[2].portlist");
        assert_eq!(errors[2]["code"], "not_supported");
        assert!(app.get_as(&alice, "/api/users/alice/feeds/f/indicators").json().as_array().unwrap().is_empty());
        app.send_as("POST", &alice, "/api/users/alice/feeds/f/indicators_bulk", &json!({"indicators": []})).assert_error(422, "validation_failed");
        let auth = format!("Token token={alice}");
        let res = app.request("POST", "/api/users/alice/feeds/f/indicators_bulk", &[("Authorization", &auth)], Some(b"null"));
        assert_eq!(res.assert_error(422, "validation_failed")["details"]["errors"][0]["code"], "empty", "an empty body is a validation error");
        let many: Vec<_> = (0..5001).map(|i| json!({"indicator": format!("10.{}.{}.1", i / 256, i % 256)})).collect();
        let res = app.send_as("POST", &alice, "/api/users/alice/feeds/f/indicators_bulk", &json!({"indicators": many}));
        assert_eq!(res.assert_error(422, "validation_failed")["details"]["errors"][0]["code"], "too_many_items");
    }

    fn a_bulk_over_quota_writes_nothing(app) {
        let _ = &app;
        let app = TestApp::spawn_with(backend_of(&app), |s| s.max_indicators = "3".parse().unwrap());
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        app.post_indicator(&alice, "alice", "f", &json!({"indicator": "203.0.113.1"})).assert_status(201);
        let body = json!({"indicators": [{"indicator": "203.0.113.1"}, {"indicator": "203.0.113.2"}, {"indicator": "203.0.113.3"}, {"indicator": "203.0.113.4"}]});
        let res = app.send_as("POST", &alice, "/api/users/alice/feeds/f/indicators_bulk", &body);
        let err = res.assert_error(422, "quota_exceeded");
        assert_eq!(err["details"], json!({"quota": "indicators", "limit": 3, "used": 1, "requested": 3}));
        assert_eq!(app.get_as(&alice, "/api/users/alice/feeds/f/indicators").json().as_array().unwrap().len(), 1);
        let fits = json!({"indicators": [{"indicator": "203.0.113.1"}, {"indicator": "203.0.113.2"}, {"indicator": "203.0.113.3"}]});
        app.send_as("POST", &alice, "/api/users/alice/feeds/f/indicators_bulk", &fits).assert_status(200);
        app.post_indicator(&alice, "alice", "f", &json!({"indicator": "203.0.113.9"})).assert_error(422, "quota_exceeded");
    }

    fn a_bulk_merges_into_stored_rows_in_item_order(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let path = "/api/users/alice/feeds/f/indicators_bulk";
        let first = app.send_as("POST", &alice, path, &json!({"indicators": [
            {"indicator": "example.org", "tags": ["x"], "comment": {"content": "c1"}}]}));
        let id = first.assert_status(200).json()["indicators"][0]["id"].as_i64().unwrap();
        let second = app.send_as("POST", &alice, path, &json!({"indicators": [
            {"indicator": "example.org", "tags": ["y"], "comment": {"content": "c2"}},
            {"indicator": "203.0.113.5"},
            {"indicator": "example.org", "description": "d", "comment": {"content": "c3"}}]}));
        let summary = second.assert_status(200).json();
        let statuses: Vec<&str> = summary["indicators"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["updated", "created", "updated"]);
        assert_eq!(summary["indicators"][0]["id"], id);
        assert_eq!(summary["indicators"][2]["id"], id);
        let row = app.get_v1(&alice, &format!("/api/users/alice/feeds/f/indicators/{id}")).json();
        assert_eq!(row["count"], 3);
        assert_eq!(row["tags"], json!(["x", "y"]));
        assert_eq!(row["description"], "d");
        let texts: Vec<&str> = row["comments"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap()).collect();
        assert_eq!(texts, ["c1", "c2", "c3"]);
        assert_eq!(app.get_as(&alice, "/api/users/alice").json()["usage"]["indicators"], 2);
        assert_eq!(app.get_as(&alice, "/api/users/alice/feeds/f").json()["feed"]["indicators_count"], 2);
    }

    fn concurrent_bulks_of_the_same_values_all_land(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let path = "/api/users/alice/feeds/f/indicators_bulk";
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4).map(|t| {
                let (app, alice) = (&app, &alice);
                s.spawn(move || {
                    // 200 values every request shares, then 50 of its own.
                    let items: Vec<_> = (0..200).map(|i| json!({"indicator": format!("198.51.{}.{}", i / 100, i % 100)}))
                        .chain((0..50).map(|i| json!({"indicator": format!("h{i}.t{t}.example.org")})))
                        .collect();
                    app.send_as("POST", alice, path, &json!({"indicators": items})).status
                })
            }).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(statuses, [200, 200, 200, 200]);
        assert_eq!(app.get_as(&alice, "/api/users/alice").json()["usage"]["indicators"], 400);
        assert_eq!(app.get_as(&alice, "/api/users/alice/feeds/f").json()["feed"]["indicators_count"], 400);
        let shared = app.get_v1(&alice, "/api/search?q=198.51.1.99").json();
        assert_eq!(shared[0]["count"], 4);
    }
}
