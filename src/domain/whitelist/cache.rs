//! Compiled whitelist feeds kept between exports: a whitelist feed of a million values takes
//! seconds to compile, and every export of its owner's feeds (or of every feed, for a global
//! one) checks against it. An entry is keyed by the feed's id and used while the feed's
//! [`Stamp`] is unchanged; the caller reads the stamp from the database on each export, which
//! is cheap, and compiles again only when it moved. No database here: the caller brings the
//! stamp and the function that compiles.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::Whitelist;

/// What says whether a whitelist feed's values changed since it was compiled: its indicator
/// count, its largest indicator id (ids are never reused and values never change, so any
/// insert raises it and any delete lowers the count) and its list name (`owner/feed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub count: i64,
    pub newest: Option<i64>,
    pub name: String,
}

struct Entry {
    stamp: Stamp,
    list: Arc<Whitelist>,
    /// When it was last used, in calls to [`FeedCache::get_or_build`]: the least recently
    /// used entry goes first when the cache is full.
    used: u64,
}

#[derive(Default)]
struct Entries {
    map: HashMap<i64, Entry>,
    tick: u64,
}

/// The compiled whitelist feeds, by feed id, at most `capacity` of them.
pub struct FeedCache {
    capacity: usize,
    entries: Mutex<Entries>,
    /// Held while compiling, so concurrent exports wait for one compilation of a changed
    /// feed instead of each running their own.
    building: Mutex<()>,
}

impl std::fmt::Debug for FeedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedCache")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl FeedCache {
    /// An empty cache holding at most `capacity` compiled feeds (at least one).
    pub fn new(capacity: usize) -> Self {
        FeedCache {
            capacity: capacity.max(1),
            entries: Mutex::default(),
            building: Mutex::default(),
        }
    }

    /// The compiled list of feed `id` at `stamp`: the cached one when its stamp is the same,
    /// else the one `build` makes (which is kept). Blocks while another call compiles.
    pub fn get_or_build<E>(
        &self,
        id: i64,
        stamp: &Stamp,
        build: impl FnOnce() -> Result<Whitelist, E>,
    ) -> Result<Arc<Whitelist>, E> {
        if let Some(list) = self.cached(id, stamp) {
            return Ok(list);
        }
        let _building = self.building.lock().unwrap_or_else(PoisonError::into_inner);
        // Another call may have compiled it while this one waited.
        if let Some(list) = self.cached(id, stamp) {
            return Ok(list);
        }
        let list = Arc::new(build()?);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.tick += 1;
        let used = entries.tick;
        if !entries.map.contains_key(&id) && entries.map.len() >= self.capacity {
            let oldest = entries
                .map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                entries.map.remove(&oldest);
            }
        }
        entries.map.insert(
            id,
            Entry {
                stamp: stamp.clone(),
                list: list.clone(),
                used,
            },
        );
        Ok(list)
    }

    fn cached(&self, id: i64, stamp: &Stamp) -> Option<Arc<Whitelist>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.tick += 1;
        let tick = entries.tick;
        let entry = entries.map.get_mut(&id).filter(|e| e.stamp == *stamp)?;
        entry.used = tick;
        Some(entry.list.clone())
    }

    /// How many compiled feeds are held.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn stamp(count: i64, newest: i64) -> Stamp {
        Stamp {
            count,
            newest: Some(newest),
            name: "alice/allow".into(),
        }
    }

    fn get(cache: &FeedCache, id: i64, s: &Stamp, builds: &mut u32) -> Arc<Whitelist> {
        cache
            .get_or_build(id, s, || {
                *builds += 1;
                Ok::<_, Infallible>(Whitelist::special())
            })
            .unwrap()
    }

    #[test]
    fn a_feed_is_compiled_again_only_when_its_stamp_moves() {
        let cache = FeedCache::new(8);
        let mut builds = 0;
        let first = get(&cache, 1, &stamp(2, 10), &mut builds);
        let again = get(&cache, 1, &stamp(2, 10), &mut builds);
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(builds, 1);
        get(&cache, 1, &stamp(2, 11), &mut builds);
        get(&cache, 1, &stamp(1, 11), &mut builds);
        assert_eq!((builds, cache.len()), (3, 1));
    }

    #[test]
    fn the_least_recently_used_feed_leaves_a_full_cache() {
        let cache = FeedCache::new(2);
        let mut builds = 0;
        get(&cache, 1, &stamp(1, 1), &mut builds);
        get(&cache, 2, &stamp(1, 2), &mut builds);
        get(&cache, 1, &stamp(1, 1), &mut builds);
        get(&cache, 3, &stamp(1, 3), &mut builds);
        assert_eq!((builds, cache.len()), (3, 2));
        get(&cache, 1, &stamp(1, 1), &mut builds);
        assert_eq!(builds, 3, "feed 1 stayed");
        get(&cache, 2, &stamp(1, 2), &mut builds);
        assert_eq!(builds, 4, "feed 2 had left");
    }
}
