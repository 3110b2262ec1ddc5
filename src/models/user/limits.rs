//! The four limits an admin may override per user (spec §4.1, §4.4). Overrides use one
//! encoding: NULL = the server default, -1 = unlimited, N >= 0 = that limit (see
//! `domain::limit`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::UserRow;
use crate::config::DefaultLimits;
use crate::db::WriteTx;
use crate::db::schema::users;
use crate::domain::limit::Limit;

/// The four per-user limits an admin may override (spec §4.1, §4.4), in the order the API shows
/// them. `name` is the member name in `limits`, `usage` and `overridden`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    RequestsPerDay,
    PrivateFeeds,
    PublicFeeds,
    Indicators,
}

impl LimitKind {
    /// Every kind, in display order.
    pub const ALL: [LimitKind; 4] = [
        LimitKind::RequestsPerDay,
        LimitKind::PrivateFeeds,
        LimitKind::PublicFeeds,
        LimitKind::Indicators,
    ];

    /// The member name in API objects.
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::RequestsPerDay => "requests_per_day",
            LimitKind::PrivateFeeds => "private_feeds",
            LimitKind::PublicFeeds => "public_feeds",
            LimitKind::Indicators => "indicators",
        }
    }

    /// The member name of what is used of it in `usage` (`requests_today` for the daily limit).
    pub fn usage_name(self) -> &'static str {
        match self {
            LimitKind::RequestsPerDay => "requests_today",
            other => other.name(),
        }
    }

    /// The server default of this kind.
    pub fn default_in(self, defaults: &DefaultLimits) -> Limit {
        match self {
            LimitKind::RequestsPerDay => defaults.requests_per_day,
            LimitKind::PrivateFeeds => defaults.private_feeds,
            LimitKind::PublicFeeds => defaults.public_feeds,
            LimitKind::Indicators => defaults.indicators,
        }
    }
}

impl UserRow {
    /// The override column of a limit: NULL = default, -1 = unlimited, N = that limit.
    pub fn limit_override(&self, kind: LimitKind) -> Option<i64> {
        match kind {
            LimitKind::RequestsPerDay => self.requests_per_day,
            LimitKind::PrivateFeeds => self.max_private_feeds,
            LimitKind::PublicFeeds => self.max_public_feeds,
            LimitKind::Indicators => self.max_indicators,
        }
    }

    /// The effective limit of a kind: the override, else the server default.
    pub fn limit(&self, kind: LimitKind, defaults: &DefaultLimits) -> Limit {
        Limit::effective(self.limit_override(kind), kind.default_in(defaults))
    }

    /// What this user uses of a kind; requests are counted elsewhere (`daily_usage`).
    pub fn used(&self, kind: LimitKind, requests_today: i64) -> i64 {
        match kind {
            LimitKind::RequestsPerDay => requests_today,
            LimitKind::PrivateFeeds => self.private_feed_count,
            LimitKind::PublicFeeds => self.public_feed_count,
            LimitKind::Indicators => self.indicator_count,
        }
    }
}

/// New limit overrides, indexed like [`LimitKind::ALL`]: `None` leaves a limit alone,
/// `Some(None)` drops the override (back to the server default), `Some(Some(l))` sets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitChanges(pub [Option<Option<Limit>>; 4]);

impl LimitChanges {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// Sets the change for one kind.
    pub fn set(&mut self, kind: LimitKind, change: Option<Limit>) {
        if let Some(i) = LimitKind::ALL.iter().position(|k| *k == kind) {
            self.0[i] = Some(change);
        }
    }

    fn column(&self, i: usize) -> Option<Option<i64>> {
        self.0[i].map(|change| change.map(Limit::to_column))
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct LimitColumns {
    requests_per_day: Option<Option<i64>>,
    max_private_feeds: Option<Option<i64>>,
    max_public_feeds: Option<Option<i64>>,
    max_indicators: Option<Option<i64>>,
    updated_at: NaiveDateTime,
}

/// Applies limit overrides (none given: only `updated_at` moves).
pub fn set_limits(
    c: &mut WriteTx<'_>,
    id: i64,
    changes: &LimitChanges,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let c = c.conn();
    let columns = LimitColumns {
        requests_per_day: changes.column(0),
        max_private_feeds: changes.column(1),
        max_public_feeds: changes.column(2),
        max_indicators: changes.column(3),
        updated_at: now,
    };
    diesel::update(users::table.find(id))
        .set(&columns)
        .execute(c)
}
