//! The one write path: [`write_tx`] opens a write transaction and hands the closure a
//! [`WriteTx`], the type every model function that writes takes. [`super::Db::write`] and
//! [`super::Db::upsert`] (through `group`) reach the database the same way.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;

use super::DbConnection;

/// SQLite admits one writer at a time. Writers of this process queue here, so a waiting
/// thread wakes the moment the lock is free; contending on SQLite's own lock instead makes
/// its busy handler sleep in steps of 1–100 ms, which ruins latency under load. Other
/// processes on the same file still meet SQLite's lock and `busy_timeout`.
pub(super) static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A connection inside a write transaction of this process's making ([`write_tx`],
/// [`super::Db::write`], [`super::Db::upsert`]): model functions that write take one, so a write that is not
/// serialised does not compile. It dereferences to the connection, for the reads of the same
/// transaction.
///
/// ```compile_fail
/// // A model write outside a transaction is refused by the compiler.
/// fn unserialised(c: &mut feedgate::db::DbConnection) {
///     let _ = feedgate::models::feed::delete(c, 1);
/// }
/// ```
///
/// ```compile_fail
/// // So is a request count.
/// fn uncounted(c: &mut feedgate::db::DbConnection, day: chrono::NaiveDate) {
///     let _ = feedgate::models::daily::add(c, "u:1", day, 1);
/// }
/// ```
pub struct WriteTx<'a> {
    conn: &'a mut DbConnection,
}

impl<'a> WriteTx<'a> {
    /// Only `db/` opens transactions.
    pub(super) fn new(conn: &'a mut DbConnection) -> Self {
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
