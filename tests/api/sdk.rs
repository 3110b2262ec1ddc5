//! The real clients: the `csirtg` CLI and the csirtgsdk 1.1.5 library (with csirtg_indicator
//! 1.x) from PyPI, run as child processes against the real server. They read the v1 shapes
//! (`Accept: application/vnd.csirtg.v1`), read by `POST null`, write to `/api//users/…` and
//! parse every time strictly, so these tests are the client-compatibility checklist (spec §9)
//! exercised end to end. The Python side lives in a venv: `FEEDGATE_SDK_PYTHON` (its python) or
//! `target/sdk-venv/bin/python`, which `.ci/run` creates. Without either the tests print a
//! `SKIPPED` line to stderr and pass, unless `FEEDGATE_REQUIRE_SDK=1` (CI) makes them fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::*;

/// The venv's python, or `None` when the SDK is not installed: then the test says so on stderr
/// and passes, unless `FEEDGATE_REQUIRE_SDK=1` (set by `.ci/run`) makes a missing SDK a failure,
/// so CI cannot go green without having run these tests.
fn sdk_python() -> Option<PathBuf> {
    let configured = std::env::var_os("FEEDGATE_SDK_PYTHON").map(PathBuf::from);
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sdk-venv/bin/python");
    let found = configured
        .clone()
        .into_iter()
        .chain([default.clone()])
        .find(|p| p.is_file());
    if found.is_none() {
        let looked = match &configured {
            Some(p) => format!(
                "FEEDGATE_SDK_PYTHON={} or {}",
                p.display(),
                default.display()
            ),
            None => default.display().to_string(),
        };
        assert!(
            std::env::var("FEEDGATE_REQUIRE_SDK").as_deref() != Ok("1"),
            "FEEDGATE_REQUIRE_SDK=1 but the csirtg SDK's python is missing (looked for {looked}); \
             run .ci/run or create target/sdk-venv"
        );
        // Written to the real stderr, not the test's captured output, so a local run shows
        // which tests did not run even when they pass.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: csirtg SDK not installed (looked for {looked}); SDK test passed without running"
        );
    }
    found
}

/// What a child process printed.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The `posted: URL` line the CLI logs at `-v` after creating an indicator (it reads
    /// `location` unconditionally, spec §9 item 5).
    fn posted_location(&self) -> &str {
        self.stderr
            .lines()
            .find_map(|l| l.split("posted: ").nth(1))
            .unwrap_or_else(|| {
                panic!(
                    "no `posted:` line; stdout: {}\nstderr: {}",
                    self.stdout, self.stderr
                )
            })
            .trim()
    }
}

/// The SDK configured for one user of one running server.
struct Sdk {
    python: PathBuf,
    remote: String,
    token: Option<String>,
}

impl Sdk {
    /// Finds the venv and points the SDK at `app` with `token`; `None` when not installed.
    fn find(app: &TestApp, token: &str) -> Option<Sdk> {
        Some(Sdk {
            python: sdk_python()?,
            // The SDK appends `/users/…` (and `//users/…` for writes) to this base.
            remote: format!("{}/api", app.base),
            token: Some(token.to_string()),
        })
    }

