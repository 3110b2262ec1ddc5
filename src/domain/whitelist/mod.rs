//! Values that must not leave an export: the special-purpose address blocks, the values of
//! whitelist feeds, and MISP warninglists. A [`Whitelist`] is built once from its sources
//! and answers "is this indicator whitelisted, and by what?" without touching the database.
//!
//! Matching follows the entry's kind, as MISP does: an address block holds the addresses
//! and networks inside it, a host name holds itself and its subdomains (also as the host of
//! a URL), an exact entry only the same value, a substring any value containing it, a
//! regular expression any value it finds a match in. A source applies only to the indicator
//! [`Classes`] it names (a list of DNS resolvers' addresses says nothing about hashes).
//!
//! Host names and exact entries are kept as 64-bit keyed hashes, not text: the full
//! warninglists hold millions of entries, and the entry a value matched is always the value
//! itself or one of its domain suffixes, so the text is never needed back.

mod cache;
mod misp;
mod ranges;
mod special;

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::ops::BitOr;

pub use cache::{FeedCache, Stamp};
pub use misp::{ListError, WarningList, parse as parse_warninglist};
pub use ranges::Network;
use ranges::Ranges;

use super::thing::{Itype, Thing};

/// The indicator classes a source applies to, as a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classes(u8);

impl Classes {
    pub const NONE: Classes = Classes(0);
    /// ipv4 and ipv6 addresses and networks.
    pub const ADDR: Classes = Classes(1);
    /// Domain names.
    pub const DOMAIN: Classes = Classes(2);
    pub const URL: Classes = Classes(4);
    pub const EMAIL: Classes = Classes(8);
    /// md5, sha1, sha256 and sha512.
    pub const HASH: Classes = Classes(16);
    pub const ALL: Classes = Classes(31);

    /// The class of an indicator type.
    pub fn of(itype: Itype) -> Classes {
        match itype {
            Itype::Ipv4 | Itype::Ipv6 => Classes::ADDR,
            Itype::Fqdn => Classes::DOMAIN,
            Itype::Url => Classes::URL,
            Itype::Email => Classes::EMAIL,
            Itype::Md5 | Itype::Sha1 | Itype::Sha256 | Itype::Sha512 => Classes::HASH,
        }
    }

    fn holds(self, other: Classes) -> bool {
        self.0 & other.0 != 0
    }
}

impl BitOr for Classes {
    type Output = Classes;
    fn bitor(self, other: Classes) -> Classes {
        Classes(self.0 | other.0)
    }
}

/// How an entry matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// An address or network: holds every address and network inside it.
    Network,
    /// A host name: itself and its subdomains, also as the host of a URL or e-mail address.
    Hostname,
    /// The same value exactly.
    Exact,
    /// Any value containing it.
    Substring,
    /// A regular expression (`/pattern/flags` as MISP writes them, or a bare pattern).
    Regex,
}

/// Where a source comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The special-purpose address blocks built into feedgate.
    Special,
    /// A MISP warninglist loaded at startup.
    Warninglist,
    /// A whitelist feed (its id).
    Feed(i64),
}

/// A named set of entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub origin: Origin,
    classes: Classes,
}

/// Which source left a value out, and by which of its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'w> {
    pub source: &'w Source,
    /// The entry as the source holds it: a network, the value or the domain suffix that
    /// matched, the substring, or the pattern.
    pub entry: String,
}

/// An entry the builder could not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} entry {entry:?} is not valid")]
pub struct BadEntry {
    pub kind: EntryKind,
    pub entry: String,
}

/// A `HashMap` over keys that are already hashes.
type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Which of the two hashed tables a key belongs to.
#[derive(Clone, Copy)]
enum Table {
    Exact = 1,
    Hostname = 2,
}

/// Hashed entries: the first source listing a key, and any further sources in `more`.
#[derive(Default)]
struct Keys {
    first: KeyMap<u16>,
    more: KeyMap<Vec<u16>>,
    /// Two bits per key in one word of a table about 16 bits per key: most values are on no
    /// list, and this answers "not here" from a table small enough to stay in cache, where
    /// the map itself (tens of MB with the full warninglists) costs a memory read per probe.
    filter: Vec<u64>,
}

