//! The Reports API client (spec `shadowserver.md` §5): `reports/list` signed with `HMAC2`
//! (the body is serialised once, signed and sent as those bytes), downloads by id, base URLs
//! checked (https, or plain http to a loopback host for tests). Blocking (`ureq`): it serves
//! the CLI pull. The key, the secret, signatures, bodies and report ids never appear in errors.

use std::time::Duration;

use serde::Deserialize as _;
use serde_json::Value;

use super::sign::{HMAC2_HEADER, hmac2};
use crate::import::spool::{self, SpoolError, Spooled};

/// Default API base URL.
pub const DEFAULT_API_URL: &str = "https://transform.shadowserver.org/api2/";
/// Default download base URL.
pub const DEFAULT_DOWNLOAD_URL: &str = "https://dl.shadowserver.org/";
/// The most entries one `reports/list` answer holds.
pub const LIST_CAP: usize = 1000;

/// Credentials and base URLs.
#[derive(Clone)]
pub struct ClientConfig {
    /// `SHADOWSERVER_API_KEY`.
    pub key: String,
    /// `SHADOWSERVER_API_SECRET`.
    pub secret: String,
    /// The API base, ending in `/`.
    pub api_url: String,
    /// The download base, ending in `/`.
    pub download_url: String,
    /// How long a request may go without receiving data (§5.4: 60 s).
    pub read_timeout: Duration,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("api_url", &self.api_url)
            .field("download_url", &self.download_url)
            .field("read_timeout", &self.read_timeout)
            .finish_non_exhaustive()
    }
}

/// Why a call failed; the texts hold no credential and no report id.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A base URL is not https (nor http to a loopback host).
    #[error("{0}")]
    BadUrl(String),
    /// 401 or 403.
    #[error("the Reports API rejected the credentials (HTTP {status}){detail}")]
    Credentials { status: u16, detail: String },
    /// Another non-200 answer, an `error` member, or not a JSON array.
    #[error("the Reports API answered {what}")]
    Api { what: String },
    /// A connection error or timeout.
    #[error("cannot reach the Reports API: {0}")]
    Transport(String),
}

/// Checks a base URL (§5.1) and adds a missing trailing `/`.
pub fn base_url(raw: &str, what: &str) -> Result<String, ClientError> {
    let trimmed = raw.trim();
    let uri: ureq::http::Uri = trimmed
        .parse()
        .map_err(|e| ClientError::BadUrl(format!("{what} {trimmed:?} is not a URL: {e}")))?;
    if !allowed(&uri) {
        return Err(ClientError::BadUrl(format!(
            "{what} must use https (plain http only to a loopback host)"
        )));
    }
    let mut text = trimmed.to_string();
    if !text.ends_with('/') {
        text.push('/');
    }
    Ok(text)
}

