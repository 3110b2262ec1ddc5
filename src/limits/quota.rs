//! Quotas (spec §4.4): a conditional update of the owner's counter in the same transaction as
//! the write it pays for. The statement only succeeds while the new total stays within the
//! limit, so concurrent writers (threads or gateways) can never overshoot: on PostgreSQL the
//! update locks the row and re-checks its condition; on SQLite `BEGIN IMMEDIATE` serialises
//! writers. A refusal rolls the whole transaction back.

use crate::config::DefaultLimits;
use crate::db::WriteTx;
use crate::domain::limit::Limit;
use crate::error::ApiError;
use crate::models::user::{self, UserRow};

/// Takes (or, with a negative `n`, returns) `n` units of the owner's indicator quota.
pub fn take_indicators(
    c: &mut WriteTx<'_>,
    owner: &UserRow,
    n: i64,
    defaults: &DefaultLimits,
) -> Result<(), ApiError> {
    if n == 0 {
        return Ok(());
    }
    let limit = Limit::effective(owner.max_indicators, defaults.indicators);
    // Giving units back is never refused.
    let most = (n > 0).then(|| limit.0.unwrap_or(i64::MAX));
    if user::add_indicator_count(c, owner.id, n, most)? {
        return Ok(());
    }
    let used = user::find(c, owner.id)?.indicator_count;
    Err(ApiError::QuotaExceeded {
        quota: "indicators",
        limit: limit.0.unwrap_or(i64::MAX),
        used,
        requested: n,
    })
}

/// Takes (or returns, with `n` = -1) one feed of the given kind.
pub fn take_feed(
    c: &mut WriteTx<'_>,
    owner: &UserRow,
    private: bool,
    n: i64,
    defaults: &DefaultLimits,
) -> Result<(), ApiError> {
    let (column_limit, default, quota) = if private {
        (
            owner.max_private_feeds,
            defaults.private_feeds,
            "private_feeds",
        )
    } else {
        (
            owner.max_public_feeds,
            defaults.public_feeds,
            "public_feeds",
        )
    };
    let limit = Limit::effective(column_limit, default)
        .0
        .unwrap_or(i64::MAX);
    let most = (n >= 0).then_some(limit);
    if user::add_feed_count(c, owner.id, private, n, most)? {
        return Ok(());
    }
    let row = user::find(c, owner.id)?;
    let used = if private {
        row.private_feed_count
    } else {
        row.public_feed_count
    };
    Err(ApiError::QuotaExceeded {
        quota,
        limit,
        used,
        requested: n,
    })
}