impl Keys {
    fn insert(&mut self, key: u64, source: u16) {
        match self.first.get(&key) {
            None => {
                self.first.insert(key, source);
            }
            Some(&first) if first != source => {
                let more = self.more.entry(key).or_default();
                if !more.contains(&source) {
                    more.push(source);
                }
            }
            Some(_) => {}
        }
    }

    fn build_filter(&mut self) {
        let words = (self.first.len() / 4).next_power_of_two().max(64);
        self.filter = vec![0; words];
        let keys: Vec<u64> = self.first.keys().copied().collect();
        for key in keys {
            let (word, bits) = self.filter_slot(key);
            self.filter[word] |= bits;
        }
    }

    fn filter_slot(&self, key: u64) -> (usize, u64) {
        let word = (key >> 32) as usize & (self.filter.len() - 1);
        (word, 1 << (key & 63) | 1 << ((key >> 6) & 63))
    }

    fn find(&self, key: u64, applies: impl Fn(u16) -> bool) -> Option<u16> {
        if !self.filter.is_empty() {
            let (word, bits) = self.filter_slot(key);
            if self.filter[word] & bits != bits {
                return None;
            }
        }
        let first = *self.first.get(&key)?;
        if applies(first) {
            return Some(first);
        }
        self.more.get(&key)?.iter().copied().find(|&s| applies(s))
    }
}

/// Collects sources and entries; [`Builder::build`] makes the [`Whitelist`].
pub struct Builder {
    state: RandomState,
    sources: Vec<Source>,
    blocks: Vec<(Network, u16)>,
    keys: Keys,
    substrings: Vec<(String, u16)>,
    patterns: Vec<(String, u16)>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    pub fn new() -> Self {
        Builder {
            state: RandomState::new(),
            sources: Vec::new(),
            blocks: Vec::new(),
            keys: Keys::default(),
            substrings: Vec::new(),
            patterns: Vec::new(),
        }
    }

    /// Adds a source applying to `classes`; its entries follow with the returned id.
    /// Panics past 65,536 sources (the full warninglists are about 120).
    pub fn source(&mut self, name: impl Into<String>, origin: Origin, classes: Classes) -> u16 {
        let id = u16::try_from(self.sources.len()).expect("at most 65,536 whitelist sources");
        self.sources.push(Source {
            name: name.into(),
            origin,
            classes,
        });
        id
    }

    /// The special-purpose address blocks, as one source.
    pub fn special(&mut self) {
        let id = self.source("special-purpose addresses", Origin::Special, Classes::ALL);
        for (block, _) in special::BLOCKS {
            let network = Network::parse(block).expect("the built-in blocks parse");
            self.blocks.push((network, id));
        }
    }

    /// Adds one entry of source `source`.
    pub fn add(&mut self, source: u16, kind: EntryKind, entry: &str) -> Result<(), BadEntry> {
        let bad = || BadEntry {
            kind,
            entry: entry.to_owned(),
        };
        let entry = entry.trim();
        if entry.is_empty() {
            return Err(bad());
        }
        match kind {
            EntryKind::Network => match Network::parse(entry) {
                Some(network) => self.blocks.push((network, source)),
                // As MISP does: a cidr list's entry that is not an address is compared whole.
                None => self.add(source, EntryKind::Exact, entry)?,
            },
            EntryKind::Hostname => {
                let name = normal_host(entry).ok_or_else(bad)?;
                let key = self.key(Table::Hostname, &name);
                self.keys.insert(key, source);
            }
            EntryKind::Exact => {
                let key = self.key(Table::Exact, entry);
                self.keys.insert(key, source);
                // Stored values are lower case except URL paths: keep both spellings.
                if entry.chars().any(char::is_uppercase) {
                    let key = self.key(Table::Exact, &entry.to_lowercase());
                    self.keys.insert(key, source);
                }
            }
            EntryKind::Substring => self.substrings.push((entry.to_lowercase(), source)),
            EntryKind::Regex => {
                let pattern = regex_of(entry).ok_or_else(bad)?;
                self.patterns.push((pattern, source));
            }
        }
        Ok(())
    }

