//! Search (spec §8): a query that matches through an index (address ranges, reversed host
//! names or the value itself), applies visibility and filters, and pages by effective time; an
//! address reads the stored prefix lengths first, a range picks its page's ids first.
//!
//! Here the match rule and the run of a search; its statements are built in `query`, and
//! `explain` shows their plans (`tests/api/search.rs` checks the plans on both backends).

mod explain;
mod query;
#[cfg(test)]
mod tests;

pub use explain::{Explain, explain, plan_text};
pub use query::escape_tag;
use query::{Shape, page_rows_query, shape};

use chrono::NaiveDateTime;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::users;
use crate::domain::thing::{Thing, enclosing_networks};
use crate::domain::viewer::Viewer;
use crate::models::ip_prefix;

use crate::models::feed::FeedLabel;
use crate::models::indicator::{IndicatorRow, PageKey, Shown};

/// How the query value matches stored indicators.
#[derive(Debug, Clone)]
pub enum Match {
    /// An address: itself and every stored network containing it (`ip_lo IN starts AND ip_hi >= addr`).
    /// `starts` are filled when the search runs, from the prefix lengths stored then
    /// ([`Match::probing_stored`]); [`Match::of`] leaves them empty.
    Address {
        starts: Vec<Vec<u8>>,
        addr: [u8; 16],
        v4: bool,
    },
    /// A network: everything stored inside it (`ip_lo BETWEEN lo AND hi AND ip_hi <= hi`).
    Network { lo: Vec<u8>, hi: Vec<u8> },
    /// A host name: itself, its subdomains, and urls and emails on them (a `host_rev` range).
    Host { from: Vec<u8>, to: Vec<u8> },
    /// Anything else (urls, e-mails, hashes): the normalised value exactly.
    Exact(String),
    /// No query value, one of these autonomous systems (`asn=` without `q`): the partial
    /// index `indicators_asn`, which holds imported rows only.
    Asn(Vec<i64>),
    /// No query value, one of these countries (`cc=` without `q`, upper-case): the partial
    /// index `indicators_cc`.
    Cc(Vec<String>),
    /// No query value and neither `asn` nor `cc`: the newest indicators of every visible feed
    /// (the time index `indicators_time`), every other filter checked on the rows under the
    /// scan budget.
    Recent,
}

/// The predicate of the partial index `indicators_value` (migration 9), written the same way so
/// that both planners can use it: addresses and names are not in that index, and an exact
/// match is only ever a url, an e-mail or a hash ([`Match::of`]).
pub const EXACT_ITYPES: &str = "indicators.itype NOT IN ('ipv4', 'ipv6', 'fqdn')";

impl Match {
    /// Whether the rule matches a range of stored values (many indicators per query).
    pub fn is_range(&self) -> bool {
        // An autonomous system or a country holds millions of rows: read like a network,
        // ids first, with the scan budget under row filters.
        matches!(
            self,
            Match::Network { .. }
                | Match::Host { .. }
                | Match::Asn(_)
                | Match::Cc(_)
                | Match::Recent
        )
    }

    /// The match rule of a parsed query value.
    pub fn of(q: &Thing) -> Match {
        if let Some((lo, hi)) = q.ip_range() {
            if q.prefix_len().is_none() {
                let v4 = q.itype().as_str() == "ipv4";
                return Match::Address {
                    starts: Vec::new(),
                    addr: lo,
                    v4,
                };
            }
            return Match::Network {
                lo: lo.to_vec(),
                hi: hi.to_vec(),
            };
        }
        if q.itype().as_str() == "fqdn"
            && let Some(from) = q.host_rev()
        {
            // `.` is followed by `/` in byte order: [from, to) holds the name and its subdomains.
            let mut to = from.clone();
            if let Some(last) = to.last_mut() {
                *last = b'/';
            }
            return Match::Host { from, to };
        }
        Match::Exact(q.as_str().to_string())
    }

