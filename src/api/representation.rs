//! The two representations of the CSIRTG API (spec §2): v0, the wrapped shapes of the original
//! API page (the default), and v1, the bare shapes csirtgsdk 1.1.5 reads. `ApiVersion` is picked
//! from `Accept` once per request; handlers hand it their response and never choose themselves.

use std::future::{Ready, ready};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder, dev::Payload};
use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;

use crate::error::ApiError;

/// Which representation a response uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V0,
    V1,
}

impl ApiVersion {
    /// Picks the representation from an `Accept` header value (absent = v0); `None` = 406.
    pub fn negotiate(accept: Option<&str>) -> Option<ApiVersion> {
        let accept = accept.map(str::trim).unwrap_or("");
        if accept.is_empty() {
            return Some(ApiVersion::V0);
        }
        let mut ranges: Vec<(f32, usize, &str)> = Vec::new();
        for (pos, item) in accept.split(',').enumerate() {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or("").trim();
            let mut q = 1.0f32;
            for param in parts {
                if let Some((k, v)) = param.split_once('=')
                    && k.trim().eq_ignore_ascii_case("q")
                {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
            if q > 0.0 && !media.is_empty() {
                ranges.push((q, pos, media));
            }
        }
        // Stable: ties keep header order.
        ranges.sort_by(|a, b| {
            b.0.partial_cmp(&a.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.1.cmp(&b.1))
        });
        ranges
            .into_iter()
            .find_map(|(_, _, media)| Self::of_media(media))
    }

    fn of_media(media: &str) -> Option<ApiVersion> {
        match media.to_ascii_lowercase().as_str() {
            "application/vnd.csirtg.v0" | "application/vnd.csirtg.v0+json" => Some(ApiVersion::V0),
            "application/vnd.csirtg.v1" | "application/vnd.csirtg.v1+json" => Some(ApiVersion::V1),
            "application/vnd.csirtg" | "application/vnd.csirtg+json" => Some(ApiVersion::V0),
            "application/json" | "application/*" | "*/*" => Some(ApiVersion::V0),
            _ => None,
        }
    }

    /// From a request's headers.
    pub fn from_headers(headers: &HeaderMap) -> Result<ApiVersion, ApiError> {
        let accept = match headers.get(header::ACCEPT) {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| ApiError::NotAcceptable)?),
        };
        Self::negotiate(accept).ok_or(ApiError::NotAcceptable)
    }

