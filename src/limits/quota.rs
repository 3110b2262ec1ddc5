//! Quotas (spec §4.4): a conditional update of the owner's counter in the same transaction as
//! the write it pays for. The statement only succeeds while the new total stays within the
//! limit, so concurrent writers (threads or gateways) can never overshoot: on PostgreSQL the
//! update locks the row and re-checks its condition; on SQLite `BEGIN IMMEDIATE` serialises
//! writers. A refusal rolls the whole transaction back.

use diesel::QueryResult;

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

/// Gives `n` units of a user's indicator quota back (indicators deleted without a request of
/// theirs: the purge). Never refused.
pub fn give_back_indicators(c: &mut WriteTx<'_>, owner_id: i64, n: i64) -> QueryResult<()> {
    if n > 0 {
        user::add_indicator_count(c, owner_id, -n, None)?;
    }
    Ok(())
}

/// An import batch's share of the owner's indicator quota (spec `shadowserver.md` §4.5): the
/// owner's row is locked and read once, the batch creates indicators while units are
/// [`left`](Self::left), and [`take`](Self::take) then takes them with the conditional
/// statement every quota uses. Rows past the quota are skipped, not refused: the import goes
/// on with the rows that update stored indicators.
#[derive(Debug, Clone, Copy)]
pub struct ImportAllowance {
    owner_id: i64,
    limit: Limit,
    left: i64,
}

impl ImportAllowance {
    /// Locks the owner's row and reads what is left of the quota: the owner's override, else
    /// `default`.
    pub fn lock(c: &mut WriteTx<'_>, owner_id: i64, default: Limit) -> QueryResult<Self> {
        let (override_limit, used) = user::lock_indicator_quota(c, owner_id)?;
        let limit = Limit::effective(override_limit, default);
        let left = limit.0.map_or(i64::MAX, |l| (l - used).max(0));
        Ok(ImportAllowance {
            owner_id,
            limit,
            left,
        })
    }

    /// Whether one more indicator fits; counts it when it does.
    pub fn admit(&mut self) -> bool {
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        true
    }

    /// Takes the `n` indicators admitted. The row is locked and they fit, so a refusal means
    /// the data changed under the transaction: it is rolled back.
    pub fn take(&self, c: &mut WriteTx<'_>, n: i64) -> QueryResult<()> {
        if n == 0 {
            return Ok(());
        }
        let most = self.limit.0.unwrap_or(i64::MAX);
        if user::add_indicator_count(c, self.owner_id, n, Some(most))? {
            Ok(())
        } else {
            Err(diesel::result::Error::RollbackTransaction)
        }
    }
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