    /// The match rule of a search without a query value: by autonomous system when `asn` is
    /// given, else by country when `cc` is, else the newest of everything. The row filters
    /// stay too: the statement repeats the list, which matches the same rows.
    pub fn without_query(shown: &Shown) -> Match {
        if !shown.asns.is_empty() {
            return Match::Asn(shown.asns.clone());
        }
        if !shown.ccs.is_empty() {
            return Match::Cc(shown.ccs.clone());
        }
        Match::Recent
    }
}

impl Match {
    /// The rule a search runs: an address probes only the starts of the prefix lengths
    /// stored (`ip_prefixes`; 2 probes instead of 25 when only /24 networks are stored), read
    /// at every search since another gateway may have stored a new length; the list is padded
    /// with repeats to a power of two, so each connection prepares one statement per list
    /// length. `None` for the other rules, which run as they are.
    fn probing_stored(&self, c: &mut DbConnection) -> QueryResult<Option<Match>> {
        let Match::Address { addr, v4, .. } = self else {
            return Ok(None);
        };
        let mut kept = [false; 129];
        for bits in ip_prefix::stored(c)? {
            kept[usize::from(bits.min(128))] = true;
        }
        let mut starts: Vec<Vec<u8>> = enclosing_networks(*addr, *v4, |p| kept[usize::from(p)])
            .into_iter()
            .map(|s| s.to_vec())
            .collect();
        let last = starts.last().cloned().unwrap_or_default();
        starts.resize(starts.len().next_power_of_two(), last);
        Ok(Some(Match::Address {
            starts,
            addr: *addr,
            v4: *v4,
        }))
    }
}

/// Filters and paging of a search.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub itypes: Vec<String>,
    pub tags: Vec<String>,
    pub user: Option<String>,
    pub feed: Option<String>,
    pub since: Option<NaiveDateTime>,
    /// One item of a port list (`port=`): a port or a range, as a list names it.
    pub port: Option<String>,
    /// The IP protocol number (`protocol=`).
    pub protocol: Option<i64>,
    pub after: Option<PageKey>,
    /// Who is looking: private feeds are hidden except the viewer's own (admins see all),
    /// and AMBER and RED indicators except in the viewer's own feeds (admins see all).
    pub viewer: Viewer,
    /// Expiry and the `confidence`/`tlp` filters (`tlps` as asked: the viewer's TLP rule is
    /// applied by the statement, per feed owner).
    pub shown: Shown,
}

impl Filters {
    /// Whether a filter is checked on the rows rather than answered by a range's index.
    pub fn filters_rows(&self) -> bool {
        !self.tags.is_empty()
            || !self.itypes.is_empty()
            || self.port.is_some()
            || self.protocol.is_some()
            || self.shown.filters_rows()
    }

    /// Whether a range search reads a window of at most [`RANGE_SCAN_BUDGET`] index entries
    /// and filters it, rather than taking its page straight from the index.
    pub fn scans_window(&self, m: &Match) -> bool {
        self.filters_rows()
            || (matches!(m, Match::Recent) && (self.user.is_some() || self.feed.is_some()))
    }

    /// The filters of that window's statement: what the index answers, the expiry and the
    /// TLP rule; the asked-for levels, confidence, asn, cc, provider, port and protocol are
    /// row filters. The time index of `Recent` does not hold the owner: there the user and
    /// feed are row filters too.
    pub fn window(&self, m: &Match) -> Filters {
        let recent = matches!(m, Match::Recent);
        Filters {
            tags: Vec::new(),
            itypes: Vec::new(),
            port: None,
            protocol: None,
            user: if recent { None } else { self.user.clone() },
            feed: if recent { None } else { self.feed.clone() },
            shown: Shown {
                live_at: self.shown.live_at,
                ..Shown::default()
            },
            ..self.clone()
        }
    }
}

