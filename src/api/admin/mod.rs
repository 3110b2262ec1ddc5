//! Admin routes (spec §6.9): users with their limits, usage and tokens. Every route needs the
//! admin role (403 `admin_required`; anonymous 401); GET needs read scope, the rest write scope.
//! Objects are never wrapped; v0 and v1 differ only in the time format. Demoting, disabling or
//! deleting the last enabled admin is 409 `last_admin`. The token routes are those of §6.3 for
//! any user: they call the `api::tokens` handlers with the admin as caller.
//!
//! Here the [`Admin`] extractor; the routes are in `users` (`/api/admin/users[/{user}]`),
//! `tokens` (`…/{user}/tokens`), `usage` (`…/{user}/usage`), `purge` (`/api/admin/purge`,
//! the purge of expired indicators run now) and `shadowserver` (scheduled Reports API pulls
//! and their runs).

mod purge;
mod shadowserver;
mod tokens;
mod usage;
mod users;

pub use purge::run_admin_purge;
pub use shadowserver::{
    create_shadowserver_schedule, delete_shadowserver_schedule, list_shadowserver_runs,
    list_shadowserver_schedules, run_shadowserver_schedule, show_shadowserver_schedule,
    update_shadowserver_schedule,
};
pub use tokens::{create_admin_user_token, list_admin_user_tokens, revoke_admin_user_token};
pub use usage::{show_admin_user_usage, usage_object};
pub use users::{
    admin_user_object, create_admin_user, delete_admin_user, list_admin_users, show_admin_user,
    update_admin_user,
};

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};

use crate::auth::caller::{AuthUser, Caller};
use crate::error::ApiError;

/// An authenticated admin; `WRITE` also demands the write scope. Non-admins get 403
/// `admin_required` whatever their scope, anonymous callers 401, a read-only admin token on a
/// writing route 403 `insufficient_scope` (spec §1.4 step 8, before query and body).
#[derive(Debug, Clone)]
pub struct Admin<const WRITE: bool>(pub AuthUser);

/// An admin on a reading route.
pub type AdminReader = Admin<false>;
/// An admin with a write-scoped token.
pub type AdminWriter = Admin<true>;

impl<const WRITE: bool> FromRequest for Admin<WRITE> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload).into_inner();
        ready(caller.and_then(|c| require_admin(c, WRITE)).map(Admin))
    }
}

fn require_admin(caller: Caller, write: bool) -> Result<AuthUser, ApiError> {
    match caller {
        Caller::User(u) if !u.admin => Err(ApiError::AdminRequired),
        Caller::User(u) if write && !u.write => Err(ApiError::InsufficientScope),
        Caller::User(u) => Ok(u),
        Caller::Anonymous { .. } | Caller::Basic(_) => Err(ApiError::AuthenticationRequired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_pass_and_scope_comes_second() {
        let user = |admin, write| {
            Caller::User(AuthUser {
                id: 1,
                name: "a".into(),
                admin,
                write,
                token_id: 1,
                token_expires_at: None,
            })
        };
        let code = |r: Result<AuthUser, ApiError>| r.err().map(|e| e.code());
        assert_eq!(
            code(require_admin(user(false, true), false)),
            Some("admin_required")
        );
        assert_eq!(
            code(require_admin(user(false, false), true)),
            Some("admin_required")
        );
        assert_eq!(
            code(require_admin(user(true, false), true)),
            Some("insufficient_scope")
        );
        assert_eq!(code(require_admin(user(true, false), false)), None);
        let anon = Caller::Anonymous {
            ip: "192.0.2.1".into(),
        };
        assert_eq!(
            code(require_admin(anon, false)),
            Some("authentication_required")
        );
    }
}
