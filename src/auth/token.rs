//! API tokens: generation, hashing and the format check that runs before any database lookup.
//! Only the SHA-256 of a token is stored; the plaintext exists between generation and the one
//! response (or CLI line) that shows it.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// NEVER CHANGE: stored hashes include the prefix; a new prefix revokes every token.
pub const TOKEN_PREFIX: &str = "fg_";
/// `fg_` + 43 characters of unpadded base64url (32 random bytes).
pub const TOKEN_LEN: usize = 46;
/// How many leading characters are kept for display and listing.
pub const DISPLAY_PREFIX_LEN: usize = 11;

/// A freshly generated token in plaintext.
pub struct PlainToken(String);

/// The SHA-256 of a token, as stored in `api_tokens.token_hash`.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash(pub Vec<u8>);

impl PlainToken {
    /// Generates a token from 32 bytes of OS randomness.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self(format!(
            "{TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    /// Checks the shape of a presented token (`^fg_[A-Za-z0-9_-]{43}$`); `None` means it cannot be ours.
    pub fn parse(presented: &str) -> Option<Self> {
        let rest = presented.strip_prefix(TOKEN_PREFIX)?;
        let well_formed = presented.len() == TOKEN_LEN
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| Self(presented.to_string()))
    }

    /// The value to show the user, once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The display prefix (`fg_` and the next 8 characters).
    pub fn display_prefix(&self) -> String {
        self.0.chars().take(DISPLAY_PREFIX_LEN).collect()
    }

    /// The stored form.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).to_vec())
    }
}

impl fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainToken(<redacted>)")
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let token = PlainToken::generate().unwrap();
        assert_eq!(token.expose().len(), TOKEN_LEN);
        assert!(token.expose().starts_with("fg_"));
        assert!(PlainToken::parse(token.expose()).is_some());
        assert_eq!(token.display_prefix().len(), 11);
        assert_eq!(token.hash().0.len(), 32);
        assert_ne!(token.expose(), PlainToken::generate().unwrap().expose());
    }

    #[test]
    fn malformed_tokens_are_refused_before_lookup() {
        for bad in [
            "",
            "None",
            "fg_",
            "xx_mRD0oOpERZ8o_4dFX2mHaCnDjeuT9ZCsHpemZmYaW2c",
            "fg_mRD0oOpERZ8o_4dFX2mHaCnDjeuT9ZCsHpemZmYaW2",
            "fg_mRD0oOpERZ8o_4dFX2mHaCnDjeuT9ZCsHpemZmYaW2c=",
            "fg_mRD0oOpERZ8o_4dFX2mHaCnDjeuT9ZCsHpemZmYa+2c",
        ] {
            assert!(PlainToken::parse(bad).is_none(), "{bad}");
        }
        assert!(PlainToken::parse("fg_mRD0oOpERZ8o_4dFX2mHaCnDjeuT9ZCsHpemZmYaW2c").is_some());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let token = PlainToken::generate().unwrap();
        assert!(!format!("{token:?}").contains(&token.expose()[3..]));
    }

    proptest! {
        #[test]
        fn parsing_any_text_never_panics(s in ".*") {
            let _ = PlainToken::parse(&s);
        }
    }
}
