//! Group commit for SQLite's single writer.
//!
//! A SQLite commit in WAL mode appends every page the transaction changed to the log: a single
//! indicator create changes about ten pages (the row, its seven index entries, the owner's and
//! the feed's counters), and one transaction at a time spends most of its time in `BEGIN` …
//! `COMMIT`. Here concurrent writers queue their work and await their answer; one leader task
//! (started by the first writer to find none running) runs every queued piece of work in one
//! transaction, each inside its own savepoint, commits once and hands each caller its own
//! result, then takes the next group until the queue is empty. A failing piece rolls back to
//! its savepoint and leaves the others alone; a failed commit fails every piece of the group. The pages shared by the
//! group (counters, the right edge of each index) are written once per group instead of once
//! per request.
//!
//! PostgreSQL commits concurrently and needs none of this: [`write_grouped`] is `write_tx`
//! there. Only [`super::Db::upsert`] reaches it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;

use super::{Backend, DbConnection, DbPool, RunError, SQLITE_WRITER};

/// What a finished piece of work is told: `None` when the group committed.
type Finish = Box<dyn FnOnce(Option<&str>) + Send>;
/// Runs a piece of work: whether it succeeded, and how to finish it once the group is done.
type Run = Box<dyn FnOnce(&mut DbConnection) -> (bool, Finish) + Send>;