    /// The same SDK with another token, or none at all (`CSIRTG_TOKEN` unset).
    fn with_token(&self, token: Option<&str>) -> Sdk {
        Sdk {
            python: self.python.clone(),
            remote: self.remote.clone(),
            token: token.map(str::to_string),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.env("CSIRTG_REMOTE", &self.remote)
            // No 30-60 s sleep before a retry after a 5xx.
            .env("CSIRTGSDK_CLIENT_HTTP_RETRIES_DELAY", "0,0")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONIOENCODING", "utf-8");
        for var in [
            "CSIRTG_API_VERSION",
            "CSIRTG_LIMIT",
            "CSIRTG_COLUMNS",
            "CSIRTG_TIMEOUT",
            "CSIRTGSDK_CLIENT_HTTP_RETRIES",
            "CSIRTGSDK_HTTP_TRACE",
        ] {
            cmd.env_remove(var);
        }
        match &self.token {
            Some(t) => cmd.env("CSIRTG_TOKEN", t),
            None => cmd.env_remove("CSIRTG_TOKEN"),
        };
        cmd
    }

    fn run(mut cmd: Command) -> Run {
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `csirtg ARGS…` (the console script's `main`).
    fn cli(&self, args: &[&str]) -> Run {
        let mut cmd = self.command();
        cmd.args(["-m", "csirtgsdk.client.cli"]).args(args);
        Self::run(cmd)
    }

    /// Runs `csirtg ARGS…`, asserting a clean exit, and returns the rows of its table.
    fn cli_table(&self, args: &[&str]) -> Vec<Row> {
        let run = self.cli(args);
        assert_eq!(
            run.code, 0,
            "csirtg {args:?}: {}\n{}",
            run.stdout, run.stderr
        );
        table_rows(&run.stdout)
            .unwrap_or_else(|| {
                panic!(
                    "csirtg {args:?} printed no table: {}\n{}",
                    run.stdout, run.stderr
                )
            })
            .1
    }

    /// Runs a Python snippet with the SDK imported; its last line of output is the JSON result
    /// (`attempt(f)` returns `f()` or the name of the exception it raised).
    fn python(&self, snippet: &str) -> Value {
        let prelude = "import json, csirtgsdk\n\
            from csirtgsdk import Feed, Indicator, Search\n\
            def attempt(f):\n    try:\n        return f()\n    except Exception as e:\n        return type(e).__name__\n";
        let mut cmd = self.command();
        cmd.args(["-c", &format!("{prelude}{snippet}")]);
        let run = Self::run(cmd);
        assert_eq!(
            run.code, 0,
            "python failed:\n{snippet}\n{}\n{}",
            run.stdout, run.stderr
        );
        let last = run.stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout, run.stderr))
    }
}

/// One row of a table the CLI printed: column name → trimmed cell.
type Row = BTreeMap<String, String>;

/// The first PrettyTable in `out`: its header and its rows as column → trimmed cell.
fn table_rows(out: &str) -> Option<(Vec<String>, Vec<Row>)> {
    let mut lines = out.lines().filter(|l| l.starts_with('|'));
    let cells = |l: &str| -> Vec<String> {
        let inner = l.trim().trim_start_matches('|').trim_end_matches('|');
        inner.split('|').map(|c| c.trim().to_string()).collect()
    };
    let header = cells(lines.next()?);
    let rows = lines
        .map(|l| header.iter().cloned().zip(cells(l)).collect())
        .collect();
    Some((header, rows))
}

/// The `indicator` column of each row.
fn values(rows: &[Row]) -> Vec<&str> {
    rows.iter().map(|r| r["indicator"].as_str()).collect()
}

/// `s` has the shape of `pattern`, where `9` stands for any ASCII digit.
fn shaped(s: &str, pattern: &str) -> bool {
    s.len() == pattern.len()
        && s.bytes().zip(pattern.bytes()).all(|(c, p)| {
            if p == b'9' {
                c.is_ascii_digit()
            } else {
                c == p
            }
        })
}

/// The CLI's column list (csirtgsdk's `COLUMNS`), which search and feed tables print.
const INDICATOR_COLUMNS: [&str; 14] = [
    "user",
    "feed",
    "indicator",
    "firsttime",
    "lasttime",
    "count",
    "comments",
    "protocol",
    "portlist",
    "tags",
    "description",
    "cc",
    "asn",
    "asn_desc",
];

/// Creates a public feed of alice's through the API (set-up, not under test).
fn create_feed(app: &TestApp, token: &str, name: &str) {
    app.create_feed(token, "alice", name, false)
        .assert_status(201);
}

/// Creates an indicator in one of alice's feeds through the API (set-up); returns its id.
fn create_indicator(app: &TestApp, token: &str, feed: &str, body: Value) -> i64 {
    let res = app.post_indicator(token, "alice", feed, &body);
    res.assert_status(201).json()["indicator"]["id"]
        .as_i64()
        .unwrap()
}

/// The v0 indicator object at an absolute `location`.
fn indicator_at(app: &TestApp, token: &str, location: &str) -> Value {
    let path = location
        .strip_prefix(&app.base)
        .unwrap_or_else(|| panic!("{location} is not on {}", app.base));
    app.get_as(token, path).assert_status(200).json()["indicator"].clone()
}

both_backends! {
    fn the_cli_creates_lists_and_shows_feeds(app) {
        let alice = app.user_with_token("alice");
        let Some(sdk) = Sdk::find(&app, &alice) else { return };

        // --feeds before any feed: the header of the feed table and no rows (POST null to
        // /api/users/alice/feeds, answered as a read).
        let run = sdk.cli(&["--user", "alice", "--feeds"]);
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        let (header, rows) = table_rows(&run.stdout).unwrap();
        assert_eq!(header, ["name", "description", "license", "updated_at"]);
        assert!(rows.is_empty(), "{}", run.stdout);

        // --feed-new prints the created feed; the CLI reads license['name'] (§9 item 4).
        let rows = sdk.cli_table(&["--user", "alice", "--feed-new", "smtp-relays", "--description", "open relays abused for spam"]);
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["name"], "smtp-relays");
        assert_eq!(rows[0]["description"], "open relays abused for spam");
        assert_eq!(rows[0]["license"], "CC BY-SA 4.0");
        assert!(shaped(&rows[0]["updated_at"], "9999-99-99T99:99:99Z"), "v1 time: {rows:?}");
        let feed = app.get_as(&alice, "/api/users/alice/feeds/smtp-relays").assert_status(200).json();
        assert_eq!(feed["feed"]["description"], "open relays abused for spam");
        assert_eq!(feed["feed"]["private"], false, "the SDK never sends `private`");

        // The same name again is a 422, which the SDK raises as SubmissionFailed.
        let again = sdk.cli(&["--user", "alice", "--feed-new", "smtp-relays", "--description", "dup"]);
        assert_ne!(again.code, 0, "{}", again.stdout);
        assert!(again.stderr.contains("SubmissionFailed"), "{}", again.stderr);

        let rows = sdk.cli_table(&["--user", "alice", "--feeds"]);
        assert_eq!(rows.iter().map(|r| r["name"].as_str()).collect::<Vec<_>>(), ["smtp-relays"]);

        for (ip, lasttime) in [("203.0.113.5", "2026-11-18T00:00:00Z"), ("203.0.113.7", "2026-11-20T00:00:00Z"), ("203.0.113.6", "2026-11-19T00:00:00Z")] {
            create_indicator(&app, &alice, "smtp-relays", json!({"indicator": {"indicator": ip, "lasttime": lasttime, "tags": ["relay"]}}));
        }
        // --feed NAME --limit N: GET ?limit=N, the N newest; the table prints them oldest first.
        let rows = sdk.cli_table(&["--user", "alice", "--feed", "smtp-relays", "--limit", "2"]);
        assert_eq!(values(&rows), ["203.0.113.6", "203.0.113.7"]);
        assert_eq!(rows[1]["lasttime"], "2026-11-20T00:00:00.00000Z", "parsed from the v1 `…Z` form");
        assert_eq!(rows[1]["user"], "alice");
        assert_eq!(rows[1]["feed"], "smtp-relays");
        assert_eq!(rows[1]["tags"], "relay");
        assert_eq!(rows[1]["count"], "1");
        let rows = sdk.cli_table(&["--user", "alice", "--feed", "smtp-relays"]);
        assert_eq!(values(&rows), ["203.0.113.5", "203.0.113.6", "203.0.113.7"]);
    }

