//! Paging and shared list parameters (spec §6.0.1, §8.3): `limit` with per-route defaults and
//! maxima (25 for anonymous callers), `lasttime` as a time or whole days, and opaque keyset
//! cursors that carry the last sort key and a digest of the other parameters.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use actix_web::http::header;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::domain::hex::hex;
use crate::domain::time::parse_time;
use crate::error::ApiError;

// The rules live with the other domain values; the handlers name them through here.
pub use crate::domain::page::{
    ANONYMOUS_MAX, INDICATOR_PAGES, LimitRule, SEARCH_PAGES, SMALL_PAGES, TAXII_PAGES,
};

/// A 400 `invalid_parameter` naming the query parameter; list routes share it.
pub fn invalid(parameter: &str, message: impl Into<String>) -> ApiError {
    ApiError::InvalidParameter {
        parameter: parameter.to_string(),
        message: message.into(),
    }
}

/// The effective `limit`: a positive integer, reduced to the route's (or anonymous) maximum.
pub fn limit(raw: Option<&String>, rule: LimitRule, anonymous: bool) -> Result<i64, ApiError> {
    let max = if anonymous {
        rule.max.min(ANONYMOUS_MAX)
    } else {
        rule.max
    };
    let Some(raw) = raw else {
        return Ok(rule.default.min(max));
    };
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("limit", "limit must be a positive integer"));
    }
    match raw.parse::<i64>() {
        Ok(0) => Err(invalid("limit", "limit must be at least 1")),
        Ok(n) => Ok(n.min(max)),
        // More digits than fit: certainly above the maximum.
        Err(_) => Ok(max),
    }
}

/// `lasttime`: a time (spec §7.5) or N whole days (0–36500) before `now`.
pub fn lasttime(
    raw: Option<&String>,
    now: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        return match raw.parse::<i64>() {
            Ok(days) if days <= 36500 => Ok(Some(now - chrono::Duration::hours(24 * days))),
            _ => Err(invalid("lasttime", "lasttime in days must be 0-36500")),
        };
    }
    // An unencoded `+` in a query decodes to a space: restore it where an offset sign belongs.
    let repaired = match raw.rfind(' ') {
        Some(pos) if pos >= 19 && raw.len() - pos == 6 => {
            format!("{}+{}", &raw[..pos], &raw[pos + 1..])
        }
        _ => raw.clone(),
    };
    parse_time(&repaired)
        .map(Some)
        .map_err(|e| invalid("lasttime", format!("lasttime: {}", e.message)))
}

/// An opaque cursor: the sort key of the last item returned, bound to the other parameters.
pub struct Cursor;

impl Cursor {
    fn digest(params: &BTreeMap<&'static str, String>) -> String {
        let mut h = Sha256::new();
        for (k, v) in params
            .iter()
            .filter(|(k, _)| !matches!(**k, "cursor" | "limit"))
        {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.as_bytes());
            h.update([0]);
        }
        hex(&h.finalize()[..4])
    }

    /// Encodes `key` for a request with these parameters.
    pub fn encode(key: &Value, params: &BTreeMap<&'static str, String>) -> String {
        URL_SAFE_NO_PAD.encode(json!({"k": key, "f": Self::digest(params)}).to_string())
    }

    /// Decodes the request's `cursor`, if any; 400 `invalid_cursor` when it is not ours or was
    /// issued for other filters.
    pub fn decode(params: &BTreeMap<&'static str, String>) -> Result<Option<Value>, ApiError> {
        let Some(raw) = params.get("cursor") else {
            return Ok(None);
        };
        let bad = || ApiError::InvalidCursor;
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim_end_matches('='))
            .map_err(|_| bad())?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if value["f"].as_str() != Some(Self::digest(params).as_str()) {
            return Err(bad());
        }
        Ok(Some(value["k"].clone()))
    }

    /// A `(time, id)` keyset position from a decoded key.
    pub fn time_id(key: &Value) -> Result<(NaiveDateTime, i64), ApiError> {
        let t = key[0]
            .as_str()
            .and_then(|s| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok());
        match (t, key[1].as_i64()) {
            (Some(t), Some(id)) => Ok((t, id)),
            _ => Err(ApiError::InvalidCursor),
        }
    }

    /// The key for a `(time, id)` position.
    pub fn time_id_key(t: NaiveDateTime, id: i64) -> Value {
        json!([t.format("%Y-%m-%dT%H:%M:%S").to_string(), id])
    }
}

