//! Query strings read as name/value pairs (spec §1.3.5): every unknown name is reported in one
//! 400 `unknown_parameter`, a repeated name is 400 `invalid_parameter`, and the values `None`,
//! `none`, `null` and the empty string mean "not given" (old SDKs send `limit=None`).

use std::collections::BTreeMap;
use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};

use crate::error::ApiError;

/// The decoded query of a request, not yet checked against a route's parameter list.
#[derive(Debug, Default, Clone)]
pub struct QueryPairs {
    pairs: Vec<(String, String)>,
}

impl QueryPairs {
    /// Decodes a raw query string.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(raw)?;
        Ok(Self { pairs })
    }

    /// The value of `name` when it is given once (repeats and "not given" values read as
    /// absent; [`Self::only`] reports them).
    pub fn value(&self, name: &str) -> Option<&str> {
        let mut values = self.pairs.iter().filter(|(k, _)| k == name);
        match (values.next(), values.next()) {
            (Some((_, v)), None) if !matches!(v.as_str(), "" | "None" | "none" | "null") => Some(v),
            _ => None,
        }
    }

    /// The same pairs without `name`.
    pub fn without(&self, name: &str) -> QueryPairs {
        QueryPairs {
            pairs: self
                .pairs
                .iter()
                .filter(|(k, _)| k != name)
                .cloned()
                .collect(),
        }
    }

    /// Checks the names against `allowed` and returns the given values by name.
    pub fn only(
        &self,
        allowed: &[&'static str],
    ) -> Result<BTreeMap<&'static str, String>, ApiError> {
        let unknown: Vec<String> = self
            .pairs
            .iter()
            .filter(|(k, _)| !allowed.contains(&k.as_str()))
            .map(|(k, _)| k.clone())
            .collect();
        if !unknown.is_empty() {
            return Err(ApiError::UnknownParameter(unknown));
        }
        let mut out = BTreeMap::new();
        for name in allowed {
            let mut values = self.pairs.iter().filter(|(k, _)| k == name);
            let first = values.next();
            if values.next().is_some() {
                return Err(ApiError::InvalidParameter {
                    parameter: (*name).to_string(),
                    message: format!("query parameter {name} is repeated"),
                });
            }
            if let Some((_, v)) = first
                && !matches!(v.as_str(), "" | "None" | "none" | "null")
            {
                out.insert(*name, v.clone());
            }
        }
        Ok(out)
    }
}

fn serde_urlencoded_pairs(raw: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let (k, v) = (decode(k)?, decode(v)?);
        // No stored text holds NUL (PostgreSQL refuses it): such a value can only be an attack.
        if k.contains('\0') || v.contains('\0') {
            return Err(ApiError::InvalidParameter {
                message: format!(
                    "query parameter {:?} holds a NUL character",
                    k.replace('\0', "")
                ),
                parameter: k.replace('\0', ""),
            });
        }
        out.push((k, v));
    }
    Ok(out)
}

fn decode(s: &str) -> Result<String, ApiError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => return Err(bad_encoding()),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad_encoding())
}

fn bad_encoding() -> ApiError {
    ApiError::InvalidParameter {
        parameter: String::new(),
        message: "the query string is not valid UTF-8 percent-encoding".into(),
    }
}

impl FromRequest for QueryPairs {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(QueryPairs::parse(req.query_string()))
    }
}

/// For routes without parameters: any query parameter is a 400.
#[derive(Debug, Clone, Copy)]
pub struct NoParams;

impl FromRequest for NoParams {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(QueryPairs::parse(req.query_string()).and_then(|q| q.only(&[]).map(|_| NoParams)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any query string decodes or is refused with a 400, never a panic; decoded values
        /// never hold NUL; a value encoded byte by byte decodes to itself.
        #[test]
        fn any_query_decodes_or_is_refused(raw in ".{0,200}", value in "[^\\x00]{0,40}") {
            if let Ok(q) = QueryPairs::parse(&raw) {
                proptest::prop_assert!(q.pairs.iter().all(|(k, v)| !k.contains('\0') && !v.contains('\0')));
            }
            let encoded: String = value.bytes().map(|b| format!("%{b:02X}")).collect();
            let q = QueryPairs::parse(&format!("q={encoded}")).unwrap();
            proptest::prop_assert_eq!(q.pairs, vec![("q".to_string(), value)]);
        }
    }

    #[test]
    fn unknown_repeated_and_empty_values() {
        let q = QueryPairs::parse("limit=None&cursor=").unwrap();
        assert!(q.only(&["limit", "cursor"]).unwrap().is_empty());
        let q = QueryPairs::parse("limit=5&x=1&y=2").unwrap();
        match q.only(&["limit"]) {
            Err(ApiError::UnknownParameter(names)) => assert_eq!(names, ["x", "y"]),
            other => panic!("{other:?}"),
        }
        let q = QueryPairs::parse("limit=5&limit=6").unwrap();
        assert!(matches!(
            q.only(&["limit"]),
            Err(ApiError::InvalidParameter { .. })
        ));
        let q = QueryPairs::parse("q=a%20b+c&t=2026-11-20T08:00:00%2B01:00").unwrap();
        let got = q.only(&["q", "t"]).unwrap();
        assert_eq!(got["q"], "a b c");
        assert_eq!(got["t"], "2026-11-20T08:00:00+01:00");
        assert!(QueryPairs::parse("q=%zz").is_err());
        assert!(QueryPairs::parse("q=%").is_err());
        assert!(QueryPairs::parse("q=%ff").is_err());
    }
}
