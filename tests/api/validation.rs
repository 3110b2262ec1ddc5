//! Bad input, table-driven (spec §10 limits): each case is a 422 naming the field, or a 400 for
//! bodies that are not JSON, and the database is unchanged afterwards.

use serde_json::{Value, json};

use crate::helpers::*;

fn state(app: &TestApp, token: &str) -> (Value, Value) {
    let list = app
        .get_v1(token, "/api/users/alice/feeds/f/indicators")
        .json();
    let usage = app.get_as(token, "/api/users/alice").json()["usage"].clone();
    (list, usage)
}

both_backends! {
    fn every_bad_field_is_a_422_naming_it_and_writes_nothing(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        app.post_indicator(&alice, "alice", "f", &json!({"indicator": "198.51.100.1"})).assert_status(201);
        let before = state(&app, &alice);
        let big = "A".repeat(8 * 1024 * 1024);
        let cases: Vec<(Value, &str, &str)> = vec![
            (json!({"indicator": {"thing": ""}}), "indicator.thing", "required"),
            (json!({"indicator": {"thing": "1.2.3"}}), "indicator.thing", "invalid_indicator"),
            (json!({"indicator": {"thing": "999.1.1.1"}}), "indicator.thing", "invalid_indicator"),
            (json!({"indicator": {"thing": "010.1.2.3"}}), "indicator.thing", "invalid_indicator"),
            (json!({"indicator": {"thing": "198.51.100.0/33"}}), "indicator.thing", "invalid_indicator"),
            (json!({"indicator": {"thing": "198.51.100.77/24"}}), "indicator.thing", "invalid_indicator"),
            (json!({"indicator": {"thing": "10.0.0.0/7"}}), "indicator.thing", "cidr_too_broad"),
            (json!({"indicator": {"thing": "localhost"}}), "indicator.thing", "invalid_indicator"),
            (json!({"indicator": {"thing": format!("{}.example.org", "a".repeat(250))}}), "indicator.thing", ""),
            (json!({"indicator": {"thing": 42}}), "indicator.thing", "invalid_type"),
            (json!({"indicator": {"thing": "198.51.100.2", "portlist": "70000"}}), "indicator.portlist", "out_of_range"),
            (json!({"indicator": {"thing": "198.51.100.2", "portlist": "5-1"}}), "indicator.portlist", "invalid_format"),
            (json!({"indicator": {"thing": "198.51.100.2", "portlist": "22,,23"}}), "indicator.portlist", ""),
            (json!({"indicator": {"thing": "198.51.100.2", "portlist": "1,".repeat(130)}}), "indicator.portlist", ""),
            (json!({"indicator": {"thing": "198.51.100.2", "portlist_src": "tcp/22"}}), "indicator.portlist_src", "invalid_format"),
            (json!({"indicator": {"thing": "198.51.100.2", "protocol": "42"}}), "indicator.protocol", "invalid_format"),
            (json!({"indicator": {"thing": "198.51.100.2", "protocol": "http"}}), "indicator.protocol", "invalid_format"),
            (json!({"indicator": {"thing": "198.51.100.2", "protocol": [6]}}), "indicator.protocol", "invalid_type"),
            (json!({"indicator": {"thing": "198.51.100.2", "firsttime": "2999-01-01T00:00:00Z"}}), "indicator.firsttime", "in_future"),
            (json!({"indicator": {"thing": "198.51.100.2", "lasttime": "yesterday"}}), "indicator.lasttime", "invalid_format"),
            (json!({"indicator": {"thing": "198.51.100.2", "lasttime": "1960-01-01T00:00:00Z"}}), "indicator.lasttime", "out_of_range"),
            (json!({"indicator": {"thing": "198.51.100.2", "lasttime": 1700000000}}), "indicator.lasttime", "invalid_type"),
            (json!({"indicator": {"thing": "198.51.100.2", "firsttime": "2026-01-02", "lasttime": "2026-01-01"}}), "indicator.firsttime", "order"),
            (json!({"indicator": {"thing": "198.51.100.2", "tags": ["two words"]}}), "indicator.tags", "invalid_format"),
            (json!({"indicator": {"thing": "198.51.100.2", "tags": ["x".repeat(65)]}}), "indicator.tags", ""),
            (json!({"indicator": {"thing": "198.51.100.2", "tags": (0..40).map(|i| format!("tag{i:04}")).collect::<Vec<_>>()}}), "tags", "too_long"),
            (json!({"indicator": {"thing": "198.51.100.2", "tags": [1, 2]}}), "indicator.tags", "invalid_type"),
            (json!({"indicator": {"thing": "198.51.100.2", "description": "d".repeat(256)}}), "indicator.description", "too_long"),
            (json!({"indicator": {"thing": "198.51.100.2", "provider": "p".repeat(256)}}), "indicator.provider", "too_long"),
            (json!({"indicator": {"thing": "198.51.100.2", "content": "c".repeat(65_537)}}), "indicator.content", "too_long"),
            (json!({"indicator": {"thing": "198.51.100.2"}, "comment": "c".repeat(4097)}), "comment", "too_long"),
            (json!({"indicator": {"thing": "198.51.100.2", "indicator": "198.51.100.3"}}), "indicator.indicator", "conflicting_aliases"),
            (json!({"indicator": {"thing": "198.51.100.2"}, "attachment": {"data": "not base64!"}}), "attachment.data", "invalid_format"),
            (json!({"indicator": {"thing": "198.51.100.2"}, "attachment": {"data": big}}), "attachment.data", "too_large"),
            (json!({"indicator": {"thing": "198.51.100.2"}, "attachment": {"data": "aGk=", "filename": "f".repeat(256)}}), "attachment.filename", "too_long"),
            (json!("198.51.100.2"), "", "invalid_type"),
        ];
        for (body, field, code) in &cases {
            let res = app.post_indicator(&alice, "alice", "f", body);
            let err = res.assert_error(422, "validation_failed");
            let first = &err["details"]["errors"][0];
            assert_eq!(first["field"], *field, "{body:.200}: {err}");
            if !code.is_empty() {
                assert_eq!(first["code"], *code, "{body:.200}: {err}");
            }
            assert!(err["message"].as_str().unwrap().len() < 400);
        }
        assert_eq!(state(&app, &alice), before, "nothing was written by any bad request");
    }

    fn bodies_that_are_not_json_are_400(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let before = state(&app, &alice);
        let auth = format!("Token token={alice}");
        for raw in [&b"{\"indicator\": "[..], b"indicator=1.2.3.4", b"\xff\xfe\x00", b"{\"a\":1}{"] {
            let res = app.request("POST", "/api/users/alice/feeds/f/indicators", &[("Authorization", &auth)], Some(raw));
            res.assert_error(400, "malformed_json");
        }
        assert_eq!(state(&app, &alice), before);
    }

    fn bad_path_ids_are_404(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        for id in ["abc", "0", "-1", "1.5", "99999999999999999999", "1e3"] {
            app.get_as(&alice, &format!("/api/users/alice/feeds/f/indicators/{id}")).assert_error(404, "not_found");
        }
    }
}
