//! `feedgate shadowserver pull` against a local stand-in for the Reports API (spec
//! `shadowserver.md` §1.4, §5, §5.7): signing, date ranges, the 1,000-entry split, `--type`,
//! retries, API errors, failed downloads, percent-encoded ids, `--dry-run`, and that no
//! credential, signature or report id reaches the output. Nothing here touches the network.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};

use feedgate::db;
use feedgate::import::shadowserver::sign::{hmac2, verify_hmac2};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::imports::{assert_consistent, feed_id, sample, stored_counts, user_and_feed};

pub(crate) const TEST_KEY: &str = "test-key-123";
pub(crate) const TEST_SECRET: &str = "test-secret-456";
/// The largest answer of `reports/list` (§5.3).
const LIST_CAP: usize = 1000;
/// The five 2020-08-02 entries of `api/intelmq-reports-list.json`, in processing order.
const INTELMQ_TYPES: [&str; 5] = [
    "cisco_smart_install",
    "scan_adb",
    "scan_ldap_tcp",
    "scan_rsync",
    "scan_smb",
];
/// The ids the stand-in gives the `report_list.json` entries holding `?` and `/` (§5.7).
const QUERY_ID: &str = "dl?id=blocklist&day=2024-01-04";
const SLASH_ID: &str = "2024-01-04/device_id";

/// The id of a report type's 2020-08-02 entry, under a lock already held.
fn id_unlocked(state: &State, report_type: &str) -> String {
    state
        .entries
        .iter()
        .find(|e| e["type"] == report_type && e["timestamp"] == "2020-08-02")
        .map(|e| e["id"].as_str().unwrap().to_string())
        .unwrap()
}

/// An injected answer to the next `reports/list` request.
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    /// This status with an empty JSON object and, when given, `Retry-After`.
    Status(u16, Option<u32>),
    /// Close the connection without answering.
    Close,
    /// This status and body.
    Answer(u16, String),
    /// A 200 answer whose `Content-Length` promises more than the body sent.
    Short(String),
}

/// One `reports/list` request as the stand-in saw it.
#[derive(Debug, Clone)]
pub(crate) struct ListRequest {
    body: String,
    user_agent: String,
    content_type: String,
    accept: String,
}

