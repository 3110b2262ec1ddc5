//! The Shadowserver import through its entry points (spec `shadowserver.md`): the HTTP route
//! over every sample file, stored indicators per family, idempotency, quota, limits, bad
//! input, ownership, and the CLI (including a child killed mid-file and re-run).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use feedgate::db::{self, DbConnection};
use feedgate::domain::limit::Limit;
use feedgate::models::user::{self, LimitChanges, LimitKind};
use serde_json::Value;

use crate::helpers::*;

/// Each indicator of a feed: its value, the report type tagged on it and how many days after
/// `from` it expires.
fn expiries(
    app: &TestApp,
    token: &str,
    feed: &str,
    from: chrono::NaiveDateTime,
) -> Vec<(String, String, f64)> {
    app.feed_indicators(token, "alice", feed)
        .iter()
        .map(|i| {
            let at =
                chrono::DateTime::parse_from_rfc3339(i["expires_at"].as_str().unwrap()).unwrap();
            let secs = (at.naive_utc() - from).num_seconds();
            let report = i["tags"][1].as_str().unwrap().to_string();
            // Within a few seconds of whole days: the server's clock moved on since `from`.
            let days = (secs as f64 / 86_400.0 * 1000.0).round() / 1000.0;
            (i["indicator"].as_str().unwrap().to_string(), report, days)
        })
        .collect()
}

pub(crate) fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/shadowserver")
}

