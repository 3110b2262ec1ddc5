//! The two representations of the CSIRTG API (spec §2): v0, the wrapped shapes of the original
//! API page (the default), and v1, the bare shapes csirtgsdk 1.1.5 reads. `ApiVersion` is picked
//! from `Accept` once per request; handlers hand it their response and never choose themselves.

use std::future::{Ready, ready};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload};
use chrono::NaiveDateTime;
use serde_json::Value;

use crate::error::ApiError;

/// The vendor media types named in a 406 answer.
pub const SUPPORTED: [&str; 4] = [
    "application/vnd.csirtg.v0",
    "application/vnd.csirtg.v0+json",
    "application/vnd.csirtg.v1",
    "application/vnd.csirtg.v1+json",
];

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
        Value::String(match self {
            ApiVersion::V0 => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            ApiVersion::V1 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        })
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
    pub fn ok(self, body: &Value) -> HttpResponse {
        self.respond(StatusCode::OK, body)
    }

    /// A 201 JSON response in this version.
    pub fn created(self, body: &Value) -> HttpResponse {
        self.respond(StatusCode::CREATED, body)
    }

    /// A JSON response with the given status, echoing the chosen version.
    pub fn respond(self, status: StatusCode, body: &Value) -> HttpResponse {
        HttpResponse::build(status)
            .insert_header(("X-Csirtg-Version", self.as_str()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("application/json; charset=utf-8")
            .body(body.to_string())
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
}
