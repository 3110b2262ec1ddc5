//! Embedded migrations, one set per dialect with identical version ids, run at start on the
//! concrete connection. On PostgreSQL an advisory lock lets several gateways start at once.

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConnection;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// An arbitrary constant naming feedgate's migration lock.
const PG_MIGRATION_LOCK: i64 = 0x0fee_d6a7e;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Applies every pending migration.
pub fn run(conn: &mut DbConnection) -> Result<(), BoxError> {
    match conn {
        DbConnection::Sqlite(c) => {
            // Table rebuilds in later migrations must not cascade; checked again afterwards.
            c.batch_execute("PRAGMA foreign_keys = OFF")?;
            let applied = c.run_pending_migrations(SQLITE_MIGRATIONS)?;
            // The check reads every row of every table, a second or more with a million
            // indicators: only after migrations ran, not at every start of a server or CLI.
            if !applied.is_empty() {
                let broken: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                    "(SELECT count(*) FROM pragma_foreign_key_check)",
                ))
                .get_result(c)?;
                if broken > 0 {
                    return Err(format!(
                        "after migrating, {broken} rows point at rows that do not exist \
                         (PRAGMA foreign_key_check lists them)"
                    )
                    .into());
                }
            }
            c.batch_execute("PRAGMA foreign_keys = ON")?;
        }
        DbConnection::Postgresql(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
            c.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))?;
            result?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::migration::MigrationSource;

    fn versions(source: &EmbeddedMigrations) -> Vec<String> {
        let list = MigrationSource::<diesel::sqlite::Sqlite>::migrations(source).unwrap();
        list.iter().map(|m| m.name().to_string()).collect()
    }

    #[test]
    fn the_prefix_migration_lists_the_lengths_already_stored() {
        use diesel::Connection;
        let dir = tempfile::tempdir().expect("temp dir");
        let url = dir.path().join("m.db");
        let mut c =
            diesel::SqliteConnection::establish(url.to_str().expect("utf-8")).expect("open");
        // Every migration before the one under test; `run` then applies it and the later ones.
        let before = versions(&SQLITE_MIGRATIONS)
            .iter()
            .position(|name| name.contains("ip_prefixes"))
            .expect("the ip_prefixes migration");
        for _ in 0..before {
            c.run_next_migration(SQLITE_MIGRATIONS).expect("migrate");
        }
        c.batch_execute(
            "INSERT INTO users (id, username, role, created_at, updated_at)
                 VALUES (1, 'a', 'user', '2024-01-01 00:00:00', '2024-01-01 00:00:00');
             INSERT INTO feeds (id, user_id, name, private, license_name, created_at, updated_at)
                 VALUES (1, 1, 'f', FALSE, 'x', '2024-01-01 00:00:00', '2024-01-01 00:00:00');
             INSERT INTO indicators (feed_id, user_id, value, itype, ip_lo, ip_hi, effective_at,
                                     created_at, updated_at)
             VALUES (1, 1, '10.0.0.0/13', 'ipv4', x'00000000000000000000ffff0a000000',
                     x'00000000000000000000ffff0a07ffff', '2024-01-01', '2024-01-01', '2024-01-01'),
                    (1, 1, '10.0.0.1', 'ipv4', x'00000000000000000000ffff0a000001',
                     x'00000000000000000000ffff0a000001', '2024-01-01', '2024-01-01', '2024-01-01'),
                    (1, 1, '2001:db8::/33', 'ipv6', x'20010db8000000000000000000000000',
                     x'20010db87fffffffffffffffffffffff', '2024-01-01', '2024-01-01', '2024-01-01');",
        )
        .expect("rows");
        let mut multi = DbConnection::Sqlite(c);
        run(&mut multi).expect("the remaining migrations");
        assert_eq!(
            crate::models::ip_prefix::stored(&mut multi).expect("read"),
            [33, 109]
        );
    }

    #[test]
    fn both_dialects_have_the_same_migrations() {
        let sqlite = versions(&SQLITE_MIGRATIONS);
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, versions(&POSTGRES_MIGRATIONS));
    }
}
