//! Writing one submission (spec §6.6.1): `apply`, the create-or-upsert of one indicator with
//! its comment and attachment inside the caller's transaction, `new_row`, the row a first
//! submission creates, and the `Rules` a body is read under. The merge rules themselves are
//! `domain::merge`'s. Shared by the single create and bulk routes.

use chrono::NaiveDateTime;

use crate::api::dto::indicator::{IndicatorInput, Rules};
use crate::auth::caller::AuthUser;
use crate::config::DefaultLimits;
use crate::db::WriteTx;
use crate::domain::expiry::{Lifetimes, first_expiry, merged_expiry};
use crate::domain::merge::{Rule, Sightings, attachment_added, comment_fits};
use crate::domain::thing::Thing;
use crate::error::ApiError;
use crate::limits::quota;
use crate::models::attachment::{self, NewAttachment};
use crate::models::change::{self, Op};
use crate::models::comment;
use crate::models::feed::{self, FeedRow};
use crate::models::indicator::{self, IndicatorChanges, IndicatorRow, NewIndicator};
use crate::models::user::UserRow;
use crate::state::AppState;

pub use crate::domain::merge::{MAX_ATTACHMENTS, MAX_COMMENTS};

/// The outcome of applying one submission.
#[derive(Debug)]
pub struct Applied {
    pub row: IndicatorRow,
    pub created: bool,
    pub comment_dropped: bool,
}

/// The settings `apply` needs.
#[derive(Debug, Clone, Copy)]
pub struct WriteContext {
    pub now: NaiveDateTime,
    pub defaults: DefaultLimits,
    /// The default lifetime of each indicator type.
    pub lifetimes: Lifetimes,
}

impl WriteContext {
    /// The context of writes to `feed`: its own default lifetimes over the server's.
    pub fn for_feed(&self, feed: &FeedRow) -> WriteContext {
        WriteContext {
            lifetimes: self.lifetimes.with(&feed.lifetime_overrides()),
            ..*self
        }
    }

    /// When an indicator of `thing`'s type seen now expires unless its publisher says.
    pub fn renewed(&self, thing: &Thing) -> NaiveDateTime {
        self.lifetimes.expiry(thing.itype(), self.now)
    }
}

/// The write settings of this server at this moment (`now` taken with the body's rules).
pub fn context(state: &AppState, rules: &Rules) -> WriteContext {
    WriteContext {
        now: rules.now,
        defaults: state.settings.default_limits(),
        lifetimes: state.settings.lifetimes,
    }
}