/// Whether a URL may be used (§5.1): https, or plain http to a loopback host.
fn allowed(uri: &ureq::http::Uri) -> bool {
    let loopback = matches!(
        uri.host(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    );
    match uri.scheme_str() {
        Some("https") => uri.host().is_some(),
        Some("http") => loopback,
        _ => false,
    }
}

/// The most redirects a download follows (§5.4).
const MAX_REDIRECTS: usize = 5;

/// A Reports API client.
pub struct Client {
    agent: ureq::Agent,
    config: ClientConfig,
}

impl Client {
    /// A client over checked base URLs.
    pub fn new(mut config: ClientConfig) -> Result<Self, ClientError> {
        config.api_url = base_url(&config.api_url, "the API URL")?;
        config.download_url = base_url(&config.download_url, "the download URL")?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Downloads follow redirects themselves, checking each target against the https
            // rule (§5.4); `reports/list` follows none (a redirected POST would carry the key).
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            // "60 s without receiving data" (§5.4): restarts with every read, headers and body
            // alike, so a large report may take as long as it needs.
            .timeout_per_read(Some(config.read_timeout))
            .user_agent(format!("feedgate/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Client { agent, config })
    }

    /// `reports/list` for `date` (`YYYY-MM-DD` or `FROM:TO`) and the subscriber's list names;
    /// retried on transport errors, 429 and 5xx (3 attempts, 1 s then 2 s or `Retry-After`).
    pub fn list(&self, date: &str, reports: &[String]) -> Result<Vec<Value>, ClientError> {
        let mut body = serde_json::Map::new();
        body.insert("date".into(), Value::from(date));
        if !reports.is_empty() {
            body.insert("reports".into(), Value::from(reports.to_vec()));
        }
        array(self.call("reports/list", body)?)
    }

    /// `reports/subscribed`: the report list names the key may pull.
    pub fn subscribed(&self) -> Result<Vec<String>, ClientError> {
        strings(self.call("reports/subscribed", serde_json::Map::new())?)
    }

    /// `reports/types`: the report types available to the subscriber.
    pub fn types(&self) -> Result<Vec<String>, ClientError> {
        strings(self.call("reports/types", serde_json::Map::new())?)
    }

    /// `reports/stats` with these parameters (`date`, `report`, `type`): the events per report
    /// date and type. The answer is a table whose first row names the columns.
    pub fn stats(
        &self,
        params: serde_json::Map<String, Value>,
    ) -> Result<Vec<StatsRow>, ClientError> {
        let rows = array(self.call("reports/stats", params)?)?;
        StatsRow::table(&rows).ok_or_else(|| ClientError::Api {
            what: "a reports/stats table of the wrong shape (a header row naming date, type \
                   and events, then one row per date and type)"
                .into(),
        })
    }

    /// One page of `reports/query` (or its facet counts): an array of objects.
    pub fn query(
        &self,
        params: serde_json::Map<String, Value>,
    ) -> Result<Vec<serde_json::Map<String, Value>>, ClientError> {
        array(self.call("reports/query", params)?)?
            .into_iter()
            .map(|v| match v {
                Value::Object(m) => Ok(m),
                _ => Err(ClientError::Api {
                    what: "a reports/query answer holding something that is not an object".into(),
                }),
            })
            .collect()
    }

    /// `reports/download` by id (at most `limit` rows when given): the JSON rows, spooled to a
    /// temporary file of at most `max_bytes` and checked to be one whole JSON array of objects'
    /// worth of syntax (a body cut short is refused here, not half imported). Retried like
    /// the other methods.
    pub fn download_rows(
        &self,
        id: &str,
        limit: Option<u64>,
        max_bytes: u64,
    ) -> Result<Spooled, ClientError> {
        let mut body = serde_json::Map::new();
        body.insert("id".into(), Value::from(id));
        if let Some(limit) = limit {
            body.insert("limit".into(), Value::from(limit));
        }
        let mut res = self.send("reports/download", body)?;
        let reader = res.body_mut().with_config().limit(u64::MAX).reader();
        let mut spooled = spool::spool_reader(reader, max_bytes).map_err(|e| match e {
            SpoolError::TooLarge { limit } => ClientError::Api {
                what: format!("a report larger than {limit} bytes"),
            },
            other => ClientError::Api {
                what: format!("a body that was cut short ({other})"),
            },
        })?;
        check_json_array(&mut spooled.file)?;
        Ok(spooled)
    }

    /// A signed call of `method` with `params` plus the key: the answer's JSON, after the
    /// status checks of §5.6.
    fn call(
        &self,
        method: &str,
        params: serde_json::Map<String, Value>,
    ) -> Result<Value, ClientError> {
        let mut res = self.send(method, params)?;
        let text = res
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|e| ClientError::Api {
                what: format!(
                    "a body that was cut short or too large ({})",
                    transport_text(&e)
                ),
            })?;
        let parsed: Value = serde_json::from_str(&text).map_err(|_| ClientError::Api {
            what: if text.trim().is_empty() {
                "an empty body".into()
            } else {
                "a body that is not a JSON array (not JSON at all, or cut short)".into()
            },
        })?;
        if let Some(e) = parsed.as_object().and_then(|o| o.get("error")) {
            let text = e.as_str().map_or_else(|| e.to_string(), str::to_owned);
            return Err(ClientError::Api {
                what: format!("an error: {text}"),
            });
        }
        Ok(parsed)
    }

    /// Sends `params` plus the key to `method`, signed; retried on transport errors, 429 and
    /// 5xx (3 attempts, 1 s then 2 s or `Retry-After`). Any status but 200 is an error naming
    /// it and the server's `error` text.
    fn send(
        &self,
        method: &str,
        params: serde_json::Map<String, Value>,
    ) -> Result<ureq::http::Response<ureq::Body>, ClientError> {
        let mut body = serde_json::Map::new();
        body.insert("apikey".into(), Value::from(self.config.key.clone()));
        body.extend(params);
        // Serialised once; these exact bytes are signed and sent (§5.2).
        let bytes = serde_json::to_vec(&Value::Object(body)).map_err(|e| ClientError::Api {
            what: e.to_string(),
        })?;
        let signature = hmac2(&self.config.secret, &bytes);
        let url = format!("{}{method}", self.config.api_url);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .header(HMAC2_HEADER, &signature)
                .send(&bytes[..]);
            let retry_wait = Duration::from_secs(attempt);
            let mut res = match sent {
                Ok(res) => res,
                Err(e) if attempt < 3 => {
                    tracing::warn!(method, error = %transport_text(&e), "Reports API call failed; retrying");
                    std::thread::sleep(retry_wait);
                    continue;
                }
                Err(e) => return Err(ClientError::Transport(transport_text(&e))),
            };
            let status = res.status().as_u16();
            if matches!(status, 429 | 500 | 502 | 503 | 504) && attempt < 3 {
                let header = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok());
                std::thread::sleep(wait_before_retry(header, retry_wait, chrono::Utc::now()));
                continue;
            }
            if status == 200 {
                return Ok(res);
            }
            let text = res
                .body_mut()
                .with_config()
                .limit(64 * 1024)
                .read_to_string()
                .unwrap_or_default();
            let detail = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("error").cloned())
                .map(|e| {
                    format!(
                        ": {}",
                        e.as_str().map_or_else(|| e.to_string(), str::to_owned)
                    )
                })
                .unwrap_or_default();
            if status == 401 || status == 403 {
                return Err(ClientError::Credentials { status, detail });
            }
            return Err(ClientError::Api {
                what: format!("HTTP {status}{detail}"),
            });
        }
    }

    /// Downloads a report by id into a temporary file (not retried; §5.4), following at most
    /// five redirects, each to an https URL or plain http on a loopback host.
    pub fn download(&self, id: &str, limit: u64) -> Result<Spooled, String> {
        let mut url = format!("{}{}", self.config.download_url, encode_segment(id));
        let mut redirects = 0;
        let mut res = loop {
            let res = self
                .agent
                .get(&url)
                .call()
                .map_err(|e| format!("download failed: {}", transport_text(&e)))?;
            if !res.status().is_redirection() || res.status().as_u16() == 304 {
                break res;
            }
            if redirects == MAX_REDIRECTS {
                return Err(format!(
                    "download failed: more than {MAX_REDIRECTS} redirects"
                ));
            }
            redirects += 1;
            // The target is never shown: it may hold the id.
            url = redirect_target(&url, &res).ok_or_else(|| {
                "download redirected to a URL that is not https (nor http to a loopback host)"
                    .to_string()
            })?;
        };
        let status = res.status().as_u16();
        if status != 200 {
            return Err(format!("download answered HTTP {status}"));
        }
        let reader = res.body_mut().with_config().limit(u64::MAX).reader();
        spool::spool_reader(reader, limit).map_err(|e| match e {
            SpoolError::TooLarge { limit } => format!("the report is larger than {limit} bytes"),
            other => format!("download failed: {other}"),
        })
    }
}

