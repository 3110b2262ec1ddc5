//! The token routes: minting with a token or HTTP Basic, listing, revoking, and who may.

use serde_json::json;

use crate::helpers::*;

both_backends! {
    fn a_minted_token_is_shown_once_and_works(app) {
        let res = app.send_as("POST", &app.admin_token, "/api/users/admin/tokens",
            &json!({"token": {"name": "honeypot-eu1", "scopes": ["read"], "expires_in_days": 90}}));
        let body = res.assert_status(201).json();
        let token = body["token"].as_str().unwrap().to_string();
        assert_eq!(token.len(), 46);
        assert_eq!(body["prefix"], &token[..11]);
        assert_eq!(body["scopes"], json!(["read"]));
        assert_eq!(body["name"], "honeypot-eu1");
        assert!(body["expires_at"].as_str().unwrap().ends_with(" UTC"));
        app.get_as(&token, "/api/users/admin/tokens").assert_status(200);
        let list = app.get_as(&app.admin_token, "/api/users/admin/tokens").json();
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert_eq!(list[0]["name"], "honeypot-eu1", "newest first");
        assert!(list[0].get("token").is_none(), "the plaintext is never shown again");
    }

    fn basic_auth_mints_a_token_with_the_password(app) {
        let (code, _, err) = Binary::run(&app.db.url, &["user", "add", "carol", "--password-stdin"], Some("correct horse battery\n"));
        assert_eq!(code, 0, "{err}");
        let basic = |user: &str, pw: &str| {
            use base64::Engine;
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}")))
        };
        let good = basic("carol", "correct horse battery");
        let res = app.request("POST", "/api/users/carol/tokens", &[("Authorization", &good)], Some(br#"{"name": "laptop"}"#));
        let token = res.assert_status(201).json()["token"].as_str().unwrap().to_string();
        app.get_as(&token, "/api/users/carol/tokens").assert_status(200);
        let wrong = basic("carol", "wrong horse battery");
        app.request("POST", "/api/users/carol/tokens", &[("Authorization", &wrong)], Some(b"{}")).assert_error(401, "invalid_credentials");
        let other = basic("admin", "correct horse battery");
        app.request("GET", "/api/users/carol/tokens", &[("Authorization", &other)], None).assert_error(401, "invalid_credentials");
        app.request("GET", "/api/users/carol/tokens", &[("Authorization", &good)], None).assert_status(200);
    }

    fn another_users_tokens_are_forbidden_but_admins_may(app) {
        let alice = app.user_with_token("alice");
        app.user_with_token("bob");
        app.get_as(&alice, "/api/users/bob/tokens").assert_error(403, "forbidden");
        app.send_as("POST", &alice, "/api/users/bob/tokens", &json!({})).assert_error(403, "forbidden");
        app.get_as(&alice, "/api/users/nobody/tokens").assert_error(404, "not_found");
        let minted = app.send_as("POST", &app.admin_token, "/api/users/bob/tokens", &json!({}));
        assert_eq!(minted.assert_status(201).json()["scopes"], json!(["read", "write"]));
    }

    fn token_bodies_are_validated(app) {
        let res = app.send_as("POST", &app.admin_token, "/api/users/admin/tokens",
            &json!({"name": "n".repeat(101), "scopes": ["admin"], "expires_in_days": 0}));
        let body = res.assert_error(422, "validation_failed");
        let fields: Vec<&str> = body["details"]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["name", "scopes", "expires_in_days"]);
        let res = app.send_as("POST", &app.admin_token, "/api/users/admin/tokens", &json!({"expires_at": "2001-01-01T00:00:00Z"}));
        assert_eq!(res.assert_error(422, "validation_failed")["details"]["errors"][0]["code"], "out_of_range");
    }

    fn revoking_twice_or_a_bad_id_is_404(app) {
        let res = app.send_as("POST", &app.admin_token, "/api/users/admin/tokens", &json!({}));
        let id = res.json()["id"].as_i64().unwrap();
        let path = format!("/api/users/admin/tokens/{id}");
        app.send_as("DELETE", &app.admin_token, &path, &json!(null)).assert_status(200);
        app.send_as("DELETE", &app.admin_token, &path, &json!(null)).assert_error(404, "not_found");
        app.send_as("DELETE", &app.admin_token, "/api/users/admin/tokens/abc", &json!(null)).assert_error(404, "not_found");
        app.send_as("DELETE", &app.admin_token, "/api/users/admin/tokens/-1", &json!(null)).assert_error(404, "not_found");
    }
}