/// The kind of position a route's cursor holds: a `(time, id)` pair (indicator lists and
/// searches), a name (feeds, users), a `(name, id)` pair (the directory of feeds) or an id
/// (comments).
pub trait CursorKey: Sized {
    /// The position of a decoded key; 400 `invalid_cursor` when it is not of this kind.
    fn from_key(key: &Value) -> Result<Self, ApiError>;
}

impl CursorKey for (NaiveDateTime, i64) {
    fn from_key(key: &Value) -> Result<Self, ApiError> {
        Cursor::time_id(key)
    }
}

impl CursorKey for String {
    fn from_key(key: &Value) -> Result<Self, ApiError> {
        key.as_str()
            .map(str::to_string)
            .ok_or(ApiError::InvalidCursor)
    }
}

impl CursorKey for (String, i64) {
    fn from_key(key: &Value) -> Result<Self, ApiError> {
        match (key[0].as_str(), key[1].as_i64()) {
            (Some(name), Some(id)) => Ok((name.to_string(), id)),
            _ => Err(ApiError::InvalidCursor),
        }
    }
}

impl CursorKey for i64 {
    fn from_key(key: &Value) -> Result<Self, ApiError> {
        key.as_i64().ok_or(ApiError::InvalidCursor)
    }
}

/// The paging part of a list request, read once: the route's checked parameters, the
/// effective `limit` and the cursor's position. [`PageQuery::respond`] adds the `next` link.
pub struct PageQuery<K> {
    pub params: BTreeMap<&'static str, String>,
    pub limit: i64,
    pub after: Option<K>,
}

impl<K: CursorKey> PageQuery<K> {
    /// Checks the query against `allowed` (400 for unknown or repeated names), reads `limit`
    /// under `rule` (the anonymous maximum when `anonymous`) and decodes `cursor`.
    pub fn read(
        query: &super::query::QueryPairs,
        allowed: &[&'static str],
        rule: LimitRule,
        anonymous: bool,
    ) -> Result<Self, ApiError> {
        let params = query.only(allowed)?;
        let limit = limit(params.get("limit"), rule, anonymous)?;
        let after = Cursor::decode(&params)?
            .map(|key| K::from_key(&key))
            .transpose()?;
        Ok(Self {
            params,
            limit,
            after,
        })
    }

    /// The cursor that resumes after `key` under this request's parameters.
    pub fn cursor_after(&self, key: &Value) -> String {
        Cursor::encode(key, &self.params)
    }

    /// The rows of this page out of `rows`, read with one more than `limit`, and the cursor
    /// after the last shown (by its `key`) when the extra row says another page follows.
    pub fn split<'r, T>(
        &self,
        rows: &'r [T],
        key: impl Fn(&T) -> Value,
    ) -> (&'r [T], Option<String>) {
        let shown = &rows[..rows
            .len()
            .min(usize::try_from(self.limit).unwrap_or(usize::MAX))];
        let next = (rows.len() > shown.len())
            .then(|| shown.last().map(|r| self.cursor_after(&key(r))))
            .flatten();
        (shown, next)
    }

    /// The answer with its `Link` to the next page when `next` holds a cursor.
    pub fn respond(
        &self,
        res: HttpResponse,
        base: &str,
        path: &str,
        next: Option<String>,
    ) -> HttpResponse {
        with_next_link(res, base, path, &self.params, self.limit, next)
    }
}

