//! Whole exports kept in memory, so a feed polled by many consumers is read from the database
//! once per change instead of once per download. An entry is served only while everything it
//! was rendered from is unchanged: the feed's `version` (moved by every write to the feed or
//! its indicators, in the writing transaction, so on every gateway), the versions of the
//! whitelist feeds it applied, and, for live-only exports, the clock before the earliest
//! expiry among the indicators it read. The key holds everything else an export depends on: the
//! format, the parameters, the base URL and what the caller may read. Exports with a
//! relative time (`lasttime`) are never kept. Memory is bounded: entries over half of
//! the budget are not kept, and the least recently used go first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use chrono::NaiveDateTime;

/// What an export's text depends on besides the data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExportKey {
    pub feed_id: i64,
    /// The format's name, and the API version for JSON.
    pub format: String,
    /// The request's parameters, in name order.
    pub params: Vec<(&'static str, String)>,
    /// The base of the URLs in the text.
    pub base: String,
    /// Whether the caller reads AMBER and RED indicators (the owner, admins).
    pub restricted: bool,
    /// Anonymous exports are cut short.
    pub anonymous: bool,
}

/// The state of the data an export was rendered from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportStamp {
    pub feed_version: i64,
    /// `(feed id, version)` of each whitelist feed applied.
    pub whitelists: Vec<(i64, i64)>,
}

struct Entry {
    stamp: ExportStamp,
    /// Served only before this time (the earliest expiry among the rows read), if set.
    until: Option<NaiveDateTime>,
    chunks: Arc<Vec<Bytes>>,
    bytes: usize,
    used: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<ExportKey, Entry>,
    bytes: usize,
    tick: u64,
}

/// The server's export cache (`AppState::exports`).
pub struct ExportCache {
    budget: usize,
    inner: Mutex<Inner>,
}

impl ExportCache {
    /// A cache holding at most `budget` bytes of export text (0: none).
    pub fn new(budget: usize) -> Self {
        ExportCache {
            budget,
            inner: Mutex::default(),
        }
    }

    /// The largest export kept: half the budget, so a large feed's export and a few small ones fit.
    pub fn max_entry(&self) -> usize {
        self.budget / 2
    }

    /// Whether anything is kept at all.
    pub fn enabled(&self) -> bool {
        self.max_entry() > 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map holds no invariant a panic could break halfway.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The kept text of `key` if it was rendered from `stamp` and is still valid at `now`; a
    /// stale entry is dropped.
    pub fn get(
        &self,
        key: &ExportKey,
        stamp: &ExportStamp,
        now: NaiveDateTime,
    ) -> Option<Arc<Vec<Bytes>>> {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let fresh = match inner.entries.get_mut(key) {
            None => return None,
            Some(e) if e.stamp == *stamp && e.until.is_none_or(|t| now < t) => {
                e.used = tick;
                return Some(e.chunks.clone());
            }
            Some(_) => false,
        };
        if !fresh && let Some(old) = inner.entries.remove(key) {
            inner.bytes -= old.bytes;
        }
        None
    }

    /// Keeps the text of `key`, rendered from `stamp`, valid before `until`; too large a text
    /// is not kept, and the least recently used entries make room.
    pub fn put(
        &self,
        key: ExportKey,
        stamp: ExportStamp,
        until: Option<NaiveDateTime>,
        chunks: Vec<Bytes>,
    ) -> bool {
        let bytes: usize = chunks.iter().map(Bytes::len).sum();
        if bytes > self.max_entry() {
            return false;
        }
        let mut inner = self.lock();
        if let Some(old) = inner.entries.remove(&key) {
            inner.bytes -= old.bytes;
        }
        while inner.bytes + bytes > self.budget {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(old) = inner.entries.remove(&oldest) {
                inner.bytes -= old.bytes;
            }
        }
        inner.tick += 1;
        let used = inner.tick;
        inner.bytes += bytes;
        inner.entries.insert(
            key,
            Entry {
                stamp,
                until,
                chunks: Arc::new(chunks),
                bytes,
                used,
            },
        );
        true
    }

    /// Bytes of text kept.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(feed_id: i64) -> ExportKey {
        ExportKey {
            feed_id,
            format: "txt".into(),
            params: vec![("tags", "ssh".into())],
            base: "http://x".into(),
            restricted: false,
            anonymous: false,
        }
    }

    fn stamp(v: i64) -> ExportStamp {
        ExportStamp {
            feed_version: v,
            whitelists: vec![(9, 1)],
        }
    }

    fn at(h: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
            .and_then(|d| d.and_hms_opt(h, 0, 0))
            .unwrap_or_default()
    }

    fn text(n: usize) -> Vec<Bytes> {
        vec![Bytes::from(vec![b'x'; n])]
    }

    #[test]
    fn an_entry_is_served_only_while_its_stamp_and_time_hold() {
        let cache = ExportCache::new(4000);
        assert!(cache.put(key(1), stamp(3), Some(at(12)), text(10)));
        assert!(cache.get(&key(1), &stamp(3), at(11)).is_some());
        assert!(cache.get(&key(2), &stamp(3), at(11)).is_none());
        let other_whitelist = ExportStamp {
            whitelists: vec![(9, 2)],
            ..stamp(3)
        };
        assert!(cache.get(&key(1), &other_whitelist, at(11)).is_none());
        // A mismatch drops the entry.
        assert!(cache.get(&key(1), &stamp(3), at(11)).is_none());
        assert_eq!(cache.bytes(), 0);
        cache.put(key(1), stamp(3), Some(at(12)), text(10));
        assert!(cache.get(&key(1), &stamp(3), at(12)).is_none(), "expired");
        cache.put(key(1), stamp(4), None, text(10));
        assert!(cache.get(&key(1), &stamp(4), at(23)).is_some());
    }

    #[test]
    fn memory_is_bounded_and_the_least_recently_used_go_first() {
        let cache = ExportCache::new(4000);
        assert!(!cache.put(key(1), stamp(1), None, text(2001)), "over half");
        for id in 1..=4 {
            assert!(cache.put(key(id), stamp(1), None, text(1000)));
        }
        assert!(cache.get(&key(1), &stamp(1), at(0)).is_some());
        assert!(cache.put(key(5), stamp(1), None, text(1000)));
        assert!(cache.bytes() <= 4000);
        assert!(
            cache.get(&key(2), &stamp(1), at(0)).is_none(),
            "least recently used"
        );
        assert!(cache.get(&key(1), &stamp(1), at(0)).is_some());
        assert!(!ExportCache::new(0).enabled());
    }
}
