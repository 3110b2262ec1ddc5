//! The standing adversarial test: what an outsider sends first to make one request expensive or
//! to slip past a limit, each answered cheaply and the same way on both backends.

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::json;

use crate::helpers::*;

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Sends `head` and then up to `body_len` bytes of `fill` (then nothing more), and returns the
/// status line of the answer. The server may answer (and close) before the whole body is sent: that is the point.
fn raw_post(port: u16, head: &str, body_len: usize, fill: u8) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let chunk = vec![fill; 64 * 1024];
    let mut sent = 0;
    while sent < body_len {
        let n = chunk.len().min(body_len - sent);
        if s.write_all(&chunk[..n]).is_err() {
            break;
        }
        sent += n;
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

both_backends! {
    fn nul_characters_get_the_same_answer_on_both_backends(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "scanners", false).assert_status(201);
        // Path segments: nothing is named so.
        for path in ["/api/users/al%00ice", "/api/users/alice/feeds/scan%00ners", "/api/users/alice/feeds/scanners/indicators/1%00",
                     "/api/users/%00/feeds", "/api/users/alice/feeds/scanners%00.csv"] {
            app.get(path).assert_error(404, "not_found");
            app.get_as(&alice, path).assert_error(404, "not_found");
        }
        // Query values: a bad parameter.
        for query in ["q=1.2.3.4&user=al%00ice", "q=1.2.3.4&feed=%00", "q=exa%00mple.com"] {
            let body = app.get(&format!("/api/search?{query}")).assert_error(400, "invalid_parameter");
            assert!(body["details"]["parameter"].is_string(), "{body}");
        }
        // Bodies: a 422 naming the field, and nothing written.
        let path = "/api/users/alice/feeds/scanners/indicators";
        let res = app.send_as("POST", &alice, path, &json!({"indicator": {"thing": "192.0.2.7", "content": "a\u{0}b"}}));
        let body = res.assert_error(422, "validation_failed");
        assert_eq!(body["details"]["errors"][0]["field"], "indicator.content", "{body}");
        let bulk = json!({"indicators": [{"indicator": "192.0.2.8"}, {"indicator": "192.0.2.9", "description": "x\u{0}"}]});
        let body = app.send_as("POST", &alice, "/api/users/alice/feeds/scanners/indicators_bulk", &bulk).assert_error(422, "validation_failed");
        assert_eq!(body["details"]["errors"][0]["field"], "indicators[1].description", "{body}");
        let created = app.post_indicator(&alice, "alice", "scanners", &json!({"indicator": {"thing": "192.0.2.10"}})).assert_status(201).json();
        let id = created["indicator"]["id"].as_i64().unwrap();
        app.send_as("PATCH", &alice, &format!("{path}/{id}"), &json!({"indicator": {"description": "\u{0}"}}))
            .assert_error(422, "validation_failed");
        let list = app.get_as(&alice, path).assert_status(200).json();
        let values: Vec<&str> = list.as_array().unwrap().iter().map(|i| i["indicator"]["thing"].as_str().unwrap()).collect();
        assert_eq!(values, ["192.0.2.10"]);
        assert!(!list.to_string().contains("\\u0000"));
        app.send_as("POST", &alice, "/api/users/alice/feeds", &json!({"feed": {"name": "x", "description": "\u{0}"}}))
            .assert_error(422, "validation_failed");
    }

    fn basic_auth_guesses_are_bounded_and_never_block_writers(app) {
        let (code, _, err) = Binary::run(&app.db.url, &["user", "add", "carol", "--password-stdin"], Some("correct horse battery\n"));
        assert_eq!(code, 0, "{err}");
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "scanners", false).assert_status(201);
        let wrong = basic("carol", "wrong horse battery");
        let statuses: Vec<(u16, Option<String>)> = std::thread::scope(|s| {
            let guesses: Vec<_> = (0..24)
                .map(|_| s.spawn(|| {
                    let res = app.request("POST", "/api/users/carol/tokens", &[("Authorization", &wrong)], Some(b"{}"));
                    (res.status, res.header("retry-after").map(str::to_string))
                }))
                .collect();
            // Writers go on while the guesses are checked.
            for i in 0..5 {
                let body = json!({"indicator": {"thing": format!("198.51.100.{i}")}});
                app.post_indicator(&alice, "alice", "scanners", &body).assert_status(201);
            }
            guesses.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (status, retry) in &statuses {
            assert!(*status == 401 || *status == 503, "{status}");
            if *status == 503 {
                assert_eq!(retry.as_deref(), Some("1"));
            }
        }
        assert!(statuses.iter().any(|(s, _)| *s == 401));
        // The right password still works, and nothing was minted by a wrong one.
        let good = basic("carol", "correct horse battery");
        app.request("POST", "/api/users/carol/tokens", &[("Authorization", &good)], Some(br#"{"name": "laptop"}"#)).assert_status(201);
        let tokens = app.request("GET", "/api/users/carol/tokens", &[("Authorization", &good)], None).assert_status(200).json();
        assert_eq!(tokens.as_array().unwrap().len(), 2, "the first token and the laptop's");
    }

    fn a_token_never_mints_one_that_outlives_it(app) {
        let alice = app.user_with_token("alice");
        let day = app.send_as("POST", &alice, "/api/users/alice/tokens", &json!({"name": "day", "expires_in_days": 1}))
            .assert_status(201).json();
        let day_token = day["token"].as_str().unwrap();
        let day_expires = day["expires_at"].as_str().unwrap().to_string();
        for body in [json!({}), json!({"expires_in_days": 90})] {
            let minted = app.send_as("POST", day_token, "/api/users/alice/tokens", &body).assert_status(201).json();
            assert_eq!(minted["expires_at"].as_str(), Some(day_expires.as_str()), "{body}");
        }
        // A shorter life than the minter's is kept.
        let admin_minted = app.send_as("POST", &app.admin_token, "/api/users/alice/tokens", &json!({})).assert_status(201).json();
        assert!(admin_minted["expires_at"].is_null());
    }

    fn csv_exports_neutralise_spreadsheet_formulas(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "scanners", false).assert_status(201);
        let body = json!({"indicator": {"thing": "5.188.10.44", "description": "=HYPERLINK(\"http://evil.example\",\"x\")", "tags": ["+1"]}});
        app.post_indicator(&alice, "alice", "scanners", &body).assert_status(201);
        let csv = app.get_as(&alice, "/api/users/alice/feeds/scanners.csv").assert_status(200).body.clone();
        assert!(csv.contains(r#""'=HYPERLINK(""http://evil.example"",""x"")""#), "{csv}");
        assert!(csv.contains(",'+1,"), "{csv}");
        assert!(!csv.contains(",=HYPERLINK"), "{csv}");
    }

    fn writes_by_post_are_refused_before_their_body_is_read(app) {
        // A body that is not a read is refused before it is read: 401 for anonymous callers.
        let big = vec![b'x'; 2 * 1024 * 1024];
        let mut body = b"{\"feed\": ".to_vec();
        body.extend_from_slice(&big);
        app.request("POST", "/api/users/admin/feeds", &[], Some(&body)).assert_error(401, "authentication_required");
        // Reads by POST still are reads.
        app.request("POST", "/api/users/admin/feeds", &[], Some(b"  null \n")).assert_status(200);
        app.request("POST", "/api/users/admin/feeds", &[], Some(b"nul")).assert_error(401, "authentication_required");
    }

    fn only_credential_changes_forget_the_resolved_tokens(app) {
        let forgets = || -> u64 {
            let metrics = app.get("/metrics").body.clone();
            metrics.lines().find_map(|l| l.strip_prefix("feedgate_token_memory_forgets_total ")).unwrap().trim().parse().unwrap()
        };
        let before = forgets();
        app.request("POST", "/api", &[], None).assert_status(200);
        app.request("POST", "/api", &[], Some(b"{}"));
        app.request("DELETE", "/api/users/admin/tokens/99", &[], None).assert_error(401, "authentication_required");
        app.send_as("DELETE", &app.admin_token, "/api/users/admin/tokens/99", &json!(null)).assert_error(404, "not_found");
        assert_eq!(forgets(), before, "anonymous or failed requests change no credential");
        app.send_as("POST", &app.admin_token, "/api/users/admin/tokens", &json!({})).assert_status(201);
        assert_eq!(forgets(), before + 1);
    }
}

#[test]
fn junk_tokens_spend_their_address_burst() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.burst_size = 10;
        s.burst_per_second = 1;
    });
    // Each junk token used to get a burst budget of its own.
    let mut limited = 0;
    for i in 0..40 {
        let junk = format!("fg_{i:0>43}");
        let res = app.get_as(&junk, "/api");
        if res.status == 429 {
            assert_eq!(res.json()["code"], "burst_limited");
            limited += 1;
        } else {
            res.assert_error(401, "invalid_token");
        }
    }
    assert!(
        limited >= 25,
        "40 junk tokens at once meet the address's burst of 10: {limited}"
    );
    // A token the gateway knows keeps a budget of its own.
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.burst_size = 10;
        s.burst_per_second = 1;
    });
    let alice = app.user_with_token("alice");
    app.get_as(&alice, "/api").assert_status(200);
    for i in 0..12 {
        app.get_as(&format!("fg_{i:0>43}"), "/api");
    }
    app.get_as(&alice, "/api").assert_status(200);
}

