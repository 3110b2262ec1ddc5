//! Daily and burst limits (spec §4.1–4.3), and quotas raced by concurrent clients against two
//! server processes sharing one database.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use crate::helpers::*;

fn ratelimit(res: &TestResponse) -> (i64, i64, i64) {
    let n = |h: &str| {
        res.header(h)
            .unwrap_or_else(|| panic!("missing {h}: {:?}", res.headers))
            .parse::<i64>()
            .unwrap()
    };
    assert_eq!(res.header("x-ratelimit-period"), Some("day"));
    (
        n("x-ratelimit-limit"),
        n("x-ratelimit-remaining"),
        n("x-ratelimit-reset"),
    )
}

both_backends! {
    fn the_daily_limit_counts_down_refuses_and_resets_at_midnight(app) {
        let app = TestApp::spawn_with(backend_of(&app), |s| s.requests_per_day = "5".parse().unwrap());
        let alice = app.user_with_token("alice");
        let mut last = None;
        for expected in (0..5).rev() {
            // Every route counts, errors included.
            let res = if expected % 2 == 0 { app.get_as(&alice, "/api/users/alice") } else { app.get_as(&alice, "/api/users/nobody") };
            let (limit, remaining, reset) = ratelimit(&res);
            assert_eq!((limit, remaining), (5, expected));
            last = Some(reset);
        }
        let res = app.get_as(&alice, "/api/users/alice");
        let body = res.assert_error(429, "rate_limited");
        let reset = last.unwrap();
        assert_eq!(body["details"], json!({"limit": 5, "period": "day", "reset": reset}));
        assert_eq!(ratelimit(&res), (5, 0, reset));
        let retry: i64 = res.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=86_400).contains(&retry));
        // The next UTC day starts a new count.
        app.clock.advance(chrono::Duration::days(1));
        let res = app.get_as(&alice, "/api/users/alice");
        assert_eq!(ratelimit(&res).1, 4);
        assert_eq!(ratelimit(&res).2, reset + 86_400);
        // Health and metrics are never counted.
        app.get_as(&alice, "/api/health").assert_status(200);
        assert!(app.get("/metrics").header("x-ratelimit-limit").is_none());
    }

    fn anonymous_callers_and_bad_credentials_share_the_address_budget(app) {
        let app = TestApp::spawn_with(backend_of(&app), |s| s.anon_requests_per_day = "3".parse().unwrap());
        let alice = app.user_with_token("alice");
        assert_eq!(ratelimit(&app.get("/api")).1, 2);
        let bad = app.get_as("fg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/api");
        bad.assert_error(401, "invalid_token");
        assert_eq!(ratelimit(&bad).1, 1, "failed credentials are charged to the address");
        app.get("/api").assert_status(200);
        app.get("/api").assert_error(429, "rate_limited");
        app.get_as("junk", "/api").assert_error(429, "rate_limited");
        // A valid token is never charged to the address.
        let res = app.get_as(&alice, "/api");
        res.assert_status(200);
        assert_eq!(ratelimit(&res).0, 5000);
    }

    fn the_burst_limit_refuses_without_counting(app) {
        let app = TestApp::spawn_with(backend_of(&app), |s| {
            s.burst_per_second = 1;
            s.burst_size = 3;
        });
        let alice = app.user_with_token("alice");
        let remaining: Vec<i64> = (0..3).map(|_| ratelimit(&app.get_as(&alice, "/api")).1).collect();
        assert_eq!(remaining, [4999, 4998, 4997]);
        let res = app.get_as(&alice, "/api");
        res.assert_error(429, "burst_limited");
        assert!(res.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
        // Another token has its own bucket.
        let bob = app.user_with_token("bob");
        app.get_as(&bob, "/api").assert_status(200);
        let metrics = app.get("/metrics").body;
        assert!(metrics.contains(r#"feedgate_rate_limited_total{kind="burst"} 1"#), "{metrics}");
    }

    fn unlimited_users_get_no_headers(app) {
        let alice = app.user_with_token("alice");
        {
            use diesel::prelude::*;
            use feedgate::db::schema::users;
            let mut conn = app.pool.get().unwrap();
            diesel::update(users::table.filter(users::username.eq("alice"))).set(users::requests_per_day.eq(Some(-1i64))).execute(&mut conn).unwrap();
        }
        let res = app.get_as(&alice, "/api/users/alice");
        res.assert_status(200);
        assert!(res.header("x-ratelimit-limit").is_none());
        assert_eq!(res.json()["limits"]["requests_per_day"], json!(null));
    }
}

/// Starts two gateways on one database with the given settings; returns them and an admin token.
fn two_gateways(db: &TestDb, env: &[(&str, &str)]) -> (Server, Server) {
    let a = Server::start_with(&db.url, env);
    let b = Server::start_with(&db.url, env);
    (a, b)
}

fn add_user(db: &TestDb, name: &str) -> String {
    let (code, out, err) = Binary::run(&db.url, &["user", "add", name], None);
    assert_eq!(code, 0, "{err}");
    out.trim().to_string()
}

/// 64 clients race two gateways; returns how many requests each status got.
fn race(
    ports: [u16; 2],
    clients: usize,
    per_client: usize,
    request: impl Fn(usize, u16) -> TestResponse + Sync,
) -> (usize, usize, usize) {
    let ok = AtomicUsize::new(0);
    let limited = AtomicUsize::new(0);
    let other = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for client in 0..clients {
            let (ok, limited, other, request) = (&ok, &limited, &other, &request);
            s.spawn(move || {
                for i in 0..per_client {
                    let port = ports[(client + i) % 2];
                    let res = request(client * per_client + i, port);
                    match res.status {
                        200 | 201 => ok.fetch_add(1, Ordering::Relaxed),
                        429 | 422 => limited.fetch_add(1, Ordering::Relaxed),
                        _ => other.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
        }
    });
    (ok.into_inner(), limited.into_inner(), other.into_inner())
}

/// The day's count in the database for a user.
fn counted(db: &TestDb, name: &str) -> i64 {
    use feedgate::models::{daily, user};
    let pool = feedgate::db::connect(&db.parsed(), feedgate::db::PoolOptions::default()).unwrap();
    let mut conn = pool.get().unwrap();
    let id = user::find_by_name(&mut conn, name).unwrap().id;
    counted_subject(&mut conn, &daily::user_subject(id))
}

/// The day's count in the database for a subject (`u:ID`, `a:ADDRESS`).
fn counted_subject(conn: &mut feedgate::db::DbConnection, subject: &str) -> i64 {
    let today = feedgate::clock::Clock::default().now().date();
    feedgate::models::daily::used(conn, subject, today).unwrap()
}

both_databases! {
    fn far_from_the_limit_requests_are_counted_in_leases_and_unused_ones_given_back(db) {
        // Leases of 1 % of what is left (199-200 here): 300 requests take the first one
        // past its half, so one is renewed ahead in the background, and merged.
        let env = [("FEEDGATE_REQUESTS_PER_DAY", "20000"), ("FEEDGATE_BURST_SIZE", "100000"), ("FEEDGATE_BURST_PER_SECOND", "100000")];
        let server = Server::start_with(&db.url, &env);
        let token = add_user(&db, "leaser");
        let auth = format!("Token token={token}");
        let url = format!("http://127.0.0.1:{}/api", server.port);
        for i in 0..300i64 {
            let res = http_get(&url, &[("Authorization", &auth)]);
            res.assert_status(200);
            // The headers count every request, whether it was served from a lease or not.
            assert_eq!(ratelimit(&res).1, 20_000 - 1 - i, "request {i}");
        }
        // Counted ahead by at most one and a half leases (one renewed ahead), never behind.
        let ahead = counted(&db, "leaser") - 300;
        assert!((1..=300).contains(&ahead), "{ahead}");
        // A clean stop gives the unused part back: exactly what was served stays counted.
        assert_eq!(server.terminate(), Some(0));
        assert_eq!(counted(&db, "leaser"), 300);
    }

    fn anonymous_requests_are_served_from_their_address_lease_and_counted_exactly(db) {
        // Far from the limit an address's requests are admitted from a lease in memory (no
        // trip to the database), renewed ahead like a user's: the headers still count every
        // request, and a clean stop leaves exactly the requests served counted.
        let env = [("FEEDGATE_ANON_REQUESTS_PER_DAY", "20000"), ("FEEDGATE_BURST_SIZE", "100000"), ("FEEDGATE_BURST_PER_SECOND", "100000")];
        let server = Server::start_with(&db.url, &env);
        let url = format!("http://127.0.0.1:{}/api", server.port);
        for i in 0..300i64 {
            let res = http_get(&url, &[]);
            res.assert_status(200);
            assert_eq!(ratelimit(&res).1, 20_000 - 1 - i, "request {i}");
        }
        let pool = feedgate::db::connect(&db.parsed(), feedgate::db::PoolOptions::default()).unwrap();
        let subject = feedgate::models::daily::address_subject("127.0.0.1");
        let ahead = counted_subject(&mut pool.get().unwrap(), &subject) - 300;
        assert!((1..=300).contains(&ahead), "{ahead}");
        assert_eq!(server.terminate(), Some(0));
        assert_eq!(counted_subject(&mut pool.get().unwrap(), &subject), 300);
    }

    fn two_gateways_admit_exactly_the_daily_limit(db) {
        let env = [("FEEDGATE_REQUESTS_PER_DAY", "100"), ("FEEDGATE_BURST_SIZE", "100000"), ("FEEDGATE_BURST_PER_SECOND", "100000")];
        let (a, b) = two_gateways(&db, &env);
        for round in 0..3 {
            let token = add_user(&db, &format!("racer{round}"));
            let auth = format!("Token token={token}");
            let (ok, limited, other) = race([a.port, b.port], 64, 4, |_, port| {
                http_get(&format!("http://127.0.0.1:{port}/api"), &[("Authorization", &auth)])
            });
            assert_eq!(other, 0, "round {round}");
            assert_eq!(ok, 100, "round {round}: exactly the limit is admitted");
            assert_eq!(limited, 156, "round {round}");
        }
    }

    fn two_gateways_store_exactly_the_indicator_quota(db) {
        let env = [("FEEDGATE_MAX_INDICATORS", "50"), ("FEEDGATE_BURST_SIZE", "100000"), ("FEEDGATE_BURST_PER_SECOND", "100000")];
        let (a, b) = two_gateways(&db, &env);
        for round in 0..3 {
            let name = format!("q{round}");
            let token = add_user(&db, &name);
            let auth = format!("Token token={token}");
            let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
            let feed = http("POST", &format!("http://127.0.0.1:{}/api/users/{name}/feeds", a.port), &headers, Some(br#"{"name": "f"}"#));
            feed.assert_status(201);
            let (ok, limited, other) = race([a.port, b.port], 64, 2, |i, port| {
                let body = json!({"indicator": format!("10.{round}.{}.{}", i / 256, i % 256)}).to_string();
                http("POST", &format!("http://127.0.0.1:{port}/api/users/{name}/feeds/f/indicators"), &headers, Some(body.as_bytes()))
            });
            assert_eq!(other, 0);
            assert_eq!(ok, 50, "round {round}: exactly the quota is stored");
            assert_eq!(limited, 78);
            let list = http_get(&format!("http://127.0.0.1:{}/api/users/{name}/feeds/f/indicators?limit=5000", b.port), &headers);
            assert_eq!(list.json().as_array().unwrap().len(), 50);
        }
        // Private feeds never exceed one, however many are requested at once.
        let token = add_user(&db, "privy");
        let auth = format!("Token token={token}");
        let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
        let (ok, _, other) = race([a.port, b.port], 16, 1, |i, port| {
            let body = json!({"name": format!("p{i}"), "private": true}).to_string();
            http("POST", &format!("http://127.0.0.1:{port}/api/users/privy/feeds"), &headers, Some(body.as_bytes()))
        });
        assert_eq!((ok, other), (1, 0));
    }
}

mod fail_closed {
    use super::*;
    use diesel::connection::SimpleConnection;

    /// Holds the lock the request counter needs, so admission cannot count the request.
    fn blocked_counter(app: &TestApp) -> feedgate::db::DbConnection {
        let mut conn = app.db.parsed().establish().unwrap();
        let sql = if app.db.url.starts_with("sqlite") {
            "BEGIN EXCLUSIVE"
        } else {
            "BEGIN; LOCK TABLE daily_usage IN ACCESS EXCLUSIVE MODE"
        };
        conn.batch_execute(sql).unwrap();
        conn
    }

    fn refuses(backend: Backend) {
        let app = TestApp::spawn_with(backend, |s| s.query_timeout_secs = 1);
        let alice = app.user_with_token("alice");
        app.get_as(&alice, "/api").assert_status(200);
        let mut holder = blocked_counter(&app);
        let res = app.get_as(&alice, "/api/users/alice");
        res.assert_error(503, "database_unavailable");
        assert_eq!(res.header("retry-after"), Some("5"));
        holder.batch_execute("ROLLBACK").unwrap();
        let res = app.get_as(&alice, "/api/users/alice");
        assert_eq!(
            ratelimit(&res).1,
            4998,
            "the refused request was not counted"
        );
    }

    #[test]
    fn a_counter_that_cannot_be_updated_refuses_the_request_sqlite() {
        refuses(Backend::Sqlite);
    }

    #[test]
    #[cfg_attr(
        not(pg_tests),
        ignore = "TEST_DATABASE_URL not set: PostgreSQL run skipped"
    )]
    fn a_counter_that_cannot_be_updated_refuses_the_request_postgres() {
        refuses(Backend::Postgres);
    }
}
