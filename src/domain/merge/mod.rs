//! The one indicator merge: what a later submission of a value does to the indicator that holds
//! it, for the API upsert (spec `csirtg-v0.md` §6.6.1, also each item of a bulk request,
//! §6.6.6) and the Shadowserver import (spec `shadowserver.md` §4.2). Plain values in, plain
//! values out: no database, no HTTP. The callers read the stored indicator, call this, and
//! write what it returns with their own statements (single create: one UPDATE; bulk and import:
//! multi-row statements).
//!
//! The rules, as [`Rule::Api`] and [`Rule::Import`] apply them:
//!
//! | | API (§6.6.1) | import (§4.2) |
//! |---|---|---|
//! | first submission | count 1, its times, its tags; tags over 255 characters: `too_long` | count 1, its times, its tags while they fit in 255 |
//! | `firsttime` | the earlier of stored and submitted; a missing side is ignored | the same |
//! | `lasttime` | the later of stored and submitted; a missing side is ignored | the same |
//! | `count` | + 1 for every submission | + 1 for a row that moves `firsttime` earlier or `lasttime` later (once if both) |
//! | tags | stored first, new ones appended in submitted order; over 255 characters: `too_long`, nothing changed | the same union, but a tag that does not fit is left out |
//! | descriptive fields | `portlist`, `portlist_src`, `protocol`, `description`, `content`, `provider`: a given one replaces the stored one, a missing one keeps it ([`Details::EachGiven`]) | `description`, `asn`, `cc`, `content`: all the row's (null included) when it moved `lasttime` later ([`Details::All`]), else kept; `portlist` and `protocol` never change (they are part of the import key) |
//! | outcome | always [`Outcome::Updated`] | [`Outcome::Updated`] when a stored field changed, else [`Outcome::Unchanged`] (nothing is written) |
//! | `updated_at` | now | now when written |
//! | `effective_at` | `lasttime`, else `created_at` ([`Sightings::effective_at`]) | the same |
//! | comments | appended while the indicator has fewer than 1,000 ([`comment_fits`]); an upsert drops the excess | – |
//! | attachments | added unless one with the same SHA-256 is there; at most 20 ([`attachment_added`]) | – |
//!
//! The callers keep what needs the database: quota is taken only for a created indicator, `id`
//! and `created_at` never change, the API upsert matches only indicators without an import key
//! and the import only its own keys. The importer's upsert statement repeats the "later
//! `lasttime`" test of [`Details::All`] in SQL, comparing the merged last time with the stored
//! one, which is the same test.
//!
//! The import's tag budget counts bytes where the API's counts characters (what the code did
//! before this module; the importer's mapper counts characters too). They differ only for
//! non-ASCII tags near the limit.

use chrono::NaiveDateTime;

use super::DomainError;
use super::tags::{self, MAX_JOINED_CHARS};

/// At most this many comments per indicator.
pub const MAX_COMMENTS: i64 = 1000;
/// At most this many attachments per indicator.
pub const MAX_ATTACHMENTS: usize = 20;

/// Which contract a merge follows; the two differ where the table of the module says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The CSIRTG API upsert (§6.6.1), for single and bulk create: every submission counts.
    Api,
    /// A Shadowserver row merged into the feed (§4.2): re-applying a row changes nothing.
    Import,
}

/// What one submission brings that every merge reads: its time span and its tags.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sighting<'a> {
    pub firsttime: Option<NaiveDateTime>,
    pub lasttime: Option<NaiveDateTime>,
    /// Valid, distinct, normalised tags in submitted order (`domain::tags`).
    pub tags: &'a [String],
}

/// The fields of an indicator every merge reads and may change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sightings {
    pub firsttime: Option<NaiveDateTime>,
    pub lasttime: Option<NaiveDateTime>,
    pub count: i64,
    /// Comma-joined, as stored (`""` for none).
    pub tags: String,
}

/// What a later submission did to an indicator (a first one creates it: [`Sightings::first`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Updated,
    Unchanged,
}

/// Which of the submission's descriptive fields replace the stored ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Details {
    /// API: each field the submission gives replaces the stored one ([`replace_given`]).
    EachGiven,
    /// Import, a row that moved `lasttime` later: all its descriptive fields, null included.
    All,
    /// Import, any other row: the stored ones stay.
    Kept,
}