#[test]
fn forwarded_for_junk_charges_the_client_not_the_proxy() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        s.anon_requests_per_day = feedgate::domain::limit::Limit(Some(50));
    });
    let remaining = |xff: &str| -> i64 {
        let res = app.request("GET", "/api", &[("X-Forwarded-For", xff)], None);
        res.assert_status(200);
        res.header("x-ratelimit-remaining")
            .unwrap()
            .parse()
            .unwrap()
    };
    let first = remaining("203.0.113.1");
    assert_eq!(remaining("203.0.113.1, garbage"), first - 1);
    assert_eq!(remaining("203.0.113.1, [2001:db8::"), first - 2);
    // The proxy's own budget was not touched, and another client has a fresh one.
    assert_eq!(remaining("127.0.0.1"), 49);
    assert_eq!(remaining("203.0.113.2, nonsense"), 49);
}

#[test]
fn one_request_never_grows_the_server_by_more_than_64_mb() {
    let db = TestDb::new(Backend::Sqlite);
    let (code, _, err) = Binary::run(
        &db.url,
        &["user", "add", "carol", "--password-stdin"],
        Some("correct horse battery\n"),
    );
    assert_eq!(code, 0, "{err}");
    let server = Server::start_with(
        &db.url,
        &[
            ("FEEDGATE_BURST_SIZE", "1000"),
            ("FEEDGATE_BURST_PER_SECOND", "1000"),
        ],
    );
    let url = format!("http://127.0.0.1:{}", server.port);
    http_get(&format!("{url}/api/users/carol"), &[]).assert_status(200);
    let before = server.rss_kib();
    // 16 anonymous 10 MiB writes at once: refused before their bodies are read.
    let head = "POST /api/users/carol/feeds HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\nConnection: close\r\n\r\n{\"feed\":";
    let statuses: Vec<String> = std::thread::scope(|s| {
        let posts: Vec<_> = (0..16)
            .map(|_| s.spawn(|| raw_post(server.port, head, 10 * 1024 * 1024 - 8, b' ')))
            .collect();
        posts.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for status in &statuses {
        assert!(status.contains(" 401 "), "{status}");
    }
    // 32 wrong passwords at once: checked a few at a time, on a few threads.
    let wrong = basic("carol", "wrong horse battery");
    std::thread::scope(|s| {
        let guesses: Vec<_> = (0..32)
            .map(|_| {
                s.spawn(|| {
                    http(
                        "POST",
                        &format!("{url}/api/users/carol/tokens"),
                        &[("Authorization", &wrong)],
                        Some(b"{}"),
                    )
                    .status
                })
            })
            .collect();
        for g in guesses {
            let status = g.join().unwrap();
            assert!(status == 401 || status == 503, "{status}");
        }
    });
    let after = server.rss_kib();
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} to {after} KiB"
    );
}

