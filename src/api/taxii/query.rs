//! The query of a TAXII objects or manifest request (TAXII 2.1 §3.4–3.5): `added_after`,
//! `limit`, `next`, `match[type]`, `match[id]`, `match[version]` and `match[spec_version]`.
//! A bad value is 400; `next` is an opaque token bound to the other filters, like the API's
//! cursors.
//!
//! feedgate keeps one version of each object (the current one), so `match[version]` of
//! `last`, `first` or `all` all mean that one; a timestamp matches an object whose current
//! `modified` it is.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, SubsecRound};
use serde_json::{Value, json};

use crate::api::paging::{self, Cursor, TAXII_PAGES, invalid};
use crate::api::query::QueryPairs;
use crate::domain::time::parse_time;
use crate::error::ApiError;
use crate::export::stix;
use crate::models::indicator::AddedKey;

/// Every parameter an objects or manifest request may carry.
pub const PARAMS: [&str; 7] = [
    "added_after",
    "limit",
    "next",
    "match[type]",
    "match[id]",
    "match[version]",
    "match[spec_version]",
];

/// At most this many ids in one `match[id]`.
pub const MAX_IDS: usize = 100;

/// What an objects or manifest request asks for.
#[derive(Debug, Clone)]
pub struct ObjectsQuery {
    /// The parameters as given (without `next`): what a `next` token is bound to.
    params: BTreeMap<&'static str, String>,
    pub limit: i64,
    pub added_after: Option<NaiveDateTime>,
    /// Where the previous page stopped (`next`).
    pub after: Option<AddedKey>,
    /// `match[id]`: the STIX ids asked for, and the indicator ids they carry.
    pub ids: Option<(Vec<String>, Vec<i64>)>,
    /// `match[version]` timestamps (`None`: the current version, whatever its time).
    pub versions: Option<Vec<NaiveDateTime>>,
    /// `false` when `match[type]` or `match[spec_version]` leaves out every object served
    /// (indicators of STIX 2.1): nothing to read.
    pub any: bool,
}

impl ObjectsQuery {
    /// Reads the query; `anonymous` callers get the smaller page maximum.
    pub fn read(query: &QueryPairs, anonymous: bool) -> Result<Self, ApiError> {
        let mut params = query.only(&PARAMS)?;
        let limit = paging::limit(params.get("limit"), TAXII_PAGES, anonymous)?;
        let next = params.remove("next");
        let added_after = params
            .get("added_after")
            .map(|raw| {
                parse_time(raw)
                    .map_err(|e| invalid("added_after", format!("added_after: {}", e.message)))
            })
            .transpose()?;
        let after = next
            .map(|token| {
                let mut keyed = params.clone();
                keyed.insert("cursor", token);
                Cursor::decode(&keyed)?
                    .as_ref()
                    .and_then(key_of)
                    .ok_or(ApiError::InvalidCursor)
            })
            .transpose()?;
        let listed = |name: &str| -> Option<Vec<String>> {
            params.get(name).map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
                    .collect()
            })
        };
        let types_ok = listed("match[type]").is_none_or(|t| t.iter().any(|t| t == "indicator"));
        let spec_ok = listed("match[spec_version]").is_none_or(|v| v.iter().any(|v| v == "2.1"));
        let ids = match listed("match[id]") {
            None => None,
            Some(ids) if ids.len() > MAX_IDS => {
                return Err(invalid(
                    "match[id]",
                    format!("match[id] may list at most {MAX_IDS} ids"),
                ));
            }
            Some(ids) => {
                let keys: Vec<i64> = ids
                    .iter()
                    .filter_map(|id| stix::indicator_key(id))
                    .collect();
                Some((ids, keys))
            }
        };
        let versions = versions(listed("match[version]"))?;
        let any = types_ok && spec_ok && ids.as_ref().is_none_or(|(_, keys)| !keys.is_empty());
        Ok(ObjectsQuery {
            params,
            limit,
            added_after,
            after,
            ids,
            versions,
            any,
        })
    }

    /// The `next` token that resumes after `key` under this request's filters.
    pub fn next_after(&self, key: AddedKey) -> String {
        let at = key.0.and_utc().timestamp_micros();
        Cursor::encode(&json!([at, key.1]), &self.params)
    }

    /// Whether an object with this STIX id and version passes `match[id]` and
    /// `match[version]` (the rows were already narrowed by the ids they carry).
    pub fn keeps(&self, stix_id: &str, modified: NaiveDateTime) -> bool {
        let id_ok = self
            .ids
            .as_ref()
            .is_none_or(|(ids, _)| ids.iter().any(|i| i.eq_ignore_ascii_case(stix_id)));
        // Requested times are whole seconds (`parse_time`), like stored ones.
        let modified = modified.trunc_subsecs(0);
        let version_ok = self.versions.as_ref().is_none_or(|v| v.contains(&modified));
        id_ok && version_ok
    }
}

