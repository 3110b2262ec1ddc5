//! The statements of a search: the joined page query of an exact or address match, a range's
//! ids, the filters both share, and the type-level keys (`Shape`) of the common shapes, under
//! which `search` finds a prepared statement (`db::sql::Keyed`).

use crate::domain::viewer::Viewer;

use super::{Filters, Match};

/// Builds the joined search query of an exact or address match, whose rows it reads (boxed,
/// so the plan test can `EXPLAIN` the same statement); a range picks its ids with
/// [`range_ids_query!`] and then reads only those rows.
#[macro_export]
#[doc(hidden)]
macro_rules! search_query {
    ($m:expr, $f:expr) => {{
        use diesel::prelude::*;
        use $crate::db::schema::{feeds, indicators, users};
        let f: &$crate::models::search::Filters = $f;
        let mut q = indicators::table
            .inner_join(feeds::table.inner_join(users::table))
            .into_boxed();
        match f.viewer {
            $crate::domain::viewer::Viewer::Admin(_) => {}
            $crate::domain::viewer::Viewer::User(id) => {
                q = q.filter(feeds::private.eq(false).or(feeds::user_id.eq(id)))
            }
            $crate::domain::viewer::Viewer::Anonymous => q = q.filter(feeds::private.eq(false)),
        }
        if let Some(user) = &f.user {
            q = q.filter(users::username.eq(user.clone()));
        }
        if let Some(feed) = &f.feed {
            q = q.filter(feeds::name.eq(feed.clone()));
        }
        $crate::indicator_filters!(q, $m, f)
    }};
}

/// The ids of a range search's page, from the indicators alone: visibility and the user and
/// feed filters are subqueries on `feeds` (run once per statement) instead of joins. A range
/// meets hundreds or thousands of index entries, and a joined statement would look each one's
/// feed and owner up by primary key before the time order chose the page; the time-ordered
/// covering indexes hold `feed_id`, so this statement reads no table at all.
#[macro_export]
#[doc(hidden)]
macro_rules! range_ids_query {
    ($m:expr, $f:expr) => {{
        use diesel::prelude::*;
        use $crate::db::schema::{feeds, indicators, users};
        let f: &$crate::models::search::Filters = $f;
        let mut q = indicators::table.into_boxed();
        // Hidden: private feeds, except the viewer's own (an admin sees every feed).
        match f.viewer {
            $crate::domain::viewer::Viewer::Admin(_) => {}
            $crate::domain::viewer::Viewer::User(id) => {
                q = q.filter(diesel::dsl::not(
                    indicators::feed_id.eq_any(
                        feeds::table
                            .filter(feeds::private.eq(true))
                            .filter(feeds::user_id.ne(id))
                            .select(feeds::id),
                    ),
                ))
            }
            $crate::domain::viewer::Viewer::Anonymous => {
                q = q.filter(diesel::dsl::not(
                    indicators::feed_id.eq_any(
                        feeds::table
                            .filter(feeds::private.eq(true))
                            .select(feeds::id),
                    ),
                ))
            }
        }
        if let Some(user) = &f.user {
            q = q.filter(
                indicators::feed_id.eq_any(
                    feeds::table
                        .inner_join(users::table)
                        .filter(users::username.eq(user.clone()))
                        .select(feeds::id),
                ),
            );
        }
        if let Some(feed) = &f.feed {
            q = q.filter(
                indicators::feed_id.eq_any(
                    feeds::table
                        .filter(feeds::name.eq(feed.clone()))
                        .select(feeds::id),
                ),
            );
        }
        $crate::indicator_filters!(q, $m, f).select(indicators::id)
    }};
}