/// One search result with its feed and owner.
pub type Hit = (IndicatorRow, FeedLabel, String);

/// Index entries of a range a search with row filters (`tags`, `itype`) looks at for one
/// page. Such filters are checked on the rows, not answered by the range's index: without a
/// bound, a filter that matches nothing walks the whole range (a /8 of 200,000 entries) for
/// every page. With it a page ends after this many entries, possibly short or empty, and its
/// `next` cursor resumes after the last entry looked at.
pub const RANGE_SCAN_BUDGET: i64 = 2000;

/// Rows of a range's page are read this many at a time, so a page of large rows stops at its
/// byte budget instead of reading every row first.
const RANGE_ROW_PIECE: usize = 250;

/// One page of a search.
#[derive(Debug)]
pub struct SearchPage {
    pub hits: Vec<Hit>,
    /// More hits may follow: the next page starts after the last hit, or at `resume`.
    pub more: bool,
    /// Where the next page starts when the page ended at the scan budget rather than at a
    /// hit (the key of the last entry looked at).
    pub resume: Option<PageKey>,
}

/// Runs a search: at most `limit` hits, newest first, and whether more match (the next page).
///
/// A range (a CIDR block, a domain with its subdomains) matches thousands of indicators: its
/// page is chosen first as ids alone, which the time-ordered covering indexes answer without
/// reading indicator rows, and only the page's rows are read in a second statement, in
/// pieces, ending the page before the row that would take its text past `max_bytes` (the
/// first row is always shown). With row filters a range's page also ends at
/// [`RANGE_SCAN_BUDGET`] entries.
pub fn search(
    c: &mut DbConnection,
    m: &Match,
    f: &Filters,
    limit: i64,
    max_bytes: usize,
) -> QueryResult<SearchPage> {
    use crate::db::schema::{feeds, indicators};
    use crate::db::sql::{Keyed, bucket, in_list, limited, take_rows};
    let narrowed = m.probing_stored(c)?;
    let m = narrowed.as_ref().unwrap_or(m);
    let shown = usize::try_from(limit).unwrap_or(0);
    // One more than is shown tells whether there is a next page.
    let limit = limit + 1;
    // The statements run on the concrete connection: through diesel's multi-backend
    // connection every execution renders the whole statement's text up to three times (to
    // decide caching, to collect binds, to look the statement up).
    if m.is_range() {
        let (mut ids, resume) = if !f.scans_window(m) {
            let ids: Vec<i64> = crate::on_backend!(c, |conn| {
                let ids_query = crate::range_ids_query!(m, f);
                let ids = limited(ids_query, limit).load_iter::<i64, DefaultLoadingMode>(conn)?;
                take_rows(ids, limit)
            })?;
            (ids, None)
        } else {
            filtered_range_ids(c, m, f, limit)?
        };
        // The extra id alone says there is more: its row is not read.
        let mut more = ids.len() > shown || resume.is_some();
        ids.truncate(shown);
        let mut hits: Vec<Hit> = Vec::with_capacity(ids.len());
        let mut bytes = 0usize;
        'pieces: for piece in ids.chunks(RANGE_ROW_PIECE) {
            let mut piece = piece.to_vec();
            let Some(&last) = piece.last() else { break };
            // A few list lengths only, so the statement stays prepared (repeats match nothing new).
            piece.resize(
                usize::try_from(bucket(piece.len() as i64)).unwrap_or(piece.len()),
                last,
            );
            let rows: Vec<Hit> = crate::on_backend!(c, |conn| indicators::table
                .inner_join(feeds::table.inner_join(users::table))
                .filter(in_list(indicators::id, piece))
                .order((indicators::effective_at.desc(), indicators::id.desc()))
                .select((
                    IndicatorRow::as_select(),
                    FeedLabel::as_select(),
                    users::username,
                ))
                .load(conn))?;
            for hit in rows {
                let size = hit.0.text_bytes();
                if !hits.is_empty() && bytes + size > max_bytes {
                    // Cut by size: the next page starts after the last hit shown.
                    more = true;
                    return Ok(SearchPage {
                        hits,
                        more,
                        resume: None,
                    });
                }
                bytes += size;
                hits.push(hit);
                if hits.len() >= shown {
                    break 'pieces;
                }
            }
        }
        // A page that ended at the scan budget resumes after the last entry looked at, unless
        // it filled up first (then after its last hit, as usual).
        let resume = resume.filter(|_| hits.len() < shown);
        return Ok(SearchPage { hits, more, resume });
    }
    let shape = shape(m, f, limit);
    let mut hits: Vec<Hit> = crate::on_backend!(c, |conn| {
        let q = page_rows_query!(m, f, limit);
        // The common shapes (no filter, the default limit) are found by type; see `Keyed`.
        macro_rules! by_shape {
            ($(($m:literal, $v:literal)),*) => {
                match shape {
                    $(Some(($m, $v)) => take_rows(
                        Keyed::<_, Shape<$m, $v>>::new(q)
                            .load_iter::<Hit, DefaultLoadingMode>(conn)?,
                        limit,
                    ),)*
                    _ => take_rows(q.load_iter::<Hit, DefaultLoadingMode>(conn)?, limit),
                }
            };
        }
        by_shape!(
            (0, 0),
            (0, 1),
            (0, 2),
            (1, 0),
            (1, 1),
            (1, 2),
            (2, 0),
            (2, 1),
            (2, 2),
            (3, 0),
            (3, 1),
            (3, 2),
            (4, 0),
            (4, 1),
            (4, 2)
        )
    })?;
    let more = hits.len() > shown;
    hits.truncate(shown);
    Ok(SearchPage {
        hits,
        more,
        resume: None,
    })
}