    fn the_cli_submits_every_kind_of_indicator_and_finds_it(app) {
        let alice = app.user_with_token("alice");
        create_feed(&app, &alice, "ssh-scanners");
        create_feed(&app, &alice, "phish-urls");
        let Some(sdk) = Sdk::find(&app, &alice) else { return };
        let times = ["--firsttime", "2026-11-19T22:10:00Z", "--lasttime", "2026-11-20T07:55:12Z"];
        let submit = |feed: &str, value: &str, extra: &[&str]| {
            let mut args = vec!["-v", "--user", "alice", "--feed", feed, "--indicator-new", value];
            args.extend_from_slice(&times);
            args.extend_from_slice(extra);
            let run = sdk.cli(&args);
            assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
            let (header, rows) = table_rows(&run.stdout).unwrap_or_else(|| panic!("{}\n{}", run.stdout, run.stderr));
            assert_eq!(header, INDICATOR_COLUMNS);
            assert_eq!(rows.len(), 1, "{}", run.stdout);
            (rows[0].clone(), indicator_at(&app, &alice, run.posted_location()))
        };

        // ipv4 with every flag: the SDK sends protocol as a name, times with microseconds,
        // tags as a list, the comment as a string and unknown members (uuid, group, …).
        let (row, stored) = submit("ssh-scanners", "198.51.100.23", &[
            "--tags", "scanner,ssh", "--portlist", "22", "--protocol", "TCP",
            "--comment", "tried root/admin and pi/raspberry",
            "--description", "ssh password guessing", "--provider", "honeypot-eu1",
        ]);
        assert_eq!(row["user"], "alice");
        assert_eq!(row["feed"], "ssh-scanners");
        assert_eq!(row["indicator"], "198.51.100.23");
        assert_eq!(row["firsttime"], "2026-11-19T22:10:00.00000Z");
        assert_eq!(row["lasttime"], "2026-11-20T07:55:12.00000Z");
        assert_eq!(row["count"], "1");
        assert_eq!(row["protocol"], "tcp");
        assert_eq!(row["portlist"], "22");
        assert_eq!(row["tags"], "scanner,ssh");
        assert_eq!(row["description"], "ssh password guessing");
        assert_eq!(stored["thing"], "198.51.100.23");
        assert_eq!(stored["itype"], "ipv4");
        assert_eq!(stored["protocol"], 6);
        assert_eq!(stored["provider"], "honeypot-eu1");
        assert_eq!(stored["firsttime"], "2026-11-19 22:10:00 UTC");
        assert_eq!(stored["lasttime"], "2026-11-20 07:55:12 UTC");
        assert_eq!(stored["comments"][0]["comment"]["text"], "tried root/admin and pi/raspberry");
        assert_eq!(stored["comments"][0]["comment"]["user"], "alice");

        let (row, stored) = submit("ssh-scanners", "2001:DB8:4::17", &[
            "--tags", "scanner", "--portlist", "22,2222", "--protocol", "udp", "--comment", "v6 too",
        ]);
        assert_eq!(row["indicator"], "2001:db8:4::17");
        assert_eq!(row["protocol"], "udp");
        assert_eq!(row["portlist"], "22,2222");
        assert_eq!(stored["itype"], "ipv6");
        assert_eq!(stored["protocol"], 17);
        assert_eq!(stored["comments_count"], 1);

        let (row, stored) = submit("phish-urls", "Login-Verify.Example.NET", &[
            "--tags", "phishing", "--portlist", "443", "--protocol", "tcp", "--comment", "fake bank",
        ]);
        assert_eq!(row["indicator"], "login-verify.example.net");
        assert_eq!(row["feed"], "phish-urls");
        assert_eq!(stored["itype"], "fqdn");

        // The SDK keeps a URL's case; the server lower-cases only scheme and host (spec §7.4).
        let (row, stored) = submit("phish-urls", "http://Example.NET/Login.php", &[
            "--tags", "phishing,url", "--portlist", "80", "--protocol", "tcp", "--comment", "landing page",
        ]);
        assert_eq!(row["indicator"], "http://example.net/Login.php");
        assert_eq!(row["tags"], "phishing,url");
        assert_eq!(stored["itype"], "url");

        let (row, stored) = submit("phish-urls", "Billing@Example.net", &[
            "--tags", "phishing,email", "--comment", "sender",
        ]);
        assert_eq!(row["indicator"], "billing@example.net");
        assert_eq!(row["protocol"], "None");
        assert_eq!(stored["itype"], "email");
        assert_eq!(stored["comments"][0]["comment"]["text"], "sender");

        // Re-submission upserts (§9 item 7): same id, count 2, tags merged, comment appended.
        let (row, again) = submit("ssh-scanners", "198.51.100.23", &["--tags", "bruteforce", "--comment", "seen again"]);
        assert_eq!(row["count"], "2");
        assert_eq!(row["tags"], "scanner,ssh,bruteforce");
        assert_eq!(again["count"], 2);
        assert_eq!(again["comments_count"], 2);

        // --search for each kind; results carry user and feed (§9 item 21).
        let search = |q: &str| sdk.cli_table(&["--search", q]);
        let rows = search("198.51.100.23");
        assert_eq!(values(&rows), ["198.51.100.23"]);
        assert_eq!((rows[0]["user"].as_str(), rows[0]["feed"].as_str()), ("alice", "ssh-scanners"));
        assert_eq!(values(&search("198.51.100.0/24")), ["198.51.100.23"]);
        assert_eq!(values(&search("2001:db8:4::17")), ["2001:db8:4::17"]);
        assert_eq!(values(&search("login-verify.example.net")), ["login-verify.example.net"]);
        let mut domain = search("example.net");
        domain.sort_by(|a, b| a["indicator"].cmp(&b["indicator"]));
        assert_eq!(values(&domain), ["billing@example.net", "http://example.net/Login.php", "login-verify.example.net"]);
        assert!(domain.iter().all(|r| r["feed"] == "phish-urls"));
        assert_eq!(values(&search("http://example.net/Login.php")), ["http://example.net/Login.php"]);
        assert_eq!(values(&search("billing@example.net")), ["billing@example.net"]);
        // No hit is an empty table, not a traceback (§9 item 19).
        assert!(search("203.0.113.200").is_empty());
    }