/// The match rule and the filters on the indicator's own columns, then the time order: the
/// part of [`search_query!`] and [`range_ids_query!`] that is the same.
#[macro_export]
#[doc(hidden)]
macro_rules! indicator_filters {
    ($q:expr, $m:expr, $f:expr) => {{
        use diesel::prelude::*;
        use $crate::db::schema::indicators;
        let m: &$crate::models::search::Match = $m;
        let f: &$crate::models::search::Filters = $f;
        let mut q = $q;
        q = match m {
            $crate::models::search::Match::Address { starts, addr, .. } => q
                .filter($crate::db::sql::in_list(indicators::ip_lo, starts.clone()))
                .filter(indicators::ip_hi.ge(addr.to_vec())),
            $crate::models::search::Match::Network { lo, hi } => q
                .filter(indicators::ip_lo.ge(lo.clone()))
                .filter(indicators::ip_lo.le(hi.clone()))
                .filter(indicators::ip_hi.le(hi.clone())),
            $crate::models::search::Match::Host { from, to } => q
                .filter(indicators::host_rev.ge(from.clone()))
                .filter(indicators::host_rev.lt(to.clone())),
            $crate::models::search::Match::Exact(v) => q
                .filter(indicators::value.eq(v.clone()))
                .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                    $crate::models::search::EXACT_ITYPES,
                )),
            // The partial indexes `indicators_asn` and `indicators_cc` (imported rows only); one
            // value is an equality, so the index gives the time order and the page stops early.
            $crate::models::search::Match::Asn(list) => match list.as_slice() {
                [one] => q.filter(indicators::asn.eq(*one)),
                _ => q
                    .filter(indicators::asn.is_not_null())
                    .filter(indicators::asn.eq_any(list.clone())),
            },
            $crate::models::search::Match::Cc(list) => match list.as_slice() {
                [one] => q.filter(indicators::cc.eq(one.clone())),
                _ => q
                    .filter(indicators::cc.is_not_null())
                    .filter(indicators::cc.eq_any(list.clone())),
            },
            // The time index `indicators_time` gives the order; nothing to match.
            $crate::models::search::Match::Recent => q,
        };
        if let Some(port) = &f.port {
            // One item of the comma-separated list, as written (ranges are not expanded).
            q = q.filter(
                indicators::portlist
                    .eq(port.clone())
                    .or(indicators::portlist.like(format!("{port},%")))
                    .or(indicators::portlist.like(format!("%,{port}")))
                    .or(indicators::portlist.like(format!("%,{port},%"))),
            );
        }
        if let Some(protocol) = f.protocol {
            q = q.filter(indicators::protocol.eq(protocol));
        }
        if !f.itypes.is_empty() {
            q = q.filter(indicators::itype.eq_any(f.itypes.clone()));
        }
        for tag in &f.tags {
            let t = $crate::models::search::escape_tag(tag);
            q = q.filter(
                indicators::tags
                    .eq(tag.clone())
                    .or(indicators::tags.like(format!("{t},%")).escape('\\'))
                    .or(indicators::tags.like(format!("%,{t}")).escape('\\'))
                    .or(indicators::tags.like(format!("%,{t},%")).escape('\\')),
            );
        }
        if let Some(since) = f.since {
            q = q.filter(indicators::effective_at.ge(since));
        }
        if let Some(at) = f.shown.live_at {
            q = q.filter(
                indicators::expires_at
                    .is_null()
                    .or(indicators::expires_at.gt(at)),
            );
        }
        // The TLP rule: AMBER and RED only in the viewer's own feeds (an unmarked indicator of
        // a visible feed is CLEAR unless the feed is the viewer's own private one). The levels
        // are an `in_list`: diesel never keeps a statement with `eq_any` of values prepared.
        match f.viewer {
            $crate::domain::viewer::Viewer::Admin(_) => {}
            $crate::domain::viewer::Viewer::User(id) => {
                q = q.filter(
                    indicators::tlp
                        .is_null()
                        .or($crate::db::sql::in_list(
                            indicators::tlp,
                            $crate::domain::tlp::TlpSet::OPEN.names(),
                        ))
                        .or(indicators::feed_id.eq_any({
                            // An alias: the joined statement names `feeds` already.
                            let own = diesel::alias!($crate::db::schema::feeds as own_feeds);
                            own.filter(own.field($crate::db::schema::feeds::user_id).eq(id))
                                .select(own.field($crate::db::schema::feeds::id))
                        })),
                )
            }
            $crate::domain::viewer::Viewer::Anonymous => {
                q = q.filter(indicators::tlp.is_null().or($crate::db::sql::in_list(
                    indicators::tlp,
                    $crate::domain::tlp::TlpSet::OPEN.names(),
                )))
            }
        }
        if let Some(min) = f.shown.min_confidence {
            q = q.filter(indicators::confidence.ge(min));
        }
        q = $crate::operator_filters!(q, &f.shown);
        if let Some(set) = f.shown.tlps {
            use $crate::domain::tlp::Tlp;
            // An unmarked indicator has its feed's default: CLEAR if public, AMBER if private.
            let unmarked = match (set.contains(Tlp::Clear), set.contains(Tlp::Amber)) {
                (true, true) => Some(None),
                (true, false) => Some(Some(false)),
                (false, true) => Some(Some(true)),
                (false, false) => None,
            };
            // `in_list`, not `eq_any`, which diesel never keeps prepared.
            let listed = $crate::db::sql::in_list(indicators::tlp, set.names());
            q = match unmarked {
                None => q.filter(listed),
                Some(None) => q.filter(listed.or(indicators::tlp.is_null())),
                Some(Some(private)) => q.filter(listed.or(indicators::tlp.is_null().and(
                    indicators::feed_id.eq_any({
                        let by = diesel::alias!($crate::db::schema::feeds as by_privacy);
                        by.filter(by.field($crate::db::schema::feeds::private).eq(private))
                            .select(by.field($crate::db::schema::feeds::id))
                    }),
                ))),
            };
        }
        if let Some((t, id)) = f.after {
            q = q.filter($crate::db::sql::row_before(
                indicators::effective_at,
                indicators::id,
                t,
                id,
            ));
        }
        q.order((indicators::effective_at.desc(), indicators::id.desc()))
    }};
}

