//! `/api/admin/users/{user}/tokens[/{tid}]`: the token routes of §6.3 for any user, with the
//! admin as caller.

use actix_web::{HttpResponse, web};

use super::{AdminReader, AdminWriter};
use crate::api::body::JsonBody;
use crate::api::query::NoParams;
use crate::api::representation::ApiVersion;
use crate::api::tokens::{self, TokenPath};
use crate::api::users::UserPath;
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// GET /api/admin/users/{user}/tokens: 200 with the user's unrevoked tokens, newest first;
/// 401, 403, 404. The §6.3 route, with the admin as caller.
pub async fn list_admin_user_tokens(
    state: web::Data<AppState>,
    version: ApiVersion,
    admin: AdminReader,
    params: NoParams,
    path: web::Path<UserPath>,
) -> Result<HttpResponse, ApiError> {
    tokens::list_tokens(state, version, Caller::User(admin.0), params, path).await
}

/// POST /api/admin/users/{user}/tokens: 201 with a new token of the user and its plaintext;
/// 401, 403, 404, 422 (`validation_failed`; `quota_exceeded` at 100 tokens). The §6.3 route,
/// with the admin as caller.
pub async fn create_admin_user_token(
    state: web::Data<AppState>,
    version: ApiVersion,
    admin: AdminWriter,
    params: NoParams,
    path: web::Path<UserPath>,
    payload: JsonBody,
) -> Result<HttpResponse, ApiError> {
    tokens::create_token(state, version, Caller::User(admin.0), params, path, payload).await
}

/// DELETE /api/admin/users/{user}/tokens/{tid}: 200 with the revoked token; 401, 403, 404
/// (unknown user; unknown, revoked or another user's token). The §6.3 route, with the admin
/// as caller.
pub async fn revoke_admin_user_token(
    state: web::Data<AppState>,
    version: ApiVersion,
    admin: AdminWriter,
    params: NoParams,
    path: web::Path<TokenPath>,
) -> Result<HttpResponse, ApiError> {
    tokens::revoke_token(state, version, Caller::User(admin.0), params, path).await
}
