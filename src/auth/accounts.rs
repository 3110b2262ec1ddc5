//! Creating users and minting tokens: the multi-step writes shared by the bootstrap, the CLI,
//! the token routes and the tests. Each runs inside the caller's transaction.

use chrono::NaiveDateTime;

use crate::auth::token::PlainToken;
use crate::db::WriteTx;
use crate::domain::name::Username;
use crate::models::token::{self, NewToken, SCOPE_READ, SCOPE_WRITE, TokenRow};
use crate::models::user::{self, NewUser, ROLE_ADMIN, ROLE_USER, UserRow};

/// At most this many unrevoked tokens per user (spec §3.2).
pub const MAX_TOKENS_PER_USER: i64 = 100;

/// A token row together with its plaintext, which is shown once and then dropped.
#[derive(Debug)]
pub struct Minted {
    pub row: TokenRow,
    pub plain: PlainToken,
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("user name is already taken")]
    NameTaken,
    #[error("at most {MAX_TOKENS_PER_USER} unrevoked tokens per user")]
    TooManyTokens { used: i64 },
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<crate::db::RunError> for AccountError {
    fn from(e: crate::db::RunError) -> Self {
        AccountError::Other(e.into())
    }
}

/// What a new token may do and how long it lives.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub name: String,
    pub write: bool,
    pub expires_at: Option<NaiveDateTime>,
}

impl Default for TokenSpec {
    fn default() -> Self {
        Self {
            name: "token".into(),
            write: true,
            expires_at: None,
        }
    }
}

/// Creates a user (admin or not, optionally with a password's PHC hash, made by
/// `Password::hash` before the transaction: hashing holds ~19 MiB and tens of milliseconds,
/// never the write lock) and a first read/write token.
pub fn create_user(
    c: &mut WriteTx<'_>,
    name: &Username,
    admin: bool,
    password_hash: Option<&str>,
    now: NaiveDateTime,
) -> Result<(UserRow, Minted), AccountError> {
    let new = NewUser {
        username: name.as_str(),
        password_hash,
        role: if admin { ROLE_ADMIN } else { ROLE_USER },
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    let row = user::insert(c, &new).map_err(|e| match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => AccountError::NameTaken,
        other => AccountError::Db(other),
    })?;
    let minted = mint_token(c, row.id, &TokenSpec::default(), now)?;
    Ok((row, minted))
}

/// Mints a token for a user, refusing past the per-user token cap.
pub fn mint_token(
    c: &mut WriteTx<'_>,
    user_id: i64,
    spec: &TokenSpec,
    now: NaiveDateTime,
) -> Result<Minted, AccountError> {
    let used = token::count_active(c, user_id)?;
    if used >= MAX_TOKENS_PER_USER {
        return Err(AccountError::TooManyTokens { used });
    }
    let plain = PlainToken::generate().map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let hash = plain.hash();
    let prefix = plain.display_prefix();
    let new = NewToken {
        user_id,
        token_hash: &hash.0,
        prefix: &prefix,
        name: &spec.name,
        scope: if spec.write { SCOPE_WRITE } else { SCOPE_READ },
        created_at: now,
        expires_at: spec.expires_at,
    };
    let row = token::insert(c, &new)?;
    Ok(Minted { row, plain })
}
