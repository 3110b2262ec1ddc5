//! The one HTTP error type. Every 4xx/5xx the server sends is an [`ApiError`] rendered as
//! `{"message", "code", "details"}`; the status and code mappings are the two `match`es below.
//! Extractor failures (bad JSON, query, path) are routed here by the handlers in `startup.rs`.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Value, json};

use crate::db::RunError;

/// The vendor media types named in a 406 answer (`api::representation` serves them).
pub const SUPPORTED: [&str; 4] = [
    "application/vnd.csirtg.v0",
    "application/vnd.csirtg.v0+json",
    "application/vnd.csirtg.v1",
    "application/vnd.csirtg.v1+json",
];

/// One problem with one field of a request body.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// The item of a bulk request the problem belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    /// A field error with the given JSON path, per-field code and message.
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            index: None,
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// Every error a handler or middleware can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Malformed(String),
    /// A request head the HTTP layer could not parse (400, answered by `framing`).
    #[error("the request is not valid HTTP/1.1")]
    MalformedRequest,
    #[error("unknown query parameter")]
    UnknownParameter(Vec<String>),
    #[error("{message}")]
    InvalidParameter { parameter: String, message: String },
    #[error("missing query parameter {0}")]
    MissingParameter(String),
    #[error("the cursor is invalid or was issued for other parameters")]
    InvalidCursor,
    #[error("Authorization and X-Api-Key carry different tokens")]
    ConflictingCredentials,
    #[error("authentication required")]
    AuthenticationRequired,
    #[error("invalid token")]
    InvalidToken,
    #[error("token expired")]
    TokenExpired,
    #[error("account disabled")]
    AccountDisabled,
    #[error("invalid user name or password")]
    InvalidCredentials,
    #[error("this authentication scheme is not accepted here")]
    UnsupportedAuthScheme,
    #[error("this token does not have the write scope")]
    InsufficientScope,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("admin role required")]
    AdminRequired,
    #[error("not found")]
    NotFound,
    /// An export in a format that does not exist (404 `unknown_format`, the formats listed).
    #[error("there is no export format {format:?}")]
    UnknownFormat {
        format: String,
        known: Vec<&'static str>,
    },
    /// A change-log `since` older than what the retention kept (410 `changes_expired`): the
    /// client takes a fresh export, then follows from `oldest`.
    #[error(
        "changes after this seq are no longer kept; take a fresh export and follow from the oldest seq kept"
    )]
    ChangesExpired { oldest: i64 },
    #[error("method not allowed")]
    MethodNotAllowed(Vec<&'static str>),
    #[error("none of the accepted media types can be served")]
    NotAcceptable,
    #[error("request body too large")]
    PayloadTooLarge { limit: usize },
    /// The body stopped arriving for longer than the route allows (408).
    #[error("the request body stopped arriving for {idle_secs} s")]
    RequestTimeout { idle_secs: u64 },
    /// A connection's first request head took longer than `secs` (408 `request_timeout`,
    /// answered by `framing`).
    #[error("the request head did not arrive within {secs} s")]
    HeadTimeout { secs: u64 },
    /// A request head over the HTTP layer's limits (431, answered by `framing`).
    #[error(
        "the request head is too large: at most {max_bytes} bytes and {max_fields} header fields"
    )]
    HeaderTooLarge { max_bytes: usize, max_fields: usize },
    /// An import past `import_max_rows` or `import_max_zip_members` (413 `import_too_large`);
    /// `summary` is what was written before the row limit was reached (none for members).
    #[error("{message}")]
    ImportTooLarge {
        setting: &'static str,
        limit: u64,
        message: String,
        summary: Option<Box<Value>>,
    },
    #[error("unsupported Content-Type")]
    UnsupportedMediaType,
    #[error("validation failed")]
    Invalid(Vec<FieldError>),
    #[error("validation failed")]
    InvalidItems {
        errors: Vec<FieldError>,
        total: usize,
    },
    #[error("{quota} quota exceeded")]
    QuotaExceeded {
        quota: &'static str,
        limit: i64,
        used: i64,
        requested: i64,
    },
    #[error("{0}")]
    InvalidQuery(String),
    #[error("{0}")]
    CidrTooBroad(String),
    #[error("that name is already taken")]
    NameTaken(&'static str),
    #[error("daily request limit of {limit} reached")]
    RateLimited {
        limit: i64,
        reset: i64,
        retry_after: Duration,
    },
    #[error("too many requests in a short time")]
    BurstLimited { retry_after: Duration },
    /// No room for another import (429 `too_many_imports`, `Retry-After`); `scope` is `user`
    /// or `server`.
    #[error("too many imports are running; retry later")]
    TooManyImports {
        scope: &'static str,
        limit: u32,
        retry_after: Duration,
    },
    /// No room for another open change stream (429 `too_many_streams`, `Retry-After`); `scope`
    /// is `user` or `server`.
    #[error("too many change streams are open; close one or retry later")]
    TooManyStreams { scope: &'static str, limit: u32 },
    #[error("conflicting concurrent write; retrying is safe")]
    Conflict,
    #[error("this would leave the server without an enabled admin")]
    LastAdmin,
    /// A scheduled pull is running under another gateway's live lease (409).
    #[error("a run of this schedule is in progress")]
    RunInProgress,
    /// A feature needs server settings that are missing (409: the server's state, not the
    /// request, is what must change; never a 5xx, which would read as a fault), e.g. the
    /// Reports API key.
    #[error("{0}")]
    NotConfigured(&'static str),
    #[error("database busy")]
    DatabaseBusy,
    /// A bounded queue of expensive work (password checks) is full: 503 with `Retry-After`.
    #[error("the server is busy with too many {0} at once; retry shortly")]
    ServerBusy(&'static str),
    #[error("the query took too long")]
    QueryTimeout,
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
    /// A report of which nothing could be imported (422 `empty_report` or
    /// `unreadable_report`), with the import summary in `details.summary`.
    #[error("{message}")]
    ReportRejected {
        code: &'static str,
        message: String,
        summary: Box<Value>,
    },
}

impl ApiError {
    /// A 400 `malformed_json` with the parser's explanation.
    pub fn malformed(reason: impl Into<String>) -> Self {
        ApiError::Malformed(reason.into())
    }

    /// A 422 for a single field.
    pub fn invalid(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError::Invalid(vec![FieldError::new(field, code, message)])
    }

    /// Maps a unique-constraint violation to `name_taken` on `field`; other errors as usual.
    pub fn name_taken_if_unique(field: &'static str) -> impl Fn(diesel::result::Error) -> ApiError {
        move |e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => ApiError::NameTaken(field),
            other => ApiError::from(other),
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) => "malformed_json",
            ApiError::MalformedRequest => "malformed_request",
            ApiError::UnknownParameter(_) => "unknown_parameter",
            ApiError::InvalidParameter { .. } => "invalid_parameter",
            ApiError::MissingParameter(_) => "missing_parameter",
            ApiError::InvalidCursor => "invalid_cursor",
            ApiError::ConflictingCredentials => "conflicting_credentials",
            ApiError::AuthenticationRequired => "authentication_required",
            ApiError::InvalidToken => "invalid_token",
            ApiError::TokenExpired => "token_expired",
            ApiError::AccountDisabled => "account_disabled",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::UnsupportedAuthScheme => "unsupported_auth_scheme",
            ApiError::InsufficientScope => "insufficient_scope",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::AdminRequired => "admin_required",
            ApiError::NotFound => "not_found",
            ApiError::UnknownFormat { .. } => "unknown_format",
            ApiError::ChangesExpired { .. } => "changes_expired",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::NotAcceptable => "not_acceptable",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::RequestTimeout { .. } | ApiError::HeadTimeout { .. } => "request_timeout",
            ApiError::HeaderTooLarge { .. } => "header_too_large",
            ApiError::ImportTooLarge { .. } => "import_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Invalid(_) | ApiError::InvalidItems { .. } => "validation_failed",
            ApiError::QuotaExceeded { .. } => "quota_exceeded",
            ApiError::NameTaken(_) => "name_taken",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::CidrTooBroad(_) => "cidr_too_broad",
            ApiError::Conflict => "conflict",
            ApiError::LastAdmin => "last_admin",
            ApiError::RunInProgress => "run_in_progress",
            ApiError::NotConfigured(_) => "not_configured",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::BurstLimited { .. } => "burst_limited",
            ApiError::TooManyImports { .. } => "too_many_imports",
            ApiError::TooManyStreams { .. } => "too_many_streams",
            ApiError::DatabaseBusy => "database_busy",
            ApiError::ServerBusy(_) => "server_busy",
            ApiError::QueryTimeout => "query_timeout",
            ApiError::Unavailable(_) => "database_unavailable",
            ApiError::Internal(_) => "internal_error",
            ApiError::ReportRejected { code, .. } => code,
        }
    }

    /// Every `code` the server can answer with, each once, for the contract test that checks
    /// `openapi/openapi.yaml` lists them all. Derived from the variants by [`Self::next_sample`],
    /// so a new variant is listed as soon as it compiles.
    pub fn all_codes() -> Vec<&'static str> {
        let mut codes: Vec<&'static str> = Vec::new();
        for sample in Self::samples() {
            let of_sample: &[&'static str] = match sample {
                // The one variant whose code is chosen at run time, by `api/imports.rs`.
                ApiError::ReportRejected { .. } => &Self::REPORT_REJECTED_CODES,
                ref other => &[other.code()],
            };
            for code in of_sample {
                if !codes.contains(code) {
                    codes.push(code);
                }
            }
        }
        codes
    }

    /// The codes a [`ApiError::ReportRejected`] carries (spec shadowserver §1.5).
    pub const REPORT_REJECTED_CODES: [&'static str; 2] = ["empty_report", "unreadable_report"];

    /// One value of every variant, in declaration order, walking [`Self::next_sample`].
    fn samples() -> Vec<ApiError> {
        let mut out = Vec::new();
        let mut next = Some(ApiError::Malformed(String::new()));
        while let Some(sample) = next {
            next = sample.next_sample();
            out.push(sample);
        }
        out
    }

    /// A value of the variant declared after this one's, `None` after the last. The `match`
    /// has no wildcard: a new variant does not compile until it has its place in this chain,
    /// and with it its code in [`Self::all_codes`].
    fn next_sample(&self) -> Option<ApiError> {
        let next = match self {
            ApiError::Malformed(_) => ApiError::MalformedRequest,
            ApiError::MalformedRequest => ApiError::UnknownParameter(Vec::new()),
            ApiError::UnknownParameter(_) => ApiError::InvalidParameter {
                parameter: String::new(),
                message: String::new(),
            },
            ApiError::InvalidParameter { .. } => ApiError::MissingParameter(String::new()),
            ApiError::MissingParameter(_) => ApiError::InvalidCursor,
            ApiError::InvalidCursor => ApiError::ConflictingCredentials,
            ApiError::ConflictingCredentials => ApiError::AuthenticationRequired,
            ApiError::AuthenticationRequired => ApiError::InvalidToken,
            ApiError::InvalidToken => ApiError::TokenExpired,
            ApiError::TokenExpired => ApiError::AccountDisabled,
            ApiError::AccountDisabled => ApiError::InvalidCredentials,
            ApiError::InvalidCredentials => ApiError::UnsupportedAuthScheme,
            ApiError::UnsupportedAuthScheme => ApiError::InsufficientScope,
            ApiError::InsufficientScope => ApiError::Forbidden(""),
            ApiError::Forbidden(_) => ApiError::AdminRequired,
            ApiError::AdminRequired => ApiError::NotFound,
            ApiError::NotFound => ApiError::UnknownFormat {
                format: String::new(),
                known: Vec::new(),
            },
            ApiError::UnknownFormat { .. } => ApiError::ChangesExpired { oldest: 0 },
            ApiError::ChangesExpired { .. } => ApiError::MethodNotAllowed(Vec::new()),
            ApiError::MethodNotAllowed(_) => ApiError::NotAcceptable,
            ApiError::NotAcceptable => ApiError::PayloadTooLarge { limit: 0 },
            ApiError::PayloadTooLarge { .. } => ApiError::RequestTimeout { idle_secs: 0 },
            ApiError::RequestTimeout { .. } => ApiError::HeadTimeout { secs: 0 },
            ApiError::HeadTimeout { .. } => ApiError::HeaderTooLarge {
                max_bytes: 0,
                max_fields: 0,
            },
            ApiError::HeaderTooLarge { .. } => ApiError::ImportTooLarge {
                setting: "",
                limit: 0,
                message: String::new(),
                summary: None,
            },
            ApiError::ImportTooLarge { .. } => ApiError::UnsupportedMediaType,
            ApiError::UnsupportedMediaType => ApiError::Invalid(Vec::new()),
            ApiError::Invalid(_) => ApiError::InvalidItems {
                errors: Vec::new(),
                total: 0,
            },
            ApiError::InvalidItems { .. } => ApiError::QuotaExceeded {
                quota: "",
                limit: 0,
                used: 0,
                requested: 0,
            },
            ApiError::QuotaExceeded { .. } => ApiError::InvalidQuery(String::new()),
            ApiError::InvalidQuery(_) => ApiError::CidrTooBroad(String::new()),
            ApiError::CidrTooBroad(_) => ApiError::NameTaken(""),
            ApiError::NameTaken(_) => ApiError::RateLimited {
                limit: 0,
                reset: 0,
                retry_after: Duration::ZERO,
            },
            ApiError::RateLimited { .. } => ApiError::BurstLimited {
                retry_after: Duration::ZERO,
            },
            ApiError::BurstLimited { .. } => ApiError::TooManyImports {
                scope: "",
                limit: 0,
                retry_after: Duration::ZERO,
            },
            ApiError::TooManyImports { .. } => ApiError::TooManyStreams {
                scope: "",
                limit: 0,
            },
            ApiError::TooManyStreams { .. } => ApiError::Conflict,
            ApiError::Conflict => ApiError::LastAdmin,
            ApiError::LastAdmin => ApiError::RunInProgress,
            ApiError::RunInProgress => ApiError::NotConfigured(""),
            ApiError::NotConfigured(_) => ApiError::DatabaseBusy,
            ApiError::DatabaseBusy => ApiError::ServerBusy(""),
            ApiError::ServerBusy(_) => ApiError::QueryTimeout,
            ApiError::QueryTimeout => ApiError::Unavailable(anyhow::anyhow!("sample")),
            ApiError::Unavailable(_) => ApiError::Internal(anyhow::anyhow!("sample")),
            ApiError::Internal(_) => ApiError::ReportRejected {
                code: Self::REPORT_REJECTED_CODES[0],
                message: String::new(),
                summary: Box::new(Value::Null),
            },
            ApiError::ReportRejected { .. } => return None,
        };
        Some(next)
    }

    fn details(&self) -> Value {
        match self {
            ApiError::UnknownParameter(names) => json!({ "parameters": names }),
            ApiError::InvalidParameter { parameter, .. } => json!({ "parameter": parameter }),
            ApiError::MissingParameter(name) => json!({ "parameter": name }),
            ApiError::MethodNotAllowed(allow) => json!({ "allow": allow }),
            ApiError::UnknownFormat { format, known } => {
                json!({ "format": format, "formats": known })
            }
            ApiError::NotAcceptable => {
                json!({ "supported": SUPPORTED })
            }
            ApiError::PayloadTooLarge { limit } => json!({ "limit": limit }),
            ApiError::RequestTimeout { idle_secs } => json!({ "idle_secs": idle_secs }),
            ApiError::HeadTimeout { secs } => json!({ "timeout_secs": secs }),
            ApiError::HeaderTooLarge {
                max_bytes,
                max_fields,
            } => json!({ "max_bytes": max_bytes, "max_fields": max_fields }),
            ApiError::ImportTooLarge {
                setting,
                limit,
                summary,
                ..
            } => match summary {
                Some(summary) => json!({ "setting": setting, "limit": limit, "summary": summary }),
                None => json!({ "setting": setting, "limit": limit }),
            },
            ApiError::TooManyImports { scope, limit, .. } => {
                json!({ "scope": scope, "limit": limit })
            }
            ApiError::TooManyStreams { scope, limit } => {
                json!({ "scope": scope, "limit": limit })
            }
            ApiError::ChangesExpired { oldest } => json!({ "oldest": oldest }),
            ApiError::Invalid(errors) => json!({ "errors": errors }),
            ApiError::InvalidItems { errors, total } => {
                json!({ "errors": errors, "error_count": total })
            }
            ApiError::QuotaExceeded {
                quota,
                limit,
                used,
                requested,
            } => {
                json!({ "quota": quota, "limit": limit, "used": used, "requested": requested })
            }
            ApiError::NameTaken(field) => json!({ "field": field }),
            ApiError::RateLimited { limit, reset, .. } => {
                json!({ "limit": limit, "period": "day", "reset": reset })
            }
            ApiError::ReportRejected { summary, .. } => json!({ "summary": summary }),
            _ => json!({}),
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::Invalid(errors) if errors.len() == 1 => {
                format!("{}: {}", errors[0].field, errors[0].message)
            }
            ApiError::Invalid(errors) => format!("{} fields are invalid", errors.len()),
            ApiError::InvalidItems { total, .. } => {
                format!("{total} problems in the submitted items; nothing was written")
            }
            ApiError::UnknownParameter(names) => {
                format!("unknown query parameter(s): {}", names.join(", "))
            }
            ApiError::NameTaken(field) => format!("{field} is already taken"),
            ApiError::QuotaExceeded { quota, limit, .. } => {
                format!("{quota} quota of {limit} exceeded")
            }
            other => other.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_)
            | ApiError::MalformedRequest
            | ApiError::UnknownParameter(_)
            | ApiError::InvalidParameter { .. }
            | ApiError::MissingParameter(_)
            | ApiError::InvalidCursor
            | ApiError::ConflictingCredentials => StatusCode::BAD_REQUEST,
            ApiError::AuthenticationRequired
            | ApiError::InvalidToken
            | ApiError::TokenExpired
            | ApiError::AccountDisabled
            | ApiError::InvalidCredentials
            | ApiError::UnsupportedAuthScheme => StatusCode::UNAUTHORIZED,
            ApiError::InsufficientScope | ApiError::Forbidden(_) | ApiError::AdminRequired => {
                StatusCode::FORBIDDEN
            }
            ApiError::NotFound | ApiError::UnknownFormat { .. } => StatusCode::NOT_FOUND,
            ApiError::ChangesExpired { .. } => StatusCode::GONE,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ApiError::RequestTimeout { .. } | ApiError::HeadTimeout { .. } => {
                StatusCode::REQUEST_TIMEOUT
            }
            ApiError::HeaderTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::PayloadTooLarge { .. } | ApiError::ImportTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid(_)
            | ApiError::InvalidItems { .. }
            | ApiError::QuotaExceeded { .. }
            | ApiError::NameTaken(_)
            | ApiError::InvalidQuery(_)
            | ApiError::CidrTooBroad(_)
            | ApiError::ReportRejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict
            | ApiError::LastAdmin
            | ApiError::RunInProgress
            | ApiError::NotConfigured(_) => StatusCode::CONFLICT,
            ApiError::RateLimited { .. }
            | ApiError::BurstLimited { .. }
            | ApiError::TooManyImports { .. }
            | ApiError::TooManyStreams { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::DatabaseBusy
            | ApiError::ServerBusy(_)
            | ApiError::QueryTimeout
            | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            // The source chain may name SQL or paths: it goes to the log, never to the client.
            tracing::error!(code = self.code(), error = ?anyhow_chain(self), "request failed");
        }
        let mut res = HttpResponse::build(status);
        match self {
            ApiError::AuthenticationRequired
            | ApiError::InvalidToken
            | ApiError::TokenExpired
            | ApiError::AccountDisabled
            | ApiError::InvalidCredentials
            | ApiError::UnsupportedAuthScheme => {
                res.insert_header((header::WWW_AUTHENTICATE, r#"Token realm="feedgate""#));
            }
            ApiError::MethodNotAllowed(allow) => {
                res.insert_header((header::ALLOW, allow.join(", ")));
            }
            ApiError::DatabaseBusy | ApiError::QueryTimeout | ApiError::Unavailable(_) => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
            }
            ApiError::ServerBusy(_) => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            ApiError::TooManyStreams { .. } => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("30")));
            }
            ApiError::RateLimited { retry_after, .. }
            | ApiError::BurstLimited { retry_after }
            | ApiError::TooManyImports { retry_after, .. } => {
                res.insert_header((
                    header::RETRY_AFTER,
                    retry_after_secs(*retry_after).to_string(),
                ));
            }
            _ => {}
        }
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        res.content_type("application/json; charset=utf-8")
            .body(error_body(&self.message(), self.code(), self.details()))
    }
}

