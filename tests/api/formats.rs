//! The consumer export formats (`.txt`, `.zeek`, `.suricata`, `.rpz`, `.stix`, `.misp`), read
//! back by the real tools their users load them with: `named-checkzone` (Debian `bind9-utils`)
//! for the zone, `stix2-validator`, PyMISP and `suricataparser` (PyPI) for the rest, and a
//! strict reader for Zeek's Intel file. The Python tools live in a venv:
//! `FEEDGATE_TOOLS_PYTHON` or `target/tools-venv/bin/python`, which `.ci/run` creates. Without
//! the tools these checks print `SKIPPED` and pass, unless `FEEDGATE_REQUIRE_TOOLS=1` (CI).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::helpers::*;

/// Values of every type that a consumer may load.
const KEPT: [&str; 9] = [
    "45.33.32.156",
    "45.33.0.0/16",
    "2606:4700:4700::1111",
    "malware.example",
    "http://malware.example/dl/x.exe?a=1",
    "bad@malware.example",
    "0cc175b9c0f1b6a831c399e269772661",
    "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8",
    "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
];

/// Values no export may carry: special-purpose addresses, a network broader than /16.
const LEFT_OUT: [&str; 5] = [
    "10.1.2.3",
    "192.168.0.0/16",
    "192.0.2.44",
    "fd00::1",
    "44.0.0.0/12",
];

const FORMATS: [(&str, &str); 6] = [
    ("txt", "text/plain; charset=utf-8"),
    ("zeek", "text/plain; charset=utf-8"),
    ("suricata", "text/plain; charset=utf-8"),
    ("rpz", "text/dns"),
    ("stix", "application/stix+json;version=2.1"),
    ("misp", "application/json"),
];

fn fill(app: &TestApp, token: &str, feed: &str, private: bool) {
    app.create_feed(token, "alice", feed, private)
        .assert_status(201);
    let items: Vec<_> = KEPT
        .iter()
        .chain(LEFT_OUT.iter())
        .map(|v| json!({"indicator": v, "tags": ["scanner", "x:y+z"], "description": "says \"<script>alert(1)</script>\"; rm -rf / | x",
            "firsttime": "2026-11-01T00:00:00Z", "lasttime": "2026-11-02T00:00:00Z"}))
        .collect();
    app.send_as(
        "POST",
        token,
        &format!("/api/users/alice/feeds/{feed}/indicators_bulk"),
        &json!({"indicators": items}),
    )
    .assert_status(200);
}

