//! The database URL: which backend it names (by scheme), how it is shown in logs without its
//! credentials, and opening one connection with the per-backend settings.

use std::fmt;
use std::path::PathBuf;

use diesel::Connection;

use super::{Backend, ConnectError, DbConnection, setup};

/// A parsed `--database-url`: `sqlite://PATH` or `postgres://…` / `postgresql://…`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
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
pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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