/// The body every error shares.
pub fn error_body(message: &str, code: &str, details: Value) -> String {
    json!({ "message": message, "code": code, "details": details }).to_string()
}

fn anyhow_chain(err: &ApiError) -> String {
    let mut out = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// `Conflict` is what a lost race becomes (`From<diesel::result::Error>` below), and what a
/// bulk write returns when another transaction deleted a row it had just found.
impl crate::db::LostRace for ApiError {
    fn lost_race(&self) -> bool {
        matches!(self, ApiError::Conflict)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => ApiError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
            | Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => ApiError::Conflict,
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                ApiError::DatabaseBusy
            }
            // PostgreSQL broke a lock cycle between concurrent upserts of the same values by
            // failing this transaction: running it again succeeds (`db::Db::upsert`).
            Error::DatabaseError(_, ref info) if info.message().contains("deadlock detected") => {
                ApiError::Conflict
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                ApiError::Unavailable(anyhow::anyhow!("{}", info.message()))
            }
            Error::DatabaseError(_, ref info)
                if info.message().contains("database is locked")
                    || info.message().contains("busy") =>
            {
                ApiError::DatabaseBusy
            }
            Error::DatabaseError(_, ref info) if info.message().contains("statement timeout") => {
                ApiError::QueryTimeout
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<RunError> for ApiError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Checkout(err) => ApiError::Unavailable(err.into()),
            RunError::NoConnection(message) => ApiError::Unavailable(anyhow::anyhow!(message)),
            RunError::Cancelled => ApiError::Internal(anyhow::anyhow!("database task cancelled")),
            RunError::Query(err) => ApiError::from(err),
        }
    }
}