/// The largest answer of a method other than `reports/download` that is read (a page of
/// `reports/query` holds at most 1,000 rows).
const MAX_ANSWER_BYTES: u64 = 64 << 20;

/// The answer as an array.
fn array(v: Value) -> Result<Vec<Value>, ClientError> {
    match v {
        Value::Array(items) => Ok(items),
        _ => Err(ClientError::Api {
            what: "something that is not a JSON array".into(),
        }),
    }
}

/// The answer as an array of strings.
fn strings(v: Value) -> Result<Vec<String>, ClientError> {
    array(v)?
        .into_iter()
        .map(|item| match item {
            Value::String(s) => Ok(s),
            _ => Err(ClientError::Api {
                what: "a list holding something that is not a string".into(),
            }),
        })
        .collect()
}

/// Checks that a spooled body is one complete JSON array (read as a stream, never held
/// whole), then rewinds it: an `error` object or a body cut short is refused with a reason.
fn check_json_array(file: &mut std::fs::File) -> Result<(), ClientError> {
    use std::io::{BufRead, Read, Seek};
    let bad = |what: &str| ClientError::Api { what: what.into() };
    let rewind = |f: &mut std::fs::File| {
        f.rewind()
            .map_err(|e| bad(&format!("an unreadable body ({e})")))
    };
    rewind(file)?;
    let mut reader = std::io::BufReader::new(&mut *file);
    let first = loop {
        let buf = reader
            .fill_buf()
            .map_err(|e| bad(&format!("an unreadable body ({e})")))?;
        let Some(pos) = buf.iter().position(|b| !b.is_ascii_whitespace()) else {
            if buf.is_empty() {
                return Err(bad("an empty body"));
            }
            let n = buf.len();
            reader.consume(n);
            continue;
        };
        let b = buf[pos];
        break b;
    };
    if first == b'{' {
        let mut head = String::new();
        let _ = reader.by_ref().take(64 * 1024).read_to_string(&mut head);
        let error = serde_json::from_str::<Value>(head.trim())
            .ok()
            .and_then(|v| v.get("error").cloned());
        return Err(match error {
            Some(e) => bad(&format!(
                "an error: {}",
                e.as_str().map_or_else(|| e.to_string(), str::to_owned)
            )),
            None => bad("an object where an array of rows belongs"),
        });
    }
    if first != b'[' {
        return Err(bad("something that is not a JSON array"));
    }
    let mut de = serde_json::Deserializer::from_reader(reader);
    serde::de::IgnoredAny::deserialize(&mut de)
        .and_then(|_| de.end())
        .map_err(|_| bad("a JSON array that was cut short or is malformed"))?;
    rewind(file)
}

