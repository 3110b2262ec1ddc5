//! Token routes (spec §6.3): list, mint and revoke a user's API tokens. The owner (token or
//! HTTP Basic with their password) or an admin may act; the plaintext of a minted token is in
//! the 201 answer and nowhere else.

use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::api::body;
use crate::api::dto::token::CreateTokenRequest;
use crate::api::query::NoParams;
use crate::api::representation::ApiVersion;
use crate::auth::accounts::{self, AccountError, MAX_TOKENS_PER_USER, Minted, TokenSpec};
use crate::auth::caller::Caller;
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::models::token::{self, SCOPE_WRITE, TokenRow};
use crate::models::user::{self, UserRow};
use crate::state::AppState;

/// Path of a token route.
#[derive(Debug, Deserialize)]
pub struct TokenPath {
    pub user: String,
    pub tid: String,
}

/// A password that was checked against the user's stored hash before any transaction began.
pub struct PasswordChecked {
    user_id: i64,
    hash: Option<String>,
}

/// For HTTP Basic callers, checks the password outside any database connection or lock, on
/// the bounded verification threads (`auth::password`): finds the user (404), verifies (401;
/// 503 `server_busy` when too many checks are queued). Other callers need no check: `None`.
pub async fn check_password(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> Result<Option<PasswordChecked>, ApiError> {
    let Caller::Basic(basic) = caller else {
        return Ok(None);
    };
    let lookup = name.to_string();
    let owner = state
        .db
        .read(move |c| user::find_by_name(c, &lookup).map_err(ApiError::from))
        .await?;
    let same = basic.username.eq_ignore_ascii_case(&owner.username);
    let stored = owner.password_hash.clone().filter(|_| same);
    let ok = state
        .passwords
        .verify(stored, basic.password.clone())
        .await
        .map_err(|_| ApiError::ServerBusy("password checks"))?;
    if !ok || owner.disabled {
        return Err(ApiError::InvalidCredentials);
    }
    Ok(Some(PasswordChecked {
        user_id: owner.id,
        hash: owner.password_hash,
    }))
}

/// Inside the caller's connection: finds the user (404) and checks ownership, or that the
/// password checked beforehand still belongs to this enabled user (changed meanwhile: 401).
fn authorize(
    c: &mut DbConnection,
    caller: &Caller,
    name: &str,
    checked: Option<&PasswordChecked>,
) -> Result<UserRow, ApiError> {
    let owner = user::find_by_name(c, name)?;
    match caller {
        Caller::User(u) => u.require_self_or_admin(owner.id)?,
        Caller::Basic(_) => {
            let still = checked.is_some_and(|p| {
                p.user_id == owner.id && p.hash == owner.password_hash && p.hash.is_some()
            });
            if !still || owner.disabled {
                return Err(ApiError::InvalidCredentials);
            }
        }
        Caller::Anonymous { .. } => return Err(ApiError::AuthenticationRequired),
    }
    Ok(owner)
}

fn precheck(caller: &Caller, write: bool) -> Result<(), ApiError> {
    match caller {
        Caller::Anonymous { .. } => Err(ApiError::AuthenticationRequired),
        Caller::User(u) if write && !u.write => Err(ApiError::InsufficientScope),
        _ => Ok(()),
    }
}

/// The token object; `plain` only in the minting answer, `revoked` only in the revoking one.
pub fn token_object(row: &TokenRow, version: ApiVersion, plain: Option<&str>) -> Value {
    let scopes: Vec<&str> = if row.scope == SCOPE_WRITE {
        vec!["read", "write"]
    } else {
        vec!["read"]
    };
    let mut obj = Map::new();
    obj.insert("id".into(), json!(row.id));
    obj.insert("name".into(), json!(row.name));
    obj.insert("prefix".into(), json!(row.prefix));
    obj.insert("scopes".into(), json!(scopes));
    if let Some(plain) = plain {
        obj.insert("token".into(), json!(plain));
    }
    obj.insert("created_at".into(), version.time(row.created_at));
    obj.insert("expires_at".into(), version.opt_time(row.expires_at));
    obj.insert("last_used_at".into(), version.opt_time(row.last_used_at));
    if row.revoked_at.is_some() {
        obj.insert("revoked_at".into(), version.opt_time(row.revoked_at));
    }
    Value::Object(obj)
}

/// GET /api/users/{user}/tokens: 200 with the unrevoked tokens, newest first; 401, 403, 404.
pub async fn list_tokens(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    _: NoParams,
    path: web::Path<crate::api::users::UserPath>,
) -> Result<HttpResponse, ApiError> {
    precheck(&caller, false)?;
    let name = path.into_inner().user;
    let checked = check_password(&state, &caller, &name).await?;
    let rows = state
        .db
        .read(move |c| {
            let owner = authorize(c, &caller, &name, checked.as_ref())?;
            token::list_active(c, owner.id).map_err(ApiError::from)
        })
        .await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|r| token_object(r, version, None))
        .collect();
    Ok(version.ok(&Value::Array(list)))
}

