//! The transport protocol of an indicator (spec §7.6): tcp, udp or icmp, stored as the IANA
//! protocol number, rendered as the number in v0 and the name in v1.

use std::fmt;

use super::DomainError;

/// A supported transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP, protocol number 6.
    Tcp,
    /// UDP, protocol number 17.
    Udp,
    /// ICMP, protocol number 1.
    Icmp,
}

impl Protocol {
    /// Every supported protocol.
    pub const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Icmp];

    /// Reads `6`/`tcp`, `17`/`udp` or `1`/`icmp` (names in any case, surrounding whitespace
    /// ignored); anything else is `invalid_format`.
    pub fn parse_str(raw: &str) -> Result<Self, DomainError> {
        let raw = raw.trim();
        Protocol::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(raw) || p.number().to_string() == raw)
            .ok_or_else(|| unsupported(raw))
    }

    /// Reads a JSON number: 6, 17 or 1; anything else is `invalid_format`.
    pub fn from_number(n: i64) -> Result<Self, DomainError> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.number() == n)
            .ok_or_else(|| unsupported(&n.to_string()))
    }

    /// The IANA protocol number, as stored and rendered in v0.
    pub fn number(self) -> i64 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Icmp => 1,
        }
    }

    /// The lower-case name, as rendered in v1.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
        }
    }

    /// The lower-case name (the same as [`Protocol::name`]).
    pub fn as_str(self) -> &'static str {
        self.name()
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn unsupported(raw: &str) -> DomainError {
    let shown: String = raw.chars().take(20).collect();
    DomainError::new(
        "invalid_format",
        format!("protocol {shown:?} is not one of tcp (6), udp (17) or icmp (1)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_and_numbers_are_read() {
        let table = [
            ("6", Protocol::Tcp),
            ("tcp", Protocol::Tcp),
            ("TCP", Protocol::Tcp),
            (" Tcp ", Protocol::Tcp),
            ("17", Protocol::Udp),
            ("udp", Protocol::Udp),
            ("1", Protocol::Icmp),
            ("ICMP", Protocol::Icmp),
        ];
        for (raw, want) in table {
            assert_eq!(Protocol::parse_str(raw).unwrap(), want, "{raw:?}");
        }
        assert_eq!(Protocol::from_number(6).unwrap(), Protocol::Tcp);
        assert_eq!(Protocol::from_number(17).unwrap(), Protocol::Udp);
        assert_eq!(Protocol::from_number(1).unwrap(), Protocol::Icmp);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", "42", "http", "06", "+6", "6.0", "tcp/udp", "sctp"] {
            assert_eq!(
                Protocol::parse_str(bad).unwrap_err().code,
                "invalid_format",
                "{bad:?}"
            );
        }
        for bad in [0, 42, -6, i64::MAX] {
            assert_eq!(
                Protocol::from_number(bad).unwrap_err().code,
                "invalid_format"
            );
        }
    }

    #[test]
    fn numbers_and_names_match_the_spec() {
        let got: Vec<(i64, &str)> = Protocol::ALL
            .iter()
            .map(|p| (p.number(), p.name()))
            .collect();
        assert_eq!(got, [(6, "tcp"), (17, "udp"), (1, "icmp")]);
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics_and_round_trips(s in "\\PC{0,12}", n in any::<i64>()) {
            if let Ok(p) = Protocol::parse_str(&s) {
                prop_assert_eq!(Protocol::parse_str(p.as_str()), Ok(p));
                prop_assert_eq!(Protocol::from_number(p.number()), Ok(p));
                prop_assert_eq!(Protocol::parse_str(&p.number().to_string()), Ok(p));
            }
            if let Ok(p) = Protocol::from_number(n) {
                prop_assert_eq!(p.number(), n);
            }
        }
    }
}
