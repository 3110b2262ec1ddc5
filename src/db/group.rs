//! Group commit for SQLite's single writer.
//!
//! A SQLite commit in WAL mode appends every page the transaction changed to the log: a single
//! indicator create changes about ten pages (the row, its seven index entries, the owner's and
//! the feed's counters) and spent most of its ~550 µs in `BEGIN` … `COMMIT`, one transaction at
//! a time. Here concurrent writers queue their work; whoever gets the write turn runs every
//! queued piece of work in one transaction, each inside its own savepoint, commits once and
//! hands each caller its own result. A failing piece rolls back to its savepoint and leaves
//! the others alone; a failed commit fails every piece of the group. The pages shared by the
//! group (counters, the right edge of each index) are written once per group instead of once
//! per request.
//!
//! PostgreSQL commits concurrently and needs none of this: [`write_grouped`] is `write_tx`
//! there.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;

use super::{DbConnection, SQLITE_WRITER};

/// What a finished piece of work is told: `None` when the group committed.
type Finish = Box<dyn FnOnce(Option<&str>) + Send>;
/// Runs a piece of work: whether it succeeded, and how to finish it once the group is done.
type Run = Box<dyn FnOnce(&mut DbConnection) -> (bool, Finish) + Send>;

/// A queued piece of work.
struct Job {
    /// Wakes the piece's caller: its result is in, or it is to lead the next group.
    signal: Arc<Signal>,
    /// Runs on the leader's connection inside a savepoint and says whether it succeeded (else
    /// its savepoint is rolled back).
    run: Run,
    /// Fails the piece without running it (the transaction could not begin).
    fail: Box<dyn FnOnce(&str) + Send>,
}

/// Work waiting for the write turn, in arrival order: one queue per database (a server keeps
/// one in its state), since a leader runs every queued piece on its own connection.
#[derive(Default)]
pub struct WriteQueue(Mutex<Waiting>);

#[derive(Default)]
struct Waiting {
    jobs: Vec<Job>,
    /// A caller is leading (running groups, or about to): the others wait on their signal.
    leading: bool,
}

impl WriteQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How a leader wakes a waiting caller.
#[derive(Default)]
struct Signal {
    state: Mutex<Wake>,
    cv: Condvar,
}

#[derive(Default, Clone, Copy)]
struct Wake {
    /// The piece's result is in its slot.
    done: bool,
    /// The caller is to lead the next group.
    lead: bool,
}

impl Signal {
    fn set(&self, change: impl FnOnce(&mut Wake)) {
        change(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
        self.cv.notify_one();
    }

    fn wait(&self) -> Wake {
        let guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        *self
            .cv
            .wait_while(guard, |w| !w.done && !w.lead)
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn is_done(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .done
    }
}

/// The most pieces of work one transaction takes: bounds how long the first caller of a
/// group waits for the last one.
const MAX_GROUP: usize = 64;

/// Runs `f` in a write transaction, like [`super::write_tx`], sharing the transaction (and its
/// commit) with the other writers queued at the same moment on SQLite. `f` sees the writes of
/// the pieces before it in its group, exactly as if they had committed just before it.
pub fn write_grouped<T, E, F>(conn: &mut DbConnection, queue: &WriteQueue, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<diesel::result::Error> + Send + 'static,
{
    if !matches!(conn, DbConnection::Sqlite(_)) {
        return super::write_tx(conn, f);
    }
    type Slot<T, E> = Arc<Mutex<Option<Result<T, E>>>>;
    let slot: Slot<T, E> = Arc::new(Mutex::new(None));
    let filled = slot.clone();
    let failed = slot.clone();
    let signal = Arc::new(Signal::default());
    let (on_finish, on_fail) = (signal.clone(), signal.clone());
    let job = Job {
        signal: signal.clone(),
        run: Box::new(move |c| {
            let result = f(c);
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |commit_error| {
                let result = match (result, commit_error) {
                    (Ok(_), Some(message)) => Err(E::from(group_failed(message))),
                    (result, _) => result,
                };
                put(&filled, result);
                on_finish.set(|w| w.done = true);
            });
            (ok, finish)
        }),
        fail: Box::new(move |message| {
            put(&failed, Err(E::from(group_failed(message))));
            on_fail.set(|w| w.done = true);
        }),
    };
    // Whoever finds no leader leads; the others sleep until a leader hands them their result
    // (all of a group's callers wake at once, instead of taking the write turn one after the
    // other just to collect it) or the lead.
    let lead_now = {
        let mut waiting = queue.lock();
        waiting.jobs.push(job);
        !std::mem::replace(&mut waiting.leading, true)
    };
    if lead_now || signal.wait().lead {
        lead(conn, queue, &signal);
    }
    take(&slot).unwrap_or_else(|| Err(E::from(group_failed("the write was lost"))))
}

/// Runs groups until the queue is empty or this caller's own piece is done; then gives the
/// lead to the first caller still waiting, if any.
fn lead(conn: &mut DbConnection, queue: &WriteQueue, own: &Signal) {
    // A panic while writing poisons nothing we rely on: the transaction was rolled back.
    let _turn = SQLITE_WRITER.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let jobs = {
            let mut waiting = queue.lock();
            if waiting.jobs.is_empty() {
                waiting.leading = false;
                return;
            }
            if own.is_done() {
                // Leading on would keep this caller's answer waiting behind other requests.
                waiting.jobs[0].signal.set(|w| w.lead = true);
                return;
            }
            let n = waiting.jobs.len().min(MAX_GROUP);
            waiting.jobs.drain(..n).collect::<Vec<_>>()
        };
        run_group(conn, queue, jobs);
    }
}

fn put<T>(slot: &Mutex<Option<T>>, value: T) {
    *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
}

fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(PoisonError::into_inner).take()
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
            (job.fail)(&message);
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
        let Job {
            run,
            signal: job_signal,
            ..
        } = job;
        match catch_unwind(AssertUnwindSafe(|| run(conn))) {
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
                job_signal.set(|w| w.done = true);
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