impl ListRequest {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// What the stand-in serves, what it was asked, and the failures it is told to inject.
#[derive(Default)]
pub(crate) struct State {
    /// List entries as served.
    pub(crate) entries: Vec<Value>,
    /// Report id → sample file (relative to the data directory).
    samples: HashMap<String, String>,
    /// Answers for the next list requests, before any check.
    pub(crate) faults: VecDeque<Fault>,
    /// Answers for the next requests of the other methods, before any check.
    pub(crate) call_faults: VecDeque<Fault>,
    /// The `reports/stats` rows served: (date, type, events).
    pub(crate) stats: Vec<(String, String, i64)>,
    /// Rows `reports/query` searches.
    pub(crate) query_rows: Vec<Value>,
    /// Ids whose download answers this body instead of the report.
    pub(crate) bodies: HashMap<String, String>,
    /// Every request of the other methods: (method, body).
    pub(crate) calls: Vec<(String, Value)>,
    /// Ids whose download answers 404.
    pub(crate) missing: HashSet<String>,
    /// Ids whose download sends half the report, then nothing for three seconds.
    stalled: HashSet<String>,
    /// Id → `Location` of a 302 answer to its download.
    redirects: HashMap<String, String>,
    /// Entries without an `id` (so never downloaded) served first for a day: (day, count).
    fillers: Vec<(String, usize)>,
    /// Serve entries without their `type` (older answers).
    untyped: bool,
    /// Every list request, faulted ones included.
    lists: Vec<ListRequest>,
    /// The raw path of every download request.
    pub(crate) downloads: Vec<String>,
}

/// A stand-in for the Reports API (spec §5.7) on `127.0.0.1:0`: `POST /reports/list` answers
/// injected faults first, then checks the `HMAC2` of the raw body and the key (401
/// `{"error":"Invalid HMAC"}`), filters its entries by `date` and `reports` and answers at
/// most 1,000; `GET /dl/<id>` decodes one path segment and serves the mapped sample (404 for
/// unknown ids). Its entries: `api/intelmq-reports-list.json` (2020-08-02) and
/// `opencti-json/report_list.json` (2024-01-04, given distinct ids, one with `?`, one with `/`).
pub(crate) struct StandIn {
    pub(crate) port: u16,
    state: Arc<Mutex<State>>,
}

impl StandIn {
    pub(crate) fn start() -> StandIn {
        let mut state = State::default();
        let intelmq: Vec<Value> =
            serde_json::from_slice(&sample("api/intelmq-reports-list.json")).unwrap();
        for e in intelmq {
            let id = e["id"].as_str().unwrap().to_string();
            let t = e["type"].as_str().unwrap();
            let rel = if t == "cisco_smart_install" {
                "intelmq-legacy/cisco_smart_install.csv".to_string()
            } else {
                format!("intelmq-testdata/{t}.csv")
            };
            state.samples.insert(id, rel);
            state.entries.push(e);
        }
        let opencti: Vec<Value> =
            serde_json::from_slice(&sample("opencti-json/report_list.json")).unwrap();
        for mut e in opencti {
            let t = e["type"].as_str().unwrap().to_string();
            let id = match t.as_str() {
                "blocklist" => QUERY_ID.to_string(),
                "device_id" => SLASH_ID.to_string(),
                _ => format!("opencti-{t}-2024-01-04"),
            };
            e["id"] = Value::from(id.clone());
            state
                .samples
                .insert(id, format!("opencti-json/report_type_{t}.json"));
            state.entries.push(e);
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(state));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                serve(stream, &shared);
            }
        });
        StandIn { port, state }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub(crate) fn id_of(&self, report_type: &str, day: &str) -> String {
        self.state()
            .entries
            .iter()
            .find(|e| e["type"] == report_type && e["timestamp"] == day)
            .map(|e| e["id"].as_str().unwrap().to_string())
            .unwrap()
    }

    /// (list requests, downloads) so far.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let s = self.state();
        (s.lists.len(), s.downloads.len())
    }

    pub(crate) fn lists(&self) -> Vec<ListRequest> {
        self.state().lists.clone()
    }

    /// The `date` of every list request so far.
    fn dates(&self) -> Vec<String> {
        self.lists()
            .iter()
            .map(|r| r.json()["date"].as_str().unwrap().to_string())
            .collect()
    }

    /// Runs `feedgate shadowserver pull` with the test credentials against the stand-in.
    pub(crate) fn pull(&self, db: &TestDb, extra: &[&str]) -> (i32, String, String) {
        self.pull_with(db, Some((TEST_KEY, TEST_SECRET)), &self.urls(), &[], extra)
    }

    pub(crate) fn urls(&self) -> [String; 2] {
        [
            format!("http://127.0.0.1:{}/", self.port),
            // Without the trailing `/`, which the client adds (§5.1).
            format!("http://127.0.0.1:{}/dl", self.port),
        ]
    }

    /// Runs the pull with these credentials and base URLs, logging at `trace`, and checks
    /// that no key, secret, signature or report id appears on stdout or stderr (§5.1).
    fn pull_with(
        &self,
        db: &TestDb,
        credentials: Option<(&str, &str)>,
        urls: &[String; 2],
        envs: &[(&str, &str)],
        extra: &[&str],
    ) -> (i32, String, String) {
        let mut args = vec!["pull", "--user", "alice", "--feed", "scans"];
        args.extend(["--download-url", urls[1].as_str()]);
        args.extend(extra);
        self.command_with(db, credentials, &urls[0], envs, &args)
    }

    /// Runs `feedgate shadowserver ARGS` with the test credentials against the stand-in.
    pub(crate) fn command(&self, db: &TestDb, args: &[&str]) -> (i32, String, String) {
        let api = self.urls()[0].clone();
        self.command_with(db, Some((TEST_KEY, TEST_SECRET)), &api, &[], args)
    }

    /// Runs `feedgate shadowserver ARGS` with these credentials and API URL, logging at
    /// `trace`, and checks that no key, secret, signature or report id appears on stdout or
    /// stderr (§5.1).
    pub(crate) fn command_with(
        &self,
        db: &TestDb,
        credentials: Option<(&str, &str)>,
        api: &str,
        envs: &[(&str, &str)],
        args: &[&str],
    ) -> (i32, String, String) {
        let mut cmd = Binary::command(&db.url);
        cmd.env_remove("SHADOWSERVER_API_KEY")
            .env_remove("SHADOWSERVER_API_SECRET")
            .env_remove("SHADOWSERVER_API_URL")
            .env_remove("SHADOWSERVER_DOWNLOAD_URL")
            .env("FEEDGATE_LOG", "trace")
            .envs(envs.iter().copied());
        if let Some((key, secret)) = credentials {
            cmd.env("SHADOWSERVER_API_KEY", key)
                .env("SHADOWSERVER_API_SECRET", secret);
        }
        cmd.arg("shadowserver")
            .args(&args[..1])
            .args(["--api-url", api])
            .args(&args[1..]);
        let out = cmd.output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        let mut secrets = vec![TEST_KEY.to_string(), TEST_SECRET.to_string()];
        if let Some((key, secret)) = credentials {
            secrets.extend([key.to_string(), secret.to_string()]);
            for r in self.lists() {
                secrets.push(hmac2(secret, r.body.as_bytes()));
            }
            for (_, body) in self.state().calls.clone() {
                secrets.push(hmac2(secret, body.to_string().as_bytes()));
            }
        }
        for e in &self.state().entries {
            let id = e["id"].as_str().unwrap();
            secrets.extend([
                id.to_string(),
                feedgate::import::shadowserver::client::encode_segment(id),
            ]);
        }
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            assert!(
                !stdout.contains(s.as_str()) && !stderr.contains(s.as_str()),
                "{s:?} appears in the output:\n{stdout}\n{stderr}"
            );
        }
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }
}

/// Answers one connection (`Connection: close`).
fn serve(mut stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    let length = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0usize);
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let header = |name: &str| headers.get(name).cloned().unwrap_or_default();
    let mut state = state.lock().unwrap();
    let (status, extra, answer): (u16, String, Vec<u8>) = if method == "POST"
        && path == "/reports/list"
    {
        state.lists.push(ListRequest {
            body: String::from_utf8_lossy(&body).into_owned(),
            user_agent: header("user-agent"),
            content_type: header("content-type"),
            accept: header("accept"),
        });
        match state.faults.pop_front() {
            Some(Fault::Close | Fault::Short(_)) => return,
            Some(fault) => fault_answer(fault),
            None => list(&state, &body, &header("hmac2")),
        }
    } else if method == "POST" && path.starts_with("/reports/") {
        let name = path.trim_start_matches("/reports/").to_string();
        state.calls.push((
            name.clone(),
            serde_json::from_slice(&body).unwrap_or_default(),
        ));
        match state.call_faults.pop_front() {
            Some(Fault::Close) => return,
            Some(Fault::Short(text)) => {
                drop(state);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
                    text.len() + 100
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(text.as_bytes());
                return;
            }
            Some(fault) => fault_answer(fault),
            None => method_answer(&state, &name, &body, &header("hmac2")),
        }
    } else if let Some(rest) = path.strip_prefix("/dl/") {
        state.downloads.push(path.to_string());
        // A server sees the query and further segments as such: an id sent unencoded
        // reaches it cut at `?` or split at `/`, and is not found.
        let segment = rest.split_once('?').map_or(rest, |(p, _)| p);
        let id = (!segment.contains('/'))
            .then(|| percent_decode(segment))
            .flatten();
        if let Some(text) = id.as_ref().and_then(|id| state.bodies.get(id)) {
            (200, String::new(), text.clone().into_bytes())
        } else if let Some(location) = id.as_ref().and_then(|id| state.redirects.get(id)) {
            let extra = format!("Location: {location}\r\n");
            (302, extra, Vec::new())
        } else {
            let stalls = id.as_ref().is_some_and(|id| state.stalled.contains(id));
            match id
                .filter(|id| !state.missing.contains(id))
                .and_then(|id| state.samples.get(&id))
            {
                Some(rel) if stalls => {
                    let body = sample(rel);
                    drop(state);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(&body[..body.len() / 2]);
                    let _ = stream.flush();
                    // Held open on its own thread; the next requests are answered.
                    std::thread::spawn(move || {
                        std::thread::sleep(std::time::Duration::from_secs(3));
                        drop(stream);
                    });
                    return;
                }
                Some(rel) => (200, String::new(), sample(rel)),
                None => (404, String::new(), b"not found".to_vec()),
            }
        }
    } else {
        (404, String::new(), b"not found".to_vec())
    };
    drop(state);
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/json\r\n{extra}Connection: close\r\n\r\n",
        answer.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&answer);
}

