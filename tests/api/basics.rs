//! Root, health, metrics, content negotiation, the error body for every kind of broken request.

use serde_json::json;

use crate::helpers::*;

both_backends! {
    fn the_root_object_links_to_this_host(app) {
        let v0 = app.get("/api");
        v0.assert_status(200);
        let body = v0.json();
        assert_eq!(body["version"], "v0");
        assert_eq!(body["current_user_url"], format!("{}/api/users/:user", app.base));
        assert_eq!(body["search_url"], format!("{}/api/search?q=:query", app.base));
        assert_eq!(v0.header("x-csirtg-version"), Some("v0"));
        assert_eq!(v0.header("vary"), Some("Accept"));
        assert_eq!(v0.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(v0.header("content-type"), Some("application/json; charset=utf-8"));
        let v1 = app.request("GET", "/api", &[("Accept", "application/vnd.csirtg.v1")], None);
        assert_eq!(v1.json()["version"], "v1");
        assert_eq!(v1.header("x-csirtg-version"), Some("v1"));
    }

    fn unsupported_versions_get_406(app) {
        let res = app.request("GET", "/api", &[("Accept", "application/vnd.csirtg.v2")], None);
        let body = res.assert_error(406, "not_acceptable");
        assert_eq!(body["details"]["supported"].as_array().unwrap().len(), 4);
        let fallback = app.request("GET", "/api", &[("Accept", "application/vnd.csirtg.v2, application/json;q=0.5")], None);
        assert_eq!(fallback.assert_status(200).json()["version"], "v0");
    }

    fn unknown_routes_are_json_404s(app) {
        app.get("/nope").assert_error(404, "not_found");
        app.get("/api/nope/deeper").assert_error(404, "not_found");
        app.get("/api/predict").assert_error(404, "not_found");
        let res = app.get("/api/users/nobody");
        res.assert_error(404, "not_found");
    }

    fn wrong_methods_are_json_405s_with_allow(app) {
        let res = app.request("DELETE", "/api", &[], None);
        res.assert_error(405, "method_not_allowed");
        assert_eq!(res.header("allow"), Some("GET, HEAD, POST"));
        // POST with a body on a read-only route is not a read.
        app.request("POST", "/api", &[], Some(b"{}")).assert_error(405, "method_not_allowed");
    }

    fn paths_are_normalised_and_posts_of_null_are_reads(app) {
        app.get("/api/").assert_status(200);
        app.get("/api//users/admin").assert_status(200);
        let read = app.request("POST", "/api//users/admin/", &[("Content-Type", "application/json")], Some(b" null "));
        assert_eq!(read.assert_status(200).json()["username"], "admin");
        app.request("POST", "/api", &[], Some(b"")).assert_status(200);
    }

    fn head_answers_like_get_without_a_body(app) {
        let res = app.request("HEAD", "/api/users/admin", &[], None);
        res.assert_status(200);
        assert_eq!(res.header("content-type"), Some("application/json; charset=utf-8"));
        assert!(res.body.is_empty());
    }

    fn health_reports_the_backend(app) {
        let res = app.request("GET", "/api/health", &[("Accept", "application/vnd.csirtg.v9")], None);
        let body = res.assert_status(200).json();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["database"], "ok");
        let backend = if app.db.url.starts_with("sqlite") { "sqlite" } else { "postgres" };
        assert_eq!(body["backend"], backend);
    }

    fn metrics_count_requests_by_route_template(app) {
        app.get("/api/users/admin").assert_status(200);
        app.get("/api/users/nobody").assert_status(404);
        let res = app.get("/metrics");
        res.assert_status(200);
        assert!(res.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
        let text = &res.body;
        assert!(text.contains(r#"feedgate_http_requests_total{method="GET",route="/api/users/{user}",status="200"} 1"#), "{text}");
        assert!(text.contains(r#"feedgate_http_requests_total{method="GET",route="/api/users/{user}",status="404"} 1"#), "{text}");
        assert!(text.contains("feedgate_http_request_duration_seconds_bucket"));
        assert!(text.contains("feedgate_db_pool_max_connections 4"));
        assert!(text.contains("feedgate_build_info{"));
        assert!(!text.contains("/api/users/admin\""), "raw paths must not become labels");
    }

    fn request_ids_are_echoed_or_generated(app) {
        let res = app.request("GET", "/api", &[("X-Request-Id", "abc-123.x_Y")], None);
        assert_eq!(res.header("x-request-id"), Some("abc-123.x_Y"));
        let res = app.request("GET", "/api", &[("X-Request-Id", "bad id with spaces")], None);
        let id = res.header("x-request-id").unwrap();
        assert!(!id.is_empty() && id != "bad id with spaces");
    }

    fn malformed_json_is_a_400(app) {
        let auth = format!("Token token={}", app.admin_token);
        let res = app.request("POST", "/api/users/admin/tokens", &[("Authorization", &auth), ("Content-Type", "application/json")], Some(b"{\"name\": "));
        res.assert_error(400, "malformed_json");
        let res = app.request("POST", "/api/users/admin/tokens", &[("Authorization", &auth)], Some(b"\xff\xfe{}"));
        res.assert_error(400, "malformed_json");
    }

    fn curl_form_bodies_are_json_and_other_types_are_415(app) {
        let auth = format!("Token token={}", app.admin_token);
        let res = app.request("POST", "/api/users/admin/tokens",
            &[("Authorization", &auth), ("Content-Type", "application/x-www-form-urlencoded")], Some(br#"{"name": "via-curl"}"#));
        assert_eq!(res.assert_status(201).json()["name"], "via-curl");
        let res = app.request("POST", "/api/users/admin/tokens",
            &[("Authorization", &auth), ("Content-Type", "application/xml")], Some(b"<token/>"));
        res.assert_error(415, "unsupported_media_type");
    }

    fn a_body_that_is_not_an_object_is_a_422(app) {
        let res = app.send_as("POST", &app.admin_token, "/api/users/admin/tokens", &json!([1, 2]));
        let body = res.assert_error(422, "validation_failed");
        assert_eq!(body["details"]["errors"][0]["field"], "");
        assert_eq!(body["details"]["errors"][0]["code"], "invalid_type");
    }

    fn unknown_query_parameters_are_named_in_a_400(app) {
        let res = app.get("/api/users/admin?limit=5&colour=red");
        let body = res.assert_error(400, "unknown_parameter");
        assert_eq!(body["details"]["parameters"], json!(["limit", "colour"]));
    }
}

mod limited_bodies {
    use super::*;

    fn oversized(backend: Backend) {
        let app = TestApp::spawn_with(backend, |s| s.max_body_bytes = 1024);
        let big = json!({"name": "x".repeat(4000)}).to_string();
        let auth = format!("Token token={}", app.admin_token);
        let res = app.request(
            "POST",
            "/api/users/admin/tokens",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            Some(big.as_bytes()),
        );
        let body = res.assert_error(413, "payload_too_large");
        assert_eq!(body["details"]["limit"], 1024);
        // Nothing was written.
        let list = app.get_as(&app.admin_token, "/api/users/admin/tokens");
        assert_eq!(list.json().as_array().unwrap().len(), 1);
    }

    #[test]
    fn oversized_bodies_get_413_sqlite() {
        oversized(Backend::Sqlite);
    }

    #[test]
    #[cfg_attr(
        not(pg_tests),
        ignore = "TEST_DATABASE_URL not set: PostgreSQL run skipped"
    )]
    fn oversized_bodies_get_413_postgres() {
        oversized(Backend::Postgres);
    }

    #[test]
    fn the_public_url_setting_builds_links() {
        let app = TestApp::spawn_with(Backend::Sqlite, |s| {
            s.public_url = Some("https://feedgate.example.org/".into())
        });
        let body = app.get("/api").json();
        assert_eq!(
            body["user_feeds_url"],
            "https://feedgate.example.org/api/users/:user/feeds"
        );
    }
}

both_databases! {
    fn every_row_struct_matches_its_table(db) {
        use diesel::prelude::*;
        use feedgate::db::schema::*;
        use feedgate::models::{attachment::AttachmentMeta, feed::FeedRow, indicator::IndicatorRow, token::TokenRow, user::UserRow};
        let pool = feedgate::db::connect(&db.parsed(), Default::default()).unwrap();
        let mut c = pool.get().unwrap();
        let c = &mut *c;
        assert!(users::table.select(UserRow::as_select()).limit(0).load(c).unwrap().is_empty());
        assert!(api_tokens::table.select(TokenRow::as_select()).limit(0).load(c).unwrap().is_empty());
        assert!(feeds::table.select(FeedRow::as_select()).limit(0).load(c).unwrap().is_empty());
        assert!(indicators::table.select(IndicatorRow::as_select()).limit(0).load(c).unwrap().is_empty());
        assert!(attachments::table.select(AttachmentMeta::as_select()).limit(0).load(c).unwrap().is_empty());
        let counts: Vec<(String, chrono::NaiveDate, i64)> = daily_usage::table.limit(0).load(c).unwrap();
        assert!(counts.is_empty());
        use feedgate::models::{import::ImportFileRow, shadowserver_run::RunRow, shadowserver_schedule::ScheduleRow};
        assert!(import_files::table.select(ImportFileRow::as_select()).limit(0).load(c).unwrap().is_empty());
        assert!(shadowserver_schedules::table.select(ScheduleRow::as_select()).limit(0).load(c).unwrap().is_empty());
        assert!(shadowserver_runs::table.select(RunRow::as_select()).limit(0).load(c).unwrap().is_empty());
    }
}
