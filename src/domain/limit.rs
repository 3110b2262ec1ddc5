//! Per-user limits. A server default or a user override is an integer 0–1,000,000,000 or the word
//! `unlimited`. In the database an override column holds NULL (inherit the default), -1
//! (unlimited) or the number; `Limit` is the effective value, `None` meaning unlimited.

use std::fmt;
use std::str::FromStr;

use super::DomainError;

/// The largest limit a setting may hold.
pub const MAX_LIMIT: i64 = 1_000_000_000;
/// The column value meaning "unlimited".
pub const UNLIMITED_COLUMN: i64 = -1;

/// An effective limit: a number, or unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<i64>);

impl Limit {
    /// Unlimited.
    pub const UNLIMITED: Limit = Limit(None);

    /// The effective limit from a user's override column and the server default.
    pub fn effective(column: Option<i64>, default: Limit) -> Limit {
        match column {
            None => default,
            Some(UNLIMITED_COLUMN) => Limit::UNLIMITED,
            Some(n) => Limit(Some(n)),
        }
    }

    /// The column value for an override of this limit.
    pub fn to_column(self) -> i64 {
        self.0.unwrap_or(UNLIMITED_COLUMN)
    }
}

impl FromStr for Limit {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, DomainError> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("unlimited") {
            return Ok(Limit::UNLIMITED);
        }
        match raw.parse::<i64>() {
            Ok(n) if (0..=MAX_LIMIT).contains(&n) => Ok(Limit(Some(n))),
            _ => Err(DomainError::new(
                "out_of_range",
                format!("a limit is an integer 0-{MAX_LIMIT} or 'unlimited', not {raw:?}"),
            )),
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("unlimited"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_and_resolve() {
        assert_eq!("5000".parse::<Limit>().unwrap(), Limit(Some(5000)));
        assert_eq!("Unlimited".parse::<Limit>().unwrap(), Limit::UNLIMITED);
        assert!("-1".parse::<Limit>().is_err());
        assert!("1000000001".parse::<Limit>().is_err());
        assert!("lots".parse::<Limit>().is_err());
        let default = Limit(Some(5000));
        assert_eq!(Limit::effective(None, default), default);
        assert_eq!(Limit::effective(Some(-1), default), Limit::UNLIMITED);
        assert_eq!(Limit::effective(Some(7), default), Limit(Some(7)));
        assert_eq!(Limit::UNLIMITED.to_column(), -1);
        assert_eq!(Limit::UNLIMITED.to_string(), "unlimited");
    }
}
