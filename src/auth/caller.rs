//! Who is calling: the [`Caller`] the identify middleware puts into the request, and the
//! extractors handlers use to demand a user (401) or a write-scoped user (403).

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};

use crate::error::ApiError;

/// A user authenticated by a valid token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i64,
    pub name: String,
    pub admin: bool,
    pub write: bool,
    pub token_id: i64,
    /// When the presented token expires: a token it mints never outlives it.
    pub token_expires_at: Option<chrono::NaiveDateTime>,
}

impl AuthUser {
    /// Returns 403 `forbidden` unless this user is `owner_id` or an admin.
    pub fn require_self_or_admin(&self, owner_id: i64) -> Result<(), ApiError> {
        if self.admin || self.id == owner_id {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only the owner or an admin may do this",
            ))
        }
    }
}

/// The identity of a request, set once by the identify middleware.
#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous {
        ip: String,
    },
    User(AuthUser),
    /// HTTP Basic credentials, presented on the one route that accepts them (token minting).
    Basic(BasicCredentials),
}

/// User name and password from HTTP Basic; never printed.
#[derive(Clone)]
pub struct BasicCredentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BasicCredentials(<redacted>)")
    }
}

impl Caller {
    /// The authenticated user, if any.
    pub fn user(&self) -> Option<&AuthUser> {
        match self {
            Caller::User(u) => Some(u),
            _ => None,
        }
    }

    /// The name used in request logs.
    pub fn log_name(&self) -> &str {
        match self {
            Caller::User(u) => &u.name,
            Caller::Basic(_) => "(basic)",
            Caller::Anonymous { .. } => "-",
        }
    }
}

fn caller_of(req: &HttpRequest) -> Caller {
    req.extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_else(|| Caller::Anonymous {
            ip: req
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default(),
        })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(caller_of(req)))
    }
}

/// An authenticated user with any scope; anonymous → 401 `authentication_required`.
#[derive(Debug, Clone)]
pub struct ReadCaller(pub AuthUser);

impl FromRequest for ReadCaller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match caller_of(req) {
            Caller::User(u) => Ok(ReadCaller(u)),
            _ => Err(ApiError::AuthenticationRequired),
        })
    }
}

/// An authenticated user whose token has the write scope; anonymous → 401, read-only → 403.
#[derive(Debug, Clone)]
pub struct WriteCaller(pub AuthUser);

impl FromRequest for WriteCaller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match caller_of(req) {
            Caller::User(u) if u.write => Ok(WriteCaller(u)),
            Caller::User(_) => Err(ApiError::InsufficientScope),
            _ => Err(ApiError::AuthenticationRequired),
        })
    }
}