    fn the_cli_attaches_a_file_as_a_sha1_indicator(app) {
        let alice = app.user_with_token("alice");
        create_feed(&app, &alice, "phish-urls");
        let Some(sdk) = Sdk::find(&app, &alice) else { return };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sample.eml");
        std::fs::write(&file, "Received: from mx.example.org\n").unwrap();
        let file = file.to_str().unwrap();

        // No --indicator-new: the SDK sends the full local path as the file name and no value,
        // and uses the SHA-1 it computed as the value (§9 items 24-26).
        let run = sdk.cli(&["-v", "--user", "alice", "--feed", "phish-urls", "--attachment", file, "--tags", "uce", "--comment", "attached"]);
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        let rows = table_rows(&run.stdout).unwrap().1;
        let sha1 = "c7369be2f1be03c77ee7c22edc8441e46c309c1d";
        assert_eq!(rows[0]["indicator"], format!("{}..", &sha1[..30]), "the CLI cuts cells at 30");
        assert_eq!(rows[0]["tags"], "uce");
        let stored = indicator_at(&app, &alice, run.posted_location());
        assert_eq!(stored["thing"], sha1);
        assert_eq!(stored["itype"], "sha1");
        let attachments = stored["attachments"].as_array().unwrap();
        assert_eq!(attachments.len(), 1, "{stored}");
        let a = &attachments[0];
        assert_eq!(a["filename"], "sample.eml", "the basename of the path the SDK sent");
        assert_eq!(a["filesize"], 30);
        assert_eq!(a["content_type"], "message/rfc822");
        assert_eq!(a["sha1"], sha1);
        assert_eq!(a["sha256"], "5516a4aad5c38a21403df0edc9df2c8f143cc201cb2ceccd4db032cd7d87a250");
        let download = a["attachment"].as_str().unwrap().strip_prefix(&app.base).unwrap().to_string();
        let res = app.get_as(&alice, &download);
        assert_eq!(res.assert_status(200).body, "Received: from mx.example.org\n");

        let found = sdk.cli_table(&["--search", sha1]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["feed"], "phish-urls");
    }