/// POST /api/users/{user}/tokens: 201 with the new token and its plaintext; 401, 403, 404, 422.
pub async fn create_token(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    _: NoParams,
    path: web::Path<crate::api::users::UserPath>,
    payload: body::JsonBody,
) -> Result<HttpResponse, ApiError> {
    precheck(&caller, true)?;
    let name = path.into_inner().user;
    let now = state.clock.now();
    let checked = check_password(&state, &caller, &name).await?;
    let minted = state
        .db
        .write(move |c| {
            let owner = authorize(c, &caller, &name, checked.as_ref())?;
            let mut spec = CreateTokenRequest::parse(payload.into_inner(), now)?;
            // A token minted with a token never outlives it.
            if let Caller::User(u) = &caller {
                spec.expires_at = outlived_by(spec.expires_at, u.token_expires_at);
            }
            mint(c, owner.id, &spec, now)
        })
        .await?;
    Ok(version.created(&token_object(
        &minted.row,
        version,
        Some(minted.plain.expose()),
    )))
}

/// The expiry of a token minted by a caller whose own token expires at `minter`: the earlier
/// of the two (no expiry asked for means the minter's).
pub fn outlived_by(
    asked: Option<NaiveDateTime>,
    minter: Option<NaiveDateTime>,
) -> Option<NaiveDateTime> {
    match (asked, minter) {
        (Some(a), Some(m)) => Some(a.min(m)),
        (a, m) => a.or(m),
    }
}

/// Mints a token, mapping the cap to `quota_exceeded`.
pub fn mint(
    c: &mut db::WriteTx<'_>,
    user_id: i64,
    spec: &TokenSpec,
    now: NaiveDateTime,
) -> Result<Minted, ApiError> {
    accounts::mint_token(c, user_id, spec, now).map_err(account_error)
}

/// Maps account errors to API errors.
pub fn account_error(e: AccountError) -> ApiError {
    match e {
        AccountError::NameTaken => ApiError::NameTaken("username"),
        AccountError::TooManyTokens { used } => ApiError::QuotaExceeded {
            quota: "tokens",
            limit: MAX_TOKENS_PER_USER,
            used,
            requested: 1,
        },
        AccountError::Db(e) => ApiError::from(e),
        AccountError::Other(e) => ApiError::Internal(e),
    }
}

/// DELETE /api/users/{user}/tokens/{tid}: 200 with the revoked token; 401, 403, 404.
pub async fn revoke_token(
    state: web::Data<AppState>,
    version: ApiVersion,
    caller: Caller,
    _: NoParams,
    path: web::Path<TokenPath>,
) -> Result<HttpResponse, ApiError> {
    precheck(&caller, true)?;
    let TokenPath { user: name, tid } = path.into_inner();
    let tid = parse_id(&tid)?;
    let now = state.clock.now();
    let checked = check_password(&state, &caller, &name).await?;
    let row = state
        .db
        .write(move |c| {
            let owner = authorize(c, &caller, &name, checked.as_ref())?;
            token::revoke(c, tid, Some(owner.id), now).map_err(ApiError::from)
        })
        .await?;
    Ok(version.ok(&token_object(&row, version, None)))
}

/// A path id: plain decimal digits of a positive 64-bit integer, else 404.
pub fn parse_id(raw: &str) -> Result<i64, ApiError> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::NotFound);
    }
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(ApiError::NotFound)
}
