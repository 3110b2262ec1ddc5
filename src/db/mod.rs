//! The one database layer: a diesel `MultiConnection` over SQLite and PostgreSQL, chosen by URL
//! scheme, pooled with r2d2; the server's handle [`Db`] (`handle.rs`), behind which the reader
//! threads, the SQLite group commit and the long-read connections stay private; and for the
//! CLI and tests, [`connect`] (a pool) and [`write_tx`]. Nothing above this module names a
//! concrete backend except where SQL must differ (`on_backend!`, in `models/`), and nothing
//! here knows about HTTP.

pub mod checkpoint;
mod dedicated;
mod group;
mod handle;
mod long_read;
pub mod migrate;
mod reads;
pub mod schema;
mod setup;
pub mod sql;
pub mod time;
mod url;
mod write;

use dedicated::run_dedicated;
pub use handle::{Db, LostRace, PoolUsage, Walk};
pub use url::DatabaseUrl;
use url::one_line;
use write::SQLITE_WRITER;
pub use write::{WriteTx, write_tx};

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};

/// The connection type every model function takes.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs the same diesel expression on the concrete connection of either backend, for the
/// statements `MultiConnection` cannot express (`RETURNING`, multi-row inserts, `ON CONFLICT`).
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Postgresql($c) => $body,
        }
    };
}

/// A pool of [`DbConnection`]s for one database URL.
pub type DbPool = Pool<ConnectionManager>;
/// A connection checked out of a [`DbPool`].
pub type PooledConn = PooledConnection<ConnectionManager>;

/// Which engine a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The name used in `/api/health` and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Reader threads (`reads`) when the settings name none: on SQLite one more than the CPUs
    /// (a read there is CPU work: more threads only share the cores and lengthen the tail, one
    /// spare keeps a slow read from stalling a core's queue), on PostgreSQL one per pooled
    /// connection (a read there mostly waits for the server).
    pub fn default_read_threads(self, cpus: usize, pool_size: u32) -> usize {
        match self {
            Backend::Sqlite => cpus + 1,
            Backend::Postgres => pool_size as usize,
        }
    }
}

impl DbConnection {
    /// The engine behind this connection.
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgresql(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Why a database URL was refused or the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "unsupported database URL scheme in {0:?}: use sqlite://PATH or postgres://USER:PASSWORD@HOST/DB"
    )]
    UnsupportedScheme(String),
    #[error(
        "the SQLite URL names no file: use sqlite://PATH (an in-memory database would differ per pooled connection)"
    )]
    NoSqlitePath,
    #[error("cannot open SQLite database {path}: {reason}")]
    Sqlite { path: String, reason: String },
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    Postgres { target: String, reason: String },
    #[error("cannot prepare the database connection: {0}")]
    Setup(String),
    #[error("cannot start the reader threads: {0}")]
    Threads(std::io::Error),
}

/// Our r2d2 manager: connects by URL scheme and applies the per-backend settings to each connection.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    statement_timeout: Duration,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConnection, ConnectError> {
        let mut conn = self.url.establish()?;
        if let DbConnection::Postgresql(c) = &mut conn {
            // Spec §10: no query may hold a pooled connection longer than this on PostgreSQL.
            // SQLite queries cannot be interrupted through diesel and are bounded by design.
            setup::statement_timeout(c, self.statement_timeout)
                .map_err(|e| ConnectError::Setup(one_line(&e.to_string())))?;
        }
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectError> {
        ping(conn).map_err(|e| ConnectError::Setup(e.to_string()))
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        match conn {
            DbConnection::Postgresql(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
            DbConnection::Sqlite(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
        }
    }
}

/// Runs the cheapest possible statement.
pub fn ping(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_size: u32,
    pub checkout_timeout: Duration,
    /// PostgreSQL `statement_timeout` of pooled connections.
    pub statement_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            checkout_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens the database, migrates it and returns a pool. A first direct connection reports a
/// bad path or an unreachable server at once, instead of after the pool's retry timeout.
pub fn connect(url: &DatabaseUrl, options: PoolOptions) -> Result<DbPool, ConnectError> {
    let mut first = url.establish()?;
    migrate::run(&mut first).map_err(|e| ConnectError::Setup(one_line(&e.to_string())))?;
    drop(first);
    Pool::builder()
        .max_size(options.max_size)
        // r2d2 would run `SELECT 1` before every checkout; a broken connection is detected by
        // `has_broken` and by the failing query itself (which answers 503), so skip the probe.
        .test_on_check_out(false)
        .min_idle(Some(1))
        .connection_timeout(options.checkout_timeout)
        // r2d2 logs connection errors itself; we report them through our own error type.
        .error_handler(Box::new(diesel::r2d2::NopErrorHandler))
        .build(ConnectionManager {
            url: url.clone(),
            statement_timeout: options.statement_timeout,
        })
        .map_err(|e| ConnectError::Setup(one_line(&e.to_string())))
}

/// Why `run` could not give the closure a connection.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("no database connection available: {0}")]
    Checkout(#[from] diesel::r2d2::PoolError),
    #[error("no database connection available: {0}")]
    NoConnection(String),
    #[error("database task was cancelled")]
    Cancelled,
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// Runs `f` with a pooled connection on the blocking thread pool, so the async workers never
/// wait on the database. The checkout happens on the blocking thread too.
async fn run<T, E, F>(pool: &DbPool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<RunError> + Send + 'static,
{
    let pool = pool.clone();
    let task = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().map_err(RunError::from)?;
        f(&mut conn)
    });
    match task.await {
        Ok(result) => result,
        Err(_) => Err(E::from(RunError::Cancelled)),
    }
}