    fn the_sdk_reads_feeds_indicators_and_comments(app) {
        let alice = app.user_with_token("alice");
        create_feed(&app, &alice, "ssh-scanners");
        create_feed(&app, &alice, "scratch");
        let v4 = create_indicator(&app, &alice, "ssh-scanners", json!({
            "indicator": {"thing": "198.51.100.23", "tags": ["scanner", "ssh"], "portlist": "22", "protocol": "tcp",
                "firsttime": "2026-11-19T22:10:00Z", "lasttime": "2026-11-20T07:55:12Z"},
            "comment": "tried root/admin and pi/raspberry"}));
        let v6 = create_indicator(&app, &alice, "ssh-scanners", json!({
            "indicator": {"thing": "2001:db8:4::17", "lasttime": "2026-11-18T10:00:00Z"}}));
        let Some(sdk) = Sdk::find(&app, &alice) else { return };

        // Feed().show with lasttime: a GET with ?lasttime=… (limit=None is dropped by requests).
        let shown = sdk.python(r#"
f = Feed()
print(json.dumps([f.show('alice', 'ssh-scanners', lasttime='2026-11-19T00:00:00Z'),
                  f.show('alice', 'ssh-scanners'), csirtgsdk.feed('alice/ssh-scanners', limit=1)]))
"#);
        let recent = &shown[0];
        assert_eq!(recent["name"], "ssh-scanners", "v1 is unwrapped: {recent}");
        assert_eq!(recent["user"], "alice");
        assert_eq!(recent["license"]["name"], "CC BY-SA 4.0");
        let recent = recent["indicators"].as_array().unwrap();
        assert_eq!(recent.len(), 1, "{recent:?}");
        let i = &recent[0];
        assert_eq!(i["id"], v4);
        assert_eq!(i["indicator"], "198.51.100.23");
        assert_eq!(i["protocol"], "tcp");
        assert_eq!(i["lasttime"], "2026-11-20T07:55:12Z");
        assert_eq!(i["tags"], json!(["scanner", "ssh"]));
        assert_eq!(i["feed"], "ssh-scanners");
        assert!(i.get("thing").is_none() && i.get("feed_id").is_none(), "v1 names only: {i}");
        let all: Vec<&Value> = shown[1]["indicators"].as_array().unwrap().iter().map(|i| &i["id"]).collect();
        assert_eq!(all, [&json!(v4), &json!(v6)], "newest first");
        assert_eq!(shown[2]["indicators"].as_array().unwrap().len(), 1);

        // Indicator.show / .comments and Feed().index read by POST with the body `null`;
        // Feed().delete returns the status code of a DELETE (spec §9 item 6: 200, not 204).
        let read = sdk.python(&format!(r#"
i = Indicator({{'user': 'alice', 'feed': 'ssh-scanners'}})
print(json.dumps([i.show('alice', 'ssh-scanners', {v4}), i.comments('alice', 'ssh-scanners', {v4}),
                  i.comments('alice', 'ssh-scanners', {v6}), Feed().delete('alice', 'scratch'),
                  Feed().index('alice')]))
"#));
        let shown = &read[0];
        assert_eq!(shown["id"], v4);
        assert_eq!(shown["indicator"], "198.51.100.23");
        assert_eq!(shown["portlist"], "22");
        assert_eq!(shown["firsttime"], "2026-11-19T22:10:00Z");
        assert_eq!(shown["comments"][0]["text"], "tried root/admin and pi/raspberry");
        assert_eq!(shown["location"], format!("{}/api/users/alice/feeds/ssh-scanners/indicators/{v4}", app.base));
        let comments = read[1].as_array().unwrap();
        assert_eq!(comments.len(), 1);
        assert_eq!(comments[0]["text"], "tried root/admin and pi/raspberry");
        assert_eq!(comments[0]["user"], "alice");
        assert!(shaped(comments[0]["created_at"].as_str().unwrap(), "9999-99-99T99:99:99Z"));
        assert_eq!(read[2], json!([]));
        assert_eq!(read[3], 200);
        let feeds = read[4].as_array().unwrap();
        assert_eq!(feeds.len(), 1, "scratch is gone: {feeds:?}");
        assert_eq!(feeds[0]["name"], "ssh-scanners");
        assert_eq!(feeds[0]["indicators_count"], 2);

        // The library's create: an upsert of an existing value answers 200 with count 2.
        let upserted = sdk.python(r#"
print(json.dumps(csirtgsdk.indicator_create('alice/ssh-scanners',
    {'indicator': '198.51.100.23', 'tags': 'honeypot', 'comment': 'again', 'portlist': 2222})))
"#);
        assert_eq!(upserted["id"], v4);
        assert_eq!(upserted["count"], 2);
        assert_eq!(upserted["portlist"], "2222", "an integer port (§9 item 11)");
        assert_eq!(upserted["tags"], json!(["scanner", "ssh", "honeypot"]));
        assert_eq!(upserted["comments_count"], 2);
        assert_eq!(upserted["lasttime"], "2026-11-20T07:55:12Z", "kept: the submission had none");
    }

    fn the_sdk_raises_its_own_exceptions_for_errors(app) {
        let alice = app.user_with_token("alice");
        create_feed(&app, &alice, "ssh-scanners");
        let Some(sdk) = Sdk::find(&app, &alice) else { return };
        let outcomes = sdk.python(r#"
print(json.dumps([
    attempt(lambda: Indicator({'user': 'alice', 'feed': 'nosuch', 'indicator': '198.51.100.9'}).submit()),
    attempt(lambda: Indicator({'user': 'bob', 'feed': 'ssh-scanners', 'indicator': '198.51.100.9'}).submit()),
    attempt(lambda: Indicator({'user': 'alice', 'feed': 'ssh-scanners', 'indicator': '198.51.100.9', 'portlist': '70000'}).submit()),
    attempt(lambda: Feed().show('alice', 'nosuch')),
    attempt(lambda: Search().search('198.51.100.9')),
]))
"#);
        // Creating into a missing feed or user is NotFound (§9 item 29); a 422 is
        // SubmissionFailed; a search without hits is [] (§9 item 19).
        assert_eq!(outcomes, json!(["NotFound", "NotFound", "SubmissionFailed", "NotFound", []]));
        let feed = app.get_as(&alice, "/api/users/alice/feeds/ssh-scanners").json();
        assert_eq!(feed["feed"]["indicators_count"], 0, "nothing was written");

        // Without CSIRTG_TOKEN the SDK sends `Token token=None`: a 401, never anonymous
        // (§9 item 23); the same for an unknown token. The CLI refuses to start without one.
        let anonymous = sdk.with_token(None);
        let unknown = sdk.with_token(Some("fg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        let probe = "print(json.dumps(attempt(lambda: Search().search('198.51.100.9'))))";
        assert_eq!(anonymous.python(probe), "AuthError");
        assert_eq!(unknown.python(probe), "AuthError");
        let run = unknown.cli(&["--search", "198.51.100.9"]);
        assert_ne!(run.code, 0);
        assert!(run.stderr.contains("AuthError"), "{}", run.stderr);
        let run = anonymous.cli(&["--search", "198.51.100.9"]);
        assert!(run.stdout.contains("export CSIRTG_TOKEN="), "{}", run.stdout);
    }
}