both_backends! {
    fn pages_and_exports_of_large_rows_are_cut_by_bytes_not_rows(app) {
        let app = TestApp::spawn_with(backend_of(&app), |s| s.max_page_bytes = 300_000);
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "big", false).assert_status(201);
        let content = "x".repeat(60_000);
        let items: Vec<_> = (0..80).map(|i| json!({"indicator": format!("5.188.11.{i}"), "content": content})).collect();
        app.send_as("POST", &alice, "/api/users/alice/feeds/big/indicators_bulk", &json!({"indicators": items})).assert_status(200);
        for route in ["/api/users/alice/feeds/big/indicators", "/api/users/alice/feeds/big", "/api/search?q=5.188.11.0/24"] {
            let mut seen = std::collections::BTreeSet::new();
            let mut pages = 0;
            let sep = if route.contains('?') { '&' } else { '?' };
            let mut next = Some(format!("{route}{sep}limit=5000"));
            while let Some(path) = next.take() {
                let res = app.get_as(&alice, &path);
                let body = res.assert_status(200).json();
                let list = if route.ends_with("/big") { body["feed"]["indicators"].clone() } else { body.clone() };
                let list = list.as_array().unwrap().clone();
                assert!(!list.is_empty() && list.len() <= 4, "{route}: a page of {} rows", list.len());
                for i in &list {
                    assert!(seen.insert(i["indicator"]["thing"].as_str().unwrap().to_string()), "{route}: a row twice");
                }
                pages += 1;
                next = res.header("link").map(|l| {
                    assert!(l.contains("limit=5000"), "{l}");
                    l.split(['<', '>']).nth(1).unwrap().replace(&app.base, "")
                });
            }
            assert_eq!(seen.len(), 80, "{route}");
            assert!(pages >= 20, "{route}: {pages} pages");
        }
        // Exports cut their chunks by size too, and still hold every row once.
        let json = app.get_as(&alice, "/api/users/alice/feeds/big.json").assert_status(200).json();
        let values: std::collections::BTreeSet<_> = json.as_array().unwrap().iter().map(|i| i["indicator"]["thing"].as_str().unwrap().to_string()).collect();
        assert_eq!((json.as_array().unwrap().len(), values.len()), (80, 80));
        let csv = app.get_as(&alice, "/api/users/alice/feeds/big.csv").assert_status(200).body.clone();
        assert_eq!(csv.lines().count(), 81);
    }
}

