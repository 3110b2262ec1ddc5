//! Timestamp columns read without chrono's format parser.
//!
//! SQLite stores our timestamps as text (`2026-11-24 12:00:00[.ffffff]`, diesel's own encoding)
//! and diesel parses each with `NaiveDateTime::parse_from_str`, trying several formats: a fifth
//! of an export's CPU went there (five timestamps per indicator). This reads that one layout
//! directly and falls back to diesel for anything else; PostgreSQL's binary timestamps go to
//! diesel unchanged.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
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

/// A timestamp to bind. diesel formats each SQLite timestamp with chrono's `strftime`
/// interpreter into a new `String` per bind (an import binds five per row); a `Stamp` writes
/// the same text once, directly, into itself, and is bound borrowed.
/// PostgreSQL gets diesel's binary encoding.
#[derive(Debug, Clone, Copy, diesel::expression::AsExpression)]
#[diesel(sql_type = Timestamp)]
pub struct Stamp {
    at: NaiveDateTime,
    text: TextBuf,
}

impl Stamp {
    /// The stamp of `at`.
    pub fn new(at: NaiveDateTime) -> Self {
        let mut text = TextBuf::default();
        write_text(&at, &mut text);
        Stamp { at, text }
    }

    /// diesel's SQLite text of the stamp (see [`format_text`]).
    pub fn text(&self) -> &str {
        self.text.as_str()
    }
}

/// diesel's SQLite text for a timestamp (`%F %T%.f`): the fraction, when not zero, in 3, 6 or
/// 9 digits, the fewest that hold it exactly.
pub fn format_text(t: &NaiveDateTime) -> String {
    let mut buf = TextBuf::default();
    write_text(t, &mut buf);
    buf.as_str().to_owned()
}

/// Room for the longest text chrono writes for `%F %T%.f` (`+262143-12-31 23:59:60.999999999`,
/// 32 bytes).
const TEXT_CAPACITY: usize = 40;

/// A timestamp's text, kept inline.
#[derive(Debug, Clone, Copy)]
struct TextBuf {
    bytes: [u8; TEXT_CAPACITY],
    len: usize,
}

impl Default for TextBuf {
    fn default() -> Self {
        TextBuf {
            bytes: [0; TEXT_CAPACITY],
            len: 0,
        }
    }
}

impl TextBuf {
    fn as_str(&self) -> &str {
        // Only whole `str`s are ever appended.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }

    fn push(&mut self, c: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = c;
            self.len += 1;
        }
    }
}

impl std::fmt::Write for TextBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn write_text(t: &NaiveDateTime, out: &mut TextBuf) {
    let nanos = t.nanosecond();
    if !(0..=9999).contains(&t.year()) || nanos >= 1_000_000_000 {
        // Years outside four digits and leap seconds: chrono's own rules.
        use std::fmt::Write as _;
        let written = write!(out, "{}", t.format("%F %T%.f"));
        debug_assert!(
            written.is_ok(),
            "chrono's text outgrew {TEXT_CAPACITY} bytes"
        );
        return;
    }
    push_digits(out, t.year().unsigned_abs(), 4);
    out.push(b'-');
    push_digits(out, t.month(), 2);
    out.push(b'-');
    push_digits(out, t.day(), 2);
    out.push(b' ');
    push_digits(out, t.hour(), 2);
    out.push(b':');
    push_digits(out, t.minute(), 2);
    out.push(b':');
    push_digits(out, t.second(), 2);
    if nanos != 0 {
        out.push(b'.');
        if nanos.is_multiple_of(1_000_000) {
            push_digits(out, nanos / 1_000_000, 3);
        } else if nanos.is_multiple_of(1_000) {
            push_digits(out, nanos / 1_000, 6);
        } else {
            push_digits(out, nanos, 9);
        }
    }
}

/// `n` in exactly `width` decimal digits (`n` < 10^width).
fn push_digits(out: &mut TextBuf, n: u32, width: u32) {
    let mut div = 10u32.pow(width - 1);
    while div > 0 {
        out.push(b'0' + ((n / div) % 10) as u8);
        div /= 10;
    }
}

impl ToSql<Timestamp, Sqlite> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.text());
        Ok(IsNull::No)
    }
}

impl ToSql<Timestamp, Pg> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <NaiveDateTime as ToSql<Timestamp, Pg>>::to_sql(&self.at, out)
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
    fn stamps_are_written_as_diesel_writes_them() {
        let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        for (h, m, sec, nanos) in [
            (0, 0, 0, 0),
            (23, 59, 59, 5_000_000),
            (1, 2, 3, 120_000),
            (9, 8, 7, 123_456_789),
            (12, 0, 0, 1),
            (12, 0, 0, 999_999_000),
        ] {
            let t = day.and_hms_nano_opt(h, m, sec, nanos).unwrap();
            assert_eq!(format_text(&t), t.format("%F %T%.f").to_string());
            assert_eq!(parse_text(&format_text(&t)), Some(t));
        }
        for year in [0, 7, 999, 9999, 10_000, -1] {
            let t = NaiveDate::from_ymd_opt(year, 1, 2)
                .unwrap()
                .and_hms_opt(3, 4, 5)
                .unwrap();
            assert_eq!(format_text(&t), t.format("%F %T%.f").to_string());
        }
    }

    #[test]
    fn the_widest_stamps_fit_inline() {
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_999_999_999)
            .unwrap();
        for t in [NaiveDateTime::MAX, NaiveDateTime::MIN, leap] {
            let want = t.format("%F %T%.f").to_string();
            assert_eq!(Stamp::new(t).text(), want);
            assert_eq!(format_text(&t), want);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_stamp_is_written_as_chrono_writes_it(
            secs in -62_000_000_000i64..253_000_000_000,
            nanos in 0u32..1_000_000_000,
            keep in 0usize..4,
        ) {
            // Fractions of 0, 3, 6 and 9 significant digits.
            let nanos = nanos / [1_000_000_000, 1_000_000, 1_000, 1][keep] * [1_000_000_000, 1_000_000, 1_000, 1][keep];
            let nanos = nanos % 1_000_000_000;
            let t = chrono::DateTime::from_timestamp(secs, nanos).unwrap().naive_utc();
            proptest::prop_assert_eq!(format_text(&t), t.format("%F %T%.f").to_string());
            let stamp = Stamp::new(t);
            proptest::prop_assert_eq!(stamp.text(), format_text(&t));
        }
    }

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