    /// Adds a whitelist feed's value: addresses and networks as blocks, domain names as host
    /// names (with their subdomains), every other type exactly.
    pub fn add_thing(&mut self, source: u16, thing: &Thing) {
        let kind = match thing.itype() {
            Itype::Ipv4 | Itype::Ipv6 => EntryKind::Network,
            Itype::Fqdn => EntryKind::Hostname,
            _ => EntryKind::Exact,
        };
        // A parsed value is always a valid entry of its own kind.
        let _ = self.add(source, kind, thing.as_str());
    }

    /// Adds a MISP warninglist as one source; returns how many of its entries were not valid
    /// (they are skipped, as MISP skips them).
    pub fn add_warninglist(&mut self, list: &WarningList<'_>) -> usize {
        let id = self.source(list.name.clone(), Origin::Warninglist, list.classes);
        if matches!(list.kind, EntryKind::Hostname | EntryKind::Exact) {
            self.keys.first.reserve(list.entries.len());
        }
        list.entries
            .iter()
            .filter(|entry| self.add(id, list.kind, entry).is_err())
            .count()
    }

    fn key(&self, table: Table, text: &str) -> u64 {
        key(&self.state, table, text)
    }

    /// Builds the lookup structures. Fails only when a regular expression does not compile.
    pub fn build(self) -> Result<Whitelist, BadEntry> {
        let mut by_class = Vec::with_capacity(CLASSES);
        for class in (0..CLASSES).map(|i| Classes(1 << i)) {
            let applies = |s: &u16| self.sources[usize::from(*s)].classes.holds(class);
            let substrings: Vec<(String, u16)> = self
                .substrings
                .iter()
                .filter(|(_, s)| applies(s))
                .cloned()
                .collect();
            let substrings = if substrings.is_empty() {
                None
            } else {
                let matcher = aho_corasick::AhoCorasick::new(substrings.iter().map(|s| &s.0))
                    .map_err(|_| BadEntry {
                        kind: EntryKind::Substring,
                        entry: String::new(),
                    })?;
                Some((matcher, substrings))
            };
            let mut patterns = Vec::new();
            for (pattern, source) in self.patterns.iter().filter(|(_, s)| applies(s)) {
                let regex = regex::Regex::new(pattern).map_err(|_| BadEntry {
                    kind: EntryKind::Regex,
                    entry: pattern.clone(),
                })?;
                patterns.push((regex, *source));
            }
            by_class.push(ByClass {
                substrings,
                patterns,
            });
        }
        let mut keys = self.keys;
        keys.first.shrink_to_fit();
        keys.more.shrink_to_fit();
        keys.build_filter();
        Ok(Whitelist {
            state: self.state,
            sources: self.sources,
            ranges: Ranges::build(self.blocks),
            keys,
            by_class,
        })
    }
}

/// How many indicator classes there are (the bits of [`Classes::ALL`]).
const CLASSES: usize = 5;

/// The substrings and patterns of the sources that apply to one class, so a value is
/// scanned once, for entries that can whitelist it.
struct ByClass {
    substrings: Option<(aho_corasick::AhoCorasick, Vec<(String, u16)>)>,
    patterns: Vec<(regex::Regex, u16)>,
}

/// The built sets, read-only and shared between requests.
pub struct Whitelist {
    state: RandomState,
    sources: Vec<Source>,
    ranges: Ranges,
    keys: Keys,
    /// Indexed by the class's bit.
    by_class: Vec<ByClass>,
}

impl std::fmt::Debug for Whitelist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Whitelist")
            .field("sources", &self.sources.len())
            .field("blocks", &self.ranges.len())
            .field("keys", &self.keys.first.len())
            .finish_non_exhaustive()
    }
}

impl Whitelist {
    /// A whitelist of the special-purpose address blocks only.
    pub fn special() -> Whitelist {
        let mut builder = Builder::new();
        builder.special();
        builder.build().expect("the built-in blocks build")
    }