both_backends! {
    fn every_format_leaves_out_special_addresses_and_broad_networks(app) {
        let alice = app.user_with_token("alice");
        fill(&app, &alice, "mixed", false);
        for (format, content_type) in FORMATS {
            let res = app.get(&format!("/api/users/alice/feeds/mixed.{format}"));
            res.assert_status(200);
            assert_eq!(res.header("content-type"), Some(content_type), "{format}");
            assert_eq!(
                res.header("content-disposition"),
                Some(format!("attachment; filename=\"alice-mixed.{format}\"").as_str())
            );
            for value in LEFT_OUT {
                let needle = match (format, value) {
                    // The zone spells addresses backwards.
                    ("rpz", "10.1.2.3") => "32.3.2.1.10.rpz-ip".to_owned(),
                    ("rpz", "192.0.2.44") => "32.44.2.0.192.rpz-ip".to_owned(),
                    ("rpz", "192.168.0.0/16") => "16.0.0.168.192.rpz-ip".to_owned(),
                    ("rpz", "44.0.0.0/12") => "12.0.0.0.44.rpz-ip".to_owned(),
                    _ => value.to_owned(),
                };
                assert!(!res.body.contains(&needle), "{value} in the {format} export:\n{}", res.body);
            }
            let same = app.get(&format!("/api/users/alice/feeds/mixed?format={format}"));
            same.assert_status(200);
            assert_eq!(same.header("content-type"), Some(content_type));
        }
        // CSV and JSON leave out the same values (issue 19: every export format).
        for format in ["csv", "json"] {
            let body = app.get(&format!("/api/users/alice/feeds/mixed.{format}")).assert_status(200).body.clone();
            for value in LEFT_OUT {
                assert!(!body.contains(&format!("{value},")) && !body.contains(&format!("\"{value}\"")), "{value} in the {format} export:\n{body}");
            }
            for value in KEPT {
                assert!(body.contains(value), "{value} missing from the {format} export:\n{body}");
            }
        }
        let txt = app.get("/api/users/alice/feeds/mixed.txt").body.clone();
        let mut lines: Vec<&str> = txt.lines().collect();
        lines.sort_unstable();
        let mut want = KEPT.to_vec();
        want.sort_unstable();
        assert_eq!(lines, want);
        // What was left out, and why, page by page.
        let res = app.get("/api/users/alice/feeds/mixed/exclusions");
        let list = res.assert_status(200).json()["exclusions"].as_array().unwrap().clone();
        let mut reasons: Vec<(&str, &str)> =
            list.iter().map(|e| (e["indicator"].as_str().unwrap(), e["reason"].as_str().unwrap())).collect();
        reasons.sort_unstable();
        assert_eq!(reasons, [("10.1.2.3", "special_purpose"), ("192.0.2.44", "special_purpose"),
            ("192.168.0.0/16", "special_purpose"), ("44.0.0.0/12", "max_prefix"), ("fd00::1", "special_purpose")]);
        let doc = list.iter().find(|e| e["indicator"] == "192.0.2.44").unwrap();
        assert_eq!((doc["list"].as_str(), doc["entry"].as_str()), (Some("special-purpose addresses"), Some("192.0.2.0/24")));
        let broad = list.iter().find(|e| e["indicator"] == "44.0.0.0/12").unwrap();
        assert_eq!((broad["list"].is_null(), broad["entry"].as_str()), (true, Some("/12 is broader than /16")));
        let mut seen = Vec::new();
        let mut next = Some("/api/users/alice/feeds/mixed/exclusions?limit=2".to_string());
        while let Some(path) = next.take() {
            let res = app.get(&path);
            let page = res.assert_status(200).json()["exclusions"].as_array().unwrap().clone();
            assert!(page.len() <= 2);
            seen.extend(page.iter().map(|e| e["indicator"].as_str().unwrap().to_owned()));
            next = res.header("link").map(|l| l.split(['<', '>']).nth(1).unwrap().replace(&app.base, ""));
        }
        seen.sort_unstable();
        assert_eq!(seen, ["10.1.2.3", "192.0.2.44", "192.168.0.0/16", "44.0.0.0/12", "fd00::1"]);
        let wider = app.get("/api/users/alice/feeds/mixed/exclusions?max_prefix=8").json();
        assert_eq!(wider["exclusions"].as_array().unwrap().len(), 4);
        app.get("/api/users/alice/feeds/mixed/exclusions?max_prefix=x").assert_error(422, "validation_failed");
        // The default bound can be widened or narrowed per request.
        assert!(app.get("/api/users/alice/feeds/mixed.txt?max_prefix=8").body.lines().any(|l| l == "44.0.0.0/12"));
        assert!(!app.get("/api/users/alice/feeds/mixed.txt?max_prefix=24").body.lines().any(|l| l == "45.33.0.0/16"));
    }

    fn formats_filter_by_type_and_tag_and_refuse_what_they_do_not_know(app) {
        let alice = app.user_with_token("alice");
        fill(&app, &alice, "mixed", false);
        app.create_feed(&alice, "alice", "other", false).assert_status(201);
        app.post_indicator(&alice, "alice", "other", &json!({"indicator": {"thing": "45.33.32.157", "tags": ["c2"]}})).assert_status(201);
        app.post_indicator(&alice, "alice", "other", &json!({"indicator": {"thing": "45.33.32.158", "tags": ["scanner"]}})).assert_status(201);
        let fqdn = app.get("/api/users/alice/feeds/mixed.txt?itype=fqdn").body.clone();
        assert_eq!(fqdn, "malware.example\n");
        let c2 = app.get("/api/users/alice/feeds/other.txt?tags=c2,nothing").body.clone();
        assert_eq!(c2, "45.33.32.157\n");
        let res = app.get("/api/users/alice/feeds/mixed.pdf");
        res.assert_error(404, "unknown_format");
        assert_eq!(res.json()["details"]["formats"], json!(["csv", "json", "txt", "zeek", "suricata", "rpz", "stix", "misp"]));
        app.get("/api/users/alice/feeds/mixed?format=pdf").assert_error(404, "unknown_format");
        app.get("/api/users/alice/feeds/mixed.zeek?itype=ipv5").assert_error(400, "invalid_parameter");
        app.get("/api/users/alice/feeds/mixed.zeek?max_prefix=33").assert_error(422, "validation_failed");
        app.get("/api/users/alice/feeds/mixed.zeek?max_prefix6=129").assert_error(422, "validation_failed");
        app.get("/api/users/alice/feeds/mixed.zeek?limit=5").assert_error(400, "unknown_parameter");
        // A private feed is another user's 404 in every format.
        fill(&app, &alice, "hidden", true);
        let bob = app.user_with_token("bob");
        app.get_as(&bob, "/api/users/alice/feeds/hidden.stix").assert_error(404, "not_found");
        app.get("/api/users/alice/feeds/hidden.rpz").assert_error(404, "not_found");
        assert!(app.get_as(&alice, "/api/users/alice/feeds/hidden.txt").body.contains("malware.example"));
    }

    fn the_real_tools_read_every_format(app) {
        let alice = app.user_with_token("alice");
        fill(&app, &alice, "mixed", false);
        let dir = tempfile::tempdir().unwrap();
        let save = |format: &str| -> PathBuf {
            let body = app.get(&format!("/api/users/alice/feeds/mixed.{format}")).assert_status(200).body.clone();
            let path = dir.path().join(format!("mixed-{format}.{}", if matches!(format, "stix" | "misp") { "json" } else { format }));
            std::fs::write(&path, body).unwrap();
            path
        };
        check_zeek(&std::fs::read_to_string(save("zeek")).unwrap());
        let zone = save("rpz");
        if let Some(checkzone) = tool("named-checkzone") {
            let out = Command::new(checkzone).arg("rpz.feedgate.test").arg(&zone).output().unwrap();
            assert!(out.status.success(), "named-checkzone: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        }
        let (stix, misp, rules) = (save("stix"), save("misp"), save("suricata"));
        if let Some(python) = tools_python() {
            let script = r#"
import json, sys
from stix2validator import validate_file, ValidationOptions
results = validate_file(sys.argv[1], ValidationOptions(version="2.1"))
assert results.is_valid, [str(e) for r in results.object_results for e in r.errors]
from pymisp import MISPEvent
event = MISPEvent()
event.load(open(sys.argv[2]).read())
from suricataparser import parse_file
rules = parse_file(sys.argv[3])
print(json.dumps({"stix": len(json.load(open(sys.argv[1]))["objects"]),
                  "misp": [a.type for a in event.attributes],
                  "sids": [r.sid for r in rules], "suricata": [r.header for r in rules]}))
"#;
            let out = Command::new(python).arg("-c").arg(script).arg(&stix).arg(&misp).arg(&rules).output().unwrap();
            assert!(out.status.success(), "python tools: {}", String::from_utf8_lossy(&out.stderr));
            let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(seen["stix"], 4 + KEPT.len(), "four TLP marking definitions and every kept indicator");
            let mut types: Vec<&str> = seen["misp"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
            types.sort_unstable();
            assert_eq!(types, ["domain", "email-src", "ip-dst", "ip-dst", "ip-dst", "md5", "sha1", "sha256", "url"]);
            // Addresses, the network, the domain and the URL have rules; the rest have none.
            assert_eq!(seen["sids"].as_array().unwrap().len(), 5, "{seen}");
        }
    }
}

both_backends! {
    fn warninglists_keep_their_entries_out_of_exports(app) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/warninglists");
        let app = TestApp::spawn_with(backend_of(&app), |s| s.warninglists = Some(dir));
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let values = [
            // On "List of known Gmail sending IP ranges" (cidr).
            "209.85.200.1",
            // On "cisco-umbrella-blockpage-hostname" (hostname).
            "hit-phish.opendns.com",
            // On "List of known hashes for empty files" (string).
            "d41d8cd98f00b204e9800998ecf8427e",
            "malware.example",
        ];
        let items: Vec<_> = values.iter().map(|v| json!({"indicator": v})).collect();
        app.send_as("POST", &alice, "/api/users/alice/feeds/f/indicators_bulk", &json!({"indicators": items})).assert_status(200);
        assert_eq!(app.get("/api/users/alice/feeds/f.txt").body, "malware.example\n");
        let why = app.get("/api/users/alice/feeds/f/exclusions").json();
        let mut lists: Vec<(&str, &str, &str)> = why["exclusions"].as_array().unwrap().iter()
            .map(|e| (e["reason"].as_str().unwrap(), e["list"].as_str().unwrap(), e["entry"].as_str().unwrap())).collect();
        lists.sort_unstable();
        assert_eq!(lists, [
            ("warninglist", "List of known Gmail sending IP ranges", "209.85.128.0/17"),
            ("warninglist", "List of known hashes for empty files", "d41d8cd98f00b204e9800998ecf8427e"),
            ("warninglist", "cisco-umbrella-blockpage-hostname", "hit-phish.opendns.com"),
        ]);
        assert!(app.get("/api/users/alice/feeds/f.zeek").body.contains("malware.example\tIntel::DOMAIN"));
    }
}

both_backends! {
    fn the_issues_six_left_out_values_leave_every_format_and_say_why(app) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/warninglists");
        let app = TestApp::spawn_with(backend_of(&app), |s| s.warninglists = Some(dir));
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        app.send_as("POST", &alice, "/api/users/alice/feeds", &json!({"feed": {"name": "allow", "kind": "whitelist"}}))
            .assert_status(201);
        app.post_indicator(&alice, "alice", "allow", &json!({"thing": "partner.example.net"})).assert_status(201);
        let left_out = [
            ("10.1.2.3", "special_purpose"),
            ("192.168.0.0/16", "special_purpose"),
            ("198.51.100.7", "special_purpose"),
            ("cdn.partner.example.net", "whitelist_feed"),
            ("209.85.200.1", "warninglist"),
            ("44.0.0.0/12", "max_prefix"),
        ];
        let items: Vec<_> = left_out.iter().map(|(v, _)| json!({"indicator": v}))
            .chain([json!({"indicator": "evil.example.org"})]).collect();
        app.send_as("POST", &alice, "/api/users/alice/feeds/f/indicators_bulk", &json!({"indicators": items})).assert_status(200);
        for format in ["csv", "json", "txt", "zeek", "suricata", "rpz", "stix", "misp"] {
            let body = app.get(&format!("/api/users/alice/feeds/f.{format}")).assert_status(200).body.clone();
            assert!(body.contains("evil.example.org"), "{format}: {body}");
            for (value, _) in left_out {
                let (addr, bits) = value.split_once('/').unwrap_or((value, "32"));
                let rpz: Vec<&str> = addr.split('.').rev().collect();
                let rpz = format!("{bits}.{}.rpz-ip", rpz.join("."));
                assert!(!body.contains(value) && !body.contains(&rpz), "{value} in the {format} export:\n{body}");
            }
        }
        let why = app.get("/api/users/alice/feeds/f/exclusions").json();
        let mut reasons: Vec<(String, String)> = why["exclusions"].as_array().unwrap().iter()
            .map(|e| (e["indicator"].as_str().unwrap().to_owned(), e["reason"].as_str().unwrap().to_owned())).collect();
        reasons.sort();
        let mut want: Vec<(String, String)> = left_out.iter().map(|(v, r)| (v.to_string(), r.to_string())).collect();
        want.sort();
        assert_eq!(reasons, want);
    }
}

#[test]
fn a_malformed_warninglist_stops_the_start_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.json");
    std::fs::File::create(&bad)
        .unwrap()
        .write_all(b"{\n  \"name\": \"broken\",\n  \"type\": \"cidr\",\n  \"list\": [1]\n}\n")
        .unwrap();
    let db = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_feedgate"))
        .args(["serve", "--bind", "127.0.0.1:0", "--warninglists"])
        .arg(dir.path())
        .arg("--database-url")
        .arg(format!("sqlite://{}", db.path().join("f.db").display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.json") && stderr.contains("line 4"),
        "{stderr}"
    );
}

/// A strict reader of Zeek's Intel file format: the `#fields` header, five tab-separated
/// fields per line, a known indicator type, no empty field.
fn check_zeek(text: &str) {
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url")
    );
    let types = [
        "Intel::ADDR",
        "Intel::SUBNET",
        "Intel::DOMAIN",
        "Intel::URL",
        "Intel::EMAIL",
        "Intel::FILE_HASH",
    ];
    let mut n = 0;
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 5, "{line:?}");
        assert!(types.contains(&fields[1]), "{line:?}");
        assert!(fields.iter().all(|f| !f.is_empty()), "{line:?}");
        n += 1;
    }
    assert_eq!(n, KEPT.len());
}

/// A tool on the `PATH`, or `None` (after saying so) when it is missing and not required.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    missing_unless_required(found, name)
}

/// The python of the venv holding stix2-validator, pymisp and suricataparser.
pub fn tools_python() -> Option<PathBuf> {
    let configured = std::env::var_os("FEEDGATE_TOOLS_PYTHON").map(PathBuf::from);
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools-venv/bin/python");
    let found = configured
        .into_iter()
        .chain([default])
        .find(|p| p.is_file());
    missing_unless_required(
        found,
        "the consumer tools' python (FEEDGATE_TOOLS_PYTHON or target/tools-venv)",
    )
}

pub(crate) fn missing_unless_required(found: Option<PathBuf>, what: &str) -> Option<PathBuf> {
    if found.is_none() {
        assert!(
            std::env::var("FEEDGATE_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "FEEDGATE_REQUIRE_TOOLS=1 but {what} is missing; run .ci/run"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {what} not installed; its checks did not run"
        );
    }
    found
}