/// How long a rate-limited client should wait, for the `Retry-After` header.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs().max(1) + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body_of(err: &ApiError) -> Value {
        let res = err.error_response();
        let bytes = res.into_body().try_into_bytes().unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn every_error_has_the_shared_body() {
        let cases = [
            (ApiError::malformed("bad"), 400, "malformed_json"),
            (ApiError::InvalidToken, 401, "invalid_token"),
            (ApiError::InsufficientScope, 403, "insufficient_scope"),
            (ApiError::NotFound, 404, "not_found"),
            (
                ApiError::MethodNotAllowed(vec!["GET"]),
                405,
                "method_not_allowed",
            ),
            (ApiError::NotAcceptable, 406, "not_acceptable"),
            (ApiError::MalformedRequest, 400, "malformed_request"),
            (ApiError::HeadTimeout { secs: 5 }, 408, "request_timeout"),
            (
                ApiError::HeaderTooLarge {
                    max_bytes: 1,
                    max_fields: 1,
                },
                431,
                "header_too_large",
            ),
            (
                ApiError::PayloadTooLarge { limit: 10 },
                413,
                "payload_too_large",
            ),
            (
                ApiError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (
                ApiError::invalid("name", "too_long", "too long"),
                422,
                "validation_failed",
            ),
            (ApiError::Conflict, 409, "conflict"),
            (
                ApiError::Unavailable(anyhow::anyhow!("x")),
                503,
                "database_unavailable",
            ),
            (
                ApiError::Internal(anyhow::anyhow!("secret sql")),
                500,
                "internal_error",
            ),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status_code().as_u16(), status, "{code}");
            let body = body_of(&err);
            assert_eq!(body["code"], code);
            assert!(body["message"].is_string());
            assert!(body["details"].is_object());
            assert!(!body.to_string().contains("secret sql"));
        }
    }

    #[test]
    fn unauthorized_answers_carry_the_challenge() {
        let res = ApiError::InvalidToken.error_response();
        assert_eq!(
            res.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            r#"Token realm="feedgate""#
        );
    }

    #[test]
    fn the_sample_chain_visits_each_variant_once() {
        let samples = ApiError::samples();
        let kinds: std::collections::HashSet<_> =
            samples.iter().map(std::mem::discriminant).collect();
        assert_eq!(kinds.len(), samples.len(), "a variant is visited twice");
        let codes = ApiError::all_codes();
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len(), "{codes:?}");
        for code in ApiError::REPORT_REJECTED_CODES {
            assert!(codes.contains(&code), "{code}");
        }
    }

    #[test]
    fn diesel_errors_map_to_statuses() {
        assert!(matches!(
            ApiError::from(diesel::result::Error::NotFound),
            ApiError::NotFound
        ));
    }
}