    /// The sources, in the order they were added.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// The first entry that whitelists `thing`, if any.
    pub fn check<'w>(&'w self, thing: &Thing) -> Option<Hit<'w>> {
        let class = Classes::of(thing.itype());
        let applies = |s: u16| self.sources[usize::from(s)].classes.holds(class);
        let hit = |s: u16, entry: String| Hit {
            source: &self.sources[usize::from(s)],
            entry,
        };
        if let Some((lo, hi)) = thing.ip_range() {
            let (lo, hi) = (u128::from_be_bytes(lo), u128::from_be_bytes(hi));
            if let Some((network, s)) = self.ranges.containing(lo, hi).filter(|h| applies(h.1)) {
                return Some(hit(s, network.to_string()));
            }
        }
        let value = thing.as_str();
        if let Some(s) = self
            .keys
            .find(key(&self.state, Table::Exact, value), applies)
        {
            return Some(hit(s, value.to_owned()));
        }
        if let Some(host) = thing.host() {
            match Network::parse(host) {
                // The IP literal host of a URL or e-mail address in a special block is as
                // useless to a firewall as the address itself.
                Some(network) => {
                    let special = self
                        .ranges
                        .containing(network.lo(), network.hi())
                        .filter(|(_, s)| self.sources[usize::from(*s)].origin == Origin::Special);
                    if let Some((block, s)) = special {
                        return Some(hit(s, block.to_string()));
                    }
                }
                None => {
                    for suffix in suffixes(host) {
                        let key = key(&self.state, Table::Hostname, suffix);
                        if let Some(s) = self.keys.find(key, applies) {
                            return Some(hit(s, suffix.to_owned()));
                        }
                    }
                }
            }
        }
        let by_class = &self.by_class[class.0.trailing_zeros() as usize];
        if let Some((matcher, entries)) = &by_class.substrings
            && let Some(found) = matcher.find(value)
        {
            let (entry, s) = &entries[found.pattern().as_usize()];
            return Some(hit(*s, entry.clone()));
        }
        by_class
            .patterns
            .iter()
            .find(|(regex, _)| regex.is_match(value))
            .map(|(regex, s)| hit(*s, regex.as_str().to_owned()))
    }
}

/// `host` and each of its parent domains, longest first (`a.b.c`, `b.c`, `c`).
fn suffixes(host: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(host), |h| h.split_once('.').map(|(_, rest)| rest))
        .filter(|h| !h.is_empty())
}

fn key(state: &RandomState, table: Table, text: &str) -> u64 {
    let mut hasher = state.build_hasher();
    hasher.write_u8(table as u8);
    hasher.write(text.as_bytes());
    hasher.finish()
}

/// A warninglist host name as our values spell it: no leading or trailing dot, lower case,
/// punycode for Unicode names.
fn normal_host(entry: &str) -> Option<Cow<'_, str>> {
    let name = entry.trim_start_matches('.').trim_end_matches('.');
    if name.is_empty() || name.contains(['/', ' ', '@']) {
        return None;
    }
    if !name.is_ascii() {
        return idna::domain_to_ascii(name).ok().map(Cow::Owned);
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Some(Cow::Owned(name.to_ascii_lowercase()));
    }
    Some(Cow::Borrowed(name))
}

/// A MISP `/pattern/flags` (or a bare pattern) as a `regex` pattern; `i`, `m`, `s` and `x`
/// carry over, `g` means nothing for a yes/no match.
fn regex_of(entry: &str) -> Option<String> {
    let Some(body) = entry.strip_prefix('/') else {
        return Some(entry.to_owned());
    };
    let (pattern, flags) = body.rsplit_once('/')?;
    let mut inline = String::new();
    for flag in flags.chars() {
        match flag {
            'i' | 'm' | 's' | 'x' => inline.push(flag),
            'g' | 'u' => {}
            _ => return None,
        }
    }
    if inline.is_empty() {
        Some(pattern.to_owned())
    } else {
        Some(format!("(?{inline}){pattern}"))
    }
}

#[cfg(test)]
mod tests;