/// The result of [`Sightings::merge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    pub outcome: Outcome,
    pub details: Details,
}

impl Sightings {
    /// The indicator a first submission creates: count 1, its times and its tags.
    ///
    /// Error code (API): `too_long` when the tags joined pass 255 characters.
    pub fn first(s: &Sighting<'_>, rule: Rule) -> Result<Self, DomainError> {
        let mut tags = String::with_capacity(s.tags.iter().map(|t| t.len() + 1).sum());
        append_tags(&mut tags, s.tags, rule)?;
        Ok(Sightings {
            firsttime: s.firsttime,
            lasttime: s.lasttime,
            count: 1,
            tags,
        })
    }

    /// Merges a later submission in place and says what it did. On an error nothing changed.
    ///
    /// Error code (API): `too_long` when the merged tags pass 255 characters.
    pub fn merge(&mut self, s: &Sighting<'_>, rule: Rule) -> Result<Merged, DomainError> {
        // Tags first: their refusal must leave everything as it was.
        let tagged = append_tags(&mut self.tags, s.tags, rule)?;
        let earlier = s
            .firsttime
            .is_some_and(|f| self.firsttime.is_none_or(|stored| f < stored));
        let later = s
            .lasttime
            .is_some_and(|l| self.lasttime.is_none_or(|stored| l > stored));
        if earlier {
            self.firsttime = s.firsttime;
        }
        if later {
            self.lasttime = s.lasttime;
        }
        Ok(match rule {
            Rule::Api => {
                self.count += 1;
                Merged {
                    outcome: Outcome::Updated,
                    details: Details::EachGiven,
                }
            }
            Rule::Import => {
                if earlier || later {
                    self.count += 1;
                }
                Merged {
                    outcome: if earlier || later || tagged {
                        Outcome::Updated
                    } else {
                        Outcome::Unchanged
                    },
                    details: if later { Details::All } else { Details::Kept },
                }
            }
        })
    }

    /// The time lists and searches order by: the last time, else the creation time.
    pub fn effective_at(&self, created_at: NaiveDateTime) -> NaiveDateTime {
        self.lasttime.unwrap_or(created_at)
    }
}

/// [`Details::EachGiven`] for one field: a given value replaces the stored one, a missing one
/// keeps it.
pub fn replace_given<T: Clone>(stored: &mut Option<T>, given: Option<&T>) {
    if let Some(v) = given {
        *stored = Some(v.clone());
    }
}

/// Whether an indicator with this many comments takes one more.
pub fn comment_fits(comments_count: i64) -> bool {
    comments_count < MAX_COMMENTS
}

/// Whether an attachment with this SHA-256 is added next to the stored ones (`false`: one with
/// the same SHA-256 is already there).
///
/// Error code: `too_many_attachments` when it is new and the indicator has 20.
pub fn attachment_added<'a>(
    mut stored_sha256: impl ExactSizeIterator<Item = &'a str>,
    sha256: &str,
) -> Result<bool, DomainError> {
    let stored = stored_sha256.len();
    if stored_sha256.any(|s| s == sha256) {
        return Ok(false);
    }
    if stored >= MAX_ATTACHMENTS {
        return Err(DomainError::new(
            "too_many_attachments",
            "at most 20 attachments per indicator",
        ));
    }
    Ok(true)
}

/// Appends the tags not yet in the comma-joined list, in their order; `true` when any was.
/// API: all of them or, over the limit, none (`too_long`). Import: each while it fits.
fn append_tags(joined: &mut String, tags: &[String], rule: Rule) -> Result<bool, DomainError> {
    let before = joined.len();
    for tag in tags {
        if joined.split(',').any(|t| t == tag.as_str()) {
            continue;
        }
        let extra = tag.len() + usize::from(!joined.is_empty());
        if rule == Rule::Import && joined.len() + extra > MAX_JOINED_CHARS {
            continue;
        }
        if !joined.is_empty() {
            joined.push(',');
        }
        joined.push_str(tag);
    }
    // Bytes are at least characters: only a long list needs counting.
    if rule == Rule::Api
        && joined.len() > MAX_JOINED_CHARS
        && joined.chars().count() > MAX_JOINED_CHARS
    {
        joined.truncate(before);
        return Err(tags::joined_too_long());
    }
    Ok(joined.len() > before)
}

#[cfg(test)]
mod tests;
