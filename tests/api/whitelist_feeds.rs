//! Whitelist feeds and per-feed `max_prefix` (issue 19): a `kind: whitelist` feed's values leave
//! its owner's exports, a global one (set by an admin) everybody's; `exclusions` names them; a
//! feed's own bound on networks holds unless the request names another.

use serde_json::{Value, json};

use crate::helpers::*;

/// The formats checked; each spells plain values as they are.
const FORMATS: [&str; 4] = ["csv", "json", "txt", "zeek"];

/// Creates `user`'s feed from `fields` (the `feed` object), as `token`.
fn feed(app: &TestApp, token: &str, user: &str, fields: Value) -> TestResponse {
    app.send_as(
        "POST",
        token,
        &format!("/api/users/{user}/feeds"),
        &json!({ "feed": fields }),
    )
}

fn bulk(app: &TestApp, token: &str, user: &str, feed: &str, values: &[&str]) {
    let items: Vec<Value> = values.iter().map(|v| json!({"indicator": v})).collect();
    app.send_as(
        "POST",
        token,
        &format!("/api/users/{user}/feeds/{feed}/indicators_bulk"),
        &json!({"indicators": items}),
    )
    .assert_status(200);
}

/// Whether `value` is in the export of `user/feed` in `format`, as `token` reads it.
fn exported(app: &TestApp, token: &str, path: &str, format: &str, value: &str) -> bool {
    let body = app
        .get_as(token, &format!("{path}.{format}"))
        .assert_status(200)
        .body
        .clone();
    match format {
        "csv" => body.lines().any(|l| l.split(',').nth(1) == Some(value)),
        "json" => body.contains(&format!("\"{value}\"")),
        // Zeek's Intel::URL values carry no scheme.
        "zeek" => {
            let value = value.strip_prefix("http://").unwrap_or(value);
            body.lines().any(|l| l.split('\t').next() == Some(value))
        }
        _ => body.lines().any(|l| l == value),
    }
}

const ALLOWED: [&str; 3] = ["5.188.20.0/24", "goodsite.net", "http://tracker.biz/ok"];
/// Matched by `ALLOWED`: inside the network, a subdomain, the exact url.
const MATCHED: [&str; 3] = ["5.188.20.7", "cdn.goodsite.net", "http://tracker.biz/ok"];
/// Not matched: outside the network, another name, another url on the same host.
const UNMATCHED: [&str; 3] = ["5.188.21.7", "badsite.net", "http://tracker.biz/bad"];

