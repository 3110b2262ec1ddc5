//! The change log (issue 20): `GET …/changes` lists every create, update, delete and expiry of
//! a feed's indicators in seq order, from any gateway, with the visibility and TLP rules of
//! every read; `GET …/stream` sends the same as Server-Sent Events and resumes from
//! `Last-Event-ID`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

const CHANGES: &str = "/api/users/alice/feeds/f/changes";

/// Every change of alice's `f` after `since` as `token` sees it, following `next` in pages
/// of `limit`: `(seq, op, id, value)`.
fn all_changes(
    base: &str,
    token: Option<&str>,
    since: i64,
    limit: u32,
) -> Vec<(i64, String, i64, Option<String>)> {
    let mut out = Vec::new();
    let mut since = since;
    loop {
        let url = format!("{base}{CHANGES}?since={since}&limit={limit}");
        let auth = token.map(|t| format!("Token token={t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        let body = http_get(&url, &headers).assert_status(200).json();
        for c in body["changes"].as_array().unwrap() {
            out.push((
                c["seq"].as_i64().unwrap(),
                c["op"].as_str().unwrap().to_string(),
                c["id"].as_i64().unwrap(),
                c["indicator"]["indicator"].as_str().map(str::to_string),
            ));
        }
        let next = body["next"].as_i64().unwrap();
        if !body["more"].as_bool().unwrap() {
            return out;
        }
        assert!(next > since, "next moves on: {body}");
        since = next;
    }
}

fn ops(list: &[(i64, String, i64, Option<String>)]) -> Vec<(String, Option<String>)> {
    list.iter()
        .map(|(_, op, _, v)| (op.clone(), v.clone()))
        .collect()
}

fn op(name: &str, value: Option<&str>) -> (String, Option<String>) {
    (name.to_string(), value.map(str::to_string))
}

fn post(base: &str, token: &str, indicator: Value) -> Value {
    let auth = format!("Token token={token}");
    http(
        "POST",
        &format!("{base}/api/users/alice/feeds/f/indicators"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(json!({ "indicator": indicator }).to_string().as_bytes()),
    )
    .json()
}

fn seqs_increase(list: &[(i64, String, i64, Option<String>)]) {
    for w in list.windows(2) {
        assert!(w[0].0 < w[1].0, "seqs grow: {list:?}");
    }
}

/// Waits until `f` holds, up to `secs`.
fn wait_for(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{what} within {secs} s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A raw SSE client: the events `(id, event, data)` read until `n` arrived or `secs` passed.
struct EventStream {
    socket: TcpStream,
    text: String,
}

impl EventStream {
    fn open(base: &str, path: &str, headers: &[(&str, &str)]) -> (u16, EventStream) {
        let addr = base.trim_start_matches("http://");
        let mut socket = TcpStream::connect(addr).unwrap();
        let mut head =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        socket.write_all(head.as_bytes()).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut stream = EventStream {
            socket,
            text: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !stream.text.contains("\r\n\r\n") {
            assert!(Instant::now() < deadline, "no response head");
            stream.fill();
        }
        let status = stream.text[9..12].parse().unwrap();
        (status, stream)
    }

    fn fill(&mut self) {
        let mut buf = [0u8; 8192];
        match self.socket.read(&mut buf) {
            Ok(0) => std::thread::sleep(Duration::from_millis(20)),
            Ok(n) => self.text.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(_) => {}
        }
    }

    fn events(&self) -> Vec<(i64, String, Value)> {
        let mut out = Vec::new();
        let (mut id, mut event) = (None, None);
        for line in self.text.lines() {
            if let Some(v) = line.strip_prefix("id: ") {
                id = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("event: ") {
                event = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("data: ") {
                out.push((
                    id.take().unwrap(),
                    event.take().unwrap(),
                    serde_json::from_str(v).unwrap(),
                ));
            }
        }
        out
    }

    fn wait_events(&mut self, n: usize, secs: u64) -> Vec<(i64, String, Value)> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.events().len() < n {
            assert!(
                Instant::now() < deadline,
                "{n} events within {secs} s; got {}",
                self.text
            );
            self.fill();
        }
        self.events()
    }
}

both_backends! {
    fn creates_updates_upserts_deletes_and_expiries_are_logged_in_order(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        assert_eq!(all_changes(&app.base, None, 0, 100), vec![]);
        let a = post(&app.base, &alice, json!({"thing": "192.0.2.1"}));
        post(&app.base, &alice, json!({"thing": "192.0.2.1", "tags": "scanner"}));
        let a_id = a["indicator"]["id"].as_i64().unwrap();
        let a_path = format!("/api/users/alice/feeds/f/indicators/{a_id}");
        app.send_as("PATCH", &alice, &a_path, &json!({"description": "seen"})).assert_status(200);
        app.send_as("POST", &alice, "/api/users/alice/feeds/f/indicators_bulk", &json!({"indicators": [
            {"thing": "192.0.2.2"}, {"thing": "192.0.2.1"}, {"thing": "192.0.2.2"},
            {"thing": "192.0.2.3", "expires_at": "2001-01-01T00:00:00Z"}
        ]})).assert_status(200);
        let b = app.get_as(&alice, "/api/search?q=192.0.2.2").json()[0]["indicator"]["id"].as_i64().unwrap();
        app.send_as("DELETE", &alice, &format!("/api/users/alice/feeds/f/indicators/{b}"), &json!({})).assert_status(200);
        // A comment is not a change of the indicator.
        app.send_as("POST", &alice, &format!("{a_path}/comments"), &json!({"comment": {"text": "hi"}})).assert_status(201);

        let list = all_changes(&app.base, Some(&alice), 0, 2);
        seqs_increase(&list);
        assert_eq!(ops(&list), vec![
            op("created", Some("192.0.2.1")),
            op("updated", Some("192.0.2.1")),
            op("updated", Some("192.0.2.1")),
            // The bulk: new values first, then the stored one it updated. 192.0.2.2 was
            // deleted since: its creation shows nothing, its delete follows.
            op("created", Some("192.0.2.3")),
            op("updated", Some("192.0.2.1")),
            // Written already expired: its expiry is logged by the write.
            op("expired", None),
            op("deleted", None),
        ], "{list:?}");
        assert_eq!(list[0].2, a_id);
        assert_eq!(list[6].2, b);
        // The indicator is the v1 object as it is now, with its comment.
        let body = app.get_as(&alice, &format!("{CHANGES}?limit=1")).assert_status(200).json();
        let first = &body["changes"][0];
        assert_eq!(first["indicator"]["description"], "seen", "{first}");
        assert_eq!(first["indicator"]["tags"], json!(["scanner"]), "{first}");
        assert_eq!(first["indicator"]["comments"][0]["text"], "hi", "{first}");
        assert_eq!(body["next"], list[0].0);
        assert_eq!(body["more"], true);
        // From a seq on: only what follows it.
        let rest = all_changes(&app.base, Some(&alice), list[4].0, 100);
        assert_eq!(ops(&rest), vec![op("expired", None), op("deleted", None)]);
        assert_eq!(list[5].2, list[3].2, "the expiry is 192.0.2.3's");
        // Past the end: nothing, and `next` stays.
        let end = app.get(&format!("{CHANGES}?since={}", list[6].0 + 1000)).assert_status(200).json();
        assert_eq!((end["changes"].as_array().unwrap().len(), end["next"].as_i64()), (0, Some(list[6].0 + 1000)));

        // An expiry that passes later is logged by the scan (the clock moved past it).
        let soon = (app.clock.now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        post(&app.base, &alice, json!({"thing": "192.0.2.9", "expires_at": soon}));
        app.clock.advance(chrono::Duration::hours(2));
        wait_for(15, "the expiry scan", || {
            all_changes(&app.base, Some(&alice), list[6].0, 100).iter().any(|c| c.1 == "expired")
        });
        let tail = all_changes(&app.base, Some(&alice), list[6].0, 100);
        assert_eq!(ops(&tail), vec![op("created", Some("192.0.2.9")), op("expired", None)], "{tail:?}");
    }

    fn changes_through_two_gateways_arrive_once_each_in_seq_order(app) {
        let gateway = app.second_gateway(|_| {});
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let bases = [app.base.clone(), gateway.base.clone()];
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (base, token) = (bases[t % 2].clone(), alice.clone());
                std::thread::spawn(move || {
                    for i in 0..15 {
                        // Each value twice: a create, then an update.
                        let value = format!("198.51.{t}.{}", i % 8);
                        let res = post(&base, &token, json!({"thing": value}));
                        assert!(res["indicator"]["id"].is_i64(), "{res}");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let list = all_changes(&gateway.base, Some(&alice), 0, 7);
        seqs_increase(&list);
        assert_eq!(list.len(), 60, "{list:?}");
        assert_eq!(list.iter().filter(|c| c.1 == "created").count(), 32);
        assert_eq!(list.iter().filter(|c| c.1 == "updated").count(), 28);
        let mut ids: Vec<i64> = list.iter().filter(|c| c.1 == "created").map(|c| c.2).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 32, "each value created once");
        // Every update follows its create.
        for (i, c) in list.iter().enumerate() {
            if c.1 == "updated" {
                assert!(list[..i].iter().any(|p| p.1 == "created" && p.2 == c.2), "{list:?}");
            }
        }
    }

    fn the_change_log_keeps_the_read_rules(app) {
        let alice = app.user_with_token("alice");
        let bob = app.user_with_token("bob");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        app.create_feed(&alice, "alice", "hidden", true).assert_status(201);
        post(&app.base, &alice, json!({"thing": "192.0.2.1"}));
        let red = post(&app.base, &alice, json!({"thing": "192.0.2.2", "tlp": "red"}));
        post(&app.base, &alice, json!({"thing": "192.0.2.3", "tlp": "green"}));
        let red_id = red["indicator"]["id"].as_i64().unwrap();
        app.send_as("DELETE", &alice, &format!("/api/users/alice/feeds/f/indicators/{red_id}"), &json!({})).assert_status(200);
        // Anonymous and other users see neither the red indicator nor its delete.
        for token in [None, Some(bob.as_str())] {
            let list = all_changes(&app.base, token, 0, 100);
            assert_eq!(ops(&list), vec![op("created", Some("192.0.2.1")), op("created", Some("192.0.2.3"))], "{token:?}");
        }
        // The owner and admins see the red one's delete (its creation shows nothing: it is gone).
        let owner = all_changes(&app.base, Some(&alice), 0, 100);
        let expected = vec![op("created", Some("192.0.2.1")), op("created", Some("192.0.2.3")), op("deleted", None)];
        assert_eq!(ops(&owner), expected);
        assert_eq!(owner[2].2, red_id);
        assert_eq!(ops(&all_changes(&app.base, Some(&app.admin_token), 0, 100)), expected);
        // A page of one that skips a hidden change still moves on.
        let body = app.get(&format!("{CHANGES}?since={}&limit=1", owner[0].0)).assert_status(200).json();
        assert_eq!(body["changes"].as_array().unwrap().len(), 0, "{body}");
        let next = body["next"].as_i64().unwrap();
        assert!(next > owner[0].0 && next < owner[1].0, "{body}");
        // Private feed: 404 to others, as everywhere.
        app.get("/api/users/alice/feeds/hidden/changes").assert_error(404, "not_found");
        app.get_as(&bob, "/api/users/alice/feeds/hidden/changes").assert_error(404, "not_found");
        app.get_as(&alice, "/api/users/alice/feeds/hidden/changes").assert_status(200);
        // Bad input.
        for bad in ["-1", "x", "1.5", "99999999999999999999"] {
            let body = app.get(&format!("{CHANGES}?since={bad}")).assert_error(400, "invalid_parameter");
            assert_eq!(body["details"]["parameter"], "since", "{bad}");
        }
        app.get(&format!("{CHANGES}?limit=0")).assert_error(400, "invalid_parameter");
        app.get(&format!("{CHANGES}?cursor=1")).assert_error(400, "unknown_parameter");
    }

    fn a_since_older_than_the_retention_is_gone(app) {
        let gateway = app.second_gateway(|s| s.changes_retention_days = 0);
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        post(&app.base, &alice, json!({"thing": "192.0.2.1"}));
        post(&app.base, &alice, json!({"thing": "192.0.2.2"}));
        let list = all_changes(&app.base, None, 0, 100);
        assert_eq!(list.len(), 2);
        app.clock.advance(chrono::Duration::seconds(5));
        let auth = format!("Token token={}", app.admin_token);
        let run = http("POST", &format!("{}/api/admin/purge", gateway.base), &[("Authorization", &auth)], None)
            .assert_status(200)
            .json();
        assert_eq!(run["changes_pruned"], 2, "{run}");
        let body = app.get(&format!("{CHANGES}?since=0")).assert_error(410, "changes_expired");
        assert_eq!(body["details"]["oldest"], list[1].0, "{body}");
        app.get(&format!("{CHANGES}?since={}", list[0].0)).assert_error(410, "changes_expired");
        // From the oldest kept on: nothing lost since.
        post(&app.base, &alice, json!({"thing": "192.0.2.3"}));
        let from = app.get(CHANGES).assert_status(200).json();
        assert_eq!(from["changes"].as_array().unwrap().len(), 1, "{from}");
        assert_eq!(all_changes(&app.base, None, list[1].0, 100).len(), 1);
    }

    fn an_import_logs_its_changes_with_its_rows(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let auth = format!("Token token={alice}");
        let upload = |name: &str, csv: &str| {
            app.request(
                "POST",
                &format!("/api/users/alice/feeds/f/imports/shadowserver?filename={name}"),
                &[("Authorization", &auth), ("Content-Type", "text/csv")],
                Some(csv.as_bytes()),
            )
            .assert_status(200)
            .json()
        };
        let first = upload(
            "2024-01-04-scan_ssl.csv",
            "timestamp,ip,port,tag\r\n2024-01-04 08:00:00,192.0.2.7,443,ssl\r\n2024-01-04 08:00:00,192.0.2.8,443,ssl\r\n",
        );
        assert_eq!(first["indicators_created"], 2, "{first}");
        let later = upload(
            "2024-01-05-scan_ssl.csv",
            "timestamp,ip,port,tag\r\n2024-01-05 08:00:00,192.0.2.7,443,ssl\r\n",
        );
        assert_eq!(later["indicators_updated"], 1, "{later}");
        let list = all_changes(&app.base, None, 0, 100);
        assert_eq!(
            ops(&list),
            vec![op("created", Some("192.0.2.7")), op("created", Some("192.0.2.8")), op("updated", Some("192.0.2.7"))],
            "{list:?}"
        );
    }

    fn a_stream_sends_changes_from_another_gateway_and_resumes_without_loss(app) {
        let gateway = app.second_gateway(|_| {});
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        post(&app.base, &alice, json!({"thing": "192.0.2.1"}));
        let path = "/api/users/alice/feeds/f/stream";
        let (status, mut stream) = EventStream::open(&app.base, path, &[]);
        assert_eq!(status, 200, "{}", stream.text);
        assert!(stream.text.to_ascii_lowercase().contains("content-type: text/event-stream"), "{}", stream.text);
        // Without Last-Event-ID: only what comes after the start.
        std::thread::sleep(Duration::from_millis(300));
        post(&gateway.base, &alice, json!({"thing": "192.0.2.2"}));
        post(&gateway.base, &alice, json!({"thing": "192.0.2.1", "tags": "scanner"}));
        let events = stream.wait_events(2, 10);
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!((events[0].1.as_str(), events[0].2["indicator"].as_str()), ("created", Some("192.0.2.2")));
        assert_eq!((events[1].1.as_str(), events[1].2["indicator"].as_str()), ("updated", Some("192.0.2.1")));
        assert!(events[0].0 < events[1].0);
        drop(stream);

        // Resume after the first event: the second, then what was written while away.
        let id = events[0].2["id"].as_i64().unwrap();
        app.send_as("DELETE", &alice, &format!("/api/users/alice/feeds/f/indicators/{id}"), &json!({})).assert_status(200);
        let last = events[0].0.to_string();
        let (status, mut resumed) = EventStream::open(&gateway.base, path, &[("Last-Event-ID", &last)]);
        assert_eq!(status, 200);
        let again = resumed.wait_events(2, 10);
        assert_eq!(again[0].0, events[1].0);
        assert_eq!((again[1].1.as_str(), again[1].2["op"].as_str(), again[1].2["id"].as_i64()), ("deleted", Some("deleted"), Some(id)));
        // Heartbeats keep an idle stream open (every 15 s by default: not waited for here).
        EventStream::open(&app.base, path, &[("Last-Event-ID", "x")]).0.eq(&400).then_some(()).expect("a bad Last-Event-ID is 400");
        app.get("/api/users/alice/feeds/nope/stream").assert_error(404, "not_found");
    }
}

#[test]
fn streams_are_bounded_per_user_and_per_server() {
    let app = TestApp::spawn(Backend::Sqlite);
    let gateway = app.second_gateway(|s| {
        s.max_streams_per_user = 1;
        s.max_streams = 2;
        // A closed connection is noticed at the next write.
        s.stream_heartbeat_secs = 1;
    });
    let alice = app.user_with_token("alice");
    let bob = app.user_with_token("bob");
    let carol = app.user_with_token("carol");
    app.create_feed(&alice, "alice", "f", false)
        .assert_status(201);
    let path = "/api/users/alice/feeds/f/stream";
    let auth = |t: &str| format!("Token token={t}");
    let (status, first) =
        EventStream::open(&gateway.base, path, &[("Authorization", &auth(&alice))]);
    assert_eq!(status, 200);
    let (status, second) =
        EventStream::open(&gateway.base, path, &[("Authorization", &auth(&alice))]);
    assert_eq!(status, 429, "{}", second.text);
    assert!(
        second.text.contains("too_many_streams") && second.text.contains("\"user\""),
        "{}",
        second.text
    );
    let (status, _bob) = EventStream::open(&gateway.base, path, &[("Authorization", &auth(&bob))]);
    assert_eq!(status, 200);
    let (status, third) =
        EventStream::open(&gateway.base, path, &[("Authorization", &auth(&carol))]);
    assert_eq!(status, 429);
    assert!(third.text.contains("\"server\""), "{}", third.text);
    // A closed stream gives its place back.
    drop(first);
    wait_for(10, "the slot given back", || {
        EventStream::open(&gateway.base, path, &[("Authorization", &auth(&alice))]).0 == 200
    });
}
