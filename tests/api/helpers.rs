//! The test harness: `TestApp::spawn(backend)` runs the real application on port 0 over a fresh
//! database (a SQLite file in a temp dir, or a fresh PostgreSQL schema) and talks HTTP to it.
//! `Binary` runs the built `feedgate` executable for start-up, restart and CLI tests.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use feedgate::auth::accounts::{self, TokenSpec};
use feedgate::clock::Clock;
use feedgate::config::Settings;
use feedgate::db::{self, DatabaseUrl, DbPool, PoolOptions};
use feedgate::domain::name::Username;
use feedgate::startup::Application;
use serde_json::Value;
use ureq::http;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database that is removed when dropped.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

impl TestDb {
    /// A new SQLite file or PostgreSQL schema.
    pub fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("feedgate.db").display());
                TestDb {
                    url,
                    _dir: Some(dir),
                    schema: None,
                }
            }
            Backend::Postgres => {
                let base = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
                let mut bytes = [0u8; 6];
                getrandom::fill(&mut bytes).unwrap();
                let schema = format!(
                    "t_{}",
                    bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
                );
                admin_sql(&base, &format!("CREATE SCHEMA {schema}"));
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                TestDb {
                    url,
                    _dir: None,
                    schema: Some((base, schema)),
                }
            }
        }
    }

    /// The parsed URL.
    pub fn parsed(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.url).unwrap()
    }
}

fn admin_sql(base: &str, sql: &str) {
    use diesel::connection::SimpleConnection;
    let mut conn = DatabaseUrl::parse(base).unwrap().establish().unwrap();
    conn.batch_execute(sql).unwrap();
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.schema {
            admin_sql(base, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// A running application and a client for it.
pub struct TestApp {
    pub base: String,
    pub admin_token: String,
    pub clock: Clock,
    pub pool: DbPool,
    agent: ureq::Agent,
    handle: actix_web::dev::ServerHandle,
    // Dropped last: the database outlives the server.
    pub db: TestDb,
}

/// What a request got back.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Asserts a JSON error with this status and code, in the shared error shape.
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        self.assert_status(status);
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "error is not JSON: {:?}",
            self.headers
        );
        let body = self.json();
        assert_eq!(body["code"], code, "body: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "body: {body}"
        );
        assert!(body["details"].is_object(), "body: {body}");
        body
    }
}

impl TestApp {
    /// Starts the application with default settings.
    pub fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {})
    }

    /// Starts the application after `tweak` adjusted its settings.
    pub fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let db = TestDb::new(backend);
        let mut settings = test_settings();
        tweak(&mut settings);
        let clock = Clock::default();
        let (port, admin_token, handle) = start_application(settings, db.parsed(), clock.clone());
        let admin_token = admin_token.unwrap();
        let pool = db::connect(
            &db.parsed(),
            PoolOptions {
                max_size: 2,
                ..Default::default()
            },
        )
        .unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            admin_token,
            clock,
            pool,
            agent,
            handle,
            db,
        }
    }

    /// Starts another gateway on this app's database with the same clock (its own pool,
    /// metrics and limiters, like a second process), after `tweak` adjusted its settings.
    pub fn second_gateway(&self, tweak: impl FnOnce(&mut Settings)) -> Gateway {
        let mut settings = test_settings();
        tweak(&mut settings);
        let (port, _, handle) = start_application(settings, self.db.parsed(), self.clock.clone());
        Gateway {
            base: format!("http://127.0.0.1:{port}"),
            handle,
        }
    }

    /// Sends a request with the given headers and body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> TestResponse {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let result = match body {
            Some(b) => self.agent.run(builder.body(b.to_vec()).unwrap()),
            None => self.agent.run(builder.body(()).unwrap()),
        };
        let mut res = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let mut body = String::new();
        if method != "HEAD" {
            res.body_mut()
                .as_reader()
                .read_to_string(&mut body)
                .unwrap();
        }
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// GET without credentials.
    pub fn get(&self, path: &str) -> TestResponse {
        self.request("GET", path, &[], None)
    }

    /// GET with a token (`Authorization: Token token=…`).
    pub fn get_as(&self, token: &str, path: &str) -> TestResponse {
        let auth = format!("Token token={token}");
        self.request("GET", path, &[("Authorization", &auth)], None)
    }

    /// A request with a token and a JSON body.
    pub fn send_as(&self, method: &str, token: &str, path: &str, body: &Value) -> TestResponse {
        let auth = format!("Token token={token}");
        let bytes = body.to_string();
        self.request(
            method,
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            Some(bytes.as_bytes()),
        )
    }

    /// Creates a user with a read/write token, returning the token.
    pub fn user_with_token(&self, name: &str) -> String {
        let mut conn = self.pool.get().unwrap();
        let now = self.clock.now();
        let name = Username::parse(name).unwrap();
        let (_, minted) = db::write_tx(&mut conn, |c| {
            accounts::create_user(c, &name, false, None, now)
        })
        .unwrap();
        minted.plain.expose().to_string()
    }

    /// Mints another token for an existing user.
    pub fn token_for(&self, name: &str, spec: TokenSpec) -> String {
        let mut conn = self.pool.get().unwrap();
        let now = self.clock.now();
        let owner = feedgate::models::user::find_by_name(&mut conn, name).unwrap();
        let minted =
            db::write_tx(&mut conn, |c| accounts::mint_token(c, owner.id, &spec, now)).unwrap();
        minted.plain.expose().to_string()
    }
}

