use std::time::Duration;

use super::*;
use crate::db::{DatabaseUrl, PoolOptions, RunError, connect};

#[test]
fn every_group_runs_on_the_queue_s_writer_thread_even_after_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::Sqlite(dir.path().join("thread.db"));
    let pool = connect(&url, PoolOptions::default()).unwrap();
    let queue = Arc::new(WriteQueue::new(Backend::Sqlite));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let thread_of_write = |panic: bool| {
        rt.block_on(write_grouped::<_, RunError, _>(&pool, &queue, move |_| {
            assert!(!panic, "a piece that panics");
            Ok(std::thread::current().name().map(str::to_string))
        }))
    };
    assert_eq!(
        thread_of_write(false).unwrap().as_deref(),
        Some("feedgate-write")
    );
    // The panicking piece is lost (its caller is told), and the thread keeps leading.
    assert!(thread_of_write(true).is_err());
    assert_eq!(
        thread_of_write(false).unwrap().as_deref(),
        Some("feedgate-write")
    );
}

#[test]
fn a_leader_without_a_connection_fails_its_queue_and_the_next_writer_leads_again() {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::Sqlite(dir.path().join("group.db"));
    let options = PoolOptions {
        max_size: 1,
        checkout_timeout: Duration::from_millis(200),
        ..PoolOptions::default()
    };
    let pool = connect(&url, options).unwrap();
    let queue = Arc::new(WriteQueue::new(Backend::Sqlite));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let write = || {
        let (pool, queue) = (pool.clone(), queue.clone());
        async move {
            write_grouped::<i64, RunError, _>(&pool, &queue, |c| {
                c.batch_execute("CREATE TABLE IF NOT EXISTS t (x); INSERT INTO t VALUES (1)")?;
                Ok(1)
            })
            .await
        }
    };
    // The pool's only connection is taken: the leader cannot start, and says so.
    let held = pool.get().unwrap();
    let result = rt.block_on(write());
    assert!(
        matches!(result, Err(RunError::NoConnection(_))),
        "{result:?}"
    );
    // The failed leader gave up the lead: the next writer starts one and its write lands.
    drop(held);
    assert_eq!(rt.block_on(write()).unwrap(), 1);
    let mut conn = pool.get().unwrap();
    let rows: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM t)",
    ))
    .get_result(&mut *conn)
    .unwrap();
    assert_eq!(rows, 1);
}
