//! [`Db`]: the server's one handle on the database, whose methods say what the work is, so
//! the choice of threads, connections and serialisation lives here and nowhere above:
//!
//! - [`Db::read`]: a short read, on the reader threads (`reads`);
//! - [`Db::write`]: one write transaction (`write_tx`) on a pooled connection;
//! - [`Db::upsert`]: a write that races other writers for the same rows: shares a commit with
//!   the concurrent ones on SQLite (`group`) and is run again once when it lost the race;
//! - [`Db::walk`]: a long read in steps (an export), on a connection of its own from its second
//!   step (`long_read`);
//! - [`Db::long_write`]: work that runs for seconds or minutes (an import), on a connection
//!   outside the pool (`dedicated`);
//! - [`Db::run`]: a blocking call on a pooled connection outside the read queue, for work
//!   that mixes reads with short write transactions of its own (the admission: a token's
//!   resolution, then the day's count, each write in [`super::write_tx`]), does something
//!   slow before its transaction (hashing a password), or must not wait behind the reads
//!   (health, housekeeping).
//!
//! The CLI and the tests take a pool from [`super::connect`] and call model functions on a
//! checked-out connection, inside [`super::write_tx`] when they write.

use std::sync::Arc;
use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::group::{WriteQueue, write_grouped};
use super::long_read::{LongRead, run_long};
use super::reads::Readers;
use super::{
    Backend, ConnectError, DatabaseUrl, DbConnection, DbPool, PoolOptions, RunError, WriteTx,
    connect, run_dedicated, write_tx,
};

/// The server's handle on one database: the pool, the reader threads, the SQLite group
/// commit's queue and what a connection outside the pool needs. Cloning it allocates nothing;
/// the threads end when the last clone is dropped.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    url: Arc<DatabaseUrl>,
    statement_timeout: Duration,
    writes: Arc<WriteQueue>,
    readers: Readers,
}

/// The connection of one walk ([`Db::walk`]) between its steps; start each walk with
/// `Walk::default()`.
#[derive(Default)]
pub struct Walk {
    begun: bool,
    long: Option<LongRead>,
}

/// How many connections the pool has, for metrics.
#[derive(Debug, Clone, Copy)]
pub struct PoolUsage {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
}

/// Errors of a write that lost a race to a concurrent writer: the same transaction run again
/// sees the winner's rows and succeeds ([`Db::upsert`]).
pub trait LostRace {
    /// Whether this error says another writer got there first: a unique or foreign key
    /// violation (both saw no row; the index refused the second insert), or PostgreSQL
    /// breaking a lock cycle between concurrent upserts of the same values.
    fn lost_race(&self) -> bool;
}

impl LostRace for DieselError {
    fn lost_race(&self) -> bool {
        match self {
            DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ForeignKeyViolation,
                _,
            ) => true,
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => false,
            DieselError::DatabaseError(_, info) => info.message().contains("deadlock detected"),
            _ => false,
        }
    }
}

impl LostRace for RunError {
    fn lost_race(&self) -> bool {
        matches!(self, RunError::Query(e) if e.lost_race())
    }
}

