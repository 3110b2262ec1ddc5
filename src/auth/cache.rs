//! A short-lived memory of tokens this gateway resolved, so that most requests are admitted
//! without a database call (the token lookup and the hand-off to a blocking thread cost a
//! quarter of an authenticated search).
//!
//! An entry is trusted for [`TTL`] at most. Changes made through this gateway (any write
//! outside the feed routes: tokens, users, quotas, roles) forget every entry before their
//! response leaves, so a token revoked or a user disabled through the API stops working at
//! once here. Changes made elsewhere (the CLI, another gateway sharing the database) take
//! effect within [`TTL`]. Expiry is checked on every use, and `last_used_at` keeps being
//! bumped once a minute (an entry whose bump is due goes to the database).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use crate::auth::caller::AuthUser;

/// How long a resolved token is trusted without asking the database again.
pub const TTL: Duration = Duration::from_secs(1);
/// Entries kept at most; a full memory starts over (a flood of distinct tokens costs memory
/// once, not without bound).
const MAX_ENTRIES: usize = 10_000;
/// How often `last_used_at` is bumped (as `auth::resolve::authenticate` does).
const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// What the database said about a token.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub user: AuthUser,
    /// The user's daily-limit override column.
    pub requests_per_day: Option<i64>,
    pub expires_at: Option<NaiveDateTime>,
    /// `last_used_at` as stored after the lookup.
    pub last_used_at: Option<NaiveDateTime>,
}

struct Entry {
    resolved: Resolved,
    at: Instant,
    generation: u64,
}

/// The memory; one per process.
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    generation: AtomicU64,
}

impl TokenCache {
    /// The current generation: read it before asking the database, and store what the
    /// database said under it, so an answer that raced a change is never kept.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Forgets every entry (a change to tokens or users went through this gateway).
    pub fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.lock().clear();
    }

    /// The token's caller and limit column if a fresh entry holds it, it has not expired at
    /// `now` and its `last_used_at` bump is not due.
    pub fn get(&self, hash: &[u8; 32], now: NaiveDateTime) -> Option<Resolved> {
        let generation = self.generation();
        let entries = self.lock();
        let entry = entries.get(hash)?;
        let fresh = entry.generation == generation && entry.at.elapsed() < TTL;
        let valid = entry.resolved.expires_at.is_none_or(|at| at > now);
        let touched = entry
            .resolved
            .last_used_at
            .is_some_and(|t| t >= now - TOUCH_EVERY);
        (fresh && valid && touched).then(|| entry.resolved.clone())
    }

    /// Keeps what the database said, read under `generation`.
    pub fn put(&self, hash: [u8; 32], resolved: Resolved, generation: u64) {
        if generation != self.generation() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            hash,
            Entry {
                resolved,
                at: Instant::now(),
                generation,
            },
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether a finished request may have changed a token or a user: every write outside the
/// feed routes (feeds, indicators, comments and imports change neither).
pub fn may_change_credentials(method: &actix_web::http::Method, path: &str) -> bool {
    use actix_web::http::Method;
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    // /api/users/{user}/feeds/...
    !matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("api"), Some("users"), Some(_), Some("feeds"))
    ) && path != "/api/search"
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::Method;

    fn resolved(
        last_used_at: Option<NaiveDateTime>,
        expires_at: Option<NaiveDateTime>,
    ) -> Resolved {
        Resolved {
            user: AuthUser {
                id: 1,
                name: "alice".into(),
                admin: false,
                write: true,
                token_id: 7,
                token_expires_at: None,
            },
            requests_per_day: None,
            expires_at,
            last_used_at,
        }
    }

    #[test]
    fn entries_are_forgotten_expired_or_raced() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let cache = TokenCache::default();
        let g = cache.generation();
        cache.put([1; 32], resolved(Some(now), None), g);
        assert_eq!(cache.get(&[1; 32], now).map(|r| r.user.token_id), Some(7));
        assert!(cache.get(&[2; 32], now).is_none());
        // Expired at use, or its last-used bump is due: ask the database.
        assert!(
            cache
                .get(&[1; 32], now + chrono::Duration::seconds(61))
                .is_none()
        );
        cache.put([3; 32], resolved(Some(now), Some(now)), g);
        assert!(cache.get(&[3; 32], now).is_none());
        // A change through this gateway forgets everything, and an answer read before it is
        // not kept.
        cache.forget_all();
        assert!(cache.get(&[1; 32], now).is_none());
        cache.put([1; 32], resolved(Some(now), None), g);
        assert!(cache.get(&[1; 32], now).is_none());
    }

    #[test]
    fn only_writes_outside_the_feed_routes_forget() {
        let post = Method::POST;
        assert!(!may_change_credentials(
            &Method::GET,
            "/api/users/alice/tokens"
        ));
        assert!(!may_change_credentials(
            &post,
            "/api/users/alice/feeds/x/indicators"
        ));
        assert!(!may_change_credentials(&post, "/api/users/alice/feeds"));
        assert!(!may_change_credentials(&post, "/api/search"));
        assert!(may_change_credentials(&post, "/api/users/alice/tokens"));
        assert!(may_change_credentials(
            &Method::DELETE,
            "/api/users/alice/tokens/3"
        ));
        assert!(may_change_credentials(&Method::PATCH, "/api/users/alice"));
        assert!(may_change_credentials(&post, "/api/users"));
        assert!(may_change_credentials(
            &Method::PUT,
            "/api/admin/users/alice/quota"
        ));
    }
}