/// A queued piece of work.
struct Job {
    /// Runs on the leader's connection inside a savepoint and says whether it succeeded (else
    /// its savepoint is rolled back).
    run: Run,
    /// Fails the piece without running it (no connection, or the transaction could not
    /// begin).
    fail: Box<dyn FnOnce(Failed<'_>) + Send>,
}

/// Why a piece was not run.
enum Failed<'a> {
    /// The leader got no connection from the pool (answered like any other checkout failure).
    NoConnection(&'a str),
    /// The group's transaction could not begin, or its writer stopped.
    Group(&'a str),
}

/// Work waiting for the write turn, in arrival order: one queue per database (a server keeps
/// one in its state), since a leader runs every queued piece on its own connection.
pub(super) struct WriteQueue {
    waiting: Mutex<Waiting>,
    /// Only SQLite groups writes (see [`write_grouped`]).
    grouped: bool,
    /// Starts a leader on the queue's writer thread (SQLite; `None` if it could not start).
    ///
    /// On whichever blocking thread was free, each thread's malloc arena would keep the
    /// largest group it had written (the rows, the binds and SQLite's in-memory savepoint
    /// journal), and the server's memory would depend on how the leaders had been spread.
    /// One thread keeps one such peak.
    leader: Option<Sender<Lead>>,
}

/// What the writer thread needs to lead: the pool to take its connection from, and the queue.
type Lead = (DbPool, Arc<WriteQueue>);

#[derive(Default)]
struct Waiting {
    jobs: Vec<Job>,
    /// A leader task is running: it takes every piece queued before it finds the queue empty.
    leading: bool,
}

impl WriteQueue {
    /// The queue of a database on `backend`.
    pub(super) fn new(backend: Backend) -> Self {
        let grouped = backend == Backend::Sqlite;
        WriteQueue {
            waiting: Mutex::default(),
            grouped,
            leader: if grouped { writer_thread() } else { None },
        }
    }

    /// Starts a leader for `queue` (this queue) on the writer thread; gives the request back
    /// when there is no such thread.
    fn start_leader(&self, pool: DbPool, queue: Arc<WriteQueue>) -> Result<(), Lead> {
        match &self.leader {
            Some(tx) => tx.send((pool, queue)).map_err(|e| e.0),
            None => Err((pool, queue)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The most pieces of work one transaction takes: bounds how long the first caller of a
/// group waits for the last one.
const MAX_GROUP: usize = 64;

/// Runs `f` in a write transaction, like [`super::write_tx`] on a pooled connection, sharing
/// the transaction (and its commit) with the other writers queued at the same moment on
/// SQLite. `f` sees the writes of the pieces before it in its group, exactly as if they had
/// committed just before it.
///
/// A waiting caller holds no thread and no connection: it queues its piece and awaits the
/// answer. The first caller to find no leader starts one on the queue's writer thread: it
/// takes one pooled connection and runs groups until the queue is empty. (Were each caller to
/// wait on a blocking thread with a connection of its own, groups could be no larger than the
/// pool, and every caller would take the write turn just to collect its result.)
pub(super) async fn write_grouped<T, E, F>(
    pool: &DbPool,
    queue: &Arc<WriteQueue>,
    f: F,
) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<diesel::result::Error> + From<RunError> + Send + 'static,
{
    if !queue.grouped {
        return super::run(pool, move |c| super::write_tx(c, |tx| f(tx.conn()))).await;
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, E>>();
    // Exactly one of `run`'s finish and `fail` answers.
    let answer = Arc::new(Mutex::new(Some(tx)));
    let failed = answer.clone();
    let job = Job {
        run: Box::new(move |c| {
            let result = f(c);
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |commit_error| {
                let result = match (result, commit_error) {
                    (Ok(_), Some(message)) => Err(E::from(group_failed(message))),
                    (result, _) => result,
                };
                send(&answer, result);
            });
            (ok, finish)
        }),
        fail: Box::new(move |why| {
            let error = match why {
                Failed::NoConnection(message) => E::from(RunError::NoConnection(message.into())),
                Failed::Group(message) => E::from(group_failed(message)),
            };
            send(&failed, Err(error));
        }),
    };
    let start = {
        let mut waiting = queue.lock();
        waiting.jobs.push(job);
        !std::mem::replace(&mut waiting.leading, true)
    };
    if start {
        // Detached: the leader finishes the queue even if this caller goes away.
        if let Err((pool, queue)) = queue.start_leader(pool.clone(), queue.clone()) {
            drop(tokio::task::spawn_blocking(move || lead(&pool, &queue)));
        }
    }
    // A piece whose answer was dropped unsent panicked while running.
    rx.await
        .unwrap_or_else(|_| Err(E::from(group_failed("the write was lost"))))
}

/// The thread every leader of one queue runs on, one after the other; it ends when the queue
/// is dropped (its sender with it).
fn writer_thread() -> Option<Sender<Lead>> {
    let (tx, rx) = std::sync::mpsc::channel::<Lead>();
    let spawned = std::thread::Builder::new()
        .name("feedgate-write".into())
        .spawn(move || {
            while let Ok((pool, queue)) = rx.recv() {
                // A panic outside the pieces has already failed what was queued (`Resign`);
                // the thread goes on leading.
                let _ = catch_unwind(AssertUnwindSafe(|| lead(&pool, &queue)));
            }
        });
    match spawned {
        Ok(_) => Some(tx),
        Err(e) => {
            tracing::warn!(error = %e, "no writer thread: group leaders run on the blocking pool");
            None
        }
    }
}

/// The leader: runs groups until the queue is empty, taking the write turn for each group, so
/// the other writers of this process (imports, admin changes) get theirs in between.
fn lead(pool: &DbPool, queue: &WriteQueue) {
    let stop = Resign(queue);
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(e) => {
            let message = e.to_string();
            for job in stop.resign() {
                (job.fail)(Failed::NoConnection(&message));
            }
            return;
        }
    };
    loop {
        let jobs = {
            let mut waiting = queue.lock();
            if waiting.jobs.is_empty() {
                waiting.leading = false;
                std::mem::forget(stop);
                return;
            }
            let n = waiting.jobs.len().min(MAX_GROUP);
            waiting.jobs.drain(..n).collect::<Vec<_>>()
        };
        // A panic while writing poisons nothing we rely on: the transaction was rolled back.
        let _turn = SQLITE_WRITER.lock().unwrap_or_else(PoisonError::into_inner);
        run_group(&mut conn, queue, jobs);
    }
}

/// Ends a leader that stops early (no connection, or a panic outside the pieces): the queued
/// pieces are failed, and the next caller starts a new leader.
struct Resign<'a>(&'a WriteQueue);

impl Resign<'_> {
    /// Gives up the lead and returns what is still queued.
    fn resign(self) -> Vec<Job> {
        let jobs = abandon(self.0);
        std::mem::forget(self);
        jobs
    }
}

impl Drop for Resign<'_> {
    fn drop(&mut self) {
        for job in abandon(self.0) {
            (job.fail)(Failed::Group("the writer stopped"));
        }
    }
}

/// Clears the lead and takes every queued piece.
fn abandon(queue: &WriteQueue) -> Vec<Job> {
    let mut waiting = queue.lock();
    waiting.leading = false;
    std::mem::take(&mut waiting.jobs)
}

fn send<T>(answer: &Mutex<Option<tokio::sync::oneshot::Sender<T>>>, value: T) {
    if let Some(tx) = answer.lock().unwrap_or_else(PoisonError::into_inner).take() {
        // The caller may have gone (a closed connection); the write stands either way.
        let _ = tx.send(value);
    }
}

/// The error of a piece whose own work succeeded but whose group did not commit.
fn group_failed(message: &str) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(
        format!("the grouped transaction did not commit: {message}").into(),
    )
}

/// Runs `jobs` in one transaction, each in a savepoint, commits, and finishes each. Pieces
/// not run because the transaction broke go back to the front of the queue for their owners.
fn run_group(conn: &mut DbConnection, queue: &WriteQueue, jobs: Vec<Job>) {
    type Tm = <DbConnection as Connection>::TransactionManager;
    if jobs.is_empty() {
        return;
    }
    // Only SQLite groups (see `write_grouped`); the other arm keeps this total.
    let begun = match &mut *conn {
        DbConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")
        }
        other => Tm::begin_transaction(other),
    };
    if let Err(e) = begun {
        let message = e.to_string();
        for job in jobs {
            (job.fail)(Failed::Group(&message));
        }
        return;
    }
    let mut finished: Vec<Finish> = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    let mut broken: Option<String> = None;
    for job in jobs.by_ref() {
        if let Err(e) = conn.batch_execute("SAVEPOINT feedgate_group") {
            broken = Some(e.to_string());
            // This piece did not run: give it back with the rest.
            requeue(queue, std::iter::once(job));
            break;
        }
        match catch_unwind(AssertUnwindSafe(|| (job.run)(conn))) {
            Ok((true, finish)) => {
                finished.push(finish);
                if let Err(e) = conn.batch_execute("RELEASE feedgate_group") {
                    broken = Some(e.to_string());
                    break;
                }
            }
            Ok((false, finish)) => {
                finished.push(finish);
                if let Err(e) =
                    conn.batch_execute("ROLLBACK TO feedgate_group; RELEASE feedgate_group")
                {
                    // SQLite rolled the whole transaction back (a full disk, an I/O error).
                    broken = Some(e.to_string());
                    break;
                }
            }
            // The piece panicked: its caller gets no result and reports the write lost.
            Err(_) => {
                if let Err(e) =
                    conn.batch_execute("ROLLBACK TO feedgate_group; RELEASE feedgate_group")
                {
                    broken = Some(e.to_string());
                    break;
                }
            }
        }
    }
    requeue(queue, jobs);
    let outcome = match broken {
        Some(message) => {
            let _ = Tm::rollback_transaction(conn);
            Err(message)
        }
        None => Tm::commit_transaction(conn).map_err(|e| {
            let _ = Tm::rollback_transaction(conn);
            e.to_string()
        }),
    };
    let error = outcome.err();
    for finish in finished {
        finish(error.as_deref());
    }
}

/// Puts pieces back at the front of the queue, in order.
fn requeue(queue: &WriteQueue, jobs: impl Iterator<Item = Job>) {
    let mut waiting = queue.lock();
    let rest = std::mem::take(&mut waiting.jobs);
    waiting.jobs.extend(jobs);
    waiting.jobs.extend(rest);
}

#[cfg(test)]
mod tests;
