//! Moving SQLite's WAL checkpoints off the writer during a long import.
//!
//! By default the connection whose commit takes the WAL past 1,000 pages copies the WAL back
//! into the database file itself, inside that commit: a fifth of a wide-row import's CPU,
//! on the one thread that writes. While an import runs, a helper thread with its own
//! connection checkpoints instead (`PASSIVE`: it never blocks the writer or readers), on the
//! other core, and the writer's own checkpoints are pushed far out as a safety net.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::DbConnection;

/// How often the helper checkpoints.
const EVERY: Duration = Duration::from_millis(25);
/// The writer's own threshold while the helper runs (pages; SQLite's default is 1,000).
const WRITER_PAGES: u32 = 50_000;

/// A running helper; dropping it stops the helper and restores the writer's setting.
pub struct BackgroundCheckpoint {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

#[derive(QueryableByName)]
struct DatabaseFile {
    #[diesel(sql_type = Text)]
    file: String,
}

impl BackgroundCheckpoint {
    /// Starts a helper for the database of `writer` (SQLite only; `None` on PostgreSQL or when
    /// the file cannot be opened a second time, which only costs the speed-up).
    pub fn start(writer: &mut DbConnection) -> Option<BackgroundCheckpoint> {
        let DbConnection::Sqlite(conn) = writer else {
            return None;
        };
        let files: Vec<DatabaseFile> =
            diesel::sql_query("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .load(conn)
                .ok()?;
        let path = files.into_iter().next()?.file;
        if path.is_empty() {
            return None;
        }
        let mut helper = SqliteConnection::establish(&path).ok()?;
        helper.batch_execute("PRAGMA busy_timeout = 5000").ok()?;
        conn.batch_execute(&format!("PRAGMA wal_autocheckpoint = {WRITER_PAGES}"))
            .ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EVERY);
                    if let Err(e) = helper.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                        tracing::debug!(error = %e, "background checkpoint failed");
                    }
                }
            })
            .ok();
        Some(BackgroundCheckpoint { stop, handle })
    }

    /// Stops the helper and gives the writer back SQLite's default threshold.
    pub fn finish(mut self, writer: &mut DbConnection) {
        self.halt();
        if let DbConnection::Sqlite(conn) = writer {
            // Failing to restore only leaves this connection checkpointing less often.
            let _ = conn.batch_execute("PRAGMA wal_autocheckpoint = 1000");
        }
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for BackgroundCheckpoint {
    fn drop(&mut self) {
        self.halt();
    }
}
