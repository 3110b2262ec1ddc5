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

    /// A feed's default: `clear` for a public feed, `amber` for a private one.
    pub fn feed_default(private: bool) -> Tlp {
        if private { Tlp::Amber } else { Tlp::Clear }
    }

    /// The level of an indicator: its own (`stored`, a wire name), else its feed's default.
    /// A stored name that no longer parses counts as `red`, the most careful reading.
    pub fn effective(stored: Option<&str>, feed_private: bool) -> Tlp {
        match stored {
            None => Tlp::feed_default(feed_private),
            Some(name) => Tlp::parse(name).unwrap_or(Tlp::Red),
        }
    }

    /// Whether only the owner and admins may read what carries it (AMBER and RED).
    pub fn is_restricted(self) -> bool {
        self >= Tlp::Amber
    }
}

/// A set of TLP levels (a `tlp=` filter): bit `i` is `Tlp::ALL[i]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TlpSet(u8);

impl TlpSet {
    /// The levels only owners and admins read never pass a reader who is neither.
    pub const OPEN: TlpSet = TlpSet(0b00011);

    /// Parses a comma-separated list of level names (`white` is `clear`). Error code
    /// `invalid_tlp`.
    pub fn parse(raw: &str) -> Result<TlpSet, DomainError> {
        let mut set = TlpSet::default();
        for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            set.0 |= Self::bit(Tlp::parse(name)?);
        }
        if set.0 == 0 {
            return Err(DomainError::new(
                "invalid_tlp",
                "name at least one TLP level",
            ));
        }
        Ok(set)
    }

    fn bit(t: Tlp) -> u8 {
        1 << (t as u8)
    }

    /// Whether `t` is in the set.
    pub fn contains(self, t: Tlp) -> bool {
        self.0 & Self::bit(t) != 0
    }

    /// The levels both sets hold.
    pub fn and(self, other: TlpSet) -> TlpSet {
        TlpSet(self.0 & other.0)
    }

    /// The wire names of the levels in the set.
    pub fn names(self) -> Vec<&'static str> {
        Tlp::ALL
            .into_iter()
            .filter(|t| self.contains(*t))
            .map(Tlp::as_str)
            .collect()
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
    fn an_unmarked_indicator_takes_its_feeds_default() {
        assert_eq!(Tlp::effective(None, false), Tlp::Clear);
        assert_eq!(Tlp::effective(None, true), Tlp::Amber);
        assert_eq!(Tlp::effective(Some("green"), true), Tlp::Green);
        assert_eq!(Tlp::effective(Some("bogus"), false), Tlp::Red);
    }

    #[test]
    fn sets_parse_lists_and_open_is_clear_and_green() {
        let s = TlpSet::parse("white, AMBER").unwrap();
        assert!(s.contains(Tlp::Clear) && s.contains(Tlp::Amber) && !s.contains(Tlp::Green));
        assert_eq!(s.names(), ["clear", "amber"]);
        assert_eq!(s.and(TlpSet::OPEN).names(), ["clear"]);
        assert_eq!(TlpSet::OPEN.names(), ["clear", "green"]);
        assert!(TlpSet::parse(",").is_err());
        assert!(TlpSet::parse("green,purple").is_err());
    }

    #[test]
    fn amber_and_red_are_restricted() {
        let restricted: Vec<_> = Tlp::ALL.into_iter().filter(|t| t.is_restricted()).collect();
        assert_eq!(restricted, [Tlp::Amber, Tlp::AmberStrict, Tlp::Red]);
    }
}
