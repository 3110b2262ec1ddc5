//! A connection of its own, outside the pool, for work that runs for seconds or minutes (an
//! HTTP import): held for that long, a pooled connection is one the short requests cannot
//! have, and a few such requests emptied the pool until plain reads answered 503 (issue 18,
//! finding 3). How many run at once is bounded by the caller (`import::gate`), not here.

use std::time::Duration;

use super::{DatabaseUrl, DbConnection, RunError, setup};

/// Runs `f` on the blocking thread pool with a connection opened for it and closed after,
/// set up like a pooled one (PostgreSQL's `statement_timeout` included). A database that
/// cannot be reached is [`RunError::NoConnection`].
pub(super) async fn run_dedicated<T, E, F>(
    url: &DatabaseUrl,
    statement_timeout: Duration,
    f: F,
) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<RunError> + Send + 'static,
{
    let url = url.clone();
    let task = tokio::task::spawn_blocking(move || {
        let mut conn = open(&url, statement_timeout).map_err(E::from)?;
        f(&mut conn)
    });
    match task.await {
        Ok(result) => result,
        Err(_) => Err(E::from(RunError::Cancelled)),
    }
}

fn open(url: &DatabaseUrl, statement_timeout: Duration) -> Result<DbConnection, RunError> {
    let mut conn = url
        .establish()
        .map_err(|e| RunError::NoConnection(e.to_string()))?;
    if let DbConnection::Postgresql(c) = &mut conn {
        setup::statement_timeout(c, statement_timeout)
            .map_err(|e| RunError::NoConnection(e.to_string()))?;
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_runs_while_every_pooled_connection_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("own.db"));
        let pool = super::super::connect(
            &url,
            super::super::PoolOptions {
                max_size: 1,
                checkout_timeout: Duration::from_millis(100),
                ..Default::default()
            },
        )
        .unwrap();
        let _only = pool.get().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let done: Result<(), RunError> =
            runtime.block_on(run_dedicated(&url, Duration::from_secs(1), |c| {
                super::super::ping(c).map_err(RunError::from)
            }));
        assert!(done.is_ok(), "{done:?}");
        let missing = DatabaseUrl::Sqlite(dir.path().join("no/such/dir/x.db"));
        let failed: Result<(), RunError> =
            runtime.block_on(run_dedicated(&missing, Duration::from_secs(1), |_| Ok(())));
        assert!(matches!(failed, Err(RunError::NoConnection(_))));
    }
}