/// One row of the `reports/stats` table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatsRow {
    /// The report date as the API gives it.
    pub date: String,
    /// The report type as the API gives it (`scan-exchange` or `scan_exchange`).
    #[serde(rename = "type")]
    pub report_type: String,
    /// Events counted.
    pub events: i64,
}

impl StatsRow {
    /// The rows of a stats table whose first row names `date`, `type` and `events` (in any
    /// order); `None` when it has another shape. An empty answer is no rows.
    pub fn table(rows: &[Value]) -> Option<Vec<StatsRow>> {
        let Some((head, body)) = rows.split_first() else {
            return Some(Vec::new());
        };
        let names: Vec<&str> = head
            .as_array()?
            .iter()
            .map(Value::as_str)
            .collect::<Option<_>>()?;
        let col = |n: &str| names.iter().position(|c| *c == n);
        let (d, t, e) = (col("date")?, col("type")?, col("events")?);
        body.iter()
            .map(|row| {
                let cells = row.as_array()?;
                let events = match cells.get(e)? {
                    Value::Number(n) => n.as_i64()?,
                    Value::String(s) => s.trim().parse().ok()?,
                    _ => return None,
                };
                Some(StatsRow {
                    date: cells.get(d)?.as_str()?.to_string(),
                    report_type: cells.get(t)?.as_str()?.to_string(),
                    events,
                })
            })
            .collect()
    }
}

/// Where a redirect points, resolved against the URL asked, if it may be followed (§5.1).
fn redirect_target(current: &str, res: &ureq::http::Response<ureq::Body>) -> Option<String> {
    let location = res.headers().get("location")?.to_str().ok()?.trim();
    let next = resolve(current, location)?;
    let uri: ureq::http::Uri = next.parse().ok()?;
    allowed(&uri).then_some(next)
}

