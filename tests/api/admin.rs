//! The admin routes (spec §6.9): who may use them, the admin user object, limits with their
//! overrides, disabling, the last admin, deleting with everything a user owns, usage, tokens
//! of any user, and the `feedgate user quota|usage|disable|enable` commands.

use feedgate::auth::accounts::TokenSpec;
use feedgate::models::daily;
use serde_json::{Value, json};

use crate::helpers::*;

const ADMIN_USER_KEYS: [&str; 9] = [
    "username",
    "role",
    "disabled",
    "has_password",
    "limits",
    "overridden",
    "usage",
    "created_at",
    "updated_at",
];

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn patch_user(app: &TestApp, user: &str, body: Value) -> TestResponse {
    app.send_as(
        "PATCH",
        &app.admin_token,
        &format!("/api/admin/users/{user}"),
        &body,
    )
}

fn show_user(app: &TestApp, user: &str) -> Value {
    app.get_as(&app.admin_token, &format!("/api/admin/users/{user}"))
        .assert_status(200)
        .json()
}

/// The quota part of an admin user object's usage (requests move with every request).
fn quotas(user: &Value) -> Value {
    let mut usage = user["usage"].clone();
    usage.as_object_mut().unwrap().remove("requests_today");
    usage
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Every admin route with a body that would be valid for an admin.
fn every_admin_route() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("GET", "/api/admin/users", json!(null)),
        ("POST", "/api/admin/users", json!({"username": "mallory"})),
        ("GET", "/api/admin/users/alice", json!(null)),
        (
            "PATCH",
            "/api/admin/users/alice",
            json!({"limits": {"indicators": null}}),
        ),
        (
            "PUT",
            "/api/admin/users/alice",
            json!({"limits": {"indicators": null}}),
        ),
        ("DELETE", "/api/admin/users/alice", json!(null)),
        ("GET", "/api/admin/users/alice/tokens", json!(null)),
        ("POST", "/api/admin/users/alice/tokens", json!({})),
        ("DELETE", "/api/admin/users/alice/tokens/1", json!(null)),
        ("GET", "/api/admin/users/alice/usage", json!(null)),
    ]
}