impl Db {
    /// Connects and migrates (see [`connect`]), then starts `read_threads` reader threads and,
    /// on SQLite, the group commit's writer thread.
    pub fn start(
        url: &DatabaseUrl,
        options: PoolOptions,
        read_threads: usize,
    ) -> Result<Db, ConnectError> {
        let pool = connect(url, options)?;
        Ok(Db {
            pool,
            url: Arc::new(url.clone()),
            statement_timeout: options.statement_timeout,
            writes: Arc::new(WriteQueue::new(url.backend())),
            readers: Readers::start(read_threads).map_err(ConnectError::Threads)?,
        })
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    /// The pool's connections as of now.
    pub fn pool_usage(&self) -> PoolUsage {
        let state = self.pool.state();
        PoolUsage {
            connections: state.connections,
            idle: state.idle_connections,
            max: self.pool.max_size(),
        }
    }

    /// Runs a short read on a reader thread, after the reads queued before it.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<RunError> + Send + 'static,
    {
        self.readers.run(&self.pool, f).await
    }

    /// Runs `f` in one write transaction on a pooled connection (on SQLite `BEGIN IMMEDIATE`
    /// in this process's write turn): an error rolls everything back. It runs once.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DieselError> + From<RunError> + Send + 'static,
    {
        super::run(&self.pool, move |c| write_tx(c, f)).await
    }

    /// Runs `f` in a write transaction that inserts or merges rows other writers may insert at
    /// the same moment (indicator create and bulk). On SQLite it shares one transaction and
    /// commit with the writers queued alongside it, in a savepoint of its own (`group`); on
    /// PostgreSQL it is a transaction of its own. When it lost the race ([`LostRace`]), its
    /// transaction was rolled back and it runs once more, now seeing the winner's rows: `f`
    /// is `Fn` because it may run twice, so it must touch nothing but the database.
    pub async fn upsert<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: Fn(&mut WriteTx<'_>) -> Result<T, E> + Clone + Send + 'static,
        T: Send + 'static,
        E: From<DieselError> + From<RunError> + LostRace + Send + 'static,
    {
        // `write_grouped` runs each piece inside the transaction (a savepoint of it on SQLite).
        let in_tx = |f: F| move |c: &mut DbConnection| f(&mut WriteTx::new(c));
        match write_grouped(&self.pool, &self.writes, in_tx(f.clone())).await {
            Err(e) if e.lost_race() => write_grouped(&self.pool, &self.writes, in_tx(f)).await,
            other => other,
        }
    }

    /// Runs one step of a long read (a page of an export). The first step of a `walk` runs on
    /// a pooled connection, as most walks have only one; from the second on, a SQLite walk
    /// keeps a connection of its own with a larger page cache (`long_read`), or uses the pool
    /// when none can be had.
    pub async fn walk<T, E, F>(&self, walk: &mut Walk, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<RunError> + Send + 'static,
    {
        if !walk.begun {
            walk.begun = true;
            return super::run(&self.pool, f).await;
        }
        run_long(&self.pool, &self.url, &mut walk.long, f).await
    }

    /// Runs `f` (an import) on a connection opened for it and closed after, outside the pool,
    /// so work that takes minutes never holds a connection the short requests need. `f`
    /// writes through [`super::write_tx`]; how many run at once is bounded by the caller.
    pub async fn long_write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<RunError> + Send + 'static,
    {
        run_dedicated(&self.url, self.statement_timeout, f).await
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, outside the read queue
    /// and without a transaction: writes in it open their own with [`super::write_tx`] (see
    /// the module's list for what it is for).
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<RunError> + Send + 'static,
    {
        super::run(&self.pool, f).await
    }

    /// Runs the cheapest statement on a pooled connection: whether the database answers.
    pub async fn ping(&self) -> Result<(), RunError> {
        super::run(&self.pool, |c| super::ping(c).map_err(RunError::from)).await
    }

    /// Runs `f` in one write transaction on the calling thread, for startup work done before
    /// the server runs (the first admin).
    pub fn write_now<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut WriteTx<'_>) -> Result<T, E>,
        E: From<DieselError> + From<RunError>,
    {
        let mut conn = self.pool.get().map_err(RunError::from)?;
        write_tx(&mut conn, f)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::*;

    fn db(dir: &tempfile::TempDir) -> Db {
        let url = DatabaseUrl::Sqlite(dir.path().join("handle.db"));
        let db = Db::start(&url, PoolOptions::default(), 1).unwrap();
        db.write_now(|c| {
            c.batch_execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
                .map_err(RunError::from)
        })
        .unwrap();
        db
    }

    fn rows(db: &Db, rt: &tokio::runtime::Runtime) -> i64 {
        rt.block_on(db.read(|c| {
            diesel::select(diesel::dsl::sql::<BigInt>("(SELECT count(*) FROM t)"))
                .get_result::<i64>(c)
                .map_err(RunError::from)
        }))
        .unwrap()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn a_read_runs_on_a_reader_thread() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(&dir);
        let name = runtime()
            .block_on(
                db.read(|_| Ok::<_, RunError>(std::thread::current().name().map(str::to_string))),
            )
            .unwrap();
        assert_eq!(name.as_deref(), Some("feedgate-read-0"));
    }

    #[test]
    fn a_write_that_fails_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(&dir);
        let rt = runtime();
        let failed: Result<(), RunError> = rt.block_on(db.write(|c| {
            c.batch_execute("INSERT INTO t VALUES (1)")?;
            Err(RunError::Query(DieselError::NotFound))
        }));
        assert!(failed.is_err());
        assert_eq!(rows(&db, &rt), 0);
        let failed: Result<(), RunError> = rt.block_on(db.upsert(|c| {
            c.batch_execute("INSERT INTO t VALUES (1)")?;
            Err(RunError::Query(DieselError::NotFound))
        }));
        assert!(failed.is_err());
        assert_eq!(rows(&db, &rt), 0);
        rt.block_on(db.write(|c| {
            c.batch_execute("INSERT INTO t VALUES (1)")
                .map_err(RunError::from)
        }))
        .unwrap();
        assert_eq!(rows(&db, &rt), 1);
    }

    #[test]
    fn an_upsert_runs_again_only_when_it_lost_a_race() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(&dir);
        let rt = runtime();
        rt.block_on(db.write(|c| {
            c.batch_execute("INSERT INTO t VALUES (1)")
                .map_err(RunError::from)
        }))
        .unwrap();
        let attempts = Arc::new(AtomicUsize::new(0));
        let upsert = |sql: &'static str| {
            let attempts = attempts.clone();
            attempts.store(0, Ordering::SeqCst);
            rt.block_on(db.upsert(move |c| {
                attempts.fetch_add(1, Ordering::SeqCst);
                c.batch_execute(sql).map_err(RunError::from)
            }))
        };
        // A unique violation is what a lost race looks like: run once more.
        let duplicate = upsert("INSERT INTO t VALUES (1)");
        assert!(
            matches!(&duplicate, Err(e) if e.lost_race()),
            "{duplicate:?}"
        );
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
        // Any other error is final.
        let broken = upsert("INSERT INTO no_such_table VALUES (1)");
        assert!(matches!(&broken, Err(e) if !e.lost_race()), "{broken:?}");
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
        assert!(upsert("INSERT INTO t VALUES (2)").is_ok());
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
        assert_eq!(rows(&db, &rt), 2);
    }

    #[test]
    fn a_walk_s_first_step_runs_on_the_pool() {
        // Later steps open a long read's connection: `long_read`'s own test counts those
        // slots, so this binary opens none elsewhere.
        let dir = tempfile::tempdir().unwrap();
        let db = db(&dir);
        let mut walk = Walk::default();
        let answer = runtime()
            .block_on(db.walk(&mut walk, |c| super::super::ping(c).map_err(RunError::from)));
        assert!(answer.is_ok(), "{answer:?}");
        assert!(walk.begun && walk.long.is_none());
    }
}
