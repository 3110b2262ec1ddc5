//! Token resolution for the admission middleware (`limits::middleware`): which paths are
//! unmetered, where HTTP Basic is accepted, and the token check itself (revoked, expired,
//! disabled). The middleware calls these inside its one blocking database call.

use crate::auth::cache::Resolved;
use crate::auth::caller::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::models::token::{self, SCOPE_WRITE, TokenRow};
use crate::models::user::UserRow;

/// Paths answered without identification or charge.
pub fn is_unmetered(path: &str) -> bool {
    path == "/api/health" || path == "/metrics"
}

/// Whether HTTP Basic is a user name and password on `path` (only `/api/users/:user/tokens`);
/// elsewhere it carries a token as its password (`auth::header::presented_for`).
pub fn accepts_basic(path: &str) -> bool {
    let mut parts = path
        .trim_end_matches('/')
        .split('/')
        .filter(|p| !p.is_empty());
    matches!(
        (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next()
        ),
        (Some("api"), Some("users"), Some(_), Some("tokens"), None)
    )
}

/// Whether a token found by its hash may be used at `now`: 401 `invalid_token` when revoked,
/// `token_expired`, `account_disabled`. Sign-in to the web pages checks the same.
pub fn usable(tok: &TokenRow, user: &UserRow, now: chrono::NaiveDateTime) -> Result<(), ApiError> {
    if tok.revoked_at.is_some() {
        return Err(ApiError::InvalidToken);
    }
    if tok.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::TokenExpired);
    }
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    Ok(())
}

/// Whether a session cookie identifies the caller on `path`: on the web pages only. The API
/// takes tokens alone, so no cross-site form can act there with a visitor's cookie.
pub fn accepts_session(path: &str) -> bool {
    !(path == "/api" || path.starts_with("/api/") || path == "/metrics")
}

/// Looks a token up by hash and checks its state; bumps `last_used_at` at most once a minute.
/// Returns the caller, the user's daily-limit override column and what the token cache keeps.
pub fn authenticate(
    c: &mut db::DbConnection,
    hash: &[u8],
    now: chrono::NaiveDateTime,
) -> Result<Resolved, ApiError> {
    let (tok, user) = token::find_by_hash(c, hash)?.ok_or(ApiError::InvalidToken)?;
    usable(&tok, &user, now)?;
    // Reads must not become writes: the row says when it was last bumped.
    let mut last_used_at = tok.last_used_at;
    if last_used_at.is_none_or(|t| t < now - chrono::Duration::seconds(60)) {
        db::write_tx(c, |tx| token::touch(tx, tok.id, now))?;
        last_used_at = Some(now);
    }
    let auth = AuthUser {
        id: user.id,
        admin: user.is_admin(),
        name: user.username,
        write: tok.scope == SCOPE_WRITE,
        token_id: tok.id,
        token_expires_at: tok.expires_at,
    };
    Ok(Resolved {
        user: auth,
        requests_per_day: user.requests_per_day,
        expires_at: tok.expires_at,
        last_used_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_is_only_for_the_token_route() {
        assert!(accepts_basic("/api/users/alice/tokens"));
        assert!(!accepts_basic("/api/users/alice/tokens/3"));
        assert!(!accepts_basic("/api/users/alice"));
        assert!(!accepts_basic("/api/users/alice/feeds"));
    }

    #[test]
    fn sessions_are_for_the_pages_only() {
        assert!(accepts_session("/"));
        assert!(accepts_session("/u/alice/scanners"));
        assert!(!accepts_session("/api"));
        assert!(!accepts_session("/api/users/alice"));
        assert!(!accepts_session("/metrics"));
    }
}
