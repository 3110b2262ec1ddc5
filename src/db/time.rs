//! Timestamp columns read without chrono's format parser.
//!
//! SQLite stores our timestamps as text (`2026-11-24 12:00:00[.ffffff]`, diesel's own encoding)
//! and diesel parses each with `NaiveDateTime::parse_from_str`, trying several formats: a fifth
//! of an export's CPU went there (five timestamps per indicator). This reads that one layout
//! directly and falls back to diesel for anything else; PostgreSQL's binary timestamps go to
//! diesel unchanged.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::sql_types::{Nullable, Timestamp};
use diesel::sqlite::Sqlite;

use crate::db::{MultiBackend, MultiRawValue};

/// A timestamp column value; use as `#[diesel(deserialize_as = DbTime)]` on a `NaiveDateTime`.
#[derive(diesel::deserialize::FromSqlRow)]
pub struct DbTime(NaiveDateTime);

/// A nullable timestamp column value, for `Option<NaiveDateTime>` fields.
#[derive(diesel::deserialize::FromSqlRow)]
pub struct DbTimeOpt(Option<NaiveDateTime>);

impl From<DbTime> for NaiveDateTime {
    fn from(t: DbTime) -> Self {
        t.0
    }
}

impl From<DbTimeOpt> for Option<NaiveDateTime> {
    fn from(t: DbTimeOpt) -> Self {
        t.0
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.f` fraction of up to nine digits.
pub fn parse_text(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let mut nanos = 0u32;
    if b.len() > 19 {
        let frac = &b[19..];
        if frac[0] != b'.' || frac.len() < 2 || frac.len() > 10 {
            return None;
        }
        let digits = num(20, b.len())?;
        nanos = digits * 10u32.pow(u32::try_from(10 - frac.len()).ok()?);
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 7)?, num(8, 10)?)?;
    let time = NaiveTime::from_hms_nano_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, nanos)?;
    Some(NaiveDateTime::new(date, time))
}

fn from_sqlite(
    mut value: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
) -> deserialize::Result<NaiveDateTime> {
    if let Some(t) = parse_text(value.read_text()) {
        return Ok(t);
    }
    <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value)
}

impl FromSql<Timestamp, MultiBackend> for DbTime {
    fn from_sql(value: MultiRawValue<'_>) -> deserialize::Result<Self> {
        match value {
            MultiRawValue::Sqlite(v) => from_sqlite(v).map(DbTime),
            MultiRawValue::Postgresql(v) => {
                <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(v).map(DbTime)
            }
        }
    }
}

impl FromSql<Nullable<Timestamp>, MultiBackend> for DbTimeOpt {
    fn from_sql(value: MultiRawValue<'_>) -> deserialize::Result<Self> {
        <DbTime as FromSql<Timestamp, MultiBackend>>::from_sql(value).map(|t| DbTimeOpt(Some(t.0)))
    }

    fn from_nullable_sql(value: Option<MultiRawValue<'_>>) -> deserialize::Result<Self> {
        match value {
            Some(v) => <Self as FromSql<Nullable<Timestamp>, MultiBackend>>::from_sql(v),
            None => Ok(DbTimeOpt(None)),
        }
    }
}

// The concrete backends, for the rows' `check_for_backend` and the per-backend paths.
impl FromSql<Timestamp, Sqlite> for DbTime {
    fn from_sql(
        value: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        from_sqlite(value).map(DbTime)
    }
}

impl FromSql<Timestamp, Pg> for DbTime {
    fn from_sql(
        value: <Pg as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(DbTime)
    }
}

impl FromSql<Nullable<Timestamp>, Sqlite> for DbTimeOpt {
    fn from_sql(
        value: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        from_sqlite(value).map(|t| DbTimeOpt(Some(t)))
    }

    fn from_nullable_sql(
        value: Option<<Sqlite as diesel::backend::Backend>::RawValue<'_>>,
    ) -> deserialize::Result<Self> {
        value.map_or(Ok(DbTimeOpt(None)), |v| {
            <Self as FromSql<Nullable<Timestamp>, Sqlite>>::from_sql(v)
        })
    }
}

impl FromSql<Nullable<Timestamp>, Pg> for DbTimeOpt {
    fn from_sql(
        value: <Pg as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(|t| DbTimeOpt(Some(t)))
    }

    fn from_nullable_sql(
        value: Option<<Pg as diesel::backend::Backend>::RawValue<'_>>,
    ) -> deserialize::Result<Self> {
        value.map_or(Ok(DbTimeOpt(None)), |v| {
            <Self as FromSql<Nullable<Timestamp>, Pg>>::from_sql(v)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_layout_parses_like_chrono() {
        for text in [
            "2026-11-24 12:00:00",
            "1999-01-02 03:04:05.5",
            "2024-02-29 23:59:59.123456",
            "2024-02-29 23:59:59.123456789",
        ] {
            let want = NaiveDateTime::parse_from_str(text, "%F %T%.f").unwrap();
            assert_eq!(parse_text(text), Some(want), "{text}");
        }
        for text in [
            "2026-11-24T12:00:00",
            "2026-02-30 12:00:00",
            "2026-11-24 12:00:00.",
            "2026-11-24 12:00:00+01:00",
            "2026-11-24 12:00",
            "2456789.5",
            "2026-11-24 12:0x:00",
        ] {
            assert_eq!(parse_text(text), None, "{text}");
        }
    }
}