    /// `v0` or `v1`, as echoed in `X-Csirtg-Version`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V0 => "v0",
            ApiVersion::V1 => "v1",
        }
    }

    /// A time in this version's format: `2026-11-20 07:55:12 UTC` or `2026-11-20T07:55:12Z`.
    pub fn time(self, t: NaiveDateTime) -> Value {
        Value::String(TimeText::new(t, self).as_str().to_string())
    }

    /// An optional time; `null` when absent.
    pub fn opt_time(self, t: Option<NaiveDateTime>) -> Value {
        t.map_or(Value::Null, |t| self.time(t))
    }

    /// Wraps a typed object as `{"<kind>": …}` in v0 and leaves it bare in v1.
    pub fn wrap(self, kind: &str, object: Value) -> Value {
        match self {
            ApiVersion::V0 => {
                let mut map = serde_json::Map::with_capacity(1);
                map.insert(kind.to_string(), object);
                Value::Object(map)
            }
            ApiVersion::V1 => object,
        }
    }

    /// A 200 JSON response in this version.
    pub fn ok<T: Serialize + ?Sized>(self, body: &T) -> HttpResponse {
        self.respond(StatusCode::OK, body)
    }

    /// A 201 JSON response in this version.
    pub fn created<T: Serialize + ?Sized>(self, body: &T) -> HttpResponse {
        self.respond(StatusCode::CREATED, body)
    }

    /// A 200 response whose JSON body is already encoded ([`encode`]).
    pub fn ok_encoded(self, body: Vec<u8>) -> HttpResponse {
        self.builder(StatusCode::OK).body(body)
    }

    /// A JSON response with the given status, echoing the chosen version. The body is encoded
    /// straight from the typed value (no intermediate `Value` tree for the big lists).
    pub fn respond<T: Serialize + ?Sized>(self, status: StatusCode, body: &T) -> HttpResponse {
        match encode(body) {
            Ok(bytes) => self.builder(status).body(bytes),
            Err(e) => actix_web::ResponseError::error_response(&e),
        }
    }

    fn builder(self, status: StatusCode) -> HttpResponseBuilder {
        let mut res = HttpResponse::build(status);
        res.insert_header(("X-Csirtg-Version", self.as_str()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("application/json; charset=utf-8");
        res
    }
}

/// A body's JSON. Lists of rows are encoded by the blocking thread that read them (with
/// [`ApiVersion::ok_encoded`]), so the HTTP worker, which shares the cores with the pool's
/// readers, only writes bytes.
pub fn encode<T: Serialize + ?Sized>(body: &T) -> Result<Vec<u8>, ApiError> {
    // Our bodies have string keys only; should encoding ever fail, that is a JSON 500.
    serde_json::to_vec(body).map_err(|e| ApiError::Internal(e.into()))
}

/// A time in a version's text form, formatted without allocating (lists format thousands).
/// v0: `2026-11-20 07:55:12 UTC`; v1 and exports: `2026-11-20T07:55:12Z`.
pub struct TimeText {
    buf: [u8; 32],
    len: usize,
}

impl TimeText {
    pub fn new(t: NaiveDateTime, version: ApiVersion) -> Self {
        use chrono::{Datelike, Timelike};
        let mut out = TimeText {
            buf: [0; 32],
            len: 0,
        };
        let year = t.year();
        if !(0..=9999).contains(&year) {
            // Outside four digits: the general formatter (never seen for stored times).
            let text = match version {
                ApiVersion::V0 => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                ApiVersion::V1 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            };
            let n = text.len().min(out.buf.len());
            out.buf[..n].copy_from_slice(&text.as_bytes()[..n]);
            out.len = n;
            return out;
        }
        let (sep, tail): (u8, &[u8]) = match version {
            ApiVersion::V0 => (b' ', b" UTC"),
            ApiVersion::V1 => (b'T', b"Z"),
        };
        let d = |n: u32| b'0' + (n % 10) as u8;
        let y = year as u32;
        let head = [
            d(y / 1000),
            d(y / 100),
            d(y / 10),
            d(y),
            b'-',
            d(t.month() / 10),
            d(t.month()),
            b'-',
            d(t.day() / 10),
            d(t.day()),
            sep,
            d(t.hour() / 10),
            d(t.hour()),
            b':',
            d(t.minute() / 10),
            d(t.minute()),
            b':',
            d(t.second() / 10),
            d(t.second()),
        ];
        out.buf[..19].copy_from_slice(&head);
        out.buf[19..19 + tail.len()].copy_from_slice(tail);
        out.len = 19 + tail.len();
        out
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators, or chrono's UTF-8 output, are ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl Serialize for TimeText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl FromRequest for ApiVersion {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::from_headers(req.headers()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_pick_the_representation() {
        let cases = [
            (None, Some(ApiVersion::V0)),
            (Some(""), Some(ApiVersion::V0)),
            (Some("application/json"), Some(ApiVersion::V0)),
            (Some("*/*"), Some(ApiVersion::V0)),
            (Some("application/vnd.csirtg.v0"), Some(ApiVersion::V0)),
            (Some("application/vnd.csirtg.v0+json"), Some(ApiVersion::V0)),
            (Some("application/vnd.csirtg.v1"), Some(ApiVersion::V1)),
            (
                Some("Application/VND.csirtg.v1+JSON; charset=utf-8"),
                Some(ApiVersion::V1),
            ),
            (Some("application/vnd.csirtg"), Some(ApiVersion::V0)),
            (Some("application/vnd.csirtg.v2"), None),
            (Some("text/html"), None),
            (
                Some("application/vnd.csirtg.v2, application/json;q=0.5"),
                Some(ApiVersion::V0),
            ),
            (
                Some("application/vnd.csirtg.v0;q=0.5, application/vnd.csirtg.v1"),
                Some(ApiVersion::V1),
            ),
            (
                Some("application/vnd.csirtg.v1;q=0, application/json;q=0.1"),
                Some(ApiVersion::V0),
            ),
            (Some("application/vnd.csirtg.v1;q=0"), None),
        ];
        for (accept, want) in cases {
            assert_eq!(ApiVersion::negotiate(accept), want, "{accept:?}");
        }
    }

    proptest::proptest! {
        /// Any header text negotiates without panicking; a known media range listed first
        /// with full weight always wins, whatever junk follows it.
        #[test]
        fn any_accept_header_negotiates_without_panic(junk in ".{0,200}") {
            let _ = ApiVersion::negotiate(Some(&junk));
            let v1 = format!("application/vnd.csirtg.v1, {junk}");
            proptest::prop_assert_eq!(ApiVersion::negotiate(Some(&v1)), Some(ApiVersion::V1));
        }
    }

    #[test]
    fn times_and_wrapping_follow_the_version() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 20)
            .unwrap()
            .and_hms_opt(7, 55, 12)
            .unwrap();
        assert_eq!(ApiVersion::V0.time(t), "2026-11-20 07:55:12 UTC");
        assert_eq!(ApiVersion::V1.time(t), "2026-11-20T07:55:12Z");
        let obj = serde_json::json!({"name": "x"});
        assert_eq!(
            ApiVersion::V0.wrap("feed", obj.clone()),
            serde_json::json!({"feed": {"name": "x"}})
        );
        assert_eq!(ApiVersion::V1.wrap("feed", obj.clone()), obj);
    }

    #[test]
    fn the_fast_time_text_matches_chrono() {
        let mut t = chrono::NaiveDate::from_ymd_opt(1999, 12, 31)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap();
        for _ in 0..500 {
            assert_eq!(
                TimeText::new(t, ApiVersion::V0).as_str(),
                t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
            );
            assert_eq!(
                TimeText::new(t, ApiVersion::V1).as_str(),
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            );
            t += chrono::Duration::seconds(7_654_321);
        }
        let far = chrono::NaiveDate::from_ymd_opt(12345, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 5)
            .unwrap();
        assert_eq!(
            TimeText::new(far, ApiVersion::V1).as_str(),
            "+12345-01-02T03:04:05Z"
        );
    }
}