/// `match[version]`: `None` for the current version (`last`, `first`, `all`, or absent),
/// else the timestamps listed; 400 for anything else.
fn versions(listed: Option<Vec<String>>) -> Result<Option<Vec<NaiveDateTime>>, ApiError> {
    let Some(values) = listed else {
        return Ok(None);
    };
    if values
        .iter()
        .any(|v| matches!(v.as_str(), "last" | "first" | "all"))
    {
        return Ok(None);
    }
    if values.is_empty() || values.len() > MAX_IDS {
        return Err(invalid(
            "match[version]",
            "match[version] must be last, first, all or up to 100 timestamps",
        ));
    }
    values
        .iter()
        .map(|v| {
            parse_time(v)
                .map_err(|e| invalid("match[version]", format!("match[version]: {}", e.message)))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The position a `next` token holds: `[microseconds since the epoch, id]`.
fn key_of(key: &Value) -> Option<AddedKey> {
    let at = chrono::DateTime::from_timestamp_micros(key[0].as_i64()?)?.naive_utc();
    Some((at, key[1].as_i64()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(q: &str) -> Result<ObjectsQuery, ApiError> {
        ObjectsQuery::read(&QueryPairs::parse(q).unwrap(), false)
    }

    #[test]
    fn a_next_token_round_trips_under_the_same_filters_only() {
        let first = read("added_after=2026-12-01T00:00:00Z&limit=10").unwrap();
        let at = NaiveDateTime::parse_from_str("2026-12-02 03:04:05", "%Y-%m-%d %H:%M:%S").unwrap();
        let token = first.next_after((at, 42));
        let again = read(&format!(
            "added_after=2026-12-01T00:00:00Z&limit=7&next={token}"
        ))
        .unwrap();
        assert_eq!(again.after, Some((at, 42)));
        assert_eq!(again.limit, 7);
        let other = read(&format!("added_after=2026-12-01T00:00:01Z&next={token}"));
        assert!(matches!(other, Err(ApiError::InvalidCursor)));
        assert!(matches!(read("next=xyz"), Err(ApiError::InvalidCursor)));
    }

    #[test]
    fn bad_values_are_400() {
        for q in [
            "added_after=yesterday",
            "limit=0",
            "match[version]=newest",
            "other=1",
        ] {
            let err = read(q).unwrap_err();
            assert_eq!(
                actix_web::ResponseError::status_code(&err).as_u16(),
                400,
                "{q}"
            );
        }
    }

    #[test]
    fn matches_narrow_to_indicators_of_stix_2_1() {
        assert!(read("match[type]=indicator,malware").unwrap().any);
        assert!(!read("match[type]=malware").unwrap().any);
        assert!(!read("match[spec_version]=2.0").unwrap().any);
        assert!(!read("match[id]=indicator--nonsense").unwrap().any);
        let id = stix::indicator_id(7, "example.com");
        let q = read(&format!("match[id]={id}&match[version]=last")).unwrap();
        assert_eq!(q.ids.as_ref().unwrap().1, [7]);
        assert!(q.versions.is_none());
    }
}
