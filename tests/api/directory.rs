//! The directory of feeds, `GET /api/feeds`: every public feed and the caller's own private
//! ones, never another user's private feed; paged by cursor; `q` and `tag` filters; both
//! representations.

use serde_json::{Value, json};

use crate::helpers::*;

/// `(user, name)` of every entry of a page, in order (v0 wraps each in `feed`).
fn entries(body: &Value) -> Vec<(String, String)> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let f = if e.get("feed").is_some() {
                &e["feed"]
            } else {
                e
            };
            (
                f["user"].as_str().unwrap().to_string(),
                f["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(u, n)| (u.to_string(), n.to_string()))
        .collect()
}

/// Alice: public `scanners` and `spam` and private `alice-secret`; Bob: public `phish` and
/// `scanners`, private `bob-secret`. Returns both tokens.
fn two_users(app: &TestApp) -> (String, String) {
    let alice = app.user_with_token("alice");
    let bob = app.user_with_token("bob");
    for (token, user, name, private) in [
        (&alice, "alice", "scanners", false),
        (&alice, "alice", "spam", false),
        (&alice, "alice", "alice-secret", true),
        (&bob, "bob", "phish", false),
        (&bob, "bob", "scanners", false),
        (&bob, "bob", "bob-secret", true),
    ] {
        app.create_feed(token, user, name, private)
            .assert_status(201);
    }
    (alice, bob)
}

/// The next page's path from a `Link` header, if any.
fn next_path(app: &TestApp, res: &TestResponse) -> Option<String> {
    res.header("link").map(|link| {
        link.trim_start_matches('<')
            .split('>')
            .next()
            .unwrap()
            .replace(&app.base, "")
    })
}

both_backends! {
    fn the_directory_lists_public_feeds_and_only_the_callers_own_private_ones(app) {
        let (alice, bob) = two_users(&app);
        let anonymous = app.get("/api/feeds");
        assert_eq!(
            entries(&anonymous.assert_status(200).json()),
            pairs(&[("bob", "phish"), ("alice", "scanners"), ("bob", "scanners"), ("alice", "spam")])
        );
        assert_eq!(
            entries(&app.get_as(&alice, "/api/feeds").json()),
            pairs(&[("alice", "alice-secret"), ("bob", "phish"), ("alice", "scanners"), ("bob", "scanners"), ("alice", "spam")])
        );
        assert_eq!(
            entries(&app.get_as(&bob, "/api/feeds").json()),
            pairs(&[("bob", "bob-secret"), ("bob", "phish"), ("alice", "scanners"), ("bob", "scanners"), ("alice", "spam")])
        );
        // An admin reads the directory as a consumer: public feeds and its own, nobody's private ones.
        let admin = app.get_as(&app.admin_token, "/api/feeds").json();
        assert!(
            entries(&admin).iter().all(|(_, name)| !name.ends_with("-secret")),
            "{admin}"
        );
        assert_eq!(entries(&admin).len(), 4);
    }

    fn directory_entries_have_both_shapes(app) {
        let (alice, _) = two_users(&app);
        app.send_as("PATCH", &alice, "/api/users/alice/feeds/spam", &json!({"feed": {"description": "Open relays"}}))
            .assert_status(200);
        app.post_indicator(&alice, "alice", "spam", &json!({"indicator": {"thing": "198.51.100.7"}}))
            .assert_status(201);
        let v0 = app.get("/api/feeds?q=relays").assert_status(200).json();
        let f = &v0[0]["feed"];
        assert_eq!(v0.as_array().unwrap().len(), 1, "{v0}");
        assert_eq!(f["name"], "spam");
        assert_eq!(f["user"], "alice");
        assert_eq!(f["description"], "Open relays");
        assert_eq!(f["indicators_count"], 1);
        assert_eq!(f["private"], false);
        assert_eq!(f["kind"], "indicators");
        assert_eq!(f["license"]["name"], "CC BY-SA 4.0");
        assert!(f["updated_at"].as_str().unwrap().ends_with(" UTC"), "{f}");
        assert_eq!(f["location"], format!("{}/api/users/alice/feeds/spam", app.base));
        let v1 = app.get_v1(&alice, "/api/feeds?q=relays").assert_status(200).json();
        assert_eq!(v1[0]["name"], "spam");
        assert!(v1[0].get("feed").is_none(), "{v1}");
        assert!(v1[0]["updated_at"].as_str().unwrap().ends_with('Z'), "{v1}");
        // The location is the feed itself.
        let location = v1[0]["location"].as_str().unwrap().replace(&app.base, "");
        assert_eq!(app.get_v1(&alice, &location).assert_status(200).json()["name"], "spam");
    }

    fn pages_of_two_walk_every_visible_feed_once(app) {
        let (alice, _) = two_users(&app);
        let mut seen = Vec::new();
        let mut path = Some("/api/feeds?limit=2".to_string());
        let mut pages = 0;
        while let Some(p) = path {
            let res = app.get_as(&alice, &p);
            let page = entries(&res.assert_status(200).json());
            assert!(page.len() <= 2);
            seen.extend(page);
            path = next_path(&app, &res);
            pages += 1;
        }
        assert_eq!(pages, 3);
        assert_eq!(
            seen,
            pairs(&[("alice", "alice-secret"), ("bob", "phish"), ("alice", "scanners"), ("bob", "scanners"), ("alice", "spam")])
        );
        // Filters stay on the link, and a filtered walk sees only matches.
        let res = app.get("/api/feeds?q=SCAN&limit=1");
        assert_eq!(entries(&res.json()), pairs(&[("alice", "scanners")]));
        let next = next_path(&app, &res).unwrap();
        assert!(next.contains("q=SCAN"), "{next}");
        assert_eq!(entries(&app.get(&next).json()), pairs(&[("bob", "scanners")]));
    }

    fn q_matches_names_and_descriptions_case_insensitively_and_literally(app) {
        let (alice, bob) = two_users(&app);
        app.send_as("PATCH", &bob, "/api/users/bob/feeds/phish", &json!({"feed": {"description": "Credential PHISHING, 100% verified"}}))
            .assert_status(200);
        app.send_as("PATCH", &alice, "/api/users/alice/feeds/alice-secret", &json!({"feed": {"description": "phishing kits"}}))
            .assert_status(200);
        assert_eq!(entries(&app.get("/api/feeds?q=Phish").json()), pairs(&[("bob", "phish")]));
        assert_eq!(
            entries(&app.get_as(&alice, "/api/feeds?q=phishing").json()),
            pairs(&[("alice", "alice-secret"), ("bob", "phish")])
        );
        // Wildcards are literal.
        assert_eq!(entries(&app.get("/api/feeds?q=100%25").json()), pairs(&[("bob", "phish")]));
        assert_eq!(entries(&app.get("/api/feeds?q=%25").json()), pairs(&[("bob", "phish")]));
        assert!(entries(&app.get("/api/feeds?q=s_am").json()).is_empty());
        assert!(entries(&app.get("/api/feeds?q=nothing-like-it").json()).is_empty());
    }

    fn tag_lists_feeds_holding_a_readable_indicator_with_it(app) {
        let (alice, bob) = two_users(&app);
        app.post_indicator(&alice, "alice", "scanners", &json!({"indicator": {"thing": "198.51.100.1", "tags": ["ssh", "scanner"]}}))
            .assert_status(201);
        app.post_indicator(&bob, "bob", "phish", &json!({"indicator": {"thing": "phish.example.com", "tags": "phishing"}}))
            .assert_status(201);
        // A RED indicator is read by its owner only: its tag does not list the feed for others.
        app.post_indicator(&bob, "bob", "scanners", &json!({"indicator": {"thing": "198.51.100.2", "tags": "ssh", "tlp": "red"}}))
            .assert_status(201);
        app.post_indicator(&bob, "bob", "bob-secret", &json!({"indicator": {"thing": "198.51.100.3", "tags": "ssh"}}))
            .assert_status(201);
        assert_eq!(entries(&app.get("/api/feeds?tag=ssh").json()), pairs(&[("alice", "scanners")]));
        assert_eq!(entries(&app.get("/api/feeds?tag=SCANNER").json()), pairs(&[("alice", "scanners")]));
        assert_eq!(
            entries(&app.get_as(&bob, "/api/feeds?tag=ssh").json()),
            pairs(&[("bob", "bob-secret"), ("alice", "scanners"), ("bob", "scanners")])
        );
        assert_eq!(entries(&app.get_as(&alice, "/api/feeds?tag=phishing&q=phish").json()), pairs(&[("bob", "phish")]));
        // A tag is matched whole, never as a part of another.
        assert!(entries(&app.get("/api/feeds?tag=ss").json()).is_empty());
    }

    fn bad_directory_requests_are_400(app) {
        let (alice, _) = two_users(&app);
        app.get("/api/feeds?limit=0").assert_error(400, "invalid_parameter");
        app.get("/api/feeds?limit=two").assert_error(400, "invalid_parameter");
        app.get("/api/feeds?cursor=bogus").assert_error(400, "invalid_cursor");
        app.get("/api/feeds?colour=red").assert_error(400, "unknown_parameter");
        app.get(&format!("/api/feeds?q={}", "x".repeat(101))).assert_error(400, "invalid_parameter");
        app.get("/api/feeds?tag=a,b").assert_error(400, "invalid_parameter");
        // A cursor belongs to its filters.
        let res = app.get_as(&alice, "/api/feeds?limit=1&q=s");
        let cursor = next_path(&app, &res).unwrap();
        let cursor = cursor.split("cursor=").nth(1).unwrap();
        app.get_as(&alice, &format!("/api/feeds?q=p&cursor={cursor}")).assert_error(400, "invalid_cursor");
    }
}
