//! Page sizes (spec §6.0.1, §8.3): each route's default and maximum `limit`, and the
//! anonymous maximum. `api::paging` applies them to requests; a search statement's shape
//! (`models::search`) depends on the default.

/// The most an anonymous caller may ask for, on every route.
pub const ANONYMOUS_MAX: i64 = 25;

/// Default and maximum `limit` of a route.
#[derive(Debug, Clone, Copy)]
pub struct LimitRule {
    pub default: i64,
    pub max: i64,
}

/// Feed show and indicator list.
pub const INDICATOR_PAGES: LimitRule = LimitRule {
    default: 100,
    max: 5000,
};
/// Search.
pub const SEARCH_PAGES: LimitRule = LimitRule {
    default: 25,
    max: 5000,
};
/// TAXII objects and manifests (`api::taxii`); a page also stops at `--max-page-bytes`.
pub const TAXII_PAGES: LimitRule = LimitRule {
    default: 100,
    max: 1000,
};
/// Comments, feed list, admin user list.
pub const SMALL_PAGES: LimitRule = LimitRule {
    default: 100,
    max: 1000,
};