pub(crate) fn sample(rel: &str) -> Vec<u8> {
    std::fs::read(data_dir().join(rel)).unwrap()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn import_path(user: &str, feed: &str, query: &str) -> String {
    format!("/api/users/{user}/feeds/{feed}/imports/shadowserver{query}")
}

impl TestApp {
    /// POSTs a raw report body.
    fn post_report(
        &self,
        token: &str,
        user: &str,
        feed: &str,
        query: &str,
        body: &[u8],
    ) -> TestResponse {
        let auth = format!("Token token={token}");
        self.request(
            "POST",
            &import_path(user, feed, query),
            &[("Authorization", &auth), ("Content-Type", "text/csv")],
            Some(body),
        )
    }

    /// Every indicator of a feed in the v1 representation, by value then portlist.
    fn feed_indicators(&self, token: &str, user: &str, feed: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut path = format!("/api/users/{user}/feeds/{feed}/indicators?limit=500");
        loop {
            let res = self.get_v1(token, &path).assert_status(200).json();
            let page = res.as_array().unwrap().clone();
            let last = page.last().cloned();
            out.extend(page);
            // Keyset pages: follow `Link: <…>; rel="next"` until there is none.
            let next = self
                .get_v1(token, &path)
                .header("link")
                .and_then(|l| l.split(';').next())
                .map(|l| l.trim().trim_matches(['<', '>']).to_string());
            match (next, last) {
                (Some(url), Some(_)) => {
                    path = url
                        .split_once("/api/")
                        .map(|(_, p)| format!("/api/{p}"))
                        .unwrap();
                }
                _ => break,
            }
        }
        out.sort_by_key(|i| {
            (
                i["indicator"].as_str().unwrap_or_default().to_string(),
                i["portlist"].to_string(),
                i["tags"].to_string(),
            )
        });
        out
    }

    /// Sets a user's indicator quota.
    fn set_indicator_quota(&self, name: &str, limit: Option<i64>) {
        let mut conn = self.pool.get().unwrap();
        let row = user::find_by_name(&mut conn, name).unwrap();
        let mut changes = LimitChanges::default();
        changes.set(LimitKind::Indicators, Some(Limit(limit)));
        let now = self.clock.now();
        db::write_tx(&mut conn, |c| user::set_limits(c, row.id, &changes, now)).unwrap();
    }

    /// The stored indicator count of a user (the quota counter).
    fn indicator_usage(&self, name: &str) -> i64 {
        let mut conn = self.pool.get().unwrap();
        user::find_by_name(&mut conn, name).unwrap().indicator_count
    }
}

/// Checks the identity of §1.5 in the totals and every file.
pub(crate) fn assert_consistent(summary: &Value) {
    let skipped = |v: &Value| -> u64 {
        v["rows_skipped"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum()
    };
    let check = |v: &Value| {
        let outcomes = v["indicators_created"].as_u64().unwrap()
            + v["indicators_updated"].as_u64().unwrap()
            + v["indicators_unchanged"].as_u64().unwrap()
            + skipped(v);
        assert_eq!(v["rows_read"].as_u64().unwrap(), outcomes, "{v}");
    };
    check(summary);
    for f in summary["files"].as_array().unwrap() {
        check(f);
    }
}

/// Files that are not reports at all (§7.2): 422 `unreadable_report`.
const NOT_REPORTS: [&str; 4] = [
    "SOURCES.md",
    "subscriptions.json",
    "reports.json",
    "intelmq.json",
];

both_backends! {
    fn every_sample_file_imports_over_http_without_a_server_error(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "all", false).assert_status(201);
        let mut files = Vec::new();
        walk(&data_dir(), &mut files);
        files.sort();
        assert!(files.len() > 140, "{} files", files.len());
        for path in files {
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            let mut query = format!("?filename={name}");
            if let Some(t) = name.strip_prefix("report_type_").and_then(|n| n.strip_suffix(".json")) {
                query.push_str(&format!("&type={t}"));
            }
            let res = app.post_report(&alice, "alice", "all", &query, &std::fs::read(&path).unwrap());
            if NOT_REPORTS.contains(&name.as_str()) {
                let body = res.assert_error(422, "unreadable_report");
                assert_consistent(&body["details"]["summary"]);
                continue;
            }
            res.assert_status(200);
            let body = res.json();
            assert_consistent(&body);
            assert_eq!(body["files"].as_array().unwrap().len(), 1, "{name}");
            assert_ne!(body["files"][0]["status"], "rejected", "{name}: {body}");
        }
    }

    fn representative_samples_store_fully_mapped_indicators(app) {
        let alice = app.user_with_token("alice");
        // (file, explicit type, created, merged, skipped)
        let cases: [(&str, Option<&str>, u64, u64, u64); 6] = [
            ("intelmq-testdata/scan_dns.csv", None, 83, 17, 0),
            ("intelmq-testdata/blocklist.csv", None, 3, 0, 0),
            ("intelmq-testdata/event4_honeypot_ddos_amp.csv", None, 4, 0, 1),
            ("intelmq-testdata/sandbox_dns.csv", None, 2, 1, 0),
            ("intelmq-legacy/darknet.csv", None, 54, 79, 0),
            ("opencti-json/report_type_blocklist.json", Some("blocklist"), 5, 0, 0),
        ];
        for (i, (rel, explicit, created, merged, skipped)) in cases.iter().enumerate() {
            let feed = format!("f{i}");
            app.create_feed(&alice, "alice", &feed, false).assert_status(201);
            let name = rel.rsplit('/').next().unwrap();
            let mut query = format!("?filename={name}");
            if let Some(t) = explicit {
                query.push_str(&format!("&type={t}"));
            }
            let body = app.post_report(&alice, "alice", &feed, &query, &sample(rel)).assert_status(200).json();
            assert_consistent(&body);
            assert_eq!(body["indicators_created"], *created, "{rel}: {body}");
            assert_eq!(
                body["indicators_updated"].as_u64().unwrap() + body["indicators_unchanged"].as_u64().unwrap(),
                *merged,
                "{rel}: {body}"
            );
            let total_skipped: u64 = body["rows_skipped"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
            assert_eq!(total_skipped, *skipped, "{rel}: {body}");
            let stored = app.feed_indicators(&alice, "alice", &feed);
            assert_eq!(stored.len() as u64, *created, "{rel}");
            for ind in &stored {
                assert_eq!(ind["provider"], "shadowserver");
                let tags = ind["tags"].as_array().unwrap();
                assert_eq!(tags[0], "shadowserver", "{ind}");
            }
        }

        // Host family, fully checked: 198.51.100.179 of scan_dns.csv.
        let dns = app.feed_indicators(&alice, "alice", "f0");
        let one = dns.iter().find(|i| i["indicator"] == "198.51.100.179").unwrap();
        assert_eq!(one["itype"], "ipv4");
        assert_eq!(one["portlist"], "53");
        assert!(one["protocol"] == "udp" || one["protocol"] == 17, "{one}");
        assert_eq!(one["firsttime"], "2018-04-14T00:14:34Z");
        // Rows 1 and 3 repeat the finding; row 65 sees it later from another AS: merged.
        assert_eq!(one["lasttime"], "2018-04-14T00:16:50Z");
        assert_eq!(one["count"], 2);
        assert_eq!(one["tags"], serde_json::json!(["shadowserver", "scan_dns", "vulnerable", "openresolver"]), "{one}");
        assert_eq!(one["asn"], 31125, "asn, cc and content come from the latest row");
        assert_eq!(one["cc"], "AT");

        // Blocklist family: the CIDR row becomes a network indicator without a portlist.
        let block = app.feed_indicators(&alice, "alice", "f1");
        let net = block.iter().find(|i| i["indicator"] == "198.123.245.0/24").unwrap();
        assert_eq!(net["itype"], "ipv4");
        assert!(net["portlist"].is_null());
        assert!(net["tags"].as_array().unwrap().contains(&Value::from("blocklist")), "{net}");

        // Victim family: tagged victim, never ddos.
        let victims = app.feed_indicators(&alice, "alice", "f2");
        for v in &victims {
            let tags = v["tags"].as_array().unwrap();
            assert!(tags.contains(&Value::from("victim")), "{v}");
            assert!(!tags.contains(&Value::from("ddos")), "{v}");
            assert!(v["firsttime"].is_string() && v["lasttime"].is_string());
        }

        // DNS family: domains, no portlist or protocol.
        let domains = app.feed_indicators(&alice, "alice", "f3");
        for d in &domains {
            assert_eq!(d["itype"], "fqdn", "{d}");
            assert!(d["portlist"].is_null() && d["protocol"].is_null(), "{d}");
            assert!(d["tags"].as_array().unwrap().contains(&Value::from("sandbox")), "{d}");
        }
    }

    fn an_imported_row_reads_back_with_its_full_stored_copy_everywhere(app) {
        // Stored packed (values by position, names once per header); every read shows the
        // spec's full text, byte for byte: a name that needs escaping, an absent value in the
        // middle, a surplus cell.
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "ss", false).assert_status(201);
        let csv = "timestamp,ip,port,hostname,tag,\"we\"\"ird\",asn\r\n\
                   2024-01-04 08:04:37,5.188.12.7,443,,ssl,\"a \"\"b\"\"\",64500,surplus\r\n";
        let body = app
            .post_report(&alice, "alice", "ss", "?filename=2024-01-04-scan_ssl.csv", csv.as_bytes())
            .assert_status(200)
            .json();
        assert_eq!(body["indicators_created"], 1, "{body}");
        let full = concat!(
            r#"{"source":"shadowserver","report_type":"scan_ssl","report_date":"2024-01-04","#,
            r#""row":{"timestamp":"2024-01-04 08:04:37","ip":"5.188.12.7","port":"443","#,
            r#""tag":"ssl","we\"ird":"a \"b\"","asn":"64500"},"_extra":["surplus"]}"#
        );
        let page = app.feed_indicators(&alice, "alice", "ss");
        assert_eq!(page[0]["content"], full, "feed page");
        let v0 = app.get_as(&alice, "/api/users/alice/feeds/ss/indicators").assert_status(200).json();
        let id = v0[0]["indicator"]["id"].as_i64().unwrap();
        assert_eq!(v0[0]["indicator"]["content"], full, "feed page, v0");
        let path = format!("/api/users/alice/feeds/ss/indicators/{id}");
        let show = app.get_as(&alice, &path).assert_status(200).json();
        assert_eq!(show["indicator"]["content"], full, "show");
        let hits = app.get_v1(&alice, "/api/search?q=5.188.12.0/24").assert_status(200).json();
        assert_eq!(hits[0]["content"], full, "search");
        let export = app.get_v1(&alice, "/api/users/alice/feeds/ss.json").assert_status(200).json();
        assert_eq!(export[0]["content"], full, "JSON export");
        let patched = app
            .send_as("PATCH", &alice, &path, &serde_json::json!({"description": "seen"}))
            .assert_status(200)
            .json();
        assert_eq!(patched["indicator"]["content"], full, "an update that leaves content alone");
        let patched = app
            .send_as("PATCH", &alice, &path, &serde_json::json!({"content": "{\"mine\":1}"}))
            .assert_status(200)
            .json();
        assert_eq!(patched["indicator"]["content"], "{\"mine\":1}", "new content is stored as given");
        let show = app.get_as(&alice, &path).assert_status(200).json();
        assert_eq!(show["indicator"]["content"], "{\"mine\":1}");

        // A later sighting of the same finding from a file with another header replaces the
        // copy (it widens the last time), read back with that file's names.
        let later = "timestamp,ip,port,tag,asn\r\n2024-01-05 09:00:00,5.188.12.7,443,ssl,64501\r\n";
        let body = app
            .post_report(&alice, "alice", "ss", "?filename=2024-01-05-scan_ssl.csv", later.as_bytes())
            .assert_status(200)
            .json();
        assert_eq!(body["indicators_updated"], 1, "{body}");
        let show = app.get_as(&alice, &path).assert_status(200).json();
        assert_eq!(
            show["indicator"]["content"],
            concat!(
                r#"{"source":"shadowserver","report_type":"scan_ssl","report_date":"2024-01-05","#,
                r#""row":{"timestamp":"2024-01-05 09:00:00","ip":"5.188.12.7","port":"443","#,
                r#""tag":"ssl","asn":"64501"}}"#
            )
        );
    }

    fn a_scan_report_lives_a_week_and_other_reports_the_per_type_lifetime(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let scan = "timestamp,ip,port,tag\r\n2024-01-04 08:04:37,198.51.100.7,443,ssl\r\n";
        app.post_report(&alice, "alice", "f", "?filename=2024-01-04-scan_ssl.csv", scan.as_bytes()).assert_status(200);
        let imported = app.clock.now();
        app.post_report(&alice, "alice", "f", "?filename=blocklist.csv", &sample("intelmq-testdata/blocklist.csv")).assert_status(200);
        let lives = expiries(&app, &alice, "f", imported);
        assert_eq!(lives.len(), 4, "{lives:?}");
        for (value, report, days) in &lives {
            let want = if report == "scan_ssl" { 7 } else { 21 }; // blocklist: ipv4's 21 days
            assert!((days - f64::from(want)).abs() < 0.001, "{value} of {report}: {days} days");
        }

        // The next day's report renews the scan finding: a week from its import.
        app.clock.advance(chrono::Duration::days(3));
        let later = "timestamp,ip,port,tag\r\n2024-01-07 09:00:00,198.51.100.7,443,ssl\r\n";
        let body = app.post_report(&alice, "alice", "f", "?filename=2024-01-07-scan_ssl.csv", later.as_bytes()).assert_status(200).json();
        assert_eq!(body["indicators_updated"], 1, "{body}");
        let renewed = expiries(&app, &alice, "f", imported);
        let scan_days: Vec<f64> = renewed.iter().filter(|r| r.1 == "scan_ssl").map(|r| r.2).collect();
        assert_eq!(scan_days.len(), 1);
        assert!((scan_days[0] - 10.0).abs() < 0.001, "{renewed:?}");

        // --report-lifetimes names other reports, and can send scans back to the per-type rule.
        let gateway = app.second_gateway(|s| s.report_lifetimes = "blocklist=3,scan_*=type".parse().unwrap());
        app.create_feed(&alice, "alice", "g", false).assert_status(201);
        let auth = format!("Token token={alice}");
        for (name, body) in [("2024-01-04-scan_ssl.csv", scan.as_bytes().to_vec()), ("blocklist.csv", sample("intelmq-testdata/blocklist.csv"))] {
            let url = format!("{}/api/users/alice/feeds/g/imports/shadowserver?filename={name}", gateway.base);
            http("POST", &url, &[("Authorization", &auth), ("Content-Type", "text/csv")], Some(&body)).assert_status(200);
        }
        let now = app.clock.now();
        for (value, report, days) in expiries(&app, &alice, "g", now) {
            let want = if report == "scan_ssl" { 21 } else { 3 };
            assert!((days - f64::from(want)).abs() < 0.001, "{value} of {report}: {days} days");
        }
    }

    fn the_same_file_twice_changes_nothing_the_second_time(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "dns", false).assert_status(201);
        let body = sample("intelmq-testdata/scan_dns.csv");
        let first = app.post_report(&alice, "alice", "dns", "?filename=scan_dns.csv", &body).assert_status(200).json();
        assert_eq!(first["indicators_created"], 83);
        let before = app.feed_indicators(&alice, "alice", "dns");
        let usage = app.indicator_usage("alice");

        let second = app.post_report(&alice, "alice", "dns", "?filename=scan_dns.csv", &body).assert_status(200).json();
        assert_consistent(&second);
        assert_eq!(second["files_skipped_already_imported"], 1);
        assert_eq!(second["files"][0]["status"], "skipped_already_imported");
        assert_eq!(second["indicators_created"], 0);
        assert_eq!(second["indicators_updated"], 0);
        assert_eq!(second["indicators_unchanged"], 100);
        assert_eq!(app.feed_indicators(&alice, "alice", "dns"), before);
        assert_eq!(app.indicator_usage("alice"), usage);

        // The same bytes under another name: read again, every row unchanged.
        let copy = app.post_report(&alice, "alice", "dns", "?filename=2024-01-04-scan_dns-copy.csv", &body).assert_status(200).json();
        assert_eq!(copy["files"][0]["status"], "imported");
        assert_eq!(copy["indicators_unchanged"], 100, "{copy}");
        assert_eq!(app.feed_indicators(&alice, "alice", "dns"), before);
    }

    fn rows_over_the_quota_are_skipped_and_a_later_import_completes_them(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "dns", false).assert_status(201);
        app.set_indicator_quota("alice", Some(50));
        let body = sample("intelmq-testdata/scan_dns.csv");
        let res = app.post_report(&alice, "alice", "dns", "?filename=scan_dns.csv", &body).assert_status(200).json();
        assert_consistent(&res);
        assert_eq!(res["indicators_created"], 50, "{res}");
        assert!(res["rows_skipped"]["quota_exceeded"].as_u64().unwrap() >= 33, "{res}");
        assert_eq!(res["files"][0]["status"], "partial");
        assert_eq!(app.feed_indicators(&alice, "alice", "dns").len(), 50);
        assert_eq!(app.indicator_usage("alice"), 50);

        app.set_indicator_quota("alice", None);
        let again = app.post_report(&alice, "alice", "dns", "?filename=scan_dns.csv", &body).assert_status(200).json();
        assert_consistent(&again);
        assert_eq!(again["indicators_created"], 33, "{again}");
        assert_eq!(again["files"][0]["status"], "imported");
        assert_eq!(app.feed_indicators(&alice, "alice", "dns").len(), 83);
        assert_eq!(app.indicator_usage("alice"), 83);
    }

    fn empty_and_garbage_bodies_are_422_and_nothing_is_written(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        app.post_report(&alice, "alice", "f", "", b"").assert_error(422, "empty_report");
        app.post_report(&alice, "alice", "f", "", b"\xEF\xBB\xBF  \n").assert_error(422, "empty_report");
        let mut garbage = vec![0u8; 4096];
        getrandom::fill(&mut garbage).unwrap();
        garbage[0] = b'x';
        let res = app.post_report(&alice, "alice", "f", "", &garbage);
        res.assert_error(422, "unreadable_report");
        app.post_report(&alice, "alice", "f", "", b"\x1f\x8b\x08garbage").assert_error(422, "unreadable_report");
        // A header-only CSV and `[]` are valid reports with no rows.
        let res = app.post_report(&alice, "alice", "f", "?filename=scan_dns.csv", b"timestamp,ip,port\n").assert_status(200).json();
        assert_eq!(res["rows_read"], 0);
        app.post_report(&alice, "alice", "f", "?filename=scan_ssl.json", b"[]").assert_status(200);
        assert!(app.feed_indicators(&alice, "alice", "f").is_empty());
        assert_eq!(app.indicator_usage("alice"), 0);
    }

    fn hostile_inputs_get_a_summary_or_a_json_error(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        // A 10,000-column header.
        let mut wide = String::from("timestamp,ip");
        for i in 0..10_000 {
            wide.push_str(&format!(",c{i}"));
        }
        wide.push_str("\n2024-01-04 08:04:37,192.0.2.1\n");
        let res = app.post_report(&alice, "alice", "f", "?filename=scan_ssl.csv", wide.as_bytes());
        assert!(res.status == 200 || res.status == 422, "{}: {}", res.status, res.body);
        // A 100 MB single line.
        let mut line = b"timestamp,ip\n\"".to_vec();
        line.resize(100 << 20, b'a');
        let res = app.post_report(&alice, "alice", "f", "?filename=scan_ssl.csv", &line);
        assert!(res.status == 200 || res.status == 422, "{}: {}", res.status, res.body);
        let body = res.json();
        if res.status == 200 {
            assert_consistent(&body);
            assert_eq!(body["files"][0]["status"], "incomplete", "{body}");
        }
        // Bad parameters and media types.
        app.post_report(&alice, "alice", "f", "?kind=x", b"x").assert_error(400, "unknown_parameter");
        app.post_report(&alice, "alice", "f", "?type=Bad-Type!", b"x").assert_error(400, "invalid_parameter");
        let auth = format!("Token token={alice}");
        app.request("POST", &import_path("alice", "f", ""), &[("Authorization", &auth), ("Content-Type", "image/png")], Some(b"x"))
            .assert_error(415, "unsupported_media_type");
    }

    fn only_the_owner_or_an_admin_with_write_scope_may_import(app) {
        let alice = app.user_with_token("alice");
        let bob = app.user_with_token("bob");
        app.create_feed(&alice, "alice", "pub", false).assert_status(201);
        app.create_feed(&alice, "alice", "priv", true).assert_status(201);
        let body = sample("intelmq-testdata/blocklist.csv");
        app.post_report(&bob, "alice", "priv", "", &body).assert_error(404, "not_found");
        app.post_report(&bob, "alice", "pub", "", &body).assert_error(403, "forbidden");
        app.post_report(&alice, "alice", "missing", "", &body).assert_error(404, "not_found");
        let read_only = app.token_for("alice", feedgate::auth::accounts::TokenSpec {
            name: "ro".into(),
            write: false,
            expires_at: None,
        });
        app.post_report(&read_only, "alice", "pub", "", &body).assert_error(403, "insufficient_scope");
        app.request("POST", &import_path("alice", "pub", ""), &[], Some(&body)).assert_error(401, "authentication_required");
        let admin = app.admin_token.clone();
        let res = app.post_report(&admin, "alice", "priv", "?filename=blocklist.csv", &body).assert_status(200).json();
        assert_eq!(res["indicators_created"], 3);
        assert!(app.feed_indicators(&bob, "alice", "pub").is_empty());
    }

    fn an_import_counts_once_against_the_daily_limit(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let before = app.get_as(&alice, "/api/users/alice");
        let left: i64 = before.header("x-ratelimit-remaining").unwrap().parse().unwrap();
        app.post_report(&alice, "alice", "f", "?filename=scan_dns.csv", &sample("intelmq-testdata/scan_dns.csv")).assert_status(200);
        let after = app.get_as(&alice, "/api/users/alice");
        let now: i64 = after.header("x-ratelimit-remaining").unwrap().parse().unwrap();
        assert_eq!(left - now, 2, "the import and the second GET count one each");
    }
}

