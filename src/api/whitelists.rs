//! The whitelist one export applies: the server's (special-purpose blocks and warninglists,
//! built at startup) and then the whitelist feeds of the exported feed's owner and every
//! global whitelist feed. Each whitelist feed is compiled once and kept in
//! `AppState::feed_whitelists` while its change stamp (read on every export: its count and
//! largest indicator id) stays the same, and at most [`MAX_VALUES`] of its values are used.
//! A whitelist feed's own exports are not filtered (see `export::Filters::for_feed`).

use std::sync::Arc;

use crate::db::DbConnection;
use crate::domain::thing::Thing;
use crate::domain::viewer::Viewer;
use crate::domain::whitelist::{Builder, Classes, FeedCache, Hit, Origin, Stamp, Whitelist};
use crate::error::ApiError;
use crate::models::feed::{self, FeedRow};

/// The most values of one whitelist feed an export uses (its newest, by effective time): a
/// million values compile in about a second and take some tens of MB.
pub const MAX_VALUES: i64 = 1_000_000;

/// How many compiled whitelist feeds a server keeps; the least recently used goes first.
pub const CACHED_FEEDS: usize = 32;

/// One whitelist feed as an export applies it.
struct FeedList {
    list: Arc<Whitelist>,
    /// Whether the caller may see the feed, and so the entry that matched.
    visible: bool,
}

/// The whitelist of one export: the server's, then the whitelist feeds in id order.
pub(crate) struct ExportWhitelist {
    server: Arc<Whitelist>,
    feeds: Vec<FeedList>,
    /// `(id, version)` of each whitelist feed applied, for the export cache.
    versions: Vec<(i64, i64)>,
}

/// What left a value out, and whether the caller may see the entry (a whitelist feed it
/// cannot see is named, never shown).
pub(crate) struct Found<'w> {
    pub hit: Hit<'w>,
    pub entry_visible: bool,
}

impl ExportWhitelist {
    /// The whitelist of the exports of `exported` (owned by its `user_id`), for `viewer`:
    /// compiles the whitelist feeds whose stamp moved since they were cached.
    pub(crate) fn load(
        c: &mut DbConnection,
        cache: &FeedCache,
        server: Arc<Whitelist>,
        exported: &FeedRow,
        viewer: Viewer,
    ) -> Result<Self, ApiError> {
        let mut feeds = Vec::new();
        let mut versions = Vec::new();
        for found in feed::list_whitelists(c, exported.user_id)? {
            let row = &found.feed;
            versions.push((row.id, row.version));
            let stamp = Stamp {
                count: row.indicator_count,
                newest: feed::newest_indicator_id(c, row.id)?,
                name: format!("{}/{}", found.owner, row.name),
            };
            let list = cache.get_or_build(row.id, &stamp, || compile(c, row.id, &stamp.name))?;
            feeds.push(FeedList {
                list,
                visible: !row.private || viewer.sees_private_of(row.user_id),
            });
        }
        Ok(ExportWhitelist {
            server,
            feeds,
            versions,
        })
    }

    /// `(id, version)` of each whitelist feed applied.
    pub(crate) fn versions(&self) -> &[(i64, i64)] {
        &self.versions
    }

    /// The first entry that whitelists `thing`: the server's first, then each feed's.
    pub(crate) fn check(&self, thing: &Thing) -> Option<Found<'_>> {
        if let Some(hit) = self.server.check(thing) {
            return Some(Found {
                hit,
                entry_visible: true,
            });
        }
        self.feeds.iter().find_map(|f| {
            f.list.check(thing).map(|hit| Found {
                hit,
                entry_visible: f.visible,
            })
        })
    }
}

/// One whitelist feed as a [`Whitelist`] of one source named `name` (`owner/feed`).
fn compile(c: &mut DbConnection, id: i64, name: &str) -> Result<Whitelist, ApiError> {
    let mut builder = Builder::new();
    let source = builder.source(name, Origin::Feed(id), Classes::ALL);
    feed::each_value(c, id, MAX_VALUES, |value| {
        // Stored values were parsed on the way in; one that no longer parses is skipped.
        if let Ok(thing) = Thing::parse(value) {
            builder.add_thing(source, &thing);
        }
    })?;
    // Only a regular expression can fail to build, and a feed's values are never one.
    builder
        .build()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("whitelist feed {id}: {e}")))
}