/// `location` resolved against the absolute URL `base` (RFC 3986 §5.2, without dot-segment
/// removal, which only matters for paths a server would normalise anyway).
fn resolve(base: &str, location: &str) -> Option<String> {
    let uri: ureq::http::Uri = base.parse().ok()?;
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?.as_str();
    if location.starts_with("//") {
        return Some(format!("{scheme}:{location}"));
    }
    // RFC 3986 scheme characters; a `/` or `?` before the first `:` makes it a path.
    let has_scheme = location.split_once(':').is_some_and(|(s, _)| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    });
    if has_scheme {
        return Some(location.to_string());
    }
    if location.starts_with('/') {
        return Some(format!("{scheme}://{authority}{location}"));
    }
    let path = uri.path();
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    Some(format!("{scheme}://{authority}{dir}{location}"))
}

/// A transport error's text without the URL (which holds the report id).
fn transport_text(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => io.kind().to_string(),
        ureq::Error::Timeout(_) => "timeout".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::TooManyRedirects => "too many redirects".into(),
        _ => "transport error".into(),
    }
}

/// Percent-encodes a report id as one path segment: every byte but letters, digits, `-._~`.
pub fn encode_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len() * 3);
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One usable list entry (§5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// The download id (a credential: never logged or shown).
    pub id: String,
    /// The file name.
    pub file: String,
    /// The report type, when given.
    pub report_type: Option<String>,
    /// The report date, when given.
    pub timestamp: Option<String>,
}

impl ListEntry {
    /// An entry from a list element; `None` without non-empty string `id` and `file`.
    pub fn from_value(v: &Value) -> Option<ListEntry> {
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Some(ListEntry {
            id: text("id")?,
            file: text("file")?,
            report_type: text("type").filter(|t| {
                t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            }),
            timestamp: text("timestamp"),
        })
    }
}

