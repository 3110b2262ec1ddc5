//! Identifies the caller of every request before routing (spec §1.4 steps 2 and 4): no
//! credentials → anonymous, a valid token → that user, anything else → 401 at once, also on
//! routes open to anonymous callers. One blocking database call resolves the token.
//! `/api/health` and `/metrics` skip all of it.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

use crate::auth::caller::{AuthUser, BasicCredentials, Caller};
use crate::auth::header::{Presented, presented};
use crate::auth::token::PlainToken;
use crate::db;
use crate::error::ApiError;
use crate::models::token::{self, SCOPE_WRITE};
use crate::startup::AppState;

/// Paths answered without identification or charge.
pub fn is_unmetered(path: &str) -> bool {
    path == "/api/health" || path == "/metrics"
}

/// `/api/users/:user/tokens` is the one route that accepts HTTP Basic.
fn accepts_basic(path: &str) -> bool {
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

/// The identify middleware.
pub async fn identify(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if is_unmetered(req.path()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    match resolve(&req).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
        Err(e) => Ok(req.error_response(e)),
    }
}

async fn resolve(req: &ServiceRequest) -> Result<Caller, ApiError> {
    let text = |name| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("\u{0}"))
    };
    let found = presented(
        text(header::AUTHORIZATION),
        text(header::HeaderName::from_static("x-api-key")),
    );
    match found {
        Presented::None => Ok(Caller::Anonymous { ip: client_ip(req) }),
        Presented::Conflicting => Err(ApiError::ConflictingCredentials),
        Presented::Unsupported => Err(ApiError::UnsupportedAuthScheme),
        Presented::Basic { username, password } if accepts_basic(req.path()) => {
            Ok(Caller::Basic(BasicCredentials { username, password }))
        }
        Presented::Basic { .. } => Err(ApiError::UnsupportedAuthScheme),
        Presented::Token(text) => {
            let plain = PlainToken::parse(&text).ok_or(ApiError::InvalidToken)?;
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
            let now = state.clock.now();
            let hash = plain.hash();
            let user = db::run(&state.pool, move |c| authenticate(c, &hash.0, now)).await?;
            Ok(Caller::User(user))
        }
    }
}

/// Looks a token up by hash and checks its state; bumps `last_used_at` at most once a minute.
pub fn authenticate(
    c: &mut db::DbConnection,
    hash: &[u8],
    now: chrono::NaiveDateTime,
) -> Result<AuthUser, ApiError> {
    let (tok, user) = token::find_by_hash(c, hash)?.ok_or(ApiError::InvalidToken)?;
    if tok.revoked_at.is_some() {
        return Err(ApiError::InvalidToken);
    }
    if tok.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::TokenExpired);
    }
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    token::touch(c, tok.id, now)?;
    Ok(AuthUser {
        id: user.id,
        admin: user.is_admin(),
        name: user.username,
        write: tok.scope == SCOPE_WRITE,
        token_id: tok.id,
    })
}

/// The client address: the TCP peer (trusted proxies are not configured yet).
fn client_ip(req: &ServiceRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
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
}