mod limits {
    use super::*;

    #[test]
    fn a_body_over_the_byte_limit_is_413_and_writes_nothing() {
        let app = TestApp::spawn_with(Backend::Sqlite, |s| s.import_max_bytes = 1 << 20);
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false)
            .assert_status(201);
        let mut body = sample("intelmq-testdata/scan_dns.csv");
        let rows = body.clone();
        while body.len() < 2 << 20 {
            body.extend_from_slice(&rows[rows.iter().position(|b| *b == b'\n').unwrap() + 1..]);
        }
        app.post_report(&alice, "alice", "f", "?filename=scan_dns.csv", &body)
            .assert_error(413, "payload_too_large");
        assert!(app.feed_indicators(&alice, "alice", "f").is_empty());
        let mut conn = app.pool.get().unwrap();
        let feed = feed_id(&mut conn, "alice", "f");
        assert_eq!(
            feedgate::models::import::count_files(&mut conn, feed).unwrap(),
            0
        );
    }

    #[test]
    fn a_zip_inflating_past_its_limit_is_413_and_writes_nothing() {
        let app = TestApp::spawn_with(Backend::Sqlite, |s| s.import_max_unzipped_bytes = 1 << 20);
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false)
            .assert_status(201);
        let mut rows = String::from("timestamp,ip,banner\n");
        while rows.len() < 3 << 20 {
            rows.push_str(&format!(
                "2024-01-04 08:04:37,192.0.2.1,{}\n",
                "a".repeat(1000)
            ));
        }
        let bomb = zip_of(&[("scan_ssl.csv", rows.as_bytes())]);
        assert!(bomb.len() < 200_000, "the archive is small: {}", bomb.len());
        app.post_report(&alice, "alice", "f", "?filename=r.zip", &bomb)
            .assert_error(413, "payload_too_large");
        assert!(app.feed_indicators(&alice, "alice", "f").is_empty());

        // Within the limit, a zip imports its members.
        let ok = zip_of(&[("scan_dns.csv", &sample("intelmq-testdata/scan_dns.csv"))]);
        let res = app
            .post_report(&alice, "alice", "f", "?filename=r.zip", &ok)
            .assert_status(200)
            .json();
        assert_eq!(res["indicators_created"], 83);
    }
}