both_backends! {
    fn a_filtered_range_search_looks_at_a_bounded_number_of_entries_per_page(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "wide", false).assert_status(201);
        for part in 0..5 {
            let items: Vec<_> = (0..1000)
                .map(|i| {
                    let n = part * 1000 + i;
                    let tag = if n % 700 == 0 { "hit" } else { "scan" };
                    json!({"indicator": format!("10.{}.{}.{}", n / 65536, (n / 256) % 256, n % 256), "tags": tag})
                })
                .collect();
            app.send_as("POST", &alice, "/api/users/alice/feeds/wide/indicators_bulk", &json!({"indicators": items})).assert_status(200);
        }
        let walk = |query: &str| -> (Vec<String>, usize) {
            let mut found = Vec::new();
            let mut pages = 0;
            let mut next = Some(format!("/api/search?{query}"));
            while let Some(path) = next.take() {
                let res = app.get_as(&alice, &path);
                for i in res.assert_status(200).json().as_array().unwrap() {
                    found.push(i["indicator"]["thing"].as_str().unwrap().to_string());
                }
                pages += 1;
                assert!(pages < 20, "the walk ends");
                next = res.header("link").map(|l| l.split(['<', '>']).nth(1).unwrap().replace(&app.base, ""));
            }
            (found, pages)
        };
        // Nothing matches: every page looks at 2,000 entries at most, and the walk ends.
        let (found, pages) = walk("q=10.0.0.0/8&tags=nomatch&limit=5000");
        assert!(found.is_empty());
        assert_eq!(pages, 3, "5,000 entries in pages of 2,000");
        // Sparse matches are each found once, across short pages.
        let (mut found, _) = walk("q=10.0.0.0/8&tags=hit&limit=5000");
        let n = found.len();
        found.sort();
        found.dedup();
        assert_eq!((n, found.len()), (8, 8), "{found:?}");
        // An unfiltered range search is answered from the index as before: one page.
        let (found, pages) = walk("q=10.0.0.0/8&limit=5000");
        assert_eq!((found.len(), pages), (5000, 1));
    }
}

