//! User and feed names: lower-cased, then `^[a-z0-9][a-z0-9._-]{0,62}$`; feed names also may
//! not end in `.csv` or `.json` (those paths are exports).

use std::fmt;

use super::DomainError;

/// A valid user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Lower-cases and checks `raw`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        check_name(raw).map(Self)
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shared rule of user and feed names.
pub(crate) fn check_name(raw: &str) -> Result<String, DomainError> {
    let lower = raw.trim().to_lowercase();
    if lower.is_empty() {
        return Err(DomainError::new("empty", "must not be empty"));
    }
    let bytes = lower.as_bytes();
    let valid = bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b));
    if !valid {
        return Err(DomainError::new(
            "invalid_format",
            "must be 1-63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
        ));
    }
    Ok(lower)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn good_and_bad_names() {
        assert_eq!(Username::parse("Alice").unwrap().as_str(), "alice");
        assert_eq!(Username::parse("a.b_c-9").unwrap().as_str(), "a.b_c-9");
        assert_eq!(Username::parse("").unwrap_err().code, "empty");
        for bad in ["-a", ".a", "a b", "a/b", "ä", &"a".repeat(64)] {
            assert_eq!(
                Username::parse(bad).unwrap_err().code,
                "invalid_format",
                "{bad}"
            );
        }
        assert!(Username::parse(&"a".repeat(63)).is_ok());
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_round_trips(s in ".{0,80}") {
            if let Ok(name) = Username::parse(&s) {
                prop_assert_eq!(Username::parse(&name.to_string()).unwrap(), name);
            }
        }
    }
}