/// Escapes a tag for a `LIKE` pattern with `\` as the escape character.
pub fn escape_tag(tag: &str) -> String {
    tag.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The statement an exact or address search reads its page with: [`super::search`] runs it,
/// [`super::explain`] explains it, and the `Keyed` test renders it.
macro_rules! page_rows_query {
    ($m:expr, $f:expr, $limit:expr) => {
        crate::db::sql::limited(
            crate::search_query!($m, $f).select((
                crate::models::indicator::IndicatorRow::as_select(),
                crate::models::feed::FeedLabel::as_select(),
                crate::db::schema::users::username,
            )),
            $limit,
        )
    };
}
pub(super) use page_rows_query;

/// The type-level key of a search statement of a common shape: an address probing 1, 2, 4 or
/// 8 network starts (`MATCH` 0-3) or an exact value (4), for an anonymous caller (`VIEWER` 0),
/// a user (1) or an admin (2), without filters or cursor, at the default limit's bucket.
/// Everything else that changes the statement's text is absent from these shapes: the
/// starts' count is part of the key, and every value is bound.
pub(super) struct Shape<const MATCH: u8, const VIEWER: u8>;

/// The `(MATCH, VIEWER)` of a search's [`Shape`], when it has a common one.
pub(super) fn shape(m: &Match, f: &Filters, limit: i64) -> Option<(u8, u8)> {
    use crate::domain::page::SEARCH_PAGES;
    let plain = f.itypes.is_empty()
        && f.tags.is_empty()
        && f.port.is_none()
        && f.protocol.is_none()
        && f.user.is_none()
        && f.feed.is_none()
        && f.since.is_none()
        && f.after.is_none()
        && f.shown.live_at.is_some()
        && !f.shown.filters_rows()
        && crate::db::sql::bucket(limit) == crate::db::sql::bucket(SEARCH_PAGES.default + 1);
    if !plain {
        return None;
    }
    let matching = match m {
        Match::Address { starts, .. } => match starts.len() {
            1 => 0,
            2 => 1,
            4 => 2,
            8 => 3,
            _ => return None,
        },
        Match::Exact(_) => 4,
        _ => return None,
    };
    let viewer = match f.viewer {
        Viewer::Anonymous => 0,
        Viewer::User(_) => 1,
        Viewer::Admin(_) => 2,
    };
    Some((matching, viewer))
}