both_backends! {
    fn a_stalled_import_body_gives_its_place_back(app) {
        let app = TestApp::spawn_with(backend_of(&app), |s| s.import_idle_secs = 1);
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "scans", false).assert_status(201);
        let port: u16 = app.base.rsplit(':').next().unwrap().parse().unwrap();
        let head = format!(
            "POST /api/users/alice/feeds/scans/imports/shadowserver?filename=x.csv HTTP/1.1\r\nHost: x\r\n\
             Authorization: Token token={alice}\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\ntimestamp,ip\n"
        );
        // The head and a few bytes of the body, then nothing: the import is abandoned after a
        // second of silence.
        let text = raw_post(port, &head, 0, b' ');
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        // Its place is free again: the same user may import at once.
        let body = b"timestamp,ip\n2026-11-20 07:55:12,192.0.2.1\n";
        let auth = format!("Token token={alice}");
        let res = app.request("POST", "/api/users/alice/feeds/scans/imports/shadowserver?filename=scan_ssh.csv",
            &[("Authorization", &auth), ("Content-Type", "text/csv")], Some(body));
        assert!(res.status == 200 || res.status == 201, "{} {}", res.status, res.body);
    }
}

/// The server's port.
fn port_of(app: &TestApp) -> u16 {
    app.base.rsplit(':').next().unwrap().parse().unwrap()
}

/// Sends `request` on a fresh connection and reads until the server closes it (every exchange
/// below ends with a request the server answers by closing).
fn exchange(port: u16, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    // The server may answer and close before it read everything: its answer still counts.
    let _ = s.write_all(request);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    answer
}

/// One answer read off the wire.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The JSON error body, checked to be complete and described as JSON.
    fn error(&self, status: u16, code: &str) -> serde_json::Value {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        let body: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        assert_eq!(body["code"], code, "{body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        assert!(body["details"].is_object(), "{body}");
        assert!(self.header("x-request-id").is_some());
        body
    }
}

/// Splits a connection's bytes into its answers, by their `content-length` or chunks; nothing
/// may be left over.
fn answers(mut bytes: &[u8]) -> Vec<Answer> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let mut fields = [httparse::EMPTY_HEADER; 64];
        let mut res = httparse::Response::new(&mut fields);
        let Ok(httparse::Status::Complete(len)) = res.parse(bytes) else {
            panic!("not an answer: {}", String::from_utf8_lossy(bytes));
        };
        let headers: Vec<(String, String)> = res
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        let status = res.code.unwrap();
        bytes = &bytes[len..];
        let mut body = Vec::new();
        if let Some((_, length)) = headers.iter().find(|(n, _)| n == "content-length") {
            let length: usize = length.parse().unwrap();
            body.extend_from_slice(&bytes[..length]);
            bytes = &bytes[length..];
        } else {
            assert!(
                headers
                    .iter()
                    .any(|(n, v)| n == "transfer-encoding" && v == "chunked")
            );
            loop {
                let line = bytes.windows(2).position(|w| w == b"\r\n").unwrap();
                let size = usize::from_str_radix(std::str::from_utf8(&bytes[..line]).unwrap(), 16)
                    .unwrap();
                body.extend_from_slice(&bytes[line + 2..line + 2 + size]);
                assert_eq!(&bytes[line + 2 + size..line + 4 + size], b"\r\n");
                bytes = &bytes[line + 4 + size..];
                if size == 0 {
                    break;
                }
            }
        }
        out.push(Answer {
            status,
            headers,
            body,
        });
    }
    out
}