/// The longest wait a `Retry-After` may ask for (§5.6).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How long to wait before retrying `reports/list`: the `Retry-After` value when given, as
/// seconds or as an HTTP date, at most 60 s; otherwise `default` (1 s, then 2 s).
fn wait_before_retry(
    retry_after: Option<&str>,
    default: Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Duration {
    let Some(value) = retry_after.map(str::trim) else {
        return default;
    };
    if let Ok(seconds) = value.parse::<u64>() {
        return Duration::from_secs(seconds).min(MAX_RETRY_AFTER);
    }
    // An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`): the time left until then.
    match chrono::DateTime::parse_from_rfc2822(value) {
        Ok(at) => (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
        Err(_) => default,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn retry_after_is_seconds_or_a_date_and_at_most_a_minute() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let default = Duration::from_secs(2);
        let wait = |h: Option<&str>| wait_before_retry(h, default, now);
        assert_eq!(wait(None), default);
        assert_eq!(wait(Some("5")), Duration::from_secs(5));
        assert_eq!(wait(Some(" 0 ")), Duration::ZERO);
        assert_eq!(wait(Some("3600")), Duration::from_secs(60), "capped");
        assert_eq!(
            wait(Some("Tue, 24 Nov 2026 12:00:30 GMT")),
            Duration::from_secs(30)
        );
        assert_eq!(
            wait(Some("Tue, 24 Nov 2026 13:00:00 GMT")),
            Duration::from_secs(60),
            "capped"
        );
        assert_eq!(
            wait(Some("Tue, 24 Nov 2026 11:00:00 GMT")),
            Duration::ZERO,
            "already past"
        );
        assert_eq!(wait(Some("soon")), default);
        assert_eq!(wait(Some("-5")), default);
    }
    use super::*;

    #[test]
    fn ids_are_encoded_as_one_segment() {
        assert_eq!(encode_segment("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(encode_segment("x?y/z"), "x%3Fy%2Fz");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }

    #[test]
    fn redirect_targets_resolve_against_the_url_asked() {
        let base = "http://127.0.0.1:8/dl/abc%3Fd";
        assert_eq!(
            resolve(base, "https://dl.example/x").unwrap(),
            "https://dl.example/x"
        );
        assert_eq!(resolve(base, "//other:9/y").unwrap(), "http://other:9/y");
        assert_eq!(
            resolve(base, "/moved/z").unwrap(),
            "http://127.0.0.1:8/moved/z"
        );
        assert_eq!(resolve(base, "z").unwrap(), "http://127.0.0.1:8/dl/z");
        assert_eq!(resolve("https://h", "z").unwrap(), "https://h/z");
        assert_eq!(
            resolve(base, "a/b:c").unwrap(),
            "http://127.0.0.1:8/dl/a/b:c"
        );
    }

    #[test]
    fn base_urls_must_be_https_or_loopback_http() {
        assert_eq!(
            base_url("https://dl.example/x", "u").unwrap(),
            "https://dl.example/x/"
        );
        assert!(base_url("http://127.0.0.1:9/", "u").is_ok());
        assert!(base_url("http://localhost:9", "u").is_ok());
        assert!(base_url("http://example.org/", "u").is_err());
        assert!(base_url("ftp://127.0.0.1/", "u").is_err());
    }

    #[test]
    fn stats_tables_are_read_by_their_header() {
        let rows = |v: serde_json::Value| v.as_array().unwrap().clone();
        let t = StatsRow::table(&rows(serde_json::json!([
            ["type", "events", "date"],
            ["scan-exchange", 2055, "2021-04-24"],
            ["scan-exchange", "7", "2021-04-25"]
        ])))
        .unwrap();
        assert_eq!(t[0].events, 2055);
        assert_eq!((t[1].date.as_str(), t[1].events), ("2021-04-25", 7));
        assert_eq!(StatsRow::table(&[]), Some(vec![]));
        for bad in [
            serde_json::json!([["date", "type"], ["2021-04-24", "x"]]),
            serde_json::json!([["date", "type", "events"], ["2021-04-24", "x", "many"]]),
            serde_json::json!([["date", "type", "events"], {"date": "2021-04-24"}]),
            serde_json::json!(["date", "type", "events"]),
        ] {
            assert_eq!(StatsRow::table(&rows(bad.clone())), None, "{bad}");
        }
    }

    #[test]
    fn a_downloaded_body_must_be_one_whole_json_array() {
        use std::io::{Read, Write};
        let check = |body: &str| {
            let mut f = tempfile::tempfile().unwrap();
            f.write_all(body.as_bytes()).unwrap();
            let r = check_json_array(&mut f).map_err(|e| e.to_string());
            if r.is_ok() {
                let mut back = String::new();
                f.read_to_string(&mut back).unwrap();
                assert_eq!(back, body, "rewound");
            }
            r
        };
        assert!(check(" [{\"ip\": \"192.0.2.1\"}]\n").is_ok());
        assert!(check("[]").is_ok());
        assert!(
            check("[{\"ip\": \"192.0.2.1\"")
                .unwrap_err()
                .contains("cut short")
        );
        assert!(
            check("{\"error\": \"no such report\"}")
                .unwrap_err()
                .contains("no such report")
        );
        assert!(check("{\"rows\": []}").unwrap_err().contains("object"));
        assert!(check("<html>").unwrap_err().contains("not a JSON array"));
        assert!(check("  ").unwrap_err().contains("empty"));
        assert!(
            check("[] []")
                .unwrap_err()
                .contains("cut short or is malformed")
        );
    }

    #[test]
    fn list_entries_need_an_id_and_a_file() {
        let e = ListEntry::from_value(&serde_json::json!(
            {"id": "1", "file": "2020-08-02-scan_smb.csv", "type": "scan_smb", "timestamp": "2020-08-02"}
        ))
        .unwrap();
        assert_eq!(e.report_type.as_deref(), Some("scan_smb"));
        assert!(ListEntry::from_value(&serde_json::json!({"id": "", "file": "x"})).is_none());
        assert!(ListEntry::from_value(&serde_json::json!({"file": "x"})).is_none());
        assert!(ListEntry::from_value(&serde_json::json!("x")).is_none());
    }
}