both_backends! {
    fn admin_routes_refuse_non_admins_and_anonymous_callers(app) {
        let alice = app.user_with_token("alice");
        let read_only = app.token_for("alice", TokenSpec { write: false, ..TokenSpec::default() });
        for (method, path, body) in every_admin_route() {
            app.send_as(method, &alice, path, &body).assert_error(403, "admin_required");
            app.send_as(method, &read_only, path, &body).assert_error(403, "admin_required");
            let bytes = body.to_string();
            app.request(method, path, &[], Some(bytes.as_bytes())).assert_error(401, "authentication_required");
        }
        // Nothing happened: alice still exists with her default limits and both tokens.
        let me = app.get_as(&alice, "/api/users/alice").assert_status(200).json();
        assert_eq!(me["limits"]["indicators"], 250000);
        assert_eq!(show_user(&app, "alice")["usage"]["tokens"], 2);
        app.get_as(&app.admin_token, "/api/admin/users/mallory").assert_error(404, "not_found");
    }

    fn a_user_cannot_raise_their_own_limits(app) {
        let alice = app.user_with_token("alice");
        let raise = json!({"limits": {"requests_per_day": null, "indicators": null}});
        app.send_as("PATCH", &alice, "/api/admin/users/self", &raise).assert_error(403, "admin_required");
        app.send_as("PATCH", &alice, "/api/admin/users/alice", &raise).assert_error(403, "admin_required");
        // The user object has no writing route at all.
        app.send_as("PATCH", &alice, "/api/users/alice", &raise).assert_error(405, "method_not_allowed");
        let me = app.get_as(&alice, "/api/users/alice").json();
        assert_eq!(me["limits"], json!({"requests_per_day": 5000, "private_feeds": 1, "public_feeds": 10, "indicators": 250000}));
    }

    fn a_read_only_admin_token_reads_but_cannot_write(app) {
        app.user_with_token("alice");
        let reader = app.token_for("admin", TokenSpec { write: false, ..TokenSpec::default() });
        app.get_as(&reader, "/api/admin/users").assert_status(200);
        app.get_as(&reader, "/api/admin/users/alice/usage").assert_status(200);
        // A read by POST (empty body) needs only the read scope.
        let auth = format!("Token token={reader}");
        let read = app.request("POST", "/api/admin/users", &[("Authorization", &auth)], Some(b"null"));
        assert_eq!(read.assert_status(200).json().as_array().unwrap().len(), 2);
        app.send_as("POST", &reader, "/api/admin/users", &json!({"username": "carol"})).assert_error(403, "insufficient_scope");
        app.send_as("PATCH", &reader, "/api/admin/users/alice", &json!({"disabled": true})).assert_error(403, "insufficient_scope");
        app.send_as("DELETE", &reader, "/api/admin/users/alice", &json!(null)).assert_error(403, "insufficient_scope");
        assert_eq!(show_user(&app, "alice")["disabled"], false);
    }

    fn a_created_user_has_the_exact_shape_a_location_and_a_working_token(app) {
        let res = app.send_as("POST", &app.admin_token, "/api/admin/users", &json!({"user": {
            "username": "Carol", "password": "correct horse battery",
            "limits": {"requests_per_day": 20000, "indicators": null}}}));
        let body = res.assert_status(201).json();
        assert_eq!(res.header("location"), Some(format!("{}/api/admin/users/carol", app.base).as_str()));
        let mut expected: Vec<&str> = ADMIN_USER_KEYS.to_vec();
        expected.push("token");
        assert_eq!(keys(&body), expected, "never wrapped, members in the spec's order: {body}");
        assert_eq!(body["username"], "carol");
        assert_eq!(body["role"], "user");
        assert_eq!(body["disabled"], false);
        assert_eq!(body["has_password"], true);
        assert_eq!(body["limits"], json!({"requests_per_day": 20000, "private_feeds": 1, "public_feeds": 10, "indicators": null}));
        assert_eq!(body["overridden"], json!(["requests_per_day", "indicators"]));
        assert_eq!(body["usage"], json!({"requests_today": 0, "private_feeds": 0, "public_feeds": 0, "indicators": 0, "tokens": 1}));
        assert!(body["created_at"].as_str().unwrap().ends_with(" UTC"), "v0 time: {body}");
        let token = &body["token"];
        assert_eq!(token["scopes"], json!(["read", "write"]));
        let plain = token["token"].as_str().unwrap();
        assert_eq!(&plain[..11], token["prefix"].as_str().unwrap());
        let me = app.get_as(plain, "/api/users/carol").assert_status(200).json();
        assert_eq!(me["role"], "user");
        assert_eq!(me["limits"]["requests_per_day"], 20000);
        // The password works with HTTP Basic on the token route.
        let auth = basic("carol", "correct horse battery");
        app.request("POST", "/api/users/carol/tokens", &[("Authorization", &auth)], Some(b"{}")).assert_status(201);
        // v1: the same object with ISO times.
        let v1 = app.get_v1(&app.admin_token, "/api/admin/users/carol").assert_status(200).json();
        assert_eq!(keys(&v1), ADMIN_USER_KEYS);
        assert!(v1["updated_at"].as_str().unwrap().ends_with('Z'), "{v1}");
        assert_eq!(v1["usage"]["tokens"], 2);
    }

    fn creating_validates_the_body_and_refuses_taken_names(app) {
        app.user_with_token("alice");
        let create = |body: Value| app.send_as("POST", &app.admin_token, "/api/admin/users", &body);
        create(json!({"username": "ALICE"})).assert_error(422, "name_taken");
        let body = create(json!({})).assert_error(422, "validation_failed");
        assert_eq!(body["details"]["errors"][0]["field"], "username");
        assert_eq!(body["details"]["errors"][0]["code"], "required");
        let body = create(json!({"username": "-bad name", "role": "root", "password": "short", "limits": {"indicators": -1}})).assert_error(422, "validation_failed");
        let fields: Vec<&str> = body["details"]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["username", "role", "password", "limits.indicators"]);
        let list = app.get_v1(&app.admin_token, "/api/admin/users").json();
        assert_eq!(list.as_array().unwrap().len(), 2, "nothing was created: {list}");
        let admin = create(json!({"username": "root2", "role": "admin"})).assert_status(201).json();
        let token = admin["token"]["token"].as_str().unwrap().to_string();
        app.get_as(&token, "/api/admin/users").assert_status(200);
    }

    fn users_are_listed_by_name_in_pages(app) {
        for name in ["dave", "bob", "carol"] {
            app.user_with_token(name);
        }
        let page = app.get_as(&app.admin_token, "/api/admin/users?limit=2");
        let names = |v: Value| -> Vec<String> { v.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_string()).collect() };
        let first = page.assert_status(200).json();
        assert_eq!(keys(&first[0]), ADMIN_USER_KEYS);
        assert_eq!(names(first), ["admin", "bob"]);
        let link = page.header("link").unwrap();
        let next = link.split_once('<').unwrap().1.split_once('>').unwrap().0;
        assert!(next.contains("limit=2") && next.contains("cursor="), "{link}");
        let path = next.strip_prefix(&app.base).unwrap();
        let second = app.get_as(&app.admin_token, path);
        assert!(second.header("link").is_none(), "the last page has no Link");
        assert_eq!(names(second.json()), ["carol", "dave"]);
        app.get_as(&app.admin_token, "/api/admin/users?cursor=junk").assert_error(400, "invalid_cursor");
        app.get_as(&app.admin_token, "/api/admin/users?limit=0").assert_error(400, "invalid_parameter");
        app.get_as(&app.admin_token, "/api/admin/users?role=admin").assert_error(400, "unknown_parameter");
    }

    fn limits_are_set_made_unlimited_and_returned_to_the_default(app) {
        let alice = app.user_with_token("alice");
        let body = patch_user(&app, "alice", json!({"limits": {"requests_per_day": 20000, "indicators": null, "private_feeds": 2}})).assert_status(200).json();
        assert_eq!(keys(&body), ADMIN_USER_KEYS);
        assert_eq!(body["limits"], json!({"requests_per_day": 20000, "private_feeds": 2, "public_feeds": 10, "indicators": null}));
        assert_eq!(body["overridden"], json!(["requests_per_day", "private_feeds", "indicators"]));
        // The override takes effect: a second private feed is now allowed, a third is not.
        app.create_feed(&alice, "alice", "one", true).assert_status(201);
        app.create_feed(&alice, "alice", "two", true).assert_status(201);
        let refused = app.create_feed(&alice, "alice", "three", true).assert_error(422, "quota_exceeded");
        assert_eq!(refused["details"]["limit"], 2);
        let body = patch_user(&app, "alice", json!({"limits": {"requests_per_day": "default", "private_feeds": "default"}})).assert_status(200).json();
        assert_eq!(body["limits"], json!({"requests_per_day": 5000, "private_feeds": 1, "public_feeds": 10, "indicators": null}));
        assert_eq!(body["overridden"], json!(["indicators"]));
        // Zero is a limit too, and an admin may set one below current usage.
        let body = patch_user(&app, "alice", json!({"limits": {"public_feeds": 0, "private_feeds": 0}})).assert_status(200).json();
        assert_eq!(body["limits"]["public_feeds"], 0);
        assert_eq!(body["usage"]["private_feeds"], 2, "existing data stays");
        app.create_feed(&alice, "alice", "open", false).assert_error(422, "quota_exceeded");
        let me = app.get_as(&alice, "/api/users/alice").json();
        assert_eq!(me["limits"]["indicators"], Value::Null, "the user sees the same effective limits");
    }

    fn negative_absurd_and_wrongly_typed_limits_are_422_and_change_nothing(app) {
        app.user_with_token("alice");
        patch_user(&app, "alice", json!({"limits": {"public_feeds": 3}})).assert_status(200);
        let before = show_user(&app, "alice");
        for (value, code) in [
            (json!(-1), "out_of_range"),
            (json!(-5000), "out_of_range"),
            (json!(1_000_000_001), "out_of_range"),
            (json!(1e12), "invalid_type"),
            (json!(2.5), "invalid_type"),
            (json!("lots"), "invalid_type"),
            (json!("unlimited"), "invalid_type"),
            (json!("5000"), "invalid_type"),
            (json!(true), "invalid_type"),
            (json!({"n": 1}), "invalid_type"),
        ] {
            let res = patch_user(&app, "alice", json!({"limits": {"indicators": value, "public_feeds": 7}}));
            let body = res.assert_error(422, "validation_failed");
            assert_eq!(body["details"]["errors"], json!([{"field": "limits.indicators", "code": code, "message": body["details"]["errors"][0]["message"]}]), "{value}");
        }
        let body = patch_user(&app, "alice", json!({"limits": {"tokens": 5}})).assert_error(422, "validation_failed");
        assert_eq!(body["details"]["errors"][0]["field"], "limits.tokens");
        let body = patch_user(&app, "alice", json!({"limits": 5000})).assert_error(422, "validation_failed");
        assert_eq!(body["details"]["errors"][0]["field"], "limits");
        let body = patch_user(&app, "alice", json!({"role": "root", "disabled": "yes"})).assert_error(422, "validation_failed");
        assert_eq!(body["details"]["errors"].as_array().unwrap().len(), 2);
        let after = show_user(&app, "alice");
        assert_eq!(after["limits"], before["limits"], "a refused patch writes nothing");
        assert_eq!(after["limits"]["public_feeds"], 3);
        assert_eq!(after["disabled"], false);
        // The largest allowed value is accepted.
        let body = patch_user(&app, "alice", json!({"limits": {"indicators": 1_000_000_000}})).assert_status(200).json();
        assert_eq!(body["limits"]["indicators"], 1_000_000_000);
    }

    fn unknown_users_are_404(app) {
        let admin = &app.admin_token;
        for path in ["/api/admin/users/nobody", "/api/admin/users/nobody/usage", "/api/admin/users/nobody/tokens"] {
            app.get_as(admin, path).assert_error(404, "not_found");
        }
        patch_user(&app, "nobody", json!({"disabled": true})).assert_error(404, "not_found");
        // 404 comes before a body problem (spec §1.4).
        patch_user(&app, "nobody", json!({"limits": {"indicators": -1}})).assert_error(404, "not_found");
        app.send_as("DELETE", admin, "/api/admin/users/nobody", &json!(null)).assert_error(404, "not_found");
        app.send_as("POST", admin, "/api/admin/users/nobody/tokens", &json!({})).assert_error(404, "not_found");
        app.send_as("DELETE", admin, "/api/admin/users/nobody/tokens/1", &json!(null)).assert_error(404, "not_found");
        app.send_as("POST", admin, "/api/admin/users/admin", &json!({"x": 1})).assert_error(405, "method_not_allowed");
    }

    fn usernames_are_immutable_and_passwords_can_be_removed(app) {
        app.user_with_token("alice");
        let body = patch_user(&app, "alice", json!({"username": "bob"})).assert_error(422, "validation_failed");
        assert_eq!(body["details"]["errors"][0]["code"], "immutable");
        patch_user(&app, "alice", json!({"user": {"username": "ALICE"}})).assert_status(200);
        app.get_as(&app.admin_token, "/api/admin/users/bob").assert_error(404, "not_found");
        let body = patch_user(&app, "alice", json!({"password": "short"})).assert_error(422, "validation_failed");
        assert_eq!(body["details"]["errors"][0]["code"], "out_of_range");
        let body = patch_user(&app, "alice", json!({"password": "correct horse battery"})).assert_status(200).json();
        assert_eq!(body["has_password"], true);
        let auth = basic("alice", "correct horse battery");
        app.request("GET", "/api/users/alice/tokens", &[("Authorization", &auth)], None).assert_status(200);
        let body = patch_user(&app, "alice", json!({"password": null})).assert_status(200).json();
        assert_eq!(body["has_password"], false);
        app.request("GET", "/api/users/alice/tokens", &[("Authorization", &auth)], None).assert_error(401, "invalid_credentials");
    }

    fn a_disabled_users_tokens_fail_at_once_and_work_again_after_enabling(app) {
        let alice = app.user_with_token("alice");
        let second = app.token_for("alice", TokenSpec::default());
        app.get_as(&alice, "/api/users/alice").assert_status(200);
        let body = patch_user(&app, "alice", json!({"disabled": true})).assert_status(200).json();
        assert_eq!(body["disabled"], true);
        for token in [&alice, &second] {
            app.get_as(token, "/api/users/alice").assert_error(401, "account_disabled");
            app.get_as(token, "/api").assert_error(401, "account_disabled");
        }
        // Disabled users stay visible, and their tokens are not revoked.
        app.get("/api/users/alice").assert_status(200);
        assert_eq!(show_user(&app, "alice")["usage"]["tokens"], 2);
        let body = patch_user(&app, "alice", json!({"disabled": false})).assert_status(200).json();
        assert_eq!(body["disabled"], false);
        app.get_as(&alice, "/api/users/alice").assert_status(200);
        app.create_feed(&second, "alice", "back", false).assert_status(201);
    }

    fn a_change_made_by_another_process_reaches_a_remembered_token_within_a_second(app) {
        // The gateway remembers resolved tokens for one second (auth::cache); a change made
        // through the CLI (or another gateway) is seen once that second has passed.
        let alice = app.user_with_token("alice");
        app.get_as(&alice, "/api/users/alice").assert_status(200);
        app.get_as(&alice, "/api/users/alice").assert_status(200);
        let (code, _, err) = Binary::run(&app.db.url, &["user", "disable", "alice"], None);
        assert_eq!(code, 0, "{err}");
        let disabled_at = std::time::Instant::now();
        loop {
            let res = app.get_as(&alice, "/api/users/alice");
            if res.status == 401 {
                res.assert_error(401, "account_disabled");
                break;
            }
            res.assert_status(200);
            assert!(disabled_at.elapsed() < std::time::Duration::from_secs(3), "still admitted after 3 s");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(disabled_at.elapsed() < std::time::Duration::from_secs(3));
    }

    fn the_last_enabled_admin_cannot_be_demoted_disabled_or_deleted(app) {
        patch_user(&app, "admin", json!({"role": "user"})).assert_error(409, "last_admin");
        patch_user(&app, "admin", json!({"disabled": true})).assert_error(409, "last_admin");
        app.send_as("DELETE", &app.admin_token, "/api/admin/users/admin", &json!(null)).assert_error(409, "last_admin");
        assert_eq!(show_user(&app, "admin")["role"], "admin");
        // A second admin who is disabled does not count.
        let carol = app.send_as("POST", &app.admin_token, "/api/admin/users", &json!({"username": "carol", "role": "admin"})).assert_status(201).json();
        let carol = carol["token"]["token"].as_str().unwrap().to_string();
        patch_user(&app, "carol", json!({"disabled": true})).assert_status(200);
        patch_user(&app, "admin", json!({"role": "user"})).assert_error(409, "last_admin");
        patch_user(&app, "admin", json!({"role": "admin", "disabled": false})).assert_status(200);
        // With carol enabled, admin may be demoted, and loses the admin routes at once.
        patch_user(&app, "carol", json!({"disabled": false})).assert_status(200);
        let body = patch_user(&app, "admin", json!({"role": "user"})).assert_status(200).json();
        assert_eq!(body["role"], "user");
        app.get_as(&app.admin_token, "/api/admin/users").assert_error(403, "admin_required");
        // Now carol is the last one.
        app.send_as("PATCH", &carol, "/api/admin/users/carol", &json!({"role": "user"})).assert_error(409, "last_admin");
        app.send_as("DELETE", &carol, "/api/admin/users/carol", &json!(null)).assert_error(409, "last_admin");
        app.send_as("PATCH", &carol, "/api/admin/users/admin", &json!({"role": "admin"})).assert_status(200);
        let gone = app.send_as("DELETE", &carol, "/api/admin/users/carol", &json!(null)).assert_status(200).json();
        assert_eq!(gone["role"], "admin");
        app.get_as(&carol, "/api").assert_error(401, "invalid_token");
        app.get_as(&app.admin_token, "/api/admin/users").assert_status(200);
    }

    fn two_admins_demoting_each_other_at_once_leave_one_admin(app) {
        let carol = app.send_as("POST", &app.admin_token, "/api/admin/users", &json!({"username": "carol", "role": "admin"})).assert_status(201).json();
        let carol = carol["token"]["token"].as_str().unwrap().to_string();
        let barrier = std::sync::Barrier::new(2);
        let demote = |token: &str, other: &str| {
            barrier.wait();
            app.send_as("PATCH", token, &format!("/api/admin/users/{other}"), &json!({"role": "user"})).status
        };
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| demote(&app.admin_token, "carol"));
            let b = s.spawn(|| demote(&carol, "admin"));
            (a.join().unwrap(), b.join().unwrap())
        });
        let mut statuses = [a, b];
        statuses.sort_unstable();
        // The loser is refused as the last admin, or, if the winner committed before the loser
        // was authenticated, is no admin any more.
        assert!(statuses == [200, 409] || statuses == [200, 403], "{statuses:?}");
        let winner = if a == 200 { &app.admin_token } else { &carol };
        let list = app.get_v1(winner, "/api/admin/users").assert_status(200).json();
        let admins: Vec<&str> = list.as_array().unwrap().iter().filter(|u| u["role"] == "admin").map(|u| u["username"].as_str().unwrap()).collect();
        assert_eq!(admins.len(), 1, "{list}");
    }

    fn deleting_a_user_cascades_and_frees_nothing_else(app) {
        let alice = app.user_with_token("alice");
        let bob = app.user_with_token("bob");
        app.token_for("alice", TokenSpec::default());
        app.create_feed(&alice, "alice", "scanners", false).assert_status(201);
        app.create_feed(&alice, "alice", "secret", true).assert_status(201);
        for value in ["198.51.100.23", "203.0.113.0/24"] {
            app.post_indicator(&alice, "alice", "scanners", &json!({"indicator": value, "comment": "seen"})).assert_status(201);
        }
        app.post_indicator(&alice, "alice", "secret", &json!({"indicator": "login-verify.example.net"})).assert_status(201);
        app.create_feed(&bob, "bob", "bobs", false).assert_status(201);
        let bobs = app.post_indicator(&bob, "bob", "bobs", &json!({"indicator": "198.51.100.77"})).json();
        let bobs_path = bobs["indicator"]["location"].as_str().unwrap().strip_prefix(&app.base).unwrap().to_string();
        assert_eq!(app.search_values(Some(&bob), "q=198.51.100.23"), ["198.51.100.23"]);
        let bob_before = show_user(&app, "bob");
        let admin_before = show_user(&app, "admin");

        let res = app.send_as("DELETE", &app.admin_token, "/api/admin/users/alice", &json!(null));
        let body = res.assert_status(200).json();
        let mut expected: Vec<&str> = ADMIN_USER_KEYS.to_vec();
        expected.push("deleted");
        assert_eq!(keys(&body), expected);
        assert_eq!(body["username"], "alice");
        assert_eq!(body["usage"]["indicators"], 3, "the object as it was");
        assert_eq!(body["deleted"], json!({"feeds": 2, "indicators": 3, "tokens": 2}));

        app.get("/api/users/alice").assert_error(404, "not_found");
        app.get_as(&alice, "/api").assert_error(401, "invalid_token");
        assert!(app.search_values(Some(&bob), "q=198.51.100.23").is_empty(), "her public indicators vanish from search");
        assert!(app.search_values(Some(&app.admin_token), "q=login-verify.example.net").is_empty());
        assert_eq!(app.search_values(Some(&bob), "q=198.51.100.77"), ["198.51.100.77"], "bob's stay");
        assert_eq!(quotas(&show_user(&app, "bob")), quotas(&bob_before), "no other quota moves");
        assert_eq!(quotas(&show_user(&app, "admin")), quotas(&admin_before));
        // The name is free again; the new alice starts from nothing.
        let again = app.send_as("POST", &app.admin_token, "/api/admin/users", &json!({"username": "alice"})).assert_status(201).json();
        assert_eq!(again["usage"], json!({"requests_today": 0, "private_feeds": 0, "public_feeds": 0, "indicators": 0, "tokens": 1}));
        assert_eq!(app.get_as(&bob, "/api/users/alice/feeds").assert_status(200).json(), json!([]));

        // Only admins write comments into others' feeds: deleting one takes their comments along,
        // and the indicator's count follows.
        let carol = app.send_as("POST", &app.admin_token, "/api/admin/users", &json!({"username": "carol", "role": "admin"})).assert_status(201).json();
        let carol = carol["token"]["token"].as_str().unwrap().to_string();
        app.send_as("POST", &carol, &format!("{bobs_path}/comments"), &json!({"comment": "also seen here"})).assert_status(201);
        app.send_as("POST", &bob, &format!("{bobs_path}/comments"), &json!({"comment": "thanks"})).assert_status(201);
        assert_eq!(app.get_v1(&bob, &bobs_path).json()["comments_count"], 2);
        let gone = app.send_as("DELETE", &app.admin_token, "/api/admin/users/carol", &json!(null)).assert_status(200).json();
        assert_eq!(gone["deleted"], json!({"feeds": 0, "indicators": 0, "tokens": 1}));
        let bobs_now = app.get_v1(&bob, &bobs_path).assert_status(200).json();
        assert_eq!(bobs_now["comments_count"], 1, "{bobs_now}");
        let texts: Vec<&str> = bobs_now["comments"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap()).collect();
        assert_eq!(texts, ["thanks"]);
        assert_eq!(quotas(&show_user(&app, "bob")), quotas(&bob_before));
    }

    fn usage_reports_requests_quotas_and_tokens(app) {
        app.user_with_token("alice");
        app.token_for("alice", TokenSpec::default());
        // Written by the admin, charged to alice's quotas: alice herself sends no request.
        let admin = &app.admin_token;
        app.create_feed(admin, "alice", "open", false).assert_status(201);
        app.create_feed(admin, "alice", "closed", true).assert_status(201);
        for value in ["198.51.100.23", "198.51.100.24", "example.org"] {
            app.post_indicator(admin, "alice", "open", &json!({"indicator": value})).assert_status(201);
        }
        let now = app.clock.now();
        {
            let mut conn = app.pool.get().unwrap();
            let id = feedgate::models::user::find_by_name(&mut conn, "alice").unwrap().id;
            feedgate::db::write_tx(&mut conn, |tx| daily::add(tx, &daily::user_subject(id), now.date(), 7)).unwrap();
        }
        let res = app.get_as(admin, "/api/admin/users/alice/usage");
        let usage = res.assert_status(200).json();
        let tomorrow = now.date() + chrono::Duration::days(1);
        assert_eq!(usage, json!({
            "username": "alice",
            "date": now.date().format("%Y-%m-%d").to_string(),
            "requests": {"used": 7, "limit": 5000, "remaining": 4993, "reset_at": format!("{} 00:00:00 UTC", tomorrow.format("%Y-%m-%d"))},
            "private_feeds": {"used": 1, "limit": 1},
            "public_feeds": {"used": 1, "limit": 10},
            "indicators": {"used": 3, "limit": 250000},
            "tokens": {"used": 2, "limit": 100},
        }));
        assert_eq!(show_user(&app, "alice")["usage"], json!({"requests_today": 7, "private_feeds": 1, "public_feeds": 1, "indicators": 3, "tokens": 2}));
        let list = app.get_as(admin, "/api/admin/users").json();
        let listed = list.as_array().unwrap().iter().find(|u| u["username"] == "alice").unwrap();
        assert_eq!(listed["usage"]["requests_today"], 7, "lists carry the same usage");
        // Unlimited shows as null, with nothing remaining to count down.
        patch_user(&app, "alice", json!({"limits": {"requests_per_day": null, "indicators": null}})).assert_status(200);
        let v1 = app.get_v1(admin, "/api/admin/users/alice/usage").json();
        assert_eq!(v1["requests"], json!({"used": 7, "limit": null, "remaining": null, "reset_at": format!("{}T00:00:00Z", tomorrow.format("%Y-%m-%d"))}));
        assert_eq!(v1["indicators"], json!({"used": 3, "limit": null}));
        // Usage above a lowered limit leaves nothing remaining, never a negative number.
        patch_user(&app, "alice", json!({"limits": {"requests_per_day": 5}})).assert_status(200);
        let usage = app.get_as(admin, "/api/admin/users/alice/usage").json();
        assert_eq!(usage["requests"]["remaining"], 0);
    }

    fn admins_manage_any_users_tokens(app) {
        let alice = app.user_with_token("alice");
        app.user_with_token("bob");
        let admin = &app.admin_token;
        let res = app.send_as("POST", admin, "/api/admin/users/alice/tokens", &json!({"token": {"name": "ci", "scopes": ["read"]}}));
        let minted = res.assert_status(201).json();
        let plain = minted["token"].as_str().unwrap().to_string();
        assert_eq!(minted["scopes"], json!(["read"]));
        app.get_as(&plain, "/api/users/alice/feeds").assert_status(200);
        app.create_feed(&plain, "alice", "x", false).assert_error(403, "insufficient_scope");
        let list = app.get_as(admin, "/api/admin/users/alice/tokens").assert_status(200).json();
        let names: Vec<&str> = list.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["ci", "token"], "newest first");
        assert!(list[0].get("token").is_none(), "the plaintext is never shown again");
        // An empty POST reads.
        let auth = format!("Token token={admin}");
        let read = app.request("POST", "/api/admin/users/alice/tokens", &[("Authorization", &auth)], Some(b""));
        assert_eq!(read.assert_status(200).json(), list);
        app.send_as("POST", admin, "/api/admin/users/alice/tokens", &json!({"expires_in_days": 0})).assert_error(422, "validation_failed");
        let id = minted["id"].as_i64().unwrap();
        app.send_as("DELETE", admin, &format!("/api/admin/users/bob/tokens/{id}"), &json!(null)).assert_error(404, "not_found");
        let revoked = app.send_as("DELETE", admin, &format!("/api/admin/users/alice/tokens/{id}"), &json!(null)).assert_status(200).json();
        assert!(revoked["revoked_at"].as_str().unwrap().ends_with(" UTC"));
        app.get_as(&plain, "/api").assert_error(401, "invalid_token");
        app.send_as("DELETE", admin, &format!("/api/admin/users/alice/tokens/{id}"), &json!(null)).assert_error(404, "not_found");
        app.send_as("DELETE", admin, "/api/admin/users/alice/tokens/x1", &json!(null)).assert_error(404, "not_found");
        app.get_as(&alice, "/api/users/alice").assert_status(200);
    }

    fn the_cli_sets_quotas_shows_usage_and_disables_users(app) {
        let url = &app.db.url;
        let alice = app.user_with_token("alice");
        let (code, out, err) = Binary::run(url, &["user", "quota", "alice", "--requests-per-day", "20000", "--max-indicators", "unlimited"], None);
        assert_eq!(code, 0, "{err}");
        let row = |text: &str, name: &str| -> Vec<String> {
            text.lines().find(|l| l.split_whitespace().next() == Some(name)).unwrap_or_else(|| panic!("no {name} in {text}")).split_whitespace().map(str::to_string).collect()
        };
        assert_eq!(row(&out, "requests_per_day"), ["requests_per_day", "20000", "override"]);
        assert_eq!(row(&out, "indicators"), ["indicators", "unlimited", "override"]);
        assert_eq!(row(&out, "public_feeds"), ["public_feeds", "10", "default"]);
        let body = show_user(&app, "alice");
        assert_eq!(body["limits"]["requests_per_day"], 20000, "the API sees what the CLI set");
        assert_eq!(body["overridden"], json!(["requests_per_day", "indicators"]));
        let (code, out, err) = Binary::run(url, &["user", "quota", "alice", "--requests-per-day", "default"], None);
        assert_eq!(code, 0, "{err}");
        assert_eq!(row(&out, "requests_per_day"), ["requests_per_day", "5000", "default"]);
        assert_eq!(row(&out, "indicators"), ["indicators", "unlimited", "override"]);
        for bad in ["-3", "1000000001", "lots", ""] {
            let (code, _, err) = Binary::run(url, &["user", "quota", "alice", "--max-public-feeds", bad], None);
            assert_eq!(code, 1, "{bad:?} must be refused: {err}");
            let last = err.lines().last().unwrap();
            assert!(last.starts_with("feedgate: error: --max-public-feeds: a limit is an integer 0-1000000000"), "{err}");
        }
        assert_eq!(show_user(&app, "alice")["limits"]["public_feeds"], 10, "refused values change nothing");

        app.create_feed(&app.admin_token, "alice", "open", false).assert_status(201);
        app.post_indicator(&app.admin_token, "alice", "open", &json!({"indicator": "198.51.100.23"})).assert_status(201);
        let (code, out, err) = Binary::run(url, &["user", "usage", "alice"], None);
        assert_eq!(code, 0, "{err}");
        assert_eq!(row(&out, "public_feeds")[1..], ["1", "10"]);
        assert_eq!(row(&out, "private_feeds")[1..], ["0", "1"]);
        assert_eq!(row(&out, "indicators")[1..], ["1", "unlimited"]);
        assert_eq!(row(&out, "tokens")[1..], ["1", "100"]);
        assert_eq!(row(&out, "requests_today")[2], "5000");

        let (code, _, err) = Binary::run(url, &["user", "disable", "alice"], None);
        assert_eq!(code, 0, "{err}");
        app.get_as(&alice, "/api/users/alice").assert_error(401, "account_disabled");
        assert_eq!(show_user(&app, "alice")["disabled"], true);
        let (code, _, err) = Binary::run(url, &["user", "enable", "alice"], None);
        assert_eq!(code, 0, "{err}");
        app.get_as(&alice, "/api/users/alice").assert_status(200);

        let (code, _, err) = Binary::run(url, &["user", "disable", "admin"], None);
        assert_eq!(code, 1);
        assert_eq!(err.lines().last().unwrap(), "feedgate: error: admin is the last enabled admin", "{err}");
        app.get_as(&app.admin_token, "/api/admin/users").assert_status(200);
        for args in [&["user", "usage", "nobody"][..], &["user", "quota", "nobody"], &["user", "disable", "nobody"]] {
            let (code, _, err) = Binary::run(url, args, None);
            assert_eq!(code, 1, "{args:?}");
            assert_eq!(err.lines().last().unwrap(), "feedgate: error: no such user: nobody");
        }
    }
}