/// The `reports/list` answer for a signed request.
fn list(state: &State, body: &[u8], signature: &str) -> (u16, String, Vec<u8>) {
    let request: Value = serde_json::from_slice(body).unwrap_or_default();
    if !verify_hmac2(TEST_SECRET, body, signature) || request["apikey"] != TEST_KEY {
        return (401, String::new(), br#"{"error":"Invalid HMAC"}"#.to_vec());
    }
    let date = request["date"].as_str().unwrap_or_default();
    let (from, to) = date.split_once(':').unwrap_or((date, date));
    let in_range = |t: &str| t >= from && t <= to;
    let lists: Option<Vec<&str>> = request["reports"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let mut hits: Vec<Value> = Vec::new();
    for (day, n) in &state.fillers {
        if in_range(day) {
            hits.extend(
                (0..*n).map(|i| json!({"file": format!("{day}-filler-{i}.csv"), "timestamp": day})),
            );
        }
    }
    for e in &state.entries {
        let listed = lists
            .as_ref()
            .is_none_or(|l| l.contains(&e["report"].as_str().unwrap_or_default()));
        if in_range(e["timestamp"].as_str().unwrap_or_default()) && listed {
            let mut e = e.clone();
            if state.untyped {
                e.as_object_mut().unwrap().remove("type");
            }
            hits.push(e);
        }
    }
    hits.truncate(LIST_CAP);
    (200, String::new(), serde_json::to_vec(&hits).unwrap())
}

/// The answer an injected `Status` or `Answer` fault gives.
fn fault_answer(fault: Fault) -> (u16, String, Vec<u8>) {
    match fault {
        Fault::Status(status, retry_after) => {
            let extra = retry_after
                .map(|s| format!("Retry-After: {s}\r\n"))
                .unwrap_or_default();
            (status, extra, b"{}".to_vec())
        }
        Fault::Answer(status, text) => (status, String::new(), text.into_bytes()),
        Fault::Close | Fault::Short(_) => (500, String::new(), Vec::new()),
    }
}

/// The answer of `reports/subscribed`, `types`, `stats`, `query` or `download` for a signed
/// request; 401 `Invalid HMAC` otherwise, 404 for another method.
fn method_answer(
    state: &State,
    name: &str,
    body: &[u8],
    signature: &str,
) -> (u16, String, Vec<u8>) {
    let request: Value = serde_json::from_slice(body).unwrap_or_default();
    if !verify_hmac2(TEST_SECRET, body, signature) || request["apikey"] != TEST_KEY {
        return (401, String::new(), br#"{"error":"Invalid HMAC"}"#.to_vec());
    }
    let distinct = |key: &str| -> Vec<String> {
        let mut v: Vec<String> = state
            .entries
            .iter()
            .filter_map(|e| e[key].as_str().map(str::to_string))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let answer = match name {
        "subscribed" => json!(distinct("report")),
        "types" => json!(distinct("type")),
        "stats" => {
            let date = request["date"].as_str().unwrap_or_default();
            let (from, to) = date.split_once(':').unwrap_or((date, date));
            // `now` is today, `-N` N days before it.
            let today = chrono::Utc::now().date_naive();
            let day = |s: &str| match s.strip_prefix('-') {
                _ if s == "now" => today.to_string(),
                Some(n) => (today - chrono::Duration::days(n.parse().unwrap_or(0))).to_string(),
                None => s.to_string(),
            };
            let (from, to) = (day(from), day(to));
            let (from, to) = (from.as_str(), to.as_str());
            let mut table = vec![json!(["date", "type", "events"])];
            for (d, t, n) in &state.stats {
                if date.is_empty() || (d.as_str() >= from && d.as_str() <= to) {
                    table.push(json!([d, t, n]));
                }
            }
            Value::Array(table)
        }
        "query" => {
            let q = request["query"].as_object().cloned().unwrap_or_default();
            let matches = |row: &Value| {
                q.iter().all(|(k, v)| {
                    let want = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    row[k]
                        .as_str()
                        .map_or_else(|| row[k].to_string(), str::to_string)
                        .eq_ignore_ascii_case(&want)
                })
            };
            let hits: Vec<&Value> = state.query_rows.iter().filter(|r| matches(r)).collect();
            if let Some(field) = request["facet"].as_str() {
                let mut counts: Vec<(String, u64)> = Vec::new();
                for r in &hits {
                    let values: Vec<String> = match &r[field] {
                        Value::Array(a) => a
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect(),
                        Value::String(s) => vec![s.clone()],
                        _ => vec![],
                    };
                    for v in values {
                        match counts.iter_mut().find(|(k, _)| *k == v) {
                            Some((_, n)) => *n += 1,
                            None => counts.push((v, 1)),
                        }
                    }
                }
                counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                Value::Array(
                    counts
                        .into_iter()
                        .map(|(k, n)| json!({ field: k, "count": n }))
                        .collect(),
                )
            } else {
                let limit = request["limit"].as_u64().unwrap_or(1000) as usize;
                let page = request["page"].as_u64().unwrap_or(1) as usize;
                json!(
                    hits.into_iter()
                        .skip((page - 1) * limit)
                        .take(limit)
                        .collect::<Vec<_>>()
                )
            }
        }
        "download" => {
            let id = request["id"].as_str().unwrap_or_default();
            let Some(rel) = state
                .samples
                .get(id)
                .filter(|_| !state.missing.contains(id))
            else {
                return (
                    200,
                    String::new(),
                    br#"{"error":"no such report"}"#.to_vec(),
                );
            };
            let mut rows: Vec<Value> = serde_json::from_slice(&sample(rel)).unwrap_or_default();
            if let Some(limit) = request["limit"].as_u64() {
                rows.truncate(limit as usize);
            }
            Value::Array(rows)
        }
        _ => return (404, String::new(), b"not found".to_vec()),
    };
    (200, String::new(), serde_json::to_vec(&answer).unwrap())
}

/// Strict percent-decoding of one path segment; `None` when malformed or not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses a `--json` summary and checks the identity of §1.5 in it.
fn parse_summary(out: &str) -> Value {
    let summary: Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_consistent(&summary);
    summary
}

/// The file entry of a report type.
fn file_of<'a>(summary: &'a Value, report_type: &str) -> &'a Value {
    summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["report_type"] == report_type)
        .unwrap_or_else(|| panic!("no {report_type} in {summary}"))
}

/// A user `alice` (no indicator quota) with a public feed `scans`, made in the database.
fn alice_with_feed(db: &TestDb) {
    user_and_feed(db, "alice", "scans");
}

/// What the pull leaves in the database for alice's `scans`: (indicator rows, distinct
/// import keys, ledger files, recorded report ids).
fn stored(db: &TestDb) -> (i64, i64, i64, i64) {
    use diesel::prelude::*;
    use feedgate::db::schema::{import_files, import_reports};
    let (rows, keys) = stored_counts(db, "alice", "scans");
    let pool = db::connect(&db.parsed(), db::PoolOptions::default()).unwrap();
    let mut conn = pool.get().unwrap();
    let feed = feed_id(&mut conn, "alice", "scans");
    let files: i64 = import_files::table
        .filter(import_files::feed_id.eq(feed))
        .count()
        .get_result(&mut conn)
        .unwrap();
    let reports: i64 = import_reports::table
        .filter(import_reports::feed_id.eq(feed))
        .count()
        .get_result(&mut conn)
        .unwrap();
    (rows, keys, files, reports)
}

const RANGE_2020: [&str; 5] = ["--from", "2020-08-01", "--to", "2020-08-03", "--json"];

both_databases! {
    fn the_pull_imports_the_listed_reports_once(db) {
        alice_with_feed(&db);
        let api = StandIn::start();

        let (code, out, err) = api.pull(&db, &RANGE_2020);
        assert_eq!(code, 0, "{out}{err}");
        let summary = parse_summary(&out);
        assert_eq!(summary["reports_listed"], 5);
        assert_eq!(summary["files_imported"], 5, "{summary}");
        assert_eq!(summary["indicators_created"], 13, "{summary}");
        for (t, n) in INTELMQ_TYPES.iter().zip([2, 2, 3, 3, 3]) {
            let f = file_of(&summary, t);
            assert_eq!(f["status"], "imported", "{f}");
            assert_eq!(f["indicators_created"], n, "{f}");
        }
        assert_eq!(file_of(&summary, "cisco_smart_install")["rule"], "generic");
        assert_eq!(api.counts(), (1, 5));
        assert_eq!(stored(&db), (13, 13, 5, 5));

        // Again: every id is known, nothing is downloaded, nothing changes.
        let (code, out, err) = api.pull(&db, &RANGE_2020);
        assert_eq!(code, 0, "{err}");
        let summary = parse_summary(&out);
        assert_eq!(summary["files_skipped_already_imported"], 5, "{summary}");
        assert_eq!(summary["indicators_created"], 0);
        assert_eq!(summary["indicators_unchanged"], 13);
        assert_eq!(api.counts(), (2, 5), "no second download");
        assert_eq!(stored(&db), (13, 13, 5, 5));
    }

    fn the_opencti_listing_of_2024_01_04_imports_its_twelve_reports(db) {
        alice_with_feed(&db);
        let api = StandIn::start();
        let (code, out, err) = api.pull(&db, &["--from", "2024-01-04", "--to", "2024-01-04", "--reports", "company", "--json"]);
        assert_eq!(code, 0, "{out}{err}");
        let summary = parse_summary(&out);
        assert_eq!(summary["reports_listed"], 12, "{summary}");
        assert_eq!(summary["files_imported"], 12, "{summary}");
        assert_eq!(summary["files_failed"], 0);
        assert_eq!(summary["rows_read"], 42);
        assert_eq!(summary["indicators_created"], 35, "{summary}");
        assert_eq!(summary["rows_skipped"], json!({"invalid_value": 7}));
        // The content decides the format (JSON behind `.csv` names), the entry the type.
        for f in summary["files"].as_array().unwrap() {
            assert_eq!(f["format"], "json", "{f}");
            let t = f["report_type"].as_str().unwrap();
            assert_eq!(f["name"], format!("2024-01-04-{t}-company-ip.csv"));
            if ["scan_cwmp", "scan_http", "scan_vnc"].contains(&t) {
                assert_eq!(f["indicators_created"], 0, "{f}");
                assert_eq!(f["rows_skipped"]["invalid_value"], f["rows_read"], "{f}");
            } else {
                assert_eq!(f["indicators_created"], f["rows_read"], "{f}");
            }
        }
        assert_eq!(file_of(&summary, "blocklist")["indicators_created"], 5);
        assert_eq!(file_of(&summary, "device_id")["indicators_created"], 20);
        assert_eq!(summary["files"].as_array().unwrap().len(), 12);
        assert_eq!(api.lists()[0].json(), json!({"apikey": TEST_KEY, "date": "2024-01-04", "reports": ["company"]}));
        assert_eq!(api.counts(), (1, 12));
        assert_eq!(stored(&db), (35, 35, 12, 12));

        let (code, out, _) = api.pull(&db, &["--from", "2024-01-04", "--to", "2024-01-04", "--reports", "company", "--json"]);
        assert_eq!(code, 0);
        assert_eq!(parse_summary(&out)["files_skipped_already_imported"], 12);
        assert_eq!(api.counts(), (2, 12));
        assert_eq!(stored(&db), (35, 35, 12, 12));
    }

    fn ids_holding_question_marks_and_slashes_are_sent_as_one_encoded_segment(db) {
        alice_with_feed(&db);
        let api = StandIn::start();
        let (code, out, err) = api.pull(&db, &["--from", "2024-01-04", "--to", "2024-01-04", "--type", "blocklist,device_id", "--json"]);
        assert_eq!(code, 0, "{out}{err}");
        let summary = parse_summary(&out);
        assert_eq!(summary["files_imported"], 2, "{summary}");
        assert_eq!(summary["indicators_created"], 25);
        let mut paths = api.state().downloads.clone();
        paths.sort();
        assert_eq!(paths, [
            "/dl/2024-01-04%2Fdevice_id",
            "/dl/dl%3Fid%3Dblocklist%26day%3D2024-01-04",
        ]);
    }

    fn the_list_request_is_signed_and_carries_the_date_range_and_list_names(db) {
        alice_with_feed(&db);
        let api = StandIn::start();
        let today = || chrono::Utc::now().date_naive();
        let before = today();
        let (code, out, err) = api.pull(&db, &["--json"]);
        let after = today();
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(parse_summary(&out)["reports_listed"], 0);
        let (code, _, err) = api.pull(&db, &["--from", "2020-08-02", "--to", "2020-08-02", "--reports", "anarres@shadowserver.org,other", "--dry-run"]);
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = api.pull(&db, &["--from", "2020-08-01", "--to", "2020-08-03", "--dry-run"]);
        assert_eq!(code, 0, "{err}");

        let lists = api.lists();
        assert_eq!(lists.len(), 3);
        let default_range = |d: chrono::NaiveDate| format!("{}:{d}", d - chrono::Duration::days(2));
        let date = lists[0].json()["date"].as_str().unwrap().to_string();
        assert!(date == default_range(before) || date == default_range(after), "{date}");
        assert_eq!(lists[0].json(), json!({"apikey": TEST_KEY, "date": date, "reports": ["anarres@shadowserver.org", "company"]}), "every subscribed list without --reports");
        assert_eq!(lists[1].json(), json!({"apikey": TEST_KEY, "date": "2020-08-02", "reports": ["anarres@shadowserver.org", "other"]}));
        assert_eq!(lists[2].body, format!(r#"{{"apikey":"{TEST_KEY}","date":"2020-08-01:2020-08-03","reports":["anarres@shadowserver.org","company"]}}"#), "compact");
        assert_eq!(api.state().calls.iter().filter(|(m, _)| m == "subscribed").count(), 2, "asked once per pull without --reports");
        for r in &lists {
            assert_eq!(r.content_type, "application/json");
            assert_eq!(r.accept, "application/json");
            assert_eq!(r.user_agent, format!("feedgate/{}", env!("CARGO_PKG_VERSION")));
        }

        // --from after --to: refused before any request.
        let (code, _, err) = api.pull(&db, &["--from", "2020-08-03", "--to", "2020-08-01"]);
        assert_eq!(code, 1);
        assert!(err.contains("--from"), "{err}");
        assert_eq!(api.counts(), (3, 0));
        assert_eq!(stored(&db), (0, 0, 0, 0));
    }

    fn a_range_answered_with_1000_entries_is_asked_again_one_day_at_a_time(db) {
        alice_with_feed(&db);
        let api = StandIn::start();
        // 1,200 entries in the range: the answer is cut at 1,000, fillers first, so the
        // five real reports are only in the per-day answers.
        api.state().fillers = vec![("2020-08-01".into(), 600), ("2020-08-03".into(), 600)];
        let (code, out, err) = api.pull(&db, &RANGE_2020);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(api.dates(), ["2020-08-01:2020-08-03", "2020-08-01", "2020-08-02", "2020-08-03"]);
        let summary = parse_summary(&out);
        assert_eq!(summary["files_imported"], 5, "{summary}");
        assert_eq!(summary["indicators_created"], 13);
        assert_eq!(summary["warnings"], json!({"invalid_list_entries": 1200}), "{summary}");
        assert_eq!(stored(&db).0, 13);

        // One day alone reaching 1,000: used as it is, with `list_truncated`.
        api.state().fillers = vec![("2020-08-01".into(), 1500)];
        let (code, out, err) = api.pull(&db, &RANGE_2020);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(api.dates()[4..], ["2020-08-01:2020-08-03", "2020-08-01", "2020-08-02", "2020-08-03"]);
        let summary = parse_summary(&out);
        assert_eq!(summary["warnings"], json!({"invalid_list_entries": 1000, "list_truncated": 1}), "{summary}");
        assert_eq!(summary["files_skipped_already_imported"], 5);

        // A single day at the cap: one request, nothing to split.
        let (code, out, _) = api.pull(&db, &["--from", "2020-08-01", "--to", "2020-08-01", "--json"]);
        assert_eq!(code, 0);
        assert_eq!(api.dates()[8..], ["2020-08-01"]);
        assert_eq!(parse_summary(&out)["warnings"]["list_truncated"], 1);
    }

    fn type_filters_keep_only_the_listed_report_types(db) {
        alice_with_feed(&db);
        let api = StandIn::start();
        let (code, out, err) = api.pull(&db, &["--from", "2020-08-02", "--to", "2020-08-02", "--type", "scan_smb", "--json"]);
        assert_eq!(code, 0, "{out}{err}");
        let summary = parse_summary(&out);
        assert_eq!(summary["files_imported"], 1, "{summary}");
        assert_eq!(file_of(&summary, "scan_smb")["indicators_created"], 3);
        assert_eq!(api.counts(), (1, 1));
        let smb = api.id_of("scan_smb", "2020-08-02");
        assert_eq!(api.state().downloads, [format!("/dl/{smb}")]);

        // Entries without `type` (older answers): the file name decides; case is ignored.
        api.state().untyped = true;
        let (code, out, err) = api.pull(&db, &["--from", "2020-08-02", "--to", "2020-08-02", "--type", "SCAN_ADB,scan_rsync", "--json"]);
        assert_eq!(code, 0, "{out}{err}");
        let summary = parse_summary(&out);
        assert_eq!(summary["files_imported"], 2, "{summary}");
        assert_eq!(file_of(&summary, "scan_adb")["indicators_created"], 2);
        assert_eq!(file_of(&summary, "scan_rsync")["indicators_created"], 3);
        assert_eq!(api.counts(), (2, 3));
        assert_eq!(stored(&db), (8, 8, 3, 3));

        // A malformed type: refused before any request.
        let (code, _, err) = api.pull(&db, &["--type", "scan-smb!"]);
        assert_eq!(code, 1);
        assert!(err.contains("--type"), "{err}");
        assert_eq!(api.counts(), (2, 3));
    }

    fn api_errors_end_the_run_with_exit_1_and_write_nothing(db) {
        alice_with_feed(&db);
        let api = StandIn::start();

        // No credentials: exit 1 naming the variable, before any request.
        let (code, _, err) = api.pull_with(&db, None, &api.urls(), &[], &RANGE_2020);
        assert_eq!(code, 1);
        assert!(err.contains("SHADOWSERVER_API_KEY"), "{err}");
        let (code, _, err) = api.pull_with(&db, Some((TEST_KEY, "")), &api.urls(), &[], &RANGE_2020);
        assert_eq!(code, 1);
        assert!(err.contains("SHADOWSERVER_API_SECRET"), "{err}");
        assert_eq!(api.counts(), (0, 0));

        // A wrong secret, then a wrong key: rejected credentials with the server's text.
        for creds in [(TEST_KEY, "wrong-secret-789"), ("wrong-key-000", TEST_SECRET)] {
            let (code, out, err) = api.pull_with(&db, Some(creds), &api.urls(), &[], &RANGE_2020);
            assert_eq!(code, 1, "{out}{err}");
            assert!(err.contains("rejected the credentials") && err.contains("401") && err.contains("Invalid HMAC"), "{err}");
            assert!(out.is_empty(), "{out}");
        }

        // A 200 answer that is an `error` object, one that is not an array, another status.
        let faults = [
            (Fault::Answer(200, r#"{"error":"unknown report list 'nosuch'"}"#.into()), "unknown report list 'nosuch'"),
            (Fault::Answer(200, r#"{"result":[]}"#.into()), "not a JSON array"),
            (Fault::Answer(200, "<html>maintenance</html>".into()), "not a JSON array"),
            (Fault::Answer(403, r#"{"error":"apikey disabled"}"#.into()), "apikey disabled"),
            (Fault::Answer(400, r#"{"error":"bad date"}"#.into()), "HTTP 400: bad date"),
        ];
        for (fault, text) in faults {
            let before = api.counts().0;
            api.state().faults.push_back(fault);
            let (code, out, err) = api.pull(&db, &RANGE_2020);
            assert_eq!(code, 1, "{out}{err}");
            assert!(err.contains(text), "{text:?} not in {err}");
            assert!(out.is_empty(), "{out}");
            assert_eq!(api.counts().0, before + 1, "not retried");
        }
        assert_eq!(api.counts().1, 0, "no download");
        assert_eq!(stored(&db), (0, 0, 0, 0));

        // Plain http to a host that is not loopback: refused before any request.
        let lists = api.counts().0;
        let [api_url, dl_url] = api.urls();
        for urls in [["http://example.org/api2/".to_string(), dl_url], [api_url, "http://dl.example.org/".to_string()]] {
            let (code, _, err) = api.pull_with(&db, Some((TEST_KEY, TEST_SECRET)), &urls, &[], &RANGE_2020);
            assert_eq!(code, 1);
            assert!(err.contains("https"), "{err}");
        }
        assert_eq!(api.counts(), (lists, 0));
    }

    fn the_list_is_retried_on_5xx_and_dropped_connections_then_given_up(db) {
        alice_with_feed(&db);
        let api = StandIn::start();
        // Two failures (the first waits the default second), then an answer.
        api.state().faults.extend([Fault::Close, Fault::Status(503, Some(0))]);
        let (code, out, err) = api.pull(&db, &RANGE_2020);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(parse_summary(&out)["files_imported"], 5);
        assert_eq!(api.counts(), (3, 5));
        let lists = api.lists();
        assert!(lists.iter().all(|r| r.body == lists[0].body), "the same bytes each time");

        // 429 and the other retried statuses; three attempts at most, then exit 1.
        for statuses in [[429, 500, 502], [504, 503, 503]] {
            let before = api.counts().0;
            {
                let mut s = api.state();
                s.faults.extend(statuses.iter().map(|&st| Fault::Status(st, Some(0))));
                // A fourth fault that must not be reached.
                s.faults.push_back(Fault::Status(500, Some(0)));
            }
            let (code, out, err) = api.pull(&db, &RANGE_2020);
            assert_eq!(code, 1, "{out}{err}");
            assert!(err.contains(&format!("HTTP {}", statuses[2])), "{err}");
            assert_eq!(api.counts().0, before + 3, "three attempts");
            assert_eq!(api.state().faults.len(), 1);
            api.state().faults.clear();
        }
        // Connections dropped three times: a transport error, exit 1.
        api.state().faults.extend([Fault::Close, Fault::Status(502, Some(0)), Fault::Close]);
        let (code, _, err) = api.pull(&db, &RANGE_2020);
        assert_eq!(code, 1);
        assert!(err.contains("cannot reach the Reports API"), "{err}");
        assert_eq!(api.counts(), (12, 5));
        assert_eq!(stored(&db), (13, 13, 5, 5));
    }

    fn a_404_download_fails_that_report_only_and_the_next_pull_fetches_just_it(db) {
        alice_with_feed(&db);
        let api = StandIn::start();
        let adb = api.id_of("scan_adb", "2020-08-02");
        api.state().missing.insert(adb.clone());
        let (code, out, err) = api.pull(&db, &RANGE_2020);
        assert_eq!(code, 2, "{out}{err}");
        let summary = parse_summary(&out);
        assert_eq!(summary["files_imported"], 4, "{summary}");
        assert_eq!(summary["files_failed"], 1);
        assert_eq!(summary["indicators_created"], 11);
        let failed = file_of(&summary, "scan_adb");
        assert_eq!(failed["status"], "failed_download", "{failed}");
        assert!(failed["error"]["message"].as_str().unwrap().contains("404"), "{failed}");
        assert_eq!(failed["rows_read"], 0);
        assert_eq!(api.counts(), (1, 5));
        assert_eq!(stored(&db), (11, 11, 4, 4), "the failed report is not recorded");

        api.state().missing.clear();
        let (code, out, err) = api.pull(&db, &RANGE_2020);
        assert_eq!(code, 0, "{out}{err}");
        let summary = parse_summary(&out);
        assert_eq!(summary["files_imported"], 1, "{summary}");
        assert_eq!(summary["files_skipped_already_imported"], 4);
        assert_eq!(file_of(&summary, "scan_adb")["indicators_created"], 2);
        assert_eq!(api.counts(), (2, 6), "only the failed one is fetched again");
        assert_eq!(api.state().downloads[5], format!("/dl/{adb}"));
        assert_eq!(stored(&db), (13, 13, 5, 5));
    }

    fn a_download_that_stops_sending_is_abandoned_after_the_read_timeout(db) {
        alice_with_feed(&db);
        let api = StandIn::start();
        let adb = api.id_of("scan_adb", "2020-08-02");
        api.state().stalled.insert(adb);
        let mut args = RANGE_2020.to_vec();
        args.extend(["--read-timeout", "1"]);
        let (code, out, err) = api.pull(&db, &args);
        assert_eq!(code, 2, "{out}{err}");
        let summary = parse_summary(&out);
        let failed = file_of(&summary, "scan_adb");
        assert_eq!(failed["status"], "failed_download", "{failed}");
        assert!(failed["error"]["message"].as_str().unwrap().contains("timeout"), "{failed}");
        assert_eq!(failed["rows_read"], 0, "half a report is not imported");
        assert_eq!(summary["files_imported"], 4, "{summary}");
        assert_eq!(stored(&db), (11, 11, 4, 4), "the abandoned report is not recorded");
        let (code, _, err) = api.pull(&db, &["--read-timeout", "0"]);
        assert_eq!(code, 2, "0 s is refused by the argument parser: {err}");
    }

    fn after_two_failed_downloads_the_rest_are_not_tried(db) {
        alice_with_feed(&db);
        let api = StandIn::start();
        // The first two in processing order fail.
        let ids = [api.id_of("cisco_smart_install", "2020-08-02"), api.id_of("scan_adb", "2020-08-02")];
        api.state().missing.extend(ids);
        let (code, out, err) = api.pull(&db, &RANGE_2020);
        assert_eq!(code, 2, "{out}{err}");
        let summary = parse_summary(&out);
        assert_eq!(summary["files_failed"], 5, "{summary}");
        assert_eq!(summary["files_imported"], 0);
        for t in &INTELMQ_TYPES[2..] {
            let f = file_of(&summary, t);
            assert_eq!(f["status"], "failed_download");
            assert_eq!(f["error"]["message"], "skipped after repeated download failures");
        }
        assert_eq!(api.counts(), (1, 2));
        assert_eq!(stored(&db), (0, 0, 0, 0));

        // The human-readable summary says the same, without ids.
        let (code, out, _) = api.pull(&db, &["--from", "2020-08-01", "--to", "2020-08-03"]);
        assert_eq!(code, 2);
        assert_eq!(out.matches("failed_download").count(), 5, "{out}");
    }

    fn a_dry_run_lists_without_downloading_or_writing(db) {
        alice_with_feed(&db);
        let api = StandIn::start();
        let (code, out, err) = api.pull(&db, &["--from", "2020-08-01", "--to", "2020-08-03", "--dry-run"]);
        assert_eq!(code, 0, "{out}{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        for (line, t) in lines.iter().zip(INTELMQ_TYPES) {
            assert!(line.starts_with("download") && line.contains(t), "{line}");
        }
        assert_eq!(api.counts(), (1, 0));
        assert_eq!(stored(&db), (0, 0, 0, 0));

        // After a pull that fails one download, a dry run shows four skips and one download.
        let rsync = api.id_of("scan_rsync", "2020-08-02");
        api.state().missing.insert(rsync.clone());
        let (code, _, _) = api.pull(&db, &RANGE_2020);
        assert_eq!(code, 2);
        let after_pull = stored(&db);
        assert_eq!(after_pull, (10, 10, 4, 4));
        let (code, out, err) = api.pull(&db, &["--from", "2020-08-01", "--to", "2020-08-03", "--dry-run", "--type", "scan_rsync,scan_smb"]);
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[0].starts_with("download") && lines[0].contains("scan_rsync"), "{out}");
        assert!(lines[1].starts_with("skip") && lines[1].contains("scan_smb"), "{out}");
        assert_eq!(api.counts(), (3, 5), "no download in a dry run");
        assert_eq!(stored(&db), after_pull);

        // With --json the same plan is one JSON object, without report ids.
        let (code, out, err) = api.pull(&db, &["--from", "2020-08-01", "--to", "2020-08-03", "--dry-run", "--json", "--type", "scan_rsync,scan_smb"]);
        assert_eq!(code, 0, "{err}");
        let plan: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(plan["dry_run"], true);
        let reports = plan["reports"].as_array().unwrap();
        assert_eq!(reports.len(), 2, "{plan}");
        assert_eq!((reports[0]["action"].as_str(), reports[0]["type"].as_str()), (Some("download"), Some("scan_rsync")));
        assert_eq!((reports[1]["action"].as_str(), reports[1]["already_imported"].as_bool()), (Some("skip"), Some(true)));
        assert!(!out.contains(&rsync), "no report id in the output");
        assert_eq!(api.counts(), (4, 5), "still no download");
        assert_eq!(stored(&db), after_pull);
    }

    fn downloads_follow_redirects_only_to_https_or_loopback_and_at_most_five(db) {
        alice_with_feed(&db);
        let api = StandIn::start();
        let id = |t: &str| api.id_of(t, "2020-08-02");
        let (cisco, adb, rsync, smb) = (id("cisco_smart_install"), id("scan_adb"), id("scan_rsync"), id("scan_smb"));
        {
            let mut s = api.state();
            for t in INTELMQ_TYPES {
                let rel = s.samples[&id_unlocked(&s, t)].clone();
                s.samples.insert(format!("moved-{t}"), rel);
            }
            // A relative target, a loopback one, a host that is not loopback (0.0.0.0 would
            // reach this stand-in, so following it shows), and a loop.
            s.redirects.insert(cisco, "moved-cisco_smart_install".into());
            s.redirects.insert(adb, format!("http://localhost:{}/dl/moved-scan_adb", api.port));
            s.redirects.insert(rsync.clone(), format!("http://0.0.0.0:{}/dl/moved-scan_rsync", api.port));
            s.redirects.insert(smb.clone(), format!("/dl/{}", feedgate::import::shadowserver::client::encode_segment(&smb)));
        }
        let (code, out, err) = api.pull(&db, &RANGE_2020);
        assert_eq!(code, 2, "{out}{err}");
        let summary = parse_summary(&out);
        assert_eq!(summary["files_imported"], 3, "{summary}");
        assert_eq!(summary["indicators_created"], 7);
        let refused = file_of(&summary, "scan_rsync");
        assert_eq!(refused["status"], "failed_download");
        assert!(refused["error"]["message"].as_str().unwrap().contains("https"), "{refused}");
        let looped = file_of(&summary, "scan_smb");
        assert_eq!(looped["status"], "failed_download");
        assert!(looped["error"]["message"].as_str().unwrap().contains("redirects"), "{looped}");
        let paths = api.state().downloads.clone();
        assert!(!paths.iter().any(|p| p.contains("moved-scan_rsync")), "{paths:?}");
        assert_eq!(paths.iter().filter(|p| p.ends_with(&smb)).count(), 6, "the first request and five redirects");
        assert_eq!(paths.len(), 2 + 2 + 1 + 1 + 6);
        assert_eq!(stored(&db), (7, 7, 3, 3));
    }

    fn an_oversize_download_fails_and_is_not_recorded(db) {
        alice_with_feed(&db);
        let api = StandIn::start();
        // scan_ldap_tcp.csv is 5,567 bytes, every other sample under 1,000.
        let (code, out, err) = api.pull_with(&db, Some((TEST_KEY, TEST_SECRET)), &api.urls(), &[("FEEDGATE_IMPORT_MAX_BYTES", "1000")], &RANGE_2020);
        assert_eq!(code, 2, "{out}{err}");
        let summary = parse_summary(&out);
        assert_eq!(summary["files_imported"], 4, "{summary}");
        let big = file_of(&summary, "scan_ldap_tcp");
        assert_eq!(big["status"], "failed_download");
        assert!(big["error"]["message"].as_str().unwrap().contains("larger than 1000 bytes"), "{big}");
        assert_eq!(stored(&db), (10, 10, 4, 4));
        let (code, out, _) = api.pull(&db, &RANGE_2020);
        assert_eq!(code, 0);
        assert_eq!(parse_summary(&out)["files_imported"], 1);
        assert_eq!(api.counts(), (2, 6));
    }

    fn a_download_matching_a_file_already_imported_records_its_id_and_skips_it(db) {
        alice_with_feed(&db);
        let api = StandIn::start();
        // The same bytes under the entry's file name, imported from disk first.
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("2020-08-02-scan_smb-anarres-geo.csv");
        std::fs::write(&local, sample("intelmq-testdata/scan_smb.csv")).unwrap();
        let (code, _, err) = Binary::run(&db.url, &["import", "shadowserver", "--user", "alice", "--feed", "scans", local.to_str().unwrap()], None);
        assert_eq!(code, 0, "{err}");
        assert_eq!(stored(&db), (3, 3, 1, 0));

        let (code, out, err) = api.pull(&db, &RANGE_2020);
        assert_eq!(code, 0, "{out}{err}");
        let summary = parse_summary(&out);
        assert_eq!(summary["files_imported"], 4, "{summary}");
        assert_eq!(file_of(&summary, "scan_smb")["status"], "skipped_already_imported");
        assert_eq!(summary["indicators_created"], 10);
        assert_eq!(api.counts(), (1, 5));
        assert_eq!(stored(&db), (13, 13, 5, 5), "the id now points at the existing ledger row");

        let (code, out, _) = api.pull(&db, &RANGE_2020);
        assert_eq!(code, 0);
        assert_eq!(parse_summary(&out)["files_skipped_already_imported"], 5);
        assert_eq!(api.counts(), (2, 5), "known by id: not downloaded again");
    }
}