both_backends! {
    fn heads_the_http_layer_refuses_get_the_json_error_body(app) {
        let port = port_of(&app);
        let answer = |request: &[u8]| {
            let mut all = answers(&exchange(port, request));
            assert_eq!(all.len(), 1);
            let one = all.remove(0);
            assert_eq!(one.header("connection"), Some("close"));
            one
        };
        // A request line that is not HTTP.
        answer(b"GARBAGE\r\n\r\n").error(400, "malformed_request");
        answer(b"GET /api HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n").error(400, "malformed_request");
        // More header fields than the HTTP layer reads.
        let mut many = b"GET /api HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..=feedgate::framing::HEAD_MAX_FIELDS + 4 {
            many.extend_from_slice(format!("X-Field-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        let body = answer(&many).error(431, "header_too_large");
        assert_eq!(body["details"]["max_fields"], feedgate::framing::HEAD_MAX_FIELDS);
        // A head at the byte limit that has not ended; under the limit, a long head is served.
        let mut long = b"GET /api HTTP/1.1\r\nHost: x\r\nX-Long: ".to_vec();
        long.resize(feedgate::framing::HEAD_MAX_BYTES, b'a');
        let body = answer(&long).error(431, "header_too_large");
        assert_eq!(body["details"]["max_bytes"], feedgate::framing::HEAD_MAX_BYTES);
        long.truncate(40 * 1024);
        long.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
        assert_eq!(answer(&long).status, 200);
        // On a kept-alive connection: the first answer intact, then the error.
        let all = answers(&exchange(port, b"GET /api HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n"));
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].status, 200);
        let root: serde_json::Value = serde_json::from_slice(&all[0].body).unwrap();
        assert_eq!(root["version"], "v0", "{root}");
        all[1].error(400, "malformed_request");
    }

    fn bodies_holding_the_http_layers_answer_are_served_unchanged(app) {
        use base64::Engine;
        const FORM: &str = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "scanners", false).assert_status(201);
        // The attachment is nothing but the answer; the indicator's content holds it too (in the
        // chunked JSON export).
        let data = base64::engine::general_purpose::STANDARD.encode(FORM);
        let body = json!({"indicator": {"content": FORM, "tags": ["x"]}, "attachment": {"data": data, "filename": "answer.txt"}});
        let created = app.post_indicator(&alice, "alice", "scanners", &body).assert_status(201).json();
        let url = created["indicator"]["attachments"][0]["attachment"].as_str().unwrap().replace(&app.base, "");
        let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Token {alice}\r\n\r\n");
        // Pipelined in one write, then a request the HTTP layer refuses.
        let request = [get(&url), get(&url), get("/api/users/alice/feeds/scanners.json"), "GARBAGE\r\n\r\n".into()].concat();
        let all = answers(&exchange(port_of(&app), request.as_bytes()));
        assert_eq!(all.len(), 4);
        for attachment in &all[..2] {
            assert_eq!(attachment.status, 200);
            assert_eq!(attachment.body, FORM.as_bytes());
        }
        assert_eq!(all[2].status, 200);
        assert_eq!(all[2].header("transfer-encoding"), Some("chunked"));
        let export: serde_json::Value = serde_json::from_slice(&all[2].body).unwrap();
        assert_eq!(export.to_string().matches("HTTP/1.1 400 Bad Request").count(), 1, "{export}");
        assert!(export.to_string().contains(&serde_json::to_string(FORM).unwrap()), "{export}");
        all[3].error(400, "malformed_request");
    }
}