/// The settings every test server starts from: one worker, a small pool, port 0.
fn test_settings() -> Settings {
    let mut settings = Settings::defaults();
    settings.bind = "127.0.0.1:0".into();
    settings.workers = 1;
    settings.db_pool_size = 4;
    // The change log's background looks, quick enough for tests to wait on.
    settings.expiry_scan_millis = 200;
    settings.stream_poll_millis = 100;
    settings
}

/// Builds and runs an application on its own thread; returns its port, the first admin's
/// token when this start created it, and a handle to stop it.
fn start_application(
    settings: Settings,
    url: DatabaseUrl,
    clock: Clock,
) -> (u16, Option<String>, actix_web::dev::ServerHandle) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(settings, &url, clock).unwrap();
            let token = app.bootstrap.as_ref().map(|m| m.plain.expose().to_string());
            tx.send((app.port(), token, app.handle())).unwrap();
            app.run_until_stopped().await.unwrap();
        });
    });
    rx.recv_timeout(Duration::from_secs(60)).unwrap()
}

/// A second gateway on a test app's database (`TestApp::second_gateway`), stopped when dropped.
pub struct Gateway {
    pub base: String,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command at once; the server thread ends on its own.
        drop(self.handle.stop(false));
    }
}

/// The built `feedgate` executable, run as a child process.
pub struct Binary;

impl Binary {
    /// A command for the binary with a clean feedgate environment.
    pub fn command(database_url: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedgate"));
        cmd.env("DATABASE_URL", database_url)
            .env_remove("FEEDGATE_PUBLIC_URL")
            .env("FEEDGATE_LOG", "info");
        cmd
    }

    /// Runs `feedgate ARGS…` to completion, returning (exit code, stdout, stderr).
    pub fn run(database_url: &str, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
        let mut cmd = Self::command(database_url);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// A `feedgate serve` child process on a random port.
pub struct Server {
    pub child: Child,
    pub port: u16,
    /// Everything the server wrote to stderr before it started listening.
    pub startup_stderr: String,
}

impl Server {
    /// Starts `feedgate serve --bind 127.0.0.1:0` and waits until it listens.
    pub fn start(database_url: &str) -> Server {
        Self::start_with(database_url, &[])
    }

    /// Like `start`, with extra environment variables (settings).
    pub fn start_with(database_url: &str, env: &[(&str, &str)]) -> Server {
        let mut child = Binary::command(database_url)
            .envs(env.iter().copied())
            .args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A reader thread forwards stderr lines (and keeps draining it afterwards, so the server
        // never blocks on a full pipe); the test waits at most a minute for the listening line.
        let reader = BufReader::new(child.stderr.take().unwrap());
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut seen = String::new();
        let port = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("server did not start listening: {seen}"));
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("feedgate listening")
                && let Some(p) = line.split("port=").nth(1)
            {
                break p.trim().parse::<u16>().unwrap();
            }
        };
        Server {
            child,
            port,
            startup_stderr: seen,
        }
    }

    /// The server process's resident memory in KiB (`VmRSS` of `/proc/PID/status`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Sends SIGTERM and waits for the exit code.
    pub fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A one-shot blocking GET against any base URL, for child-process servers.
pub fn http_get(url: &str, headers: &[(&str, &str)]) -> TestResponse {
    http("GET", url, headers, None)
}

/// A one-shot blocking request against any URL, for child-process servers.
pub fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> TestResponse {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut builder = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let result = match body {
        Some(b) => agent.run(builder.body(b.to_vec()).unwrap()),
        None => agent.run(builder.body(()).unwrap()),
    };
    let mut res = result.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.body_mut().read_to_string().unwrap_or_default();
    TestResponse {
        status,
        headers,
        body,
    }
}

impl TestApp {
    /// POST /api/users/{user}/feeds with `{"feed": {"name", "private"}}`.
    pub fn create_feed(&self, token: &str, user: &str, name: &str, private: bool) -> TestResponse {
        let body = serde_json::json!({"feed": {"name": name, "private": private}});
        self.send_as("POST", token, &format!("/api/users/{user}/feeds"), &body)
    }

    /// POST an indicator body to a feed.
    pub fn post_indicator(
        &self,
        token: &str,
        user: &str,
        feed: &str,
        body: &Value,
    ) -> TestResponse {
        self.send_as(
            "POST",
            token,
            &format!("/api/users/{user}/feeds/{feed}/indicators"),
            body,
        )
    }

    /// Like `get_as`, asking for the v1 representation.
    pub fn get_v1(&self, token: &str, path: &str) -> TestResponse {
        let auth = format!("Token token={token}");
        self.request(
            "GET",
            path,
            &[
                ("Authorization", &auth),
                ("Accept", "application/vnd.csirtg.v1"),
            ],
            None,
        )
    }

    /// The values (v1 `indicator` members) of a search as `token` sees it.
    pub fn search_values(&self, token: Option<&str>, query: &str) -> Vec<String> {
        let path = format!("/api/search?{query}");
        let res = match token {
            Some(t) => self.get_v1(t, &path),
            None => self.request(
                "GET",
                &path,
                &[("Accept", "application/vnd.csirtg.v1")],
                None,
            ),
        };
        let body = res.assert_status(200).json();
        body.as_array()
            .unwrap()
            .iter()
            .map(|i| i["indicator"].as_str().unwrap().to_string())
            .collect()
    }
}

/// The backend a test application runs on (to start another one like it).
pub fn backend_of(app: &TestApp) -> Backend {
    if app.db.url.starts_with("sqlite") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    }
}
