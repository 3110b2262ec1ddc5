//! The Shadowserver operator loop (issue 21) against the local stand-in of the Reports API
//! (`pull::StandIn`, which verifies HMAC2): `subscribed`, `types`, `stats`, `pull --check`,
//! `download` and `query` with their error answers; scheduled pulls inside the server (admin
//! routes, one run across two racing gateways, a dead gateway's run finished by the next, a
//! report of the wrong shape failed while the run goes on); the feed's import history.

use std::time::{Duration, Instant};

use feedgate::config::{Settings, ShadowserverCredentials};
use feedgate::db;
use feedgate::models::shadowserver_run::{self as run, NewRun};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::imports::{feed_id, sample, stored_counts, user_and_feed};
use crate::pull::{Fault, StandIn, TEST_KEY, TEST_SECRET};

/// Polls `done` until it holds (a deadline only against hanging; nothing is timed).
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Settings pointing a gateway's scheduled pulls at the stand-in, looking every second.
fn scheduled(api: &StandIn) -> impl FnOnce(&mut Settings) + use<> {
    let [url, dl] = api.urls();
    move |s: &mut Settings| {
        s.shadowserver_credentials = Some(ShadowserverCredentials {
            key: TEST_KEY.into(),
            secret: TEST_SECRET.into(),
        });
        s.shadowserver_api_url = url;
        s.shadowserver_download_url = dl;
        s.shadowserver_poll_secs = 1;
        s.shadowserver_lease_secs = 3;
    }
}

/// The stand-in's 2020-08-02 reports dated today, so a schedule's default days cover them.
fn reports_of_today(api: &StandIn) {
    let today = chrono::Utc::now().date_naive().to_string();
    for e in api.state().entries.iter_mut() {
        if e["timestamp"] == "2020-08-02" {
            e["timestamp"] = Value::from(today.clone());
        }
    }
}