/// A range's page ids under row filters: the next [`RANGE_SCAN_BUDGET`] entries of the range
/// (visibility, user, feed, time and cursor applied, as the index answers them), then those
/// of them the row filters keep, at most `limit`. When the budget was spent the key of its
/// last entry comes back too: the next page starts there.
fn filtered_range_ids(
    c: &mut DbConnection,
    m: &Match,
    f: &Filters,
    limit: i64,
) -> QueryResult<(Vec<i64>, Option<PageKey>)> {
    use crate::db::schema::indicators;
    use crate::db::sql::{bucket, in_list, limited, take_rows};
    let window_filters = f.window(m);
    let mut window: Vec<i64> = crate::on_backend!(c, |conn| {
        let q = crate::range_ids_query!(m, &window_filters);
        let ids = limited(q, RANGE_SCAN_BUDGET).load_iter::<i64, DefaultLoadingMode>(conn)?;
        take_rows(ids, RANGE_SCAN_BUDGET)
    })?;
    let Some(&last) = window.last() else {
        return Ok((Vec::new(), None));
    };
    let spent = window.len() as i64 >= RANGE_SCAN_BUDGET;
    let resume = if spent {
        let key: (i64, crate::db::time::DbTime) = crate::on_backend!(c, |conn| indicators::table
            .filter(indicators::id.eq(last))
            .select((indicators::id, indicators::effective_at))
            .first::<(i64, crate::db::time::DbTime)>(conn))?;
        Some((key.1.into(), key.0))
    } else {
        None
    };
    window.resize(
        usize::try_from(bucket(window.len() as i64)).unwrap_or(window.len()),
        last,
    );
    let ids: Vec<i64> = crate::on_backend!(c, |conn| {
        // Visibility, user and feed again (the window of `Recent` left the last two out).
        let q = crate::range_ids_query!(m, f).filter(in_list(indicators::id, window));
        let ids = limited(q, limit).load_iter::<i64, DefaultLoadingMode>(conn)?;
        take_rows(ids, limit)
    })?;
    Ok((ids, resume))
}
