//! Passwords: argon2id with the crate's defaults, stored as PHC strings. Verification of an
//! unknown user runs against a fixed dummy hash so it takes as long as a wrong password.

use std::fmt;

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

/// A plaintext password that never prints.
pub struct Password(String);

impl Password {
    /// Accepts 12–1,024 characters (spec §10).
    pub fn parse(raw: String) -> Result<Self, &'static str> {
        let n = raw.chars().count();
        if !(12..=1024).contains(&n) {
            return Err("password must be 12 to 1024 characters");
        }
        Ok(Self(raw))
    }

    /// The argon2id PHC string to store.
    pub fn hash(&self) -> anyhow::Result<String> {
        hash_text(&self.0)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

fn hash_text(plain: &str) -> anyhow::Result<String> {
    let phc = Argon2::default()
        .hash_password(plain.as_bytes())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(phc.to_string())
}

/// A hash of a password no one knows, checked when the user has none, so that answer takes as
/// long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_text("feedgate dummy password, never valid").unwrap_or_default())
}

/// Checks `candidate` against a stored PHC string, or against the dummy hash when there is none.
pub fn verify(stored: Option<&str>, candidate: &str) -> bool {
    let phc: &str = match stored {
        Some(s) => s,
        None => dummy_hash(),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(candidate.as_bytes(), &parsed)
        .is_ok();
    ok && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_others_do_not() {
        let pw = Password::parse("correct horse battery".into()).unwrap();
        let phc = pw.hash().unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify(Some(&phc), "correct horse battery"));
        assert!(!verify(Some(&phc), "wrong horse battery"));
        assert!(!verify(None, "correct horse battery"));
    }

    #[test]
    fn length_rules() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("x".repeat(1025)).is_err());
        assert!(Password::parse("x".repeat(12)).is_ok());
        assert!(!format!("{:?}", Password::parse("x".repeat(12)).unwrap()).contains("xxx"));
    }
}
