//! Who may see and write what: the one place the visibility and write rules of feeds are
//! decided (spec §1.4 steps 11-12). Another user's private feed answers exactly like a missing
//! one (404); another user's public feed is visible but not writable (403). The SQL that
//! applies a [`Viewer`] to many rows at once (searches) lives in `models::search`.

use crate::auth::caller::{AuthUser, Caller};
use crate::db::DbConnection;
use crate::domain::tlp::Tlp;
use crate::domain::viewer::Viewer;
use crate::error::ApiError;
use crate::models::feed::{self, FeedRow};
use crate::models::indicator::{self, IndicatorRow};
use crate::models::user::UserRow;

/// The viewer a caller reads as.
pub fn viewer(caller: &Caller) -> Viewer {
    match caller.user() {
        None => Viewer::Anonymous,
        Some(u) => user_viewer(u),
    }
}

fn user_viewer(user: &AuthUser) -> Viewer {
    if user.admin {
        Viewer::Admin(user.id)
    } else {
        Viewer::User(user.id)
    }
}

/// The owner and feed named `user`/`feed` as `caller` may see them (404 otherwise).
pub fn visible_feed(
    c: &mut DbConnection,
    user: &str,
    feed: &str,
    caller: &Caller,
) -> Result<(UserRow, FeedRow), ApiError> {
    Ok(feed::find_visible(c, user, feed, viewer(caller))?)
}

/// The indicator `id` of a visible feed as `caller` may read it: an AMBER or RED one answers
/// like a missing one (404) to anybody but the feed's owner and admins (the TLP rule).
pub fn visible_indicator(
    c: &mut DbConnection,
    feed: &FeedRow,
    id: i64,
    caller: &Caller,
) -> Result<IndicatorRow, ApiError> {
    let row = indicator::find_in_feed(c, feed.id, id)?;
    let tlp = Tlp::effective(row.tlp.as_deref(), feed.private);
    if tlp.is_restricted() && !viewer(caller).reads_restricted_of(feed.user_id) {
        return Err(diesel::result::Error::NotFound.into());
    }
    Ok(row)
}

/// The owner and feed named `user`/`feed` for a write by `writer`: 404 when invisible, 403
/// when it is another user's (admins may write everywhere).
pub fn writable_feed(
    c: &mut DbConnection,
    user: &str,
    feed: &str,
    writer: &AuthUser,
) -> Result<(UserRow, FeedRow), ApiError> {
    let (owner, feed) = feed::find_visible(c, user, feed, user_viewer(writer))?;
    writer.require_self_or_admin(owner.id)?;
    Ok((owner, feed))
}
