//! Indicators: create and upsert, both representations, update, delete, comments and
//! attachments.

use serde_json::{Value, json};

use crate::helpers::*;

fn setup(app: &TestApp) -> String {
    let alice = app.user_with_token("alice");
    app.create_feed(&alice, "alice", "ssh-scanners", false)
        .assert_status(201);
    alice
}

fn first_sighting() -> Value {
    json!({"indicator": {"thing": "198.51.100.23", "tags": ["scanner", "ssh"], "portlist": "22", "protocol": "tcp",
        "firsttime": "2026-11-19T22:10:00Z", "lasttime": "2026-11-19T22:10:00Z",
        "description": "ssh password guessing", "provider": "honeypot-eu1", "itype": "ipv4"},
        "comment": "tried root/admin and pi/raspberry"})
}

both_backends! {
    fn a_new_indicator_is_201_in_the_v0_shape(app) {
        let alice = setup(&app);
        let res = app.post_indicator(&alice, "alice", "ssh-scanners", &first_sighting());
        let body = res.assert_status(201).json();
        let i = &body["indicator"];
        let id = i["id"].as_i64().unwrap();
        let location = format!("{}/api/users/alice/feeds/ssh-scanners/indicators/{id}", app.base);
        assert_eq!(res.header("location"), Some(location.as_str()));
        assert_eq!(i["location"], location);
        let keys: Vec<&str> = i.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["id", "thing", "itype", "portlist", "portlist_src", "protocol", "firsttime", "lasttime", "count",
            "description", "content", "provider", "asn", "asn_desc", "cc", "confidence", "tlp", "created_at", "updated_at",
            "expires_at", "comments",
            "comments_count", "attachments", "license", "tags", "feed", "feed_id", "user", "user_id", "location"]);
        assert_eq!(i["thing"], "198.51.100.23");
        assert_eq!(i["protocol"], 6);
        assert_eq!(i["firsttime"], "2026-11-19 22:10:00 UTC");
        assert_eq!(i["count"], 1);
        assert_eq!(i["tags"], json!(["scanner", "ssh"]));
        assert_eq!(i["comments"][0]["comment"]["text"], "tried root/admin and pi/raspberry");
        assert_eq!(i["comments"][0]["comment"]["user_id"], "alice");
        assert_eq!(i["feed_id"], "ssh-scanners");
    }

    fn the_v1_shape_is_bare_with_names_and_iso_times(app) {
        let alice = setup(&app);
        let auth = format!("Token token={alice}");
        let body = first_sighting().to_string();
        let res = app.request("POST", "/api//users/alice/feeds/ssh-scanners/indicators",
            &[("Authorization", &auth), ("Accept", "application/vnd.csirtg.v1")], Some(body.as_bytes()));
        let i = res.assert_status(201).json();
        assert_eq!(i["indicator"], "198.51.100.23");
        assert!(i.get("thing").is_none() && i.get("feed_id").is_none() && i.get("user_id").is_none());
        assert_eq!(i["protocol"], "tcp");
        assert_eq!(i["lasttime"], "2026-11-19T22:10:00Z");
        assert_eq!(i["comments"][0]["text"], "tried root/admin and pi/raspberry");
        assert!(i["comments"][0].get("user_id").is_none());
    }

    fn resubmission_upserts_and_merges(app) {
        let alice = setup(&app);
        let id = app.post_indicator(&alice, "alice", "ssh-scanners", &first_sighting()).json()["indicator"]["id"].as_i64().unwrap();
        for _ in 0..2 {
            let res = app.post_indicator(&alice, "alice", "ssh-scanners",
                &json!({"indicator": {"indicator": "198.51.100.23", "lasttime": "2026-11-20T07:55:12Z", "tags": "bruteforce,ssh", "firsttime": "2026-11-19T21:00:00Z"}}));
            let i = res.assert_status(200).json();
            assert_eq!(i["indicator"]["id"], id);
        }
        let i = app.get_v1(&alice, &format!("/api/users/alice/feeds/ssh-scanners/indicators/{id}")).json();
        assert_eq!(i["count"], 3);
        assert_eq!(i["lasttime"], "2026-11-20T07:55:12Z");
        assert_eq!(i["firsttime"], "2026-11-19T21:00:00Z");
        assert_eq!(i["tags"], json!(["scanner", "ssh", "bruteforce"]));
        assert_eq!(i["description"], "ssh password guessing", "kept when not resubmitted");
        assert_eq!(i["comments_count"], 1);
        let user = app.get_as(&alice, "/api/users/alice").json();
        assert_eq!(user["usage"]["indicators"], 1, "an upsert takes no quota");
        let feed = app.get_as(&alice, "/api/users/alice/feeds/ssh-scanners").json();
        assert_eq!(feed["feed"]["indicators_count"], 1);
    }

    fn concurrent_submissions_of_one_value_create_one_indicator(app) {
        let alice = setup(&app);
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| app.post_indicator(&alice, "alice", "ssh-scanners", &json!({"indicator": "203.0.113.5"})).status))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 7, "{statuses:?}");
        let i = app.get_v1(&alice, "/api/users/alice/feeds/ssh-scanners/indicators").json();
        assert_eq!(i.as_array().unwrap().len(), 1);
        assert_eq!(i[0]["count"], 8);
    }

    fn concurrent_creates_keep_their_own_outcomes(app) {
        // On SQLite concurrent writes share a transaction (group commit): a piece that fails
        // must roll back alone, and every other piece must land and answer as if alone.
        let app = TestApp::spawn_with(backend_of(&app), |s| s.max_indicators = "10".parse().unwrap());
        let alice = setup(&app);
        let outcomes: Vec<(usize, u16, Value)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..24)
                .map(|n| {
                    let (alice, app) = (&alice, &app);
                    s.spawn(move || {
                        let res = match n % 4 {
                            // 12 new values: only 10 fit the quota.
                            0 | 1 => app.post_indicator(alice, "alice", "ssh-scanners",
                                &json!({"indicator": format!("192.0.2.{n}"), "tags": ["t"]})),
                            // 6 invalid values.
                            2 => app.post_indicator(alice, "alice", "ssh-scanners",
                                &json!({"indicator": format!("not a value {n}")})),
                            // 6 writes to a feed that does not exist.
                            _ => app.post_indicator(alice, "alice", "nope", &json!({"indicator": "192.0.2.200"})),
                        };
                        let body = serde_json::from_str(&res.body).unwrap_or(Value::Null);
                        (n, res.status, body)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut created = Vec::new();
        for (n, status, body) in &outcomes {
            match n % 4 {
                0 | 1 => match status {
                    201 => created.push(body["indicator"]["thing"].as_str().unwrap().to_string()),
                    422 => assert_eq!(body["code"], "quota_exceeded", "{n}: {body}"),
                    other => panic!("{n}: {other} {body}"),
                },
                2 => assert_eq!(*status, 422, "{n}: {body}"),
                _ => assert_eq!(*status, 404, "{n}: {body}"),
            }
        }
        assert_eq!(created.len(), 10, "{outcomes:?}");
        let listed = app.get_v1(&alice, "/api/users/alice/feeds/ssh-scanners/indicators").json();
        let mut stored: Vec<String> = listed.as_array().unwrap().iter()
            .map(|i| i["indicator"].as_str().unwrap().to_string()).collect();
        stored.sort();
        created.sort();
        assert_eq!(stored, created, "exactly the answered creates are stored");
        assert_eq!(app.get_as(&alice, "/api/users/alice").json()["usage"]["indicators"], 10);
        let feed = app.get_as(&alice, "/api/users/alice/feeds/ssh-scanners").json();
        assert_eq!(feed["feed"]["indicators_count"], 10);
    }

    fn concurrent_creates_on_two_servers_of_one_process_stay_in_their_own_database(app) {
        // Grouped writes are queued per server: a leader must never run another database's
        // piece on its own connection.
        let other = TestApp::spawn(backend_of(&app));
        let (a, b) = (setup(&app), setup(&other));
        std::thread::scope(|s| {
            for n in 0..16 {
                let (a, b, app, other) = (&a, &b, &app, &other);
                s.spawn(move || {
                    let (server, token) = if n % 2 == 0 { (app, a) } else { (other, b) };
                    server.post_indicator(token, "alice", "ssh-scanners", &json!({"indicator": format!("192.0.2.{n}")}))
                        .assert_status(201);
                });
            }
        });
        for (server, token, parity) in [(&app, &a, 0), (&other, &b, 1)] {
            let listed = server.get_v1(token, "/api/users/alice/feeds/ssh-scanners/indicators").json();
            let mut values: Vec<u32> = listed.as_array().unwrap().iter()
                .map(|i| i["indicator"].as_str().unwrap().rsplit('.').next().unwrap().parse().unwrap()).collect();
            values.sort_unstable();
            let want: Vec<u32> = (0..16).filter(|n| n % 2 == parity).collect();
            assert_eq!(values, want);
        }
    }

    fn sdk_style_flat_bodies_are_accepted(app) {
        let alice = setup(&app);
        let body = json!({"indicator": "Login-Verify.Example.NET", "tags": "Phishing, bank", "portlist": 443, "protocol": 6,
            "first_at": "2026-11-19 22:10:00 UTC", "last_at": "2026-11-20 07:55:12", "uuid": "x", "confidence": 8, "tlp": "amber",
            "group": "everyone", "version": 1, "reported_at": "2026-11-20"});
        let i = app.post_indicator(&alice, "alice", "ssh-scanners", &body).assert_status(201).json();
        let i = &i["indicator"];
        assert_eq!(i["thing"], "login-verify.example.net");
        assert_eq!(i["itype"], "fqdn");
        assert_eq!(i["tags"], json!(["phishing", "bank"]));
        assert_eq!(i["portlist"], "443");
        assert_eq!(i["lasttime"], "2026-11-20 07:55:12 UTC");
    }

    fn indicators_update_clear_and_replace_tags(app) {
        let alice = setup(&app);
        let id = app.post_indicator(&alice, "alice", "ssh-scanners", &first_sighting()).json()["indicator"]["id"].as_i64().unwrap();
        let path = format!("/api/users/alice/feeds/ssh-scanners/indicators/{id}");
        let res = app.send_as("PATCH", &alice, &path, &json!({"indicator": {"tags": ["scanner"], "description": null}, "comment": "quiet now"}));
        let i = res.assert_status(200).json();
        assert_eq!(i["indicator"]["tags"], json!(["scanner"]));
        assert_eq!(i["indicator"]["description"], json!(null));
        assert_eq!(i["indicator"]["portlist"], "22", "absent members are kept");
        assert_eq!(i["indicator"]["comments_count"], 2);
        let res = app.send_as("PATCH", &alice, &path, &json!({"indicator": {"thing": "198.51.100.24"}}));
        assert_eq!(res.assert_error(422, "validation_failed")["details"]["errors"][0]["code"], "immutable");
        app.send_as("PATCH", &alice, &path, &json!({"thing": "198.51.100.23", "portlist": null})).assert_status(200);
    }

    fn deleting_an_indicator_frees_quota_and_cascades(app) {
        let alice = setup(&app);
        let id = app.post_indicator(&alice, "alice", "ssh-scanners", &first_sighting()).json()["indicator"]["id"].as_i64().unwrap();
        let path = format!("/api/users/alice/feeds/ssh-scanners/indicators/{id}");
        let res = app.send_as("DELETE", &alice, &path, &json!(null));
        assert_eq!(res.assert_status(200).json()["indicator"]["thing"], "198.51.100.23");
        app.get_as(&alice, &path).assert_error(404, "not_found");
        app.get_as(&alice, &format!("{path}/comments")).assert_error(404, "not_found");
        assert_eq!(app.get_as(&alice, "/api/users/alice").json()["usage"]["indicators"], 0);
        app.send_as("DELETE", &alice, &path, &json!(null)).assert_error(404, "not_found");
    }

    fn comments_are_listed_and_added(app) {
        let alice = setup(&app);
        let id = app.post_indicator(&alice, "alice", "ssh-scanners", &first_sighting()).json()["indicator"]["id"].as_i64().unwrap();
        let path = format!("/api/users/alice/feeds/ssh-scanners/indicators/{id}/comments");
        for body in [json!({"comment": {"text": "a"}}), json!({"comment": "b"}), json!({"text": "c"}), json!({"content": "d"})] {
            let c = app.send_as("POST", &alice, &path, &body).assert_status(201).json();
            assert!(c["comment"]["id"].as_i64().is_some());
        }
        let list = app.get_v1(&alice, &format!("{path}?limit=3"));
        assert_eq!(list.json().as_array().unwrap().len(), 3);
        assert!(list.header("link").is_some());
        let all: Vec<String> = app.get_v1(&alice, &path).json().as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap().to_string()).collect();
        assert_eq!(all, ["tried root/admin and pi/raspberry", "a", "b", "c", "d"]);
        // POST null is a read, as the SDK sends it.
        let auth = format!("Token token={alice}");
        let read = app.request("POST", &path, &[("Authorization", &auth)], Some(b"null"));
        assert_eq!(read.assert_status(200).json().as_array().unwrap().len(), 5);
        app.send_as("POST", &alice, &path, &json!({"comment": ""})).assert_error(422, "validation_failed");
    }

    fn attachments_make_sha1_indicators_and_download_as_bytes(app) {
        let alice = setup(&app);
        let body = json!({"indicator": {"tags": ["uce"]}, "attachment": {"data": "UmVjZWl2ZWQ6IGZyb20gbXguZXhhbXBsZS5vcmcK", "filename": "spam/2026-11/sample.eml"}});
        let i = app.post_indicator(&alice, "alice", "ssh-scanners", &body).assert_status(201).json();
        let i = &i["indicator"];
        assert_eq!(i["thing"], "c7369be2f1be03c77ee7c22edc8441e46c309c1d");
        assert_eq!(i["itype"], "sha1");
        let a = &i["attachments"][0];
        assert_eq!(a["filename"], "sample.eml");
        assert_eq!(a["filesize"], 30);
        assert_eq!(a["content_type"], "message/rfc822");
        assert_eq!(a["sha256"], "5516a4aad5c38a21403df0edc9df2c8f143cc201cb2ceccd4db032cd7d87a250");
        let url = a["attachment"].as_str().unwrap().replace(&app.base, "");
        let res = app.request("GET", &url, &[("Accept", "application/vnd.csirtg.v9")], None);
        res.assert_status(200);
        assert_eq!(res.body, "Received: from mx.example.org\n");
        assert_eq!(res.header("content-type"), Some("message/rfc822"));
        assert_eq!(res.header("content-disposition"), Some("attachment; filename=\"sample.eml\""));
        assert_eq!(res.header("content-security-policy"), Some("sandbox; default-src 'none'"));
        // The same file again is not stored twice.
        let again = app.post_indicator(&alice, "alice", "ssh-scanners", &body).assert_status(200).json();
        assert_eq!(again["indicator"]["attachments"].as_array().unwrap().len(), 1);
        let bad = json!({"indicator": {"tags": ["uce"]}, "attachment": {"data": "@@@"}});
        let res = app.post_indicator(&alice, "alice", "ssh-scanners", &bad);
        assert_eq!(res.assert_error(422, "validation_failed")["details"]["errors"][0]["field"], "attachment.data");
    }
}