/// The value of an unlabelled series in `GET /metrics`.
fn metric(app: &TestApp, token: &str, name: &str) -> i64 {
    let text = app
        .get_as(token, "/metrics")
        .assert_status(200)
        .body
        .clone();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// Holds what every import into these feeds waits for before its first batch: on SQLite a
/// write transaction of this process left open on another thread (imports wait for this
/// process's write turn), on PostgreSQL the feeds' advisory locks
/// (`models::import_batch::lock_feed`). Dropping it lets them go on.
struct ImportsHeld {
    conn: db::PooledConn,
    feeds: Vec<i64>,
    /// Ends the open SQLite transaction, and its thread.
    writer: Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
}

impl ImportsHeld {
    fn hold(app: &TestApp, feeds: &[(&str, &str)]) -> ImportsHeld {
        use diesel::prelude::*;
        let mut conn = app.pool.get().unwrap();
        let ids: Vec<i64> = feeds
            .iter()
            .map(|(u, f)| feed_id(&mut conn, u, f))
            .collect();
        let writer = match &mut *conn {
            DbConnection::Postgresql(pg) => {
                for id in &ids {
                    diesel::sql_query(format!("SELECT pg_advisory_lock({id})"))
                        .execute(pg)
                        .unwrap();
                }
                None
            }
            DbConnection::Sqlite(_) => {
                let mut writer = app.pool.get().unwrap();
                let (began, until) = (std::sync::mpsc::channel(), std::sync::mpsc::channel());
                let thread = std::thread::spawn(move || {
                    db::write_tx(&mut writer, |_| {
                        began.0.send(()).unwrap();
                        let _ = until.1.recv();
                        Ok::<_, diesel::result::Error>(())
                    })
                    .unwrap();
                });
                began.1.recv().unwrap();
                Some((until.0, thread))
            }
        };
        ImportsHeld {
            conn,
            feeds: ids,
            writer,
        }
    }
}

impl Drop for ImportsHeld {
    fn drop(&mut self) {
        use diesel::prelude::*;
        if let Some((until, thread)) = self.writer.take() {
            let _ = until.send(());
            thread.join().unwrap();
        }
        if let DbConnection::Postgresql(pg) = &mut *self.conn {
            for id in &self.feeds {
                diesel::sql_query(format!("SELECT pg_advisory_unlock({id})"))
                    .execute(pg)
                    .unwrap();
            }
        }
    }
}

/// Starts an import on another thread; join it for the answer.
fn import_in_background(
    app: &TestApp,
    token: &str,
    user: &str,
    body: &[u8],
) -> std::thread::JoinHandle<TestResponse> {
    let url = format!(
        "{}{}",
        app.base,
        import_path(user, "f", "?filename=scan_dns.csv")
    );
    let auth = format!("Token token={token}");
    let body = body.to_vec();
    std::thread::spawn(move || {
        http(
            "POST",
            &url,
            &[("Authorization", &auth), ("Content-Type", "text/csv")],
            Some(&body),
        )
    })
}

both_backends! {
    // Issue 18, finding 3: twelve concurrent imports by one token emptied the pool and other
    // users' reads answered 503.
    fn imports_take_turns_and_never_the_connections_that_reads_need(app) {
        let app = TestApp::spawn_with(backend_of(&app), |s| {
            // One pooled connection: an import holding it would starve every read below.
            s.db_pool_size = 1;
            s.import_max_running = 2;
            s.import_max_running_per_user = 1;
            // The held imports wait on a lock the test holds, not on a statement timeout.
            s.query_timeout_secs = 600;
            // Day counters are leased far ahead: no request below writes while imports wait.
            s.requests_per_day = "1000000".parse().unwrap();
        });
        let admin = app.admin_token.clone();
        let users = ["alice", "bob", "carol", "dave"];
        let tokens: Vec<String> = users.iter().map(|u| app.user_with_token(u)).collect();
        for (user, token) in users.iter().zip(&tokens) {
            app.create_feed(token, user, "f", false).assert_status(201);
        }
        let (alice, bob, carol, dave) = (&tokens[0], &tokens[1], &tokens[2], &tokens[3]);
        // A subject's first two requests write its day counter (the second takes a lease); the
        // requests below must find no write to do while the test holds the imports' lock.
        for (user, token) in users.iter().zip(&tokens).chain([(&"admin", &admin)]) {
            for _ in 0..2 {
                app.get_as(token, &format!("/api/users/{user}")).assert_status(200);
            }
        }
        assert_eq!(metric(&app, &admin, "feedgate_imports_running"), 0);
        let body = sample("intelmq-testdata/scan_dns.csv");

        let held = ImportsHeld::hold(&app, &[("alice", "f"), ("bob", "f")]);
        let first = import_in_background(&app, alice, "alice", &body);
        let second = import_in_background(&app, bob, "bob", &body);
        let mut polls = 0;
        while metric(&app, &admin, "feedgate_imports_running") < 2 {
            polls += 1;
            assert!(polls < 600, "the imports never started, each on a connection of its own");
            std::thread::sleep(Duration::from_millis(50));
        }

        // Both imports are writing, each on a connection of its own: reads go on.
        for _ in 0..3 {
            app.get_as(dave, "/api/users/dave/feeds/f").assert_status(200);
            app.get_as(dave, "/api/users/alice/feeds/f/indicators").assert_status(200);
        }
        // A second import by the same user, and a third on the server, wait their turn.
        let res = app.post_report(alice, "alice", "f", "?filename=other.csv", &body);
        let refusal = res.assert_error(429, "too_many_imports");
        assert_eq!(refusal["details"]["scope"], "user", "{refusal}");
        assert_eq!(refusal["details"]["limit"], 1);
        assert!(res.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
        let res = app.post_report(carol, "carol", "f", "?filename=scan_dns.csv", &body);
        let refusal = res.assert_error(429, "too_many_imports");
        assert_eq!(refusal["details"]["scope"], "server", "{refusal}");
        assert_eq!(refusal["details"]["limit"], 2);
        assert!(res.header("retry-after").is_some());
        assert!(app.feed_indicators(carol, "carol", "f").is_empty());

        drop(held);
        for done in [first, second] {
            let res = done.join().unwrap();
            assert_eq!(res.json()["indicators_created"], 83, "{}", res.body);
        }
        assert_eq!(metric(&app, &admin, "feedgate_imports_running"), 0);
        // The places came back.
        let res = app.post_report(carol, "carol", "f", "?filename=scan_dns.csv", &body).assert_status(200).json();
        assert_eq!(res["indicators_created"], 83);
        app.post_report(alice, "alice", "f", "?filename=scan_dns.csv", &body).assert_status(200);
    }

    // Issue 18, finding 4: rows per request are bounded; the rows before the limit are kept,
    // the file stays `partial`, and the answer is a 413 with the summary of what was written.
    fn an_import_past_the_row_limit_is_413_with_the_summary_of_the_rows_kept(app) {
        let app = TestApp::spawn_with(backend_of(&app), |s| {
            s.import_max_rows = 50;
            s.import_batch_rows = 20;
        });
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let body = sample("intelmq-testdata/scan_dns.csv");
        let res = app.post_report(&alice, "alice", "f", "?filename=scan_dns.csv", &body);
        let err = res.assert_error(413, "import_too_large");
        assert_eq!(err["details"]["setting"], "import_max_rows", "{err}");
        assert_eq!(err["details"]["limit"], 50);
        let summary = &err["details"]["summary"];
        assert_consistent(summary);
        assert_eq!(summary["rows_read"], 50, "{summary}");
        assert_eq!(summary["files"][0]["status"], "partial", "{summary}");
        let kept = summary["indicators_created"].as_u64().unwrap();
        assert!(kept > 0 && kept <= 50, "{summary}");
        assert_eq!(app.feed_indicators(&alice, "alice", "f").len() as u64, kept);
        assert_eq!(app.indicator_usage("alice"), kept as i64);

        // Not recorded as complete: the same file is read again (and cut again), never skipped.
        let again = app.post_report(&alice, "alice", "f", "?filename=scan_dns.csv", &body);
        let err = again.assert_error(413, "import_too_large");
        assert_eq!(err["details"]["summary"]["files"][0]["status"], "partial");
        assert_eq!(err["details"]["summary"]["indicators_created"], 0);
        assert_eq!(app.feed_indicators(&alice, "alice", "f").len() as u64, kept);

        // Exactly at the limit is fine.
        let res = app.post_report(&alice, "alice", "f", "?filename=2024-01-01-scan_dns.csv", generated_csv(50).as_bytes());
        let res = res.assert_status(200).json();
        assert_eq!(res["rows_read"], 50, "{res}");
        assert_eq!(res["files"][0]["status"], "imported");

        // The files of a zip share the limit; the files after the cut are not read.
        let csv = generated_csv(30);
        let zip = zip_of(&[
            ("2024-01-02-scan_dns.csv", csv.as_bytes()),
            ("2024-01-03-scan_dns.csv", csv.as_bytes()),
            ("2024-01-04-scan_dns.csv", csv.as_bytes()),
        ]);
        let err = app.post_report(&alice, "alice", "f", "?filename=r.zip", &zip).assert_error(413, "import_too_large");
        let summary = &err["details"]["summary"];
        assert_consistent(summary);
        let files = summary["files"].as_array().unwrap();
        assert_eq!(files.len(), 2, "{summary}");
        assert_eq!((files[0]["status"].as_str(), files[0]["rows_read"].as_u64()), (Some("imported"), Some(30)));
        assert_eq!((files[1]["status"].as_str(), files[1]["rows_read"].as_u64()), (Some("partial"), Some(20)));
    }

    fn a_zip_with_more_members_than_allowed_is_413_before_anything_is_written(app) {
        let app = TestApp::spawn_with(backend_of(&app), |s| s.import_max_zip_members = 2);
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let csv = sample("intelmq-testdata/scan_dns.csv");
        let three = zip_of(&[("a/scan_dns.csv", &csv), ("b/scan_dns.csv", &csv), ("readme.txt", b"hi"), ("c/scan_dns.csv", &csv)]);
        let res = app.post_report(&alice, "alice", "f", "?filename=r.zip", &three);
        let err = res.assert_error(413, "import_too_large");
        assert_eq!(err["details"]["setting"], "import_max_zip_members", "{err}");
        assert_eq!(err["details"]["limit"], 2);
        assert!(app.feed_indicators(&alice, "alice", "f").is_empty());
        let mut conn = app.pool.get().unwrap();
        let feed = feed_id(&mut conn, "alice", "f");
        assert_eq!(feedgate::models::import::count_files(&mut conn, feed).unwrap(), 0);

        // Two members (the text file does not count) are imported.
        let two = zip_of(&[("a/scan_dns.csv", &csv), ("readme.txt", b"hi"), ("b/scan_dns.csv", &csv)]);
        let res = app.post_report(&alice, "alice", "f", "?filename=r.zip", &two).assert_status(200).json();
        assert_eq!(res["files"].as_array().unwrap().len(), 2, "{res}");
        assert_eq!(res["indicators_created"], 83);
    }
}

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in members {
            w.start_file(*name, opts).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap();
    }
    out.into_inner()
}

pub(crate) fn feed_id(conn: &mut DbConnection, user_name: &str, feed_name: &str) -> i64 {
    let owner = user::find_by_name(conn, user_name).unwrap();
    feedgate::models::feed::find_by_name(conn, owner.id, feed_name)
        .unwrap()
        .id
}

/// A user and a public feed made directly in the database, for the CLI tests.
pub(crate) fn user_and_feed(db: &TestDb, user_name: &str, feed_name: &str) {
    let pool = db::connect(&db.parsed(), db::PoolOptions::default()).unwrap();
    let mut conn = pool.get().unwrap();
    let now = feedgate::clock::Clock::default().now();
    let name = feedgate::domain::name::Username::parse(user_name).unwrap();
    let (owner, _) = db::write_tx(&mut conn, |c| {
        feedgate::auth::accounts::create_user(c, &name, false, None, now)
    })
    .unwrap();
    let mut changes = LimitChanges::default();
    changes.set(LimitKind::Indicators, Some(Limit(None)));
    db::write_tx(&mut conn, |c| {
        user::set_limits(c, owner.id, &changes, now)?;
        feedgate::models::feed::insert(
            c,
            &feedgate::models::feed::NewFeed {
                user_id: owner.id,
                name: feed_name,
                description: None,
                private: false,
                license_name: "CC0-1.0",
                license_url: None,
                created_at: now,
                updated_at: now,
                kind: "indicators",
                global: false,
                max_prefix: None,
                max_prefix6: None,
                lifetimes: None,
            },
        )
    })
    .unwrap();
}

/// (rows, distinct import keys) of a feed.
pub(crate) fn stored_counts(db: &TestDb, user_name: &str, feed_name: &str) -> (i64, i64) {
    use diesel::prelude::*;
    use feedgate::db::schema::indicators;
    let pool = db::connect(&db.parsed(), db::PoolOptions::default()).unwrap();
    let mut conn = pool.get().unwrap();
    let feed = feed_id(&mut conn, user_name, feed_name);
    let rows: i64 = indicators::table
        .filter(indicators::feed_id.eq(feed))
        .count()
        .get_result(&mut conn)
        .unwrap();
    let keys: std::collections::HashSet<Option<String>> = indicators::table
        .filter(indicators::feed_id.eq(feed))
        .select(indicators::import_key)
        .load(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    (rows, keys.len() as i64)
}

/// A scan_dns-shaped CSV of `n` rows, one address each.
fn generated_csv(n: u32) -> String {
    let mut out =
        String::from("\"timestamp\",\"ip\",\"protocol\",\"port\",\"tag\",\"asn\",\"geo\"\n");
    for i in 0..n {
        let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i);
        out.push_str(&format!(
            "\"2024-01-01 00:00:00\",\"{ip}\",\"udp\",\"53\",\"openresolver\",\"64500\",\"AT\"\n"
        ));
    }
    out
}

both_databases! {
    fn the_cli_imports_files_and_stdin_and_reports_unreadable_ones(db) {
        user_and_feed(&db, "alice", "scans");
        let dns = data_dir().join("intelmq-testdata/scan_dns.csv");
        let (code, out, err) = Binary::run(&db.url, &["import", "shadowserver", "--user", "alice", "--feed", "scans", "--json", dns.to_str().unwrap()], None);
        assert_eq!(code, 0, "{err}");
        let summary: Value = serde_json::from_str(&out).unwrap();
        assert_consistent(&summary);
        assert_eq!(summary["indicators_created"], 83);

        let block = String::from_utf8(sample("intelmq-testdata/blocklist.csv")).unwrap();
        let (code, out, err) = Binary::run(&db.url, &["import", "shadowserver", "--user", "alice", "--feed", "scans", "--filename", "blocklist.csv", "--json", "-"], Some(&block));
        assert_eq!(code, 0, "{err}");
        let summary: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(summary["indicators_created"], 3, "{summary}");
        assert_eq!(summary["files"][0]["report_type"], "blocklist");

        // Again: skipped; a missing path is rejected and the exit status is 2.
        let (code, out, _) = Binary::run(&db.url, &["import", "shadowserver", "--user", "alice", "--feed", "scans", dns.to_str().unwrap(), "/no/such/file.csv"], None);
        assert_eq!(code, 2, "{out}");
        assert!(out.contains("skipped_already_imported") && out.contains("rejected"), "{out}");
        assert_eq!(stored_counts(&db, "alice", "scans").0, 86);

        let (code, _, err) = Binary::run(&db.url, &["import", "shadowserver", "--user", "nobody", "--feed", "scans", dns.to_str().unwrap()], None);
        assert_eq!(code, 1);
        assert!(err.contains("no such user"), "{err}");
        let (code, _, err) = Binary::run(&db.url, &["import", "shadowserver", "--user", "alice", "--feed", "nope", dns.to_str().unwrap()], None);
        assert_eq!(code, 1);
        assert!(err.contains("no such feed"), "{err}");
    }

    fn an_import_killed_mid_file_completes_on_the_next_run_without_duplicates(db) {
        user_and_feed(&db, "alice", "big");
        const ROWS: u32 = 60_000;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan_dns.csv");
        std::fs::write(&path, generated_csv(ROWS)).unwrap();
        let mut child = Binary::command(&db.url)
            .env("FEEDGATE_IMPORT_BATCH_ROWS", "200")
            .args(["import", "shadowserver", "--user", "alice", "--feed", "big", path.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill it once at least one batch has committed.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (rows, _) = stored_counts(&db, "alice", "big");
            if rows > 0 {
                break;
            }
            assert!(Instant::now() < deadline, "no batch committed");
            assert!(child.try_wait().unwrap().is_none(), "the import ended before it could be killed");
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let (partial, keys) = stored_counts(&db, "alice", "big");
        assert_eq!(partial, keys, "whole batches, no duplicates");
        assert!(partial < i64::from(ROWS), "killed mid-file ({partial} rows)");
        assert_eq!(partial % 200, 0, "only whole batches");

        let (code, out, err) = Binary::run(&db.url, &["import", "shadowserver", "--user", "alice", "--feed", "big", "--json", path.to_str().unwrap()], None);
        assert_eq!(code, 0, "{err}");
        let summary: Value = serde_json::from_str(&out).unwrap();
        assert_consistent(&summary);
        assert_eq!(summary["files"][0]["status"], "imported");
        assert_eq!(summary["indicators_created"].as_i64().unwrap(), i64::from(ROWS) - partial);
        assert_eq!(summary["indicators_unchanged"].as_i64().unwrap(), partial);
        assert_eq!(stored_counts(&db, "alice", "big"), (i64::from(ROWS), i64::from(ROWS)));

        let (code, out, _) = Binary::run(&db.url, &["import", "shadowserver", "--user", "alice", "--feed", "big", "--json", path.to_str().unwrap()], None);
        assert_eq!(code, 0);
        let summary: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(summary["files_skipped_already_imported"], 1);
    }
}
