//! Sign-in sessions of the web pages (issue 22): a visitor pastes a token once, and a random
//! session id in an HttpOnly cookie stands for it afterwards. Only the id's SHA-256 is stored
//! (`models::web_session`), so a copy of the database signs nobody in; the session reads as
//! its token (read-only: the pages never write) and ends when it expires, at sign-out, or
//! when the token is revoked or expires or its user is disabled. The same random secrets
//! serve as the CSRF tokens of the sign-in and sign-out forms.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use crate::auth::cache::Resolved;
use crate::auth::caller::AuthUser;
use crate::auth::resolve::{authenticate, usable};
use crate::auth::token::PlainToken;
use crate::db::{DbConnection, WriteTx};
use crate::error::ApiError;
use crate::models::web_session::{self, NewWebSession};
use crate::models::{token, web_session::find_token_hash};

/// How long a session lasts at most (it never outlives its token).
pub const SESSION_TTL: chrono::Duration = chrono::Duration::hours(12);

/// The cookie holding the session id.
pub const SESSION_COOKIE: &str = "fg_session";
/// The cookie holding the CSRF token the sign-in and sign-out forms repeat (double submit).
pub const CSRF_COOKIE: &str = "fg_csrf";

/// The value of the cookie `name` in a `Cookie` header, if present.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k.trim() == name).then(|| v.trim())
    })
}

/// Characters of a secret: 32 random bytes as unpadded base64url.
const SECRET_LEN: usize = 43;

/// A random secret: a session id or a CSRF token. Never logged (no `Debug` of its text).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// 32 bytes of OS randomness.
    pub fn generate() -> Result<Self, ApiError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A presented secret of the right shape; `None` means it cannot be one of ours.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == SECRET_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(raw.to_string()))
    }

    /// The text for the cookie or the form.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The stored form of a session id.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// Whether `other` is this secret, in time independent of where they differ (a CSRF check
    /// must not tell an attacker how much of a guess was right).
    pub fn matches(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Signs in with the pasted `token`: checks it as the admission middleware does (401
/// `invalid_token`, `token_expired`, `account_disabled`) and stores a session under
/// `session_hash`, ending after [`SESSION_TTL`] or with the token. Returns the user.
pub fn sign_in(
    c: &mut WriteTx<'_>,
    token_text: &str,
    session_hash: &[u8; 32],
    now: NaiveDateTime,
) -> Result<String, ApiError> {
    let plain = PlainToken::parse(token_text.trim()).ok_or(ApiError::InvalidToken)?;
    let (tok, user) = token::find_by_hash(c, &plain.hash().0)?.ok_or(ApiError::InvalidToken)?;
    usable(&tok, &user, now)?;
    let ends = tok
        .expires_at
        .map_or(now + SESSION_TTL, |at| at.min(now + SESSION_TTL));
    web_session::insert(
        c,
        &NewWebSession {
            session_hash,
            token_id: tok.id,
            created_at: now,
            expires_at: ends,
        },
    )?;
    Ok(user.username)
}

/// Ends the session `session_hash` (nothing happens when there is none).
pub fn sign_out(c: &mut WriteTx<'_>, session_hash: &[u8; 32]) -> Result<(), ApiError> {
    web_session::delete_by_hash(c, session_hash)?;
    Ok(())
}

/// The caller of a request carrying the session `session_hash`: its token's user, read-only,
/// until the session or the token ends. 401 `invalid_token` when there is no such session
/// (the middleware then serves the page anonymously), or what the token's check says.
pub fn resolve(
    c: &mut DbConnection,
    session_hash: &[u8; 32],
    now: NaiveDateTime,
) -> Result<Resolved, ApiError> {
    let (token_hash, ends) =
        find_token_hash(c, session_hash, now)?.ok_or(ApiError::InvalidToken)?;
    let resolved = authenticate(c, &token_hash, now)?;
    Ok(Resolved {
        user: AuthUser {
            write: false,
            token_expires_at: Some(resolved.expires_at.map_or(ends, |at| at.min(ends))),
            ..resolved.user
        },
        expires_at: Some(resolved.expires_at.map_or(ends, |at| at.min(ends))),
        ..resolved
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_parse_back_and_compare_whole() {
        let s = Secret::generate().unwrap();
        assert_eq!(s.expose().len(), SECRET_LEN);
        assert_eq!(Secret::parse(s.expose()), Some(s.clone()));
        assert!(s.matches(s.expose()));
        assert!(!s.matches(&s.expose()[1..]));
        assert!(!s.matches(""));
        assert!(Secret::parse("short").is_none());
        assert!(Secret::parse(&format!("{}!", "a".repeat(42))).is_none());
        assert_ne!(s.hash(), Secret::generate().unwrap().hash());
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = "a=1; fg_session=xyz;fg_csrf=abc ; other=fg_session=no";
        assert_eq!(cookie(h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(h, CSRF_COOKIE), Some("abc"));
        assert_eq!(cookie(h, "fg"), None);
        assert_eq!(cookie("", SESSION_COOKIE), None);
    }
}
