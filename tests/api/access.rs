//! Object-level authorization (spec §3.3–3.4): another user's private feed is 404 on every
//! route, writing to another user's public feed is 403, admins may do everything.

use serde_json::json;

use crate::helpers::*;

both_backends! {
    fn another_users_private_feed_is_404_everywhere(app) {
        let alice = app.user_with_token("alice");
        let bob = app.user_with_token("bob");
        app.create_feed(&alice, "alice", "secret", true).assert_status(201);
        let id = app.post_indicator(&alice, "alice", "secret", &json!({"indicator": "203.0.113.9", "comment": "x"})).json()["indicator"]["id"].as_i64().unwrap();
        let base = "/api/users/alice/feeds/secret";
        let item = format!("{base}/indicators/{id}");
        for path in [base.to_string(), format!("{base}.csv"), format!("{base}.json"), format!("{base}/indicators"), item.clone(), format!("{item}/comments")] {
            app.get_as(&bob, &path).assert_error(404, "not_found");
            app.get(&path).assert_error(404, "not_found");
            app.get_as(&alice, &path).assert_status(200);
        }
        app.post_indicator(&bob, "alice", "secret", &json!({"indicator": "203.0.113.10"})).assert_error(404, "not_found");
        app.send_as("PATCH", &bob, base, &json!({"description": "x"})).assert_error(404, "not_found");
        app.send_as("DELETE", &bob, &item, &json!(null)).assert_error(404, "not_found");
        app.send_as("POST", &bob, &format!("{item}/comments"), &json!({"comment": "x"})).assert_error(404, "not_found");
        app.send_as("POST", &bob, &format!("{base}/indicators_bulk"), &json!({"indicators": [{"indicator": "203.0.113.11"}]})).assert_error(404, "not_found");
        let list = app.get_as(&bob, "/api/users/alice/feeds").json();
        assert!(list.as_array().unwrap().is_empty());
        app.get_as(&app.admin_token, &item).assert_status(200);
    }

    fn writing_to_another_users_public_feed_is_403(app) {
        let alice = app.user_with_token("alice");
        let bob = app.user_with_token("bob");
        app.create_feed(&alice, "alice", "open", false).assert_status(201);
        let id = app.post_indicator(&alice, "alice", "open", &json!({"indicator": "203.0.113.9"})).json()["indicator"]["id"].as_i64().unwrap();
        let item = format!("/api/users/alice/feeds/open/indicators/{id}");
        app.get_as(&bob, &item).assert_status(200);
        app.post_indicator(&bob, "alice", "open", &json!({"indicator": "203.0.113.10"})).assert_error(403, "forbidden");
        app.send_as("PATCH", &bob, &item, &json!({"description": "x"})).assert_error(403, "forbidden");
        app.send_as("DELETE", &bob, "/api/users/alice/feeds/open", &json!(null)).assert_error(403, "forbidden");
        app.send_as("POST", &bob, &format!("{item}/comments"), &json!({"comment": "x"})).assert_error(403, "forbidden");
        app.create_feed(&bob, "alice", "mine", false).assert_error(403, "forbidden");
        // Admins write into users' feeds, charged to the owner.
        app.post_indicator(&app.admin_token, "alice", "open", &json!({"indicator": "203.0.113.11"})).assert_status(201);
        assert_eq!(app.get_as(&alice, "/api/users/alice").json()["usage"]["indicators"], 2);
    }

    fn anonymous_callers_read_but_never_write(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "open", false).assert_status(201);
        app.get("/api/users/alice/feeds/open").assert_status(200);
        let res = app.request("POST", "/api/users/alice/feeds/open/indicators", &[], Some(br#"{"indicator": "203.0.113.1"}"#));
        res.assert_error(401, "authentication_required");
        app.request("DELETE", "/api/users/alice/feeds/open", &[], None).assert_error(401, "authentication_required");
        app.get("/api/users/alice/feeds/nope").assert_error(404, "not_found");
        app.post_indicator(&alice, "alice", "nope", &json!({"indicator": "203.0.113.1"})).assert_error(404, "not_found");
    }
}
