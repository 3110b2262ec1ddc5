//! Token authentication: the four header forms, and every way a credential can fail.

use feedgate::auth::accounts::TokenSpec;
use serde_json::json;

use crate::helpers::*;

both_backends! {
    fn every_token_header_form_authenticates(app) {
        let t = &app.admin_token;
        let forms = [
            ("Authorization", format!("Token token={t}")),
            ("Authorization", format!("Token token=\"{t}\"")),
            ("Authorization", format!("Token {t}")),
            ("Authorization", format!("Bearer {t}")),
            ("X-Api-Key", t.clone()),
        ];
        for (name, value) in &forms {
            let res = app.request("GET", "/api/users/admin", &[(name, value)], None);
            let body = res.assert_status(200).json();
            // Only the user themself (or an admin) sees role and limits: proof the token counted.
            assert_eq!(body["role"], "admin", "{name}: {value}");
            assert_eq!(body["limits"]["requests_per_day"], 5000);
        }
        let anonymous = app.get("/api/users/admin").json();
        assert!(anonymous.get("role").is_none());
        assert_eq!(anonymous["username"], "admin");
    }

    fn a_missing_token_on_a_user_route_is_401(app) {
        let res = app.get("/api/users/admin/tokens");
        res.assert_error(401, "authentication_required");
        assert_eq!(res.header("www-authenticate"), Some(r#"Token realm="feedgate""#));
    }

    fn bad_tokens_are_401_even_on_open_routes(app) {
        app.get_as("fg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/api").assert_error(401, "invalid_token");
        app.get_as("None", "/api").assert_error(401, "invalid_token");
        app.get_as("not-even-close", "/api/users/admin").assert_error(401, "invalid_token");
        app.request("GET", "/api", &[("Authorization", "Digest abc")], None).assert_error(401, "unsupported_auth_scheme");
        app.request("GET", "/api", &[("Authorization", "Basic YWRtaW46eA==")], None).assert_error(401, "unsupported_auth_scheme");
    }

    fn two_different_tokens_are_a_400(app) {
        let auth = format!("Token token={}", app.admin_token);
        let other = app.user_with_token("alice");
        let res = app.request("GET", "/api", &[("Authorization", &auth), ("X-Api-Key", &other)], None);
        res.assert_error(400, "conflicting_credentials");
    }

    fn a_revoked_token_stops_working_at_once(app) {
        let alice = app.user_with_token("alice");
        let spare = app.token_for("alice", TokenSpec::default());
        app.get_as(&spare, "/api/users/alice/tokens").assert_status(200);
        let list = app.get_as(&alice, "/api/users/alice/tokens").json();
        let spare_id = list.as_array().unwrap().iter().find(|t| spare.starts_with(t["prefix"].as_str().unwrap())).unwrap()["id"].as_i64().unwrap();
        let res = app.send_as("DELETE", &alice, &format!("/api/users/alice/tokens/{spare_id}"), &json!(null));
        assert!(res.assert_status(200).json()["revoked_at"].is_string());
        app.get_as(&spare, "/api/users/alice/tokens").assert_error(401, "invalid_token");
        app.get_as(&alice, "/api/users/alice/tokens").assert_status(200);
    }

    fn an_expired_token_is_refused_with_its_own_code(app) {
        app.user_with_token("alice");
        let short = app.token_for("alice", TokenSpec { name: "short".into(), write: true, expires_at: Some(app.clock.now() + chrono::Duration::days(1)) });
        app.get_as(&short, "/api/users/alice/tokens").assert_status(200);
        app.clock.advance(chrono::Duration::days(2));
        app.get_as(&short, "/api/users/alice/tokens").assert_error(401, "token_expired");
    }

    fn a_read_only_token_cannot_write(app) {
        app.user_with_token("alice");
        let reader = app.token_for("alice", TokenSpec { name: "reader".into(), write: false, expires_at: None });
        app.get_as(&reader, "/api/users/alice/tokens").assert_status(200);
        let res = app.send_as("POST", &reader, "/api/users/alice/tokens", &json!({"name": "more"}));
        res.assert_error(403, "insufficient_scope");
        let count = app.get_as(&reader, "/api/users/alice/tokens").json().as_array().unwrap().len();
        assert_eq!(count, 2);
    }
}
