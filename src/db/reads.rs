//! Short reads (searches, pages, single objects) run on a few threads of their own, oldest
//! first.
//!
//! Through `spawn_blocking` each HTTP worker would have blocking threads of its own, more
//! than the pool's connections: most would wait on the pool, which hands a returned
//! connection to whichever thread asks first, not to the one that waited longest, so a read's
//! latency would depend on luck more than on its cost. Here every read joins one queue and a
//! few threads (`Settings::read_threads`) take them oldest first: a read waits for the reads
//! before it, then runs with little competition (figures in `bench/README.md`).
//!
//! Writes and long walks (exports, imports) keep `spawn_blocking` (`Db::write`, `Db::walk`,
//! `Db::long_write`): a write may wait for the SQLite write turn and an export runs for
//! seconds, and neither may hold up the reads. Only [`super::Db::read`] reaches this queue.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use super::{DbConnection, DbPool, RunError};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The read queue and its threads. The threads end when the last handle is dropped.
#[derive(Clone)]
pub(super) struct Readers {
    queue: Sender<Job>,
}

impl Readers {
    /// Starts `threads` reader threads (at least one).
    pub(super) fn start(threads: usize) -> std::io::Result<Readers> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads.max(1) {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("feedgate-read-{i}"))
                .spawn(move || serve(&jobs))?;
        }
        Ok(Readers { queue })
    }

    /// Runs `f` with a pooled connection on a reader thread, after the reads queued before it.
    pub(super) async fn run<T, E, F>(&self, pool: &DbPool, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<RunError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let pool = pool.clone();
        let job: Job = Box::new(move || {
            let result = match pool.get() {
                Ok(mut conn) => f(&mut conn),
                Err(e) => Err(E::from(RunError::from(e))),
            };
            // The request may have gone (client closed): then nobody wants the answer.
            let _ = tx.send(result);
        });
        if self.queue.send(job).is_err() {
            return Err(E::from(RunError::Cancelled));
        }
        // A job that panicked dropped its sender: answered like a cancelled blocking task.
        rx.await
            .unwrap_or_else(|_| Err(E::from(RunError::Cancelled)))
    }
}

/// One reader thread: take the oldest job, run it, repeat until the queue is closed.
fn serve(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for a job; a poisoned lock (a panic while
        // holding it) cannot leave the receiver inconsistent.
        let job = match jobs.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        // A panicking read must not take the thread with it: its caller gets a 500.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::db::{DatabaseUrl, PoolOptions, connect};

    fn pool(dir: &tempfile::TempDir) -> DbPool {
        let url = DatabaseUrl::Sqlite(dir.path().join("reads.db"));
        connect(&url, PoolOptions::default()).unwrap()
    }

    #[test]
    fn one_thread_runs_the_reads_in_the_order_they_were_queued() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir);
        let readers = Readers::start(1).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // join_all sends the reads in order on its first poll; the first one keeps the only
        // thread busy long enough for the others to queue behind it.
        let reads = (0..20).map(|i| {
            let seen = seen.clone();
            readers.run::<_, RunError, _>(&pool, move |_c| {
                if i == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                seen.lock().unwrap().push(i);
                Ok(i)
            })
        });
        let answers = rt.block_on(futures_util::future::join_all(reads));
        let expected: Vec<i32> = (0..20).collect();
        let answers: Vec<i32> = answers.into_iter().map(Result::unwrap).collect();
        assert_eq!(answers, expected);
        assert_eq!(*seen.lock().unwrap(), expected);
    }

    #[test]
    fn a_panicking_read_is_cancelled_and_its_thread_serves_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir);
        let readers = Readers::start(1).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let failed = rt.block_on(readers.run::<i64, RunError, _>(&pool, |_c| {
            panic!("a read that panics");
        }));
        assert!(matches!(failed, Err(RunError::Cancelled)), "{failed:?}");
        let answer = rt.block_on(readers.run::<i64, RunError, _>(&pool, |c| {
            use diesel::prelude::*;
            Ok(
                diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>("41 + 1"))
                    .get_result(c)?,
            )
        }));
        assert_eq!(answer.unwrap(), 42);
    }
}