/// Creates the indicator or merges the submission into the feed's API-written indicator of the
/// same value (spec §6.6.1 upsert), with its comment and attachment. Runs inside the caller's
/// write transaction; takes quota only for a new indicator.
pub fn apply(
    c: &mut WriteTx<'_>,
    (owner, feed_row): (&UserRow, &FeedRow),
    author: &AuthUser,
    thing: &Thing,
    input: &IndicatorInput,
    ctx: &WriteContext,
    field_prefix: &str,
) -> Result<Applied, ApiError> {
    let ctx = &ctx.for_feed(feed_row);
    let now = ctx.now;
    let tags_field = if field_prefix.is_empty() {
        "tags".to_string()
    } else {
        format!("{field_prefix}.tags")
    };
    let existing = indicator::find_api_value(c, feed_row.id, thing.as_str())?;
    let mut comment_dropped = false;
    let (row, created) = match existing {
        None => {
            quota::take_indicators(c, owner, 1, &ctx.defaults)?;
            let new = new_row((owner, feed_row), thing, input, ctx)
                .map_err(|e| ApiError::invalid(&tags_field, e.code, e.message))?;
            let row = indicator::insert(c, &new)?;
            let written = feed::add_indicators(c, feed_row.id, 1, now)?;
            change::append_one(c, &written, Op::Created, row.id, row.tlp.as_deref())?;
            if change::expired_at_write(row.expires_at, now) {
                change::append_one(c, &written, Op::Expired, row.id, row.tlp.as_deref())?;
            }
            (row, true)
        }
        Some(mut old) => {
            let mut merged = Sightings {
                firsttime: old.firsttime,
                lasttime: old.lasttime,
                count: old.count,
                tags: std::mem::take(&mut old.tags),
            };
            merged
                .merge(&input.sighting(), Rule::Api)
                .map_err(|e| ApiError::invalid(&tags_field, e.code, e.message))?;
            // `Details::EachGiven`: only the fields the submission gives are written.
            let changes = IndicatorChanges {
                portlist: input.portlist.given().cloned().map(Some),
                portlist_src: input.portlist_src.given().cloned().map(Some),
                protocol: input.protocol.given().copied().map(Some),
                firsttime: Some(merged.firsttime),
                lasttime: Some(merged.lasttime),
                effective_at: Some(merged.effective_at(old.created_at)),
                count: Some(merged.count),
                description: input.description.given().cloned().map(Some),
                content: input.content.given().cloned().map(Some),
                provider: input.provider.given().cloned().map(Some),
                tags: Some(merged.tags),
                comments_count: None,
                updated_at: Some(now),
                confidence: input.confidence.given().copied().map(Some),
                tlp: input.tlp.given().map(|t| Some(t.as_str().to_owned())),
                expires_at: Some(merged_expiry(
                    old.expires_at,
                    input.expires_at.clone().change(),
                    ctx.renewed(thing),
                )),
            };
            let row = indicator::update(c, old.id, &changes)?;
            let written = feed::add_indicators(c, feed_row.id, 0, now)?;
            change::append_one(c, &written, Op::Updated, row.id, row.tlp.as_deref())?;
            if change::expired_at_write(row.expires_at, now) {
                change::append_one(c, &written, Op::Expired, row.id, row.tlp.as_deref())?;
            }
            (row, false)
        }
    };
    let mut row = row;
    if let Some(text) = &input.comment {
        if !comment_fits(row.comments_count) {
            if created {
                return Err(ApiError::invalid(
                    "comment",
                    "too_many_comments",
                    "at most 1,000 comments per indicator",
                ));
            }
            comment_dropped = true;
        } else {
            row = append_comment(c, &row, author.id, text, now)?;
        }
    }
    if let Some(att) = &input.attachment {
        let existing = attachment::for_indicators(c, &[row.id])?
            .remove(&row.id)
            .unwrap_or_default();
        let added = attachment_added(existing.iter().map(|a| a.sha256.as_str()), &att.sha256)
            .map_err(|e| ApiError::invalid("attachment", e.code, e.message))?;
        if added {
            attachment::insert(
                c,
                &NewAttachment {
                    indicator_id: row.id,
                    filename: &att.filename,
                    content_type: att.content_type,
                    filesize: att.data.len() as i64,
                    sha1: &att.sha1,
                    sha256: &att.sha256,
                    data: &att.data,
                    created_at: now,
                },
            )?;
            row.attachments_count += 1;
        }
    }
    Ok(Applied {
        row,
        created,
        comment_dropped,
    })
}

/// The row a first submission of `thing` creates; `too_long` when its tags do not fit.
pub fn new_row(
    (owner, feed_row): (&UserRow, &FeedRow),
    thing: &Thing,
    input: &IndicatorInput,
    ctx: &WriteContext,
) -> Result<NewIndicator, crate::domain::DomainError> {
    let now = ctx.now;
    let first = Sightings::first(&input.sighting(), Rule::Api)?;
    let (ip_lo, ip_hi) = thing.ip_range().map_or((None, None), |(lo, hi)| {
        (Some(lo.to_vec()), Some(hi.to_vec()))
    });
    Ok(NewIndicator {
        feed_id: feed_row.id,
        user_id: owner.id,
        value: thing.as_str().to_string(),
        itype: thing.itype().as_str().to_string(),
        ip_lo,
        ip_hi,
        host_rev: thing.host_rev(),
        portlist: input.portlist.clone().value(),
        portlist_src: input.portlist_src.clone().value(),
        protocol: input.protocol.clone().value(),
        effective_at: first.effective_at(now),
        firsttime: first.firsttime,
        lasttime: first.lasttime,
        count: first.count,
        description: input.description.clone().value(),
        content: input.content.clone().value(),
        provider: input.provider.clone().value(),
        asn: None,
        asn_desc: None,
        cc: None,
        tags: first.tags,
        import_key: None,
        comments_count: 0,
        created_at: now,
        updated_at: now,
        confidence: input.confidence.given().copied(),
        tlp: input.tlp.given().map(|t| t.as_str().to_owned()),
        expires_at: first_expiry(input.expires_at.clone().change(), ctx.renewed(thing)),
    })
}

/// The body rules of this server at this moment.
pub fn rules(state: &AppState) -> Rules {
    Rules {
        now: state.clock.now(),
        max_attachment_bytes: state.settings.max_attachment_bytes,
        attachments_allowed: true,
    }
}

/// Adds a comment to the indicator and counts it; the caller has checked the limit.
pub fn append_comment(
    c: &mut WriteTx<'_>,
    row: &IndicatorRow,
    author_id: i64,
    text: &str,
    now: NaiveDateTime,
) -> Result<IndicatorRow, ApiError> {
    comment::insert(c, row.id, author_id, text, now)?;
    let changes = IndicatorChanges {
        comments_count: Some(row.comments_count + 1),
        ..Default::default()
    };
    Ok(indicator::update(c, row.id, &changes)?)
}
