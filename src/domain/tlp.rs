//! The Traffic Light Protocol (FIRST TLP 2.0) level of an indicator or a feed's default.

use std::fmt;

use super::DomainError;

/// A TLP level, from the least to the most restricted (the order compares them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

impl Tlp {
    /// Every level, least restricted first.
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The wire name: `clear`, `green`, `amber`, `amber+strict` or `red`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// Parses a wire name (ASCII case ignored; `white` is TLP 1.0's `clear`, and a `tlp:`
    /// prefix is allowed). Error code `invalid_tlp`.
    pub fn parse(raw: &str) -> Result<Tlp, DomainError> {
        let raw = raw.trim();
        let name = match raw.get(..4) {
            Some(p) if p.eq_ignore_ascii_case("tlp:") => &raw[4..],
            _ => raw,
        };
        if name.eq_ignore_ascii_case("white") {
            return Ok(Tlp::Clear);
        }
        Tlp::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                DomainError::new(
                    "invalid_tlp",
                    "must be one of clear (or white), green, amber, amber+strict, red",
                )
            })
    }

    /// Whether only the owner and admins may read what carries it (AMBER and RED).
    pub fn is_restricted(self) -> bool {
        self >= Tlp::Amber
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_white_is_clear() {
        for tlp in Tlp::ALL {
            assert_eq!(Tlp::parse(tlp.as_str()), Ok(tlp));
        }
        assert_eq!(Tlp::parse("WHITE"), Ok(Tlp::Clear));
        assert_eq!(Tlp::parse("TLP:AMBER+STRICT"), Ok(Tlp::AmberStrict));
        assert_eq!(Tlp::parse(" red "), Ok(Tlp::Red));
        assert_eq!(Tlp::parse("amber strict").unwrap_err().code, "invalid_tlp");
        assert!(Tlp::parse("").is_err());
    }

    #[test]
    fn amber_and_red_are_restricted() {
        let restricted: Vec<_> = Tlp::ALL.into_iter().filter(|t| t.is_restricted()).collect();
        assert_eq!(restricted, [Tlp::Amber, Tlp::AmberStrict, Tlp::Red]);
    }
}
