//! A connection of its own for a read that walks a large part of a table in index order (a
//! whole-feed export): such a walk looks up one table row per index entry, and on SQLite the
//! pool's connections keep a 2 MiB page cache each, too small to hold the table pages a walk
//! comes back to, so nearly every row was a `pread` of a page read moments before (half of an
//! export's CPU at 1M stored). A long read gets a connection outside the pool with a larger
//! cache, for the length of the walk; closing it gives the cache back.
//!
//! Only a few run at once (each costs its cache); the rest, and every read on PostgreSQL
//! (whose server keeps the shared buffers), use the pool as before.

use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::connection::SimpleConnection;

use super::{DatabaseUrl, DbConnection, DbPool, RunError};

/// Page cache of a long read's connection, in KiB.
const CACHE_KIB: u32 = 16 * 1024;
/// Long reads with a connection of their own at one time (2 × 16 MiB at most).
const MAX_OPEN: usize = 2;

static OPEN: AtomicUsize = AtomicUsize::new(0);

/// The connection of one long read; the slot is returned when it is dropped.
pub(super) struct LongRead {
    conn: DbConnection,
}

impl LongRead {
    /// Opens a connection for a long read, or `None` when the backend does not need one, all
    /// slots are taken or the database cannot be opened (the caller then uses the pool).
    fn open(url: &DatabaseUrl) -> Option<Self> {
        if !matches!(url, DatabaseUrl::Sqlite(_)) {
            return None;
        }
        OPEN.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < MAX_OPEN).then_some(n + 1)
        })
        .ok()?;
        // From here the slot is ours: `Self`'s drop (or the failure below) returns it.
        let conn = url.establish().ok().and_then(|mut conn| {
            conn.batch_execute(&format!("PRAGMA cache_size = -{CACHE_KIB}"))
                .ok()
                .map(|()| conn)
        });
        match conn {
            Some(conn) => Some(Self { conn }),
            None => {
                OPEN.fetch_sub(1, Ordering::AcqRel);
                None
            }
        }
    }
}

impl Drop for LongRead {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs one step of a long read on the blocking pool: on the walk's own connection, opened on
/// the first call (`long` keeps it between steps), or on a pooled one when none can be had.
pub(super) async fn run_long<T, E, F>(
    pool: &DbPool,
    url: &DatabaseUrl,
    long: &mut Option<LongRead>,
    f: F,
) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<RunError> + Send + 'static,
{
    let (pool, url, mine) = (pool.clone(), url.clone(), long.take());
    let task = tokio::task::spawn_blocking(move || {
        let mut mine = mine.or_else(|| LongRead::open(&url));
        let result = match &mut mine {
            Some(read) => f(&mut read.conn),
            None => match pool.get() {
                Ok(mut conn) => f(&mut conn),
                Err(e) => Err(E::from(RunError::from(e))),
            },
        };
        (mine, result)
    });
    match task.await {
        Ok((mine, result)) => {
            *long = mine;
            result
        }
        Err(_) => Err(E::from(RunError::Cancelled)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    #[test]
    fn slots_are_bounded_returned_and_carry_the_larger_cache() {
        // The only test of this binary that opens long reads, so it sees every slot.
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("long.db"));
        let mut reads: Vec<_> = (0..MAX_OPEN + 1)
            .filter_map(|_| LongRead::open(&url))
            .collect();
        assert_eq!(reads.len(), MAX_OPEN);
        assert_eq!(OPEN.load(Ordering::Acquire), MAX_OPEN);
        let cache: i64 = diesel::select(diesel::dsl::sql::<BigInt>(
            "(SELECT cache_size FROM pragma_cache_size())",
        ))
        .get_result(&mut reads[0].conn)
        .unwrap();
        assert_eq!(cache, -i64::from(CACHE_KIB));
        drop(reads);
        assert_eq!(OPEN.load(Ordering::Acquire), 0);
        assert!(LongRead::open(&url).is_some());
        assert_eq!(OPEN.load(Ordering::Acquire), 0);
        let postgres = DatabaseUrl::Postgres("postgres://127.0.0.1:1/none".into());
        assert!(LongRead::open(&postgres).is_none());
    }
}
