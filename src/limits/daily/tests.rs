use chrono::NaiveDate;

use super::*;

#[test]
fn racing_leases_are_merged_and_served_to_their_last_request() {
    let p = Pending::default();
    let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let lease = |counted, left| Lease {
        limit: 1000,
        counted,
        left,
        renewing: false,
        shown: i64::MAX,
    };
    // Two requests found the lease empty and each counted 10 (the count went 100 → 120);
    // each served itself from its lease.
    p.keep_lease("u:1", day, lease(110, 9), i64::MAX);
    p.keep_lease("u:1", day, lease(120, 9), i64::MAX);
    for i in 0..18 {
        assert_eq!(
            p.serve_from_lease("u:1", day, 1000),
            Some(1000 - (120 - (17 - i)))
        );
    }
    assert_eq!(p.serve_from_lease("u:1", day, 1000), None);
    // A lease taken under another limit (an admin changed it) is dropped.
    p.keep_lease("u:1", day, lease(130, 5), i64::MAX);
    assert_eq!(p.serve_from_lease("u:1", day, 500), None);
    assert_eq!(p.serve_from_lease("u:1", day, 1000), None);
}

#[test]
fn a_lease_at_half_is_renewed_by_one_request_at_a_time() {
    let p = Pending::default();
    let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let limit = 1_000_000_000;
    let size = lease_size(limit, 0);
    assert_eq!(size, MAX_LEASE);
    // The first request was counted alone, the second took a lease and served itself.
    let lease = |counted, left| Lease {
        limit,
        counted,
        left,
        renewing: false,
        shown: i64::MAX,
    };
    p.keep_lease("u:1", day, lease(1 + size, size - 1), i64::MAX);
    // Nothing to renew while more than half is left.
    assert!(!p.renewal_due("u:1", day));
    let mut served = 2;
    while !p.renewal_due("u:1", day) {
        served += 1;
        assert_eq!(p.serve_from_lease("u:1", day, limit), Some(limit - served));
    }
    assert_eq!(1 + size - served, size / 2);
    // One renewal at a time; another may start once it ended.
    assert!(!p.renewal_due("u:1", day));
    p.renewed("u:1", day);
    assert!(p.renewal_due("u:1", day));
    // A renewal's lease is added to what is left: the count goes on without a gap.
    p.keep_lease("u:1", day, lease(1 + 2 * size, size), i64::MAX);
    for _ in 0..size {
        served += 1;
        assert_eq!(p.serve_from_lease("u:1", day, limit), Some(limit - served));
    }
    // A subject within 100 of its limit counts every request alone: no lease ahead.
    p.keep_lease(
        "u:2",
        day,
        Lease {
            limit: 150,
            counted: 60,
            left: 0,
            renewing: false,
            shown: i64::MAX,
        },
        i64::MAX,
    );
    assert!(!p.renewal_due("u:2", day));
}

#[test]
fn the_remaining_count_shown_never_rises() {
    let p = Pending::default();
    let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let lease = Lease {
        limit: 1000,
        counted: 100,
        left: 10,
        renewing: false,
        shown: i64::MAX,
    };
    // A statement counted up to 100 but a racing request already showed 880 left: the
    // lease's own figure (1000 - 91 = 909) is never shown after that.
    assert_eq!(p.keep_lease("u:1", day, lease, 880), 880);
    assert_eq!(p.serve_from_lease("u:1", day, 1000), Some(880));
    let mut last = 880;
    while let Some(r) = p.serve_from_lease("u:1", day, 1000) {
        assert!(r <= last);
        last = r;
    }
}

#[test]
fn the_day_ends_at_utc_midnight() {
    let now = NaiveDateTime::parse_from_str("2026-11-20 07:55:12", "%Y-%m-%d %H:%M:%S").unwrap();
    let next = next_midnight(now);
    assert_eq!(next.to_string(), "2026-11-21 00:00:00");
    let state = DailyState {
        limit: 5000,
        remaining: 0,
        reset: next.and_utc().timestamp(),
    };
    assert_eq!(state.retry_after(now), 16 * 3600 + 4 * 60 + 48);
    let mut headers = HeaderMap::new();
    state.write(&mut headers);
    assert_eq!(headers.get("x-ratelimit-limit").unwrap(), "5000");
    assert_eq!(headers.get("x-ratelimit-period").unwrap(), "day");
    assert_eq!(
        headers.get("x-ratelimit-reset").unwrap(),
        &next.and_utc().timestamp().to_string()
    );
}

#[test]
fn a_flush_writes_every_count_or_keeps_them_all_for_the_next() {
    use diesel::connection::SimpleConnection;
    let dir = tempfile::tempdir().unwrap();
    let url = crate::db::DatabaseUrl::Sqlite(dir.path().join("flush.db"));
    let pool = crate::db::connect(&url, crate::db::PoolOptions::default()).unwrap();
    let mut c = pool.get().unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let p = Pending::default();
    for _ in 0..3 {
        p.add("u:1", day);
    }
    p.add("u:2", day);
    // One subject's count cannot be written: the other's, written or not before it, is not
    // kept either, and both wait for the next flush.
    c.batch_execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON daily_usage WHEN NEW.subject = 'u:2' \
         BEGIN SELECT RAISE(ABORT, 'refused'); END;",
    )
    .unwrap();
    assert!(p.flush(&mut c).is_err());
    assert_eq!(daily::used(&mut c, "u:1", day).unwrap(), 0);
    c.batch_execute("DROP TRIGGER refuse").unwrap();
    p.add("u:1", day);
    p.flush(&mut c).unwrap();
    assert_eq!(daily::used(&mut c, "u:1", day).unwrap(), 4);
    assert_eq!(daily::used(&mut c, "u:2", day).unwrap(), 1);
    // Counts are written once.
    p.flush(&mut c).unwrap();
    assert_eq!(daily::used(&mut c, "u:1", day).unwrap(), 4);
}