fn parse(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// How many requests of `method` the stand-in got.
fn calls(api: &StandIn, method: &str) -> usize {
    api.state()
        .calls
        .iter()
        .filter(|(m, _)| m == method)
        .count()
}

/// The rows `reports/query` searches: three `scan`+`ssl` rows, one `scan`+`ssh`, one with
/// neither (the generic rule), all of geo XX, and one of geo YY.
fn query_rows() -> Vec<Value> {
    let row = |ip: &str, geo: &str, kind: Option<&str>, tag: Option<&str>| {
        let mut v = json!({"ip": ip, "geo": geo, "port": "443", "protocol": "tcp",
                           "timestamp": "2024-01-04 00:00:00", "asn": "64500"});
        if let Some(k) = kind {
            v["type"] = json!(k);
        }
        if let Some(t) = tag {
            v["tag"] = json!([t]);
        }
        v
    };
    vec![
        row("192.0.2.1", "XX", Some("scan"), Some("ssl")),
        row("192.0.2.2", "XX", Some("scan"), Some("ssl")),
        row("192.0.2.3", "XX", Some("scan"), Some("ssh")),
        row("192.0.2.4", "XX", Some("scan"), Some("ssl")),
        row("192.0.2.5", "XX", None, None),
        row("198.51.100.1", "YY", Some("scan"), Some("ssl")),
    ]
}

both_databases! {
    fn subscribed_and_types_print_the_lists_and_report_api_errors(db) {
        let api = StandIn::start();
        let (code, out, err) = api.command(&db, &["subscribed"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, "REPORT LIST\nanarres@shadowserver.org\ncompany\n");
        let (code, out, err) = api.command(&db, &["types", "--json"]);
        assert_eq!(code, 0, "{err}");
        let types = parse(&out);
        assert!(types.as_array().unwrap().contains(&json!("scan_smb")), "{types}");
        assert_eq!(api.state().calls[0].1, json!({"apikey": TEST_KEY}), "the key, nothing else");

        // A wrong secret: rejected credentials, exit 1, the secret in no output.
        let url = api.urls()[0].clone();
        let (code, out, err) = api.command_with(&db, Some((TEST_KEY, "wrong-secret-789")), &url, &[], &["types"]);
        assert_eq!((code, out.as_str()), (1, ""), "{err}");
        assert!(err.contains("rejected the credentials (HTTP 401): Invalid HMAC"), "{err}");
        // No credentials: exit 1 before any request.
        let before = api.state().calls.len();
        let (code, _, err) = api.command_with(&db, None, &url, &[], &["subscribed"]);
        assert_eq!(code, 1);
        assert!(err.contains("SHADOWSERVER_API_KEY"), "{err}");
        assert_eq!(api.state().calls.len(), before);

        // 429 and 503 are retried (Retry-After honoured), then the answer is used.
        api.state().call_faults.extend([Fault::Status(429, Some(0)), Fault::Status(503, Some(0))]);
        let (code, out, err) = api.command(&db, &["subscribed", "--json"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(parse(&out), json!(["anarres@shadowserver.org", "company"]));
        // A 4xx with a message, a body cut short, an answer of the wrong shape: exit 1 each.
        let faults = [
            (Fault::Answer(400, r#"{"error":"bad request"}"#.into()), "HTTP 400: bad request"),
            (Fault::Short(r#"["anarres@sha"#.into()), "cut short"),
            (Fault::Answer(200, r#"{"lists": []}"#.into()), "not a JSON array"),
            (Fault::Answer(200, "[1, 2]".into()), "not a string"),
            (Fault::Answer(200, r#"{"error":"apikey expired"}"#.into()), "apikey expired"),
        ];
        for (fault, text) in faults {
            api.state().call_faults.push_back(fault);
            let (code, out, err) = api.command(&db, &["subscribed"]);
            assert_eq!((code, out.as_str()), (1, ""), "{err}");
            assert!(err.contains(text), "{text:?} not in {err}");
        }
    }

    fn stats_prints_the_api_table_and_checks_dates_before_sending(db) {
        let api = StandIn::start();
        api.state().stats = vec![
            ("2021-04-24".into(), "scan-exchange".into(), 2055),
            ("2021-04-25".into(), "scan-exchange".into(), 2034),
        ];
        let (code, out, err) = api.command(&db, &["stats", "--report", "united-states", "--type", "scan_exchange", "--date", "2021-04-24:2021-04-26"]);
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines[1].starts_with("2021-04-24") && lines[1].contains("scan-exchange") && lines[1].ends_with("2055"), "{out}");
        let sent = api.state().calls[0].1.clone();
        assert_eq!(sent, json!({"apikey": TEST_KEY, "date": "2021-04-24:2021-04-26", "report": ["united-states"], "type": ["scan_exchange"]}));
        let (code, out, _) = api.command(&db, &["stats", "--date", "-3:now", "--json"]);
        assert_eq!(code, 0);
        assert_eq!(api.state().calls[1].1["date"], "-3:now");
        assert_eq!(parse(&out).as_array().unwrap().len(), 0, "the stand-in has no day near now");

        // Malformed dates: a clear message, exit 1, nothing sent.
        for bad in ["2021-04-31", "2021-04-26:2021-04-24", "-x:now", "last week"] {
            let (code, _, err) = api.command(&db, &["stats", "--date", bad]);
            assert_eq!(code, 1, "{bad}");
            assert!(err.contains("--date"), "{err}");
        }
        assert_eq!(api.state().calls.len(), 2);
        // A table of the wrong shape.
        api.state().call_faults.push_back(Fault::Answer(200, r#"[["day", "n"], ["2021-04-24", 1]]"#.into()));
        let (code, _, err) = api.command(&db, &["stats"]);
        assert_eq!(code, 1);
        assert!(err.contains("wrong shape"), "{err}");
    }

    fn pull_check_compares_the_stats_with_the_rows_imported(db) {
        user_and_feed(&db, "alice", "scans");
        let api = StandIn::start();
        let range = ["--from", "2020-08-02", "--to", "2020-08-02"];
        let mut args = range.to_vec();
        args.push("--json");
        let (code, out, err) = api.pull(&db, &args);
        assert_eq!(code, 0, "{err}");
        let summary = parse(&out);
        // The API counts what each report holds, with its own spelling of the types.
        api.state().stats = summary["files"].as_array().unwrap().iter().map(|f| {
            ("2020-08-02".to_string(), f["report_type"].as_str().unwrap().replace('_', "-"), f["rows_read"].as_i64().unwrap())
        }).collect();
        let check = |extra: &[&str]| {
            let mut a = vec!["pull", "--user", "alice", "--feed", "scans", "--check"];
            a.extend(range);
            a.extend(extra);
            api.command(&db, &a)
        };
        let (code, out, err) = check(&[]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("0 of 5 report dates and types differ"), "{out}");
        assert_eq!(api.counts().1, 5, "a check downloads nothing");

        // Shadowserver counted more scan_smb events than the feed read; and a type never pulled.
        {
            let mut s = api.state();
            for row in s.stats.iter_mut().filter(|r| r.1 == "scan-smb") {
                row.2 += 4;
            }
            s.stats.push(("2020-08-02".into(), "scan-vnc".into(), 7));
        }
        let (code, out, err) = check(&[]);
        assert_eq!(code, 3, "a difference is exit 3: {out}{err}");
        assert!(out.lines().any(|l| l.starts_with("2020-08-02") && l.contains("scan_smb") && l.trim_end().ends_with('4')), "{out}");
        assert!(out.contains("2 of 6 report dates and types differ"), "{out}");
        let (code, out, _) = check(&["--json", "--type", "scan_vnc"]);
        assert_eq!(code, 3);
        let report = parse(&out);
        assert_eq!(report["differences"], json!([{"date": "2020-08-02", "type": "scan_vnc", "events": 7, "imported": 0, "difference": 7}]));
        let sent = api.state().calls.last().unwrap().1.clone();
        assert_eq!(sent, json!({"apikey": TEST_KEY, "date": "2020-08-02", "type": ["scan_vnc"]}));
    }

    fn download_imports_the_json_rows_of_one_report(db) {
        user_and_feed(&db, "alice", "scans");
        let api = StandIn::start();
        let blocklist = api.id_of("blocklist", "2024-01-04");
        let dl = |extra: &[&str]| {
            let mut a = vec!["download", "--user", "alice", "--feed", "scans", "--json"];
            a.extend(extra);
            api.command(&db, &a)
        };
        // The type, file name and date come from the listing of --date.
        let (code, out, err) = dl(&["--id", &blocklist, "--date", "2024-01-04"]);
        assert_eq!(code, 0, "{out}{err}");
        let summary = parse(&out);
        assert_eq!(summary["indicators_created"], 5, "{summary}");
        assert_eq!(summary["files"][0]["report_type"], "blocklist");
        assert_eq!(summary["files"][0]["name"], "2024-01-04-blocklist-company-ip.csv");
        let download = api.state().calls.iter().find(|(m, _)| m == "download").unwrap().1.clone();
        assert_eq!(download, json!({"apikey": TEST_KEY, "id": blocklist}));
        // Again: known by its id, skipped.
        let (code, out, _) = dl(&["--id", &blocklist, "--date", "2024-01-04"]);
        assert_eq!(code, 0);
        assert_eq!(parse(&out)["files_skipped_already_imported"], 1);
        assert_eq!(stored_counts(&db, "alice", "scans").0, 5);

        // --limit, with --type: part of a report, not remembered by its id.
        let device = api.id_of("device_id", "2024-01-04");
        let (code, out, err) = dl(&["--id", &device, "--limit", "3", "--type", "device_id"]);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(parse(&out)["indicators_created"], 3);
        let (code, out, _) = dl(&["--id", &device, "--type", "device_id", "--date", "2024-01-04"]);
        assert_eq!(code, 0);
        let summary = parse(&out);
        assert_eq!((summary["indicators_created"].as_u64(), summary["indicators_unchanged"].as_u64()), (Some(17), Some(3)), "{summary}");

        // Errors: not in the listing without --type; an `error` answer; a body cut short.
        let (code, _, err) = dl(&["--id", "no-such-id", "--date", "2024-01-04"]);
        assert_eq!(code, 1);
        assert!(err.contains("--type"), "{err}");
        let (code, _, err) = dl(&["--id", "no-such-id", "--type", "blocklist"]);
        assert_eq!(code, 1);
        assert!(err.contains("no such report"), "{err}");
        api.state().call_faults.extend([Fault::Answer(200, "[]".into()), Fault::Short(r#"[{"ip": "192.0.2.9", "timestamp": "2024-01-0"#.into())]);
        let (code, _, err) = dl(&["--id", &blocklist, "--type", "blocklist"]);
        assert_eq!(code, 1);
        assert!(err.contains("cut short"), "{err}");
        assert_eq!(stored_counts(&db, "alice", "scans").0, 25, "nothing half imported");
    }

    fn query_pages_until_a_short_page_and_types_each_row(db) {
        user_and_feed(&db, "alice", "scans");
        let api = StandIn::start();
        api.state().query_rows = query_rows();
        let q = |extra: &[&str]| {
            let mut a = vec!["query", "--query", r#"{"geo":"XX"}"#, "--date", "2024-01-04", "--limit", "2"];
            a.extend(extra);
            api.command(&db, &a)
        };
        // Malformed input: a clear message before any request.
        for (args, text) in [
            (vec!["query", "--query", "{\"geo\":", "--dry-run"], "not valid JSON"),
            (vec!["query", "--query", "[]", "--dry-run"], "JSON object"),
            (vec!["query", "--query", "{\"geo\":\"XX\"}", "--date", "2024-13-01", "--dry-run"], "--date"),
            (vec!["query", "--query", "{\"geo\":\"XX\"}"], "--user and --feed"),
        ] {
            let (code, _, err) = api.command(&db, &args);
            assert_eq!(code, 1, "{args:?}");
            assert!(err.contains(text), "{text:?} not in {err}");
        }
        assert_eq!(api.state().calls.len(), 0);

        let (code, out, err) = q(&["--facet", "tag", "--json"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(parse(&out), json!([{"tag": "ssl", "count": 3}, {"tag": "ssh", "count": 1}]));
        assert_eq!(calls(&api, "query"), 1);

        let (code, out, err) = q(&["--dry-run", "--json"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(parse(&out)["rows_by_type"], json!({"generic": 1, "scan_ssh": 1, "scan_ssl": 3}));
        assert_eq!(calls(&api, "query"), 4, "pages 1, 2 and the short page 3");

        let (code, out, err) = q(&["--user", "alice", "--feed", "scans", "--json"]);
        assert_eq!(code, 0, "{out}{err}");
        let summary = parse(&out);
        assert_eq!(summary["indicators_created"], 5, "{summary}");
        let types: Vec<&str> = summary["files"].as_array().unwrap().iter().map(|f| f["report_type"].as_str().unwrap()).collect();
        assert!(types.contains(&"scan_ssl") && types.contains(&"scan_ssh"), "{types:?}");
        let pages: Vec<Value> = api.state().calls.iter().filter(|(m, _)| m == "query").map(|(_, b)| b["page"].clone()).collect();
        assert_eq!(pages[4..], [json!(1), json!(2), json!(3)]);
        let sent = api.state().calls.last().unwrap().1.clone();
        assert_eq!(sent, json!({"apikey": TEST_KEY, "query": {"geo": "XX"}, "date": "2024-01-04", "limit": 2, "page": 3}));
        // The same query again: every page file is in the ledger.
        let (code, out, _) = q(&["--user", "alice", "--feed", "scans", "--json"]);
        assert_eq!(code, 0);
        let summary = parse(&out);
        assert_eq!(summary["indicators_created"], 0);
        assert_eq!(summary["files_skipped_already_imported"], summary["files"].as_array().unwrap().len());
        assert_eq!(stored_counts(&db, "alice", "scans").0, 5);
    }
}

/// The admin's request to a gateway.
fn admin_call(
    base: &str,
    admin: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> TestResponse {
    let auth = format!("Token token={admin}");
    let bytes = body.map(Value::to_string);
    http(
        method,
        &format!("{base}{path}"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        bytes.as_deref().map(str::as_bytes),
    )
}

/// A counter's value in a gateway's `/metrics` (0 before it is first counted).
fn metric(base: &str, name: &str) -> u64 {
    let body = http("GET", &format!("{base}/metrics"), &[], None).body;
    body.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// The runs the admin API lists.
fn runs(app: &TestApp) -> Vec<Value> {
    app.get_as(&app.admin_token, "/api/admin/shadowserver/runs")
        .assert_status(200)
        .json()
        .as_array()
        .unwrap()
        .clone()
}

/// Alice with a token and a public feed `scans` through the API; her token.
fn alice(app: &TestApp) -> String {
    let token = app.user_with_token("alice");
    app.create_feed(&token, "alice", "scans", false)
        .assert_status(201);
    token
}

const SCHEDULES: &str = "/api/admin/shadowserver/schedules";

#[test]
fn schedules_are_managed_run_now_and_fail_a_wrong_shaped_report_only_sqlite() {
    schedules_are_managed(Backend::Sqlite);
}

#[test]
#[cfg_attr(
    not(pg_tests),
    ignore = "TEST_DATABASE_URL not set: PostgreSQL run skipped"
)]
fn schedules_are_managed_run_now_and_fail_a_wrong_shaped_report_only_postgres() {
    schedules_are_managed(Backend::Postgres);
}

fn schedules_are_managed(backend: Backend) {
    let api = StandIn::start();
    // Looks only at start: every run here is asked for.
    let tweak = scheduled(&api);
    let app = TestApp::spawn_with(backend, move |s| {
        tweak(s);
        s.shadowserver_poll_secs = 3600;
    });
    let token = alice(&app);
    let admin = app.admin_token.clone();
    let call = |method: &str, path: &str, body: Option<&Value>| {
        admin_call(&app.base, &admin, method, path, body)
    };

    // Bad bodies, unknown feeds, non-admins.
    let res = call(
        "POST",
        SCHEDULES,
        Some(&json!({"user": "alice", "types": ["scan-smb"], "interval_hours": 0})),
    );
    let errors = res.assert_error(422, "validation_failed")["details"]["errors"].clone();
    let fields: Vec<&str> = errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["feed", "types", "interval_hours"]);
    call(
        "POST",
        SCHEDULES,
        Some(&json!({"user": "alice", "feed": "nope"})),
    )
    .assert_error(422, "validation_failed");
    app.send_as(
        "POST",
        &token,
        SCHEDULES,
        &json!({"user": "alice", "feed": "scans"}),
    )
    .assert_error(403, "admin_required");

    let created = call(
        "POST",
        SCHEDULES,
        Some(&json!({"schedule": {
            "user": "alice", "feed": "scans", "next_run_at": "2099-01-01T00:00:00Z", "days_back": 1
        }})),
    );
    created.assert_status(201);
    let s = created.json();
    assert_eq!(
        (
            s["interval_hours"].as_i64(),
            s["enabled"].as_bool(),
            s["reports"].clone()
        ),
        (Some(24), Some(true), json!([]))
    );
    assert!(
        created
            .header("location")
            .unwrap()
            .ends_with(&format!("{SCHEDULES}/{}", s["id"]))
    );
    assert!(!created.body.contains(TEST_KEY) && !created.body.contains(TEST_SECRET));
    let id = s["id"].as_i64().unwrap();
    let one = format!("{SCHEDULES}/{id}");
    let patched = call(
        "PATCH",
        &one,
        Some(&json!({"types": ["SCAN_SMB"], "days_back": 0})),
    )
    .assert_status(200)
    .json();
    assert_eq!(
        (patched["types"].clone(), patched["days_back"].as_i64()),
        (json!(["scan_smb"]), Some(0))
    );
    call("PATCH", &one, Some(&json!({"feed": "other"}))).assert_error(422, "validation_failed");
    call("PATCH", &format!("{SCHEDULES}/999"), Some(&json!({}))).assert_error(404, "not_found");
    assert_eq!(
        call("GET", SCHEDULES, None)
            .assert_status(200)
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    call("PATCH", &one, Some(&json!({"types": null, "days_back": 2}))).assert_status(200);

    // Run now: every report of today's listing, one of them answering the wrong shape.
    reports_of_today(&api);
    let rsync = api.id_of("scan_rsync", &chrono::Utc::now().date_naive().to_string());
    api.state()
        .bodies
        .insert(rsync, r#"{"error": "report expired"}"#.into());
    let ran = call("POST", &format!("{one}/run"), None)
        .assert_status(200)
        .json();
    assert_eq!(ran["state"], "finished", "{ran}");
    assert_eq!(ran["kind"], "manual");
    assert_eq!(
        (
            ran["reports_listed"].as_i64(),
            ran["reports_imported"].as_i64(),
            ran["reports_failed"].as_i64()
        ),
        (Some(5), Some(4), Some(1)),
        "{ran}"
    );
    assert_eq!(ran["rows_read"], 10);
    let error = &ran["errors"][0];
    assert_eq!(error["type"], "scan_rsync", "{ran}");
    assert!(
        error["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{ran}"
    );
    assert_eq!(stored_counts(&app.db, "alice", "scans").0, 10);

    // Again, now that the report is whole: the four are skipped, the failed one imported.
    api.state().bodies.clear();
    let ran = call("POST", &format!("{one}/run"), None)
        .assert_status(200)
        .json();
    assert_eq!(
        (
            ran["reports_imported"].as_i64(),
            ran["reports_skipped"].as_i64(),
            ran["reports_failed"].as_i64()
        ),
        (Some(1), Some(4), Some(0)),
        "{ran}"
    );
    assert_eq!(stored_counts(&app.db, "alice", "scans").0, 13);
    let listed = runs(&app);
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], ran["id"], "newest first");
    let page = call("GET", "/api/admin/shadowserver/runs?limit=1", None);
    assert!(
        page.assert_status(200)
            .header("link")
            .is_some_and(|l| l.contains("cursor="))
    );
    call("GET", "/api/admin/shadowserver/runs?schedule=x", None)
        .assert_error(400, "invalid_parameter");

    // The listing fails: the run is failed with the reason, nothing else happens.
    api.state()
        .faults
        .push_back(Fault::Answer(200, r#"{"error": "maintenance"}"#.into()));
    let ran = call("POST", &format!("{one}/run"), None)
        .assert_status(200)
        .json();
    assert_eq!(ran["state"], "failed", "{ran}");
    assert!(
        ran["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("maintenance"),
        "{ran}"
    );

    call("DELETE", &one, None).assert_status(200);
    call("GET", &one, None).assert_error(404, "not_found");
    call("POST", &format!("{one}/run"), None).assert_error(404, "not_found");
    assert!(runs(&app).is_empty(), "runs go with their schedule");

    // Without the key and secret nothing runs: 409 `not_configured`.
    let bare = TestApp::spawn(backend);
    let auth = bare.admin_token.clone();
    let token = alice(&bare);
    drop(token);
    let s = admin_call(
        &bare.base,
        &auth,
        "POST",
        SCHEDULES,
        Some(&json!({"user": "alice", "feed": "scans"})),
    )
    .assert_status(201)
    .json();
    admin_call(
        &bare.base,
        &auth,
        "POST",
        &format!("{SCHEDULES}/{}/run", s["id"]),
        None,
    )
    .assert_error(409, "not_configured");
}

#[test]
fn a_due_schedule_runs_once_with_two_gateways_racing_sqlite() {
    runs_once(Backend::Sqlite);
}

#[test]
#[cfg_attr(
    not(pg_tests),
    ignore = "TEST_DATABASE_URL not set: PostgreSQL run skipped"
)]
fn a_due_schedule_runs_once_with_two_gateways_racing_postgres() {
    runs_once(Backend::Postgres);
}

fn runs_once(backend: Backend) {
    let api = StandIn::start();
    reports_of_today(&api);
    let app = TestApp::spawn_with(backend, scheduled(&api));
    let other = app.second_gateway(scheduled(&api));
    alice(&app);
    admin_call(
        &app.base,
        &app.admin_token,
        "POST",
        SCHEDULES,
        Some(&json!({"user": "alice", "feed": "scans"})),
    )
    .assert_status(201);
    wait_until("a run finished", || {
        runs(&app).first().is_some_and(|r| r["state"] != "running")
    });
    // Both gateways look twice more after it: still one run.
    let polls = "feedgate_shadowserver_polls_total";
    let (a, b) = (metric(&app.base, polls), metric(&other.base, polls));
    wait_until("both gateways looked twice more", || {
        metric(&app.base, polls) >= a + 2 && metric(&other.base, polls) >= b + 2
    });
    let all = runs(&app);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["state"], "finished");
    assert_eq!(all[0]["kind"], "schedule");
    assert_eq!(all[0]["reports_imported"], 5, "{all:?}");
    assert_eq!(api.counts(), (1, 5), "one listing, five downloads");
    assert_eq!(stored_counts(&app.db, "alice", "scans"), (13, 13));
    // The feed's history shows the five reports as the schedule's.
    let history = app
        .get_as(&app.admin_token, "/api/users/alice/feeds/scans/imports")
        .assert_status(200)
        .json();
    let entries = history.as_array().unwrap();
    assert_eq!(entries.len(), 5, "{history}");
    for e in entries {
        assert_eq!(
            (
                e["source"].as_str(),
                e["state"].as_str(),
                e["from_report"].as_bool()
            ),
            (Some("schedule"), Some("complete"), Some(true)),
            "{e}"
        );
        assert!(
            e["started_by"].as_str().unwrap().starts_with("schedule "),
            "{e}"
        );
    }
    let s = admin_call(&app.base, &app.admin_token, "GET", SCHEDULES, None).json();
    let next: chrono::DateTime<chrono::Utc> =
        s[0]["next_run_at"].as_str().unwrap().parse().unwrap();
    assert!(
        next > chrono::Utc::now() + chrono::Duration::hours(23),
        "due again in a day: {next}"
    );
}

#[test]
fn a_run_left_by_a_dead_gateway_is_finished_by_the_next_sqlite() {
    dead_gateway(Backend::Sqlite);
}

#[test]
#[cfg_attr(
    not(pg_tests),
    ignore = "TEST_DATABASE_URL not set: PostgreSQL run skipped"
)]
fn a_run_left_by_a_dead_gateway_is_finished_by_the_next_postgres() {
    dead_gateway(Backend::Postgres);
}

fn dead_gateway(backend: Backend) {
    let api = StandIn::start();
    // This gateway has no credentials: it never runs anything.
    let app = TestApp::spawn(backend);
    alice(&app);
    let s = admin_call(
        &app.base,
        &app.admin_token,
        "POST",
        SCHEDULES,
        Some(&json!({
            "user": "alice", "feed": "scans", "next_run_at": "2099-01-01T00:00:00Z"
        })),
    )
    .assert_status(201)
    .json();
    // The dead gateway imported two of the five reports before it stopped.
    let (code, _, err) = api.pull(
        &app.db,
        &[
            "--from",
            "2020-08-02",
            "--to",
            "2020-08-02",
            "--type",
            "scan_smb,scan_adb",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let now = app.clock.now();
    let day = chrono::NaiveDate::from_ymd_opt(2020, 8, 2).unwrap();
    let mut conn = app.pool.get().unwrap();
    let left = db::write_tx(&mut conn, |c| {
        run::insert(
            c,
            &NewRun {
                schedule_id: s["id"].as_i64().unwrap(),
                kind: "schedule",
                state: run::RUNNING,
                lease_owner: "dead-gateway",
                lease_expires_at: now - chrono::Duration::seconds(30),
                date_from: day,
                date_to: day,
                started_at: now - chrono::Duration::minutes(5),
            },
        )
    })
    .unwrap();
    // A run of the same schedule whose gateway is alive: it holds its lease.
    let _alive = db::write_tx(&mut conn, |c| {
        run::insert(
            c,
            &NewRun {
                schedule_id: s["id"].as_i64().unwrap(),
                kind: "manual",
                state: run::RUNNING,
                lease_owner: "busy-gateway",
                lease_expires_at: now + chrono::Duration::hours(1),
                date_from: day,
                date_to: day,
                started_at: now,
            },
        )
    })
    .unwrap();
    let held = admin_call(
        &app.base,
        &app.admin_token,
        "POST",
        &format!("{SCHEDULES}/{}/run", s["id"]),
        None,
    );
    held.assert_error(409, "not_configured");

    let next = app.second_gateway(scheduled(&api));
    // While a live lease holds the schedule, running it now is refused.
    admin_call(
        &next.base,
        &app.admin_token,
        "POST",
        &format!("{SCHEDULES}/{}/run", s["id"]),
        None,
    )
    .assert_error(409, "run_in_progress");
    wait_until("the left run was finished", || {
        run::find(&mut conn, left.id).unwrap().state != run::RUNNING
    });
    let done = run::find(&mut conn, left.id).unwrap();
    assert_eq!(done.state, run::FINISHED);
    assert_eq!(done.attempts, 2);
    assert_eq!(
        (
            done.reports_listed,
            done.reports_imported,
            done.reports_skipped
        ),
        (5, 3, 2)
    );
    assert_eq!(
        stored_counts(&app.db, "alice", "scans"),
        (13, 13),
        "no duplicates"
    );
    assert_eq!(
        api.counts().1,
        2 + 3,
        "the two imported before are not downloaded again"
    );
    drop(next);
}

both_backends! {
    fn the_import_history_lists_uploads_cli_imports_and_pulls_to_the_owner_and_admins(app) {
        let token = alice(&app);
        let api = StandIn::start();
        // An upload over HTTP, an import from the command line, a pull.
        let auth = format!("Token token={token}");
        app.request("POST", "/api/users/alice/feeds/scans/imports/shadowserver?filename=blocklist.csv",
            &[("Authorization", &auth), ("Content-Type", "text/csv")],
            Some(&sample("intelmq-testdata/blocklist.csv"))).assert_status(200);
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("scan_dns.csv");
        std::fs::write(&local, sample("intelmq-testdata/scan_dns.csv")).unwrap();
        let (code, _, err) = Binary::run(&app.db.url, &["import", "shadowserver", "--user", "alice", "--feed", "scans", local.to_str().unwrap()], None);
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = api.pull(&app.db, &["--from", "2020-08-02", "--to", "2020-08-02", "--type", "scan_smb"]);
        assert_eq!(code, 0, "{err}");

        let res = app.get_as(&token, "/api/users/alice/feeds/scans/imports");
        let list = res.assert_status(200).json();
        let list = list.as_array().unwrap();
        let sources: Vec<&str> = list.iter().map(|e| e["source"].as_str().unwrap()).collect();
        assert_eq!(sources, ["pull", "cli", "upload"], "newest first");
        let [pull, cli, upload] = [&list[0], &list[1], &list[2]];
        assert_eq!((upload["name"].as_str(), upload["started_by"].as_str(), upload["state"].as_str()), (Some("blocklist.csv"), Some("alice"), Some("complete")));
        assert_eq!((upload["rows_read"].as_i64(), upload["indicators_created"].as_i64()), (Some(3), Some(3)), "{upload}");
        assert_eq!((cli["indicators_created"].as_i64(), cli["indicators_updated"].as_i64().unwrap() + cli["indicators_unchanged"].as_i64().unwrap()), (Some(83), 17), "{cli}");
        assert_eq!((pull["report_type"].as_str(), pull["report_date"].as_str(), pull["from_report"].as_bool()), (Some("scan_smb"), Some("2020-08-02"), Some(true)), "{pull}");
        assert_eq!(upload["from_report"], false);
        assert!(pull["finished_at"].is_string() && pull["started_at"].is_string(), "{pull}");
        let smb = api.id_of("scan_smb", "2020-08-02");
        assert!(!res.body.contains(&smb), "report ids are never shown");

        // Cursor pages.
        let first = app.get_as(&token, "/api/users/alice/feeds/scans/imports?limit=2");
        assert_eq!(first.json().as_array().unwrap().len(), 2);
        let link = first.header("link").unwrap().to_string();
        let next = link.split_once('<').unwrap().1.split_once('>').unwrap().0;
        let path = &next[next.find("/api/").unwrap()..];
        let second = app.get_as(&token, path).assert_status(200).json();
        assert_eq!(second.as_array().unwrap().len(), 1);
        assert_eq!(second[0]["source"], "upload");

        // Owner and admins only: 403 for another user's public feed, 404 for a private one.
        assert_eq!(app.get_as(&app.admin_token, "/api/users/alice/feeds/scans/imports").assert_status(200).json().as_array().unwrap().len(), 3);
        let bob = app.user_with_token("bob");
        app.get_as(&bob, "/api/users/alice/feeds/scans/imports").assert_error(403, "forbidden");
        app.get("/api/users/alice/feeds/scans/imports").assert_error(401, "authentication_required");
        app.create_feed(&token, "alice", "secret", true).assert_status(201);
        app.get_as(&bob, "/api/users/alice/feeds/secret/imports").assert_error(404, "not_found");
        app.get("/api/users/alice/feeds/secret/imports").assert_error(404, "not_found");
        assert_eq!(app.get_as(&token, "/api/users/alice/feeds/secret/imports").assert_status(200).json(), json!([]));
        let mut conn = app.pool.get().unwrap();
        assert!(feed_id(&mut conn, "alice", "secret") > 0);
    }
}