both_backends! {
    fn a_whitelist_feeds_values_leave_its_owners_exports_only(app) {
        let alice = app.user_with_token("alice");
        let bob = app.user_with_token("bob");
        let made = feed(&app, &alice, "alice", json!({"name": "allow", "kind": "whitelist", "private": true})).assert_status(201).json();
        assert_eq!((made["feed"]["kind"].as_str(), made["feed"]["global"].as_bool()), (Some("whitelist"), Some(false)));
        bulk(&app, &alice, "alice", "allow", &ALLOWED);
        for (user, token) in [("alice", &alice), ("bob", &bob)] {
            app.create_feed(token, user, "bad", false).assert_status(201);
            bulk(&app, token, user, "bad", &MATCHED);
            bulk(&app, token, user, "bad", &UNMATCHED);
        }
        for format in FORMATS {
            for value in MATCHED {
                assert!(!exported(&app, &alice, "/api/users/alice/feeds/bad", format, value), "{value} in alice's {format}");
                assert!(exported(&app, &bob, "/api/users/bob/feeds/bad", format, value), "{value} not in bob's {format}");
            }
            for value in UNMATCHED {
                assert!(exported(&app, &alice, "/api/users/alice/feeds/bad", format, value), "{value} not in alice's {format}");
            }
            // Whoever downloads it, the owner's whitelist applies.
            assert!(!exported(&app, &bob, "/api/users/alice/feeds/bad", format, "5.188.20.7"), "{format} as bob");
        }
        // The whitelist feed itself is exported whole, and the paged view and search are not exports.
        for value in ALLOWED {
            assert!(exported(&app, &alice, "/api/users/alice/feeds/allow", "txt", value), "{value}");
        }
        let page = app.get_v1(&alice, "/api/users/alice/feeds/bad").assert_status(200).json();
        assert_eq!(page["indicators"].as_array().unwrap().len(), 6);
        let hits = app.search_values(Some(&alice), "q=5.188.20.7");
        assert_eq!(hits.iter().filter(|v| *v == "5.188.20.7").count(), 2, "{hits:?}");
        assert!(app.get_as(&alice, "/api/users/alice/feeds/allow/exclusions").json()["exclusions"].as_array().unwrap().is_empty());
    }

    fn a_changed_whitelist_feed_applies_to_the_next_export(app) {
        let alice = app.user_with_token("alice");
        feed(&app, &alice, "alice", json!({"name": "allow", "kind": "whitelist"})).assert_status(201);
        app.create_feed(&alice, "alice", "bad", false).assert_status(201);
        bulk(&app, &alice, "alice", "bad", &["5.188.40.1", "5.188.41.1"]);
        let path = "/api/users/alice/feeds/bad";
        assert!(exported(&app, &alice, path, "txt", "5.188.40.1"));
        let added = app.post_indicator(&alice, "alice", "allow", &json!({"indicator": {"thing": "5.188.40.1"}})).assert_status(201).json();
        assert!(!exported(&app, &alice, path, "txt", "5.188.40.1"));
        // Delete and add in one second: the count is the same, the newest id is not.
        let id = added["indicator"]["id"].as_i64().unwrap();
        app.send_as("DELETE", &alice, &format!("/api/users/alice/feeds/allow/indicators/{id}"), &json!(null)).assert_status(200);
        app.post_indicator(&alice, "alice", "allow", &json!({"indicator": {"thing": "5.188.41.1"}})).assert_status(201);
        assert!(exported(&app, &alice, path, "txt", "5.188.40.1"));
        assert!(!exported(&app, &alice, path, "txt", "5.188.41.1"));
        // A feed that stops being a whitelist stops applying.
        app.send_as("PATCH", &alice, "/api/users/alice/feeds/allow", &json!({"kind": "indicators"})).assert_status(200);
        assert!(exported(&app, &alice, path, "txt", "5.188.41.1"));
    }

    fn a_global_whitelist_is_set_by_admins_and_applies_to_everybody(app) {
        let bob = app.user_with_token("bob");
        let carol = app.user_with_token("carol");
        feed(&app, &bob, "bob", json!({"name": "shared", "kind": "whitelist", "private": true, "global": true}))
            .assert_error(403, "forbidden");
        feed(&app, &bob, "bob", json!({"name": "shared", "kind": "whitelist", "private": true})).assert_status(201);
        app.send_as("PATCH", &bob, "/api/users/bob/feeds/shared", &json!({"global": true})).assert_error(403, "forbidden");
        bulk(&app, &bob, "bob", "shared", &["5.188.30.0/24", "shared-cdn.net"]);
        app.create_feed(&carol, "carol", "bad", false).assert_status(201);
        bulk(&app, &carol, "carol", "bad", &["5.188.30.9", "img.shared-cdn.net", "5.188.31.9"]);
        let path = "/api/users/carol/feeds/bad";
        assert!(exported(&app, &carol, path, "csv", "5.188.30.9"), "not global yet");
        let made = app.send_as("PATCH", &app.admin_token, "/api/users/bob/feeds/shared", &json!({"global": true})).assert_status(200).json();
        assert_eq!(made["feed"]["global"], true);
        for format in FORMATS {
            assert!(!exported(&app, &carol, path, format, "5.188.30.9"), "{format}");
            assert!(!exported(&app, &carol, path, format, "img.shared-cdn.net"), "{format}");
            assert!(exported(&app, &carol, path, format, "5.188.31.9"), "{format}");
        }
        // exclusions names the list; the entry only to whoever may see bob's private feed.
        let entries = |token: &str| -> Vec<(String, String, Value)> {
            let body = app.get_as(token, &format!("{path}/exclusions")).assert_status(200).json();
            let mut list: Vec<_> = body["exclusions"].as_array().unwrap().iter().map(|e| {
                assert_eq!(e["reason"], "whitelist_feed", "{e}");
                (e["indicator"].as_str().unwrap().to_owned(), e["list"].as_str().unwrap().to_owned(), e["entry"].clone())
            }).collect();
            list.sort_by(|a, b| a.0.cmp(&b.0));
            list
        };
        let hidden = entries(&carol);
        assert_eq!(hidden, [
            ("5.188.30.9".to_owned(), "bob/shared".to_owned(), Value::Null),
            ("img.shared-cdn.net".to_owned(), "bob/shared".to_owned(), Value::Null),
        ]);
        for token in [&bob, &app.admin_token] {
            assert_eq!(entries(token), [
                ("5.188.30.9".to_owned(), "bob/shared".to_owned(), json!("5.188.30.0/24")),
                ("img.shared-cdn.net".to_owned(), "bob/shared".to_owned(), json!("shared-cdn.net")),
            ]);
        }
        // Only a whitelist can be global, even for an admin.
        app.send_as("PATCH", &app.admin_token, "/api/users/bob/feeds/shared", &json!({"kind": "indicators"}))
            .assert_error(422, "validation_failed");
        let off = app.send_as("PATCH", &bob, "/api/users/bob/feeds/shared", &json!({"global": false})).assert_status(200).json();
        assert_eq!(off["feed"]["global"], false);
        assert!(exported(&app, &carol, path, "txt", "5.188.30.9"));
    }

    fn exclusions_name_the_owners_whitelist_feed_and_its_entry(app) {
        let alice = app.user_with_token("alice");
        feed(&app, &alice, "alice", json!({"name": "allow", "kind": "whitelist", "private": true})).assert_status(201);
        bulk(&app, &alice, "alice", "allow", &ALLOWED);
        app.create_feed(&alice, "alice", "bad", false).assert_status(201);
        bulk(&app, &alice, "alice", "bad", &MATCHED);
        let bob = app.user_with_token("bob");
        for (token, shown) in [(&alice, true), (&bob, false)] {
            let body = app.get_as(token, "/api/users/alice/feeds/bad/exclusions").assert_status(200).json();
            let list = body["exclusions"].as_array().unwrap();
            assert_eq!(list.len(), 3, "{body}");
            for e in list {
                assert_eq!((e["reason"].as_str(), e["list"].as_str()), (Some("whitelist_feed"), Some("alice/allow")), "{e}");
                let want = match e["indicator"].as_str().unwrap() {
                    "5.188.20.7" => "5.188.20.0/24",
                    "cdn.goodsite.net" => "goodsite.net",
                    other => other,
                };
                assert_eq!(e["entry"], if shown { json!(want) } else { Value::Null }, "{e}");
            }
        }
    }

    fn feed_export_settings_are_shown_and_bad_values_refused(app) {
        let alice = app.user_with_token("alice");
        let made = feed(&app, &alice, "alice", json!({"name": "f", "max_prefix": 24, "max_prefix6": 64})).assert_status(201).json();
        assert_eq!(made["feed"]["kind"], "indicators");
        assert_eq!((made["feed"]["max_prefix"].as_i64(), made["feed"]["max_prefix6"].as_i64()), (Some(24), Some(64)));
        let v1 = app.get_v1(&alice, "/api/users/alice/feeds").json();
        assert_eq!((v1[0]["kind"].as_str(), v1[0]["global"].as_bool(), v1[0]["max_prefix"].as_i64()), (Some("indicators"), Some(false), Some(24)));
        let shown = app.get_v1(&alice, "/api/users/alice/feeds/f").json();
        assert_eq!(shown["max_prefix6"], 64);
        let field_of = |res: &TestResponse| res.assert_error(422, "validation_failed")["details"]["errors"][0]["field"].as_str().unwrap().to_owned();
        for (body, field) in [
            (json!({"name": "g", "kind": "allowlist"}), "kind"),
            (json!({"name": "g", "kind": 7}), "kind"),
            (json!({"name": "g", "max_prefix": 33}), "max_prefix"),
            (json!({"name": "g", "max_prefix": -1}), "max_prefix"),
            (json!({"name": "g", "max_prefix6": 129}), "max_prefix6"),
            (json!({"name": "g", "max_prefix6": "48"}), "max_prefix6"),
            (json!({"name": "g", "global": "yes"}), "global"),
        ] {
            assert_eq!(field_of(&feed(&app, &alice, "alice", body.clone())), field, "{body}");
        }
        assert_eq!(field_of(&feed(&app, &app.admin_token, "alice", json!({"name": "g", "global": true}))), "global");
        assert_eq!(field_of(&app.send_as("PATCH", &alice, "/api/users/alice/feeds/f", &json!({"kind": "x"}))), "kind");
        assert_eq!(field_of(&app.send_as("PATCH", &alice, "/api/users/alice/feeds/f", &json!({"max_prefix": 40}))), "max_prefix");
        let cleared = app.send_as("PATCH", &alice, "/api/users/alice/feeds/f", &json!({"max_prefix": null, "kind": "whitelist"})).assert_status(200).json();
        assert_eq!((cleared["feed"]["max_prefix"].clone(), cleared["feed"]["kind"].as_str()), (Value::Null, Some("whitelist")));
    }

    fn a_feeds_max_prefix_bounds_its_exports_unless_the_request_names_one(app) {
        let alice = app.user_with_token("alice");
        feed(&app, &alice, "alice", json!({"name": "nets", "max_prefix": 24, "max_prefix6": 64})).assert_status(201);
        bulk(&app, &alice, "alice", "nets", &["5.100.0.0/20", "5.101.1.0/24", "2a00:1450::/56", "2a00:1451::/64"]);
        let path = "/api/users/alice/feeds/nets";
        for format in FORMATS {
            assert!(!exported(&app, &alice, path, format, "5.100.0.0/20"), "{format}");
            assert!(!exported(&app, &alice, path, format, "2a00:1450::/56"), "{format}");
            assert!(exported(&app, &alice, path, format, "5.101.1.0/24"), "{format}");
            assert!(exported(&app, &alice, path, format, "2a00:1451::/64"), "{format}");
            let wider = app.get_as(&alice, &format!("{path}.{format}?max_prefix=16&max_prefix6=48")).assert_status(200).body.clone();
            assert!(wider.contains("5.100.0.0/20") && wider.contains("2a00:1450::/56"), "{format}: {wider}");
            let narrower = app.get_as(&alice, &format!("{path}.{format}?max_prefix=32")).assert_status(200).body.clone();
            assert!(!narrower.contains("5.101.1.0/24"), "{format}: {narrower}");
        }
        let why = app.get_as(&alice, &format!("{path}/exclusions")).json();
        let broad: Vec<&str> = why["exclusions"].as_array().unwrap().iter().map(|e| e["entry"].as_str().unwrap()).collect();
        assert!(broad.contains(&"/20 is broader than /24") && broad.contains(&"/56 is broader than /64"), "{why}");
        app.send_as("PATCH", &alice, path, &json!({"max_prefix": null, "max_prefix6": null})).assert_status(200);
        assert!(exported(&app, &alice, path, "txt", "5.100.0.0/20"), "back to the server's /16");
        app.get_as(&alice, &format!("{path}.csv?max_prefix=33")).assert_error(422, "validation_failed");
        app.get_as(&alice, &format!("{path}.json?max_prefix6=x")).assert_error(422, "validation_failed");
        app.get_as(&alice, &format!("{path}.csv?itype=nope")).assert_error(400, "invalid_parameter");
    }

    fn csv_and_json_exports_take_the_itype_and_tags_filters(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "mixed", false).assert_status(201);
        app.post_indicator(&alice, "alice", "mixed", &json!({"indicator": {"thing": "5.188.50.1", "tags": ["scanner"]}})).assert_status(201);
        app.post_indicator(&alice, "alice", "mixed", &json!({"indicator": {"thing": "phish-site.net", "tags": ["phishing"]}})).assert_status(201);
        let path = "/api/users/alice/feeds/mixed";
        for format in ["csv", "json"] {
            let ipv4 = app.get_as(&alice, &format!("{path}.{format}?itype=ipv4")).assert_status(200).body.clone();
            assert!(ipv4.contains("5.188.50.1") && !ipv4.contains("phish-site.net"), "{ipv4}");
            let tagged = app.get_as(&alice, &format!("{path}.{format}?tags=phishing")).assert_status(200).body.clone();
            assert!(!tagged.contains("5.188.50.1") && tagged.contains("phish-site.net"), "{tagged}");
        }
        let list = app.get_as(&alice, &format!("{path}.json?tags=nothing")).json();
        assert_eq!(list, json!([]));
    }

    fn a_json_export_whose_first_pages_are_all_left_out_is_still_one_array(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "mostly-private", false).assert_status(201);
        let kept: Vec<String> = (0..300).map(|i| format!("11.0.{}.{}", i / 256, i % 256)).collect();
        bulk(&app, &alice, "alice", "mostly-private", &kept.iter().map(String::as_str).collect::<Vec<_>>());
        // Newer than the kept rows, so the export's first page (2,000 rows) is all left out.
        for chunk in 0..3 {
            let private: Vec<String> = (0..1000).map(|i| format!("10.{chunk}.{}.{}", i / 256, i % 256)).collect();
            bulk(&app, &alice, "alice", "mostly-private", &private.iter().map(String::as_str).collect::<Vec<_>>());
        }
        let list = app.get_v1(&alice, "/api/users/alice/feeds/mostly-private.json").assert_status(200).json();
        assert_eq!(list.as_array().unwrap().len(), 300);
        let csv = app.get_as(&alice, "/api/users/alice/feeds/mostly-private.csv").body.clone();
        assert_eq!(csv.lines().count(), 301, "the header and the kept rows");
    }
}
