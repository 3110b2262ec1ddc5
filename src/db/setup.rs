//! Per-connection settings applied when the pool opens a connection.

use diesel::connection::SimpleConnection;
use diesel::{PgConnection, QueryResult, SqliteConnection};

/// WAL lets readers run beside the one writer; busy_timeout makes a writer wait for the lock
/// instead of failing; NORMAL sync is durable across process crashes in WAL mode. Temporary
/// storage in memory: a grouped write's savepoint journal (~80 KiB for a single create) would
/// otherwise go to a temporary file past SQLite's 64 KiB in-memory threshold.
///
/// The page size only takes effect on a new, empty database (it must come before WAL mode
/// writes the header) and is ignored afterwards. 8 KiB instead of SQLite's 4 KiB: an indicator
/// imported from a Shadowserver report carries 1.5-2.5 KB of content, so a 4 KiB page held one
/// such row and left the rest empty; 8 KiB pages hold three.
pub fn sqlite(conn: &mut SqliteConnection) -> QueryResult<()> {
    conn.batch_execute(
        "PRAGMA page_size = 8192; PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
    )
}

/// Times are stored as UTC `timestamp`; pinning the session zone keeps `now()`-free SQL honest.
pub fn postgres(conn: &mut PgConnection) -> QueryResult<()> {
    conn.batch_execute("SET TIME ZONE 'UTC'")
}

/// Bounds every statement of a pooled connection (the migration connection is not bounded).
pub fn statement_timeout(conn: &mut PgConnection, timeout: std::time::Duration) -> QueryResult<()> {
    conn.batch_execute(&format!(
        "SET statement_timeout = {}",
        timeout.as_millis().max(1)
    ))
}
