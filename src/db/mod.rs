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

use dedicated::run_dedicated;
pub use handle::{Db, LostRace, PoolUsage, Walk};

use std::fmt;
use std::path::PathBuf;
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

/// A parsed `--database-url`: `sqlite://PATH` or `postgres://…` / `postgresql://…`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
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

impl DatabaseUrl {
    /// Parses a URL by its scheme; anything but SQLite or PostgreSQL is an error.
    pub fn parse(raw: &str) -> Result<Self, ConnectError> {
        let raw = raw.trim();
        if let Some(rest) = raw.strip_prefix("sqlite://") {
            if rest.is_empty() || rest == ":memory:" || rest.starts_with("file::memory:") {
                return Err(ConnectError::NoSqlitePath);
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(rest)));
        }
        let lower = raw.get(..13).unwrap_or(raw).to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.to_string()));
        }
        // Show only the scheme: the rest may hold a password.
        let scheme = raw
            .split("://")
            .next()
            .unwrap_or("")
            .chars()
            .take(32)
            .collect::<String>();
        Err(ConnectError::UnsupportedScheme(format!("{scheme}://")))
    }

    /// The backend this URL selects.
    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// A description safe to log: the SQLite path, or the PostgreSQL host and database without credentials.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                let after_at = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                let without_query = after_at.split('?').next().unwrap_or(after_at);
                format!("{scheme}://{without_query}")
            }
        }
    }

    /// Opens one connection, with the per-backend settings applied.
    pub fn establish(&self) -> Result<DbConnection, ConnectError> {
        match self {
            DatabaseUrl::Sqlite(path) => {
                let text = path.to_string_lossy().into_owned();
                let mut conn = diesel::SqliteConnection::establish(&text).map_err(|e| {
                    ConnectError::Sqlite {
                        path: text.clone(),
                        reason: one_line(&e.to_string()),
                    }
                })?;
                setup::sqlite(&mut conn).map_err(|e| ConnectError::Sqlite {
                    path: text,
                    reason: one_line(&e.to_string()),
                })?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = diesel::PgConnection::establish(&with_connect_timeout(url))
                    .map_err(|e| ConnectError::Postgres {
                        target: self.redacted(),
                        reason: one_line(&e.to_string()),
                    })?;
                setup::postgres(&mut conn)
                    .map_err(|e| ConnectError::Setup(one_line(&e.to_string())))?;
                Ok(DbConnection::Postgresql(conn))
            }
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// libpq waits minutes for an unreachable host unless told otherwise.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}connect_timeout=5")
}

/// Error texts from libpq span lines; a startup error is one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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

/// SQLite admits one writer at a time. Writers of this process queue here, so a waiting
/// thread wakes the moment the lock is free; contending on SQLite's own lock instead makes
/// its busy handler sleep in steps of 1–100 ms, which ruins latency under load. Other
/// processes on the same file still meet SQLite's lock and `busy_timeout`.
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A connection inside a write transaction of this process's making ([`write_tx`],
/// [`Db::write`], [`Db::upsert`]): model functions that write take one, so a write that is not
/// serialised does not compile. It dereferences to the connection, for the reads of the same
/// transaction.
///
/// ```compile_fail
/// // A model write outside a transaction is refused by the compiler.
/// fn unserialised(c: &mut feedgate::db::DbConnection) {
///     let _ = feedgate::models::feed::delete(c, 1);
/// }
/// ```
pub struct WriteTx<'a> {
    conn: &'a mut DbConnection,
}

impl<'a> WriteTx<'a> {
    /// Only `db/` opens transactions.
    fn new(conn: &'a mut DbConnection) -> Self {
        WriteTx { conn }
    }

    /// The connection, for the statements of a model function that writes.
    pub fn conn(&mut self) -> &mut DbConnection {
        self.conn
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        self.conn
    }
}

impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut DbConnection {
        self.conn
    }
}

/// Runs `f` in a write transaction. On SQLite it takes the write lock up front (`BEGIN
/// IMMEDIATE`), so a read-then-write transaction cannot fail with SQLITE_BUSY half-way through
/// when another writer got there first; on PostgreSQL it is a plain transaction.
pub fn write_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    E: From<diesel::result::Error>,
    F: FnOnce(&mut WriteTx<'_>) -> Result<T, E>,
{
    type Tm = <DbConnection as Connection>::TransactionManager;
    if let DbConnection::Sqlite(c) = conn {
        // A panic while writing poisons nothing we rely on: the transaction was rolled back.
        let _turn = SQLITE_WRITER.lock().unwrap_or_else(|p| p.into_inner());
        AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
        let result = f(&mut WriteTx::new(conn));
        return match result {
            Ok(value) => Tm::commit_transaction(conn)
                .map(|()| value)
                .map_err(E::from),
            Err(e) => {
                Tm::rollback_transaction(conn)?;
                Err(e)
            }
        };
    }
    conn.transaction(|c| f(&mut WriteTx::new(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./feedgate.db").ok(),
            Some(DatabaseUrl::Sqlite(PathBuf::from("./feedgate.db")))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/fg.db").ok(),
            Some(DatabaseUrl::Sqlite(PathBuf::from("/var/lib/fg.db")))
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u:p@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("PostgreSQL://h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("mysql://u:p@h/db"),
            Err(ConnectError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("feedgate.db"),
            Err(ConnectError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("sqlite://"),
            Err(ConnectError::NoSqlitePath)
        ));
        assert!(matches!(
            DatabaseUrl::parse("sqlite://:memory:"),
            Err(ConnectError::NoSqlitePath)
        ));
    }

    #[test]
    fn redaction_drops_credentials() {
        let url =
            DatabaseUrl::parse("postgres://app:s3cret@db.example:5432/fg?sslmode=disable").unwrap();
        assert_eq!(url.redacted(), "postgres://db.example:5432/fg");
        assert!(!format!("{url:?}").contains("s3cret"));
        let err = DatabaseUrl::parse("mysql://app:s3cret@h/db").err().unwrap();
        assert!(!err.to_string().contains("s3cret"));
    }

    #[test]
    fn a_connect_timeout_is_added_once() {
        assert_eq!(
            with_connect_timeout("postgres://h/db"),
            "postgres://h/db?connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?a=b"),
            "postgres://h/db?a=b&connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?connect_timeout=2"),
            "postgres://h/db?connect_timeout=2"
        );
    }
}
