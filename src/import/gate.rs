//! How many imports may run at once (issue 18, finding 3): at most `per_user` for one user and
//! `total` on the server. An import takes an [`ImportPermit`] before it reads its body and
//! holds it until it ends; one that finds no room is refused at once (HTTP 429 with
//! `Retry-After`) rather than queued, so a refused client holds nothing: no connection, no
//! temporary file, no thread. Plain counters under one mutex, one gate per process (built in
//! `startup`, not per worker); the permit gives its place back when dropped, on every path.
//!
//! The place is taken before the upload so that a refused client sends nothing for nothing; a
//! client that sends its body slowly keeps its place meanwhile, which the per-user limit
//! bounds to its own imports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Which limit refused an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateScope {
    /// The user already runs `per_user` imports.
    User,
    /// The server already runs `total` imports.
    Server,
}

impl GateScope {
    /// `user` or `server`, for the error's details.
    pub fn as_str(self) -> &'static str {
        match self {
            GateScope::User => "user",
            GateScope::Server => "server",
        }
    }
}

/// An import refused for lack of room: which limit, and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateFull {
    pub scope: GateScope,
    pub limit: u32,
}

#[derive(Debug, Default)]
struct Running {
    total: u32,
    by_user: HashMap<i64, u32>,
}

/// The running imports of this process.
#[derive(Debug)]
pub struct ImportGate {
    per_user: u32,
    total: u32,
    running: Arc<Mutex<Running>>,
}

impl ImportGate {
    /// A gate admitting `per_user` imports per user and `total` in all (each at least one).
    pub fn new(per_user: u32, total: u32) -> Self {
        ImportGate {
            per_user: per_user.max(1),
            total: total.max(1),
            running: Arc::default(),
        }
    }

    /// A place for one import by `user`, or which limit is reached.
    pub fn try_enter(&self, user: i64) -> Result<ImportPermit, GateFull> {
        let mut running = lock(&self.running);
        let mine = running.by_user.get(&user).copied().unwrap_or(0);
        if mine >= self.per_user {
            return Err(GateFull {
                scope: GateScope::User,
                limit: self.per_user,
            });
        }
        if running.total >= self.total {
            return Err(GateFull {
                scope: GateScope::Server,
                limit: self.total,
            });
        }
        running.total += 1;
        running.by_user.insert(user, mine + 1);
        Ok(ImportPermit {
            user,
            running: self.running.clone(),
        })
    }
}

/// One running import's place; dropping it frees the place.
#[derive(Debug)]
pub struct ImportPermit {
    user: i64,
    running: Arc<Mutex<Running>>,
}

impl Drop for ImportPermit {
    fn drop(&mut self) {
        let mut running = lock(&self.running);
        running.total = running.total.saturating_sub(1);
        if let Some(n) = running.by_user.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                // Users without a running import leave no entry: the map stays small.
                running.by_user.remove(&self.user);
            }
        }
    }
}

fn lock(m: &Mutex<Running>) -> MutexGuard<'_, Running> {
    // The counters are updated in one step each: a panic elsewhere cannot leave them half-done.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_and_the_server_are_limited_and_places_come_back() {
        let gate = ImportGate::new(1, 2);
        let a = gate.try_enter(1).unwrap();
        assert_eq!(
            gate.try_enter(1).unwrap_err(),
            GateFull {
                scope: GateScope::User,
                limit: 1
            }
        );
        let b = gate.try_enter(2).unwrap();
        assert_eq!(gate.try_enter(3).unwrap_err().scope, GateScope::Server);
        drop(a);
        let c = gate.try_enter(3).unwrap();
        assert_eq!(gate.try_enter(1).unwrap_err().scope, GateScope::Server);
        drop((b, c));
        assert!(lock(&gate.running).by_user.is_empty());
        assert_eq!(lock(&gate.running).total, 0);
        let _again = gate.try_enter(1).unwrap();
    }
}