/// Adds `Link: <…>; rel="next"` to a list answer when another page follows: the request's URL
/// with every parameter kept, `limit` set to the effective value and `cursor` replaced.
pub fn with_next_link(
    mut res: HttpResponse,
    base: &str,
    path: &str,
    params: &BTreeMap<&'static str, String>,
    limit: i64,
    next: Option<String>,
) -> HttpResponse {
    let Some(cursor) = next else { return res };
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| !matches!(**k, "cursor" | "limit"))
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    pairs.push(("limit".into(), limit.to_string()));
    pairs.push(("cursor".into(), cursor));
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    let link = format!("<{base}{path}?{}>; rel=\"next\"", query.join("&"));
    if let Ok(v) = header::HeaderValue::from_str(&link) {
        res.headers_mut().insert(header::LINK, v);
    }
    res
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_string())).collect()
    }

    #[test]
    fn a_page_query_reads_limit_and_a_cursor_of_its_kind() {
        use crate::api::query::QueryPairs;
        let first = QueryPairs::parse("limit=7").unwrap();
        let page =
            PageQuery::<String>::read(&first, &["limit", "cursor"], SMALL_PAGES, false).unwrap();
        assert_eq!((page.limit, page.after.as_deref()), (7, None));
        let cursor = page.cursor_after(&json!("feed-b"));
        let next = QueryPairs::parse(&format!("limit=7&cursor={cursor}")).unwrap();
        let page =
            PageQuery::<String>::read(&next, &["limit", "cursor"], SMALL_PAGES, true).unwrap();
        assert_eq!((page.limit, page.after.as_deref()), (7, Some("feed-b")));
        // A name cursor is no id cursor, and unknown names are refused.
        assert!(matches!(
            PageQuery::<i64>::read(&next, &["limit", "cursor"], SMALL_PAGES, false),
            Err(ApiError::InvalidCursor)
        ));
        let extra = QueryPairs::parse("limit=7&q=x").unwrap();
        assert!(matches!(
            PageQuery::<i64>::read(&extra, &["limit", "cursor"], SMALL_PAGES, false),
            Err(ApiError::UnknownParameter(_))
        ));
    }

    #[test]
    fn a_name_and_id_cursor_round_trips_and_refuses_other_kinds() {
        use crate::api::query::QueryPairs;
        let first = QueryPairs::parse("q=scan").unwrap();
        let allowed = ["q", "limit", "cursor"];
        let page = PageQuery::<(String, i64)>::read(&first, &allowed, SMALL_PAGES, true).unwrap();
        let cursor = page.cursor_after(&json!(["scanners", 42]));
        let next = QueryPairs::parse(&format!("q=scan&cursor={cursor}")).unwrap();
        let page = PageQuery::<(String, i64)>::read(&next, &allowed, SMALL_PAGES, true).unwrap();
        assert_eq!(page.after, Some(("scanners".to_string(), 42)));
        let name_only = page.cursor_after(&json!("scanners"));
        let other = QueryPairs::parse(&format!("q=scan&cursor={name_only}")).unwrap();
        assert!(matches!(
            PageQuery::<(String, i64)>::read(&other, &allowed, SMALL_PAGES, true),
            Err(ApiError::InvalidCursor)
        ));
    }

    #[test]
    fn limits_are_capped_and_validated() {
        assert_eq!(limit(None, INDICATOR_PAGES, false).unwrap(), 100);
        assert_eq!(limit(None, INDICATOR_PAGES, true).unwrap(), 25);
        assert_eq!(
            limit(Some(&"9999".into()), INDICATOR_PAGES, false).unwrap(),
            5000
        );
        assert_eq!(
            limit(
                Some(&"99999999999999999999999".into()),
                INDICATOR_PAGES,
                false
            )
            .unwrap(),
            5000
        );
        assert_eq!(limit(Some(&"7".into()), SEARCH_PAGES, true).unwrap(), 7);
        for bad in ["0", "-1", "ten", "1.5"] {
            assert!(
                limit(Some(&bad.to_string()), INDICATOR_PAGES, false).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn lasttime_takes_days_and_times() {
        let now = parse_time("2026-11-20T12:00:00Z").unwrap();
        assert_eq!(
            lasttime(Some(&"3".into()), now).unwrap(),
            Some(parse_time("2026-11-17T12:00:00Z").unwrap())
        );
        assert_eq!(
            lasttime(Some(&"2026-11-20T08:00:00 01:00".into()), now).unwrap(),
            Some(parse_time("2026-11-20T07:00:00Z").unwrap())
        );
        assert!(lasttime(Some(&"36501".into()), now).is_err());
        assert!(lasttime(Some(&"soon".into()), now).is_err());
    }

    #[test]
    fn cursors_round_trip_and_are_bound_to_filters() {
        let p = params(&[("q", "example.net"), ("limit", "1")]);
        let key = Cursor::time_id_key(parse_time("2026-11-20T07:40:00Z").unwrap(), 1312);
        let raw = Cursor::encode(&key, &p);
        let mut with = p.clone();
        with.insert("cursor", raw.clone());
        assert_eq!(
            Cursor::time_id(&Cursor::decode(&with).unwrap().unwrap())
                .unwrap()
                .1,
            1312
        );
        let mut other = params(&[("q", "example.org")]);
        other.insert("cursor", raw);
        assert!(matches!(
            Cursor::decode(&other),
            Err(ApiError::InvalidCursor)
        ));
        let junk = params(&[("cursor", "!!!")]);
        assert!(matches!(
            Cursor::decode(&junk),
            Err(ApiError::InvalidCursor)
        ));
    }
}
